package testenv

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// routeTo returns the target of rtb's route to dest, or "".
func routeTo(t *testing.T, c *ec2.Client, rtbID, dest string) string {
	t.Helper()
	out, err := c.DescribeRouteTables(context.Background(), &ec2.DescribeRouteTablesInput{RouteTableIds: []string{rtbID}})
	if err != nil || len(out.RouteTables) != 1 {
		t.Fatalf("describe %s: %v", rtbID, err)
	}
	for _, r := range out.RouteTables[0].Routes {
		if aws.ToString(r.DestinationCidrBlock) == dest || aws.ToString(r.DestinationPrefixListId) == dest ||
			aws.ToString(r.DestinationIpv6CidrBlock) == dest {
			for _, id := range []*string{r.GatewayId, r.NatGatewayId, r.TransitGatewayId, r.VpcPeeringConnectionId,
				r.NetworkInterfaceId, r.EgressOnlyInternetGatewayId, r.InstanceId} {
				if aws.ToString(id) != "" {
					return aws.ToString(id)
				}
			}
			return "(no target)"
		}
	}
	return ""
}

func TestCreateNetworkLaysOutPublicPrivateAndIsolatedSubnets(t *testing.T) {
	m := shared.ForTest(t)
	ctx := context.Background()
	c := ec2.NewFromConfig(Config(m.URL()))
	n, err := CreateNetwork(ctx, c, "10.1.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	if got := routeTo(t, c, n.PublicRouteTableID, "0.0.0.0/0"); got != n.InternetGatewayID {
		t.Errorf("public default route -> %q, want %s", got, n.InternetGatewayID)
	}
	if got := routeTo(t, c, n.PrivateRouteTableID, "0.0.0.0/0"); got != n.NATGatewayID {
		t.Errorf("private default route -> %q, want %s", got, n.NATGatewayID)
	}
	if got := routeTo(t, c, n.IsolatedRouteTableID, "0.0.0.0/0"); got != "" {
		t.Errorf("isolated subnet has a default route -> %q", got)
	}
	if got := routeTo(t, c, n.MainRouteTableID, "10.1.0.0/16"); got != "local" {
		t.Errorf("main table local route -> %q", got)
	}
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{n.PublicSubnetID, n.PrivateSubnetID, n.IsolatedSubnetID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subnets.Subnets {
		want := aws.ToString(s.SubnetId) == n.PublicSubnetID
		if aws.ToBool(s.MapPublicIpOnLaunch) != want {
			t.Errorf("%s MapPublicIpOnLaunch = %v, want %v", aws.ToString(s.SubnetId), aws.ToBool(s.MapPublicIpOnLaunch), want)
		}
		if aws.ToString(s.VpcId) != n.VPCID {
			t.Errorf("%s is in %s", aws.ToString(s.SubnetId), aws.ToString(s.VpcId))
		}
	}
	nat, err := c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{n.NATGatewayID}})
	if err != nil || len(nat.NatGateways) != 1 {
		t.Fatalf("describe NAT: %v", err)
	}
	if aws.ToString(nat.NatGateways[0].SubnetId) != n.PublicSubnetID || nat.NatGateways[0].State != ec2types.NatGatewayStateAvailable {
		t.Errorf("NAT gateway %+v", nat.NatGateways[0])
	}
	if err := DeleteNATGateway(ctx, c, n.NATGatewayID); err != nil {
		t.Fatal(err)
	}
	nat, _ = c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{n.NATGatewayID}})
	if len(nat.NatGateways) != 1 || nat.NatGateways[0].State != ec2types.NatGatewayStateDeleted {
		t.Errorf("deleted NAT gateway: %+v", nat.NatGateways)
	}
}

func TestRouteTargetsSecurityGroupsAndACLs(t *testing.T) {
	m := shared.ForTest(t)
	ctx := context.Background()
	c := ec2.NewFromConfig(Config(m.URL()))
	n, err := CreateNetwork(ctx, c, "10.2.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	peerVPC, err := CreateVPC(ctx, c, "10.3.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	tgw, err := CreateTransitGateway(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	pcx, err := CreatePeering(ctx, c, n.VPCID, peerVPC)
	if err != nil {
		t.Fatal(err)
	}
	eni, err := CreateNetworkInterface(ctx, c, n.PublicSubnetID)
	if err != nil {
		t.Fatal(err)
	}
	vpce, pl, err := CreateS3GatewayEndpoint(ctx, c, Region, n.VPCID, n.IsolatedRouteTableID)
	if err != nil {
		t.Fatal(err)
	}
	for dest, target := range map[string]string{"0.0.0.0/1": tgw, "128.0.0.0/1": pcx, "192.168.0.0/16": eni} {
		if err := AddRoute(ctx, c, n.IsolatedRouteTableID, dest, target); err != nil {
			t.Fatal(err)
		}
		if got := routeTo(t, c, n.IsolatedRouteTableID, dest); got != target {
			t.Errorf("route %s -> %q, want %s", dest, got, target)
		}
	}
	if pl == "" {
		t.Fatal("no S3 prefix list ID")
	}
	if got := routeTo(t, c, n.IsolatedRouteTableID, pl); got != vpce {
		t.Errorf("route %s -> %q, want the endpoint %s", pl, got, vpce)
	}

	sg, err := CreateSecurityGroup(ctx, c, n.VPCID, SecurityGroup{
		Name:                "locked",
		RevokeDefaultEgress: true,
		Ingress:             []Perm{TCP(443, "10.0.0.0/8")},
		Egress:              []Perm{TCP(443, "52.0.0.0/8", "2600::/16"), {Protocol: "-1", PrefixLists: []string{pl}, Description: "s3"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{sg}})
	if err != nil || len(out.SecurityGroups) != 1 {
		t.Fatalf("describe %s: %v", sg, err)
	}
	var egressCIDRs []string
	for _, p := range out.SecurityGroups[0].IpPermissionsEgress {
		for _, r := range p.IpRanges {
			egressCIDRs = append(egressCIDRs, aws.ToString(r.CidrIp))
		}
	}
	if slices.Contains(egressCIDRs, "0.0.0.0/0") || !slices.Contains(egressCIDRs, "52.0.0.0/8") {
		t.Errorf("egress CIDRs after revoking the default = %v", egressCIDRs)
	}

	acl, err := CreateNetworkACL(ctx, c, n.VPCID, []ACLRule{
		{Number: 100, Egress: true, Protocol: "-1", CIDR: "0.0.0.0/0", Allow: false},
		{Number: 200, Egress: true, Protocol: "6", CIDR: "10.0.0.0/8", Allow: true, From: 443, To: 443},
	}, n.PrivateSubnetID)
	if err != nil {
		t.Fatal(err)
	}
	acls, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{NetworkAclIds: []string{acl}})
	if err != nil || len(acls.NetworkAcls) != 1 {
		t.Fatalf("describe %s: %v", acl, err)
	}
	var assoc []string
	for _, a := range acls.NetworkAcls[0].Associations {
		assoc = append(assoc, aws.ToString(a.SubnetId))
	}
	if !slices.Equal(assoc, []string{n.PrivateSubnetID}) {
		t.Errorf("ACL associations = %v, want [%s]", assoc, n.PrivateSubnetID)
	}
	var deny bool
	for _, e := range acls.NetworkAcls[0].Entries {
		if aws.ToInt32(e.RuleNumber) == 100 && e.RuleAction == ec2types.RuleActionDeny && aws.ToBool(e.Egress) {
			deny = true
		}
	}
	if !deny {
		t.Errorf("deny rule 100 missing: %+v", acls.NetworkAcls[0].Entries)
	}

	ip, err := AssociatePublicIP(ctx, c, eni)
	if err != nil {
		t.Fatal(err)
	}
	enis, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eni}})
	if err != nil || len(enis.NetworkInterfaces) != 1 {
		t.Fatalf("describe %s: %v", eni, err)
	}
	if a := enis.NetworkInterfaces[0].Association; a == nil || aws.ToString(a.PublicIp) != ip {
		t.Errorf("ENI association = %+v, want public IP %s", a, ip)
	}
}

func TestCreateNotebookKeepsNetworkSettings(t *testing.T) {
	m := shared.ForTest(t)
	ctx := context.Background()
	cfg := Config(m.URL())
	c := ec2.NewFromConfig(cfg)
	sm := sagemaker.NewFromConfig(cfg)
	n, err := CreateNetwork(ctx, c, "10.4.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	sg, err := CreateSecurityGroup(ctx, c, n.VPCID, SecurityGroup{Name: "nb"})
	if err != nil {
		t.Fatal(err)
	}
	arn, err := CreateNotebook(ctx, sm, Notebook{
		Name: "private-nb", SubnetID: n.PrivateSubnetID, SecurityGroupIDs: []string{sg},
		DirectInternetAccess: "Disabled", RootAccess: "Disabled", Tags: map[string]string{"team": "ml"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateNotebook(ctx, sm, Notebook{Name: "default-nb"}); err != nil {
		t.Fatal(err)
	}
	d, err := sm.DescribeNotebookInstance(ctx, &sagemaker.DescribeNotebookInstanceInput{NotebookInstanceName: aws.String("private-nb")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.NotebookInstanceArn) != arn || string(d.DirectInternetAccess) != "Disabled" ||
		aws.ToString(d.SubnetId) != n.PrivateSubnetID || !slices.Equal(d.SecurityGroups, []string{sg}) ||
		string(d.RootAccess) != "Disabled" {
		t.Errorf("described notebook = arn %s dia %s subnet %s sgs %v root %s",
			aws.ToString(d.NotebookInstanceArn), d.DirectInternetAccess, aws.ToString(d.SubnetId), d.SecurityGroups, d.RootAccess)
	}
	def, err := sm.DescribeNotebookInstance(ctx, &sagemaker.DescribeNotebookInstanceInput{NotebookInstanceName: aws.String("default-nb")})
	if err != nil {
		t.Fatal(err)
	}
	if string(def.DirectInternetAccess) != "Enabled" || def.SubnetId != nil {
		t.Errorf("default notebook: DirectInternetAccess %q subnet %v, want the API default Enabled and no subnet",
			def.DirectInternetAccess, def.SubnetId)
	}
	tags, err := sm.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(arn)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "ml" {
		t.Errorf("tags = %+v, %v", tags, err)
	}
}

// A create whose answer is lost is retried by the SDK and runs twice in
// moto; the second run fails on the address the first one associated.
// CreateNATGateway must return the gateway the first run made.
func TestCreateNATGatewaySurvivesALostResponse(t *testing.T) {
	m := shared.ForTest(t)
	ctx := context.Background()
	direct := ec2.NewFromConfig(Config(m.URL()))
	vpc, err := CreateVPC(ctx, direct, "10.2.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := direct.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String("10.2.0.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	subnet := aws.ToString(sub.Subnet.SubnetId)
	p := NewFaultProxy(t, m.URL())
	p.Add(Rule{Op: "ec2:CreateNatGateway", Limit: 1, Fault: LoseResponse()})
	id, err := CreateNATGateway(ctx, ec2.NewFromConfig(Config(p.URL())), subnet)
	if err != nil {
		t.Fatal(err)
	}
	if n := p.Calls("ec2:CreateNatGateway"); n != 2 {
		t.Fatalf("CreateNatGateway reached moto %d times, want 2 (the lost one and the retry)", n)
	}
	out, err := direct.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{id}})
	if err != nil || len(out.NatGateways) != 1 {
		t.Fatalf("describe %s: %v", id, err)
	}
	g := out.NatGateways[0]
	if aws.ToString(g.SubnetId) != subnet || len(g.NatGatewayAddresses) != 1 || aws.ToString(g.NatGatewayAddresses[0].PublicIp) == "" {
		t.Errorf("returned gateway %s is not the one holding the new address: %+v", id, g)
	}
}

// loseEachFirstAnswer makes the proxy lose the answer of the first call of
// every operation that changes something, so that the SDK retries each.
func loseEachFirstAnswer(p *FaultProxy) {
	seen := map[string]bool{}
	p.Add(Rule{Op: "*", Fault: LoseResponse(), When: func(c Call) bool {
		for _, read := range []string{"Describe", "List", "Get"} {
			if strings.HasPrefix(c.Operation, read) {
				return false
			}
		}
		if seen[c.Op()] {
			return false
		}
		seen[c.Op()] = true
		return true
	}})
}

// The estate builders survive a lost answer on every kind of call they
// make: CI once failed when one create was retried after moto had carried
// it out. Each builder must return what the first attempt made.
func TestBuildersSurviveALostAnswerOnEveryCall(t *testing.T) {
	m := shared.ForTest(t)
	ctx := context.Background()
	p := NewFaultProxy(t, m.URL())
	loseEachFirstAnswer(p)
	cfg := Config(p.URL())
	c, sm := ec2.NewFromConfig(cfg), sagemaker.NewFromConfig(cfg)
	n, err := CreateNetwork(ctx, c, "10.3.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	sg, err := CreateSecurityGroup(ctx, c, n.VPCID, SecurityGroup{Name: "lost", RevokeDefaultEgress: true,
		Egress: []Perm{TCP(443, "0.0.0.0/0")}, Ingress: []Perm{TCP(22, "10.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateNetworkACL(ctx, c, n.VPCID, []ACLRule{{Number: 100, Egress: true, Protocol: "-1", CIDR: "0.0.0.0/0", Allow: true}}, n.PrivateSubnetID); err != nil {
		t.Fatal(err)
	}
	eni, err := CreateNetworkInterface(ctx, c, n.PublicSubnetID, sg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AssociatePublicIP(ctx, c, eni); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateNotebook(ctx, sm, Notebook{Name: "lost", SubnetID: n.PrivateSubnetID, SecurityGroupIDs: []string{sg}}); err != nil {
		t.Fatal(err)
	}
	if lost := p.Injected("*"); lost < 10 {
		t.Errorf("only %d answers were lost", lost)
	}
	// What was made is what the builders say, once.
	if got := routeTo(t, c, n.PrivateRouteTableID, "0.0.0.0/0"); got != n.NATGatewayID {
		t.Errorf("private default route -> %q, want %s", got, n.NATGatewayID)
	}
	direct := ec2.NewFromConfig(Config(m.URL()))
	count := func(what string, n int, err error, want int) {
		t.Helper()
		if err != nil || n != want {
			t.Errorf("%s: %d (%v), want %d: a retried create left a copy", what, n, err, want)
		}
	}
	vpcs, err := direct.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: filters("cidr", "10.3.0.0/16")})
	count("VPCs", len(vpcs.Vpcs), err, 1)
	subnets, err := direct.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: filters("vpc-id", n.VPCID)})
	count("subnets", len(subnets.Subnets), err, 3)
	rtbs, err := direct.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: filters("vpc-id", n.VPCID)})
	count("route tables", len(rtbs.RouteTables), err, 4)
	acls, err := direct.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: filters("vpc-id", n.VPCID)})
	count("network ACLs", len(acls.NetworkAcls), err, 2)
	groups, err := direct.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: filters("vpc-id", n.VPCID, "group-name", "lost")})
	count("security groups named lost", len(groups.SecurityGroups), err, 1)
	enis, err := direct.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: filters("group-id", sg)})
	count("interfaces in the group", len(enis.NetworkInterfaces), err, 1)
	t.Logf("%d answers lost", p.Injected("*"))
}

// Without a retry, the builders look for no copy: one call per create.
func TestBuildersLookForCopiesOnlyAfterARetry(t *testing.T) {
	m := shared.ForTest(t)
	ctx := context.Background()
	p := NewFaultProxy(t, m.URL())
	c := ec2.NewFromConfig(Config(p.URL()))
	vpc, err := CreateVPC(ctx, c, "10.4.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	subnet, err := CreateSubnet(ctx, c, vpc, "10.4.0.0/24", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateNetworkInterface(ctx, c, subnet); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"ec2:DescribeVpcs", "ec2:DescribeNetworkInterfaces"} {
		if n := p.Calls(op); n != 0 {
			t.Errorf("%s called %d times for creates that were not retried", op, n)
		}
	}
}
