package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// The consumer's logic against a stub queue and a fake clock: windows and
// backoffs are stepped through exactly, without waiting. consumer_moto_test.go
// runs it against moto's SQS.

// fakeClock is a clock that moves only when the test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waits   []time.Duration // every After asked for, in order
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 5, 2, 10, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waits = append(f.waits, d)
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- f.now
		return ch
	}
	f.waiters = append(f.waiters, fakeWaiter{at: f.now.Add(d), ch: ch})
	return ch
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if !w.at.After(f.now) {
			w.ch <- f.now
		} else {
			kept = append(kept, w)
		}
	}
	f.waiters = kept
}

func (f *fakeClock) Waits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.waits)
}

// eventually polls cond for up to five seconds of real time.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type reply struct {
	bodies []string
	err    error
}

// stubSQS answers each ReceiveMessage with the next reply the test hands
// it, blocking until there is one, as a long poll does.
type stubSQS struct {
	t       *testing.T
	replies chan reply

	mu       sync.Mutex
	receives int
	deleted  []string
	seq      int
}

func newStub(t *testing.T) *stubSQS { return &stubSQS{t: t, replies: make(chan reply)} }

func (s *stubSQS) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	if in.WaitTimeSeconds != 20 || in.MaxNumberOfMessages != 10 || aws.ToString(in.QueueUrl) != "https://sqs.test/q" {
		s.t.Errorf("ReceiveMessage(%+v): want a 20 s long poll for 10 messages of the queue", in)
	}
	s.mu.Lock()
	s.receives++
	s.mu.Unlock()
	select {
	case r := <-s.replies:
		if r.err != nil {
			return nil, r.err
		}
		out := &sqs.ReceiveMessageOutput{}
		s.mu.Lock()
		for _, b := range r.bodies {
			s.seq++
			out.Messages = append(out.Messages, types.Message{
				MessageId: aws.String(fmt.Sprintf("m-%d", s.seq)), ReceiptHandle: aws.String(fmt.Sprintf("rh-%d", s.seq)), Body: aws.String(b),
			})
		}
		s.mu.Unlock()
		return out, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *stubSQS) DeleteMessageBatch(_ context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(in.Entries) > 10 {
		s.t.Errorf("DeleteMessageBatch with %d entries: SQS takes at most 10", len(in.Entries))
	}
	ids := map[string]bool{}
	for _, e := range in.Entries {
		if ids[aws.ToString(e.Id)] {
			s.t.Errorf("duplicate entry ID %q in one DeleteMessageBatch", aws.ToString(e.Id))
		}
		ids[aws.ToString(e.Id)] = true
		s.deleted = append(s.deleted, aws.ToString(e.ReceiptHandle))
	}
	return &sqs.DeleteMessageBatchOutput{}, nil
}

func (s *stubSQS) Receives() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.receives
}

func (s *stubSQS) Deleted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deleted)
}

// ct is an EventBridge CloudTrail event body.
func ct(t testing.TB, id, name, account, region string) string {
	t.Helper()
	return string(edit(t, readEvent(t, "createroute.json"), nil, map[string]any{
		"eventID": id, "eventName": name, "recipientAccountId": account, "awsRegion": region,
	}))
}

type harness struct {
	t      *testing.T
	stub   *stubSQS
	clock  *fakeClock
	c      *Consumer
	out    chan Batch
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, debounce time.Duration) *harness {
	t.Helper()
	h := &harness{t: t, stub: newStub(t), clock: newFakeClock(), out: make(chan Batch)}
	h.c = &Consumer{API: h.stub, QueueURL: "https://sqs.test/q", Debounce: debounce, Now: h.clock.Now,
		BackoffMin: time.Second, BackoffMax: 8 * time.Second}
	h.c.afterFunc = h.clock.After
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.c.Run(ctx, h.out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return h
}

// deliver answers one receive with bodies, and returns once the batching
// loop has taken their events (it asks the clock for its next wake-up
// after each).
func (h *harness) deliver(bodies ...string) {
	h.t.Helper()
	n := len(h.clock.Waits())
	h.stub.replies <- reply{bodies: bodies}
	eventually(h.t, "the events to join their batches", func() bool { return len(h.clock.Waits()) > n })
}

// expectBatch reads one batch, failing after a second of real time.
func (h *harness) expectBatch() Batch {
	h.t.Helper()
	select {
	case b := <-h.out:
		return b
	case <-time.After(5 * time.Second):
		h.t.Fatal("no batch")
	}
	return Batch{}
}

// expectNoBatch checks that nothing is sent while the clock stands still.
func (h *harness) expectNoBatch() {
	h.t.Helper()
	select {
	case b := <-h.out:
		h.t.Fatalf("unexpected batch %s/%s with %d events", b.AccountID, b.Region, len(b.Events))
	case <-time.After(30 * time.Millisecond):
	}
}

func ids(b Batch) []string {
	var out []string
	for _, e := range b.Events {
		out = append(out, e.ID)
	}
	return out
}

func TestDebounceWindowStartsAtTheFirstEvent(t *testing.T) {
	h := start(t, 5*time.Second)
	const acct1, acct2 = "111122223333", "444455556666"

	h.deliver(ct(t, "a", "CreateRoute", acct1, "eu-west-1"))
	h.clock.Advance(3 * time.Second)
	// Within acct1's window: joins it. Another account-region: its own window.
	h.deliver(ct(t, "b", "DeleteRoute", acct1, "eu-west-1"), ct(t, "c", "CreateRoute", acct2, "eu-west-1"))
	h.expectNoBatch()

	// acct1's window closes 5 s after its first event, not after its last.
	h.clock.Advance(2 * time.Second)
	b := h.expectBatch()
	if b.AccountID != acct1 || b.Region != "eu-west-1" || !slices.Equal(ids(b), []string{"a", "b"}) {
		t.Fatalf("first batch = %s/%s %v, want %s/eu-west-1 [a b]", b.AccountID, b.Region, ids(b), acct1)
	}
	h.expectNoBatch()

	// The same account in another region is another batch.
	h.deliver(ct(t, "d", "CreateRoute", acct1, "us-east-1"))
	h.clock.Advance(3 * time.Second)
	if b := h.expectBatch(); b.AccountID != acct2 || !slices.Equal(ids(b), []string{"c"}) {
		t.Fatalf("second batch = %s/%s %v, want %s [c]", b.AccountID, b.Region, ids(b), acct2)
	}
	// A redelivered message (same CloudTrail event ID) is listed once.
	h.deliver(ct(t, "d", "CreateRoute", acct1, "us-east-1"))
	h.clock.Advance(2 * time.Second)
	if b := h.expectBatch(); b.Region != "us-east-1" || !slices.Equal(ids(b), []string{"d"}) {
		t.Fatalf("third batch = %s/%s %v, want %s/us-east-1 [d]", b.AccountID, b.Region, ids(b), acct1)
	}
	if got := h.c.Counters(); got.Received != 5 || got.Relevant != 5 || got.Ignored != 0 || got.Malformed != 0 {
		t.Errorf("counters = %+v", got)
	}
}

func TestBatchWaitingForItsReaderTakesLaterEvents(t *testing.T) {
	h := start(t, time.Second)
	acct := "111122223333"
	h.deliver(ct(t, "a", "CreateRoute", acct, "eu-west-1"))
	h.clock.Advance(2 * time.Second) // ready, but nobody reads out
	// Receiving goes on while the batch waits, and later events join it:
	// its rescan has not started.
	var bodies []string
	for i := range MaxBatchEvents + 4 {
		bodies = append(bodies, ct(t, "e"+strconv.Itoa(i), "CreateRoute", acct, "eu-west-1"))
	}
	for len(bodies) > 0 {
		n := min(10, len(bodies))
		h.stub.replies <- reply{bodies: bodies[:n]}
		bodies = bodies[n:]
	}
	eventually(t, "every message to be handled", func() bool { return h.c.Counters().Received == MaxBatchEvents+5 })
	eventually(t, "every message to be deleted", func() bool { return len(h.stub.Deleted()) == MaxBatchEvents+5 })
	b := h.expectBatch()
	// The last events may still be on their way to the batch when it is
	// read; what arrived is listed up to the cap, the rest counted.
	if len(b.Events) > MaxBatchEvents || len(b.Events)+b.Omitted < MaxBatchEvents || b.Events[0].ID != "a" {
		t.Fatalf("batch lists %d events (first %q), omits %d", len(b.Events), b.Events[0].ID, b.Omitted)
	}
}

func TestMessagesAreDeletedAndCountedWhateverTheyHold(t *testing.T) {
	h := start(t, time.Second)
	failed := string(readEvent(t, "failed.json"))
	other := string(readEvent(t, "statechange.json"))
	h.deliver(
		ct(t, "a", "CreateRoute", "111122223333", "eu-west-1"),
		"not json",
		other,
		failed,
		ct(t, "b", "RunInstances", "111122223333", "eu-west-1"),
		`{"detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","detail":{"eventName":"CreateRoute"}}`,
	)
	eventually(t, "every message deleted", func() bool { return len(h.stub.Deleted()) == 6 })
	// The event is 10:15:29 and the clock reads 10:00: a negative lag
	// (clock skew) is reported as none.
	if got, want := h.c.Counters(), (Counters{Received: 6, Relevant: 1, Ignored: 3, Malformed: 2}); got != want {
		t.Errorf("counters = %+v, want %+v", got, want)
	}
	h.clock.Advance(time.Second)
	if b := h.expectBatch(); !slices.Equal(ids(b), []string{"a"}) {
		t.Errorf("batch %v, want only the relevant event", ids(b))
	}
	// A poison message never stops the consumer: it is still receiving.
	n := h.stub.Receives()
	h.deliver(ct(t, "c", "CreateRoute", "111122223333", "eu-west-1"))
	if h.stub.Receives() <= n {
		t.Error("the consumer stopped receiving")
	}
}

func TestLagIsFromTheEventToItsReceipt(t *testing.T) {
	h := start(t, time.Second)
	h.clock.Advance(15*time.Minute + 36*time.Second) // 10:15:36, the event is 10:15:29
	h.deliver(ct(t, "a", "CreateRoute", "111122223333", "eu-west-1"))
	if got := h.c.Counters().Lag; got != 7*time.Second {
		t.Errorf("Lag = %v, want 7s", got)
	}
}

func TestStopAbandonsPendingBatches(t *testing.T) {
	h := start(t, time.Minute)
	h.deliver(ct(t, "a", "CreateRoute", "111122223333", "eu-west-1"))
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
		h.done <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	select {
	case b := <-h.out:
		t.Errorf("a pending batch was sent at stop: %+v", b)
	default:
	}
}

// TestReceiveErrorsBackOff: consecutive failures wait longer and longer,
// up to the cap, jittered; nothing is called while the consumer waits; a
// success resets the wait.
func TestReceiveErrorsBackOff(t *testing.T) {
	h := start(t, time.Second)
	fail := reply{err: errors.New("api error ThrottlingException: Rate exceeded")}
	var waits []time.Duration
	for i := range 7 {
		before := len(h.clock.Waits())
		h.stub.replies <- fail
		eventually(t, "the consumer to wait", func() bool { return len(h.clock.Waits()) > before })
		w := h.clock.Waits()[before]
		waits = append(waits, w)
		// No busy loop: while the clock stands still, no receive.
		n := h.stub.Receives()
		time.Sleep(20 * time.Millisecond)
		if got := h.stub.Receives(); got != n {
			t.Fatalf("failure %d: %d receives while waiting", i+1, got-n)
		}
		h.clock.Advance(w)
		eventually(t, "the retry", func() bool { return h.stub.Receives() > n })
	}
	for i, w := range waits {
		base := min(time.Second<<i, 8*time.Second)
		if w < base/2 || w > base {
			t.Errorf("wait %d = %v, want within [%v, %v]", i+1, w, base/2, base)
		}
	}
	if got := h.c.Counters().ReceiveErrors; got != 7 {
		t.Errorf("ReceiveErrors = %d, want 7", got)
	}
	// Recovery: a success resets the backoff.
	h.deliver(ct(t, "a", "CreateRoute", "111122223333", "eu-west-1"))
	before := len(h.clock.Waits())
	h.stub.replies <- fail
	eventually(t, "the consumer to wait", func() bool { return len(h.clock.Waits()) > before })
	if w := h.clock.Waits()[before]; w > time.Second {
		t.Errorf("first wait after a success = %v, want at most BackoffMin", w)
	}
}

func TestBackoffIsJitteredAndBounded(t *testing.T) {
	c := &Consumer{}
	seen := map[time.Duration]bool{}
	for n := 1; n <= 40; n++ {
		base := min(DefaultBackoffMin<<min(n-1, 20), DefaultBackoffMax)
		for range 20 {
			d := c.backoff(n)
			if d < base/2 || d > base {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, base/2, base)
			}
			seen[d] = true
		}
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct waits in 800: not jittered", len(seen))
	}
}

func TestRunRefusesAnIncompleteConsumer(t *testing.T) {
	for _, c := range []*Consumer{{QueueURL: "https://sqs.test/q"}, {API: newStub(t)}} {
		if err := c.Run(context.Background(), make(chan Batch)); err == nil {
			t.Errorf("Run(%+v) = nil", c)
		}
	}
}
