package pathref

import (
	"github.com/sagefence/sagefence/internal/inventory"
)

// The hand-built estates below are one row of docs/path-model.md each.
// They are exported (from a test file) so that the external property
// test can hold the product to the same rows.

// Accounts and region of the hand-built estates.
const (
	CaseAccount = "111111111111"
	CaseNetwork = "222222222222"
	CaseRegion  = "us-east-1"
	CaseNB      = "nb"
)

// CaseKey is the notebook every case is about.
var CaseKey = Key{CaseAccount, CaseRegion, CaseNB}

// PublicV4 is the size of P4: 2^32 minus the RFC 6890 ranges, counted by
// hand.
const PublicV4 = "3702258688"

// Want is what the reference must answer for a case.
type Want struct {
	Unknown, Open, Opaque, NotApplicable bool
	Paths                                []string
	// ReachV4 is the exact count when not empty.
	ReachV4 string
	// End is a substring of some end's description, when not empty.
	End string
}

// SpecCase is one hand-built estate.
type SpecCase struct {
	Name string
	Inv  *inventory.Inventory
	Want Want
}

func allowAll(id, vpc string, subnets ...string) inventory.NetworkACL {
	return inventory.NetworkACL{ID: id, VPCID: vpc, SubnetIDs: subnets, Entries: []inventory.ACLEntry{
		{RuleNumber: 100, Egress: true, Protocol: "-1", Action: "allow", CIDR: "0.0.0.0/0"},
		{RuleNumber: 101, Egress: true, Protocol: "-1", Action: "allow", IPv6CIDR: "::/0"},
		{RuleNumber: 32767, Egress: true, Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"},
		{RuleNumber: 100, Protocol: "-1", Action: "allow", CIDR: "0.0.0.0/0"},
		{RuleNumber: 101, Protocol: "-1", Action: "allow", IPv6CIDR: "::/0"},
		{RuleNumber: 32767, Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"},
	}}
}

func local(cidr string) inventory.Route {
	return inventory.Route{DestinationCIDR: cidr, GatewayID: "local", State: "active"}
}

// baseCase is a notebook in subnet-app whose default route goes to a
// public NAT gateway in subnet-nat, whose default route goes to an
// attached internet gateway; every ACL and group allows everything.
func baseCase() *inventory.Inventory {
	return &inventory.Inventory{
		SchemaVersion: inventory.SchemaVersion,
		Regions: []inventory.Region{{
			AccountID: CaseAccount, Region: CaseRegion,
			Notebooks: []inventory.Notebook{{
				Name: CaseNB, DirectInternetAccess: "Disabled", SubnetID: "subnet-app",
				SecurityGroupIDs: []string{"sg-1"}, NetworkInterfaceID: "eni-1",
			}},
			VPCs: []inventory.VPC{{ID: "vpc-app", CIDRBlocks: []string{"10.0.0.0/16"}}},
			Subnets: []inventory.Subnet{
				{ID: "subnet-app", VPCID: "vpc-app", CIDRBlock: "10.0.1.0/24", AvailabilityZone: "us-east-1a"},
				{ID: "subnet-nat", VPCID: "vpc-app", CIDRBlock: "10.0.2.0/24", AvailabilityZone: "us-east-1a"},
			},
			RouteTables: []inventory.RouteTable{
				{ID: "rtb-app", VPCID: "vpc-app", SubnetIDs: []string{"subnet-app"}, Routes: []inventory.Route{
					local("10.0.0.0/16"),
					{DestinationCIDR: "0.0.0.0/0", NATGatewayID: "nat-1", State: "active"},
				}},
				{ID: "rtb-nat", VPCID: "vpc-app", Main: true, SubnetIDs: []string{"subnet-nat"}, Routes: []inventory.Route{
					local("10.0.0.0/16"),
					{DestinationCIDR: "0.0.0.0/0", GatewayID: "igw-1", State: "active"},
				}},
			},
			NATGateways: []inventory.NATGateway{{ID: "nat-1", VPCID: "vpc-app", SubnetID: "subnet-nat", State: "available", ConnectivityType: "public"}},
			InternetGateways: []inventory.InternetGateway{{ID: "igw-1", VPCIDs: []string{"vpc-app"},
				Attachments: []inventory.GatewayAttachment{{VPCID: "vpc-app", State: "available"}}}},
			SecurityGroups: []inventory.SecurityGroup{{ID: "sg-1", VPCID: "vpc-app",
				Egress: []inventory.SGRule{{Protocol: "-1", CIDRs: []string{"0.0.0.0/0"}}}}},
			NetworkACLs:       []inventory.NetworkACL{allowAll("acl-1", "vpc-app", "subnet-app", "subnet-nat")},
			NetworkInterfaces: []inventory.NetworkInterface{{ID: "eni-1", SubnetID: "subnet-app", VPCID: "vpc-app", PrivateIPAddress: "10.0.1.10"}},
			Coverage:          &inventory.Coverage{VPCs: []string{"vpc-app"}},
		}},
	}
}

// hubCase adds a transit gateway owned by the network account (read for
// networking) and an egress VPC there with a NAT gateway; the notebook's
// subnet sends its default route to the transit gateway.
func hubCase() *inventory.Inventory {
	inv := baseCase()
	app := &inv.Regions[0]
	app.RouteTables[0].Routes[1] = inventory.Route{DestinationCIDR: "0.0.0.0/0", TransitGatewayID: "tgw-1", State: "active"}
	app.TransitGatewayAttachments = []inventory.TransitGatewayAttachment{{
		ID: "tgw-attach-app", TransitGatewayID: "tgw-1", TransitGatewayOwnerID: CaseNetwork,
		ResourceType: "vpc", ResourceID: "vpc-app", ResourceOwnerID: CaseAccount, State: "available",
		SubnetIDs: []string{"subnet-app"},
	}}
	inv.NetworkAccounts = []string{CaseNetwork}
	inv.Regions = append(inv.Regions, inventory.Region{
		AccountID: CaseNetwork, Region: CaseRegion, NetworkOnly: true,
		VPCs: []inventory.VPC{{ID: "vpc-egress", CIDRBlocks: []string{"10.9.0.0/16"}}},
		Subnets: []inventory.Subnet{
			{ID: "subnet-tgw", VPCID: "vpc-egress", CIDRBlock: "10.9.1.0/24", AvailabilityZone: "us-east-1a"},
			{ID: "subnet-egress-nat", VPCID: "vpc-egress", CIDRBlock: "10.9.2.0/24", AvailabilityZone: "us-east-1a"},
		},
		RouteTables: []inventory.RouteTable{
			{ID: "rtb-tgw", VPCID: "vpc-egress", SubnetIDs: []string{"subnet-tgw"}, Routes: []inventory.Route{
				local("10.9.0.0/16"),
				{DestinationCIDR: "0.0.0.0/0", NATGatewayID: "nat-egress", State: "active"},
			}},
			{ID: "rtb-egress-nat", VPCID: "vpc-egress", Main: true, SubnetIDs: []string{"subnet-egress-nat"}, Routes: []inventory.Route{
				local("10.9.0.0/16"),
				{DestinationCIDR: "10.0.0.0/8", TransitGatewayID: "tgw-1", State: "active"},
				{DestinationCIDR: "0.0.0.0/0", GatewayID: "igw-egress", State: "active"},
			}},
		},
		NATGateways: []inventory.NATGateway{{ID: "nat-egress", VPCID: "vpc-egress", SubnetID: "subnet-egress-nat", State: "available"}},
		InternetGateways: []inventory.InternetGateway{{ID: "igw-egress", VPCIDs: []string{"vpc-egress"},
			Attachments: []inventory.GatewayAttachment{{VPCID: "vpc-egress", State: "attached"}}}},
		NetworkACLs: []inventory.NetworkACL{allowAll("acl-egress", "vpc-egress", "subnet-tgw", "subnet-egress-nat")},
		TransitGatewayAttachments: []inventory.TransitGatewayAttachment{
			{ID: "tgw-attach-app", TransitGatewayID: "tgw-1", TransitGatewayOwnerID: CaseNetwork, ResourceType: "vpc",
				ResourceID: "vpc-app", ResourceOwnerID: CaseAccount, State: "available", RouteTableID: "tgw-rtb-spoke", AssociationState: "associated"},
			{ID: "tgw-attach-egress", TransitGatewayID: "tgw-1", TransitGatewayOwnerID: CaseNetwork, ResourceType: "vpc",
				ResourceID: "vpc-egress", ResourceOwnerID: CaseNetwork, State: "available", RouteTableID: "tgw-rtb-egress",
				AssociationState: "associated", SubnetIDs: []string{"subnet-tgw"}},
		},
		TransitGatewayRouteTables: []inventory.TransitGatewayRouteTable{
			{ID: "tgw-rtb-spoke", TransitGatewayID: "tgw-1", Routes: []inventory.TransitGatewayRoute{
				{DestinationCIDR: "0.0.0.0/0", Type: "static", State: "active",
					Attachments: []inventory.TransitGatewayRouteAttachment{{ID: "tgw-attach-egress", ResourceType: "vpc", ResourceID: "vpc-egress"}}},
			}},
			{ID: "tgw-rtb-egress", TransitGatewayID: "tgw-1", Routes: []inventory.TransitGatewayRoute{
				{DestinationCIDR: "10.0.0.0/16", Type: "propagated", State: "active",
					Attachments: []inventory.TransitGatewayRouteAttachment{{ID: "tgw-attach-app", ResourceType: "vpc", ResourceID: "vpc-app"}}},
			}},
		},
		Coverage: &inventory.Coverage{VPCs: []string{"vpc-egress"}, TransitGateways: []string{"tgw-1"}},
	})
	return inv
}

// with applies changes to a fresh estate.
func with(inv *inventory.Inventory, change func(app *inventory.Region, inv *inventory.Inventory)) *inventory.Inventory {
	change(&inv.Regions[0], inv)
	return inv
}

func appDefault(r inventory.Route) func(*inventory.Region, *inventory.Inventory) {
	return func(app *inventory.Region, _ *inventory.Inventory) { app.RouteTables[0].Routes[1] = r }
}

func egressRule(rules ...inventory.SGRule) func(*inventory.Region, *inventory.Inventory) {
	return func(app *inventory.Region, _ *inventory.Inventory) { app.SecurityGroups[0].Egress = rules }
}

// SpecCases returns the hand-built estates, fresh on every call.
func SpecCases() []SpecCase {
	open := Want{Open: true, Paths: []string{"nat"}, ReachV4: PublicV4}
	none := Want{ReachV4: "0"}
	unknown := Want{Unknown: true}
	return []SpecCase{
		{"public NAT with an IGW route is open", baseCase(), open},
		{"IGW with a public IP on the interface", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.RouteTables[0].Routes[1] = inventory.Route{DestinationCIDR: "0.0.0.0/0", GatewayID: "igw-1"}
			app.NetworkInterfaces[0].PublicIP = "54.1.2.3"
		}), Want{Open: true, Paths: []string{"igw"}, ReachV4: PublicV4}},
		{"IGW without a public IP drops a private source",
			with(baseCase(), appDefault(inventory.Route{DestinationCIDR: "0.0.0.0/0", GatewayID: "igw-1"})), none},
		{"detached IGW is a blackhole", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.InternetGateways[0].Attachments[0].State = "detached"
		}), none},
		{"IGW absent from a covered read is a blackhole", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.InternetGateways = nil
		}), none},
		{"IGW absent from a failed read is unknown", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.InternetGateways = nil
			app.Errors = []inventory.CollectError{{Operation: "ec2:DescribeInternetGateways", Message: "throttled"}}
		}), unknown},
		{"NAT subnet without an IGW route", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.RouteTables[1].Routes = app.RouteTables[1].Routes[:1]
		}), none},
		{"private NAT never uses the IGW", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.NATGateways[0].ConnectivityType = "private"
		}), none},
		{"deleted NAT is a blackhole", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.NATGateways[0].State = "deleted"
		}), none},
		{"NAT subnet ACL denies egress", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.NetworkACLs[0].SubnetIDs = []string{"subnet-app"}
			deny := allowAll("acl-nat", "vpc-app", "subnet-nat")
			deny.Entries[0].Action = "deny"
			app.NetworkACLs = append(app.NetworkACLs, deny)
		}), none},
		{"NAT subnet ACL admits only private sources, so no reply", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.NetworkACLs[0].SubnetIDs = []string{"subnet-app"}
			acl := allowAll("acl-nat", "vpc-app", "subnet-nat")
			acl.Entries[3].CIDR = "10.0.0.0/8"
			app.NetworkACLs = append(app.NetworkACLs, acl)
		}), none},
		{"NAT subnet ACL denies the notebook's source", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.NetworkACLs[0].SubnetIDs = []string{"subnet-app"}
			acl := allowAll("acl-nat", "vpc-app", "subnet-nat")
			acl.Entries = append(acl.Entries, inventory.ACLEntry{RuleNumber: 50, Protocol: "-1", Action: "deny", CIDR: "10.0.1.0/24"})
			app.NetworkACLs = append(app.NetworkACLs, acl)
		}), none},
		{"split default to a deleted NAT", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.NATGateways = append(app.NATGateways, inventory.NATGateway{ID: "nat-old", VPCID: "vpc-app", SubnetID: "subnet-nat", State: "deleted"})
			app.RouteTables[0].Routes = append(app.RouteTables[0].Routes,
				inventory.Route{DestinationCIDR: "0.0.0.0/1", NATGatewayID: "nat-old", State: "blackhole"},
				inventory.Route{DestinationCIDR: "128.0.0.0/1", NATGatewayID: "nat-old"})
		}), none},
		{"peering is not transitive",
			with(baseCase(), appDefault(inventory.Route{DestinationCIDR: "0.0.0.0/0", VPCPeeringConnectionID: "pcx-1"})), none},
		{"appliance interface is opaque",
			with(baseCase(), appDefault(inventory.Route{DestinationCIDR: "0.0.0.0/0", NetworkInterfaceID: "eni-fw"})),
			Want{Opaque: true, Paths: []string{"appliance"}, ReachV4: "0"}},
		{"gateway endpoint is an AWS service", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.RouteTables[0].Routes[1] = inventory.Route{DestinationCIDR: "0.0.0.0/0", GatewayID: "vpce-s3"}
			app.VPCEndpoints = []inventory.VPCEndpoint{{ID: "vpce-s3", VPCID: "vpc-app", Type: "Gateway"}}
		}), none},
		{"Gateway Load Balancer endpoint is opaque", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.RouteTables[0].Routes[1] = inventory.Route{DestinationCIDR: "0.0.0.0/0", GatewayID: "vpce-fw"}
			app.VPCEndpoints = []inventory.VPCEndpoint{{ID: "vpce-fw", VPCID: "vpc-app", Type: "GatewayLoadBalancer"}}
		}), Want{Opaque: true, Paths: []string{"appliance"}, ReachV4: "0"}},
		{"endpoint missing from a covered read is an unrecognised endpoint",
			with(baseCase(), appDefault(inventory.Route{DestinationCIDR: "0.0.0.0/0", GatewayID: "vpce-gone"})),
			Want{Opaque: true, Paths: []string{"appliance"}, ReachV4: "0"}},
		{"virtual private gateway is opaque",
			with(baseCase(), appDefault(inventory.Route{DestinationCIDR: "0.0.0.0/0", GatewayID: "vgw-1"})),
			Want{Opaque: true, Paths: []string{"transit"}, ReachV4: "0"}},
		{"unrecognised gateway that carries traffic is unknown",
			with(baseCase(), appDefault(inventory.Route{DestinationCIDR: "0.0.0.0/0", GatewayID: "zzz-1"})), unknown},
		{"unrecognised gateway that wins nothing public is not consulted", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.RouteTables[0].Routes = append(app.RouteTables[0].Routes, inventory.Route{DestinationCIDR: "10.1.0.0/16", GatewayID: "zzz-1"})
		}), open},
		{"destination-less route is unknown", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.RouteTables[0].Routes = append(app.RouteTables[0].Routes, inventory.Route{GatewayID: "local"})
		}), unknown},
		{"routing loop through the NAT's own subnet", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.RouteTables[1].Routes[1] = inventory.Route{DestinationCIDR: "0.0.0.0/0", NATGatewayID: "nat-1"}
		}), none},
		{"customer prefix list holding 0.0.0.0/0 in a group rule", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.SecurityGroups[0].Egress = []inventory.SGRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, PrefixListIDs: []string{"pl-all"}}}
			app.PrefixLists = []inventory.PrefixList{{ID: "pl-all", OwnerID: CaseAccount, Entries: []string{"0.0.0.0/0"}}}
		}), open},
		{"customer prefix list of specific addresses", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.SecurityGroups[0].Egress = []inventory.SGRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, PrefixListIDs: []string{"pl-some"}}}
			app.PrefixLists = []inventory.PrefixList{{ID: "pl-some", OwnerID: CaseAccount, Entries: []string{"8.8.8.0/24", "10.0.0.0/8"}}}
		}), Want{Paths: []string{"nat"}, ReachV4: "256"}},
		{"AWS-managed prefix list carries no address", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.SecurityGroups[0].Egress = []inventory.SGRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, PrefixListIDs: []string{"pl-s3"}}}
			app.PrefixLists = []inventory.PrefixList{{ID: "pl-s3", OwnerID: "AWS", Name: "com.amazonaws.us-east-1.s3"}}
		}), none},
		{"prefix list missing from the inventory is unknown",
			with(baseCase(), egressRule(inventory.SGRule{Protocol: "tcp", FromPort: 443, ToPort: 443, PrefixListIDs: []string{"pl-gone"}})), unknown},
		{"blocklist ACL is open", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.NetworkACLs[0].Entries = append(app.NetworkACLs[0].Entries,
				inventory.ACLEntry{RuleNumber: 50, Egress: true, Protocol: "-1", Action: "deny", CIDR: "8.8.8.8/32"})
		}), Want{Open: true, Paths: []string{"nat"}, ReachV4: "3702258687"}},
		{"allowlist ACL is controlled egress", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.NetworkACLs[0].Entries[0].CIDR = "8.8.8.0/24"
			app.NetworkACLs[0].Entries = append(app.NetworkACLs[0].Entries,
				inventory.ACLEntry{RuleNumber: 90, Egress: true, Protocol: "-1", Action: "allow", CIDR: "10.0.0.0/8"})
		}), Want{Paths: []string{"nat"}, ReachV4: "256"}},
		{"ACL that denies replies on ephemeral ports", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.NetworkACLs[0].Entries = append(app.NetworkACLs[0].Entries,
				inventory.ACLEntry{RuleNumber: 10, Protocol: "6", Action: "deny", CIDR: "0.0.0.0/0", HasPorts: true, FromPort: 1024, ToPort: 65535},
				inventory.ACLEntry{RuleNumber: 11, Protocol: "17", Action: "deny", CIDR: "0.0.0.0/0", HasPorts: true, FromPort: 1024, ToPort: 65535})
			app.SecurityGroups[0].Egress = []inventory.SGRule{{Protocol: "tcp", FromPort: 0, ToPort: 65535, CIDRs: []string{"0.0.0.0/0"}}}
		}), none},
		{"bad ACL entry before the allow is unknown", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.NetworkACLs[0].Entries = append(app.NetworkACLs[0].Entries,
				inventory.ACLEntry{RuleNumber: 50, Egress: true, Protocol: "-1", Action: "deny", CIDR: "8.8.8.8/33"})
		}), unknown},
		{"unrecognised group protocol is unknown",
			with(baseCase(), egressRule(inventory.SGRule{Protocol: "tcpx", CIDRs: []string{"0.0.0.0/0"}})), unknown},
		{"unparsable group CIDR is unknown",
			with(baseCase(), egressRule(inventory.SGRule{Protocol: "-1", CIDRs: []string{"0.0.0.0/0 "}})), unknown},
		{"unrecognised protocol to private space only cannot matter",
			with(baseCase(), egressRule(inventory.SGRule{Protocol: "tcpx", CIDRs: []string{"10.0.0.0/8"}})), none},
		{"egress to a security group only", with(baseCase(), egressRule(inventory.SGRule{Protocol: "-1", SourceGroupIDs: []string{"sg-1"}})), none},
		{"empty security-group list is unknown", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.Notebooks[0].SecurityGroupIDs = nil
		}), unknown},
		{"interface missing from the inventory is unknown", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.NetworkInterfaces = nil
		}), unknown},
		{"IPv6 through an egress-only gateway", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.NetworkInterfaces[0].IPv6Addresses = []string{"2600:1f18:1::10"}
			app.Subnets[0].IPv6CIDRBlocks = []string{"2600:1f18:1::/64"}
			app.RouteTables[0].Routes = append(app.RouteTables[0].Routes, inventory.Route{DestinationIPv6CIDR: "::/0", EgressOnlyInternetGatewayID: "eigw-1"})
			app.EgressOnlyInternetGateways = []inventory.EgressOnlyInternetGateway{{ID: "eigw-1", VPCIDs: []string{"vpc-app"}}}
			app.SecurityGroups[0].Egress = []inventory.SGRule{{Protocol: "-1", IPv6CIDRs: []string{"::/0"}}}
		}), Want{Open: true, Paths: []string{"ipv6"}, ReachV4: "0"}},
		{"NAT64 is opaque", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.NetworkInterfaces[0].IPv6Addresses = []string{"2600:1f18:1::10"}
			app.RouteTables[0].Routes = append(app.RouteTables[0].Routes, inventory.Route{DestinationIPv6CIDR: "64:ff9b::/96", NATGatewayID: "nat-1"})
			app.SecurityGroups[0].Egress = []inventory.SGRule{{Protocol: "-1", IPv6CIDRs: []string{"::/0"}}}
		}), Want{Opaque: true, Paths: []string{"transit"}, ReachV4: "0"}},
		{"a NAT gateway absent from a schema 1 snapshot is deleted (schema 1 read the notebook's VPC whole)", with(baseCase(), func(app *inventory.Region, inv *inventory.Inventory) {
			inv.SchemaVersion = inventory.SchemaVersion1
			app.Coverage = nil
			app.NATGateways = nil
		}), none},
		{"a NAT gateway of a VPC a schema 2 snapshot did not read is opaque", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.Coverage.VPCs = nil
			app.NATGateways = nil
		}), Want{Opaque: true, Paths: []string{"transit"}, ReachV4: "0"}},
		{"a schema 1 transit gateway route is opaque: attachments were never read", with(hubCase(), func(app *inventory.Region, inv *inventory.Inventory) {
			inv.SchemaVersion = inventory.SchemaVersion1
			app.Coverage, app.TransitGatewayAttachments = nil, nil
			inv.Regions = inv.Regions[:1]
		}), Want{Opaque: true, Paths: []string{"transit"}, ReachV4: "0"}},
		{"direct internet access is not a path verdict", with(baseCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.Notebooks[0].DirectInternetAccess = "Enabled"
		}), Want{NotApplicable: true}},
		{"transit gateway to an egress VPC with a NAT", hubCase(), open},
		{"transit gateway blackhole", with(hubCase(), func(_ *inventory.Region, inv *inventory.Inventory) {
			inv.Regions[1].TransitGatewayRouteTables[0].Routes[0].State = "blackhole"
		}), none},
		{"transit gateway route table with private routes only", with(hubCase(), func(_ *inventory.Region, inv *inventory.Inventory) {
			inv.Regions[1].TransitGatewayRouteTables[0].Routes[0].DestinationCIDR = "10.9.0.0/16"
		}), none},
		{"egress attachment subnet without a default route", with(hubCase(), func(_ *inventory.Region, inv *inventory.Inventory) {
			inv.Regions[1].RouteTables[0].Routes = inv.Regions[1].RouteTables[0].Routes[:1]
		}), none},
		{"transit gateway to a VPN attachment is opaque", with(hubCase(), func(_ *inventory.Region, inv *inventory.Inventory) {
			inv.Regions[1].TransitGatewayRouteTables[0].Routes[0].Attachments[0] = inventory.TransitGatewayRouteAttachment{ID: "tgw-attach-vpn", ResourceType: "vpn"}
			inv.Regions[1].TransitGatewayAttachments = append(inv.Regions[1].TransitGatewayAttachments, inventory.TransitGatewayAttachment{
				ID: "tgw-attach-vpn", TransitGatewayID: "tgw-1", TransitGatewayOwnerID: CaseNetwork, ResourceType: "vpn", ResourceID: "vpn-1", State: "available"})
		}), Want{Opaque: true, Paths: []string{"transit"}, ReachV4: "0"}},
		{"transit gateway route to an attachment the owner does not have is a blackhole", with(hubCase(), func(_ *inventory.Region, inv *inventory.Inventory) {
			inv.Regions[1].TransitGatewayRouteTables[0].Routes[0].Attachments[0] = inventory.TransitGatewayRouteAttachment{ID: "tgw-attach-gone", ResourceType: "vpn"}
		}), none},
		{"transit gateway owner out of scope is opaque", with(hubCase(), func(_ *inventory.Region, inv *inventory.Inventory) {
			inv.NetworkAccounts = nil
			inv.Regions = inv.Regions[:1]
		}), Want{Opaque: true, Paths: []string{"transit"}, ReachV4: "0", End: "out of scope (--network-accounts " + CaseNetwork + ")"}},
		{"transit gateway owner in scope but not read is opaque", with(hubCase(), func(_ *inventory.Region, inv *inventory.Inventory) {
			inv.Regions = inv.Regions[:1]
		}), Want{Opaque: true, Paths: []string{"transit"}, ReachV4: "0", End: "not collected"}},
		{"transit gateway owner in scope but unreadable is unknown", with(hubCase(), func(_ *inventory.Region, inv *inventory.Inventory) {
			inv.Regions = inv.Regions[:1]
			inv.Errors = []inventory.CollectError{{AccountID: CaseNetwork, Operation: "sts:AssumeRole", Message: "AccessDenied"}}
		}), unknown},
		{"transit gateway route table read truncated is unknown", with(hubCase(), func(_ *inventory.Region, inv *inventory.Inventory) {
			inv.Regions[1].TransitGatewayRouteTables[0].Truncated = true
		}), unknown},
		{"transit gateway attachment only in another zone", with(hubCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.Subnets = append(app.Subnets, inventory.Subnet{ID: "subnet-b", VPCID: "vpc-app", CIDRBlock: "10.0.3.0/24", AvailabilityZone: "us-east-1b"})
			app.NetworkACLs[0].SubnetIDs = append(app.NetworkACLs[0].SubnetIDs, "subnet-b")
			app.TransitGatewayAttachments[0].SubnetIDs = []string{"subnet-b"}
		}), none},
		{"transit gateway attachment subnet ACL denies the source", with(hubCase(), func(app *inventory.Region, _ *inventory.Inventory) {
			app.Subnets = append(app.Subnets, inventory.Subnet{ID: "subnet-tgw-app", VPCID: "vpc-app", CIDRBlock: "10.0.3.0/24", AvailabilityZone: "us-east-1a"})
			acl := allowAll("acl-tgw-app", "vpc-app", "subnet-tgw-app")
			acl.Entries[3].CIDR = "10.0.2.0/24" // admits the NAT subnet, not the notebook
			app.NetworkACLs = append(app.NetworkACLs, acl)
			app.TransitGatewayAttachments[0].SubnetIDs = []string{"subnet-tgw-app"}
		}), none},
		{"egress VPC not collected is opaque", with(hubCase(), func(_ *inventory.Region, inv *inventory.Inventory) {
			inv.Regions[1].Coverage.VPCs = nil
		}), Want{Opaque: true, Paths: []string{"transit"}, ReachV4: "0"}},
	}
}
