package remediate

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/journal"
	"github.com/sagefence/sagefence/internal/testenv"
)

// The round trip of the issue: build an estate, plan, apply, scan (the fixed
// notebooks no longer fail), back out, and the account is as it was.
func TestRoundTripApplyScanBackoutRestoresTheAccount(t *testing.T) {
	e := newEnv(t)
	buildEstate(t, e)
	_, rep := e.scan(t)
	wantBefore := map[string]finding.Status{"nb-direct": "FAIL", "nb-egress": "FAIL", "nb-public": "FAIL", "nb-ok": "PASS"}
	if got := statuses(rep); !mapsEqual(got, wantBefore) {
		t.Fatalf("estate statuses = %v, want %v", got, wantBefore)
	}
	p := e.plan(t, PlanOptions{})
	for _, a := range p.Actions {
		if a.Blocked != "" {
			t.Fatalf("action %s blocked: %s", a.ID, a.Blocked)
		}
	}
	if len(p.Actions) != 3 {
		t.Fatalf("plan has %d actions, want 3: %+v", len(p.Actions), p.Actions)
	}
	before := e.snapshot(t)
	j := openJournal(t)
	ctx := context.Background()

	res, err := Apply(ctx, p, e.clients(), j, fast())
	if err != nil {
		t.Fatalf("Apply: %v\n%+v", err, res)
	}
	for _, a := range res.Actions {
		if a.Status != ActionDone {
			t.Errorf("action %s: %s %s", a.ID, a.Status, a.Error)
		}
	}
	if res.RunID == "" || res.ExitCode() != 0 {
		t.Errorf("run id %q exit %d", res.RunID, res.ExitCode())
	}

	// Scan again: nothing that was fixed fails; the replaced notebook is
	// stopped and muted through the journal.
	_, rep = e.scan(t)
	replaced, err := ReplacedNotebooks(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	if n := MuteReplaced(rep, replaced); n != 1 {
		t.Errorf("MuteReplaced muted %d results, want 1 (nb-direct)", n)
	}
	wantAfter := map[string]finding.Status{"nb-direct": "MUTED", "nb-direct-private": "PASS", "nb-egress": "PASS",
		"nb-public": "PASS", "nb-ok": "PASS"}
	if got := statuses(rep); !mapsEqual(got, wantAfter) {
		t.Errorf("after apply, statuses = %v, want %v", got, wantAfter)
		for _, r := range rep.Results {
			t.Logf("%s: %s %+v", r.Resource.Name, r.Status, r.Checks)
		}
	}
	after := e.snapshot(t)
	old, repl := after.Notebooks["nb-direct"], after.Notebooks["nb-direct-private"]
	if old.Status != "Stopped" || old.Tags[TagReplacedBy] != "nb-direct-private" || old.Tags[TagRunID] != res.RunID {
		t.Errorf("old notebook after apply: %+v", old)
	}
	if repl.DirectInternetAccess != "Disabled" || repl.SubnetID == "" || repl.Status != "InService" ||
		repl.LifecycleConfigName != "setup" || repl.KMSKeyID != "key-1" || repl.VolumeSizeInGB != 20 ||
		repl.RootAccess != "Disabled" || repl.Tags["team"] != "ml" || repl.Tags[TagReplaces] != "nb-direct" {
		t.Errorf("replacement after apply: %+v", repl)
	}

	bres, err := Backout(ctx, res.RunID, e.clients(), j, fast())
	if err != nil {
		t.Fatalf("Backout: %v\n%+v", err, bres)
	}
	if diff := diffAccount(before, e.snapshot(t)); diff != "" {
		t.Errorf("account after backout differs from before apply (-before +after):\n%s", diff)
	}
	run, err := j.Run(ctx, res.RunID)
	if err != nil || run.Status != journal.RunBackedOut {
		t.Errorf("apply run status = %q, %v; want backed-out", run.Status, err)
	}
	if replaced, _ := ReplacedNotebooks(ctx, j); len(replaced) != 0 {
		t.Errorf("after backout, ReplacedNotebooks = %v", replaced)
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestApplyingThePlanAgainChangesNothing(t *testing.T) {
	e := newEnv(t)
	buildEstate(t, e)
	p := e.plan(t, PlanOptions{})
	j := openJournal(t)
	ctx := context.Background()
	first, err := Apply(ctx, p, e.clients(), j, fast())
	if err != nil {
		t.Fatal(err)
	}
	state := e.snapshot(t)
	e.proxy.ResetCounts()

	again, err := Apply(ctx, p, e.clients(), j, fast())
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	if !again.NothingToDo || again.RunID != first.RunID || !strings.Contains(again.Message, "already applied") {
		t.Errorf("second Apply = %+v, want NothingToDo naming run %s", again, first.RunID)
	}
	if n := e.proxy.Calls("*"); n != 0 {
		t.Errorf("second Apply made %d AWS calls: %v", n, e.proxy.Counts())
	}
	if diff := diffAccount(state, e.snapshot(t)); diff != "" {
		t.Errorf("second Apply changed the account:\n%s", diff)
	}
	runs, _ := j.Runs(ctx)
	if len(runs) != 1 {
		t.Errorf("journal has %d runs, want the one apply", len(runs))
	}

	// A fresh scan and plan has nothing left to do either.
	_, rep := e.scan(t)
	replaced, err := ReplacedNotebooks(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	MuteReplaced(rep, replaced)
	inv, _ := e.scan(t)
	p2, err := BuildPlan(ctx, inv, rep, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.Actions) != 0 {
		t.Errorf("a plan after apply has actions: %+v", p2.Actions)
	}
	e.proxy.ResetCounts()
	res, err := Apply(ctx, p2, e.clients(), j, fast())
	if err != nil || mutating(e.proxy) != 0 || res.ExitCode() != 0 {
		t.Errorf("applying the empty plan: err %v, %d mutating calls, exit %d", err, mutating(e.proxy), res.ExitCode())
	}
}

func TestDriftSkipsOnlyTheDriftedAction(t *testing.T) {
	e := newEnv(t)
	est := buildEstate(t, e)
	p := e.plan(t, PlanOptions{})
	ctx := context.Background()
	// Someone adds an egress rule to nb-egress's group after the plan.
	if _, err := e.direct.ec2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{
		GroupId: aws.String(est.sgNB), IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("udp"),
			FromPort: aws.Int32(53), ToPort: aws.Int32(53), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("8.8.8.8/32")}}}},
	}); err != nil {
		t.Fatal(err)
	}
	sgBefore := e.snapshot(t).SecurityGroups[est.sgNB]
	j := openJournal(t)
	res, err := Apply(ctx, p, e.clients(), j, fast())
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	got := map[ActionKind]ActionResult{}
	for _, a := range res.Actions {
		got[a.Action] = a
	}
	sg := got[ActionRestrictSGEgress]
	if sg.Status != ActionSkipped || !strings.Contains(strings.Join(sg.Details, " "), "egress rule unexpected: udp 53 -> 8.8.8.8/32") {
		t.Errorf("drifted action = %+v, want skipped naming the new rule", sg)
	}
	if got[ActionDisablePublicIP].Status != ActionDone || got[ActionRecreateNotebook].Status != ActionDone {
		t.Errorf("the other actions = %+v, want done", res.Actions)
	}
	if diff := diffRulesPair(sgBefore, e.snapshot(t).SecurityGroups[est.sgNB]); diff != "" {
		t.Errorf("the drifted group was changed: %s", diff)
	}
	if res.ExitCode() != 3 {
		t.Errorf("exit code %d, want 3 (incomplete)", res.ExitCode())
	}
	shown, err := ShowRun(ctx, j, res.RunID)
	if err != nil || shown.Actions[0].Status != ActionSkipped {
		t.Errorf("journal show: %+v %v", shown, err)
	}
}

func diffRulesPair(a, b [2][]Rule) string {
	if d := diffRules(a[1], b[1], true); len(d) > 0 {
		return strings.Join(d, "; ")
	}
	return strings.Join(diffRules(a[0], b[0], true), "; ")
}

func TestSecondApplyOrBackoutIsRefusedWhileTheJournalIsLocked(t *testing.T) {
	e := newEnv(t)
	buildEstate(t, e)
	p := e.plan(t, PlanOptions{})
	j := openJournal(t)
	ctx := context.Background()
	lock, err := j.Lock("apply of another plan")
	if err != nil {
		t.Fatal(err)
	}
	e.proxy.ResetCounts()
	_, err = Apply(ctx, p, e.clients(), j, fast())
	var le *journal.LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("Apply while locked: err = %v, want a LockedError naming pid %d", err, os.Getpid())
	}
	if _, err := Backout(ctx, "r-x", e.clients(), j, fast()); !errors.As(err, &le) {
		t.Errorf("Backout while locked: err = %v, want a LockedError", err)
	}
	if _, err := Finalize(ctx, "r-x", e.clients(), j, fast()); !errors.As(err, &le) {
		t.Errorf("Finalize while locked: err = %v, want a LockedError", err)
	}
	if n := e.proxy.Calls("*"); n != 0 {
		t.Errorf("refused runs made %d AWS calls", n)
	}
	if runs, _ := j.Runs(ctx); len(runs) != 0 {
		t.Errorf("refused runs were journaled: %+v", runs)
	}
	if err := lock.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(ctx, p, e.clients(), j, fast()); err != nil {
		t.Errorf("Apply after the lock was released: %v", err)
	}
}

func TestBackoutStopsWhenSomeoneChangedWhatApplyLeft(t *testing.T) {
	e := newEnv(t)
	est := buildEstate(t, e)
	p := e.plan(t, PlanOptions{})
	before := e.snapshot(t)
	j := openJournal(t)
	ctx := context.Background()
	res, err := Apply(ctx, p, e.clients(), j, fast())
	if err != nil {
		t.Fatal(err)
	}
	// Someone turns MapPublicIpOnLaunch back on by hand.
	if _, err := e.direct.ec2.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: aws.String(est.net.PublicSubnetID),
		MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	// And starts the replaced notebook again.
	if _, err := e.direct.sm.StartNotebookInstance(ctx, &sagemaker.StartNotebookInstanceInput{NotebookInstanceName: aws.String("nb-direct")}); err != nil {
		t.Fatal(err)
	}
	bres, err := Backout(ctx, res.RunID, e.clients(), j, fast())
	var changed *StateChangedError
	if !errors.As(err, &changed) || changed.Resource != "nb-direct" || !strings.Contains(err.Error(), `status is "InService", expected "Stopped"`) {
		t.Fatalf("Backout: err = %v, want a StateChangedError on nb-direct's status", err)
	}
	if bres.Status != journal.RunStopped || bres.ExitCode() != 1 {
		t.Errorf("backout run status %s exit %d", bres.Status, bres.ExitCode())
	}
	if run, _ := j.Run(ctx, res.RunID); run.Status == journal.RunBackedOut {
		t.Error("the apply run is marked backed out after a stopped backout")
	}
	// The replacement was deleted before the check stopped on nb-direct;
	// --force finishes the job, restoring the subnet too.
	fres, err := Backout(ctx, res.RunID, e.clients(), j, func() Options { o := fast(); o.Force = true; return o }())
	if err != nil {
		t.Fatalf("forced Backout: %v\n%+v", err, fres)
	}
	forced := false
	for _, s := range fres.Steps {
		if strings.HasPrefix(s.Note, "forced:") {
			forced = true
		}
	}
	if !forced {
		t.Errorf("forced backout steps do not say they were forced: %+v", fres.Steps)
	}
	got := e.snapshot(t)
	// The subnet was changed to what it was before apply by hand; backout
	// found it already restored. Everything is back.
	if diff := diffAccount(before, got); diff != "" {
		t.Errorf("account after forced backout (-before +after):\n%s", diff)
	}
}

func TestBackoutTwiceChangesNothing(t *testing.T) {
	e := newEnv(t)
	buildEstate(t, e)
	p := e.plan(t, PlanOptions{})
	j := openJournal(t)
	ctx := context.Background()
	res, err := Apply(ctx, p, e.clients(), j, fast())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Backout(ctx, res.RunID, e.clients(), j, fast()); err != nil {
		t.Fatal(err)
	}
	e.proxy.ResetCounts()
	again, err := Backout(ctx, res.RunID, e.clients(), j, fast())
	if err != nil || !again.NothingToDo || e.proxy.Calls("*") != 0 {
		t.Errorf("second Backout: %+v, %v, %d calls", again, err, e.proxy.Calls("*"))
	}
}

func TestInterruptedApplyStopsBetweenStepsAndBacksOut(t *testing.T) {
	e := newEnv(t)
	buildEstate(t, e)
	p := e.plan(t, PlanOptions{})
	before := e.snapshot(t)
	j := openJournal(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := fast()
	opts.OnStep = func(s StepResult) {
		if s.Seq == 2 {
			cancel() // as if the user pressed Ctrl-C during step 2
		}
	}
	res, err := Apply(ctx, p, e.clients(), j, opts)
	if !errors.Is(err, context.Canceled) || res.Status != journal.RunInterrupted || res.ExitCode() != 130 {
		t.Fatalf("Apply: err %v, status %s, exit %d", err, res.Status, res.ExitCode())
	}
	if n := len(res.Steps); n != 2 {
		t.Errorf("interrupted run journaled %d steps, want 2", n)
	}
	if _, err := Backout(context.Background(), res.RunID, e.clients(), j, fast()); err != nil {
		t.Fatal(err)
	}
	if diff := diffAccount(before, e.snapshot(t)); diff != "" {
		t.Errorf("account after backout (-before +after):\n%s", diff)
	}
}

func TestFailedStepStopsTheRunAndBackoutRestores(t *testing.T) {
	e := newEnv(t)
	buildEstate(t, e)
	p := e.plan(t, PlanOptions{})
	before := e.snapshot(t)
	j := openJournal(t)
	ctx := context.Background()
	e.proxy.Add(testenv.Rule{Op: "sagemaker:CreateNotebookInstance", Fault: testenv.AccessDenied()})
	res, err := Apply(ctx, p, e.clients(), j, fast())
	if err == nil || res.Status != journal.RunFailed || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("Apply: err %v status %s", err, res.Status)
	}
	last := res.Actions[len(res.Actions)-1]
	if last.Action != ActionRecreateNotebook || last.Status != ActionFailed {
		t.Errorf("recreate action = %+v, want failed", last)
	}
	e.proxy.ClearRules()
	e.proxy.Add(e.updateNotebookRules()...)
	if _, err := Backout(ctx, res.RunID, e.clients(), j, fast()); err != nil {
		t.Fatal(err)
	}
	if diff := diffAccount(before, e.snapshot(t)); diff != "" {
		t.Errorf("account after backout (-before +after):\n%s", diff)
	}
}

// The plan's live interface lookup finds another user of the group in moto,
// blocks the action, and apply skips it while doing the rest.
func TestSharedGroupFoundLiveIsBlockedAndApplySkipsIt(t *testing.T) {
	e := newEnv(t)
	est := buildEstate(t, e)
	ctx := context.Background()
	eni, err := testenv.CreateNetworkInterface(ctx, e.direct.ec2, est.net.PrivateSubnetID, est.sgNB)
	if err != nil {
		t.Fatal(err)
	}
	p := e.plan(t, PlanOptions{})
	sg := actionOf(t, p, ActionRestrictSGEgress)
	if !sg.BlastRadius.Shared || sg.BlastRadius.Source != "DescribeNetworkInterfaces" ||
		!strings.Contains(sg.Blocked, "1 other network interface(s) ("+eni+")") {
		t.Fatalf("blast radius %+v, blocked %q", sg.BlastRadius, sg.Blocked)
	}
	before := e.snapshot(t).SecurityGroups[est.sgNB]
	res, err := Apply(ctx, p, e.clients(), openJournal(t), fast())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Actions {
		want := ActionDone
		if a.Action == ActionRestrictSGEgress {
			want = ActionBlocked
		}
		if a.Status != want {
			t.Errorf("action %s: %s, want %s", a.ID, a.Status, want)
		}
	}
	if diff := diffRulesPair(before, e.snapshot(t).SecurityGroups[est.sgNB]); diff != "" {
		t.Errorf("the shared group was changed: %s", diff)
	}
	if res.ExitCode() != 3 {
		t.Errorf("exit code %d, want 3", res.ExitCode())
	}

	// With --allow-shared the plan records the interface; an interface that
	// appears after the plan is drift.
	p = e.plan(t, PlanOptions{Fixes: []Fix{FixEgress}, AllowShared: true})
	late, err := testenv.CreateNetworkInterface(ctx, e.direct.ec2, est.net.PrivateSubnetID, est.sgNB)
	if err != nil {
		t.Fatal(err)
	}
	res, err = Apply(ctx, p, e.clients(), openJournal(t), fast())
	if err != nil {
		t.Fatal(err)
	}
	if a := res.Actions[0]; a.Status != ActionSkipped || !strings.Contains(strings.Join(a.Details, " "), late) ||
		strings.Contains(strings.Join(a.Details, " "), eni) {
		t.Errorf("action after a new interface appeared: %+v", a)
	}
}
