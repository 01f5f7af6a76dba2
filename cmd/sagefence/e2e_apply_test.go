package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagefence/sagefence/internal/testenv"
)

// What apply, backout and finalize tell the user, through the binary: a plan
// with nothing to apply is refused without using it up, a failed apply is
// reported once with what it left changed, and finalize names what it
// deletes and what became of its data.

var runIDPattern = regexp.MustCompile(`run (r-[0-9TZ]+-[0-9a-f]+) \(apply\)`)

// runID reads the apply run's ID from the table apply prints.
func runID(t *testing.T, stdout string) string {
	t.Helper()
	m := runIDPattern.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no apply run ID in:\n%s", stdout)
	}
	return m[1]
}

// TestE2EBlockedPlanIsRefusedAndNotUsedUp: a plan whose every action is
// blocked is refused before a run is journaled, with the plan flags that
// would unblock it, and refused the same way again; planning with one of
// those flags gives a plan that applies.
func TestE2EBlockedPlanIsRefusedAndNotUsedUp(t *testing.T) {
	m := moto.ForTest(t)
	c := clientsFor(m.URL(), "us-east-1")
	ctx := context.Background()
	net := must[testenv.Network](t)(testenv.CreateNetwork(ctx, c.ec2, "10.0.0.0/16"))
	open := must[string](t)(testenv.CreateSecurityGroup(ctx, c.ec2, net.VPCID, testenv.SecurityGroup{Name: "nb-open"}))
	// Another interface uses nb-open: restricting it is blocked without
	// --allow-shared. A notebook outside any VPC cannot be given a private
	// subnet: replacing it is blocked without --target-subnet.
	must[string](t)(testenv.CreateNetworkInterface(ctx, c.ec2, net.PrivateSubnetID, open))
	for _, nb := range []testenv.Notebook{
		{Name: "nat-open", DirectInternetAccess: "Disabled", SubnetID: net.PrivateSubnetID, SecurityGroupIDs: []string{open}},
		{Name: "no-vpc", DirectInternetAccess: "Enabled"},
	} {
		if _, err := testenv.CreateNotebook(ctx, c.sm, nb); err != nil {
			t.Fatal(err)
		}
	}
	before := accountState(t, c)
	dir := t.TempDir()
	plan, journalPath := filepath.Join(dir, "plan.json"), filepath.Join(dir, "journal.db")
	if code, out, stderr := runBin(t, m.URL(), "", "plan", "--regions", "us-east-1", "--output", plan); code != 3 || strings.Count(out, "[BLOCKED]") != 2 {
		t.Fatalf("plan: exit %d, want 3 with two blocked actions\n%s\n%s", code, out, stderr)
	}

	for attempt := 1; attempt <= 2; attempt++ {
		code, out, stderr := runBin(t, m.URL(), "", "apply", plan, "--yes", "--journal", journalPath)
		if code != 2 || out != "" || strings.Count(stderr, "\n") != 1 {
			t.Fatalf("apply %d of the blocked plan: exit %d, want 2 and one line on stderr\nstdout: %s\nstderr: %s", attempt, code, out, stderr)
		}
		for _, want := range []string{"nothing to apply", "all 2 actions are blocked", "--allow-shared", "--target-subnet"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("apply %d: stderr lacks %q: %s", attempt, want, stderr)
			}
		}
		if strings.Contains(stderr, "already applied") {
			t.Errorf("apply %d: the refused plan was used up: %s", attempt, stderr)
		}
		code, out, _ = runBin(t, m.URL(), "", "journal", "list", "--journal", journalPath, "--format", "json")
		if code != 0 || strings.TrimSpace(out) != "[]" {
			t.Errorf("journal after refused apply %d: exit %d, %s; want no run", attempt, code, out)
		}
	}
	if accountState(t, c) != before {
		t.Fatal("a refused apply changed the account")
	}

	// The flag the refusal named unblocks the group.
	code, out, stderr := runBin(t, m.URL(), "", "plan", "--regions", "us-east-1", "--fix", "egress", "--allow-shared", "--output", plan)
	if code != 0 {
		t.Fatalf("plan --allow-shared: exit %d\n%s\n%s", code, out, stderr)
	}
	code, out, stderr = runBin(t, m.URL(), "", "apply", plan, "--yes", "--journal", journalPath, "--poll-interval", "50ms")
	if code != 0 || !strings.Contains(out, "1 changed, 0 skipped (drift), 0 failed, 0 blocked") {
		t.Fatalf("apply of the unblocked plan: exit %d\n%s\n%s", code, out, stderr)
	}
	if id := runID(t, out); !strings.Contains(stderr, "undo with: sagefence backout "+id) || strings.Contains(stderr, "finalize") {
		t.Errorf("apply that restricted a group: stderr should say how to undo it and nothing of finalize:\n%s", stderr)
	}
}

// TestE2EFailedApplyReportsOnceAndBackoutRestores: a call AWS refuses
// midway leaves a notebook stopped. Apply names the step and the AWS error
// once, on stderr, lists what the run left changed as read after it
// stopped (the stopped notebook "was InService") and the backout that
// restores it; backout does.
func TestE2EFailedApplyReportsOnceAndBackoutRestores(t *testing.T) {
	m := moto.ForTest(t)
	c := clientsFor(m.URL(), "us-east-1")
	ctx := context.Background()
	net := must[testenv.Network](t)(testenv.CreateNetwork(ctx, c.ec2, "10.0.0.0/16"))
	direct := must[string](t)(testenv.CreateSecurityGroup(ctx, c.ec2, net.VPCID, testenv.SecurityGroup{Name: "nb-direct",
		RevokeDefaultEgress: true, Egress: []testenv.Perm{testenv.AllTraffic("10.0.0.0/16")}}))
	open := must[string](t)(testenv.CreateSecurityGroup(ctx, c.ec2, net.VPCID, testenv.SecurityGroup{Name: "nb-open"}))
	for _, nb := range []testenv.Notebook{
		{Name: "nb-direct", DirectInternetAccess: "Enabled", SubnetID: net.IsolatedSubnetID, SecurityGroupIDs: []string{direct}},
		{Name: "nat-open", DirectInternetAccess: "Disabled", SubnetID: net.PrivateSubnetID, SecurityGroupIDs: []string{open}},
	} {
		if _, err := testenv.CreateNotebook(ctx, c.sm, nb); err != nil {
			t.Fatal(err)
		}
	}
	before := accountState(t, c)
	dir := t.TempDir()
	journalPath := filepath.Join(dir, "journal.db")

	// Tagging the old notebook, the step after it is stopped, is denied.
	proxy := testenv.NewFaultProxy(t, m.URL())
	proxy.Add(testenv.Rule{Op: "sagemaker:AddTags", Fault: testenv.AccessDenied()})
	const denied = "is not authorized to perform: sagemaker:AddTags"

	for _, format := range []string{"table", "json"} {
		t.Run(format, func(t *testing.T) {
			plan := filepath.Join(dir, format+".json")
			if code, out, stderr := runBin(t, m.URL(), "", "plan", "--regions", "us-east-1", "--output", plan); code != 0 {
				t.Fatalf("plan: exit %d\n%s\n%s", code, out, stderr)
			}
			code, out, stderr := runBin(t, proxy.URL(), "", "apply", plan, "--yes", "--journal", journalPath,
				"--format", format, "--poll-interval", "50ms")
			if code != 1 {
				t.Fatalf("apply: exit %d, want 1\n%s\n%s", code, out, stderr)
			}
			var id string
			if format == "json" {
				var res struct {
					RunID   string `json:"run_id"`
					Failure struct {
						Seq      int
						Action   string
						Resource string
						Error    string
					} `json:"failure"`
					LeftChanged []struct {
						Resource string
						Changes  []string
					} `json:"left_changed"`
				}
				if err := json.Unmarshal([]byte(out), &res); err != nil {
					t.Fatalf("apply JSON: %v\n%s", err, out)
				}
				id = res.RunID
				if f := res.Failure; f.Action != "tag-notebook" || f.Resource != "nb-direct" || !strings.Contains(f.Error, "AccessDeniedException") {
					t.Errorf("JSON failure = %+v, want tag-notebook nb-direct denied", f)
				}
				if !strings.Contains(compactJSON(res.LeftChanged), "nb-direct is Stopped, was InService") {
					t.Errorf("JSON left_changed = %+v, want nb-direct stopped", res.LeftChanged)
				}
			} else {
				id = runID(t, out)
				if strings.Contains(out, denied) || strings.Contains(out, "AccessDenied") {
					t.Errorf("the table on stdout repeats the error:\n%s", out)
				}
				if !strings.Contains(out, "1 changed, 0 skipped (drift), 1 failed, 0 blocked") {
					t.Errorf("stdout lacks the summary:\n%s", out)
				}
			}
			if n := strings.Count(stderr, denied); n != 1 {
				t.Errorf("stderr has the AWS error %d times, want once:\n%s", n, stderr)
			}
			for _, want := range []string{
				"failed at step ", "(tag-notebook nb-direct)",
				"nb-direct is Stopped, was InService",
				"nb-direct-private exists (InService), did not before the run",
				"no longer allows egress all traffic to 0.0.0.0/0",
				"Restore them with: sagefence backout " + id,
			} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if strings.Count(stderr, "sagefence backout") != 1 || strings.Contains(stderr, "finalize") {
				t.Errorf("stderr should give one command, backout, and no finalize hint:\n%s", stderr)
			}

			code, out, stderr = runBin(t, m.URL(), "", "backout", id, "--yes", "--journal", journalPath, "--poll-interval", "50ms")
			if code != 0 {
				t.Fatalf("backout: exit %d\n%s\n%s", code, out, stderr)
			}
			if got := accountState(t, c); got != before {
				t.Errorf("account after backout differs from before apply:\nbefore:\n%s\nafter:\n%s", before, got)
			}
			// Backout numbers its own steps and names the apply step each undoes.
			for _, want := range []string{"step 1 undo-", "(undoes apply step "} {
				if !strings.Contains(stderr, want) {
					t.Errorf("backout progress lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}

func compactJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestE2EFinalizeListsEachNotebookAndItsData: finalize names every notebook
// it deletes with the data statement of the run's plan, before deleting;
// without a terminal it needs --yes and deletes nothing without it.
func TestE2EFinalizeListsEachNotebookAndItsData(t *testing.T) {
	m := moto.ForTest(t)
	c := clientsFor(m.URL(), "us-east-1")
	ctx := context.Background()
	net := must[testenv.Network](t)(testenv.CreateNetwork(ctx, c.ec2, "10.0.0.0/16"))
	sg := must[string](t)(testenv.CreateSecurityGroup(ctx, c.ec2, net.VPCID, testenv.SecurityGroup{Name: "nb",
		RevokeDefaultEgress: true, Egress: []testenv.Perm{testenv.AllTraffic("10.0.0.0/16")}}))
	for _, name := range []string{"nb-a", "nb-b"} {
		if _, err := testenv.CreateNotebook(ctx, c.sm, testenv.Notebook{Name: name, DirectInternetAccess: "Enabled",
			SubnetID: net.IsolatedSubnetID, SecurityGroupIDs: []string{sg}}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	plan, journalPath := filepath.Join(dir, "plan.json"), filepath.Join(dir, "journal.db")
	if code, out, stderr := runBin(t, m.URL(), "", "plan", "--regions", "us-east-1", "--fix", "direct", "--output", plan); code != 0 {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, stderr)
	}
	code, out, stderr := runBin(t, m.URL(), "", "apply", plan, "--yes", "--journal", journalPath, "--poll-interval", "50ms")
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, stderr)
	}
	id := runID(t, out)
	if !strings.Contains(stderr, "with: sagefence finalize "+id) || !strings.Contains(stderr, "(nb-a, nb-b)") {
		t.Errorf("apply does not say finalize deletes nb-a and nb-b:\n%s", stderr)
	}
	exists := func(name string) bool {
		_, err := c.sm.DescribeNotebookInstance(ctx, &sagemaker.DescribeNotebookInstanceInput{NotebookInstanceName: aws.String(name)})
		return err == nil
	}

	if code, _, stderr := runBin(t, m.URL(), "", "finalize", id, "--journal", journalPath); code != 2 || !strings.Contains(stderr, "--yes") {
		t.Fatalf("finalize without a terminal or --yes: exit %d, %s", code, stderr)
	}
	if !exists("nb-a") || !exists("nb-b") {
		t.Fatal("finalize without confirmation deleted a notebook")
	}

	code, out, stderr = runBin(t, m.URL(), "", "finalize", id, "--yes", "--journal", journalPath, "--poll-interval", "50ms")
	if code != 0 {
		t.Fatalf("finalize --yes: exit %d\n%s\n%s", code, out, stderr)
	}
	list, _, _ := strings.Cut(stderr, "step 1 ")
	for _, want := range []string{
		"finalize " + id + " deletes 2 notebooks and their ML storage volumes; this cannot be undone",
		"nb-a [123456789012 us-east-1], replaced by nb-a-private",
		"nb-b [123456789012 us-east-1], replaced by nb-b-private",
		"data NOT copied: its volume (/home/ec2-user/SageMaker) will be destroyed with it, and whatever you did not copy to nb-a-private yourself is lost",
		"whatever you did not copy to nb-b-private yourself is lost",
	} {
		if !strings.Contains(list, want) {
			t.Errorf("the list before deleting lacks %q:\n%s", want, stderr)
		}
	}
	for _, want := range []string{"deleted      nb-a", "deleted      nb-b", "deleted 2 of 2 replaced notebook(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("finalize's result lacks %q:\n%s", want, out)
		}
	}
	if exists("nb-a") || exists("nb-b") || !exists("nb-a-private") || !exists("nb-b-private") {
		t.Error("finalize did not delete exactly the replaced notebooks")
	}
}
