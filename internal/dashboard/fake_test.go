package dashboard

import (
	"context"
	"sync"
	"time"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/history"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

// fakeSource is a Source over fixed data that records what it was asked.
type fakeSource struct {
	ready  bool
	rep    *finding.Report
	hist   map[key][]history.Transition
	recent []history.Transition
	trend  []history.TrendPoint
	err    error

	mu           sync.Mutex
	historyCalls []key
	trendSince   []time.Time
	recentLimits []int
}

func (f *fakeSource) Ready() bool { return f.ready }

func (f *fakeSource) Report(context.Context) (*finding.Report, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.rep, nil
}

func (f *fakeSource) History(_ context.Context, account, region, name string) ([]history.Transition, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := key{account, region, name}
	f.historyCalls = append(f.historyCalls, k)
	if f.err != nil {
		return nil, f.err
	}
	return f.hist[k], nil
}

func (f *fakeSource) Recent(_ context.Context, limit int) ([]history.Transition, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recentLimits = append(f.recentLimits, limit)
	if f.err != nil {
		return nil, f.err
	}
	return f.recent[:min(limit, len(f.recent))], nil
}

func (f *fakeSource) Trend(_ context.Context, since time.Time) ([]history.TrendPoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.trendSince = append(f.trendSince, since)
	if f.err != nil {
		return nil, f.err
	}
	var out []history.TrendPoint
	for _, p := range f.trend {
		if !p.At.Before(since) {
			out = append(out, p)
		}
	}
	return out, nil
}

// The fixture's clock and the identities its events name.
var (
	fixtureNow = time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
	alice      = "arn:aws:iam::111111111111:user/alice"
	netops     = "arn:aws:sts::222222222222:assumed-role/netops/bob"
)

const (
	acctA = "111111111111"
	acctB = "222222222222"
)

// The notebooks the fixture's transitions are about.
var (
	xssKey     = key{acctB, "us-east-1", reporttest.XSSName}
	directKey  = key{acctA, "us-east-1", "data-science-prod"}
	passKey    = key{acctA, "us-east-1", "secure-vpc-notebook"}
	deletedKey = key{acctA, "us-east-1", "retired-notebook"}
)

func tr(k key, at time.Time, from, to string, path finding.InternetPath, cause history.Cause) history.Transition {
	return history.Transition{
		At: at, AccountID: k.account, Region: k.region, Name: k.name,
		ARN:  "arn:aws:sagemaker:" + k.region + ":" + k.account + ":notebook-instance/" + k.name,
		From: from, To: to, InternetPath: string(path), Cause: cause,
	}
}

// newFake is a ready source over the report fixture (every status, a
// hostile notebook name), with a history in which the hostile notebook
// went from PASS to FAIL on a CreateRoute, a notebook was deleted, and a
// trend of five scans of which one is older than the dashboard's window.
func newFake() *fakeSource {
	start := history.Cause{Kind: history.CauseStart}
	d := func(days, hours int) time.Time {
		return fixtureNow.Add(-time.Duration(days)*24*time.Hour - time.Duration(hours)*time.Hour)
	}
	createRoute := history.Cause{Kind: history.CauseEvent, EventName: "CreateRoute", EventID: "0a1b2c3d-route", Caller: netops}
	update := history.Cause{Kind: history.CauseEvent, EventName: "UpdateNotebookInstance", EventID: "9f8e7d6c-update", Caller: alice}
	del := history.Cause{Kind: history.CauseEvent, EventName: "DeleteNotebookInstance", EventID: "5e6f-delete", Caller: alice}

	hist := map[key][]history.Transition{
		xssKey: {
			tr(xssKey, d(8, 0), "", "PASS", finding.PathNone, start),
			tr(xssKey, d(0, 3), "PASS", "FAIL", finding.PathIGW, createRoute),
		},
		directKey: {
			tr(directKey, d(8, 0), "", "PASS", finding.PathNone, start),
			tr(directKey, d(2, 0), "PASS", "FAIL", finding.PathDirect, update),
		},
		passKey: {
			tr(passKey, d(8, 0), "", "PASS", finding.PathNone, start),
		},
		deletedKey: {
			tr(deletedKey, d(8, 0), "", "FAIL", finding.PathDirect, start),
			tr(deletedKey, d(1, 0), "FAIL", history.StatusDeleted, "", del),
		},
	}
	recent := []history.Transition{hist[xssKey][1], hist[deletedKey][1], hist[directKey][1], hist[passKey][0], hist[xssKey][0]}
	counts := func(pass, fail, review, errs, muted int) map[finding.Status]int {
		return map[finding.Status]int{finding.StatusPass: pass, finding.StatusFail: fail, finding.StatusReview: review,
			finding.StatusError: errs, finding.StatusMuted: muted}
	}
	trend := []history.TrendPoint{
		{At: d(45, 0), Counts: counts(9, 0, 0, 0, 0)}, // outside the 30-day window
		{At: d(8, 0), Counts: counts(3, 2, 1, 1, 1)},
		{At: d(2, 0), Counts: counts(2, 3, 1, 1, 1)},
		{At: d(1, 0), Counts: counts(2, 2, 1, 1, 1)},
		{At: d(0, 3), Counts: counts(1, 3, 1, 1, 1)},
	}
	return &fakeSource{ready: true, rep: reporttest.Report(), hist: hist, recent: recent, trend: trend}
}
