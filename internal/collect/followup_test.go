package collect

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/shard"
)

const network = "300000000000"

// regionOf is the inventory's entry for account and region, or nil.
func regionOf(inv *inventory.Inventory, account, region string) *inventory.Region {
	for i, r := range inv.Regions {
		if r.AccountID == account && r.Region == region {
			return &inv.Regions[i]
		}
	}
	return nil
}

func TestFollowUpReadsTheNetworkAccountOncePerOwnerAndRegion(t *testing.T) {
	spokes := accountIDs(2)
	regions := []string{"eu-west-1", "us-east-1"}
	src := &fakeSource{regionNames: regions, estate: hubAndSpokes(network, spokes, 3)}
	inv, err := collectFrom(context.Background(), src, "us-east-1", CollectOptions{
		Accounts: spokes, NetworkAccounts: []string{network}, Role: audit, Regions: regions,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Errors) != 0 {
		t.Fatalf("errors: %+v", inv.Errors)
	}
	if got := src.assumeCount(network); got != 1 {
		t.Errorf("AssumeRole into the network account %d times, want once for every spoke and region", got)
	}
	if diff := cmp.Diff([]string{network}, inv.NetworkAccounts); diff != "" {
		t.Errorf("network accounts (-want +got):\n%s", diff)
	}
	var order []string
	for _, r := range inv.Regions {
		order = append(order, r.AccountID+"/"+r.Region)
	}
	want := []string{spokes[0] + "/eu-west-1", spokes[0] + "/us-east-1", spokes[1] + "/eu-west-1", spokes[1] + "/us-east-1",
		network + "/eu-west-1", network + "/us-east-1"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("account-regions (-want +got):\n%s", diff)
	}
	for _, region := range regions {
		ec := src.ec2Of(network, region)
		if ec == nil {
			t.Fatalf("the network account was not read in %s", region)
		}
		// Once per owner and region, for both spokes: three describes of
		// the gateway, one search per live table (not the deleted one),
		// the egress VPC's round 2 (its attachments by resource-id), and
		// the partners list.
		wantCalls := map[string]int{
			"DescribeTransitGatewayAttachments": 2, "DescribeTransitGatewayVpcAttachments": 2,
			"DescribeTransitGatewayRouteTables": 1, "SearchTransitGatewayRoutes": 2,
			"DescribeVpcs": 1, "DescribeSubnets": 1, "DescribeRouteTables": 1, "DescribeNatGateways": 1,
			"DescribeInternetGateways": 1, "DescribeEgressOnlyInternetGateways": 1, "DescribeNetworkAcls": 1,
			"DescribeVpcEndpoints": 1, "DescribeManagedPrefixLists": 1, "GetManagedPrefixListEntries": 1,
		}
		if diff := cmp.Diff(wantCalls, ec.counts()); diff != "" {
			t.Errorf("%s: network account's EC2 calls (-want +got):\n%s", region, diff)
		}
		if n := src.sageMakerOf(network, region).called("ListNotebookInstances"); n != 0 {
			t.Errorf("%s: the network account's notebooks were listed %d times", region, n)
		}

		r := regionOf(inv, network, region)
		if !r.NetworkOnly || r.Notebooks == nil || len(r.Notebooks) != 0 || len(r.Errors) != 0 {
			t.Errorf("%s: network entry: network only %v, notebooks %v, errors %+v", region, r.NetworkOnly, r.Notebooks, r.Errors)
		}
		if diff := cmp.Diff(&inventory.Coverage{VPCs: []string{egressVPC}, TransitGateways: []string{hubTGW}}, r.Coverage); diff != "" {
			t.Errorf("%s: network coverage (-want +got):\n%s", region, diff)
		}
		wantTables := []inventory.TransitGatewayRouteTable{
			{ID: egressTable, TransitGatewayID: hubTGW, Routes: []inventory.TransitGatewayRoute{
				{DestinationCIDR: "10.1.0.0/24", Type: "propagated", State: "active",
					Attachments: []inventory.TransitGatewayRouteAttachment{{ID: spokeAtt(spokes[0]), ResourceType: "vpc", ResourceID: spokeVPC(spokes[0])}}},
				{DestinationCIDR: "10.1.1.0/24", Type: "propagated", State: "active",
					Attachments: []inventory.TransitGatewayRouteAttachment{{ID: spokeAtt(spokes[1]), ResourceType: "vpc", ResourceID: spokeVPC(spokes[1])}}},
			}},
			{ID: spokesTable, TransitGatewayID: hubTGW, Routes: []inventory.TransitGatewayRoute{
				{DestinationCIDR: "0.0.0.0/0", Type: "static", State: "active",
					Attachments: []inventory.TransitGatewayRouteAttachment{{ID: egressAtt, ResourceType: "vpc", ResourceID: egressVPC}}},
				{DestinationCIDR: "10.0.0.0/8", Type: "static", State: "blackhole"},
				{PrefixListID: partnersPL, Type: "static", State: "active",
					Attachments: []inventory.TransitGatewayRouteAttachment{{ID: egressAtt, ResourceType: "vpc", ResourceID: egressVPC}}},
			}},
		}
		if diff := cmp.Diff(wantTables, r.TransitGatewayRouteTables); diff != "" {
			t.Errorf("%s: transit gateway route tables (-want +got):\n%s", region, diff)
		}
		wantAtts := []inventory.TransitGatewayAttachment{
			{ID: spokeAtt(spokes[0]), TransitGatewayID: hubTGW, TransitGatewayOwnerID: network, ResourceType: "vpc", ResourceID: spokeVPC(spokes[0]),
				ResourceOwnerID: spokes[0], State: "available", RouteTableID: spokesTable, AssociationState: "associated", SubnetIDs: []string{"subnet-" + spokes[0] + "-tgw"}},
			{ID: spokeAtt(spokes[1]), TransitGatewayID: hubTGW, TransitGatewayOwnerID: network, ResourceType: "vpc", ResourceID: spokeVPC(spokes[1]),
				ResourceOwnerID: spokes[1], State: "available", RouteTableID: spokesTable, AssociationState: "associated", SubnetIDs: []string{"subnet-" + spokes[1] + "-tgw"}},
			{ID: egressAtt, TransitGatewayID: hubTGW, TransitGatewayOwnerID: network, ResourceType: "vpc", ResourceID: egressVPC,
				ResourceOwnerID: network, State: "available", RouteTableID: egressTable, AssociationState: "associated", SubnetIDs: []string{"subnet-egress-tgw"}},
		}
		if diff := cmp.Diff(wantAtts, r.TransitGatewayAttachments); diff != "" {
			t.Errorf("%s: the owner's attachments (-want +got):\n%s", region, diff)
		}
		if got := ids(r.Subnets, func(s inventory.Subnet) string { return s.ID }); !slices.Equal(got, []string{"subnet-egress-nat", "subnet-egress-tgw"}) {
			t.Errorf("%s: egress subnets %v", region, got)
		}
		if len(r.RouteTables) != 2 || len(r.NATGateways) != 1 || len(r.NetworkACLs) != 1 ||
			!cmp.Equal(r.InternetGateways, []inventory.InternetGateway{{ID: "igw-egress", VPCIDs: []string{egressVPC},
				Attachments: []inventory.GatewayAttachment{{VPCID: egressVPC, State: "available"}}}}) {
			t.Errorf("%s: egress VPC: %d route tables, %d NAT gateways, %d ACLs, internet gateways %+v",
				region, len(r.RouteTables), len(r.NATGateways), len(r.NetworkACLs), r.InternetGateways)
		}
		wantPL := []inventory.PrefixList{{ID: partnersPL, Name: "partners", OwnerID: network, AddressFamily: "IPv4", State: "modify-complete",
			Entries: []string{"198.51.100.0/24", "203.0.113.0/24"}}}
		if diff := cmp.Diff(wantPL, r.PrefixLists); diff != "" {
			t.Errorf("%s: network prefix lists (-want +got):\n%s", region, diff)
		}

		for _, s := range spokes {
			sr := regionOf(inv, s, region)
			if sr.NetworkOnly || len(sr.Notebooks) != 3 || len(sr.Errors) != 0 {
				t.Errorf("%s/%s: network only %v, %d notebooks, errors %+v", s, region, sr.NetworkOnly, len(sr.Notebooks), sr.Errors)
			}
			if diff := cmp.Diff(&inventory.Coverage{VPCs: []string{spokeVPC(s)}}, sr.Coverage); diff != "" {
				t.Errorf("%s/%s: coverage (-want +got):\n%s", s, region, diff)
			}
			// The VPC's own view of its attachment: the owner, no
			// association.
			wantAtt := []inventory.TransitGatewayAttachment{{ID: spokeAtt(s), TransitGatewayID: hubTGW, TransitGatewayOwnerID: network,
				ResourceType: "vpc", ResourceID: spokeVPC(s), ResourceOwnerID: s, State: "available", SubnetIDs: []string{"subnet-" + s + "-tgw"}}}
			if diff := cmp.Diff(wantAtt, sr.TransitGatewayAttachments); diff != "" {
				t.Errorf("%s/%s: attachments (-want +got):\n%s", s, region, diff)
			}
			wantPL := []inventory.PrefixList{
				{ID: spokePL, Name: "anywhere", OwnerID: s, AddressFamily: "IPv4", State: "create-complete", Entries: []string{"0.0.0.0/0"}},
				{ID: s3PL, Name: "com.amazonaws.eu-west-1.s3", OwnerID: "AWS", AddressFamily: "IPv4", State: "create-complete"},
			}
			if diff := cmp.Diff(wantPL, sr.PrefixLists); diff != "" {
				t.Errorf("%s/%s: prefix lists (-want +got):\n%s", s, region, diff)
			}
			if got := src.ec2Of(s, region).counts(); got["SearchTransitGatewayRoutes"]+got["DescribeTransitGatewayRouteTables"] != 0 {
				t.Errorf("%s/%s: the spoke was asked for the gateway's route tables: %v", s, region, got)
			}
		}
	}
}

func TestFollowUpOutOfScopeOwnerIsNotRead(t *testing.T) {
	spokes := accountIDs(2)
	src := &fakeSource{regionNames: []string{"eu-west-1"}, estate: hubAndSpokes(network, spokes, 1)}
	inv, err := collectFrom(context.Background(), src, "eu-west-1", CollectOptions{Accounts: spokes, Role: audit})
	if err != nil {
		t.Fatal(err)
	}
	if src.assumeCount(network) != 0 || src.ec2Of(network, "eu-west-1") != nil {
		t.Errorf("an account out of scope was read: %d AssumeRole", src.assumeCount(network))
	}
	if regionOf(inv, network, "eu-west-1") != nil || len(inv.NetworkAccounts) != 0 || len(inv.Errors) != 0 {
		t.Errorf("network entry %v, network accounts %v, errors %+v", regionOf(inv, network, "eu-west-1") != nil, inv.NetworkAccounts, inv.Errors)
	}
	// The spokes still record what leads out of sight.
	for _, s := range spokes {
		if r := regionOf(inv, s, "eu-west-1"); len(r.TransitGatewayAttachments) != 1 || r.TransitGatewayAttachments[0].TransitGatewayOwnerID != network {
			t.Errorf("%s: attachments %+v", s, r.TransitGatewayAttachments)
		}
	}
}

func TestFollowUpDeniedNetworkAccountIsRecordedOnce(t *testing.T) {
	spokes := accountIDs(3)
	src := &fakeSource{regionNames: []string{"eu-west-1", "us-east-1"}, estate: hubAndSpokes(network, spokes, 1),
		denied: map[string]error{network: denied("AccessDenied")}}
	inv, err := collectFrom(context.Background(), src, "eu-west-1", CollectOptions{
		Accounts: spokes, NetworkAccounts: []string{network}, Role: audit, Regions: []string{"eu-west-1", "us-east-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []inventory.CollectError{{AccountID: network, Operation: awsop.AssumeRole, Resource: "arn:aws:iam::" + network + ":role/Audit",
		Code: "AccessDenied", Message: "User is not authorized to perform this operation"}}
	if diff := cmp.Diff(want, inv.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if n := src.assumeCount(network); n != 1 {
		t.Errorf("AssumeRole into the denied account %d times, want 1", n)
	}
	if regionOf(inv, network, "eu-west-1") != nil || regionOf(inv, network, "us-east-1") != nil {
		t.Error("an entry was made for an account that could not be read")
	}
	if !slices.Equal(inv.NetworkAccounts, []string{network}) {
		t.Errorf("network accounts %v: the account is in scope, its failure an error", inv.NetworkAccounts)
	}
}

// TestFollowUpReadsOtherShardsAccountsForNetworkingOnly: with a shard, an
// account of another shard is in scope: its transit gateway is read, its
// notebooks are not.
func TestFollowUpReadsOtherShardsAccountsForNetworkingOnly(t *testing.T) {
	other := shard.Of(network, 2)
	mine := shard.Shard{Index: 1 - other, Count: 2}
	var spokes []string
	for _, id := range accountIDs(40) {
		if shard.Of(id, 2) == mine.Index && len(spokes) < 2 {
			spokes = append(spokes, id)
		}
	}
	src := &fakeSource{regionNames: []string{"eu-west-1"}, estate: hubAndSpokes(network, spokes, 1)}
	inv, err := collectFrom(context.Background(), src, "eu-west-1", CollectOptions{
		Accounts: append([]string{network}, spokes...), Role: audit, Shard: mine,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := regionOf(inv, network, "eu-west-1")
	if r == nil || !r.NetworkOnly || len(r.TransitGatewayRouteTables) != 2 || r.Coverage == nil || !slices.Equal(r.Coverage.VPCs, []string{egressVPC}) {
		t.Fatalf("the other shard's network account: %+v", r)
	}
	if n := src.sageMakerOf(network, "eu-west-1").called("ListNotebookInstances"); n != 0 {
		t.Errorf("the other shard's notebooks were listed %d times", n)
	}
	if !slices.Equal(inv.NetworkAccounts, []string{network}) {
		t.Errorf("network accounts %v", inv.NetworkAccounts)
	}
}

// TestFollowUpInTheSameAccount: a transit gateway and egress VPC of the
// scanned account itself are read into its own entry, with the client the
// region was read with.
func TestFollowUpInTheSameAccount(t *testing.T) {
	src := &fakeSource{regionNames: []string{"eu-west-1"}, estate: func(account, _ string) (*fakeSageMaker, *fakeEC2) {
		sm, ec := spoke(account, "", 2) // the VPC's account does not name the owner: its own
		_, h := hub(account, account)
		ec.vpcs = append(ec.vpcs, h.vpcs...)
		ec.subnets = append(ec.subnets, h.subnets...)
		ec.tables = append(ec.tables, h.tables...)
		ec.nats, ec.igws, ec.acls = h.nats, h.igws, append(ec.acls, h.acls...)
		ec.tgwAtts, ec.tgwVPCAtts = h.tgwAtts, h.tgwVPCAtts
		ec.tgwTables, ec.tgwRoutes = h.tgwTables, h.tgwRoutes
		ec.prefixLists, ec.plEntries[partnersPL] = append(ec.prefixLists, h.prefixLists...), h.plEntries[partnersPL]
		return sm, ec
	}}
	inv, err := collectFrom(context.Background(), src, "eu-west-1", CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Regions) != 1 || len(inv.NetworkAccounts) != 0 {
		t.Fatalf("%d entries, network accounts %v; want the caller's one entry", len(inv.Regions), inv.NetworkAccounts)
	}
	r := inv.Regions[0]
	if r.NetworkOnly || len(r.Errors) != 0 || src.built[caller+"/eu-west-1"] != 1 {
		t.Errorf("network only %v, errors %+v, clients built %d times", r.NetworkOnly, r.Errors, src.built[caller+"/eu-west-1"])
	}
	if diff := cmp.Diff(&inventory.Coverage{VPCs: []string{spokeVPC(caller), egressVPC}, TransitGateways: []string{hubTGW}}, r.Coverage); diff != "" {
		t.Errorf("coverage (-want +got):\n%s", diff)
	}
	// The owner's read replaced the VPC's own record: with its association.
	att, ok := vpcAttachment(r.TransitGatewayAttachments, hubTGW, spokeVPC(caller))
	if !ok || att.RouteTableID != spokesTable {
		t.Errorf("the spoke's attachment %+v: want the owner's record, associated with %s", att, spokesTable)
	}
	if got := ids(r.PrefixLists, func(p inventory.PrefixList) string { return p.ID }); !slices.Equal(got, []string{spokePL, partnersPL, s3PL}) {
		t.Errorf("prefix lists %v", got)
	}
}

// TestFollowUpCallsDoNotGrowWithNotebooks is the call budget: the same
// calls in every account-region for 3 and for 300 notebooks per spoke.
func TestFollowUpCallsDoNotGrowWithNotebooks(t *testing.T) {
	spokes := accountIDs(2)
	calls := map[int]map[string]map[string]int{}
	for _, n := range []int{3, 300} {
		src := &fakeSource{regionNames: []string{"eu-west-1"}, estate: hubAndSpokes(network, spokes, n)}
		inv, err := collectFrom(context.Background(), src, "eu-west-1", CollectOptions{Accounts: spokes, NetworkAccounts: []string{network}, Role: audit})
		if err != nil {
			t.Fatal(err)
		}
		calls[n] = map[string]map[string]int{}
		for _, r := range inv.Regions {
			if len(r.Errors) != 0 {
				t.Fatalf("%s/%s errors %+v", r.AccountID, r.Region, r.Errors)
			}
			calls[n][r.AccountID] = src.ec2Of(r.AccountID, r.Region).counts()
			if !r.NetworkOnly && len(r.Notebooks) != n {
				t.Fatalf("%s: %d notebooks, want %d", r.AccountID, len(r.Notebooks), n)
			}
		}
	}
	if diff := cmp.Diff(calls[3], calls[300]); diff != "" {
		t.Errorf("EC2 calls per account-region for 3 (-) and 300 (+) notebooks per spoke:\n%s", diff)
	}
	total := func(m map[string]int) int {
		n := 0
		for _, c := range m {
			n += c
		}
		return n
	}
	// Spoke: round 1 (subnets, groups), round 2 (ten), round 3 (the
	// lists, one customer list's entries). Network account: three
	// describes of the gateway, two searches, the egress VPC's round 2,
	// one list and its entries.
	if got := total(calls[300][spokes[0]]); got != 14 {
		t.Errorf("spoke EC2 calls = %d, want 14: %v", got, calls[300][spokes[0]])
	}
	if got := total(calls[300][network]); got != 17 {
		t.Errorf("network account EC2 calls = %d, want 17: %v", got, calls[300][network])
	}
}

func TestMayCarryPublic(t *testing.T) {
	tests := []struct {
		cidr, v6, pl string
		want         bool
	}{
		{cidr: "0.0.0.0/0", want: true},
		{cidr: "0.0.0.0/1", want: true},
		{cidr: "128.0.0.0/1", want: true},
		{cidr: "8.8.8.0/24", want: true},
		{cidr: "10.0.0.0/8", want: false},
		{cidr: "10.20.0.0/16", want: false},
		{cidr: "172.16.0.0/12", want: false},
		{cidr: "172.0.0.0/8", want: true}, // holds more than 172.16/12
		{cidr: "192.168.1.0/24", want: false},
		{cidr: "100.64.0.0/10", want: false},
		{cidr: "127.0.0.1/32", want: false},
		{cidr: "169.254.169.254/32", want: false},
		{cidr: "10.0.0.5/8", want: false}, // host bits set: the /8 still
		{v6: "::/0", want: true},
		{v6: "2000::/3", want: true},
		{v6: "fd00::/8", want: false},
		{v6: "fe80::/64", want: false},
		{pl: "pl-123", want: true},
		{cidr: "not a cidr", want: true},
		{want: false},
	}
	for _, tt := range tests {
		if got := mayCarryPublic(tt.cidr, tt.v6, tt.pl); got != tt.want {
			t.Errorf("mayCarryPublic(%q, %q, %q) = %v, want %v", tt.cidr, tt.v6, tt.pl, got, tt.want)
		}
	}
}

// chain is one account-region where the notebooks' VPC, vpc-0, sends
// 0.0.0.0/0 to tgw-1, whose route table sends it to vpc-1, which sends it
// to tgw-2, and so on up to tgw-n and vpc-n.
func chain(n int) func(account, region string) (*fakeSageMaker, *fakeEC2) {
	return func(account, _ string) (*fakeSageMaker, *fakeEC2) {
		sm := &fakeSageMaker{notebooks: []*sagemaker.DescribeNotebookInstanceOutput{vpcNotebook("nb", "subnet-0", "sg-0")}}
		ec := &fakeEC2{
			subnets:   []ec2types.Subnet{{SubnetId: aws.String("subnet-0"), VpcId: aws.String("vpc-0")}},
			groups:    []ec2types.SecurityGroup{{GroupId: aws.String("sg-0"), VpcId: aws.String("vpc-0")}},
			tgwRoutes: map[string][]ec2types.TransitGatewayRoute{},
		}
		for i := 0; i <= n; i++ {
			vpc, tgw, next := fmt.Sprintf("vpc-%d", i), fmt.Sprintf("tgw-%d", i), fmt.Sprintf("tgw-%d", i+1)
			ec.vpcs = append(ec.vpcs, ec2types.Vpc{VpcId: aws.String(vpc)})
			ec.tables = append(ec.tables, ec2types.RouteTable{RouteTableId: aws.String("rtb-" + vpc), VpcId: aws.String(vpc),
				Associations: []ec2types.RouteTableAssociation{{Main: aws.Bool(true)}},
				Routes:       []ec2types.Route{{DestinationCidrBlock: aws.String("0.0.0.0/0"), TransitGatewayId: aws.String(next), State: ec2types.RouteStateActive}}})
			// vpc-i's attachment to the next gateway, and (i > 0) gateway
			// i's attachment to vpc-i, the target of its route table.
			ec.tgwAtts = append(ec.tgwAtts, ec2types.TransitGatewayAttachment{TransitGatewayAttachmentId: aws.String("att-" + vpc + "-" + next),
				TransitGatewayId: aws.String(next), ResourceType: ec2types.TransitGatewayAttachmentResourceTypeVpc, ResourceId: aws.String(vpc),
				State: ec2types.TransitGatewayAttachmentStateAvailable})
			if i == 0 {
				continue
			}
			att := "att-" + tgw + "-" + vpc
			ec.tgwAtts = append(ec.tgwAtts, ec2types.TransitGatewayAttachment{TransitGatewayAttachmentId: aws.String(att),
				TransitGatewayId: aws.String(tgw), ResourceType: ec2types.TransitGatewayAttachmentResourceTypeVpc, ResourceId: aws.String(vpc),
				State: ec2types.TransitGatewayAttachmentStateAvailable})
			ec.tgwTables = append(ec.tgwTables, ec2types.TransitGatewayRouteTable{TransitGatewayRouteTableId: aws.String("tgw-rtb-" + tgw), TransitGatewayId: aws.String(tgw)})
			ec.tgwRoutes["tgw-rtb-"+tgw] = []ec2types.TransitGatewayRoute{{DestinationCidrBlock: aws.String("0.0.0.0/0"), State: ec2types.TransitGatewayRouteStateActive,
				Type: ec2types.TransitGatewayRouteTypeStatic, TransitGatewayAttachments: []ec2types.TransitGatewayRouteAttachment{{
					TransitGatewayAttachmentId: aws.String(att), ResourceType: ec2types.TransitGatewayAttachmentResourceTypeVpc, ResourceId: aws.String(vpc)}}}}
		}
		return sm, ec
	}
}

// TestFollowUpStopsAfterItsRoundsAndSaysWhatItDidNotRead: a chain of
// gateways and VPCs longer than the rounds is followed four hops deep;
// the next gateway is recorded as not read (the analysis fails closed
// there), not left to look out of sight.
func TestFollowUpStopsAfterItsRoundsAndSaysWhatItDidNotRead(t *testing.T) {
	src := &fakeSource{regionNames: []string{"eu-west-1"}, estate: chain(6)}
	inv, err := collectFrom(context.Background(), src, "eu-west-1", CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := inv.Regions[0]
	want := &inventory.Coverage{VPCs: []string{"vpc-0", "vpc-1", "vpc-2", "vpc-3", "vpc-4"}, TransitGateways: []string{"tgw-1", "tgw-2", "tgw-3", "tgw-4"}}
	if diff := cmp.Diff(want, r.Coverage); diff != "" {
		t.Errorf("coverage after %d rounds (-want +got):\n%s", maxFollowUpRounds, diff)
	}
	wantErrs := []inventory.CollectError{{AccountID: caller, Region: "eu-west-1", Operation: awsop.DescribeTransitGatewayRouteTables, Resource: "tgw-5",
		Code: CodeNotRead, Message: "transit gateway tgw-5 is on a path, but the scan stopped following paths after 4 rounds"}}
	if diff := cmp.Diff(wantErrs, r.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}

	// A chain within the rounds ends with nothing left unread.
	src = &fakeSource{regionNames: []string{"eu-west-1"}, estate: chain(3)}
	if inv, err = collectFrom(context.Background(), src, "eu-west-1", CollectOptions{}); err != nil {
		t.Fatal(err)
	}
	// tgw-4 is the last gateway; vpc-3 routes to it and it has no table.
	if r := inv.Regions[0]; len(r.Errors) != 0 || !slices.Equal(r.Coverage.TransitGateways, []string{"tgw-1", "tgw-2", "tgw-3", "tgw-4"}) {
		t.Errorf("errors %+v, coverage %+v", r.Errors, r.Coverage)
	}
}
