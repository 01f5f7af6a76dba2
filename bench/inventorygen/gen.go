// Package inventorygen generates large, realistic, reproducible inventories
// for benchmarks: accounts × regions of notebooks spread over VPCs laid out
// the usual way (NAT, isolated, public and transit subnets, an S3 gateway
// endpoint), ten security groups per VPC (open, VPC-only, one partner
// CIDR), network ACLs and ENIs, with every verdict represented. The same
// seed gives the same inventory.
package inventorygen

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/sagefence/sagefence/internal/inventory"
)

// Options size the estate.
type Options struct {
	Notebooks int // in all
	// PerRegion is the most notebooks per account-region (10,000 when 0).
	PerRegion int
	// RegionsPerAccount (4 when 0) cycle through a fixed list.
	RegionsPerAccount int
	Seed              uint64
}

var regionNames = []string{"us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2", "eu-central-1", "ap-northeast-1", "sa-east-1", "ca-central-1"}

// Generate builds the inventory.
func Generate(o Options) *inventory.Inventory {
	if o.PerRegion <= 0 {
		o.PerRegion = 10_000
	}
	if o.RegionsPerAccount <= 0 {
		o.RegionsPerAccount = 4
	}
	o.RegionsPerAccount = min(o.RegionsPerAccount, len(regionNames))
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5eed))
	inv := &inventory.Inventory{
		SchemaVersion: inventory.SchemaVersion,
		CollectedAt:   time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC),
		Partition:     "aws",
	}
	left := o.Notebooks
	for i := 0; left > 0; i++ {
		account := fmt.Sprintf("%012d", 100000000000+(i/o.RegionsPerAccount)*7919)
		region := regionNames[i%o.RegionsPerAccount]
		n := min(o.PerRegion, left)
		left -= n
		inv.Regions = append(inv.Regions, region1(rng, account, region, n))
	}
	return inv
}

// region1 is one account-region of n notebooks.
func region1(rng *rand.Rand, account, region string, n int) inventory.Region {
	reg := inventory.Region{AccountID: account, Region: region, Coverage: &inventory.Coverage{},
		PrefixLists: []inventory.PrefixList{{ID: "pl-63a5400a", Name: "com.amazonaws." + region + ".s3", OwnerID: "AWS", AddressFamily: "IPv4"}}}
	vpcs := max(1, min(20, n/50))
	type place struct{ subnet, vpc string }
	var places []place
	var groupsOf [][]string
	for v := range vpcs {
		vpc := fmt.Sprintf("vpc-%08x%09d", rng.Uint32(), v)
		cidr := fmt.Sprintf("10.%d.0.0/16", v)
		reg.VPCs = append(reg.VPCs, inventory.VPC{ID: vpc, CIDRBlocks: []string{cidr}})
		local := inventory.Route{DestinationCIDR: cidr, GatewayID: "local", State: "active"}
		nat := fmt.Sprintf("nat-%017d", v)
		igw := fmt.Sprintf("igw-%017d", v)
		// The NAT gateway lives in the public subnet (kind 2), whose table
		// routes to the attached internet gateway.
		reg.NATGateways = append(reg.NATGateways, inventory.NATGateway{ID: nat, VPCID: vpc, SubnetID: fmt.Sprintf("subnet-%s-%d", vpc[4:], 2), State: "available", ConnectivityType: "public"})
		reg.InternetGateways = append(reg.InternetGateways, inventory.InternetGateway{ID: igw, VPCIDs: []string{vpc},
			Attachments: []inventory.GatewayAttachment{{VPCID: vpc, State: "available"}}})
		reg.Coverage.VPCs = append(reg.Coverage.VPCs, vpc)
		// The transit subnet's VPC is attached to a transit gateway of a
		// network account this estate does not hold: sight ends there.
		reg.TransitGatewayAttachments = append(reg.TransitGatewayAttachments, inventory.TransitGatewayAttachment{
			ID: fmt.Sprintf("tgw-attach-%09d%08d", v, rng.Uint32()%1e8), TransitGatewayID: "tgw-0123456789abcdef0", TransitGatewayOwnerID: "999999999999",
			ResourceType: "vpc", ResourceID: vpc, ResourceOwnerID: account, State: "available", SubnetIDs: []string{fmt.Sprintf("subnet-%s-%d", vpc[4:], 3)}})
		vpce := fmt.Sprintf("vpce-%016d", v)
		reg.VPCEndpoints = append(reg.VPCEndpoints, inventory.VPCEndpoint{ID: vpce, VPCID: vpc, Type: "Gateway", ServiceName: "com.amazonaws." + region + ".s3"})
		kinds := [][]inventory.Route{
			{local, {DestinationCIDR: "0.0.0.0/0", NATGatewayID: nat, State: "active"}, {DestinationPrefixListID: "pl-63a5400a", GatewayID: vpce, State: "active"}},
			{local},
			{local, {DestinationCIDR: "0.0.0.0/0", GatewayID: igw, State: "active"}},
			{local, {DestinationCIDR: "0.0.0.0/0", TransitGatewayID: "tgw-0123456789abcdef0", State: "active"}},
		}
		var subnets []string
		for k, routes := range kinds {
			sub := fmt.Sprintf("subnet-%s-%d", vpc[4:], k)
			subnets = append(subnets, sub)
			reg.Subnets = append(reg.Subnets, inventory.Subnet{ID: sub, VPCID: vpc, CIDRBlock: fmt.Sprintf("10.%d.%d.0/24", v, k), MapPublicIPOnLaunch: k == 2})
			reg.RouteTables = append(reg.RouteTables, inventory.RouteTable{ID: "rtb-" + sub[7:], VPCID: vpc, SubnetIDs: []string{sub}, Routes: routes})
			places = append(places, place{sub, vpc})
		}
		reg.RouteTables = append(reg.RouteTables, inventory.RouteTable{ID: "rtb-main-" + vpc[4:], VPCID: vpc, Main: true, Routes: []inventory.Route{local}})
		reg.NetworkACLs = append(reg.NetworkACLs, inventory.NetworkACL{ID: "acl-" + vpc[4:], VPCID: vpc, Default: true, SubnetIDs: subnets, Entries: []inventory.ACLEntry{
			{RuleNumber: 100, Egress: true, Protocol: "-1", Action: "allow", CIDR: "0.0.0.0/0"},
			{RuleNumber: 32767, Egress: true, Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"},
			{RuleNumber: 100, Protocol: "-1", Action: "allow", CIDR: "0.0.0.0/0"},
			{RuleNumber: 32767, Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"},
		}})
		var groups []string
		for g := range 10 {
			sg := inventory.SecurityGroup{ID: fmt.Sprintf("sg-%s%02d", vpc[4:], g), Name: fmt.Sprintf("group-%d", g), VPCID: vpc, Ingress: []inventory.SGRule{}}
			switch g % 3 {
			case 0:
				sg.Egress = []inventory.SGRule{{Protocol: "-1", CIDRs: []string{"0.0.0.0/0"}}}
			case 1:
				sg.Egress = []inventory.SGRule{{Protocol: "-1", CIDRs: []string{cidr}}}
			default:
				sg.Egress = []inventory.SGRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"52.94.0.0/22"}}}
			}
			reg.SecurityGroups = append(reg.SecurityGroups, sg)
			groups = append(groups, sg.ID)
		}
		for range kinds {
			groupsOf = append(groupsOf, groups)
		}
	}
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		name := fmt.Sprintf("nb-%s-%s-%06d", account[8:], region, i)
		nb := inventory.Notebook{
			Name: name, ARN: "arn:aws:sagemaker:" + region + ":" + account + ":notebook-instance/" + name,
			Status: "InService", RootAccess: "Enabled", InstanceType: "ml.t3.medium", VolumeSizeInGB: 5,
			RoleARN:      "arn:aws:iam::" + account + ":role/SageMakerNotebookRole",
			CreationTime: &created,
			Tags:         map[string]string{"team": fmt.Sprintf("team-%d", rng.IntN(40)), "env": []string{"dev", "staging", "prod"}[rng.IntN(3)]},
		}
		if rng.IntN(10) == 0 {
			nb.DirectInternetAccess = inventory.DirectInternetAccessEnabled
		} else {
			p := rng.IntN(len(places))
			groups := groupsOf[p]
			nb.DirectInternetAccess = inventory.DirectInternetAccessDisabled
			nb.SubnetID = places[p].subnet
			nb.SecurityGroupIDs = []string{groups[rng.IntN(len(groups))]}
			nb.NetworkInterfaceID = fmt.Sprintf("eni-%s%06d", account[6:], i)
			reg.NetworkInterfaces = append(reg.NetworkInterfaces, inventory.NetworkInterface{
				ID: nb.NetworkInterfaceID, SubnetID: nb.SubnetID, VPCID: places[p].vpc,
				PrivateIPAddress: fmt.Sprintf("10.%d.%d.%d", p/4, p%4, 4+i%250), SecurityGroupIDs: nb.SecurityGroupIDs,
			})
		}
		reg.Notebooks = append(reg.Notebooks, nb)
	}
	return reg
}
