package remediate

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
)

// hubFixture is fixture() with a fifth subnet in vpc-1, subnet-tgw, whose
// route table sends 0.0.0.0/0 to transit gateway tgw-1 (same account).
// The attachment's route table sends 0.0.0.0/0 to an egress VPC, vpc-e,
// whose attachment subnet routes to NAT gateway nat-e and on to internet
// gateway igw-e: central egress.
func hubFixture() *inventory.Inventory {
	inv := fixture()
	reg := &inv.Regions[0]
	allow := slices.Clone(reg.NetworkACLs[0].Entries)
	reg.Subnets = append(reg.Subnets,
		inventory.Subnet{ID: "subnet-tgw", VPCID: "vpc-1", CIDRBlock: "10.0.4.0/24", AvailabilityZone: "us-east-1a"},
		inventory.Subnet{ID: "subnet-e-tgw", VPCID: "vpc-e", CIDRBlock: "100.64.0.0/28", AvailabilityZone: "us-east-1a"},
		inventory.Subnet{ID: "subnet-e-pub", VPCID: "vpc-e", CIDRBlock: "100.64.1.0/24", AvailabilityZone: "us-east-1a"})
	reg.VPCs = append(reg.VPCs, inventory.VPC{ID: "vpc-e", CIDRBlocks: []string{"100.64.0.0/16"}})
	reg.NetworkACLs[0].SubnetIDs = append(reg.NetworkACLs[0].SubnetIDs, "subnet-tgw")
	reg.NetworkACLs = append(reg.NetworkACLs, inventory.NetworkACL{ID: "acl-e", VPCID: "vpc-e", Default: true,
		SubnetIDs: []string{"subnet-e-tgw", "subnet-e-pub"}, Entries: allow})
	local := func(cidr string) inventory.Route {
		return inventory.Route{DestinationCIDR: cidr, GatewayID: "local", State: "active"}
	}
	reg.RouteTables = append(reg.RouteTables,
		inventory.RouteTable{ID: "rtb-tgw", VPCID: "vpc-1", SubnetIDs: []string{"subnet-tgw"}, Routes: []inventory.Route{
			local("10.0.0.0/16"), {DestinationCIDR: "0.0.0.0/0", TransitGatewayID: "tgw-1", State: "active"}}},
		inventory.RouteTable{ID: "rtb-e-tgw", VPCID: "vpc-e", SubnetIDs: []string{"subnet-e-tgw"}, Routes: []inventory.Route{
			local("100.64.0.0/16"), {DestinationCIDR: "0.0.0.0/0", NATGatewayID: "nat-e", State: "active"}}},
		inventory.RouteTable{ID: "rtb-e-pub", VPCID: "vpc-e", SubnetIDs: []string{"subnet-e-pub"}, Routes: []inventory.Route{
			local("100.64.0.0/16"), {DestinationCIDR: "0.0.0.0/0", GatewayID: "igw-e", State: "active"}}},
		inventory.RouteTable{ID: "rtb-e-main", VPCID: "vpc-e", Main: true, Routes: []inventory.Route{local("100.64.0.0/16")}})
	reg.NATGateways = append(reg.NATGateways, inventory.NATGateway{ID: "nat-e", VPCID: "vpc-e", SubnetID: "subnet-e-pub",
		State: "available", ConnectivityType: "public"})
	reg.InternetGateways = append(reg.InternetGateways, inventory.InternetGateway{ID: "igw-e", VPCIDs: []string{"vpc-e"},
		Attachments: []inventory.GatewayAttachment{{VPCID: "vpc-e", State: "available"}}})
	reg.TransitGatewayAttachments = []inventory.TransitGatewayAttachment{
		{ID: "tgw-attach-1", TransitGatewayID: "tgw-1", TransitGatewayOwnerID: acct, ResourceType: "vpc", ResourceID: "vpc-1",
			ResourceOwnerID: acct, State: "available", RouteTableID: "tgw-rtb-1", AssociationState: "associated", SubnetIDs: []string{"subnet-tgw"}},
		{ID: "tgw-attach-e", TransitGatewayID: "tgw-1", TransitGatewayOwnerID: acct, ResourceType: "vpc", ResourceID: "vpc-e",
			ResourceOwnerID: acct, State: "available", RouteTableID: "tgw-rtb-e", AssociationState: "associated", SubnetIDs: []string{"subnet-e-tgw"}},
	}
	reg.TransitGatewayRouteTables = []inventory.TransitGatewayRouteTable{
		{ID: "tgw-rtb-1", TransitGatewayID: "tgw-1", Routes: []inventory.TransitGatewayRoute{
			{DestinationCIDR: "0.0.0.0/0", Type: "static", State: "active",
				Attachments: []inventory.TransitGatewayRouteAttachment{{ID: "tgw-attach-e", ResourceType: "vpc", ResourceID: "vpc-e"}}}}},
		{ID: "tgw-rtb-e", TransitGatewayID: "tgw-1", Routes: []inventory.TransitGatewayRoute{
			{DestinationCIDR: "10.0.0.0/16", Type: "propagated", State: "active",
				Attachments: []inventory.TransitGatewayRouteAttachment{{ID: "tgw-attach-1", ResourceType: "vpc", ResourceID: "vpc-1"}}}}},
	}
	reg.Coverage = &inventory.Coverage{VPCs: []string{"vpc-1", "vpc-e"}, TransitGateways: []string{"tgw-1"}}
	return inv
}

// candidateSummary is "subnet qualifies status path" for each candidate.
func candidateSummary(cs []Candidate) []string {
	var out []string
	for _, c := range cs {
		q := "no"
		if c.Qualifies {
			q = "qualifies"
		}
		out = append(out, strings.Join([]string{c.SubnetID, q, string(c.Status), string(c.InternetPath)}, " "))
	}
	return out
}

func candidateOf(t *testing.T, a *Action, subnet string) Candidate {
	t.Helper()
	for _, c := range a.Candidates {
		if c.SubnetID == subnet {
			return c
		}
	}
	t.Fatalf("no candidate %s among %v", subnet, candidateSummary(a.Candidates))
	return Candidate{}
}

// TestCandidatesAreJudgedByTheControl: for a replacement of nb-direct
// (groups sg-nb, egress to 0.0.0.0/0) the isolated subnets qualify with
// no internet path; the NAT subnet and the transit gateway subnet (central
// NAT in vpc-e) qualify only as last resorts, because the replacement
// would fail internet-egress-path there; the public subnet does not
// qualify. Best first: same availability zone as the old notebook breaks
// ties.
func TestCandidatesAreJudgedByTheControl(t *testing.T) {
	a := actionOf(t, mustPlan(t, hubFixture(), fixtureReport(), PlanOptions{Fixes: []Fix{FixDirect}}), ActionRecreateNotebook)
	want := []string{
		"subnet-a1 qualifies PASS none",
		"subnet-0b qualifies PASS none",
		"subnet-tgw qualifies FAIL nat",
		"subnet-nat qualifies FAIL nat",
		"subnet-pub no FAIL none", // public-subnet fails; a replacement without a public IP has no path
	}
	if diff := cmp.Diff(want, candidateSummary(a.Candidates)); diff != "" {
		t.Errorf("candidates (-want +got):\n%s", diff)
	}
	if a.Replacement.SubnetID != "subnet-a1" {
		t.Errorf("replacement subnet %s, want the first candidate subnet-a1", a.Replacement.SubnetID)
	}
	for subnet, want := range map[string][]string{
		"subnet-a1":  {"no internet path", "rtb-main"},
		"subnet-nat": {"would fail internet-egress-path", "internet path nat via nat-1 -> igw-1", "route 0.0.0.0/0 -> nat-1 (nat)"},
		"subnet-tgw": {"would fail internet-egress-path", "via tgw-attach-1 -> tgw-attach-e -> nat-e -> igw-e", "0.0.0.0/0 -> tgw-1 (tgw)"},
		"subnet-pub": {"not private", "routes to an internet gateway (rtb-pub: 0.0.0.0/0 -> igw-1)", "MapPublicIpOnLaunch=true"},
	} {
		c := candidateOf(t, a, subnet)
		for _, w := range want {
			if !strings.Contains(c.Why, w) {
				t.Errorf("%s: why %q lacks %q", subnet, c.Why, w)
			}
		}
	}
	if c := candidateOf(t, a, "subnet-a1"); c.NetworkACLID != "acl-1" || c.RouteTableID != "rtb-main" || c.CIDR != "10.0.1.0/24" ||
		c.AvailabilityZone != "us-east-1a" || strings.Join(c.SecurityGroupIDs, ",") != "sg-nb" || c.GroupsSource != "the old notebook's" {
		t.Errorf("subnet-a1 candidate facts: %+v", c)
	}
	for _, c := range a.Candidates {
		if c.VPCID != "vpc-1" {
			t.Errorf("candidate %s of VPC %s listed though the notebook's own VPC has qualifying subnets", c.SubnetID, c.VPCID)
		}
	}
}

// TestTransitGatewaySubnetDependsOnWhereTheTransitGatewaySendsTraffic: the
// same subnet route (0.0.0.0/0 -> tgw-1) qualifies outright when the
// transit gateway drops the traffic, as a last resort when it reaches a
// central NAT, and needs review when the path leaves sight.
func TestTransitGatewaySubnetDependsOnWhereTheTransitGatewaySendsTraffic(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(reg *inventory.Region)
		status finding.Status
		path   finding.InternetPath
		why    string
	}{
		{name: "central NAT", change: func(*inventory.Region) {}, status: finding.StatusFail, path: finding.PathNAT, why: "nat-e -> igw-e"},
		{name: "blackhole", change: func(reg *inventory.Region) {
			reg.TransitGatewayRouteTables[0].Routes[0].State = "blackhole"
			reg.TransitGatewayRouteTables[0].Routes[0].Attachments = nil
		}, status: finding.StatusPass, path: finding.PathNone, why: "no internet path"},
		{name: "VPN attachment", change: func(reg *inventory.Region) {
			reg.TransitGatewayRouteTables[0].Routes[0].Attachments = []inventory.TransitGatewayRouteAttachment{{ID: "tgw-attach-vpn", ResourceType: "vpn", ResourceID: "vpn-1"}}
			reg.TransitGatewayAttachments = append(reg.TransitGatewayAttachments, inventory.TransitGatewayAttachment{ID: "tgw-attach-vpn",
				TransitGatewayID: "tgw-1", TransitGatewayOwnerID: acct, ResourceType: "vpn", ResourceID: "vpn-1", State: "available"})
		}, status: finding.StatusReview, path: finding.PathTransit, why: "need review"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := hubFixture()
			tc.change(&inv.Regions[0])
			a := actionOf(t, mustPlan(t, inv, fixtureReport(), PlanOptions{Fixes: []Fix{FixDirect}}), ActionRecreateNotebook)
			c := candidateOf(t, a, "subnet-tgw")
			if !c.Qualifies || c.Status != tc.status || c.InternetPath != tc.path || !strings.Contains(c.Why, tc.why) {
				t.Errorf("subnet-tgw: qualifies %v, %s %s, why %q; want %s %s, why containing %q",
					c.Qualifies, c.Status, c.InternetPath, c.Why, tc.status, tc.path, tc.why)
			}
		})
	}
}

// TestCandidateVerdictFollowsTheReplacementsGroups: with a group that
// allows no egress, the NAT subnet no longer gives the replacement an
// internet path, so it qualifies outright.
func TestCandidateVerdictFollowsTheReplacementsGroups(t *testing.T) {
	inv := fixture()
	inv.Regions[0].SecurityGroups = append(inv.Regions[0].SecurityGroups, inventory.SecurityGroup{ID: "sg-private", VPCID: "vpc-1"})
	a := actionOf(t, mustPlan(t, inv, fixtureReport(), PlanOptions{Fixes: []Fix{FixDirect}, TargetSecurityGroups: []string{"sg-private"}}), ActionRecreateNotebook)
	c := candidateOf(t, a, "subnet-nat")
	if !c.Qualifies || c.Status != finding.StatusPass || c.GroupsSource != "--target-security-groups" {
		t.Errorf("subnet-nat with sg-private: %+v, want it to qualify with PASS", c)
	}
}

// TestCandidateThatCannotBeJudgedDoesNotQualify: a subnet the inventory
// holds no network ACL for cannot be judged, so it is not chosen even
// though its route table is private.
func TestCandidateThatCannotBeJudgedDoesNotQualify(t *testing.T) {
	inv := fixture()
	reg := &inv.Regions[0]
	reg.NetworkACLs[0].SubnetIDs = []string{"subnet-pub", "subnet-nat", "subnet-0b"} // subnet-a1 has none
	a := actionOf(t, mustPlan(t, inv, fixtureReport(), PlanOptions{Fixes: []Fix{FixDirect}}), ActionRecreateNotebook)
	c := candidateOf(t, a, "subnet-a1")
	if c.Qualifies || c.Status != finding.StatusError || !strings.Contains(c.Why, "network ACL of subnet subnet-a1") {
		t.Errorf("subnet-a1 without an ACL: %+v, want it not to qualify and say why", c)
	}
	if a.Replacement.SubnetID != "subnet-0b" {
		t.Errorf("replacement subnet %s, want subnet-0b", a.Replacement.SubnetID)
	}
}

// noVPCNotebook has direct internet access and no VPC at all (no subnet,
// no groups), as many old notebooks do.
func noVPCNotebook() inventory.Notebook {
	return inventory.Notebook{Name: "nb-novpc", ARN: "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb-novpc",
		Status: "InService", DirectInternetAccess: "Enabled", InstanceType: "ml.t3.medium", RoleARN: "arn:aws:iam::123456789012:role/nb",
		VolumeSizeInGB: 5, PlatformIdentifier: "notebook-al2-v3", Tags: map[string]string{"team": "research"}}
}

func blockedFixture() (*inventory.Inventory, *finding.Report) {
	inv := fixture()
	inv.Regions[0].Notebooks = append(inv.Regions[0].Notebooks, noVPCNotebook())
	rep := fixtureReport()
	rep.Results = append(rep.Results, result("nb-novpc", "FAIL", fail(checkDirect), pass(checkEgress)))
	return inv, rep
}

// TestBlockedRecreateProposesASubnetAndGroups: a notebook outside any VPC
// is blocked for want of a subnet and groups; the plan names the best
// qualifying subnet and the groups notebooks already use in its VPC, as
// the exact flags to pass.
func TestBlockedRecreateProposesASubnetAndGroups(t *testing.T) {
	inv, rep := blockedFixture()
	p := mustPlan(t, inv, rep, PlanOptions{Fixes: []Fix{FixDirect}})
	var a *Action
	for i := range p.Actions {
		if p.Actions[i].Resource == "nb-novpc" {
			a = &p.Actions[i]
		}
	}
	if a == nil || a.Blocked == "" {
		t.Fatalf("nb-novpc: %+v, want a blocked recreate", a)
	}
	want := []string{"--target-subnet subnet-0b", "--target-security-groups sg-nb"}
	if diff := cmp.Diff(want, a.Unblock); diff != "" {
		t.Errorf("unblock (-want +got):\n%s", diff)
	}
	c := candidateOf(t, a, "subnet-0b")
	if c.GroupsSource != "used by notebook nb-egress" {
		t.Errorf("groups source %q, want the notebook that uses sg-nb in vpc-1", c.GroupsSource)
	}
	for _, c := range a.Candidates {
		if !c.Qualifies {
			t.Errorf("a notebook outside any VPC lists non-qualifying subnet %s of another VPC", c.SubnetID)
		}
	}

	// The plan built with the proposed flags is no longer blocked for it.
	p = mustPlan(t, inv, rep, PlanOptions{Fixes: []Fix{FixDirect}, TargetSubnet: "subnet-0b", TargetSecurityGroups: []string{"sg-nb"}})
	for _, a := range p.Actions {
		if a.Blocked != "" {
			t.Errorf("with the proposed flags, %s is still blocked: %s", a.ID, a.Blocked)
		}
	}
}

// TestBlockedRecreateOffersTheDefaultGroupWhenNoNotebookSharesOne: with
// no notebook in the VPC to reuse groups from, the VPC's default group is
// proposed; with neither, no groups and a reason.
func TestBlockedRecreateOffersTheDefaultGroupWhenNoNotebookSharesOne(t *testing.T) {
	inv, rep := blockedFixture()
	reg := &inv.Regions[0]
	reg.Notebooks[1].DirectInternetAccess = "Enabled" // nb-egress no longer counts as a model
	reg.SecurityGroups = append(reg.SecurityGroups, inventory.SecurityGroup{ID: "sg-default", Name: "default", VPCID: "vpc-1"})
	p := mustPlan(t, inv, rep, PlanOptions{Fixes: []Fix{FixDirect}})
	var novpc *Action
	for i := range p.Actions {
		if p.Actions[i].Resource == "nb-novpc" {
			novpc = &p.Actions[i]
		}
	}
	if novpc == nil {
		t.Fatal("no action for nb-novpc")
	}
	c := candidateOf(t, novpc, "subnet-0b")
	if strings.Join(c.SecurityGroupIDs, ",") != "sg-default" || c.GroupsSource != "the default group of vpc-1" {
		t.Errorf("groups %v from %q, want sg-default, the default group of vpc-1", c.SecurityGroupIDs, c.GroupsSource)
	}
	reg.SecurityGroups = reg.SecurityGroups[:len(reg.SecurityGroups)-1]
	p = mustPlan(t, inv, rep, PlanOptions{Fixes: []Fix{FixDirect}})
	for i := range p.Actions {
		if p.Actions[i].Resource == "nb-novpc" {
			novpc = &p.Actions[i]
		}
	}
	if len(novpc.Candidates) != 0 || len(novpc.Unblock) != 0 {
		t.Errorf("without any group to reuse: candidates %v, unblock %v, want none", candidateSummary(novpc.Candidates), novpc.Unblock)
	}
}

// TestTargetSubnetNotInTheInventoryProposesOne: a --target-subnet the
// inventory lacks blocks the action and the plan names one that would do.
func TestTargetSubnetNotInTheInventoryProposesOne(t *testing.T) {
	a := actionOf(t, mustPlan(t, fixture(), fixtureReport(), PlanOptions{Fixes: []Fix{FixDirect}, TargetSubnet: "subnet-gone"}), ActionRecreateNotebook)
	if !strings.Contains(a.Blocked, "--target-subnet subnet-gone is not in the inventory") {
		t.Errorf("blocked %q", a.Blocked)
	}
	if diff := cmp.Diff([]string{"--target-subnet subnet-a1"}, a.Unblock); diff != "" {
		t.Errorf("unblock (-want +got):\n%s", diff)
	}
}

// TestTargetSubnetInAnotherVPCProposesItsGroups: the old groups do not
// belong to the target subnet's VPC; the plan proposes groups there.
func TestTargetSubnetInAnotherVPCProposesItsGroups(t *testing.T) {
	inv := hubFixture()
	reg := &inv.Regions[0]
	reg.SecurityGroups = append(reg.SecurityGroups, inventory.SecurityGroup{ID: "sg-e-default", Name: "default", VPCID: "vpc-e"})
	a := actionOf(t, mustPlan(t, inv, fixtureReport(), PlanOptions{Fixes: []Fix{FixDirect}, TargetSubnet: "subnet-e-tgw"}), ActionRecreateNotebook)
	if !strings.Contains(a.Blocked, "security group sg-nb is in VPC vpc-1, the target subnet subnet-e-tgw in VPC vpc-e") {
		t.Errorf("blocked %q", a.Blocked)
	}
	if diff := cmp.Diff([]string{"--target-security-groups sg-e-default"}, a.Unblock); diff != "" {
		t.Errorf("unblock (-want +got):\n%s", diff)
	}
}

// TestSharedGroupNamesTheFlagThatUnblocksIt.
func TestSharedGroupNamesTheFlagThatUnblocksIt(t *testing.T) {
	a := actionOf(t, mustPlan(t, fixture(), fixtureReport(), PlanOptions{Fixes: []Fix{FixEgress}}), ActionRestrictSGEgress)
	if a.Blocked == "" || !slices.Equal(a.Unblock, []string{"--allow-shared"}) {
		t.Errorf("blocked %q unblock %v, want --allow-shared", a.Blocked, a.Unblock)
	}
}

// TestPlansWithCandidatesAreDeterministic: same inputs, same bytes, same
// hash, for a plan with blocked and ready recreates over several VPCs.
func TestPlansWithCandidatesAreDeterministic(t *testing.T) {
	build := func() []byte {
		inv, rep := blockedFixture()
		hub := hubFixture()
		inv.Regions[0].Subnets = hub.Regions[0].Subnets
		inv.Regions[0].RouteTables = hub.Regions[0].RouteTables
		var buf bytes.Buffer
		if err := mustPlan(t, inv, rep, PlanOptions{AllowShared: true}).Encode(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	first := build()
	for range 5 {
		if again := build(); !bytes.Equal(first, again) {
			t.Fatalf("two plans from the same inputs differ:\n%s\n---\n%s", first, again)
		}
	}
	if !bytes.Contains(first, []byte(`"candidates"`)) || !bytes.Contains(first, []byte(`"unblock"`)) {
		t.Errorf("plan JSON lacks candidates or unblock:\n%s", first)
	}
}
