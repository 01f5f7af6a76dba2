package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// funcSink is a sink whose Send is a function.
type funcSink struct {
	name string
	send func(ctx context.Context, a Alert) error
}

func (s funcSink) Name() string                            { return s.name }
func (s funcSink) Send(ctx context.Context, a Alert) error { return s.send(ctx, a) }

// recorder keeps what a dispatcher reported: the delays it slept (it
// never really sleeps), its deliveries, drops and logs.
type recorder struct {
	mu        sync.Mutex
	slept     []time.Duration
	delivered map[string][]bool
	dropped   map[string]int
	logs      bytes.Buffer
}

func (r *recorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.slept = append(r.slept, d)
	r.mu.Unlock()
	return ctx.Err()
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs.Write(p)
}

func (r *recorder) sleeps() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.slept...)
}

func (r *recorder) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs.String()
}

// options are a dispatcher's options reporting to r, without jitter.
func (r *recorder) options() Options {
	r.delivered, r.dropped = map[string][]bool{}, map[string]int{}
	return Options{
		Attempts:   5,
		Backoff:    time.Second,
		MaxBackoff: time.Minute,
		Logger:     slog.New(slog.NewTextHandler(r, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnDelivery: func(sink string, ok bool) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.delivered[sink] = append(r.delivered[sink], ok)
		},
		OnDrop: func(sink string, n int) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.dropped[sink] += n
		},
		sleep:  r.sleep,
		jitter: func(d time.Duration) time.Duration { return d },
	}
}

func (r *recorder) deliveries() map[string][]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.delivered
}

func (r *recorder) drops() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

func numbered(i int) Alert {
	a := failAlert()
	a.Resource = fmt.Sprintf("nb-%02d", i)
	return a
}

func resources(as []Alert) []string {
	var s []string
	for _, a := range as {
		s = append(s, a.Resource)
	}
	return s
}

// closeNow closes d, failing the test if draining takes more than 10s.
func closeNow(t *testing.T, d *Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// deliver sends one alert to a webhook at url through a dispatcher and
// returns its stats once closed.
func deliver(t *testing.T, opts Options, url string, client *http.Client) Stats {
	t.Helper()
	d := NewDispatcher([]Sink{NewWebhook(url, client)}, opts)
	d.Notify(failAlert())
	closeNow(t, d)
	return d.Stats()
}

func TestDispatcherRetriesA500AndDeliversOnce(t *testing.T) {
	srv := newReceiver(t, func(n int) int {
		if n == 1 {
			return 500
		}
		return 200
	})
	var r recorder
	stats := deliver(t, r.options(), srv.URL, nil)
	if want := (Stats{Sent: 1}); stats != want {
		t.Errorf("Stats = %+v, want %+v", stats, want)
	}
	if n := srv.requests.Load(); n != 2 {
		t.Errorf("the endpoint got %d requests, want 2 (a 500, then the delivery)", n)
	}
	if got := len(srv.bodies); got != 1 {
		t.Errorf("the endpoint accepted %d alerts, want exactly 1", got)
	}
	if diff := cmp.Diff([]time.Duration{time.Second}, r.sleeps()); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}
	name := "webhook " + strings.TrimPrefix(srv.URL, "http://")
	if diff := cmp.Diff(map[string][]bool{name: {true}}, r.deliveries()); diff != "" {
		t.Errorf("OnDelivery (-want +got):\n%s", diff)
	}
}

func TestDispatcherDoesNotRetryA404(t *testing.T) {
	srv := newReceiver(t, always(404))
	var r recorder
	stats := deliver(t, r.options(), srv.URL, nil)
	if want := (Stats{Failed: 1}); stats != want {
		t.Errorf("Stats = %+v, want %+v", stats, want)
	}
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("the endpoint got %d requests, want 1", n)
	}
	if s := r.sleeps(); len(s) != 0 {
		t.Errorf("slept %v before giving up on a 404", s)
	}
	if !strings.Contains(r.log(), "alert not delivered") || !strings.Contains(r.log(), "HTTP 404") {
		t.Errorf("the failure is not logged with its cause:\n%s", r.log())
	}
}

func TestDispatcherRetriesAnEndpointThatIsDownThenCountsItFailed(t *testing.T) {
	var r recorder
	opts := r.options()
	opts.Attempts = 3
	url := strings.Replace(refusedURL(t), "http://", "http://user:SECRETPW@", 1) + "/T0/SECRETPATH?token=SECRETQ"
	stats := deliver(t, opts, url, nil)
	if want := (Stats{Failed: 1}); stats != want {
		t.Errorf("Stats = %+v, want %+v", stats, want)
	}
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second}, r.sleeps()); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}
	logs := r.log()
	if strings.Count(logs, "will retry") != 2 || !strings.Contains(logs, "refused") || !strings.Contains(logs, "[redacted]") {
		t.Errorf("the retries are not logged with their cause:\n%s", logs)
	}
	if strings.Contains(logs, "SECRET") {
		t.Errorf("the logs show the webhook URL's secret:\n%s", logs)
	}
}

func TestDispatcherRetriesASlowEndpointAfterItsTimeout(t *testing.T) {
	var r recorder
	opts := r.options()
	opts.Attempts = 2
	release := make(chan struct{})
	srv := newReceiver(t, func(int) int { <-release; return 200 })
	defer close(release) // before the server's Close, which waits for handlers
	start := time.Now()
	stats := deliver(t, opts, srv.URL, &http.Client{Timeout: 300 * time.Millisecond})
	if want := (Stats{Failed: 1}); stats != want {
		t.Errorf("Stats = %+v, want %+v", stats, want)
	}
	if n := srv.requests.Load(); n != 2 {
		t.Errorf("the endpoint got %d requests, want 2", n)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("two 300ms timeouts took %v", took)
	}
	if !strings.Contains(r.log(), "Timeout") {
		t.Errorf("the log does not say the request timed out:\n%s", r.log())
	}
}

func TestDispatcherWaitsAsLongAsA429Asks(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	var r recorder
	opts := r.options()
	opts.Attempts, opts.MaxBackoff = 3, 10*time.Second
	deliver(t, opts, srv.URL, nil)
	if diff := cmp.Diff([]time.Duration{7 * time.Second, 7 * time.Second}, r.sleeps()); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}
}

func TestDispatcherBacksOffExponentiallyUpToMaxBackoff(t *testing.T) {
	var r recorder
	opts := r.options()
	opts.Attempts, opts.Backoff, opts.MaxBackoff = 7, time.Second, 5*time.Second
	calls := 0
	d := NewDispatcher([]Sink{funcSink{"flaky", func(context.Context, Alert) error {
		calls++
		return errors.New("unavailable")
	}}}, opts)
	d.Notify(failAlert())
	closeNow(t, d)
	want := []time.Duration{1, 2, 4, 5, 5, 5}
	for i := range want {
		want[i] *= time.Second
	}
	if diff := cmp.Diff(want, r.sleeps()); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}
	if calls != 7 || d.Stats() != (Stats{Failed: 1}) {
		t.Errorf("%d attempts, Stats %+v; want 7 attempts, 1 failed", calls, d.Stats())
	}
}

func TestEqualJitterKeepsHalfTheDelayAndSpreadsTheRest(t *testing.T) {
	const d = time.Second
	seen := map[time.Duration]bool{}
	for range 1000 {
		j := equalJitter(d)
		if j < d/2 || j > d {
			t.Fatalf("equalJitter(%v) = %v, outside [%v, %v]", d, j, d/2, d)
		}
		seen[j] = true
	}
	if len(seen) < 100 {
		t.Errorf("1000 jittered delays took only %d values", len(seen))
	}
	if got := equalJitter(1); got != 0 && got != 1 {
		t.Errorf("equalJitter(1ns) = %v", got)
	}
}

func TestDispatcherDropsWhatDoesNotFitAndNeverBlocks(t *testing.T) {
	var r recorder
	opts := r.options()
	opts.QueueSize = 2
	started, release := make(chan struct{}, 10), make(chan struct{})
	var mu sync.Mutex
	var got []Alert
	d := NewDispatcher([]Sink{funcSink{"stuck", func(ctx context.Context, a Alert) error {
		started <- struct{}{}
		<-release
		mu.Lock()
		got = append(got, a)
		mu.Unlock()
		return nil
	}}}, opts)
	d.Notify(numbered(0))
	<-started // nb-00 is in flight; the queue is empty

	returned := make(chan struct{})
	go func() {
		d.Notify(numbered(1), numbered(2), numbered(3), numbered(4))
		d.Notify(numbered(5))
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("Notify blocked on a full queue")
	}
	if want := (Stats{Dropped: 3}); d.Stats() != want {
		t.Errorf("Stats = %+v, want %+v", d.Stats(), want)
	}
	if diff := cmp.Diff(map[string]int{"stuck": 3}, r.drops()); diff != "" {
		t.Errorf("OnDrop (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.log(), "alerts dropped: the queue is full") {
		t.Errorf("the drop is not logged:\n%s", r.log())
	}

	close(release)
	closeNow(t, d)
	if diff := cmp.Diff([]string{"nb-00", "nb-01", "nb-02"}, resources(got)); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	if want := (Stats{Sent: 3, Dropped: 3}); d.Stats() != want {
		t.Errorf("Stats = %+v, want %+v", d.Stats(), want)
	}
}

func TestCloseDeliversEverythingQueuedInOrder(t *testing.T) {
	var r recorder
	var got []Alert
	d := NewDispatcher([]Sink{funcSink{"slow", func(ctx context.Context, a Alert) error {
		time.Sleep(time.Millisecond)
		got = append(got, a) // one goroutine per sink: no lock needed
		return nil
	}}}, r.options())
	var want []string
	for i := range 30 {
		d.Notify(numbered(i))
		want = append(want, numbered(i).Resource)
	}
	closeNow(t, d)
	if diff := cmp.Diff(want, resources(got)); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	if want := (Stats{Sent: 30}); d.Stats() != want {
		t.Errorf("Stats = %+v, want %+v", d.Stats(), want)
	}
}

func TestCloseAbandonsWhatIsLeftWhenItsContextEnds(t *testing.T) {
	var r recorder
	started := make(chan struct{}, 10)
	d := NewDispatcher([]Sink{funcSink{"hung", func(ctx context.Context, a Alert) error {
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}}}, r.options())
	d.Notify(numbered(0), numbered(1), numbered(2))
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := d.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "3 alert deliveries abandoned") {
		t.Errorf("Close = %v, want 3 abandoned and the deadline", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %v past its 100ms deadline", took)
	}
	if want := (Stats{Dropped: 3}); d.Stats() != want {
		t.Errorf("Stats = %+v, want %+v", d.Stats(), want)
	}
	if diff := cmp.Diff(map[string]int{"hung": 3}, r.drops()); diff != "" {
		t.Errorf("OnDrop (-want +got):\n%s", diff)
	}
	if len(r.deliveries()) != 0 {
		t.Errorf("abandoned alerts were reported as deliveries: %v", r.deliveries())
	}
}

func TestCloseInterruptsABackoff(t *testing.T) {
	var r recorder
	opts := r.options()
	opts.sleep = nil // the real one, which must end with ctx
	opts.Backoff = time.Hour
	d := NewDispatcher([]Sink{funcSink{"down", func(context.Context, Alert) error {
		return errors.New("connection refused")
	}}}, opts)
	d.Notify(failAlert())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := d.Close(ctx); err == nil {
		t.Error("Close = nil, want the abandoned alert")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close waited %v for an hour's backoff", took)
	}
	if want := (Stats{Dropped: 1}); d.Stats() != want {
		t.Errorf("Stats = %+v, want %+v", d.Stats(), want)
	}
}

func TestNotifyAfterCloseDropsAndCounts(t *testing.T) {
	var r recorder
	sent := 0
	d := NewDispatcher([]Sink{funcSink{"s", func(context.Context, Alert) error { sent++; return nil }}}, r.options())
	closeNow(t, d)
	d.Notify(failAlert(), failAlert())
	closeNow(t, d) // a second Close is harmless
	if sent != 0 || d.Stats() != (Stats{Dropped: 2}) {
		t.Errorf("after Close: %d sent, Stats %+v; want none sent, 2 dropped", sent, d.Stats())
	}
	if !strings.Contains(r.log(), "the dispatcher is closed") {
		t.Errorf("the drop is not logged:\n%s", r.log())
	}
}

func TestAFailingSinkNeverHoldsUpAnother(t *testing.T) {
	var r recorder
	opts := r.options()
	opts.sleep = nil // real backoff: the down sink really waits
	got := make(chan Alert, 10)
	hung := funcSink{"hung", func(ctx context.Context, a Alert) error { <-ctx.Done(); return ctx.Err() }}
	down := NewWebhook(refusedURL(t), nil)
	ok := funcSink{"ok", func(ctx context.Context, a Alert) error { got <- a; return nil }}
	d := NewDispatcher([]Sink{hung, down, ok}, opts)
	d.Notify(numbered(0), numbered(1), numbered(2))
	for i := range 3 {
		select {
		case a := <-got:
			if want := numbered(i).Resource; a.Resource != want {
				t.Errorf("alert %d is %s, want %s", i, a.Resource, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the working sink got %d of 3 alerts while the others failed", i)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = d.Close(ctx)
	if want := (Stats{Sent: 3, Dropped: 6}); d.Stats() != want {
		t.Errorf("Stats = %+v, want %+v", d.Stats(), want)
	}
}

func TestDispatcherWithoutSinks(t *testing.T) {
	d := NewDispatcher(nil, Options{})
	d.Notify(failAlert())
	closeNow(t, d)
	if d.Stats() != (Stats{}) {
		t.Errorf("Stats = %+v, want none", d.Stats())
	}
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	if o.Attempts != 5 || o.Backoff != time.Second || o.MaxBackoff != time.Minute || o.QueueSize != 10_000 || o.Logger == nil {
		t.Errorf("defaults = %+v", o)
	}
	if o := (Options{Backoff: time.Hour}).withDefaults(); o.MaxBackoff != time.Hour {
		t.Errorf("MaxBackoff %v is below Backoff %v", o.MaxBackoff, o.Backoff)
	}
}
