package history

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/finding"
)

var t0 = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "state", "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// nb is a notebook's result as a scan reports it: enough of the report
// contract that a stored result that lost a field would show.
func nb(acct, region, name string, st finding.Status, path finding.InternetPath) finding.Result {
	arn := "arn:aws:sagemaker:" + region + ":" + acct + ":notebook-instance/" + name
	r := finding.Result{
		ControlID:    finding.ControlID,
		AccountID:    acct,
		Region:       region,
		Resource:     finding.Resource{Type: finding.ResourceType, Name: name, ARN: arn, Tags: map[string]string{"team": "ml", "owner": "alice", "env": "prod", "cost-center": "42"}},
		Status:       st,
		Severity:     finding.SeverityHigh,
		InternetPath: path,
		Checks: []finding.Check{
			{ID: "direct-internet-access", Status: finding.StatusPass, Message: "DirectInternetAccess is Disabled"},
			{ID: "vpc-egress", Status: st, Severity: finding.SeverityHigh, Message: "egress via " + string(path)},
		},
		Evidence: finding.Evidence{
			DirectInternetAccess: "Disabled", SubnetID: "subnet-1", VPCID: "vpc-1",
			SecurityGroupIDs: []string{"sg-1", "sg-2"}, RouteTableID: "rtb-1", RouteTableSource: "explicit",
		},
		Remediation: "remove the route",
		Reproduce: finding.CommandList(
			"aws sagemaker describe-notebook-instance --notebook-instance-name "+name+" --region "+region,
			"aws ec2 describe-route-tables --route-table-ids rtb-1 --region "+region),
		Compliance: map[string][]string{"aws-fsbp": {"SageMaker.1"}},
		Hops: []finding.Hop{
			{Kind: "subnet", ResourceID: "subnet-1", AccountID: acct, Region: region},
			{Kind: "route-table", ResourceID: "rtb-1", Decision: "0.0.0.0/0 -> nat-1 (nat)"},
			{Kind: "end", Decision: "internet"},
		},
	}
	if st == finding.StatusError {
		r.Checks = []finding.Check{{ID: "vpc-egress", Status: finding.StatusError, Message: "DescribeRouteTables: throttled"}}
		r.Hops = nil
	}
	return r
}

func report(results ...finding.Result) *finding.Report {
	r := &finding.Report{SchemaVersion: finding.SchemaVersion, Results: results}
	r.Summarize()
	return r
}

func scanAt(at time.Time, cause Cause, read ...Scope) Scan {
	return Scan{StartedAt: at.Add(-time.Minute), FinishedAt: at, Cause: cause, Complete: true, Read: read}
}

var (
	scheduled = Cause{Kind: CauseScheduled}
	// createRoute is the cause of an event-driven rescan.
	createRoute = Cause{Kind: CauseEvent, EventName: "CreateRoute", EventID: "0a1b2c",
		Caller: "arn:aws:iam::111111111111:user/alice"}
	euw1 = Scope{AccountID: "111111111111", Region: "eu-west-1"}
	use1 = Scope{AccountID: "111111111111", Region: "us-east-1"}
	acc2 = Scope{AccountID: "222222222222", Region: "eu-west-1"}
)

func record(t *testing.T, s *Store, scan Scan, rep *finding.Report) []Transition {
	t.Helper()
	trs, err := s.Record(context.Background(), scan, rep)
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	return trs
}

func current(t *testing.T, s *Store) []finding.Result {
	t.Helper()
	got, err := s.Current(context.Background())
	if err != nil {
		t.Fatalf("Current: %v", err)
	}
	return got
}

func history(t *testing.T, s *Store, sc Scope, name string) []Transition {
	t.Helper()
	got, err := s.History(context.Background(), sc.AccountID, sc.Region, name)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	return got
}

// tr is a transition as Record returns it.
func tr(at time.Time, sc Scope, name, from, to string, path finding.InternetPath, cause Cause) Transition {
	arn := "arn:aws:sagemaker:" + sc.Region + ":" + sc.AccountID + ":notebook-instance/" + name
	return Transition{At: at, AccountID: sc.AccountID, Region: sc.Region, Name: name, ARN: arn, From: from, To: to,
		InternetPath: string(path), Cause: cause}
}

func TestDefaultPathFollowsXDGStateHome(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", dir)
	got, err := DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "sagefence", "history.db"); got != want {
		t.Errorf("DefaultPath() = %q, want %q", got, want)
	}
}

func TestOpenCreatesWALDatabaseWithCurrentSchema(t *testing.T) {
	s := openTemp(t)
	for _, c := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
		{"journal_size_limit", "16777216"},
		{"user_version", "1"},
	} {
		var got string
		if err := s.w.QueryRow("PRAGMA " + c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("PRAGMA %s = %s, want %s", c.pragma, got, c.want)
		}
	}
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("database mode %v, want 0600", perm)
	}
	// The readers cannot write: a write through them would be a second
	// writer beside Record's.
	if _, err := s.r.Exec(`DELETE FROM scans`); err == nil {
		t.Error("a read connection deleted rows")
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`PRAGMA user_version = 7`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "schema version 7 is newer") {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}

func TestFirstScanEveryNotebookIsNew(t *testing.T) {
	s := openTemp(t)
	// Deliberately out of order: the transitions come back sorted by
	// account, region and name whatever the report's order.
	rep := report(
		nb(acc2.AccountID, acc2.Region, "a", finding.StatusPass, finding.PathNone),
		nb(use1.AccountID, use1.Region, "b", finding.StatusFail, finding.PathDirect),
		nb(euw1.AccountID, euw1.Region, "z", finding.StatusReview, finding.PathUnknown),
		nb(euw1.AccountID, euw1.Region, "m", finding.StatusPass, finding.PathNone),
	)
	start := Cause{Kind: CauseStart}
	got := record(t, s, scanAt(t0, start, use1, acc2, euw1), rep)
	want := []Transition{
		tr(t0, euw1, "m", "", "PASS", finding.PathNone, start),
		tr(t0, euw1, "z", "", "REVIEW", finding.PathUnknown, start),
		tr(t0, use1, "b", "", "FAIL", finding.PathDirect, start),
		tr(t0, acc2, "a", "", "PASS", finding.PathNone, start),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
	// What was returned is what was stored.
	if diff := cmp.Diff(want[:1], history(t, s, euw1, "m")); diff != "" {
		t.Errorf("History of m (-want +got):\n%s", diff)
	}
	last, ok, err := s.LastScan(context.Background())
	if err != nil || !ok {
		t.Fatalf("LastScan: %v %v", ok, err)
	}
	wantScan := scanAt(t0, start, use1, acc2, euw1)
	wantScan.ID = last.ID
	wantScan.Counts = map[finding.Status]int{"PASS": 2, "FAIL": 1, "REVIEW": 1, "ERROR": 0, "MUTED": 0}
	if diff := cmp.Diff(wantScan, last); diff != "" {
		t.Errorf("LastScan (-want +got):\n%s", diff)
	}
}

func TestStatusChangeIsATransitionWithItsCause(t *testing.T) {
	s := openTemp(t)
	record(t, s, scanAt(t0, scheduled, euw1), report(
		nb(euw1.AccountID, euw1.Region, "nb-1", finding.StatusPass, finding.PathNone),
		nb(euw1.AccountID, euw1.Region, "nb-2", finding.StatusPass, finding.PathNone),
	))
	t1 := t0.Add(time.Hour)
	got := record(t, s, scanAt(t1, createRoute, euw1), report(
		nb(euw1.AccountID, euw1.Region, "nb-1", finding.StatusFail, finding.PathNAT),
		nb(euw1.AccountID, euw1.Region, "nb-2", finding.StatusPass, finding.PathNone),
	))
	want := []Transition{tr(t1, euw1, "nb-1", "PASS", "FAIL", finding.PathNAT, createRoute)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
	wantHistory := []Transition{tr(t0, euw1, "nb-1", "", "PASS", finding.PathNone, scheduled), want[0]}
	if diff := cmp.Diff(wantHistory, history(t, s, euw1, "nb-1")); diff != "" {
		t.Errorf("History (-want +got):\n%s", diff)
	}
	if got := want[0].Cause.String(); got != "CreateRoute by arn:aws:iam::111111111111:user/alice (event 0a1b2c)" {
		t.Errorf("Cause.String() = %q", got)
	}
	cur := current(t, s)
	if len(cur) != 2 || cur[0].Status != finding.StatusFail || cur[0].InternetPath != finding.PathNAT {
		t.Errorf("Current after the change: %+v", cur)
	}
}

func TestSameStatusWithNewEvidenceUpdatesCurrentWithoutTransition(t *testing.T) {
	s := openTemp(t)
	r := nb(euw1.AccountID, euw1.Region, "nb-1", finding.StatusFail, finding.PathNAT)
	record(t, s, scanAt(t0, scheduled, euw1), report(r))
	r.InternetPath = finding.PathIGW
	r.Evidence.DecidingRoute = "0.0.0.0/0 -> igw-1 (igw)"
	if got := record(t, s, scanAt(t0.Add(time.Hour), scheduled, euw1), report(r)); len(got) != 0 {
		t.Errorf("transitions %+v, want none (FAIL stays FAIL)", got)
	}
	if diff := cmp.Diff([]finding.Result{r}, current(t, s)); diff != "" {
		t.Errorf("Current (-want +got):\n%s", diff)
	}
}

// TestAnAccountRegionNotReadIsLeftAsItWas: a region whose notebooks could
// not be listed is not in Read; its stored notebooks are neither deleted
// nor passed, even when the report carries a result for one of them.
func TestAnAccountRegionNotReadIsLeftAsItWas(t *testing.T) {
	s := openTemp(t)
	failing := nb(use1.AccountID, use1.Region, "nb-us", finding.StatusFail, finding.PathDirect)
	record(t, s, scanAt(t0, scheduled, euw1, use1), report(
		nb(euw1.AccountID, euw1.Region, "nb-eu", finding.StatusPass, finding.PathNone),
		failing,
	))
	t1 := t0.Add(time.Hour)
	got := record(t, s, scanAt(t1, scheduled, euw1), report(
		nb(euw1.AccountID, euw1.Region, "nb-eu", finding.StatusFail, finding.PathIGW),
		// A stray result of the unread region: not applied.
		nb(use1.AccountID, use1.Region, "nb-us", finding.StatusPass, finding.PathNone),
		nb(use1.AccountID, use1.Region, "nb-us-new", finding.StatusPass, finding.PathNone),
	))
	want := []Transition{tr(t1, euw1, "nb-eu", "PASS", "FAIL", finding.PathIGW, scheduled)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
	cur := current(t, s)
	if len(cur) != 2 {
		t.Fatalf("Current holds %d notebooks, want 2: %+v", len(cur), cur)
	}
	if diff := cmp.Diff(failing, cur[1]); diff != "" {
		t.Errorf("the unread region's notebook changed (-want +got):\n%s", diff)
	}
	if h := history(t, s, use1, "nb-us"); len(h) != 1 {
		t.Errorf("History of the unread region's notebook: %+v, want only its first sighting", h)
	}
}

func TestANotebookGoneFromItsRegionIsDeleted(t *testing.T) {
	s := openTemp(t)
	record(t, s, scanAt(t0, scheduled, euw1), report(
		nb(euw1.AccountID, euw1.Region, "keep", finding.StatusPass, finding.PathNone),
		nb(euw1.AccountID, euw1.Region, "gone", finding.StatusFail, finding.PathDirect),
	))
	t1 := t0.Add(time.Hour)
	deleteCause := Cause{Kind: CauseEvent, EventName: "DeleteNotebookInstance", EventID: "e2", Caller: "arn:aws:iam::111111111111:role/ops"}
	got := record(t, s, scanAt(t1, deleteCause, euw1), report(
		nb(euw1.AccountID, euw1.Region, "keep", finding.StatusPass, finding.PathNone),
	))
	want := []Transition{tr(t1, euw1, "gone", "FAIL", StatusDeleted, "", deleteCause)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
	cur := current(t, s)
	if len(cur) != 1 || cur[0].Resource.Name != "keep" {
		t.Errorf("Current after the deletion: %+v", cur)
	}
	var stored int
	if err := s.r.QueryRow(`SELECT count(*) FROM results`).Scan(&stored); err != nil || stored != 1 {
		t.Errorf("%d stored results after the deletion (%v), want 1: the deleted notebook's is left behind", stored, err)
	}
	last, _, err := s.LastScan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if last.Counts[finding.StatusFail] != 0 || last.Counts[finding.StatusPass] != 1 {
		t.Errorf("counts after the deletion: %v", last.Counts)
	}
	// A region read with no notebook left deletes them all.
	got = record(t, s, scanAt(t1.Add(time.Hour), scheduled, euw1), report())
	if len(got) != 1 || got[0].Name != "keep" || got[0].To != StatusDeleted {
		t.Errorf("transitions of an emptied region: %+v", got)
	}
	// A notebook created again under the same name is new again.
	got = record(t, s, scanAt(t1.Add(2*time.Hour), scheduled, euw1), report(
		nb(euw1.AccountID, euw1.Region, "gone", finding.StatusPass, finding.PathNone),
	))
	if len(got) != 1 || got[0].From != "" || got[0].To != "PASS" {
		t.Errorf("transitions of a re-created notebook: %+v", got)
	}
	h := history(t, s, euw1, "gone")
	var tos []string
	for _, x := range h {
		tos = append(tos, x.From+">"+x.To)
	}
	if diff := cmp.Diff([]string{">FAIL", "FAIL>DELETED", ">PASS"}, tos); diff != "" {
		t.Errorf("History of the re-created notebook (-want +got):\n%s", diff)
	}
}

func TestErrorIsATransitionAndIsStored(t *testing.T) {
	s := openTemp(t)
	record(t, s, scanAt(t0, scheduled, euw1), report(nb(euw1.AccountID, euw1.Region, "nb", finding.StatusPass, finding.PathNone)))
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	errored := nb(euw1.AccountID, euw1.Region, "nb", finding.StatusError, finding.PathUnknown)
	got := record(t, s, scanAt(t1, scheduled, euw1), report(errored))
	if diff := cmp.Diff([]Transition{tr(t1, euw1, "nb", "PASS", "ERROR", finding.PathUnknown, scheduled)}, got); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]finding.Result{errored}, current(t, s)); diff != "" {
		t.Errorf("Current keeps an older result instead of the ERROR (-want +got):\n%s", diff)
	}
	got = record(t, s, scanAt(t2, scheduled, euw1), report(nb(euw1.AccountID, euw1.Region, "nb", finding.StatusPass, finding.PathNone)))
	if diff := cmp.Diff([]Transition{tr(t2, euw1, "nb", "ERROR", "PASS", finding.PathNone, scheduled)}, got); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
}

func TestRecordRefusesWhatItCannotStoreHonestly(t *testing.T) {
	s := openTemp(t)
	r := nb(euw1.AccountID, euw1.Region, "nb", finding.StatusPass, finding.PathNone)
	record(t, s, scanAt(t0, scheduled, euw1), report(r))
	twice := nb(euw1.AccountID, euw1.Region, "nb", finding.StatusFail, finding.PathIGW)
	for name, c := range map[string]struct {
		scan Scan
		rep  *finding.Report
		want string
	}{
		"a notebook twice": {scanAt(t0.Add(time.Hour), scheduled, euw1), report(twice, r), "holds notebook 111111111111/eu-west-1/nb twice"},
		"no time":          {Scan{Cause: scheduled, Read: []Scope{euw1}}, report(twice), "no time"},
		"no report":        {scanAt(t0.Add(time.Hour), scheduled, euw1), nil, "without a report"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.Record(context.Background(), c.scan, c.rep)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Record: %v, want an error saying %q", err, c.want)
			}
			if diff := cmp.Diff([]finding.Result{r}, current(t, s)); diff != "" {
				t.Errorf("a refused scan changed Current (-want +got):\n%s", diff)
			}
			if h := history(t, s, euw1, "nb"); len(h) != 1 {
				t.Errorf("a refused scan left transitions: %+v", h)
			}
		})
	}
}

// TestACancelledRecordStoresNothing: the context ends inside the
// transaction, after every row is written; nothing of the scan remains.
func TestACancelledRecordStoresNothing(t *testing.T) {
	s := openTemp(t)
	first := record(t, s, scanAt(t0, scheduled, euw1), report(nb(euw1.AccountID, euw1.Region, "nb", finding.StatusPass, finding.PathNone)))
	ctx, cancel := context.WithCancel(context.Background())
	s.beforeCommit = cancel
	_, err := s.Record(ctx, scanAt(t0.Add(time.Hour), scheduled, euw1), report(
		nb(euw1.AccountID, euw1.Region, "nb", finding.StatusFail, finding.PathIGW),
		nb(euw1.AccountID, euw1.Region, "other", finding.StatusFail, finding.PathIGW)))
	s.beforeCommit = nil
	if err == nil {
		t.Fatal("Record with a context cancelled before its commit succeeded")
	}
	if diff := cmp.Diff(first, history(t, s, euw1, "nb")); diff != "" {
		t.Errorf("History after a cancelled Record (-want +got):\n%s", diff)
	}
	if cur := current(t, s); len(cur) != 1 || cur[0].Status != finding.StatusPass {
		t.Errorf("Current after a cancelled Record: %+v", cur)
	}
	last, _, err := s.LastScan(context.Background())
	if err != nil || !last.FinishedAt.Equal(t0) {
		t.Errorf("LastScan after a cancelled Record: %+v %v", last, err)
	}
}

func TestStoredResultReadsBackEqual(t *testing.T) {
	s := openTemp(t)
	yes := true
	r := nb(euw1.AccountID, euw1.Region, "nb-<img src=x>", finding.StatusMuted, finding.PathTransit)
	// Commands rendered from a template, as a scan's are: they must be
	// stored as the strings they render.
	r.Reproduce = finding.TemplateCommands(echoTemplate{}, finding.CommandArgs{Name: r.Resource.Name, Region: r.Region, NetworkInterfaceID: "eni-1"})
	r.Hops = append(r.Hops, finding.Hop{Kind: "transit-gateway-route-table", ResourceID: "tgw-rtb-1", AccountID: "333333333333",
		Region: "eu-west-1", Decision: "0.0.0.0/0 -> tgw-attach-9 (vpc)"})
	r.Evidence.MapPublicIPOnLaunch = &yes
	r.Evidence.Notes = []string{"private NAT nat-2 carries no public traffic"}
	r.Mute = &finding.Mute{Reason: "accepted", Owner: "ml-platform", Expires: "2027-01-01", Source: "exceptions.yaml:3"}
	r.UnmutedStatus = finding.StatusFail
	// A second result with its own compliance map, in the same encoding
	// chunk as the first: each keeps its own.
	other := nb(euw1.AccountID, euw1.Region, "nb-z", finding.StatusPass, finding.PathNone)
	other.Compliance = map[string][]string{"soc2": {"CC6.6"}}
	record(t, s, scanAt(t0, scheduled, euw1), report(r, other))
	got := current(t, s)
	if diff := cmp.Diff([]finding.Result{r, other}, got); diff != "" {
		t.Errorf("stored results (-want +got):\n%s", diff)
	}
	if len(got) == 2 && len(got[0].Reproduce.Strings()) != 2 {
		t.Errorf("reproduce read back as %q", got[0].Reproduce.Strings())
	}
	// What is stored is the report contract's JSON, byte for byte.
	var stored []byte
	if err := s.r.QueryRow(`SELECT r.result FROM results r JOIN notebooks n ON n.id = r.notebook_id
		WHERE n.name = ?`, r.Resource.Name).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	if string(stored) != string(want) {
		t.Errorf("stored JSON differs from encoding/json's:\n got %s\nwant %s", stored, want)
	}
}

// TestAnUnchangedScanRewritesNothing: the same results give the same
// bytes, so a scan in which nothing changed writes only the scan itself.
func TestAnUnchangedScanRewritesNothing(t *testing.T) {
	s := openTemp(t)
	var results []finding.Result
	for i := range 20 {
		results = append(results, nb(euw1.AccountID, euw1.Region, fmt.Sprintf("nb-%02d", i), finding.StatusPass, finding.PathNone))
	}
	record(t, s, scanAt(t0, scheduled, euw1), report(results...))
	changes := func() int {
		var n int
		if err := s.w.QueryRow(`SELECT total_changes()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := changes()
	record(t, s, scanAt(t0.Add(time.Hour), scheduled, euw1), report(results...))
	if n := changes() - before; n != 1 {
		t.Errorf("an unchanged scan changed %d rows, want 1 (the scan's own)", n)
	}
}

type echoTemplate struct{}

func (echoTemplate) AppendCommands(dst []string, a finding.CommandArgs) []string {
	return append(dst, "aws sagemaker describe-notebook-instance --notebook-instance-name "+a.Name+" --region "+a.Region,
		"aws ec2 describe-network-interfaces --network-interface-ids "+a.NetworkInterfaceID)
}

func TestHistoryRecentAndTrendOrders(t *testing.T) {
	s := openTemp(t)
	t1, t2, t3 := t0, t0.Add(time.Hour), t0.Add(2*time.Hour)
	a := func(name string, st finding.Status) finding.Result {
		return nb(euw1.AccountID, euw1.Region, name, st, finding.PathNone)
	}
	record(t, s, scanAt(t1, Cause{Kind: CauseStart}, euw1), report(a("x", "PASS"), a("y", "PASS")))
	record(t, s, scanAt(t2, createRoute, euw1), report(a("x", "FAIL"), a("y", "FAIL")))
	record(t, s, scanAt(t3, scheduled, euw1), report(a("x", "PASS"), a("y", "FAIL")))

	var got []string
	for _, x := range history(t, s, euw1, "x") {
		got = append(got, x.At.Format("15:04")+" "+x.From+">"+x.To+" "+x.Cause.Kind)
	}
	want := []string{"09:00 >PASS start", "10:00 PASS>FAIL event", "11:00 FAIL>PASS scheduled"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("History oldest first (-want +got):\n%s", diff)
	}

	recent, err := s.Recent(context.Background(), 3)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, x := range recent {
		got = append(got, x.At.Format("15:04")+" "+x.Name+" "+x.From+">"+x.To)
	}
	// Newest scan first; within a scan, by name.
	want = []string{"11:00 x FAIL>PASS", "10:00 x PASS>FAIL", "10:00 y PASS>FAIL"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Recent(3) (-want +got):\n%s", diff)
	}

	trend, err := s.Trend(context.Background(), t2)
	if err != nil {
		t.Fatal(err)
	}
	wantTrend := []TrendPoint{
		{At: t2, Counts: map[finding.Status]int{"PASS": 0, "FAIL": 2, "REVIEW": 0, "ERROR": 0, "MUTED": 0}},
		{At: t3, Counts: map[finding.Status]int{"PASS": 1, "FAIL": 1, "REVIEW": 0, "ERROR": 0, "MUTED": 0}},
	}
	if diff := cmp.Diff(wantTrend, trend); diff != "" {
		t.Errorf("Trend since the second scan (-want +got):\n%s", diff)
	}
}

// TestTrendCountsEveryStoredNotebook: a scan of one region counts the
// notebooks of the regions it did not read too.
func TestTrendCountsEveryStoredNotebook(t *testing.T) {
	s := openTemp(t)
	record(t, s, scanAt(t0, scheduled, euw1, use1), report(
		nb(euw1.AccountID, euw1.Region, "eu", finding.StatusPass, finding.PathNone),
		nb(use1.AccountID, use1.Region, "us", finding.StatusFail, finding.PathDirect)))
	record(t, s, scanAt(t0.Add(time.Minute), createRoute, euw1), report(
		nb(euw1.AccountID, euw1.Region, "eu", finding.StatusFail, finding.PathNAT)))
	trend, err := s.Trend(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(trend) != 2 || trend[1].Counts[finding.StatusFail] != 2 || trend[1].Counts[finding.StatusPass] != 0 {
		t.Errorf("Trend: %+v, want the second point to count both notebooks FAIL", trend)
	}
}

func TestPruneKeepsTheCurrentState(t *testing.T) {
	s := openTemp(t)
	t1, t2, t3 := t0, t0.Add(24*time.Hour), t0.Add(48*time.Hour)
	a := func(name string, st finding.Status) finding.Result {
		return nb(euw1.AccountID, euw1.Region, name, st, finding.PathNone)
	}
	record(t, s, scanAt(t1, scheduled, euw1), report(a("x", "PASS"), a("y", "PASS"))) // 2 transitions
	record(t, s, scanAt(t2, scheduled, euw1), report(a("x", "FAIL"), a("y", "PASS"))) // 1
	record(t, s, scanAt(t3, scheduled, euw1), report(a("x", "FAIL"), a("y", "FAIL"))) // 1
	before := current(t, s)

	n, err := s.Prune(context.Background(), t3)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2+3 {
		t.Errorf("Prune deleted %d rows, want 5 (2 scans, 3 transitions)", n)
	}
	if diff := cmp.Diff(before, current(t, s)); diff != "" {
		t.Errorf("Prune changed Current (-want +got):\n%s", diff)
	}
	if h := history(t, s, euw1, "y"); len(h) != 1 || h[0].From != "PASS" || h[0].To != "FAIL" {
		t.Errorf("History of y after pruning: %+v, want only the last scan's transition", h)
	}
	if h := history(t, s, euw1, "x"); len(h) != 0 {
		t.Errorf("History of x after pruning: %+v, want none", h)
	}
	trend, err := s.Trend(context.Background(), time.Time{})
	if err != nil || len(trend) != 1 || !trend[0].At.Equal(t3) {
		t.Errorf("Trend after pruning: %+v %v", trend, err)
	}

	// Everything older than the far future: the last scan stays, and what
	// it tells (the current state, when it was read) with it.
	if _, err := s.Prune(context.Background(), t3.Add(1000*time.Hour)); err != nil {
		t.Fatal(err)
	}
	last, ok, err := s.LastScan(context.Background())
	if err != nil || !ok || !last.FinishedAt.Equal(t3) {
		t.Errorf("LastScan after pruning everything: %+v %v %v", last, ok, err)
	}
	if diff := cmp.Diff(before, current(t, s)); diff != "" {
		t.Errorf("Prune changed Current (-want +got):\n%s", diff)
	}
	// And recording goes on from the kept state.
	got := record(t, s, scanAt(t3.Add(time.Hour), scheduled, euw1), report(a("x", "PASS"), a("y", "FAIL")))
	if len(got) != 1 || got[0].From != "FAIL" || got[0].To != "PASS" {
		t.Errorf("transitions after pruning: %+v", got)
	}
}

func TestReopenResumes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	record(t, s, scanAt(t0, Cause{Kind: CauseStart}, euw1), report(nb(euw1.AccountID, euw1.Region, "nb", finding.StatusPass, finding.PathNone)))
	record(t, s, scanAt(t0.Add(time.Hour), createRoute, euw1), report(nb(euw1.AccountID, euw1.Region, "nb", finding.StatusFail, finding.PathNAT)))
	wantLast, _, err := s.LastScan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantCurrent, wantHistory := current(t, s), history(t, s, euw1, "nb")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	last, ok, err := s.LastScan(ctx)
	if err != nil || !ok {
		t.Fatalf("LastScan after reopening: %v %v", ok, err)
	}
	if diff := cmp.Diff(wantLast, last); diff != "" {
		t.Errorf("LastScan after reopening (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantCurrent, current(t, s)); diff != "" {
		t.Errorf("Current after reopening (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantHistory, history(t, s, euw1, "nb")); diff != "" {
		t.Errorf("History after reopening (-want +got):\n%s", diff)
	}
	if len(wantHistory) != 2 {
		t.Errorf("History before closing: %+v", wantHistory)
	}
	// The next scan compares with what was stored before the restart.
	got := record(t, s, scanAt(t0.Add(2*time.Hour), scheduled, euw1), report(nb(euw1.AccountID, euw1.Region, "nb", finding.StatusPass, finding.PathNone)))
	if len(got) != 1 || got[0].From != "FAIL" {
		t.Errorf("first transition after reopening: %+v", got)
	}
}

func TestEmptyStore(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	if _, ok, err := s.LastScan(ctx); ok || err != nil {
		t.Errorf("LastScan of an empty store: %v %v", ok, err)
	}
	if cur, err := s.Current(ctx); len(cur) != 0 || err != nil {
		t.Errorf("Current of an empty store: %v %v", cur, err)
	}
	if n, err := s.Prune(ctx, t0); n != 0 || err != nil {
		t.Errorf("Prune of an empty store: %d %v", n, err)
	}
	if _, err := s.Recent(ctx, 10); err != nil {
		t.Error(err)
	}
}

func TestRecordOnAClosedStoreFails(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(context.Background(), scanAt(t0, scheduled, euw1), report()); err == nil {
		t.Error("Record on a closed store succeeded")
	}
}

// TestPostureCountsCurrentNotebooksByAccountRegionAndStatus: the counts
// follow the stored state (a deleted notebook is not counted, a changed
// one moves) and agree with Current.
func TestPostureCountsCurrentNotebooksByAccountRegionAndStatus(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	other := Scope{AccountID: "222222222222", Region: "us-east-1"}
	record(t, s, scanAt(t0, scheduled, euw1, other), report(
		nb(euw1.AccountID, euw1.Region, "a", finding.StatusPass, finding.PathNone),
		nb(euw1.AccountID, euw1.Region, "b", finding.StatusFail, finding.PathDirect),
		nb(euw1.AccountID, euw1.Region, "c", finding.StatusFail, finding.PathNAT),
		nb(other.AccountID, other.Region, "d", finding.StatusError, finding.PathUnknown),
	))
	record(t, s, scanAt(t0.Add(time.Hour), scheduled, euw1), report(
		nb(euw1.AccountID, euw1.Region, "a", finding.StatusFail, finding.PathNAT),
		nb(euw1.AccountID, euw1.Region, "b", finding.StatusFail, finding.PathDirect),
	))
	got, err := s.Posture(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Posture{
		{AccountID: euw1.AccountID, Region: euw1.Region, Status: finding.StatusFail, Count: 2},
		{AccountID: other.AccountID, Region: other.Region, Status: finding.StatusError, Count: 1},
	}
	if euw1.AccountID > other.AccountID {
		want[0], want[1] = want[1], want[0]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Posture (-want +got):\n%s", diff)
	}
	n := 0
	for _, p := range got {
		n += p.Count
	}
	if cur := current(t, s); n != len(cur) {
		t.Errorf("Posture counts %d notebooks, Current has %d", n, len(cur))
	}
}

// TestStudioResultsNotReadAreKept: a scan that read a region's notebooks
// but not its Studio domains (ListDomains failed), or not a domain's user
// profiles, keeps what is stored of them instead of taking them for
// deleted; what it did read is replaced as before.
func TestStudioResultsNotReadAreKept(t *testing.T) {
	studio := func(typ, name string, st finding.Status) finding.Result {
		r := nb(euw1.AccountID, euw1.Region, name, st, finding.PathDirect)
		r.ControlID, r.Resource.Type = finding.ControlIDStudio, typ
		return r
	}
	domain := studio(finding.ResourceTypeDomain, "research", finding.StatusFail)
	profile := studio(finding.ResourceTypeUserProfile, "research/alice", finding.StatusFail)
	s := openTemp(t)
	record(t, s, scanAt(t0, scheduled, euw1), report(nb(euw1.AccountID, euw1.Region, "nb", finding.StatusPass, finding.PathNone), domain, profile))

	// ListDomains failed: nothing of Studio was read.
	scan := scanAt(t0.Add(time.Hour), scheduled, euw1)
	scan.Unread = []Unread{{Scope: euw1, Prefix: "studio-domain/"}, {Scope: euw1, Prefix: "studio-user-profile/"}}
	if got := record(t, s, scan, report(nb(euw1.AccountID, euw1.Region, "nb", finding.StatusPass, finding.PathNone))); len(got) != 0 {
		t.Errorf("transitions %+v, want none: the domain and its profile were not read", got)
	}
	if n := len(current(t, s)); n != 3 {
		t.Errorf("%d results stored, want the notebook, the domain and its profile", n)
	}

	// The domain could not be described: its profiles were not read.
	errDomain := studio(finding.ResourceTypeDomain, "research", finding.StatusError)
	scan = scanAt(t0.Add(2*time.Hour), scheduled, euw1)
	scan.Unread = []Unread{{Scope: euw1, Prefix: "studio-user-profile/research/"}}
	got := record(t, s, scan, report(nb(euw1.AccountID, euw1.Region, "nb", finding.StatusPass, finding.PathNone), errDomain))
	if len(got) != 1 || got[0].Name != "studio-domain/research" || got[0].To != "ERROR" {
		t.Errorf("transitions %+v, want only the domain's FAIL > ERROR", got)
	}

	// Read again whole: the profile that is gone is deleted.
	got = record(t, s, scanAt(t0.Add(3*time.Hour), scheduled, euw1), report(nb(euw1.AccountID, euw1.Region, "nb", finding.StatusPass, finding.PathNone), domain))
	var gone []string
	for _, x := range got {
		if x.To == StatusDeleted {
			gone = append(gone, x.Name)
		}
	}
	if !slices.Equal(gone, []string{"studio-user-profile/research/alice"}) {
		t.Errorf("deleted %v, want the profile the complete read no longer found", gone)
	}
}
