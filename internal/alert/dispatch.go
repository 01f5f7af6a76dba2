package alert

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

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
	// OnDrop, if set, is called with the number of a sink's alerts that
	// were never delivered nor failed: dropped because its queue was full
	// or the Dispatcher closed, or abandoned by Close (for metrics).
	OnDrop func(sink string, n int)

	// sleep waits d or until ctx ends, returning ctx's error then. Tests
	// replace it so that they never wait for a real backoff.
	sleep func(ctx context.Context, d time.Duration) error
	// jitter spreads a retry delay (default: uniformly in [d/2, d]).
	jitter func(d time.Duration) time.Duration
}

func (o Options) withDefaults() Options {
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Minute
	}
	o.MaxBackoff = max(o.MaxBackoff, o.Backoff)
	if o.QueueSize <= 0 {
		o.QueueSize = 10_000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.sleep == nil {
		o.sleep = sleep
	}
	if o.jitter == nil {
		o.jitter = equalJitter
	}
	return o
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// equalJitter keeps at least half of each delay, so that retries still
// back off, and spreads the rest so that sinks failing together do not
// retry in step.
func equalJitter(d time.Duration) time.Duration {
	half := d / 2
	return half + rand.N(d-half+1)
}

// Dispatcher sends alerts to every sink in the background. Each sink has
// its own queue and goroutine, so alerts reach a sink in the order they
// were notified, and a sink that is slow, down or retrying holds up only
// its own queue. Its counts are per alert and sink.
type Dispatcher struct {
	opts    Options
	log     *slog.Logger
	workers []*worker

	// mu orders Notify against Close: once closed is set no alert is
	// queued, so a worker that finds its queue empty after stop is done.
	mu        sync.RWMutex
	closed    bool
	closeOnce sync.Once
	stop      chan struct{} // closed by Close: deliver what is queued, then exit

	ctx    context.Context // of deliveries; cancelled when Close gives up
	cancel context.CancelFunc
	wg     sync.WaitGroup

	sent, failed, dropped, abandoned atomic.Int64
}

// worker is one sink's queue.
type worker struct {
	sink Sink
	name string
	wake chan struct{} // capacity 1: there is something in q

	mu sync.Mutex
	q  []Alert
}

// NewDispatcher starts a dispatcher over sinks.
func NewDispatcher(sinks []Sink, opts Options) *Dispatcher {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{
		opts:   opts,
		log:    opts.Logger,
		stop:   make(chan struct{}),
		ctx:    ctx,
		cancel: cancel,
	}
	for _, s := range sinks {
		w := &worker{sink: s, name: s.Name(), wake: make(chan struct{}, 1)}
		d.workers = append(d.workers, w)
		d.wg.Add(1)
		go d.run(w)
	}
	return d
}

// Notify queues alerts for delivery; it never blocks. Alerts that do not
// fit a sink's queue, or come after Close, are dropped for that sink,
// logged and counted.
func (d *Dispatcher) Notify(alerts ...Alert) {
	if len(alerts) == 0 {
		return
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, w := range d.workers {
		if d.closed {
			d.drop(w, alerts, "the dispatcher is closed")
			continue
		}
		w.mu.Lock()
		n := min(max(d.opts.QueueSize-len(w.q), 0), len(alerts))
		w.q = append(w.q, alerts[:n]...)
		w.mu.Unlock()
		if n > 0 {
			select {
			case w.wake <- struct{}{}:
			default: // already signalled
			}
		}
		if n < len(alerts) {
			d.drop(w, alerts[n:], "the queue is full")
		}
	}
}

func (d *Dispatcher) drop(w *worker, alerts []Alert, why string) {
	d.dropped.Add(int64(len(alerts)))
	d.log.Error("alerts dropped: "+why, "sink", w.name, "count", len(alerts),
		"first_notebook", alerts[0].Resource, "first_account", alerts[0].AccountID, "queue_size", d.opts.QueueSize)
	if d.opts.OnDrop != nil {
		d.opts.OnDrop(w.name, len(alerts))
	}
}

// run delivers w's alerts in order until Close has it stop with an empty
// queue, or gives up.
func (d *Dispatcher) run(w *worker) {
	defer d.wg.Done()
	for {
		a, ok := d.next(w)
		if !ok {
			break
		}
		d.deliver(w, a)
	}
	w.mu.Lock()
	left := len(w.q)
	w.q = nil
	w.mu.Unlock()
	if left > 0 {
		d.abandon(w, left)
	}
}

// next waits for w's next alert; false once there will be none to deliver.
func (d *Dispatcher) next(w *worker) (Alert, bool) {
	for {
		if d.ctx.Err() != nil {
			return Alert{}, false
		}
		w.mu.Lock()
		if len(w.q) > 0 {
			a := w.q[0]
			w.q[0] = Alert{}
			w.q = w.q[1:]
			if len(w.q) == 0 {
				w.q = nil // let a drained queue's array go
			}
			w.mu.Unlock()
			return a, true
		}
		w.mu.Unlock()
		select {
		case <-w.wake:
		case <-d.stop:
			w.mu.Lock()
			empty := len(w.q) == 0
			w.mu.Unlock()
			if empty {
				return Alert{}, false
			}
		case <-d.ctx.Done():
			return Alert{}, false
		}
	}
}

// deliver sends a to w's sink, retrying with backoff until it is sent, it
// fails permanently or for the last attempt, or Close gives up.
func (d *Dispatcher) deliver(w *worker, a Alert) {
	log := d.log.With("sink", w.name, "notebook", a.Resource, "account", a.AccountID, "region", a.Region,
		"from", a.From, "to", a.To)
	for attempt := 1; ; attempt++ {
		err := w.sink.Send(d.ctx, a)
		if err == nil {
			d.sent.Add(1)
			log.Info("alert sent", "attempts", attempt)
			d.delivered(w, true)
			return
		}
		if d.ctx.Err() != nil {
			d.abandon(w, 1)
			return
		}
		if IsPermanent(err) || attempt >= d.opts.Attempts {
			d.failed.Add(1)
			log.Error("alert not delivered", "attempts", attempt, "retryable", !IsPermanent(err), "err", err)
			d.delivered(w, false)
			return
		}
		delay := d.delay(attempt, err)
		log.Warn("alert delivery failed, will retry", "attempt", attempt, "retry_in", delay, "err", err)
		if d.opts.sleep(d.ctx, delay) != nil {
			d.abandon(w, 1)
			return
		}
	}
}

func (d *Dispatcher) delivered(w *worker, ok bool) {
	if d.opts.OnDelivery != nil {
		d.opts.OnDelivery(w.name, ok)
	}
}

func (d *Dispatcher) abandon(w *worker, n int) {
	d.abandoned.Add(int64(n))
	d.dropped.Add(int64(n))
	d.log.Warn("alerts abandoned at close", "sink", w.name, "count", n)
	if d.opts.OnDrop != nil {
		d.opts.OnDrop(w.name, n)
	}
}

// delay is how long to wait after the attempt-th failed attempt: Backoff
// doubled per attempt, jittered, at least what the endpoint asked for
// (Retry-After), at most MaxBackoff.
func (d *Dispatcher) delay(attempt int, err error) time.Duration {
	delay := d.opts.Backoff
	for i := 1; i < attempt && delay < d.opts.MaxBackoff; i++ {
		delay *= 2
	}
	delay = d.opts.jitter(min(delay, d.opts.MaxBackoff))
	if ra, ok := retryAfter(err); ok {
		delay = max(delay, ra)
	}
	return min(delay, d.opts.MaxBackoff)
}

// Close stops accepting alerts and delivers what is queued until ctx
// ends. Then it abandons the rest, in flight or queued (counted as
// dropped), and returns an error that wraps ctx's. It returns once every
// sink's goroutine has ended; a second call waits the same way.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
		close(d.stop)
	})
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		d.cancel()
		<-done
	}
	d.cancel()
	if n := d.abandoned.Load(); n > 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("alert: %d alert deliveries abandoned at close: %w", n, err)
		}
		return fmt.Errorf("alert: %d alert deliveries abandoned at close", n)
	}
	return nil
}

// Stats are the dispatcher's counters, per alert and sink: Sent and
// Failed count deliveries that ended (as OnDelivery reports them), Dropped
// those that never will: the queue was full, the dispatcher was closed,
// or Close abandoned them.
type Stats struct{ Sent, Failed, Dropped int }

// Stats returns the counters so far.
func (d *Dispatcher) Stats() Stats {
	return Stats{Sent: int(d.sent.Load()), Failed: int(d.failed.Load()), Dropped: int(d.dropped.Load())}
}
