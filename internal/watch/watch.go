// Package watch runs sagefence continuously: a full scan at start and
// every interval, event-driven rescans of the account-regions CloudTrail
// events name between them, each scan recorded in the history, alerts on
// transitions only, and the state served over HTTP with metrics.
//
// Scans run one at a time. Event batches that arrive while a scan runs
// wait, merged by account-region, and run as one rescan after it; a full
// scan absorbs every pending rescan. A scan that is interrupted is not
// recorded, so it can never turn a notebook PASS or DELETED.
package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sagefence/sagefence/internal/alert"
	"github.com/sagefence/sagefence/internal/dashboard"
	"github.com/sagefence/sagefence/internal/events"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/history"
)

// Result is one scan's outcome.
type Result struct {
	Report *finding.Report
	// Read are the account-regions the scan read completely: only their
	// state is replaced in the history, less what Unread names.
	Read   []history.Scope
	Unread []history.Unread
	// Calls and Throttles count the scan's AWS calls.
	Calls, Throttles int
}

// ScanFunc scans AWS: everything when scope is nil, else the given
// account-regions (and what their paths lead to).
type ScanFunc func(ctx context.Context, scope []history.Scope) (Result, error)

// Store is the history the watcher records into and serves from.
type Store interface {
	Record(ctx context.Context, scan history.Scan, rep *finding.Report) ([]history.Transition, error)
	Current(ctx context.Context) ([]finding.Result, error)
	Posture(ctx context.Context) ([]history.Posture, error)
	LastScan(ctx context.Context) (history.Scan, bool, error)
	History(ctx context.Context, account, region, name string) ([]history.Transition, error)
	Recent(ctx context.Context, limit int) ([]history.Transition, error)
	Trend(ctx context.Context, since time.Time) ([]history.TrendPoint, error)
	Prune(ctx context.Context, before time.Time) (int, error)
}

// Notifier takes alerts for delivery without blocking.
type Notifier interface {
	Notify(alerts ...alert.Alert)
}

// Options configure a Watcher.
type Options struct {
	Scan  ScanFunc
	Store Store
	// Alerts, if set, gets one alert per transition worth telling (see
	// Alertable).
	Alerts Notifier
	// Events, if set, are the batches of the event consumer; Counters,
	// if set, its counters (for metrics).
	Events   <-chan events.Batch
	Counters func() events.Counters
	// Push, if set, is called with each recorded scan's report (the
	// Security Hub push); a failure is logged and counted
	// (sagefence_securityhub_push_failures_total).
	Push func(ctx context.Context, rep *finding.Report) error
	// Interval between full scans (default 6h); Retention of history
	// (default 90 days).
	Interval, Retention time.Duration
	// Profile and Version fill the report the dashboard serves.
	Profile, Version string
	Logger           *slog.Logger
	Now              func() time.Time
}

// Watcher is one continuous run.
type Watcher struct {
	opts    Options
	m       *metrics
	ready   atomic.Bool
	log     *slog.Logger
	pending map[history.Scope]events.Event // rescans waiting, with the latest event
	// fullPending is a full scan an event asked for while nothing is
	// known of the estate (no full scan has read it yet); lastFull is when
	// the last full scan started (an event brings a failed one's retry
	// forward, at most once a firstRetry).
	fullPending *events.Event
	lastFull    time.Time
	// baselined is true once the history holds a scan that read
	// something: until then a scan records a baseline and alerts nothing.
	baselined bool
	// incomplete is true when the last full scan, or a rescan since,
	// could not read everything (the metric and the API's errors say so).
	incomplete atomic.Bool
	mu         sync.Mutex      // guards known
	known      []history.Scope // what the last full scan read
}

// Retrying a full scan that failed: after firstRetry, doubling, at most
// the interval.
const firstRetry = time.Minute

// New returns a watcher; Run starts it.
func New(opts Options) *Watcher {
	if opts.Interval <= 0 {
		opts.Interval = 6 * time.Hour
	}
	if opts.Retention <= 0 {
		opts.Retention = 90 * 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &Watcher{opts: opts, m: newMetrics(), log: opts.Logger, pending: map[history.Scope]events.Event{}}
	if opts.Counters != nil {
		w.m.registerEventCounters(opts.Counters)
	}
	return w
}

// Registry is the watcher's Prometheus registry (the alert dispatcher's
// delivery callback feeds it through RecordAlert).
func (w *Watcher) Registry() *prometheus.Registry { return w.m.reg }

// RecordAlert counts n alert deliveries to a sink: outcome is sent,
// failed or dropped.
func (w *Watcher) RecordAlert(sink, outcome string, n int) {
	w.m.alerts.WithLabelValues(sink, outcome).Add(float64(n))
}

// Handler serves the dashboard, the API and the metrics.
func (w *Watcher) Handler(token string) http.Handler {
	return dashboard.New(w, dashboard.Options{
		Token:   token,
		Metrics: promhttp.HandlerFor(w.m.reg, promhttp.HandlerOpts{Registry: w.m.reg}),
		Version: w.opts.Version,
		Now:     w.opts.Now,
	})
}

// Run scans everything at start, then every interval and on events, until
// ctx ends. A full scan that fails (nothing could be read) is retried
// after a minute, doubling up to the interval. It returns nil when ctx
// ends, an error only when the history cannot be written.
func (w *Watcher) Run(ctx context.Context) error {
	if err := w.resume(ctx); err != nil {
		return err
	}
	timer := time.NewTimer(w.opts.Interval)
	defer timer.Stop()
	cause := history.Cause{Kind: history.CauseStart}
	full, retry := true, firstRetry
	for {
		if full {
			recorded, err := w.scan(ctx, nil, cause)
			if err != nil {
				return err
			}
			full = false
			if recorded || ctx.Err() != nil {
				clear(w.pending)
				w.fullPending = nil
				timer.Reset(w.opts.Interval)
				retry = firstRetry
			} else {
				w.log.Info("full scan to be retried", "in", retry)
				timer.Reset(retry)
				retry = min(2*retry, w.opts.Interval)
			}
		}
		if w.fullPending != nil && ctx.Err() == nil && w.opts.Now().Sub(w.lastFull) >= firstRetry {
			full, cause = true, causeOf(*w.fullPending)
			w.fullPending = nil
			continue
		}
		if len(w.pending) > 0 && ctx.Err() == nil {
			scope, ev := w.takePending()
			if _, err := w.scan(ctx, scope, causeOf(ev)); err != nil {
				return err
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
			full, cause = true, history.Cause{Kind: history.CauseScheduled}
		case b, ok := <-w.opts.Events:
			if !ok {
				w.opts.Events = nil // the consumer stopped: scheduled scans only
				continue
			}
			w.enqueue(b)
		}
		w.drainEvents()
	}
}

// resume reads the history: a restarted watcher serves what it stored (it
// is ready at once) while its start scan runs, and that scan alerts on
// whatever changed while it was down. Nothing can be known about that time
// but by scanning, so a restart always scans.
func (w *Watcher) resume(ctx context.Context) error {
	last, ok, err := w.opts.Store.LastScan(ctx)
	if err != nil {
		return fmt.Errorf("read the history: %w", err)
	}
	if !ok {
		return nil
	}
	w.setKnown(last.Read)
	w.baselined = true
	w.updateGauges(ctx)
	w.ready.Store(true)
	w.setIncomplete(!last.Complete)
	if !last.FinishedAt.IsZero() && last.Complete && last.Cause.Kind != history.CauseEvent {
		w.m.lastScan.Set(float64(last.FinishedAt.Unix()))
	}
	w.log.Info("resuming from the history", "last_scan", last.FinishedAt, "last_cause", last.Cause.String())
	return nil
}

func (w *Watcher) setIncomplete(v bool) {
	w.incomplete.Store(v)
	if v {
		w.m.lastScanFailed.Set(1)
	} else {
		w.m.lastScanFailed.Set(0)
	}
}

// drainEvents takes every batch already waiting, without blocking.
func (w *Watcher) drainEvents() {
	for {
		select {
		case b, ok := <-w.opts.Events:
			if !ok {
				w.opts.Events = nil
				return
			}
			w.enqueue(b)
		default:
			return
		}
	}
}

// enqueue adds a batch's rescans: its account-region; or, for an account
// whose notebooks the watch does not scan (a network account), every
// account-region of that region the last full scan read, whose paths may
// lead there. An event in a region the watch does not scan is ignored
// (counted); one that comes before any full scan has read the estate asks
// for a full scan, which reads the configured selection only.
func (w *Watcher) enqueue(b events.Batch) {
	if len(b.Events) == 0 {
		return
	}
	latest := b.Events[len(b.Events)-1]
	scopes, known := w.scopesFor(history.Scope{AccountID: b.AccountID, Region: b.Region})
	switch {
	case !known:
		w.fullPending = &latest
	case len(scopes) == 0:
		w.m.outOfScope.Inc()
		w.log.Debug("event outside the watched regions ignored", "account", b.AccountID, "region", b.Region, "event", latest.Name)
	}
	for _, s := range scopes {
		w.pending[s] = latest
	}
}

// scopesFor is what an event in s rescans, and whether anything is known
// to decide it.
func (w *Watcher) scopesFor(s history.Scope) ([]history.Scope, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.known) == 0 {
		return nil, false
	}
	if slices.Contains(w.known, s) {
		return []history.Scope{s}, true
	}
	var out []history.Scope
	for _, k := range w.known {
		if k.Region == s.Region {
			out = append(out, k)
		}
	}
	return out, true
}

func (w *Watcher) setKnown(read []history.Scope) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.known = slices.Clone(read)
}

// takePending returns every pending rescan, sorted, and the latest event
// among them (the cause the rescan records).
func (w *Watcher) takePending() ([]history.Scope, events.Event) {
	var scope []history.Scope
	var latest events.Event
	for s, ev := range w.pending {
		scope = append(scope, s)
		if ev.Time.After(latest.Time) || latest.ID == "" {
			latest = ev
		}
	}
	clear(w.pending)
	slices.SortFunc(scope, func(a, b history.Scope) int {
		return strings.Compare(a.AccountID+"/"+a.Region, b.AccountID+"/"+b.Region)
	})
	return scope, latest
}

func causeOf(ev events.Event) history.Cause {
	return history.Cause{Kind: history.CauseEvent, EventName: ev.Name, EventID: ev.ID, Caller: ev.Caller}
}

// scan runs one scan and records it, and says whether it was recorded.
// Only a failure to write the history is returned; a scan that fails, is
// interrupted, or (a full scan) reads nothing at all is logged and
// counted, and not recorded: it can neither pass nor delete a notebook.
func (w *Watcher) scan(ctx context.Context, scope []history.Scope, cause history.Cause) (bool, error) {
	kind := "full"
	if scope != nil {
		kind = "rescan"
	}
	start := w.opts.Now()
	if scope == nil {
		w.lastFull = start
	}
	w.log.Info("scan started", "kind", kind, "cause", cause.String(), "scope", fmtScope(scope))
	res, err := w.opts.Scan(ctx, scope)
	took := w.opts.Now().Sub(start)
	w.m.scanSeconds.WithLabelValues(kind).Observe(took.Seconds())
	w.m.apiCalls.Add(float64(res.Calls))
	w.m.throttles.Add(float64(res.Throttles))
	switch {
	case ctx.Err() != nil:
		// Abandoned: an interrupted scan read part of the estate and must
		// not be taken for the state of the rest.
		w.m.scans.WithLabelValues(kind, "abandoned").Inc()
		w.log.Info("scan abandoned: shutting down", "kind", kind)
		return false, nil
	case err == nil && res.Report != nil && scope == nil && len(res.Read) == 0 && !res.Report.Complete:
		err = fmt.Errorf("no account-region could be read (%d errors)", len(res.Report.Errors))
		if len(res.Report.Errors) > 0 {
			e := res.Report.Errors[0]
			err = fmt.Errorf("%w; the first: %s %s %s: %s", err, e.AccountID, e.Region, e.Operation, e.Message)
		}
		fallthrough
	case err != nil || res.Report == nil:
		w.m.scans.WithLabelValues(kind, "failed").Inc()
		w.setIncomplete(true)
		w.log.Error("scan failed", "kind", kind, "err", err)
		return false, nil
	}
	rep := res.Report
	rep.Summarize()
	scan := history.Scan{StartedAt: start.UTC(), FinishedAt: w.opts.Now().UTC(), Cause: cause, Complete: rep.Complete,
		Read: res.Read, Unread: res.Unread, Counts: rep.Summary}
	// The history must not lose the scan to a shutdown that comes while
	// it is written.
	transitions, err := w.opts.Store.Record(context.WithoutCancel(ctx), scan, rep)
	if err != nil {
		return false, fmt.Errorf("record the scan: %w", err)
	}
	outcome := "complete"
	switch {
	case !rep.Complete:
		outcome = "incomplete"
		w.setIncomplete(true)
	case scope == nil:
		w.setIncomplete(false)
		w.m.lastScan.Set(float64(scan.FinishedAt.Unix()))
	}
	w.m.scans.WithLabelValues(kind, outcome).Inc()
	if scope == nil {
		w.setKnown(res.Read)
	}
	// The first scan that reads anything into an empty history is a
	// baseline: every notebook is new, and none is news.
	baseline := !w.baselined
	w.baselined = w.baselined || len(res.Read) > 0
	var alerts []alert.Alert
	for _, t := range transitions {
		w.m.transitions.WithLabelValues(t.To).Inc()
		if w.opts.Alerts != nil && !baseline && Alertable(t) {
			alerts = append(alerts, alert.FromTransition(t))
		}
	}
	if len(alerts) > 0 {
		w.opts.Alerts.Notify(alerts...)
	}
	w.log.Info("scan recorded", "kind", kind, "took", took.Round(time.Millisecond), "results", len(rep.Results),
		"transitions", len(transitions), "alerts", len(alerts), "complete", rep.Complete, "baseline", baseline)
	w.updateGauges(ctx)
	if scope == nil {
		w.ready.Store(true)
	}
	if w.opts.Push != nil {
		if err := w.opts.Push(ctx, rep); err != nil {
			w.m.pushFailures.Inc()
			w.log.Error("Security Hub push failed", "err", err)
		}
	}
	if scope == nil {
		if n, err := w.opts.Store.Prune(ctx, w.opts.Now().Add(-w.opts.Retention)); err != nil {
			w.log.Error("pruning the history failed", "err", err)
		} else if n > 0 {
			w.log.Info("history pruned", "rows", n)
		}
	}
	return true, nil
}

// Alertable says which transitions are worth an alert: every one except a
// new notebook that passes and the deletion of one that passed. The first
// scan of an empty history records a baseline and alerts nothing.
func Alertable(t history.Transition) bool {
	switch {
	case t.From == "" && t.To == string(finding.StatusPass):
		return false
	case t.From == string(finding.StatusPass) && t.To == history.StatusDeleted:
		return false
	}
	return true
}

func (w *Watcher) updateGauges(ctx context.Context) {
	posture, err := w.opts.Store.Posture(ctx)
	if err != nil {
		w.log.Error("counting the current state failed", "err", err)
		return
	}
	w.m.notebooks.Reset()
	for _, p := range posture {
		w.m.notebooks.WithLabelValues(string(p.Status), p.AccountID, p.Region).Set(float64(p.Count))
	}
}

func fmtScope(scope []history.Scope) string {
	if scope == nil {
		return "all"
	}
	parts := make([]string, len(scope))
	for i, s := range scope {
		parts[i] = s.AccountID + "/" + s.Region
	}
	return strings.Join(parts, ",")
}

// Ready is true once a full scan is stored (dashboard.Source).
func (w *Watcher) Ready() bool { return w.ready.Load() }

// Report is the latest state in the report contract (dashboard.Source).
func (w *Watcher) Report(ctx context.Context) (*finding.Report, error) {
	cur, err := w.opts.Store.Current(ctx)
	if err != nil {
		return nil, err
	}
	last, ok, err := w.opts.Store.LastScan(ctx)
	if err != nil {
		return nil, err
	}
	rep := &finding.Report{SchemaVersion: finding.SchemaVersion, Tool: finding.Tool{Name: "sagefence", Version: w.opts.Version},
		Profile: w.opts.Profile, Results: cur}
	if ok {
		rep.StartedAt, rep.FinishedAt = last.StartedAt, last.FinishedAt
		if w.incomplete.Load() {
			rep.Errors = append(rep.Errors, finding.Error{Operation: "sagefence:watch",
				Message: "the last full scan, or a rescan since, could not read everything: some results may be stale; see the watch's log"})
		}
	}
	if !ok {
		return nil, errors.New("no scan recorded yet")
	}
	rep.Summarize()
	return rep, nil
}

// History is one notebook's transitions (dashboard.Source).
func (w *Watcher) History(ctx context.Context, account, region, name string) ([]history.Transition, error) {
	return w.opts.Store.History(ctx, account, region, name)
}

// Recent are the latest transitions (dashboard.Source).
func (w *Watcher) Recent(ctx context.Context, limit int) ([]history.Transition, error) {
	return w.opts.Store.Recent(ctx, limit)
}

// Trend is the posture over time (dashboard.Source).
func (w *Watcher) Trend(ctx context.Context, since time.Time) ([]history.TrendPoint, error) {
	return w.opts.Store.Trend(ctx, since)
}
