package watch

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/sagefence/sagefence/internal/alert"
	"github.com/sagefence/sagefence/internal/events"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/history"
)

// memStore is a Store with the history contract's semantics, in memory.
type memStore struct {
	mu      sync.Mutex
	current map[[3]string]finding.Result
	scans   []history.Scan
	trans   []history.Transition
}

func newMemStore() *memStore { return &memStore{current: map[[3]string]finding.Result{}} }

func (s *memStore) Record(_ context.Context, scan history.Scan, rep *finding.Report) ([]history.Transition, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []history.Transition
	seen := map[[3]string]bool{}
	for _, r := range rep.Results {
		if !slices.Contains(scan.Read, history.Scope{AccountID: r.AccountID, Region: r.Region}) {
			continue
		}
		k := [3]string{r.AccountID, r.Region, r.Resource.Name}
		seen[k] = true
		old, ok := s.current[k]
		if !ok || old.Status != r.Status {
			t := history.Transition{At: scan.FinishedAt, AccountID: r.AccountID, Region: r.Region, Name: r.Resource.Name,
				To: string(r.Status), InternetPath: string(r.InternetPath), Cause: scan.Cause}
			if ok {
				t.From = string(old.Status)
			}
			out = append(out, t)
		}
		s.current[k] = r
	}
	for k, old := range s.current {
		if !seen[k] && slices.Contains(scan.Read, history.Scope{AccountID: k[0], Region: k[1]}) {
			out = append(out, history.Transition{At: scan.FinishedAt, AccountID: k[0], Region: k[1], Name: k[2], From: string(old.Status), To: history.StatusDeleted, Cause: scan.Cause})
			delete(s.current, k)
		}
	}
	s.scans = append(s.scans, scan)
	s.trans = append(s.trans, out...)
	return out, nil
}

func (s *memStore) Current(context.Context) ([]finding.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Values(s.current)), nil
}

func (s *memStore) Posture(context.Context) ([]history.Posture, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := map[history.Posture]int{}
	for _, r := range s.current {
		n[history.Posture{AccountID: r.AccountID, Region: r.Region, Status: r.Status}]++
	}
	var out []history.Posture
	for p, c := range n {
		p.Count = c
		out = append(out, p)
	}
	return out, nil
}

func (s *memStore) LastScan(context.Context) (history.Scan, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.scans) == 0 {
		return history.Scan{}, false, nil
	}
	return s.scans[len(s.scans)-1], true, nil
}

func (s *memStore) History(context.Context, string, string, string) ([]history.Transition, error) {
	return nil, nil
}
func (s *memStore) Recent(context.Context, int) ([]history.Transition, error) { return nil, nil }
func (s *memStore) Trend(context.Context, time.Time) ([]history.TrendPoint, error) {
	return nil, nil
}
func (s *memStore) Prune(context.Context, time.Time) (int, error) { return 0, nil }

// estate is what the fake AWS holds: status per account/region/name.
type estate struct {
	mu     sync.Mutex
	status map[[3]string]finding.Status
	scans  [][]history.Scope // the scope of each scan run (nil: full)
	block  chan struct{}     // when set, a scan waits on it
	fail   bool
}

func (e *estate) set(account, region, name string, st finding.Status) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.status[[3]string{account, region, name}] = st
}

func (e *estate) scan(ctx context.Context, scope []history.Scope) (Result, error) {
	e.mu.Lock()
	e.scans = append(e.scans, scope)
	block, fail := e.block, e.fail
	e.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	if fail {
		return Result{}, context.DeadlineExceeded
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rep := &finding.Report{}
	read := map[history.Scope]bool{}
	for k, st := range e.status {
		s := history.Scope{AccountID: k[0], Region: k[1]}
		if scope != nil && !slices.Contains(scope, s) {
			continue
		}
		read[s] = true
		rep.Results = append(rep.Results, finding.Result{AccountID: k[0], Region: k[1], Resource: finding.Resource{Name: k[2]}, Status: st})
	}
	for _, s := range scope {
		read[s] = true
	}
	return Result{Report: rep, Read: slices.Collect(maps.Keys(read)), Calls: 3}, nil
}

func (e *estate) scanCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.scans)
}

type notifier struct {
	mu     sync.Mutex
	alerts []alert.Alert
}

func (n *notifier) Notify(a ...alert.Alert) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.alerts = append(n.alerts, a...)
}

func (n *notifier) got() []alert.Alert {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.alerts)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

type harness struct {
	est    *estate
	store  *memStore
	alerts *notifier
	events chan events.Batch
	w      *Watcher
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, est *estate, store *memStore) *harness {
	t.Helper()
	h := &harness{est: est, store: store, alerts: &notifier{}, events: make(chan events.Batch, 16), done: make(chan error, 1)}
	h.w = New(Options{Scan: est.scan, Store: store, Alerts: h.alerts, Events: h.events, Interval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-h.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return h
}

func newEstate() *estate {
	e := &estate{status: map[[3]string]finding.Status{}}
	e.set("111111111111", "us-east-1", "nb-a", finding.StatusPass)
	e.set("111111111111", "us-east-1", "nb-b", finding.StatusFail)
	e.set("111111111111", "eu-west-1", "nb-c", finding.StatusPass)
	return e
}

func event(account, region, name, id string) events.Batch {
	return events.Batch{AccountID: account, Region: region, Events: []events.Event{{ID: id, Name: name, AccountID: account, Region: region,
		Caller: "arn:aws:iam::111111111111:user/alice", Time: time.Now()}}}
}

// TestFirstScanIsABaselineThenEventsAlertOnTransitions: the first scan of
// an empty history alerts nothing (a baseline); an event rescans its
// account-region alone, and a notebook that turned FAIL is alerted once,
// naming the event.
func TestFirstScanIsABaselineThenEventsAlertOnTransitions(t *testing.T) {
	est, store := newEstate(), newMemStore()
	h := start(t, est, store)
	waitFor(t, "ready", h.w.Ready)
	if a := h.alerts.got(); len(a) != 0 {
		t.Fatalf("the baseline scan alerted %d time(s): %+v", len(a), a)
	}
	est.set("111111111111", "us-east-1", "nb-a", finding.StatusFail)
	est.set("111111111111", "eu-west-1", "nb-c", finding.StatusFail) // not rescanned: no event there
	h.events <- event("111111111111", "us-east-1", "CreateRoute", "ev-1")
	waitFor(t, "the alert", func() bool { return len(h.alerts.got()) > 0 })
	a := h.alerts.got()
	if len(a) != 1 || a[0].Resource != "nb-a" || a[0].From != "PASS" || a[0].To != "FAIL" || a[0].Cause.EventName != "CreateRoute" || a[0].Cause.EventID != "ev-1" {
		t.Fatalf("alerts = %+v, want one PASS->FAIL for nb-a caused by CreateRoute ev-1", a)
	}
	est.mu.Lock()
	last := est.scans[len(est.scans)-1]
	est.mu.Unlock()
	if !slices.Equal(last, []history.Scope{{AccountID: "111111111111", Region: "us-east-1"}}) {
		t.Errorf("rescan scope = %v, want the event's account-region only", last)
	}
}

// TestEventsDuringAScanMergeIntoOneRescan: batches that arrive while a scan
// runs wait and run as one rescan, not one each.
func TestEventsDuringAScanMergeIntoOneRescan(t *testing.T) {
	est, store := newEstate(), newMemStore()
	h := start(t, est, store)
	waitFor(t, "ready", h.w.Ready)
	est.mu.Lock()
	est.block = make(chan struct{})
	est.mu.Unlock()
	h.events <- event("111111111111", "us-east-1", "CreateRoute", "ev-1")
	waitFor(t, "the first rescan to start", func() bool { return est.scanCount() == 2 })
	for i := range 3 {
		h.events <- event("111111111111", "eu-west-1", "AuthorizeSecurityGroupEgress", "ev-"+string(rune('a'+i)))
	}
	h.events <- event("111111111111", "us-east-1", "DeleteRoute", "ev-z")
	time.Sleep(50 * time.Millisecond)
	est.mu.Lock()
	close(est.block)
	est.block = nil
	est.mu.Unlock()
	waitFor(t, "the merged rescan", func() bool { return est.scanCount() == 3 })
	time.Sleep(50 * time.Millisecond)
	if n := est.scanCount(); n != 3 {
		t.Fatalf("%d scans, want 3 (baseline, first rescan, one merged rescan)", n)
	}
	est.mu.Lock()
	merged := est.scans[2]
	est.mu.Unlock()
	if len(merged) != 2 {
		t.Errorf("merged rescan scope = %v, want both account-regions", merged)
	}
}

// TestNetworkAccountEventRescansItsRegion: an event in an account the
// watch does not scan for notebooks (a network account) rescans every
// scanned account-region of that region: their paths may go through it.
func TestNetworkAccountEventRescansItsRegion(t *testing.T) {
	est, store := newEstate(), newMemStore()
	est.set("222222222222", "us-east-1", "nb-d", finding.StatusPass)
	h := start(t, est, store)
	waitFor(t, "ready", h.w.Ready)
	h.events <- event("999999999999", "us-east-1", "CreateTransitGatewayRoute", "ev-n")
	waitFor(t, "the rescan", func() bool { return est.scanCount() == 2 })
	est.mu.Lock()
	scope := est.scans[1]
	est.mu.Unlock()
	want := []history.Scope{{AccountID: "111111111111", Region: "us-east-1"}, {AccountID: "222222222222", Region: "us-east-1"}}
	if !slices.Equal(scope, want) {
		t.Errorf("scope = %v, want %v", scope, want)
	}
}

// TestFailedOrInterruptedScansAreNotRecorded: a scan that fails records
// nothing (no transition, so nothing turns PASS), and neither does one
// interrupted by shutdown.
func TestFailedOrInterruptedScansAreNotRecorded(t *testing.T) {
	est, store := newEstate(), newMemStore()
	h := start(t, est, store)
	waitFor(t, "ready", h.w.Ready)
	est.mu.Lock()
	est.fail = true
	est.mu.Unlock()
	est.set("111111111111", "us-east-1", "nb-b", finding.StatusPass)
	h.events <- event("111111111111", "us-east-1", "DeleteRoute", "ev-1")
	waitFor(t, "the failed rescan", func() bool { return est.scanCount() == 2 })
	time.Sleep(30 * time.Millisecond)
	store.mu.Lock()
	scans, b := len(store.scans), store.current[[3]string{"111111111111", "us-east-1", "nb-b"}].Status
	store.mu.Unlock()
	if scans != 1 || b != finding.StatusFail {
		t.Errorf("after a failed scan: %d recorded scans, nb-b %s; want 1 and still FAIL", scans, b)
	}
	if got := gauge(t, h.w, "sagefence_last_scan_incomplete", nil); got != 1 {
		t.Errorf("sagefence_last_scan_incomplete = %v, want 1", got)
	}
	// Interrupted: the scan blocks, the watcher is cancelled.
	est.mu.Lock()
	est.fail, est.block = false, make(chan struct{})
	est.mu.Unlock()
	h.events <- event("111111111111", "us-east-1", "DeleteRoute", "ev-2")
	waitFor(t, "the blocked rescan", func() bool { return est.scanCount() == 3 })
	h.cancel()
	if err := <-h.done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	h.done <- nil // for the cleanup
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.scans) != 1 {
		t.Errorf("an interrupted scan was recorded: %d scans", len(store.scans))
	}
}

// TestRestartServesTheHistoryAndScans: a restarted watcher is ready at
// once with what it stored, scans everything at start, and alerts on what
// changed while it was down (the start scan of a history is no baseline).
func TestRestartServesTheHistoryAndScans(t *testing.T) {
	est, store := newEstate(), newMemStore()
	for _, name := range []string{"nb-a", "nb-b"} {
		store.current[[3]string{"111111111111", "us-east-1", name}] = finding.Result{AccountID: "111111111111", Region: "us-east-1",
			Resource: finding.Resource{Name: name}, Status: finding.StatusPass}
	}
	store.scans = append(store.scans, history.Scan{FinishedAt: time.Now().Add(-time.Minute), Cause: history.Cause{Kind: history.CauseScheduled},
		Complete: true, Read: []history.Scope{{AccountID: "111111111111", Region: "us-east-1"}}})
	est.block = make(chan struct{})
	h := start(t, est, store)
	waitFor(t, "ready", h.w.Ready)
	if got := gauge(t, h.w, "sagefence_notebooks", map[string]string{"status": "PASS", "region": "us-east-1"}); got != 2 {
		t.Errorf("sagefence_notebooks{PASS,us-east-1} = %v before the start scan, want 2 from the history", got)
	}
	waitFor(t, "the start scan", func() bool { return est.scanCount() == 1 })
	close(est.block)
	waitFor(t, "the alert of nb-b", func() bool { return len(h.alerts.got()) > 0 })
	got := h.alerts.got()
	if len(got) != 1 || got[0].Resource != "nb-b" || got[0].From != "PASS" || got[0].To != "FAIL" || got[0].Cause.Kind != history.CauseStart {
		t.Errorf("alerts %+v, want one: nb-b PASS -> FAIL, cause start", got)
	}
}

// gauge reads one series of the watcher's registry.
func gauge(t *testing.T, w *Watcher, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := w.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matches(m, labels) {
				if g := m.GetGauge(); g != nil {
					return g.GetValue()
				}
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func matches(m *dto.Metric, labels map[string]string) bool {
	for k, v := range labels {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == k && lp.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func TestAlertable(t *testing.T) {
	for _, c := range []struct {
		from, to string
		want     bool
	}{
		{"", "PASS", false}, {"", "FAIL", true}, {"PASS", "FAIL", true}, {"FAIL", "PASS", true},
		{"PASS", "ERROR", true}, {"PASS", history.StatusDeleted, false}, {"FAIL", history.StatusDeleted, true},
	} {
		if got := Alertable(history.Transition{From: c.from, To: c.to}); got != c.want {
			t.Errorf("%q -> %q: %v, want %v", c.from, c.to, got, c.want)
		}
	}
}
