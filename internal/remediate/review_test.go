package remediate

import (
	"bytes"
	"flag"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func review(t *testing.T, p *Plan) string {
	t.Helper()
	var buf bytes.Buffer
	if err := p.WriteReview(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestReviewGolden renders the review of the plan fixtures: the fixture
// as it is (a shared group blocked, a ready recreate), with a notebook
// outside any VPC (a blocked recreate next to a ready one and a ready
// egress change), and the hub-and-spoke fixture with a --target-subnet
// that does not exist (a blocked recreate whose candidates include a
// transit gateway subnet).
func TestReviewGolden(t *testing.T) {
	blockedInv, blockedRep := blockedFixture()
	for _, tc := range []struct {
		name string
		inv  *inventory.Inventory
		rep  *finding.Report
		opts PlanOptions
	}{
		{"fixture", fixture(), fixtureReport(), PlanOptions{}},
		{"blocked-recreate", blockedInv, blockedRep, PlanOptions{AllowShared: true}},
		{"hub-missing-target", hubFixture(), fixtureReport(), PlanOptions{Fixes: []Fix{FixDirect}, TargetSubnet: "subnet-gone",
			BackupBucket: "s3://nb-backups/sagefence"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := review(t, mustPlan(t, tc.inv, tc.rep, tc.opts))
			reporttest.Golden(t, "testdata/golden/review-"+tc.name+".golden", []byte(got), *update)
		})
	}
}

// TestReviewShowsEgressAsARuleDiff: revoked rules as "- ", authorized
// ones as "+ " next to them, kept rules as context; no JSON.
func TestReviewShowsEgressAsARuleDiff(t *testing.T) {
	a := actionOf(t, mustPlan(t, fixture(), fixtureReport(), PlanOptions{Fixes: []Fix{FixEgress}, AllowShared: true}), ActionRestrictSGEgress)
	want := []string{
		"- all traffic 0.0.0.0/0",
		"+ all traffic 10.0.0.0/16 (sagefence: instead of 0.0.0.0/0)",
		"- tcp 443 0.0.0.0/0 (https out)",
		"+ tcp 443 10.0.0.0/16 (sagefence: instead of 0.0.0.0/0)",
		"  tcp 443 10.9.0.0/16 (partner)",
		"  tcp 5432 sg-db",
	}
	if diff := cmp.Diff(want, egressDiff(a.Before.SecurityGroup.Egress, a.After.SecurityGroup.Egress)); diff != "" {
		t.Errorf("egress diff (-want +got):\n%s", diff)
	}
	if r := review(t, &Plan{Actions: []Action{*a}}); strings.Contains(r, "{") {
		t.Errorf("the review prints JSON:\n%s", r)
	}
}

func TestRuleText(t *testing.T) {
	for _, tc := range []struct {
		r    Rule
		want string
	}{
		{Rule{Protocol: "-1", CIDR: "0.0.0.0/0"}, "all traffic 0.0.0.0/0"},
		{Rule{Protocol: "6", FromPort: 443, ToPort: 443, CIDR: "10.0.0.0/16", Description: "web"}, "tcp 443 10.0.0.0/16 (web)"},
		{Rule{Protocol: "udp", FromPort: 1024, ToPort: 65535, IPv6CIDR: "::/0"}, "udp 1024-65535 ::/0"},
		{Rule{Protocol: "icmp", FromPort: -1, ToPort: -1, PrefixListID: "pl-1"}, "icmp pl-1"},
		{Rule{Protocol: "icmp", FromPort: 8, ToPort: -1, CIDR: "10.0.0.0/8"}, "icmp type 8 10.0.0.0/8"},
		{Rule{Protocol: "50", GroupID: "sg-1"}, "protocol 50 sg-1"},
	} {
		if got := ruleText(tc.r); got != tc.want {
			t.Errorf("ruleText(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}

// TestReviewShowsTheReplacementWithoutJSON: the replacement's name,
// subnet (with why it qualifies), groups and changed settings, the old
// notebook's change, and the data statement are all in the review.
func TestReviewShowsTheReplacementWithoutJSON(t *testing.T) {
	r := review(t, mustPlan(t, fixture(), fixtureReport(), PlanOptions{Fixes: []Fix{FixDirect}}))
	for _, want := range []string{
		"   replacement nb-direct-private:\n",
		"     subnet:          subnet-a1 (10.0.1.0/24, us-east-1a, vpc-1, chosen automatically): no internet path",
		"network ACL acl-1\n",
		"     security groups: sg-nb (the old notebook's)\n",
		"       - subnet: subnet-pub\n       + subnet: subnet-a1\n",
		"       - tag aws:cloudformation:stack-name: s\n",
		"       + tag sagefence:replaces: nb-direct\n",
		"   nb-direct:\n     - status: InService\n     + status: Stopped\n     + tag sagefence:replaced-by: nb-direct-private\n",
		"   data: Data is NOT copied",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("review lacks %q:\n%s", want, r)
		}
	}
	if strings.Contains(r, "{") {
		t.Errorf("the review prints JSON:\n%s", r)
	}
}
