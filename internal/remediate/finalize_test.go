package remediate

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/journal"
	"github.com/sagefence/sagefence/internal/permissions"
	"github.com/sagefence/sagefence/internal/testenv"
)

func TestFinalizeDeletesOnlyTheReplacedNotebook(t *testing.T) {
	e := newEnv(t)
	buildEstate(t, e)
	p := e.plan(t, PlanOptions{})
	j := openJournal(t)
	ctx := context.Background()
	res, err := Apply(ctx, p, e.clients(), j, fast())
	if err != nil {
		t.Fatal(err)
	}
	replaced, err := ReplacedNotebooks(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb-direct"
	if rp, ok := replaced[arn]; !ok || rp.NewName != "nb-direct-private" || rp.RunID != res.RunID || len(replaced) != 1 {
		t.Fatalf("ReplacedNotebooks = %+v", replaced)
	}
	applied := e.snapshot(t)

	fin, err := Finalize(ctx, res.RunID, e.clients(), j, fast())
	if err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	if fin.Kind != journal.KindFinalize || fin.ExitCode() != 0 || len(fin.Steps) != 1 ||
		fin.Steps[0].Action != StepDeleteNotebook || fin.Steps[0].Status != journal.StepDone {
		t.Errorf("finalize run: %+v", fin)
	}
	got := e.snapshot(t)
	if _, ok := got.Notebooks["nb-direct"]; ok {
		t.Error("the replaced notebook still exists")
	}
	delete(applied.Notebooks, "nb-direct")
	if d := diffAccount(applied, got); d != "" {
		t.Errorf("finalize changed more than the replaced notebook (-applied +finalized):\n%s", d)
	}
	if run, _ := j.Run(ctx, res.RunID); run.Status != journal.RunFinalized {
		t.Errorf("apply run status %s, want finalized", run.Status)
	}
	if replaced, _ := ReplacedNotebooks(ctx, j); len(replaced) != 0 {
		t.Errorf("after finalize, ReplacedNotebooks = %v", replaced)
	}
	if _, err := Backout(ctx, res.RunID, e.clients(), j, fast()); err == nil || !strings.Contains(err.Error(), "finalized") {
		t.Errorf("Backout after finalize: err = %v, want a refusal", err)
	}
	again, err := Finalize(ctx, res.RunID, e.clients(), j, fast())
	if err != nil || !again.NothingToDo {
		t.Errorf("second Finalize: %+v %v", again, err)
	}
}

func TestFinalizeRefusesANotebookSomeoneStartedAgain(t *testing.T) {
	e := newEnv(t)
	buildEstate(t, e)
	p := e.plan(t, PlanOptions{Fixes: []Fix{FixDirect}})
	j := openJournal(t)
	ctx := context.Background()
	res, err := Apply(ctx, p, e.clients(), j, fast())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.direct.sm.StartNotebookInstance(ctx, &sagemaker.StartNotebookInstanceInput{NotebookInstanceName: aws.String("nb-direct")}); err != nil {
		t.Fatal(err)
	}
	fin, err := Finalize(ctx, res.RunID, e.clients(), j, fast())
	if err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	if fin.ExitCode() != 3 || len(fin.Steps) != 1 || fin.Steps[0].Status != journal.StepSkipped ||
		!strings.Contains(fin.Steps[0].Note, "nb-direct is InService") {
		t.Errorf("finalize run: %+v", fin)
	}
	if _, ok := e.snapshot(t).Notebooks["nb-direct"]; !ok {
		t.Error("a running replaced notebook was deleted")
	}
	if run, _ := j.Run(ctx, res.RunID); run.Status == journal.RunFinalized {
		t.Error("apply run marked finalized although nothing was deleted")
	}
}

func TestFinalizeAfterBackoutIsRefused(t *testing.T) {
	e := newEnv(t)
	buildEstate(t, e)
	j := openJournal(t)
	ctx := context.Background()
	res, err := Apply(ctx, e.plan(t, PlanOptions{Fixes: []Fix{FixDirect}}), e.clients(), j, fast())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Backout(ctx, res.RunID, e.clients(), j, fast()); err != nil {
		t.Fatal(err)
	}
	if _, err := Finalize(ctx, res.RunID, e.clients(), j, fast()); err == nil || !strings.Contains(err.Error(), "backed out") {
		t.Errorf("Finalize after backout: err = %v", err)
	}
}

func TestMuteReplacedMutesOnlyStoppedReplacedNotebooks(t *testing.T) {
	arn := func(n string) string { return "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/" + n }
	rep := &finding.Report{Results: []finding.Result{
		{Resource: finding.Resource{Name: "old", ARN: arn("old")}, Status: finding.StatusFail, Evidence: finding.Evidence{NotebookStatus: "Stopped"}},
		{Resource: finding.Resource{Name: "restarted", ARN: arn("restarted")}, Status: finding.StatusFail, Evidence: finding.Evidence{NotebookStatus: "InService"}},
		{Resource: finding.Resource{Name: "other", ARN: arn("other")}, Status: finding.StatusFail, Evidence: finding.Evidence{NotebookStatus: "Stopped"}},
		{Resource: finding.Resource{Name: "passing", ARN: arn("passing")}, Status: finding.StatusPass, Evidence: finding.Evidence{NotebookStatus: "Stopped"}},
	}}
	replaced := map[string]Replacement{}
	for _, n := range []string{"old", "restarted", "passing"} {
		replaced[arn(n)] = Replacement{OldName: n, OldARN: arn(n), NewName: n + "-private", RunID: "r-1"}
	}
	if n := MuteReplaced(rep, replaced); n != 1 {
		t.Fatalf("muted %d, want 1", n)
	}
	r := rep.Results[0]
	if r.Status != finding.StatusMuted || r.UnmutedStatus != finding.StatusFail || r.Mute == nil ||
		r.Mute.Reason != "replaced by old-private (run r-1), pending finalize" {
		t.Errorf("muted result: %+v %+v", r, r.Mute)
	}
	if rep.Results[1].Status != finding.StatusFail || rep.Results[2].Status != finding.StatusFail {
		t.Error("a running or unrelated notebook was muted")
	}
	if rep.Summary[finding.StatusMuted] != 1 || rep.Summary[finding.StatusFail] != 2 {
		t.Errorf("summary not recomputed: %v", rep.Summary)
	}
}

// The JSON the CLI prints for apply, backout and `journal show`: run_id and
// every step with its action, resource, status and error.
func TestRunResultsAndJournalListingAreMachineReadable(t *testing.T) {
	e := newEnv(t)
	buildEstate(t, e)
	j := openJournal(t)
	ctx := context.Background()
	var progress []StepResult
	opts := fast()
	opts.OnStep = func(s StepResult) { progress = append(progress, s) }
	res, err := Apply(ctx, e.plan(t, PlanOptions{}), e.clients(), j, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) != len(res.Steps) {
		t.Errorf("OnStep saw %d steps, the run has %d", len(progress), len(res.Steps))
	}
	if _, err := Backout(ctx, res.RunID, e.clients(), j, fast()); err != nil {
		t.Fatal(err)
	}
	shown, err := ShowRun(ctx, j, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(shown)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		RunID   string `json:"run_id"`
		Kind    string `json:"kind"`
		Status  string `json:"status"`
		Actions []struct {
			Action, Resource, Status string
		} `json:"actions"`
		Steps []map[string]any `json:"steps"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.RunID != res.RunID || doc.Kind != "apply" || doc.Status != "backed-out" || len(doc.Actions) != 3 || len(doc.Steps) == 0 {
		t.Fatalf("journal show JSON: %s", b)
	}
	for _, a := range doc.Actions {
		if a.Status != string(ActionUndone) {
			t.Errorf("action %s %s is %s after backout, want undone", a.Action, a.Resource, a.Status)
		}
	}
	for _, s := range doc.Steps {
		for _, k := range []string{"seq", "action", "resource", "status"} {
			if _, ok := s[k]; !ok {
				t.Errorf("step JSON lacks %q: %v", k, s)
			}
		}
	}
	list, err := ListRuns(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Kind != journal.KindApply || list[1].Kind != journal.KindBackout || list[1].TargetRun != res.RunID {
		t.Errorf("ListRuns = %+v", list)
	}
	if _, err := ShowRun(ctx, j, "r-missing"); err == nil {
		t.Error("ShowRun of a missing run succeeded")
	}
}

// Everything remediation calls is in the remediate mode's IAM policy
// (internal/permissions), so `sagefence iam-policy --mode remediate` and
// preflight cover apply, backout and finalize.
func TestRemediationCallsOnlyActionsThePolicyGrants(t *testing.T) {
	e := newEnv(t)
	buildEstate(t, e)
	e.simulateLifecycle(t, setupBackup(t, e))
	j := openJournal(t)
	ctx := context.Background()
	p := e.plan(t, PlanOptions{BackupBucket: "s3://" + backupBucket})
	res, err := Apply(ctx, p, e.clients(), j, fast())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Backout(ctx, res.RunID, e.clients(), j, fast()); err != nil {
		t.Fatal(err)
	}
	p = e.plan(t, PlanOptions{Fixes: []Fix{FixDirect}})
	res, err = Apply(ctx, p, e.clients(), j, fast())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Finalize(ctx, res.RunID, e.clients(), j, fast()); err != nil {
		t.Fatal(err)
	}
	if missing := e.rec.Missing(permissions.ModeRemediate); len(missing) > 0 {
		t.Errorf("remediation called actions the remediate policy does not grant: %v", missing)
	}
	t.Logf("actions used: %v", e.rec.Operations())
}

func TestDataStatementSaysWhatFinalizeDestroys(t *testing.T) {
	s3 := dataPlan("bk", "p", "nb")
	cases := []struct {
		data  *DataPlan
		check *RestoreCheck
		want  string
	}{
		{&DataPlan{Mode: DataStaysOnOldNotebook}, nil,
			"data NOT copied: its volume (/home/ec2-user/SageMaker) will be destroyed with it, and whatever you did not copy to nb-private yourself is lost"},
		{&s3, &RestoreCheck{Restore: Manifest{Files: 12, Bytes: 3 << 20}},
			"data copied to s3://bk/p/nb/ and restored on nb-private (12 files, 3.0 MiB, checked by apply); the copy stays in S3"},
		{&s3, nil, "data copied to s3://bk/p/nb/; the run recorded no check of its restore on nb-private"},
		{nil, nil, "the run's plan does not say what became of its data: its volume (/home/ec2-user/SageMaker) will be destroyed with it"},
	}
	for _, c := range cases {
		if got := dataStatement(c.data, "nb-private", c.check); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
	for n, want := range map[int64]string{0: "0 bytes", 1023: "1023 bytes", 1536: "1.5 KiB", 5 << 30: "5.0 GiB"} {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFinalizePreviewListsEachReplacedNotebookWithItsData(t *testing.T) {
	e := newEnv(t)
	buildEstate(t, e)
	j := openJournal(t)
	ctx := context.Background()
	res, err := Apply(ctx, e.plan(t, PlanOptions{}), e.clients(), j, fast())
	if err != nil {
		t.Fatal(err)
	}
	e.proxy.ResetCounts()
	items, err := FinalizePreview(ctx, j, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].OldName != "nb-direct" || items[0].NewName != "nb-direct-private" ||
		items[0].Region != testenv.Region || !strings.HasPrefix(items[0].Data, "data NOT copied") {
		t.Errorf("preview = %+v", items)
	}
	if n := e.proxy.Calls("*"); n != 0 {
		t.Errorf("the preview made %d AWS calls", n)
	}
	if _, err := Backout(ctx, res.RunID, e.clients(), j, fast()); err != nil {
		t.Fatal(err)
	}
	if items, err := FinalizePreview(ctx, j, res.RunID); err != nil || len(items) != 0 {
		t.Errorf("preview after backout = %+v, %v; want none", items, err)
	}
	var nf *journal.NotFoundError
	if _, err := FinalizePreview(ctx, j, "r-missing"); !errors.As(err, &nf) {
		t.Errorf("preview of a missing run: %v", err)
	}
}
