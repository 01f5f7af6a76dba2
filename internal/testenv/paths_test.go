package testenv

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// pathReader reads an estate back the way a scanner would: plain EC2
// describes, through the proxy that fixes moto's transit gateway answers.
type pathReader struct {
	t   *testing.T
	ec2 *ec2.Client
}

func (r pathReader) tgwRoutes(table string) map[string]ec2types.TransitGatewayRoute {
	r.t.Helper()
	routes, err := TransitGatewayRoutes(context.Background(), r.ec2, table)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]ec2types.TransitGatewayRoute{}
	for _, rt := range routes {
		out[aws.ToString(rt.DestinationCidrBlock)] = rt
	}
	return out
}

// tgwRouteTo returns the state of table's route to dest and its target
// attachments.
func (r pathReader) tgwRouteTo(table, dest string) (ec2types.TransitGatewayRouteState, []string) {
	r.t.Helper()
	rt, ok := r.tgwRoutes(table)[dest]
	if !ok {
		return "", nil
	}
	var targets []string
	for _, a := range rt.TransitGatewayAttachments {
		targets = append(targets, aws.ToString(a.TransitGatewayAttachmentId))
	}
	return rt.State, targets
}

func (r pathReader) association(attachment string) string {
	r.t.Helper()
	a, err := tgwAttachment(context.Background(), r.ec2, attachment)
	if err != nil {
		r.t.Fatal(err)
	}
	if a.Association == nil {
		return ""
	}
	return aws.ToString(a.Association.TransitGatewayRouteTableId)
}

func (r pathReader) nat(id string) ec2types.NatGateway {
	r.t.Helper()
	out, err := r.ec2.DescribeNatGateways(context.Background(), &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{id}})
	if err != nil || len(out.NatGateways) != 1 {
		r.t.Fatalf("describe %s: %v", id, err)
	}
	return out.NatGateways[0]
}

// attachedIGWs are the internet gateways attached to vpc.
func (r pathReader) attachedIGWs(vpc string) []string {
	r.t.Helper()
	out, err := r.ec2.DescribeInternetGateways(context.Background(), &ec2.DescribeInternetGatewaysInput{Filters: filters("attachment.vpc-id", vpc)})
	if err != nil {
		r.t.Fatal(err)
	}
	var ids []string
	for _, g := range out.InternetGateways {
		for _, a := range g.Attachments {
			if aws.ToString(a.VpcId) == vpc && (a.State == ec2types.AttachmentStatusAttached || string(a.State) == "available") {
				ids = append(ids, aws.ToString(g.InternetGatewayId))
			}
		}
	}
	return ids
}

func (r pathReader) subnet(id string) ec2types.Subnet {
	r.t.Helper()
	out, err := r.ec2.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{SubnetIds: []string{id}})
	if err != nil || len(out.Subnets) != 1 {
		r.t.Fatalf("describe %s: %v", id, err)
	}
	return out.Subnets[0]
}

func (r pathReader) vpcCIDR(id string) string {
	r.t.Helper()
	out, err := r.ec2.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{VpcIds: []string{id}})
	if err != nil || len(out.Vpcs) != 1 {
		r.t.Fatalf("describe %s: %v", id, err)
	}
	return aws.ToString(out.Vpcs[0].CidrBlock)
}

func (r pathReader) egressRefs(sg string) (cidrs, prefixLists, groups []string) {
	for _, p := range egressOf(r.t, r.ec2, sg) {
		for _, x := range p.IpRanges {
			cidrs = append(cidrs, aws.ToString(x.CidrIp))
		}
		for _, x := range p.PrefixListIds {
			prefixLists = append(prefixLists, aws.ToString(x.PrefixListId))
		}
		for _, x := range p.UserIdGroupPairs {
			groups = append(groups, aws.ToString(x.GroupId))
		}
	}
	return cidrs, prefixLists, groups
}

// scenarioChecks prove, per scenario, the facts its verdict rests on.
var scenarioChecks = map[string]func(t *testing.T, r pathReader, e PathEstate){
	"hub-and-spoke-egress-nat": func(t *testing.T, r pathReader, e PathEstate) {
		checkHub(t, r, e)
		if state, to := r.tgwRouteTo(e.SpokeTGWRouteTableID, "0.0.0.0/0"); state != "active" || !slices.Equal(to, []string{e.EgressAttachmentID}) {
			t.Errorf("spoke TGW route 0.0.0.0/0: %s -> %v, want active -> %s", state, to, e.EgressAttachmentID)
		}
		if got := routeTo(t, r.ec2, e.EgressAttachmentRouteTableID, "0.0.0.0/0"); got != e.NATGatewayID {
			t.Errorf("egress attachment subnet 0.0.0.0/0 -> %q, want %s", got, e.NATGatewayID)
		}
		checkWorkingNAT(t, r, e, e.EgressVPCID)
	},
	"tgw-blackhole-default": func(t *testing.T, r pathReader, e PathEstate) {
		checkHub(t, r, e)
		if state, to := r.tgwRouteTo(e.SpokeTGWRouteTableID, "0.0.0.0/0"); state != "blackhole" || len(to) != 0 {
			t.Errorf("spoke TGW route 0.0.0.0/0: %s -> %v, want a blackhole", state, to)
		}
		checkWorkingNAT(t, r, e, e.EgressVPCID)
	},
	"tgw-private-routes-only": func(t *testing.T, r pathReader, e PathEstate) {
		checkHub(t, r, e)
		routes := r.tgwRoutes(e.SpokeTGWRouteTableID)
		if len(routes) != 1 || routes["10.0.0.0/8"].State != "active" {
			t.Errorf("spoke TGW routes = %v, want only 10.0.0.0/8", routes)
		}
		checkWorkingNAT(t, r, e, e.EgressVPCID)
	},
	"egress-attachment-subnet-no-default": func(t *testing.T, r pathReader, e PathEstate) {
		checkHub(t, r, e)
		if state, to := r.tgwRouteTo(e.SpokeTGWRouteTableID, "0.0.0.0/0"); state != "active" || !slices.Equal(to, []string{e.EgressAttachmentID}) {
			t.Errorf("spoke TGW route 0.0.0.0/0: %s -> %v, want active -> %s", state, to, e.EgressAttachmentID)
		}
		if got := routeTo(t, r.ec2, e.EgressAttachmentRouteTableID, "0.0.0.0/0"); got != "" {
			t.Errorf("egress attachment subnet has a default route -> %s", got)
		}
		if got := routeTo(t, r.ec2, e.EgressAttachmentRouteTableID, "10.0.0.0/8"); got != e.TransitGatewayID {
			t.Errorf("egress attachment subnet 10.0.0.0/8 -> %q, want %s", got, e.TransitGatewayID)
		}
		checkWorkingNAT(t, r, e, e.EgressVPCID)
	},
	"nat-subnet-without-igw-route": func(t *testing.T, r pathReader, e PathEstate) {
		checkLocalNAT(t, r, e)
		if got := routeTo(t, r.ec2, e.NATRouteTableID, "0.0.0.0/0"); got != "" {
			t.Errorf("NAT subnet has a default route -> %s", got)
		}
		if got := r.attachedIGWs(e.VPCID); !slices.Equal(got, []string{e.InternetGatewayID}) {
			t.Errorf("attached internet gateways = %v, want %s: the route alone must be missing", got, e.InternetGatewayID)
		}
	},
	"nat-igw-detached": func(t *testing.T, r pathReader, e PathEstate) {
		checkLocalNAT(t, r, e)
		if got := routeTo(t, r.ec2, e.NATRouteTableID, "0.0.0.0/0"); got != e.InternetGatewayID {
			t.Errorf("NAT subnet 0.0.0.0/0 -> %q, want the detached %s", got, e.InternetGatewayID)
		}
		if got := r.attachedIGWs(e.VPCID); len(got) != 0 {
			t.Errorf("internet gateways still attached: %v", got)
		}
	},
	"nat-subnet-nacl-denies-egress": func(t *testing.T, r pathReader, e PathEstate) {
		checkWorkingNAT(t, r, e, e.VPCID)
		if acl, err := SubnetNetworkACL(context.Background(), r.ec2, e.NATSubnetID); err != nil || acl != e.NetworkACLID {
			t.Errorf("ACL of the NAT subnet = %s (%v), want %s", acl, err, e.NetworkACLID)
		}
		if acl, _ := SubnetNetworkACL(context.Background(), r.ec2, e.SubnetID); acl == e.NetworkACLID {
			t.Errorf("the notebook's own subnet has the denying ACL: the test would not be about the NAT hop")
		}
		out, err := r.ec2.DescribeNetworkAcls(context.Background(), &ec2.DescribeNetworkAclsInput{NetworkAclIds: []string{e.NetworkACLID}})
		if err != nil || len(out.NetworkAcls) != 1 {
			t.Fatalf("describe %s: %v", e.NetworkACLID, err)
		}
		denies := false
		for _, x := range out.NetworkAcls[0].Entries {
			if aws.ToBool(x.Egress) && aws.ToInt32(x.RuleNumber) == 100 && x.RuleAction == ec2types.RuleActionDeny && aws.ToString(x.CidrBlock) == "0.0.0.0/0" {
				denies = true
			}
		}
		if !denies {
			t.Errorf("%s has no outbound deny of 0.0.0.0/0 at 100: %+v", e.NetworkACLID, out.NetworkAcls[0].Entries)
		}
	},
	"default-halves-to-deleted-nat": func(t *testing.T, r pathReader, e PathEstate) {
		checkLocalNAT(t, r, e)
		for _, half := range []string{"0.0.0.0/1", "128.0.0.0/1"} {
			if got := routeTo(t, r.ec2, e.RouteTableID, half); got != e.DeletedNATGatewayID {
				t.Errorf("%s -> %q, want the deleted %s", half, got, e.DeletedNATGatewayID)
			}
		}
		if g := r.nat(e.DeletedNATGatewayID); g.State != ec2types.NatGatewayStateDeleted {
			t.Errorf("%s is %s, want deleted", e.DeletedNATGatewayID, g.State)
		}
	},
	"sg-prefix-list-open": func(t *testing.T, r pathReader, e PathEstate) {
		checkLocalNAT(t, r, e)
		checkPrefixListOnly(t, r, e, "0.0.0.0/0")
	},
	"sg-prefix-list-private": func(t *testing.T, r pathReader, e PathEstate) {
		checkLocalNAT(t, r, e)
		checkPrefixListOnly(t, r, e, "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
	},
	"sg-egress-to-group-only": func(t *testing.T, r pathReader, e PathEstate) {
		checkLocalNAT(t, r, e)
		cidrs, pls, groups := r.egressRefs(e.SecurityGroupID)
		if len(cidrs) != 0 || len(pls) != 0 || !slices.Equal(groups, []string{e.PeerSecurityGroupID}) {
			t.Errorf("egress of %s: CIDRs %v prefix lists %v groups %v, want only %s", e.SecurityGroupID, cidrs, pls, groups, e.PeerSecurityGroupID)
		}
	},
	"private-nat": func(t *testing.T, r pathReader, e PathEstate) {
		if got := routeTo(t, r.ec2, e.RouteTableID, "0.0.0.0/0"); got != e.NATGatewayID {
			t.Errorf("notebook subnet 0.0.0.0/0 -> %q, want %s", got, e.NATGatewayID)
		}
		if g := r.nat(e.NATGatewayID); g.ConnectivityType != ec2types.ConnectivityTypePrivate || g.State != ec2types.NatGatewayStateAvailable {
			t.Errorf("%s: connectivity %s state %s, want an available private NAT", e.NATGatewayID, g.ConnectivityType, g.State)
		}
		// Its subnet does route to an attached internet gateway: only the
		// private connectivity keeps it off the internet.
		if got := routeTo(t, r.ec2, e.NATRouteTableID, "0.0.0.0/0"); got != e.InternetGatewayID {
			t.Errorf("NAT subnet 0.0.0.0/0 -> %q, want %s", got, e.InternetGatewayID)
		}
		if got := r.attachedIGWs(e.VPCID); !slices.Equal(got, []string{e.InternetGatewayID}) {
			t.Errorf("attached internet gateways = %v", got)
		}
	},
	"replaced-main-route-table": func(t *testing.T, r pathReader, e PathEstate) {
		if rtb, _, _ := subnetRouteTable(context.Background(), r.ec2, e.SubnetID); rtb != "" {
			t.Errorf("notebook subnet has an explicit route table %s", rtb)
		}
		if got := mainTable(t, r.ec2, e.VPCID); got != e.RouteTableID {
			t.Errorf("main route table = %s, want the replacement %s", got, e.RouteTableID)
		}
		checkWorkingNAT(t, r, e, e.VPCID)
		if got := routeTo(t, r.ec2, e.RouteTableID, "0.0.0.0/0"); got != e.NATGatewayID {
			t.Errorf("main table 0.0.0.0/0 -> %q, want %s", got, e.NATGatewayID)
		}
	},
	"peering-to-vpc-with-igw": func(t *testing.T, r pathReader, e PathEstate) {
		if got := routeTo(t, r.ec2, e.RouteTableID, "0.0.0.0/0"); got != e.PeeringConnectionID {
			t.Errorf("notebook subnet 0.0.0.0/0 -> %q, want %s", got, e.PeeringConnectionID)
		}
		out, err := r.ec2.DescribeVpcPeeringConnections(context.Background(), &ec2.DescribeVpcPeeringConnectionsInput{VpcPeeringConnectionIds: []string{e.PeeringConnectionID}})
		if err != nil || len(out.VpcPeeringConnections) != 1 || out.VpcPeeringConnections[0].Status.Code != ec2types.VpcPeeringConnectionStateReasonCodeActive {
			t.Errorf("peering %s is not active: %+v %v", e.PeeringConnectionID, out, err)
		}
		checkWorkingNAT(t, r, e, e.PeerVPCID)
	},
}

// checkHub: the notebook's subnet routes 0.0.0.0/0 to the transit
// gateway, its VPC's attachment (subnet in the notebook's zone) is
// associated with the spoke table, the egress attachment with the egress
// table, which routes the spoke back.
func checkHub(t *testing.T, r pathReader, e PathEstate) {
	t.Helper()
	if got := routeTo(t, r.ec2, e.RouteTableID, "0.0.0.0/0"); got != e.TransitGatewayID {
		t.Errorf("notebook subnet 0.0.0.0/0 -> %q, want %s", got, e.TransitGatewayID)
	}
	if got := r.association(e.SpokeAttachmentID); got != e.SpokeTGWRouteTableID {
		t.Errorf("spoke attachment associated with %s, want %s", got, e.SpokeTGWRouteTableID)
	}
	if got := r.association(e.EgressAttachmentID); got != e.EgressTGWRouteTableID {
		t.Errorf("egress attachment associated with %s, want %s", got, e.EgressTGWRouteTableID)
	}
	vpcAtt, err := r.ec2.DescribeTransitGatewayVpcAttachments(context.Background(), &ec2.DescribeTransitGatewayVpcAttachmentsInput{
		TransitGatewayAttachmentIds: []string{e.SpokeAttachmentID, e.EgressAttachmentID}})
	if err != nil || len(vpcAtt.TransitGatewayVpcAttachments) != 2 {
		t.Fatalf("describe VPC attachments: %v", err)
	}
	for _, a := range vpcAtt.TransitGatewayVpcAttachments {
		want := map[string][]string{e.SpokeAttachmentID: {e.VPCID, e.SpokeAttachmentSubnetID}, e.EgressAttachmentID: {e.EgressVPCID, e.EgressAttachmentSubnetID}}[aws.ToString(a.TransitGatewayAttachmentId)]
		if aws.ToString(a.VpcId) != want[0] || !slices.Equal(a.SubnetIds, want[1:]) {
			t.Errorf("attachment %s: vpc %s subnets %v, want %v", aws.ToString(a.TransitGatewayAttachmentId), aws.ToString(a.VpcId), a.SubnetIds, want)
		}
		for _, s := range a.SubnetIds {
			if az := aws.ToString(r.subnet(s).AvailabilityZone); az != pathZone {
				t.Errorf("attachment subnet %s in %s, want %s", s, az, pathZone)
			}
		}
	}
	back := r.tgwRoutes(e.EgressTGWRouteTableID)
	spokeCIDR := r.vpcCIDR(e.VPCID)
	if rt, ok := back[spokeCIDR]; !ok || len(rt.TransitGatewayAttachments) != 1 || aws.ToString(rt.TransitGatewayAttachments[0].TransitGatewayAttachmentId) != e.SpokeAttachmentID {
		t.Errorf("egress TGW table has no route back to %s via %s: %+v", spokeCIDR, e.SpokeAttachmentID, back)
	}
}

// checkLocalNAT: the notebook subnet routes 0.0.0.0/0 to the NAT.
func checkLocalNAT(t *testing.T, r pathReader, e PathEstate) {
	t.Helper()
	if got := routeTo(t, r.ec2, e.RouteTableID, "0.0.0.0/0"); got != e.NATGatewayID {
		t.Errorf("notebook subnet 0.0.0.0/0 -> %q, want %s", got, e.NATGatewayID)
	}
	if g := r.nat(e.NATGatewayID); g.State != ec2types.NatGatewayStateAvailable || g.ConnectivityType != ec2types.ConnectivityTypePublic ||
		aws.ToString(g.SubnetId) != e.NATSubnetID {
		t.Errorf("%s: state %s connectivity %s subnet %s, want an available public NAT in %s", e.NATGatewayID, g.State, g.ConnectivityType, aws.ToString(g.SubnetId), e.NATSubnetID)
	}
}

// checkWorkingNAT: the NAT is public and available, and its subnet
// routes 0.0.0.0/0 to an internet gateway attached to vpc.
func checkWorkingNAT(t *testing.T, r pathReader, e PathEstate, vpc string) {
	t.Helper()
	if g := r.nat(e.NATGatewayID); g.State != ec2types.NatGatewayStateAvailable || g.ConnectivityType != ec2types.ConnectivityTypePublic ||
		aws.ToString(g.SubnetId) != e.NATSubnetID {
		t.Errorf("%s: state %s connectivity %s subnet %s", e.NATGatewayID, g.State, g.ConnectivityType, aws.ToString(g.SubnetId))
	}
	if got := routeTo(t, r.ec2, e.NATRouteTableID, "0.0.0.0/0"); got != e.InternetGatewayID {
		t.Errorf("NAT subnet 0.0.0.0/0 -> %q, want %s", got, e.InternetGatewayID)
	}
	if got := r.attachedIGWs(vpc); !slices.Equal(got, []string{e.InternetGatewayID}) {
		t.Errorf("internet gateways attached to %s = %v, want %s", vpc, got, e.InternetGatewayID)
	}
}

func checkPrefixListOnly(t *testing.T, r pathReader, e PathEstate, entries ...string) {
	t.Helper()
	if got := prefixListEntries(t, r.ec2, e.PrefixListID); !slices.Equal(got, sorted(entries...)) {
		t.Errorf("entries of %s = %v, want %v", e.PrefixListID, got, entries)
	}
	cidrs, pls, groups := r.egressRefs(e.SecurityGroupID)
	if len(cidrs) != 0 || len(groups) != 0 || !slices.Equal(pls, []string{e.PrefixListID}) {
		t.Errorf("egress of %s: CIDRs %v prefix lists %v groups %v, want only %s", e.SecurityGroupID, cidrs, pls, groups, e.PrefixListID)
	}
}

// Every scenario builds, side by side in one region, and is what it
// claims: read back with plain EC2 describes.
func TestPathScenariosBuildWhatTheyClaim(t *testing.T) {
	m := shared.ForTest(t)
	cfg := Config(m.URL())
	checkPathScenarios(t, m, PathClients{EC2: ec2.NewFromConfig(cfg), SageMaker: sagemaker.NewFromConfig(cfg)})
}

// The scenarios survive a lost answer on the first call of every kind
// they make, like the builders they are made of.
func TestPathScenariosSurviveLostAnswers(t *testing.T) {
	m := shared.ForTest(t)
	lossy := NewFaultProxy(t, m.URL())
	loseEachFirstAnswer(lossy)
	cfg := Config(lossy.URL())
	checkPathScenarios(t, m, PathClients{EC2: ec2.NewFromConfig(cfg), SageMaker: sagemaker.NewFromConfig(cfg)})
	if lost := lossy.Injected("*"); lost < 30 {
		t.Errorf("only %d answers were lost", lost)
	}
}

// checkPathScenarios builds every scenario with c and checks each.
func checkPathScenarios(t *testing.T, m *Moto, c PathClients) {
	ctx := context.Background()
	ledger := NewTransitGatewayLedger()
	p := NewFaultProxy(t, m.URL())
	p.Add(MotoTransitGatewayFixes(ledger)...)
	r := pathReader{ec2: ec2.NewFromConfig(Config(p.URL()))}

	scenarios := PathScenarios()
	if len(scenarios) != len(scenarioChecks) {
		t.Errorf("%d scenarios, %d checks", len(scenarios), len(scenarioChecks))
	}
	names := map[string]bool{}
	for i, s := range scenarios {
		t.Run(s.Name, func(t *testing.T) {
			if names[s.Name] {
				t.Fatalf("two scenarios named %s", s.Name)
			}
			names[s.Name] = true
			e, err := s.Build(ctx, c, ledger, 20+2*i)
			if err != nil {
				t.Fatal(err)
			}
			if e.Name != s.Name {
				t.Errorf("estate named %q", e.Name)
			}
			if e.Want.Status == "" || e.Want.InternetPath == "" || (e.Want.Status == "FAIL") != (e.Want.ExitCode == 1) {
				t.Errorf("verdict %+v", e.Want)
			}
			for _, h := range e.Deciding {
				if h.Kind == "" || h.ResourceID == "" {
					t.Errorf("deciding hop %+v names nothing", h)
				}
			}
			r := r
			r.t = t
			checkScenarioNotebook(t, r, c.SageMaker, e)
			check, ok := scenarioChecks[s.Name]
			if !ok {
				t.Fatalf("no check for scenario %s", s.Name)
			}
			check(t, r, e)
		})
	}
}

// checkScenarioNotebook: the notebook is Disabled, in the scenario's
// subnet (private, in the scenario's VPC) with the scenario's group.
func checkScenarioNotebook(t *testing.T, r pathReader, sm *sagemaker.Client, e PathEstate) {
	t.Helper()
	d, err := sm.DescribeNotebookInstance(context.Background(), &sagemaker.DescribeNotebookInstanceInput{NotebookInstanceName: aws.String(e.Name)})
	if err != nil {
		t.Fatal(err)
	}
	if string(d.DirectInternetAccess) != "Disabled" || aws.ToString(d.SubnetId) != e.SubnetID ||
		!slices.Equal(d.SecurityGroups, []string{e.SecurityGroupID}) || aws.ToString(d.NotebookInstanceArn) != e.NotebookARN {
		t.Errorf("notebook %s: dia %s subnet %s groups %v arn %s", e.Name, d.DirectInternetAccess, aws.ToString(d.SubnetId), d.SecurityGroups, aws.ToString(d.NotebookInstanceArn))
	}
	s := r.subnet(e.SubnetID)
	if aws.ToString(s.VpcId) != e.VPCID || aws.ToBool(s.MapPublicIpOnLaunch) {
		t.Errorf("notebook subnet %s: vpc %s MapPublicIpOnLaunch %v", e.SubnetID, aws.ToString(s.VpcId), aws.ToBool(s.MapPublicIpOnLaunch))
	}
	if rtb, _, _ := subnetRouteTable(context.Background(), r.ec2, e.SubnetID); rtb != e.RouteTableID && rtb != "" {
		t.Errorf("notebook subnet uses %s, want %s", rtb, e.RouteTableID)
	}
}

// The hub-and-spoke estate of the call-budget test: every spoke attached
// to the one transit gateway, associated with the spoke table, and
// routed back from the egress table; notebooks spread over the spokes.
func TestBuildHubAndSpokeSpreadsNotebooksOverSpokes(t *testing.T) {
	m := shared.ForTest(t)
	ctx := context.Background()
	cfg := Config(m.URL())
	c := PathClients{EC2: ec2.NewFromConfig(cfg), SageMaker: sagemaker.NewFromConfig(cfg)}
	ledger := NewTransitGatewayLedger()
	h, err := BuildHubAndSpoke(ctx, c, ledger, HubAndSpokeOptions{Octet: 100, Spokes: 3, NotebooksPerSpoke: 2, NamePrefix: "budget",
		PrefixList: []string{"203.0.113.0/24"}})
	if err != nil {
		t.Fatal(err)
	}
	p := NewFaultProxy(t, m.URL())
	p.Add(MotoTransitGatewayFixes(ledger)...)
	r := pathReader{t: t, ec2: ec2.NewFromConfig(Config(p.URL()))}
	if len(h.Spokes) != 3 {
		t.Fatalf("%d spokes", len(h.Spokes))
	}
	var names []string
	for i, s := range h.Spokes {
		names = append(names, s.Notebooks...)
		if got := r.association(s.AttachmentID); got != h.SpokeTableID {
			t.Errorf("spoke %d attachment associated with %s", i, got)
		}
		e := PathEstate{Name: s.Notebooks[0], NotebookARN: s.NotebookARNs[0], VPCID: s.VPCID, SubnetID: s.SubnetID,
			RouteTableID: s.RouteTableID, SecurityGroupID: s.SecurityGroupID}
		checkScenarioNotebook(t, r, c.SageMaker, e)
		if _, pls, _ := r.egressRefs(s.SecurityGroupID); !slices.Equal(pls, []string{h.PrefixListID}) {
			t.Errorf("spoke %d group references %v, want %s", i, pls, h.PrefixListID)
		}
	}
	if want := []string{"budget-s0-000", "budget-s0-001", "budget-s1-000", "budget-s1-001", "budget-s2-000", "budget-s2-001"}; !slices.Equal(names, want) {
		t.Errorf("notebooks = %v, want %v", names, want)
	}
	back := r.tgwRoutes(h.EgressTableID)
	if len(back) != 3 {
		t.Errorf("egress table routes = %v, want one per spoke", back)
	}
	if state, to := r.tgwRouteTo(h.SpokeTableID, "0.0.0.0/0"); state != "active" || !slices.Equal(to, []string{h.EgressAttachmentID}) {
		t.Errorf("spoke table 0.0.0.0/0: %s -> %v", state, to)
	}
}
