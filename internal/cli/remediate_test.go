package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/iostreams"
	"github.com/sagefence/sagefence/internal/journal"
)

func TestPlanFromInputIsReadOnlyAndReviewable(t *testing.T) {
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.json")
	ios, _, out, errOut := iostreams.Test()
	code := Main(context.Background(), ios, []string{"plan", "--input", example, "--output", plan})
	// The example holds notebooks that could not be read: the plan says so
	// and exits 3, but still covers the rest.
	if code != ExitIncomplete {
		t.Fatalf("exit %d, want 3; stderr %s", code, errOut)
	}
	for _, want := range []string{
		"recreate-notebook", "restrict-sg-egress", "disable-public-ip-on-launch",
		"     - all traffic 0.0.0.0/0\n     + all traffic 10.0.0.0/16 (sagefence: instead of 0.0.0.0/0)\n",
		"     - MapPublicIpOnLaunch: true\n     + MapPublicIpOnLaunch: false\n",
		"   replacement marketing-etl-private:\n     subnet:          subnet-0a1b2c3d4e5f60002 (",
		"     security groups: sg-0aa000000000000a1 (the old notebook's)\n",
		"   to resolve, plan again with: --target-subnet subnet-0a1b2c3d4e5f60002 --target-security-groups sg-0aa000000000000a1\n",
		"blast radius:", "data:", "apply it with: sagefence apply " + plan,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan review lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out.String(), "{") {
		t.Errorf("the plan review prints JSON:\n%s", out)
	}
	if !strings.Contains(errOut.String(), "incomplete") {
		t.Errorf("stderr does not say the scan was incomplete: %q", errOut)
	}
	b, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		SchemaVersion string            `json:"schema_version"`
		Actions       []json.RawMessage `json:"actions"`
		Hash          string            `json:"hash"`
	}
	if err := json.Unmarshal(b, &p); err != nil || p.SchemaVersion == "" || len(p.Actions) == 0 || p.Hash == "" {
		t.Fatalf("plan file: %v %+v", err, p)
	}

	// --fix selects actions.
	ios, _, out, _ = iostreams.Test()
	Main(context.Background(), ios, []string{"plan", "--input", example, "--fix", "public-subnet", "--format", "json"})
	if strings.Contains(out.String(), "recreate-notebook") || !strings.Contains(out.String(), "disable-public-ip-on-launch") {
		t.Errorf("--fix public-subnet planned other actions:\n%s", out)
	}
}

// TestPlanWithEveryActionBlockedDoesNotSayApply: a plan with nothing
// ready says so instead of telling the user to apply it.
func TestPlanWithEveryActionBlockedDoesNotSayApply(t *testing.T) {
	plan := filepath.Join(t.TempDir(), "plan.json")
	ios, _, out, _ := iostreams.Test()
	Main(context.Background(), ios, []string{"plan", "--input", example, "--fix", "direct", "--target-subnet", "subnet-gone", "--output", plan})
	last := strings.TrimSpace(out.String())
	last = last[strings.LastIndex(last, "\n")+1:]
	if !strings.HasPrefix(last, "0 action(s) ready, 3 blocked: nothing to apply") || strings.Contains(out.String(), "apply it with") {
		t.Errorf("last line %q; review:\n%s", last, out)
	}
	if !strings.Contains(out.String(), "to resolve, plan again with: --target-subnet subnet-0a1b2c3d4e5f60002") {
		t.Errorf("the review does not name a subnet for --target-subnet:\n%s", out)
	}
}

func TestApplyRefusesWithoutConfirmation(t *testing.T) {
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.json")
	ios, _, _, _ := iostreams.Test()
	Main(context.Background(), ios, []string{"plan", "--input", example, "--output", plan})
	journalPath := filepath.Join(dir, "j.db")

	// Not a terminal, no --yes.
	ios, _, _, errOut := iostreams.Test()
	if code := Main(context.Background(), ios, []string{"apply", plan, "--journal", journalPath}); code != ExitUsage || !strings.Contains(errOut.String(), "--yes") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	// A terminal that answers no.
	ios, in, _, errOut := iostreams.Test()
	ios.SetStdinTTY(true)
	in.WriteString("n\n")
	if code := Main(context.Background(), ios, []string{"apply", plan, "--journal", journalPath}); code != ExitUsage || !strings.Contains(errOut.String(), "not confirmed") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(journalPath); err == nil {
		t.Error("a refused apply created the journal")
	}
}

func TestRemediationBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"schema_version":"1","actions":[],"hash":"x"}`), 0o644)
	j := filepath.Join(dir, "j.db")
	for _, args := range [][]string{
		{"apply", filepath.Join(dir, "missing.json"), "--yes", "--journal", j},
		{"apply", bad, "--yes", "--journal", j},
		{"apply"},
		{"plan", "--input", example, "--fix", "everything"},
		{"plan", "--input", example, "--regions", "us-east-1"},
		{"journal", "show", "no-such-run", "--journal", j},
		{"journal", "list", "--format", "xml", "--journal", j},
		{"backout", "x", "--format", "xml"},
	} {
		ios, _, _, errOut := iostreams.Test()
		code := Main(context.Background(), ios, args)
		if code != ExitUsage || strings.Count(errOut.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	ios, _, out, _ := iostreams.Test()
	if code := Main(context.Background(), ios, []string{"journal", "list", "--journal", j, "--format", "json"}); code != 0 || strings.TrimSpace(out.String()) != "[]" {
		t.Errorf("empty journal list: exit %d, %q", code, out)
	}
	// Reading a journal that does not exist creates nothing.
	if _, err := os.Stat(j); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal list or show created %s (%v)", j, err)
	}
}

// plan --fix studio-vpc-only plans a domain of the inventory: the review
// shows the setting's change and the VPC endpoints; without the SageMaker
// API and runtime endpoints the action is blocked and names the flag that
// plans it anyway.
func TestPlanStudioVPCOnlyFromInput(t *testing.T) {
	inv, err := inventory.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	reg := &inv.Regions[0]
	reg.StudioDomains = append(reg.StudioDomains, inventory.StudioDomain{ID: "d-lab", Name: "lab", Status: "InService",
		VPCID: "vpc-studio", SubnetIDs: []string{"subnet-studio"}, DefaultUserSecurityGroupIDs: []string{"sg-studio"},
		Apps: []inventory.StudioApp{{DomainID: "d-lab", SpaceName: "team", AppType: "JupyterLab", AppName: "default", Status: "Deleted"}}})
	inv.SchemaVersion = inventory.SchemaVersion
	b, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(t.TempDir(), "inventory.json")
	if err := os.WriteFile(input, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ios, _, out, errOut := iostreams.Test()
	code := Main(context.Background(), ios, []string{"plan", "--input", input, "--fix", "studio-vpc-only"})
	for _, want := range []string{
		"[BLOCKED] set-domain-vpc-only d-lab",
		"     - AppNetworkAccessType: PublicInternetOnly\n     + AppNetworkAccessType: VpcOnly\n",
		"required    com.amazonaws." + reg.Region + ".sagemaker.api: missing",
		"to resolve, plan again with: --allow-missing-endpoints",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("review lacks %q:\n%s", want, out)
		}
	}
	if code != ExitIncomplete || strings.Contains(out.String(), "recreate-notebook") {
		t.Errorf("exit %d (stderr %q); only the domain should be planned:\n%s", code, errOut, out)
	}
	ios, _, out, _ = iostreams.Test()
	Main(context.Background(), ios, []string{"plan", "--input", input, "--fix", "studio-vpc-only", "--allow-missing-endpoints"})
	if !strings.Contains(out.String(), "[ready] set-domain-vpc-only d-lab") {
		t.Errorf("--allow-missing-endpoints did not make the action ready:\n%s", out)
	}
	ios, _, out, _ = iostreams.Test()
	Main(context.Background(), ios, []string{"plan", "--help"})
	for _, want := range []string{"studio-vpc-only", "--allow-missing-endpoints", "InService, Pending or Deleting"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan --help lacks %q", want)
		}
	}
}

// TestMissingArgumentIsNamed: a command that takes one plan or run ID says
// which one it is missing, in one line.
func TestMissingArgumentIsNamed(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"apply"}, "sagefence apply: missing PLAN"},
		{[]string{"backout"}, "sagefence backout: missing RUN_ID"},
		{[]string{"finalize", "a", "b"}, "sagefence finalize takes one RUN_ID, got 2: a b"},
		{[]string{"journal", "show"}, "sagefence journal show: missing RUN_ID"},
	} {
		ios, _, out, errOut := iostreams.Test()
		code := Main(context.Background(), ios, c.args)
		if got := errOut.String(); code != ExitUsage || out.Len() != 0 || strings.Count(got, "\n") != 1 || !strings.Contains(got, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, got, c.want)
		}
	}
}

// TestBackoutOfAnUnknownRunAsksNothingOfAWS: a run the journal does not
// hold (or a journal that does not exist) is refused in one line before
// credentials are looked for or anything is asked.
func TestBackoutOfAnUnknownRunAsksNothingOfAWS(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_REGION", "")
	dir := t.TempDir()
	existing := filepath.Join(dir, "journal.db")
	j, err := journal.Open(context.Background(), existing)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	for _, c := range []struct{ path, want string }{
		{existing, "no-such-run"},
		{filepath.Join(dir, "none.db"), "no journal at"},
	} {
		ios, _, out, errOut := iostreams.Test()
		code := Main(context.Background(), ios, []string{"backout", "no-such-run", "--journal", c.path})
		if got := errOut.String(); code != ExitUsage || out.Len() != 0 || strings.Count(got, "\n") != 1 || !strings.Contains(got, c.want) || strings.Contains(got, "credentials") {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and one line naming %q", c.path, code, got, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backout created a journal (%v)", err)
	}
}
