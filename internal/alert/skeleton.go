package alert

import (
	"context"
	"log/slog"
	"time"
)

// The contract's sinks and dispatcher, still skeletons.

// Options tune a Dispatcher.
type Options struct {
	// Attempts per alert and sink (default 5); Backoff is the first retry
	// delay (default 1s), doubling up to MaxBackoff (default 1m).
	Attempts            int
	Backoff, MaxBackoff time.Duration
	// QueueSize bounds the alerts waiting (default 10,000); past it an
	// alert is dropped, logged and counted.
	QueueSize int
	Logger    *slog.Logger
	// OnDelivery, if set, is called after each alert's delivery to a sink
	// ends: ok, or failed after every attempt (for metrics).
	OnDelivery func(sink string, ok bool)
}

// Dispatcher sends alerts to every sink in the background.
type Dispatcher struct{}

// NewDispatcher starts a dispatcher over sinks.
func NewDispatcher(sinks []Sink, opts Options) *Dispatcher { return &Dispatcher{} }

// Notify queues alerts for delivery; it never blocks.
func (d *Dispatcher) Notify(alerts ...Alert) {}

// Close stops accepting alerts and delivers what is queued until ctx ends.
func (d *Dispatcher) Close(ctx context.Context) error { return ErrNotImplemented }

// Stats are the dispatcher's counters.
type Stats struct{ Sent, Failed, Dropped int }

// Stats returns the counters so far.
func (d *Dispatcher) Stats() Stats { return Stats{} }
