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
	// empty makes a scan read nothing (every account-region failed);
	// broken makes it read everything but one account-region it names.
	empty  bool
	broken *history.Scope
}

func (e *estate) set(account, region, name string, st finding.Status) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.status[[3]string{account, region, name}] = st
}

func (e *estate) scan(ctx context.Context, scope []history.Scope) (Result, error) {
	e.mu.Lock()
	e.scans = append(e.scans, scope)
	block, fail, empty, broken := e.block, e.fail, e.empty, e.broken
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
	if empty {
		rep := &finding.Report{Errors: []finding.Error{{AccountID: "111111111111", Operation: "sts:GetCallerIdentity", Message: "expired token"}}}
		rep.Summarize()
		return Result{Report: rep}, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rep := &finding.Report{}
	read := map[history.Scope]bool{}
	if broken != nil && (scope == nil || slices.Contains(scope, *broken)) {
		rep.Errors = append(rep.Errors, finding.Error{AccountID: broken.AccountID, Region: broken.Region, Operation: "sagemaker:ListNotebookInstances", Message: "denied"})
	}
	for k, st := range e.status {
		s := history.Scope{AccountID: k[0], Region: k[1]}
		if (scope != nil && !slices.Contains(scope, s)) || (broken != nil && s == *broken) {
			continue
		}
		read[s] = true
		rep.Results = append(rep.Results, finding.Result{AccountID: k[0], Region: k[1], Resource: finding.Resource{Name: k[2]}, Status: st})
	}
	for _, s := range scope {
		if broken == nil || s != *broken {
			read[s] = true
		}
	}
	rep.Summarize()
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

func start(t *testing.T, est *estate, store *memStore, opts ...func(*Options)) *harness {
	t.Helper()
	h := &harness{est: est, store: store, alerts: &notifier{}, events: make(chan events.Batch, 16), done: make(chan error, 1)}
	o := Options{Scan: est.scan, Store: store, Alerts: h.alerts, Events: h.events, Interval: time.Hour}
	for _, f := range opts {
		f(&o)
	}
	h.w = New(o)
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

// clock is a settable Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestAStartScanThatReadsNothingKeepsTheBaseline: a start scan that could
// read nothing (expired credentials) is not recorded and does not make the
// watcher ready; events then bring its retry forward, at most once a
// minute, and the first scan that reads the estate is still the baseline:
// it alerts nothing. The next change alerts.
func TestAStartScanThatReadsNothingKeepsTheBaseline(t *testing.T) {
	est, store := newEstate(), newMemStore()
	est.empty = true
	clk := &clock{now: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	h := start(t, est, store, func(o *Options) { o.Now = clk.Now })
	waitFor(t, "the start scan", func() bool { return est.scanCount() == 1 })
	time.Sleep(30 * time.Millisecond)
	if h.w.Ready() || len(store.scans) != 0 {
		t.Fatalf("after a start scan that read nothing: ready %v, %d scans recorded; want not ready, none", h.w.Ready(), len(store.scans))
	}
	if got := gauge(t, h.w, "sagefence_scans_total", map[string]string{"kind": "full", "outcome": "failed"}); got != 1 {
		t.Errorf("failed full scans = %v, want 1", got)
	}
	// Within the minute: the event waits for the retry.
	h.events <- event("111111111111", "us-east-1", "CreateRoute", "ev-1")
	time.Sleep(50 * time.Millisecond)
	if n := est.scanCount(); n != 1 {
		t.Fatalf("%d scans: an event retried the failed full scan within the minute", n)
	}
	est.mu.Lock()
	est.empty = false
	est.mu.Unlock()
	clk.advance(2 * time.Minute)
	h.events <- event("111111111111", "us-east-1", "CreateRoute", "ev-2")
	waitFor(t, "ready", h.w.Ready)
	est.mu.Lock()
	full := est.scans[len(est.scans)-1]
	est.mu.Unlock()
	if full != nil {
		t.Errorf("the retried scan's scope = %v, want a full scan", full)
	}
	if a := h.alerts.got(); len(a) != 0 {
		t.Fatalf("the first scan that read the estate alerted: %+v (nb-b is FAIL from the start)", a)
	}
	est.set("111111111111", "us-east-1", "nb-a", finding.StatusFail)
	h.events <- event("111111111111", "us-east-1", "CreateRoute", "ev-3")
	waitFor(t, "the alert", func() bool { return len(h.alerts.got()) > 0 })
	if a := h.alerts.got(); len(a) != 1 || a[0].Resource != "nb-a" || a[0].From != "PASS" {
		t.Errorf("alerts %+v, want one for nb-a from PASS", a)
	}
}

// TestAnEventOutsideTheWatchedRegionsIsIgnored: the watch scans the
// regions its selection names; an event elsewhere (an organization-wide
// rule) rescans nothing and is counted.
func TestAnEventOutsideTheWatchedRegionsIsIgnored(t *testing.T) {
	est, store := newEstate(), newMemStore()
	h := start(t, est, store)
	waitFor(t, "ready", h.w.Ready)
	h.events <- event("111111111111", "ap-south-1", "CreateRoute", "ev-x")
	h.events <- event("111111111111", "us-east-1", "CreateRoute", "ev-y") // a marker: it is rescanned
	waitFor(t, "the marker's rescan", func() bool { return est.scanCount() >= 2 })
	time.Sleep(30 * time.Millisecond)
	est.mu.Lock()
	scans := slices.Clone(est.scans)
	est.mu.Unlock()
	if len(scans) != 2 || !slices.Equal(scans[1], []history.Scope{{AccountID: "111111111111", Region: "us-east-1"}}) {
		t.Errorf("scans %v: want the start scan and the us-east-1 rescan only", scans)
	}
	if got := gauge(t, h.w, "sagefence_event_batches_out_of_scope_total", nil); got != 1 {
		t.Errorf("out-of-scope batches = %v, want 1", got)
	}
}

// TestStaleStateIsSaidUntilACompleteFullScan: a full scan that missed an
// account-region leaves it stale; a complete rescan of another does not
// clear that (the gauge and the API's errors still say so), a complete
// full scan does.
func TestStaleStateIsSaidUntilACompleteFullScan(t *testing.T) {
	est, store := newEstate(), newMemStore()
	est.broken = &history.Scope{AccountID: "111111111111", Region: "eu-west-1"}
	h := start(t, est, store, func(o *Options) { o.Interval = 200 * time.Millisecond })
	waitFor(t, "ready", h.w.Ready)
	stale := func() (float64, int) {
		rep, err := h.w.Report(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return gauge(t, h.w, "sagefence_last_scan_incomplete", nil), len(rep.Errors)
	}
	if g, e := stale(); g != 1 || e != 1 {
		t.Fatalf("after an incomplete full scan: gauge %v, %d report errors; want 1 and 1", g, e)
	}
	h.events <- event("111111111111", "us-east-1", "CreateRoute", "ev-1")
	waitFor(t, "the rescan", func() bool { return est.scanCount() >= 2 })
	time.Sleep(20 * time.Millisecond)
	if g, e := stale(); g != 1 || e != 1 {
		t.Errorf("after a complete rescan of another region: gauge %v, %d report errors; want still 1 and 1", g, e)
	}
	est.mu.Lock()
	est.broken = nil
	n := len(est.scans)
	est.mu.Unlock()
	waitFor(t, "the next full scan", func() bool {
		est.mu.Lock()
		defer est.mu.Unlock()
		return len(est.scans) > n && est.scans[len(est.scans)-1] == nil
	})
	waitFor(t, "the state to be complete", func() bool { g, e := stale(); return g == 0 && e == 0 })
}

// TestAFailedPushIsCounted: the Security Hub push runs after each recorded
// scan; its failure is counted and scanning goes on.
func TestAFailedPushIsCounted(t *testing.T) {
	est, store := newEstate(), newMemStore()
	var pushes sync.Map
	h := start(t, est, store, func(o *Options) {
		o.Push = func(_ context.Context, rep *finding.Report) error {
			pushes.Store(len(rep.Results), true)
			return context.DeadlineExceeded
		}
	})
	waitFor(t, "ready", h.w.Ready)
	h.events <- event("111111111111", "us-east-1", "CreateRoute", "ev-1")
	waitFor(t, "two failed pushes", func() bool {
		return gauge(t, h.w, "sagefence_securityhub_push_failures_total", nil) == 2
	})
	if _, ok := pushes.Load(3); !ok {
		t.Error("the full scan's three results were not pushed")
	}
	if _, ok := pushes.Load(2); !ok {
		t.Error("the rescan's two results were not pushed")
	}
}
