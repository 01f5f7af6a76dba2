package testenv

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// prefixListEntries returns the CIDRs of a managed prefix list.
func prefixListEntries(t *testing.T, c *ec2.Client, id string) []string {
	t.Helper()
	out, err := c.GetManagedPrefixListEntries(context.Background(), &ec2.GetManagedPrefixListEntriesInput{PrefixListId: aws.String(id)})
	if err != nil {
		t.Fatalf("entries of %s: %v", id, err)
	}
	var cidrs []string
	for _, e := range out.Entries {
		cidrs = append(cidrs, aws.ToString(e.Cidr))
	}
	slices.Sort(cidrs)
	return cidrs
}

// egressOf returns the egress permissions of a security group.
func egressOf(t *testing.T, c *ec2.Client, sg string) []ec2types.IpPermission {
	t.Helper()
	out, err := c.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{sg}})
	if err != nil || len(out.SecurityGroups) != 1 {
		t.Fatalf("describe %s: %v", sg, err)
	}
	return out.SecurityGroups[0].IpPermissionsEgress
}

// mainTable returns the main route table of vpc as the service reports it.
func mainTable(t *testing.T, c *ec2.Client, vpc string) string {
	t.Helper()
	rtb, _, err := mainAssociation(context.Background(), c, vpc)
	if err != nil {
		t.Fatal(err)
	}
	return rtb
}

func TestRoutingBuildersMakeWhatTheySay(t *testing.T) {
	m := shared.ForTest(t)
	ctx := context.Background()
	c := ec2.NewFromConfig(Config(m.URL()))
	str := must[string](t)
	n := must[Network](t)(CreateNetwork(ctx, c, "10.70.0.0/16"))

	t.Run("prefix lists", func(t *testing.T) {
		pl := str(CreateManagedPrefixList(ctx, c, "egress-anywhere", "0.0.0.0/0", "10.0.0.0/8"))
		if got := prefixListEntries(t, c, pl); !slices.Equal(got, []string{"0.0.0.0/0", "10.0.0.0/8"}) {
			t.Errorf("entries of %s = %v", pl, got)
		}
		d, err := c.DescribeManagedPrefixLists(ctx, &ec2.DescribeManagedPrefixListsInput{PrefixListIds: []string{pl}})
		if err != nil || len(d.PrefixLists) != 1 {
			t.Fatalf("describe %s: %v", pl, err)
		}
		if got := d.PrefixLists[0]; aws.ToString(got.OwnerId) != AccountID || aws.ToString(got.PrefixListName) != "egress-anywhere" || aws.ToString(got.AddressFamily) != "IPv4" {
			t.Errorf("prefix list %s: owner %s name %s family %s", pl, aws.ToString(got.OwnerId), aws.ToString(got.PrefixListName), aws.ToString(got.AddressFamily))
		}
		s3 := str(AWSManagedPrefixList(ctx, c, Region, "s3"))
		d, err = c.DescribeManagedPrefixLists(ctx, &ec2.DescribeManagedPrefixListsInput{PrefixListIds: []string{s3}})
		if err != nil || len(d.PrefixLists) != 1 || aws.ToString(d.PrefixLists[0].OwnerId) != "AWS" ||
			aws.ToString(d.PrefixLists[0].PrefixListName) != "com.amazonaws.us-east-1.s3" {
			t.Errorf("S3 prefix list %s: %+v %v", s3, d, err)
		}
	})

	t.Run("private NAT gateway", func(t *testing.T) {
		nat := str(CreatePrivateNATGateway(ctx, c, n.PrivateSubnetID))
		d, err := c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{nat}})
		if err != nil || len(d.NatGateways) != 1 {
			t.Fatalf("describe %s: %v", nat, err)
		}
		g := d.NatGateways[0]
		if g.ConnectivityType != ec2types.ConnectivityTypePrivate || aws.ToString(g.SubnetId) != n.PrivateSubnetID || g.State != ec2types.NatGatewayStateAvailable {
			t.Errorf("private NAT %s: connectivity %s subnet %s state %s", nat, g.ConnectivityType, aws.ToString(g.SubnetId), g.State)
		}
		for _, a := range g.NatGatewayAddresses {
			if aws.ToString(a.PublicIp) != "" {
				t.Errorf("private NAT %s has public IP %s", nat, aws.ToString(a.PublicIp))
			}
		}
	})

	t.Run("internet gateway detach", func(t *testing.T) {
		if err := DetachInternetGateway(ctx, c, n.InternetGatewayID, n.VPCID); err != nil {
			t.Fatal(err)
		}
		if err := DetachInternetGateway(ctx, c, n.InternetGatewayID, n.VPCID); err != nil {
			t.Errorf("a second detach (a retry) failed: %v", err)
		}
		d, err := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{InternetGatewayIds: []string{n.InternetGatewayID}})
		if err != nil || len(d.InternetGateways) != 1 {
			t.Fatalf("describe %s: %v", n.InternetGatewayID, err)
		}
		for _, a := range d.InternetGateways[0].Attachments {
			if aws.ToString(a.VpcId) == n.VPCID && a.State != ec2types.AttachmentStatusDetached {
				t.Errorf("%s still attached to %s: %s", n.InternetGatewayID, n.VPCID, a.State)
			}
		}
		attached, err := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: filters("attachment.vpc-id", n.VPCID)})
		if err != nil || len(attached.InternetGateways) != 0 {
			t.Errorf("gateways attached to %s: %+v %v", n.VPCID, attached, err)
		}
		if got := routeTo(t, c, n.PublicRouteTableID, "0.0.0.0/0"); got != n.InternetGatewayID {
			t.Errorf("the route to the detached gateway is gone: %q", got)
		}
	})

	t.Run("route table associations", func(t *testing.T) {
		explicit := str(CreateRouteTable(ctx, c, n.VPCID))
		if err := ReplaceSubnetRouteTable(ctx, c, n.IsolatedSubnetID, explicit); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := subnetRouteTable(ctx, c, n.IsolatedSubnetID); got != explicit {
			t.Errorf("route table of %s = %s, want %s", n.IsolatedSubnetID, got, explicit)
		}
		bare := str(CreateSubnet(ctx, c, n.VPCID, "10.70.9.0/24", false))
		if err := ReplaceSubnetRouteTable(ctx, c, bare, explicit); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := subnetRouteTable(ctx, c, bare); got != explicit {
			t.Errorf("route table of the unassociated %s = %s, want %s", bare, got, explicit)
		}
		newMain := str(CreateRouteTable(ctx, c, n.VPCID))
		if err := ReplaceMainRouteTable(ctx, c, n.VPCID, newMain); err != nil {
			t.Fatal(err)
		}
		if got := mainTable(t, c, n.VPCID); got != newMain {
			t.Errorf("main route table = %s, want %s", got, newMain)
		}
		if err := ReplaceMainRouteTable(ctx, c, n.VPCID, newMain); err != nil {
			t.Errorf("replacing the main table with itself: %v", err)
		}
	})

	t.Run("network ACL entries", func(t *testing.T) {
		acl := str(SubnetNetworkACL(ctx, c, n.PublicSubnetID))
		if err := AddNetworkACLEntries(ctx, c, acl, ACLRule{Number: 50, Egress: true, Protocol: "-1", CIDR: "0.0.0.0/0"},
			ACLRule{Number: 40, Egress: true, Allow: true, Protocol: "6", CIDR: "10.0.0.0/8", From: 443, To: 443}); err != nil {
			t.Fatal(err)
		}
		d, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{NetworkAclIds: []string{acl}})
		if err != nil || len(d.NetworkAcls) != 1 {
			t.Fatalf("describe %s: %v", acl, err)
		}
		var deny, allow bool
		for _, e := range d.NetworkAcls[0].Entries {
			switch aws.ToInt32(e.RuleNumber) {
			case 50:
				deny = e.RuleAction == ec2types.RuleActionDeny && aws.ToBool(e.Egress) && aws.ToString(e.CidrBlock) == "0.0.0.0/0"
			case 40:
				allow = e.RuleAction == ec2types.RuleActionAllow && e.PortRange != nil && aws.ToInt32(e.PortRange.From) == 443
			}
		}
		if !deny || !allow {
			t.Errorf("entries of %s: deny 50 %v, allow 40 %v: %+v", acl, deny, allow, d.NetworkAcls[0].Entries)
		}
	})

	t.Run("security group egress to a prefix list and to a group", func(t *testing.T) {
		pl := str(CreateManagedPrefixList(ctx, c, "partners", "198.51.100.0/24"))
		peer := str(CreateSecurityGroup(ctx, c, n.VPCID, SecurityGroup{Name: "proxy"}))
		sg := str(CreateSecurityGroup(ctx, c, n.VPCID, SecurityGroup{Name: "refs", RevokeDefaultEgress: true,
			Egress: []Perm{PrefixListTraffic(pl)}}))
		if err := AuthorizeEgress(ctx, c, sg, GroupTraffic(peer)); err != nil {
			t.Fatal(err)
		}
		var pls, groups, cidrs []string
		for _, p := range egressOf(t, c, sg) {
			for _, x := range p.PrefixListIds {
				pls = append(pls, aws.ToString(x.PrefixListId))
			}
			for _, x := range p.UserIdGroupPairs {
				groups = append(groups, aws.ToString(x.GroupId))
			}
			for _, x := range p.IpRanges {
				cidrs = append(cidrs, aws.ToString(x.CidrIp))
			}
		}
		if !slices.Equal(pls, []string{pl}) || !slices.Equal(groups, []string{peer}) || len(cidrs) != 0 {
			t.Errorf("egress of %s: prefix lists %v groups %v CIDRs %v", sg, pls, groups, cidrs)
		}
	})

	t.Run("accepted peering", func(t *testing.T) {
		peer := str(CreateVPC(ctx, c, "10.71.0.0/16"))
		pcx := str(CreatePeering(ctx, c, n.VPCID, peer))
		if err := AcceptPeering(ctx, c, pcx); err != nil {
			t.Fatal(err)
		}
		d, err := c.DescribeVpcPeeringConnections(ctx, &ec2.DescribeVpcPeeringConnectionsInput{VpcPeeringConnectionIds: []string{pcx}})
		if err != nil || len(d.VpcPeeringConnections) != 1 || d.VpcPeeringConnections[0].Status.Code != ec2types.VpcPeeringConnectionStateReasonCodeActive {
			t.Errorf("peering %s: %+v %v", pcx, d, err)
		}
	})
}

// The new builders survive a lost answer on every call they make, like
// estate.go's: one of each thing, the one the builder returned.
func TestPathBuildersSurviveALostAnswerOnEveryCall(t *testing.T) {
	m := shared.ForTest(t)
	ctx := context.Background()
	p := NewFaultProxy(t, m.URL())
	loseEachFirstAnswer(p)
	c := ec2.NewFromConfig(Config(p.URL()))
	direct := ec2.NewFromConfig(Config(m.URL()))
	str := must[string](t)

	f := buildTGWFixture(t, ctx, c)
	_, vpnAttach, err := CreateTransitGatewayVPNAttachment(ctx, c, f.tgw)
	if err != nil {
		t.Fatal(err)
	}
	pl := str(CreateManagedPrefixList(ctx, c, "lost-list", "0.0.0.0/0"))
	nat := str(CreatePrivateNATGateway(ctx, c, f.spokeSubnet))
	igw := str(CreateInternetGateway(ctx, c, f.egressVPC))
	if err := DetachInternetGateway(ctx, c, igw, f.egressVPC); err != nil {
		t.Fatal(err)
	}
	rtb := str(CreateRouteTable(ctx, c, f.spokeVPC))
	if err := ReplaceSubnetRouteTable(ctx, c, f.spokeSubnet, rtb); err != nil {
		t.Fatal(err)
	}
	main := str(CreateRouteTable(ctx, c, f.egressVPC))
	if err := ReplaceMainRouteTable(ctx, c, f.egressVPC, main); err != nil {
		t.Fatal(err)
	}
	sg := str(CreateSecurityGroup(ctx, c, f.spokeVPC, SecurityGroup{Name: "lost-refs", RevokeDefaultEgress: true}))
	if err := AuthorizeEgress(ctx, c, sg, PrefixListTraffic(pl)); err != nil {
		t.Fatal(err)
	}
	pcx := str(CreatePeering(ctx, c, f.spokeVPC, f.egressVPC))
	if err := AcceptPeering(ctx, c, pcx); err != nil {
		t.Fatal(err)
	}
	if lost := p.Injected("*"); lost < 15 {
		t.Errorf("only %d answers were lost", lost)
	}

	count := func(what string, got []string, err error, want ...string) {
		t.Helper()
		slices.Sort(got)
		if err != nil || !slices.Equal(got, sorted(want...)) {
			t.Errorf("%s = %v (%v), want %v: a retried call left a copy or lost the work", what, got, err, want)
		}
	}
	got, err := ids(ctx, direct, ec2types.ResourceTypeTransitGateway, nil)
	count("transit gateways", got, err, f.tgw)
	got, err = ids(ctx, direct, ec2types.ResourceTypeTransitGatewayRouteTable, filters("transit-gateway-id", f.tgw))
	count("transit gateway route tables", got, err, f.defaultTable, f.table)
	atts, err := direct.DescribeTransitGatewayAttachments(ctx, &ec2.DescribeTransitGatewayAttachmentsInput{})
	got = nil
	for _, a := range atts.TransitGatewayAttachments {
		if a.State != ec2types.TransitGatewayAttachmentStateDeleted {
			got = append(got, aws.ToString(a.TransitGatewayAttachmentId))
		}
	}
	count("transit gateway attachments", got, err, f.spokeAttach, f.egressAttach, vpnAttach)
	if n, err := tgwPropagations(ctx, direct, f.egressAttach, f.table); err != nil || n != 1 {
		t.Errorf("propagations = %d (%v), want 1", n, err)
	}
	if a, _ := f.ledger.Association(f.spokeAttach); a != f.table {
		t.Errorf("association of %s = %q", f.spokeAttach, a)
	}
	got, err = ids(ctx, direct, ec2types.ResourceTypePrefixList, filters("prefix-list-name", "lost-list"))
	count("prefix lists named lost-list", got, err, pl)
	got, err = ids(ctx, direct, ec2types.ResourceTypeNatgateway, filters("subnet-id", f.spokeSubnet))
	count("NAT gateways in the spoke subnet", got, err, nat)
	if r, _, _ := subnetRouteTable(ctx, direct, f.spokeSubnet); r != rtb {
		t.Errorf("route table of %s = %s, want %s", f.spokeSubnet, r, rtb)
	}
	if got := mainTable(t, direct, f.egressVPC); got != main {
		t.Errorf("main route table of %s = %s, want %s", f.egressVPC, got, main)
	}
	var refs []string
	for _, perm := range egressOf(t, direct, sg) {
		for _, x := range perm.PrefixListIds {
			refs = append(refs, aws.ToString(x.PrefixListId))
		}
	}
	count("prefix lists in the egress of "+sg, refs, nil, pl)
}
