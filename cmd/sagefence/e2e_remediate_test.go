package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/sagefence/sagefence/internal/testenv"
)

// run runs the binary with any arguments against endpoint.
func runBin(t *testing.T, endpoint string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = testenv.Environ(endpoint)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run sagefence: %v", err)
	}
	return code, out.String(), errOut.String()
}

// accountState is the part of the account remediation may change,
// normalised for comparison.
func accountState(t *testing.T, c clients) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	nbs, err := c.sm.ListNotebookInstances(ctx, &sagemaker.ListNotebookInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nbs.NotebookInstances {
		d, err := c.sm.DescribeNotebookInstance(ctx, &sagemaker.DescribeNotebookInstanceInput{NotebookInstanceName: n.NotebookInstanceName})
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(strings.Join([]string{aws.ToString(d.NotebookInstanceName), string(d.NotebookInstanceStatus), string(d.DirectInternetAccess), aws.ToString(d.SubnetId)}, " ") + "\n")
	}
	sgs, err := c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range sgs.SecurityGroups {
		perms, _ := json.Marshal(g.IpPermissionsEgress)
		b.WriteString(aws.ToString(g.GroupId) + " " + string(perms) + "\n")
	}
	subs, err := c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs.Subnets {
		b.WriteString(aws.ToString(s.SubnetId) + " " + map[bool]string{true: "public-ip", false: "private"}[aws.ToBool(s.MapPublicIpOnLaunch)] + "\n")
	}
	lines := strings.Split(b.String(), "\n")
	slicesSort(lines)
	return strings.Join(lines, "\n")
}

func slicesSort(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TestE2ERemediationRoundTrip: plan, apply, scan, apply again, backout,
// through the binary; the account ends as it began. (moto lacks
// UpdateNotebookInstance; without --backup-bucket apply does not call it.)
func TestE2ERemediationRoundTrip(t *testing.T) {
	m := moto.ForTest(t)
	c := clientsFor(m.URL(), "us-east-1")
	ctx := context.Background()
	net := must[testenv.Network](t)(testenv.CreateNetwork(ctx, c.ec2, "10.0.0.0/16"))
	open := must[string](t)(testenv.CreateSecurityGroup(ctx, c.ec2, net.VPCID, testenv.SecurityGroup{Name: "nb-open"}))
	other := must[string](t)(testenv.CreateSecurityGroup(ctx, c.ec2, net.VPCID, testenv.SecurityGroup{Name: "nb-other"}))
	for _, nb := range []testenv.Notebook{
		{Name: "exposed", DirectInternetAccess: "Enabled", SubnetID: net.IsolatedSubnetID, SecurityGroupIDs: []string{other}},
		{Name: "nat-open", DirectInternetAccess: "Disabled", SubnetID: net.PrivateSubnetID, SecurityGroupIDs: []string{open}},
	} {
		if _, err := testenv.CreateNotebook(ctx, c.sm, nb); err != nil {
			t.Fatal(err)
		}
	}
	before := accountState(t, c)
	dir := t.TempDir()
	plan, journalPath := filepath.Join(dir, "plan.json"), filepath.Join(dir, "journal.db")

	// Security Hub follows each stage: a scan pushes through a proxy that
	// gives moto AWS's workflow semantics; exposed's finding is read back.
	hubProxy := testenv.NewFaultProxy(t, m.URL())
	hubProxy.Add(testenv.SecurityHubWorkflow(t, m.URL())...)
	hub := securityhub.NewFromConfig(testenv.Config(m.URL()))
	pushAndRead := func() string {
		t.Helper()
		got := scan(t, hubProxy.URL(), "--regions", "us-east-1", "--journal", journalPath, "--push-securityhub")
		if strings.Contains(got.stderr, "security hub") {
			t.Fatalf("push: %s", got.stderr)
		}
		out, err := hub.GetFindings(ctx, &securityhub.GetFindingsInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range out.Findings {
			if aws.ToString(f.Resources[0].Details.AwsSageMakerNotebookInstance.NotebookInstanceName) == "exposed" {
				s := string(f.Workflow.Status)
				if f.Note != nil {
					s += " " + aws.ToString(f.Note.Text)
				}
				return s
			}
		}
		t.Fatal("no Security Hub finding for exposed")
		return ""
	}
	if got := pushAndRead(); got != "NEW" {
		t.Errorf("exposed in Security Hub before apply = %q, want NEW", got)
	}

	code, out, stderr := runBin(t, m.URL(), "", "plan", "--regions", "us-east-1", "--output", plan)
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"recreate-notebook", "restrict-sg-egress", "egress of " + open, "replacement exposed-private:", "blast radius"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan review lacks %q:\n%s", want, out)
		}
	}
	// A blocked recreate names a subnet that would do.
	code, out, stderr = runBin(t, m.URL(), "", "plan", "--regions", "us-east-1", "--fix", "direct", "--target-subnet", "subnet-0000000000000dead")
	if want := "to resolve, plan again with: --target-subnet " + net.IsolatedSubnetID; code != 3 || !strings.Contains(out, want) {
		t.Errorf("blocked plan: exit %d, want 3 and %q:\n%s\n%s", code, want, out, stderr)
	}
	if accountState(t, c) != before {
		t.Fatal("plan changed the account")
	}

	// Not a terminal and no --yes: refused, nothing changed.
	if code, _, stderr := runBin(t, m.URL(), "", "apply", plan, "--journal", journalPath); code != 2 || !strings.Contains(stderr, "--yes") {
		t.Fatalf("apply without --yes: exit %d, %q", code, stderr)
	}
	if accountState(t, c) != before {
		t.Fatal("a refused apply changed the account")
	}

	code, out, stderr = runBin(t, m.URL(), "", "apply", plan, "--yes", "--journal", journalPath, "--format", "json", "--poll-interval", "50ms")
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, stderr)
	}
	var res struct {
		RunID   string `json:"run_id"`
		Actions []struct {
			Action, Resource, Status string
		} `json:"actions"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.RunID == "" {
		t.Fatalf("apply JSON has no run_id: %v\n%s", err, out)
	}
	if accountState(t, c) == before {
		t.Fatal("apply changed nothing")
	}

	// The fixed notebooks pass; the replaced one is MUTED pending finalize.
	got := scan(t, m.URL(), "--regions", "us-east-1", "--journal", journalPath)
	rs := got.byName()
	if r := rs["nat-open"]; r.Status != "PASS" {
		t.Errorf("nat-open after apply = %s %+v", r.Status, r.Checks)
	}
	if r := rs["exposed-private"]; r.Status != "PASS" {
		t.Errorf("replacement exposed-private = %s %+v", r.Status, r.Checks)
	}
	if r := rs["exposed"]; r.Status != "MUTED" || r.Mute == nil || !strings.Contains(r.Mute.Reason, "exposed-private") {
		t.Errorf("replaced notebook = %s %+v, want MUTED naming its replacement", r.Status, r.Mute)
	}
	want := "SUPPRESSED Muted (sagefence journal): replaced by exposed-private (run " + res.RunID + "), pending finalize."
	if got := pushAndRead(); got != want {
		t.Errorf("exposed in Security Hub after apply = %q, want %q", got, want)
	}

	// Applying the same plan again changes nothing.
	after := accountState(t, c)
	if code, out, _ := runBin(t, m.URL(), "", "apply", plan, "--yes", "--journal", journalPath, "--poll-interval", "50ms"); code != 0 {
		t.Fatalf("second apply: exit %d\n%s", code, out)
	}
	if accountState(t, c) != after {
		t.Fatal("a second apply of the same plan changed the account")
	}

	// The journal lists the run.
	code, out, _ = runBin(t, m.URL(), "", "journal", "list", "--journal", journalPath, "--format", "json")
	if code != 0 || !strings.Contains(out, res.RunID) {
		t.Fatalf("journal list: exit %d\n%s", code, out)
	}
	if code, out, _ := runBin(t, m.URL(), "", "journal", "show", res.RunID, "--journal", journalPath); code != 0 || !strings.Contains(out, "restrict-sg-egress") {
		t.Fatalf("journal show: exit %d\n%s", code, out)
	}

	// Backout restores the account exactly.
	code, out, stderr = runBin(t, m.URL(), "", "backout", res.RunID, "--yes", "--journal", journalPath, "--poll-interval", "50ms")
	if code != 0 {
		t.Fatalf("backout: exit %d\n%s\n%s", code, out, stderr)
	}
	if got := accountState(t, c); got != before {
		t.Errorf("account after backout differs from before apply:\nbefore:\n%s\nafter:\n%s", before, got)
	}
	// Exposed again: the scan read the journal, so the push lifts the
	// suppression the journal had put there.
	if got := pushAndRead(); got != "NEW Reopened by sagefence: nothing mutes this finding any more." {
		t.Errorf("exposed in Security Hub after backout = %q, want NEW and reopened", got)
	}
}
