package collect

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagefence/sagefence/internal/control"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
)

// evaluate runs the control over inv and returns the one result of name.
func evaluate(t *testing.T, inv *inventory.Inventory, name string) finding.Result {
	t.Helper()
	ev, err := control.New(control.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := ev.Evaluate(inv)
	for _, r := range res {
		if r.Resource.Name == name {
			return r
		}
	}
	t.Fatalf("no result for %s in %d results", name, len(res))
	return finding.Result{}
}

// openACLs associates every subnet of a VPC with its ACL and lets
// everything through.
func openACLs(ec *fakeEC2) {
	for i := range ec.acls {
		a := &ec.acls[i]
		a.Associations = nil
		for _, s := range ec.subnets {
			if aws.ToString(s.VpcId) == aws.ToString(a.VpcId) {
				a.Associations = append(a.Associations, ec2types.NetworkAclAssociation{SubnetId: s.SubnetId, NetworkAclId: a.NetworkAclId})
			}
		}
		a.Entries = []ec2types.NetworkAclEntry{
			{RuleNumber: aws.Int32(100), Egress: aws.Bool(true), Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionAllow, CidrBlock: aws.String("0.0.0.0/0")},
			{RuleNumber: aws.Int32(100), Egress: aws.Bool(false), Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionAllow, CidrBlock: aws.String("0.0.0.0/0")},
		}
	}
}

// TestSharedVPCIsNotCoveredByAParticipant: a participant of a VPC shared
// through AWS RAM sees the subnet, the VPC and its route tables, not the
// owner's NAT gateways or transit gateway attachments. Their absence must
// not read as "deleted": the notebook is ERROR, naming the owner.
func TestSharedVPCIsNotCoveredByAParticipant(t *testing.T) {
	const owner, participant = "111111111111", "222222222222"
	for _, target := range []ec2types.Route{
		{DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String("nat-of-owner"), State: ec2types.RouteStateActive},
		{DestinationCidrBlock: aws.String("0.0.0.0/0"), TransitGatewayId: aws.String("tgw-of-owner"), State: ec2types.RouteStateActive},
	} {
		t.Run(aws.ToString(target.NatGatewayId)+aws.ToString(target.TransitGatewayId), func(t *testing.T) {
			sm := &fakeSageMaker{notebooks: []*sagemaker.DescribeNotebookInstanceOutput{vpcNotebook("nb", "subnet-shared", "sg-a")}}
			ec := &fakeEC2{
				vpcs: []ec2types.Vpc{{VpcId: aws.String("vpc-s"), OwnerId: aws.String(owner), CidrBlock: aws.String("10.0.0.0/16")}},
				subnets: []ec2types.Subnet{{SubnetId: aws.String("subnet-shared"), VpcId: aws.String("vpc-s"), OwnerId: aws.String(owner),
					CidrBlock: aws.String("10.0.1.0/24"), AvailabilityZone: aws.String("eu-west-1a")}},
				tables: []ec2types.RouteTable{{RouteTableId: aws.String("rtb-s"), VpcId: aws.String("vpc-s"), OwnerId: aws.String(owner),
					Associations: []ec2types.RouteTableAssociation{{Main: aws.Bool(true)}},
					Routes: []ec2types.Route{
						{DestinationCidrBlock: aws.String("10.0.0.0/16"), GatewayId: aws.String("local"), State: ec2types.RouteStateActive}, target}}},
				groups: []ec2types.SecurityGroup{{GroupId: aws.String("sg-a"), VpcId: aws.String("vpc-s"),
					IpPermissionsEgress: []ec2types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}},
				acls: []ec2types.NetworkAcl{{NetworkAclId: aws.String("acl-s"), VpcId: aws.String("vpc-s"), IsDefault: aws.Bool(true)}},
			}
			openACLs(ec)
			reg := Region(context.Background(), sm, ec, participant, "eu-west-1", Options{})
			if len(reg.Coverage.VPCs) != 0 {
				t.Errorf("coverage %v: a participant does not read a shared VPC whole", reg.Coverage.VPCs)
			}
			got := evaluate(t, &inventory.Inventory{SchemaVersion: inventory.SchemaVersion, Partition: "aws", Regions: []inventory.Region{reg}}, "nb")
			if got.Status != finding.StatusError {
				t.Fatalf("status %s (%s), want ERROR; errors %v", got.Status, got.InternetPath, reg.Errors)
			}
			var msgs strings.Builder
			for _, c := range got.Checks {
				msgs.WriteString(c.Message + "\n")
			}
			if !strings.Contains(msgs.String(), "owned by account "+owner) {
				t.Errorf("the result does not name the owner:\n%s", msgs.String())
			}
		})
	}
}

// TestADeletedAttachmentDoesNotHideTheLiveOne: a VPC attached again to a
// transit gateway keeps its deleted attachment in the describes for a
// while; whichever sorts last, the live one routes.
func TestADeletedAttachmentDoesNotHideTheLiveOne(t *testing.T) {
	base := func(account string, ec *fakeEC2) { openACLs(ec) }
	_, _, inv := hubScan(t, base)
	want := evaluate(t, inv, spokeNotebook(inv))
	if want.Status != finding.StatusFail {
		t.Fatalf("the hub without the old attachment: %s, want FAIL", want.Status)
	}
	_, _, inv = hubScan(t, func(account string, ec *fakeEC2) {
		openACLs(ec)
		for _, a := range ec.tgwAtts {
			if aws.ToString(a.ResourceId) == egressVPC {
				continue
			}
			old := a
			old.TransitGatewayAttachmentId = aws.String("tgw-attach-zzzz") // sorts after the live one
			old.State = ec2types.TransitGatewayAttachmentStateDeleted
			old.Association = nil
			ec.tgwAtts = append(ec.tgwAtts, old)
			break
		}
	})
	if got := evaluate(t, inv, spokeNotebook(inv)); got.Status != want.Status || got.InternetPath != want.InternetPath {
		t.Fatalf("with a deleted attachment beside the live one: %s/%s, want %s/%s", got.Status, got.InternetPath, want.Status, want.InternetPath)
	}
}

func spokeNotebook(inv *inventory.Inventory) string {
	for _, r := range inv.Regions {
		for _, nb := range r.Notebooks {
			return nb.Name
		}
	}
	return ""
}

// TestInterruptedBeforeTheFollowUp: a scan interrupted after the pool
// records what the follow-up did not read; the saved inventory, replayed,
// does not pass on it.
func TestInterruptedBeforeTheFollowUp(t *testing.T) {
	s := accountIDs(1)[0]
	build := hubAndSpokes(network, []string{s}, 2)
	src := &fakeSource{regionNames: []string{"eu-west-1"}, estate: func(account, region string) (*fakeSageMaker, *fakeEC2) {
		sm, ec := build(account, region)
		openACLs(ec)
		return sm, ec
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inv, err := collectFrom(ctx, src, "eu-west-1", CollectOptions{Accounts: []string{s}, NetworkAccounts: []string{network}, Role: audit,
		RegionRead: func(string, string, time.Duration, int) { cancel() }})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := control.New(control.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := ev.Evaluate(inv)
	if len(res) == 0 {
		t.Fatal("no results")
	}
	for _, r := range res {
		if r.Status != finding.StatusError {
			t.Errorf("%s: %s (%s), want ERROR: the network account was not read", r.Resource.Name, r.Status, r.InternetPath)
		}
	}
}

// TestInterfaceGroupsAreRead: the groups of a notebook's interface decide
// when they differ from the notebook's record; they are read, so the
// notebook is evaluated rather than ERROR for a group "not found".
func TestInterfaceGroupsAreRead(t *testing.T) {
	nb := vpcNotebook("nb", "subnet-1", "sg-a")
	nb.NetworkInterfaceId = aws.String("eni-1")
	sm := &fakeSageMaker{notebooks: []*sagemaker.DescribeNotebookInstanceOutput{nb}}
	ec := &fakeEC2{
		vpcs:    []ec2types.Vpc{{VpcId: aws.String("vpc-1"), CidrBlock: aws.String("10.0.0.0/16")}},
		subnets: []ec2types.Subnet{{SubnetId: aws.String("subnet-1"), VpcId: aws.String("vpc-1"), CidrBlock: aws.String("10.0.1.0/24")}},
		tables: []ec2types.RouteTable{{RouteTableId: aws.String("rtb-1"), VpcId: aws.String("vpc-1"),
			Associations: []ec2types.RouteTableAssociation{{Main: aws.Bool(true)}},
			Routes:       []ec2types.Route{{DestinationCidrBlock: aws.String("10.0.0.0/16"), GatewayId: aws.String("local"), State: ec2types.RouteStateActive}}}},
		groups: []ec2types.SecurityGroup{{GroupId: aws.String("sg-a"), VpcId: aws.String("vpc-1")}, {GroupId: aws.String("sg-b"), VpcId: aws.String("vpc-1")}},
		enis: []ec2types.NetworkInterface{{NetworkInterfaceId: aws.String("eni-1"), SubnetId: aws.String("subnet-1"), VpcId: aws.String("vpc-1"),
			Groups: []ec2types.GroupIdentifier{{GroupId: aws.String("sg-b")}}}},
		acls: []ec2types.NetworkAcl{{NetworkAclId: aws.String("acl-1"), VpcId: aws.String("vpc-1"), IsDefault: aws.Bool(true)}},
	}
	openACLs(ec)
	reg := Region(context.Background(), sm, ec, "222222222222", "eu-west-1", Options{})
	got := evaluate(t, &inventory.Inventory{SchemaVersion: inventory.SchemaVersion, Partition: "aws", Regions: []inventory.Region{reg}}, "nb")
	if got.Status != finding.StatusPass || len(reg.Errors) != 0 {
		t.Fatalf("status %s (%s), errors %v; want PASS (no way out), nothing failed", got.Status, got.InternetPath, reg.Errors)
	}
}

// sharedVPC is a VPC that network owns and shares with participant: the
// participant sees the VPC, the shared subnet and its own security group;
// the owner holds the route tables, a NAT gateway and an internet gateway.
func sharedVPC(participant string) func(account, region string) (*fakeSageMaker, *fakeEC2) {
	vpc := ec2types.Vpc{VpcId: aws.String("vpc-s"), OwnerId: aws.String(network), CidrBlock: aws.String("10.0.0.0/16")}
	shared := ec2types.Subnet{SubnetId: aws.String("subnet-shared"), VpcId: aws.String("vpc-s"), OwnerId: aws.String(network),
		CidrBlock: aws.String("10.0.1.0/24"), AvailabilityZone: aws.String("eu-west-1a")}
	local := ec2types.Route{DestinationCidrBlock: aws.String("10.0.0.0/16"), GatewayId: aws.String("local"), State: ec2types.RouteStateActive}
	return func(account, region string) (*fakeSageMaker, *fakeEC2) {
		if account == participant {
			return &fakeSageMaker{notebooks: []*sagemaker.DescribeNotebookInstanceOutput{vpcNotebook("nb", "subnet-shared", "sg-a")}}, &fakeEC2{
				vpcs: []ec2types.Vpc{vpc}, subnets: []ec2types.Subnet{shared},
				groups: []ec2types.SecurityGroup{{GroupId: aws.String("sg-a"), VpcId: aws.String("vpc-s"),
					IpPermissionsEgress: []ec2types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}},
			}
		}
		ec := &fakeEC2{
			vpcs: []ec2types.Vpc{vpc},
			subnets: []ec2types.Subnet{shared, {SubnetId: aws.String("subnet-pub"), VpcId: aws.String("vpc-s"), OwnerId: aws.String(network),
				CidrBlock: aws.String("10.0.0.0/24"), AvailabilityZone: aws.String("eu-west-1a")}},
			tables: []ec2types.RouteTable{
				{RouteTableId: aws.String("rtb-private"), VpcId: aws.String("vpc-s"),
					Associations: []ec2types.RouteTableAssociation{{SubnetId: aws.String("subnet-shared")}},
					Routes:       []ec2types.Route{local, {DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String("nat-1"), State: ec2types.RouteStateActive}}},
				{RouteTableId: aws.String("rtb-public"), VpcId: aws.String("vpc-s"),
					Associations: []ec2types.RouteTableAssociation{{Main: aws.Bool(true)}, {SubnetId: aws.String("subnet-pub")}},
					Routes:       []ec2types.Route{local, {DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String("igw-1"), State: ec2types.RouteStateActive}}},
			},
			nats: []ec2types.NatGateway{{NatGatewayId: aws.String("nat-1"), VpcId: aws.String("vpc-s"), SubnetId: aws.String("subnet-pub"),
				State: ec2types.NatGatewayStateAvailable, ConnectivityType: ec2types.ConnectivityTypePublic}},
			igws: []ec2types.InternetGateway{{InternetGatewayId: aws.String("igw-1"),
				Attachments: []ec2types.InternetGatewayAttachment{{VpcId: aws.String("vpc-s"), State: ec2types.AttachmentStatusAttached}}}},
			acls: []ec2types.NetworkAcl{{NetworkAclId: aws.String("acl-s"), VpcId: aws.String("vpc-s"), IsDefault: aws.Bool(true)}},
		}
		openACLs(ec)
		return &fakeSageMaker{}, ec
	}
}

// TestSharedVPCIsReadInItsOwnersAccount: with the owner in scope, the
// follow-up reads the shared VPC there, and the participant's notebook is
// judged on the owner's route tables, NAT gateway and internet gateway;
// out of scope, it stays ERROR, naming the flag that would read it.
func TestSharedVPCIsReadInItsOwnersAccount(t *testing.T) {
	participant := accountIDs(1)[0]
	for _, c := range []struct {
		name    string
		network []string
		status  finding.Status
		path    finding.InternetPath
	}{
		{"owner in scope", []string{network}, finding.StatusFail, finding.PathNAT},
		{"owner out of scope", nil, finding.StatusError, finding.PathUnknown},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := &fakeSource{regionNames: []string{"eu-west-1"}, estate: sharedVPC(participant)}
			inv, err := collectFrom(context.Background(), src, "eu-west-1", CollectOptions{Accounts: []string{participant}, NetworkAccounts: c.network, Role: audit})
			if err != nil {
				t.Fatal(err)
			}
			got := evaluate(t, inv, "nb")
			if got.Status != c.status || got.InternetPath != c.path {
				t.Fatalf("%s (%s), want %s (%s); checks %+v", got.Status, got.InternetPath, c.status, c.path, got.Checks)
			}
			if c.status == finding.StatusFail {
				if got.Evidence.RouteTableID != "rtb-private" || !slices.ContainsFunc(got.Hops, func(h finding.Hop) bool { return h.ResourceID == "nat-1" && h.AccountID == network }) {
					t.Errorf("route table %s, hops %+v: want the owner's rtb-private and nat-1 in account %s", got.Evidence.RouteTableID, got.Hops, network)
				}
				return
			}
			if msg := renderChecks(got); !strings.Contains(msg, "--network-accounts "+network) {
				t.Errorf("the result does not name the flag that would read the owner:\n%s", msg)
			}
		})
	}
}

func renderChecks(r finding.Result) string {
	var b strings.Builder
	for _, c := range r.Checks {
		b.WriteString(c.Message + "\n")
	}
	return b.String()
}
