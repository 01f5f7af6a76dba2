package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sagefence/sagefence/internal/remediate"
)

func TestPlanAgeWarnsPastADay(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		now   time.Time
		want  string
		stale bool
	}{
		{at.Add(90 * time.Second), "inventory collected 2025-03-01T12:00:00Z (1m ago)", false},
		{at.Add(24 * time.Hour), "inventory collected 2025-03-01T12:00:00Z (24h ago)", false},
		{at.Add(24*time.Hour + time.Minute), "inventory collected 2025-03-01T12:00:00Z (24h ago)", true},
		{at.Add(100 * time.Hour), "inventory collected 2025-03-01T12:00:00Z (4d ago)", true},
		{at.Add(-time.Hour), "inventory collected 2025-03-01T12:00:00Z (0s ago)", false}, // a clock behind the plan's
	}
	for _, c := range cases {
		got, stale := planAge(at, c.now)
		if got != c.want || stale != c.stale {
			t.Errorf("planAge(%v later) = %q, %t; want %q, %t", c.now.Sub(at), got, stale, c.want, c.stale)
		}
	}
	if got, stale := planAge(time.Time{}, at); !strings.Contains(got, "not recorded") || stale {
		t.Errorf("a plan without a collection time: %q, %t", got, stale)
	}
}

func TestApplyPreviewNamesWhatStopsAndWhatChanges(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	data := remediate.DataPlan{Mode: remediate.DataCopiedThroughS3, DataURI: "s3://bk/nb-stopped/"}
	p := &remediate.Plan{InventoryCollectedAt: at, Actions: []remediate.Action{
		{Kind: remediate.ActionRestrictSGEgress, Resource: "sg-1", AccountID: "111", Region: "eu-west-1",
			Notebooks: []string{"nb-a"}, Before: remediate.State{SecurityGroup: &remediate.SGState{GroupID: "sg-1", GroupName: "ml"}},
			Revoke:      []remediate.Rule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: "0.0.0.0/0", Description: "https"}},
			Authorize:   []remediate.Rule{{Protocol: "tcp", FromPort: 443, ToPort: 443, PrefixListID: "pl-1"}},
			BlastRadius: remediate.BlastRadius{Notebooks: []string{"nb-b"}, NetworkInterfaces: []remediate.InterfaceRef{{ID: "eni-1"}}}},
		{Kind: remediate.ActionDisablePublicIP, Resource: "subnet-1", AccountID: "111", Region: "eu-west-1", Notebooks: []string{"nb-c"}},
		{Kind: remediate.ActionRecreateNotebook, Resource: "nb-stopped", AccountID: "111", Region: "eu-west-1", Data: &data,
			Before:      remediate.State{Notebook: &remediate.NotebookState{Name: "nb-stopped", Status: "Stopped"}},
			Replacement: &remediate.NotebookState{Name: "nb-stopped-private", SubnetID: "subnet-2", SecurityGroupIDs: []string{"sg-2", "sg-3"}}},
		{Kind: remediate.ActionRecreateNotebook, Resource: "nb-blocked", Blocked: "no private subnet; pass --target-subnet"},
	}}
	var b bytes.Buffer
	applyPreview(&b, p, "plan.json", at.Add(2*time.Hour))
	want := `plan.json: 3 actions to apply, 1 blocked (not applied); inventory collected 2025-03-01T12:00:00Z (2h ago)
  security group sg-1 (ml): revoke egress tcp 443 to 0.0.0.0/0; authorize tcp 443 to pl-1; used by nb-a, nb-b and 1 other network interface [111 eu-west-1]
  subnet subnet-1: MapPublicIpOnLaunch true -> false (new launches only); holds nb-c [111 eu-west-1]
  nb-stopped (Stopped) is replaced by nb-stopped-private in subnet-2 with sg-2,sg-3, after its data is copied to s3://bk/nb-stopped/ (it is started once for that) [111 eu-west-1]
`
	if b.String() != want {
		t.Errorf("preview:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestProgressNumbersBackoutStepsApartFromApplySteps(t *testing.T) {
	cases := []struct {
		s    remediate.StepResult
		want string
	}{
		{remediate.StepResult{Seq: 4, Action: "stop-notebook", Resource: "nb", Status: "failed", Error: "denied"},
			"step 4 stop-notebook nb: failed"},
		{remediate.StepResult{Seq: 1, Undoes: 6, Action: "undo-tag-notebook", Resource: "nb", Status: "done"},
			"step 1 undo-tag-notebook nb (undoes apply step 6): done"},
		{remediate.StepResult{Undoes: 5, Action: "tag-notebook", Resource: "nb", Status: "undone", Note: "already restored"},
			"apply step 5 tag-notebook nb: undone: already restored"},
	}
	for _, c := range cases {
		if got := progressLine(c.s); got != c.want {
			t.Errorf("progressLine = %q, want %q", got, c.want)
		}
	}
}
