// Package alert delivers notebook status transitions (package history) to
// people: a JSON POST to webhooks (Slack-compatible, with a human text
// line) and an SNS publish of the same JSON. Delivery is asynchronous,
// retried with backoff, logged and counted; it never blocks scanning.
package alert

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sagefence/sagefence/internal/history"
)

// Alert is one notebook's transition, as sent. Its JSON field names are a
// contract (docs/watch.md).
type Alert struct {
	At           time.Time     `json:"at"`
	AccountID    string        `json:"account_id"`
	Region       string        `json:"region"`
	Resource     string        `json:"resource"`
	ARN          string        `json:"arn,omitempty"`
	From         string        `json:"from"`
	To           string        `json:"to"`
	InternetPath string        `json:"internet_path,omitempty"`
	Cause        history.Cause `json:"cause"`
	// Text is one line for people (Slack renders it).
	Text string `json:"text"`
}

// FromTransition builds the alert of a transition, with its text.
func FromTransition(t history.Transition) Alert { return Alert{} }

// Sink delivers one alert.
type Sink interface {
	// Name identifies the sink in logs and metrics ("webhook https://…",
	// "sns arn:…"), without credentials.
	Name() string
	Send(ctx context.Context, a Alert) error
}

// NewWebhook posts each alert as JSON to url.
func NewWebhook(url string, client *http.Client) Sink { return nil }

// SNSAPI is the SNS call the SNS sink makes.
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// NewSNS publishes each alert's JSON to an SNS topic.
func NewSNS(topicARN string, api SNSAPI) Sink { return nil }

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

// ErrNotImplemented marks the skeleton until it is built.
var ErrNotImplemented = errors.New("alert: not implemented")

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
