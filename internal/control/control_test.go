package control

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
)

// A test estate (schema 2): one VPC (10.0.0.0/16) with subnet-a
// explicitly associated to rtb-a (local route only), a permissive network
// ACL, security groups sg-open (all egress to the internet) and
// sg-private (egress to the VPC only), and a public subnet subnet-nat
// (rtb-nat: 0.0.0.0/0 and ::/0 to the attached igw-1, its own permissive
// ACL) holding the NAT gateways. Each case changes what its rule is about.
func estate() *inventory.Region {
	return &inventory.Region{
		AccountID: "111122223333", Region: "us-east-1",
		Notebooks: []inventory.Notebook{{
			Name: "nb", DirectInternetAccess: "Disabled", SubnetID: "subnet-a",
			SecurityGroupIDs: []string{"sg-open"}, RootAccess: "Enabled", Status: "InService",
		}},
		VPCs: []inventory.VPC{{ID: "vpc-1", CIDRBlocks: []string{"10.0.0.0/16"}}},
		Subnets: []inventory.Subnet{
			{ID: "subnet-a", VPCID: "vpc-1", CIDRBlock: "10.0.1.0/24", AvailabilityZone: "us-east-1a"},
			{ID: "subnet-nat", VPCID: "vpc-1", CIDRBlock: "10.0.0.0/24", AvailabilityZone: "us-east-1a"},
		},
		RouteTables: []inventory.RouteTable{
			{ID: "rtb-a", VPCID: "vpc-1", SubnetIDs: []string{"subnet-a"}, Routes: []inventory.Route{local()}},
			{ID: "rtb-main", VPCID: "vpc-1", Main: true, Routes: []inventory.Route{local()}},
			{ID: "rtb-nat", VPCID: "vpc-1", SubnetIDs: []string{"subnet-nat"}, Routes: []inventory.Route{local(),
				route("0.0.0.0/0", toGW("igw-1")), route("::/0", toGW("igw-1"))}},
		},
		NATGateways: []inventory.NATGateway{
			{ID: "nat-pub", VPCID: "vpc-1", SubnetID: "subnet-nat", State: "available", ConnectivityType: "public"},
			{ID: "nat-priv", VPCID: "vpc-1", SubnetID: "subnet-nat", State: "available", ConnectivityType: "private"},
			{ID: "nat-gone", VPCID: "vpc-1", SubnetID: "subnet-nat", State: "deleted", ConnectivityType: "public"},
		},
		InternetGateways: []inventory.InternetGateway{{ID: "igw-1", VPCIDs: []string{"vpc-1"},
			Attachments: []inventory.GatewayAttachment{{VPCID: "vpc-1", State: "available"}}}},
		EgressOnlyInternetGateways: []inventory.EgressOnlyInternetGateway{{ID: "eigw-1", VPCIDs: []string{"vpc-1"}}},
		SecurityGroups: []inventory.SecurityGroup{
			{ID: "sg-open", VPCID: "vpc-1", Egress: []inventory.SGRule{{Protocol: "-1", CIDRs: []string{"0.0.0.0/0"}, IPv6CIDRs: []string{"::/0"}}}},
			{ID: "sg-private", VPCID: "vpc-1", Egress: []inventory.SGRule{{Protocol: "-1", CIDRs: []string{"10.0.0.0/8"}}}},
		},
		NetworkACLs: []inventory.NetworkACL{
			{ID: "acl-1", VPCID: "vpc-1", Default: true, SubnetIDs: []string{"subnet-a", "subnet-b"}, Entries: allowAll()},
			{ID: "acl-nat", VPCID: "vpc-1", SubnetIDs: []string{"subnet-nat"}, Entries: allowAll()},
		},
		VPCEndpoints: []inventory.VPCEndpoint{
			{ID: "vpce-s3", VPCID: "vpc-1", Type: "Gateway", ServiceName: "com.amazonaws.us-east-1.s3"},
			{ID: "vpce-gwlb", VPCID: "vpc-1", Type: "GatewayLoadBalancer"},
		},
		PrefixLists: []inventory.PrefixList{
			{ID: "pl-63a5400a", Name: "com.amazonaws.us-east-1.s3", OwnerID: "AWS", AddressFamily: "IPv4"},
			{ID: "pl-0open", Name: "everything", OwnerID: "111122223333", AddressFamily: "IPv4", Entries: []string{"0.0.0.0/0"}},
			{ID: "pl-0private", Name: "corp", OwnerID: "111122223333", AddressFamily: "IPv4", Entries: []string{"10.0.0.0/8", "192.168.0.0/16"}},
			{ID: "pl-0partners", Name: "partners", OwnerID: "111122223333", AddressFamily: "IPv4", Entries: []string{"52.94.0.0/22"}},
		},
		Coverage: &inventory.Coverage{VPCs: []string{"vpc-1"}},
	}
}

func local() inventory.Route {
	return inventory.Route{DestinationCIDR: "10.0.0.0/16", GatewayID: "local", State: "active"}
}

func allowAll() []inventory.ACLEntry {
	return []inventory.ACLEntry{
		{RuleNumber: 100, Egress: true, Protocol: "-1", Action: "allow", CIDR: "0.0.0.0/0"},
		{RuleNumber: 101, Egress: true, Protocol: "-1", Action: "allow", IPv6CIDR: "::/0"},
		{RuleNumber: 32767, Egress: true, Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"},
		{RuleNumber: 100, Egress: false, Protocol: "-1", Action: "allow", CIDR: "0.0.0.0/0"},
		{RuleNumber: 101, Egress: false, Protocol: "-1", Action: "allow", IPv6CIDR: "::/0"},
		{RuleNumber: 32767, Egress: false, Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"},
	}
}

func route(dest string, set func(*inventory.Route)) inventory.Route {
	r := inventory.Route{State: "active"}
	if strings.HasPrefix(dest, "pl-") {
		r.DestinationPrefixListID = dest
	} else if strings.Contains(dest, ":") {
		r.DestinationIPv6CIDR = dest
	} else {
		r.DestinationCIDR = dest
	}
	set(&r)
	return r
}

func toNAT(id string) func(*inventory.Route) { return func(r *inventory.Route) { r.NATGatewayID = id } }
func toGW(id string) func(*inventory.Route)  { return func(r *inventory.Route) { r.GatewayID = id } }

func addRoutes(rs ...inventory.Route) func(*inventory.Region) {
	return func(reg *inventory.Region) { reg.RouteTables[0].Routes = append(reg.RouteTables[0].Routes, rs...) }
}

func sgs(ids ...string) func(*inventory.Region) {
	return func(reg *inventory.Region) { reg.Notebooks[0].SecurityGroupIDs = ids }
}

func addSG(g inventory.SecurityGroup) func(*inventory.Region) {
	return func(reg *inventory.Region) { reg.SecurityGroups = append(reg.SecurityGroups, g) }
}

func withENI(eni inventory.NetworkInterface) func(*inventory.Region) {
	return func(reg *inventory.Region) {
		eni.ID = "eni-1"
		reg.NetworkInterfaces = append(reg.NetworkInterfaces, eni)
		reg.Notebooks[0].NetworkInterfaceID = "eni-1"
	}
}

func nbSet(f func(*inventory.Notebook)) func(*inventory.Region) {
	return func(reg *inventory.Region) { f(&reg.Notebooks[0]) }
}

func failOp(op string) func(*inventory.Region) {
	return func(reg *inventory.Region) {
		reg.Errors = append(reg.Errors, inventory.CollectError{Operation: op, Code: "UnauthorizedOperation", Message: "denied"})
	}
}

func aclEntries(es ...inventory.ACLEntry) func(*inventory.Region) {
	return func(reg *inventory.Region) { reg.NetworkACLs[0].Entries = es }
}

// foreignTGW attaches vpc-1 (subnet-a) to tgw-1, owned by an account the
// scan does not read.
func foreignTGW(reg *inventory.Region) {
	reg.TransitGatewayAttachments = append(reg.TransitGatewayAttachments, inventory.TransitGatewayAttachment{
		ID: "tgw-attach-spoke", TransitGatewayID: "tgw-1", TransitGatewayOwnerID: "999988887777", ResourceType: "vpc",
		ResourceID: "vpc-1", ResourceOwnerID: reg.AccountID, State: "available", SubnetIDs: []string{"subnet-a"}})
}

// schema1 strips what schema 2 added: the evaluation must treat it as not
// collected.
func schema1(reg *inventory.Region) {
	reg.Coverage, reg.PrefixLists, reg.TransitGatewayAttachments = nil, nil, nil
	for i := range reg.InternetGateways {
		reg.InternetGateways[i].Attachments = nil
	}
}

func publicSubnet(reg *inventory.Region) {
	reg.Subnets[0].MapPublicIPOnLaunch = true
	addRoutes(route("0.0.0.0/0", toGW("igw-1")))(reg)
}

type want struct {
	status finding.Status
	path   finding.InternetPath
	sev    finding.Severity
	// checks maps sub-check id to its expected status (unlisted: not asserted).
	checks map[string]finding.Status
	// evidence substrings that must appear in the result's evidence/messages.
	contains []string
}

func evalOne(t *testing.T, profile string, reg *inventory.Region) finding.Result {
	t.Helper()
	ev, err := New(Options{Profile: profile})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := ev.Evaluate(&inventory.Inventory{SchemaVersion: inventory.SchemaVersion, Regions: []inventory.Region{*reg}})
	if len(res) != 1 {
		t.Fatalf("got %d results, want 1", len(res))
	}
	return res[0]
}

func TestControlRules(t *testing.T) {
	ext := "52.94.0.0/22"
	cases := []struct {
		name    string
		profile string
		mods    []func(*inventory.Region)
		want    want
	}{
		// direct-internet-access
		{"enabled without subnet is direct", "", []func(*inventory.Region){nbSet(func(n *inventory.Notebook) {
			n.DirectInternetAccess, n.SubnetID, n.SecurityGroupIDs = "Enabled", "", nil
		})}, want{status: "FAIL", path: "direct", sev: "high", checks: map[string]finding.Status{CheckDirect: "FAIL", CheckEgress: "N/A", CheckPublicSubnet: "N/A"}}},
		{"enabled inside an isolated VPC subnet is still direct", "", []func(*inventory.Region){nbSet(func(n *inventory.Notebook) { n.DirectInternetAccess = "Enabled" })},
			want{status: "FAIL", path: "direct", sev: "high", checks: map[string]finding.Status{CheckDirect: "FAIL", CheckEgress: "N/A", CheckPublicSubnet: "PASS"}}},
		{"disabled without subnet cannot be private", "", []func(*inventory.Region){nbSet(func(n *inventory.Notebook) { n.SubnetID = "" })},
			want{status: "FAIL", path: "direct", checks: map[string]finding.Status{CheckDirect: "FAIL"}}},
		{"missing DirectInternetAccess is ERROR, never PASS", "", []func(*inventory.Region){nbSet(func(n *inventory.Notebook) { n.DirectInternetAccess = "" })},
			want{status: "ERROR", path: "unknown", checks: map[string]finding.Status{CheckDirect: "ERROR"}}},
		{"unrecognised DirectInternetAccess value is ERROR", "", []func(*inventory.Region){nbSet(func(n *inventory.Notebook) { n.DirectInternetAccess = "disabled" })},
			want{status: "ERROR", path: "unknown"}},
		{"describe failure is ERROR", "", []func(*inventory.Region){nbSet(func(n *inventory.Notebook) {
			n.Error = &inventory.CollectError{Operation: "sagemaker:DescribeNotebookInstance", Message: "AccessDenied"}
		})}, want{status: "ERROR", path: "unknown", sev: "high"}},
		{"RootAccess does not decide: root disabled but direct access enabled fails", "", []func(*inventory.Region){nbSet(func(n *inventory.Notebook) {
			n.RootAccess, n.DirectInternetAccess, n.SubnetID = "Disabled", "Enabled", ""
		})}, want{status: "FAIL", path: "direct"}},
		{"RootAccess does not decide: root enabled but isolated passes", "", []func(*inventory.Region){nbSet(func(n *inventory.Notebook) { n.RootAccess = "Enabled" })},
			want{status: "PASS", path: "none"}},

		// internet-egress-path
		{"isolated subnet has no path", "", nil, want{status: "PASS", path: "none", sev: "informational", checks: map[string]finding.Status{CheckEgress: "PASS"}}},
		{"NAT with open security group fails", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-pub")))},
			want{status: "FAIL", path: "nat", sev: "medium", checks: map[string]finding.Status{CheckEgress: "FAIL", CheckDirect: "PASS"}, contains: []string{"nat-pub", "sg-open"}}},
		{"NAT with private-only security group has no path", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-pub"))), sgs("sg-private")},
			want{status: "PASS", path: "none"}},
		{"NAT with 0.0.0.0/0 on 443 only still reaches the whole internet", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-pub"))), sgs("sg-443"),
			addSG(inventory.SecurityGroup{ID: "sg-443", Egress: []inventory.SGRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"0.0.0.0/0"}}}})},
			want{status: "FAIL", path: "nat", contains: []string{"tcp/443"}}},
		{"NAT with one public CIDR is controlled egress", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-pub"))), sgs("sg-one"),
			addSG(inventory.SecurityGroup{ID: "sg-one", Egress: []inventory.SGRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{ext}}}})},
			want{status: "PASS", path: "nat", checks: map[string]finding.Status{CheckEgress: "PASS"}, contains: []string{"controlled egress"}}},
		{"security groups are a union: one open group is enough", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-pub"))), sgs("sg-private", "sg-open")},
			want{status: "FAIL", path: "nat"}},
		{"two halves in two groups cover the whole internet", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-pub"))), sgs("sg-lo", "sg-hi"),
			addSG(inventory.SecurityGroup{ID: "sg-lo", Egress: []inventory.SGRule{{Protocol: "-1", CIDRs: []string{"0.0.0.0/1"}}}}),
			addSG(inventory.SecurityGroup{ID: "sg-hi", Egress: []inventory.SGRule{{Protocol: "-1", CIDRs: []string{"128.0.0.0/1"}}}})},
			want{status: "FAIL", path: "nat"}},
		{"egress to security-group references and prefix lists is not internet", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-pub"))), sgs("sg-ref"),
			addSG(inventory.SecurityGroup{ID: "sg-ref", Egress: []inventory.SGRule{{Protocol: "-1", SourceGroupIDs: []string{"sg-x"}, PrefixListIDs: []string{"pl-63a5400a"}}}})},
			want{status: "PASS", path: "none"}},
		{"split default routes 0/1 + 128/1 count as an internet route", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/1", toNAT("nat-pub")), route("128.0.0.0/1", toNAT("nat-pub")))},
			want{status: "FAIL", path: "nat"}},
		{"longest prefix wins: more specific halves to a TGW leave the NAT default nothing public", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-pub")),
			route("0.0.0.0/1", func(r *inventory.Route) { r.TransitGatewayID = "tgw-1" }), route("128.0.0.0/1", func(r *inventory.Route) { r.TransitGatewayID = "tgw-1" })), foreignTGW},
			want{status: "REVIEW", path: "transit", contains: []string{"--network-accounts 999988887777"}}},
		{"a NAT route for private space only is not an internet path", "", []func(*inventory.Region){addRoutes(route("172.16.0.0/12", toNAT("nat-pub")))},
			want{status: "PASS", path: "none"}},
		{"a NAT route for one public range is controlled egress to that range", "", []func(*inventory.Region){addRoutes(route("8.8.8.0/24", toNAT("nat-pub")))},
			want{status: "PASS", path: "nat", contains: []string{"256 public IPv4 addresses"}}},
		{"blackhole route gives no path", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", func(r *inventory.Route) { r.NATGatewayID, r.State = "nat-pub", "blackhole" }))},
			want{status: "PASS", path: "none"}},
		{"deleted NAT gateway is a blackhole", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-gone")))},
			want{status: "PASS", path: "none", contains: []string{"nat-gone is deleted"}}},
		{"NAT gateway absent from a complete inventory is gone", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-unknown")))},
			want{status: "PASS", path: "none", contains: []string{"no longer exists"}}},
		{"NAT gateway absent because DescribeNatGateways failed is ERROR", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-unknown"))), failOp("ec2:DescribeNatGateways")},
			want{status: "ERROR", path: "unknown", checks: map[string]finding.Status{CheckEgress: "ERROR"}}},
		{"private NAT gateway gives no internet", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-priv")))},
			want{status: "PASS", path: "none", contains: []string{"private"}}},
		{"S3 gateway endpoint only is not internet", "", []func(*inventory.Region){addRoutes(route("pl-63a5400a", toGW("vpce-s3")))},
			want{status: "PASS", path: "none"}},
		{"a route to a prefix list the inventory does not hold is ERROR", "", []func(*inventory.Region){addRoutes(route("pl-0customer", toNAT("nat-pub")))},
			want{status: "ERROR", path: "unknown", contains: []string{"prefix list pl-0customer"}}},
		{"a route to a customer prefix list holding 0.0.0.0/0 through a NAT fails", "", []func(*inventory.Region){addRoutes(route("pl-0open", toNAT("nat-pub")))},
			want{status: "FAIL", path: "nat"}},
		{"a route to a customer prefix list of private space through a NAT is not an internet path", "", []func(*inventory.Region){addRoutes(route("pl-0private", toNAT("nat-pub")))},
			want{status: "PASS", path: "none"}},
		{"transit gateway owned outside the scan is REVIEW naming the account", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", func(r *inventory.Route) { r.TransitGatewayID = "tgw-1" })), foreignTGW},
			want{status: "REVIEW", path: "transit", sev: "medium", contains: []string{"account 999988887777", "--network-accounts 999988887777"}}},
		{"transit gateway route without an attachment of the VPC is a blackhole", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", func(r *inventory.Route) { r.TransitGatewayID = "tgw-1" }))},
			want{status: "PASS", path: "none", contains: []string{"no attachment"}}},
		{"transit gateway default in a schema 1 inventory is REVIEW: not collected", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", func(r *inventory.Route) { r.TransitGatewayID = "tgw-1" })), schema1},
			want{status: "REVIEW", path: "transit", contains: []string{"not collected"}}},
		{"transit gateway with private-only groups passes", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", func(r *inventory.Route) { r.TransitGatewayID = "tgw-1" })), foreignTGW, sgs("sg-private")},
			want{status: "PASS", path: "none"}},
		{"peering is not transitive: a default route to a peering connection is no internet path", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", func(r *inventory.Route) { r.VPCPeeringConnectionID = "pcx-1" }))},
			want{status: "PASS", path: "none", contains: []string{"not transitive"}}},
		{"virtual private gateway default is REVIEW", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toGW("vgw-1")))},
			want{status: "REVIEW", path: "transit"}},
		{"ENI appliance default is REVIEW", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", func(r *inventory.Route) { r.NetworkInterfaceID = "eni-fw" }))},
			want{status: "REVIEW", path: "appliance"}},
		{"NAT instance default is REVIEW", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", func(r *inventory.Route) { r.InstanceID = "i-1" }))},
			want{status: "REVIEW", path: "appliance"}},
		{"Gateway Load Balancer endpoint default is REVIEW", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toGW("vpce-gwlb")))},
			want{status: "REVIEW", path: "appliance"}},
		{"FAIL via NAT outranks a REVIEW path", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/1", toNAT("nat-pub")), route("128.0.0.0/1", func(r *inventory.Route) { r.TransitGatewayID = "tgw-1" }))},
			want{status: "FAIL", path: "nat"}},

		// network ACLs
		{"NACL outbound deny before allow blocks the path", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-pub"))),
			aclEntries(append([]inventory.ACLEntry{{RuleNumber: 50, Egress: true, Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"}}, allowAll()...)...)},
			want{status: "PASS", path: "none", contains: []string{"network ACL acl-1 blocks every public IPv4 destination"}}},
		{"NACL first match wins: an allow numbered before the deny keeps the path", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-pub"))),
			aclEntries(append([]inventory.ACLEntry{{RuleNumber: 200, Egress: true, Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"}}, allowAll()...)...)},
			want{status: "FAIL", path: "nat"}},
		{"NACL that drops return traffic blocks the path", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-pub"))),
			aclEntries(inventory.ACLEntry{RuleNumber: 100, Egress: true, Protocol: "-1", Action: "allow", CIDR: "0.0.0.0/0"},
				inventory.ACLEntry{RuleNumber: 100, Egress: false, Protocol: "-1", Action: "allow", CIDR: "10.0.0.0/8"})},
			want{status: "PASS", path: "none"}},
		{"NACL deny on the only port the security group allows blocks the path", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-pub"))), sgs("sg-443"),
			addSG(inventory.SecurityGroup{ID: "sg-443", Egress: []inventory.SGRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"0.0.0.0/0"}}}}),
			aclEntries(append([]inventory.ACLEntry{{RuleNumber: 90, Egress: true, Protocol: "6", Action: "deny", CIDR: "0.0.0.0/0", FromPort: 443, ToPort: 443, HasPorts: true}}, allowAll()...)...)},
			want{status: "PASS", path: "none"}},
		{"NACL that allows only one public range makes egress controlled", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-pub"))),
			aclEntries(inventory.ACLEntry{RuleNumber: 100, Egress: true, Protocol: "-1", Action: "allow", CIDR: ext},
				inventory.ACLEntry{RuleNumber: 100, Egress: false, Protocol: "-1", Action: "allow", CIDR: "0.0.0.0/0"})},
			want{status: "PASS", path: "nat"}},

		// route table selection
		{"no explicit association falls back to the subnet's own VPC main table", "", []func(*inventory.Region){func(reg *inventory.Region) {
			reg.RouteTables[0].SubnetIDs = nil
			reg.RouteTables[1].Routes = append(reg.RouteTables[1].Routes, route("0.0.0.0/0", toNAT("nat-pub")))
		}}, want{status: "FAIL", path: "nat", contains: []string{"rtb-main"}}},
		{"another VPC's main table is never used", "", []func(*inventory.Region){func(reg *inventory.Region) {
			reg.RouteTables[0].SubnetIDs = nil
			reg.RouteTables = append([]inventory.RouteTable{{ID: "rtb-other-main", VPCID: "vpc-2", Main: true,
				Routes: []inventory.Route{route("0.0.0.0/0", toNAT("nat-pub"))}}}, reg.RouteTables...)
		}}, want{status: "PASS", path: "none", contains: []string{"rtb-main"}}},
		{"no route table at all is ERROR", "", []func(*inventory.Region){func(reg *inventory.Region) { reg.RouteTables = nil }},
			want{status: "ERROR", path: "unknown"}},
		{"route tables denied is ERROR naming the call", "", []func(*inventory.Region){func(reg *inventory.Region) { reg.RouteTables = nil }, failOp("ec2:DescribeRouteTables")},
			want{status: "ERROR", path: "unknown", contains: []string{"ec2:DescribeRouteTables failed"}}},
		{"unknown subnet is ERROR", "", []func(*inventory.Region){func(reg *inventory.Region) { reg.Subnets = nil }}, want{status: "ERROR", path: "unknown"}},
		{"unknown security group is ERROR", "", []func(*inventory.Region){sgs("sg-missing")}, want{status: "ERROR", path: "unknown"}},
		{"unknown network ACL is ERROR", "", []func(*inventory.Region){func(reg *inventory.Region) { reg.NetworkACLs = nil }}, want{status: "ERROR", path: "unknown"}},
		{"a named ENI absent from the inventory is ERROR", "", []func(*inventory.Region){nbSet(func(n *inventory.Notebook) { n.NetworkInterfaceID = "eni-missing" })},
			want{status: "ERROR", path: "unknown"}},

		// public subnet and public IPs
		{"public subnet: IGW route and MapPublicIpOnLaunch", "", []func(*inventory.Region){publicSubnet, sgs("sg-private")},
			want{status: "FAIL", path: "none", sev: "medium", checks: map[string]finding.Status{CheckPublicSubnet: "FAIL", CheckEgress: "PASS"}}},
		{"IGW route without MapPublicIpOnLaunch is not the SOP's public subnet", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toGW("igw-1")))},
			want{status: "PASS", path: "none", checks: map[string]finding.Status{CheckPublicSubnet: "PASS"}, contains: []string{"SageMaker assigns private addresses only"}}},
		{"IGW route and a public IP on the ENI is an igw path", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toGW("igw-1"))), withENI(inventory.NetworkInterface{PublicIP: "54.1.2.3"})},
			want{status: "FAIL", path: "igw", sev: "high", checks: map[string]finding.Status{CheckEgress: "FAIL"}}},
		{"open ingress on an internet-reachable ENI fails", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toGW("igw-1"))), withENI(inventory.NetworkInterface{PublicIP: "54.1.2.3"}), sgs("sg-ssh"),
			addSG(inventory.SecurityGroup{ID: "sg-ssh", Ingress: []inventory.SGRule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDRs: []string{"0.0.0.0/0"}}}, Egress: []inventory.SGRule{{Protocol: "-1", CIDRs: []string{"10.0.0.0/8"}}}})},
			want{status: "FAIL", path: "none", sev: "high", checks: map[string]finding.Status{CheckOpenIngress: "FAIL", CheckEgress: "PASS"}}},
		{"open ingress on a private ENI passes", "", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toGW("igw-1"))), sgs("sg-ssh"),
			addSG(inventory.SecurityGroup{ID: "sg-ssh", Ingress: []inventory.SGRule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDRs: []string{"0.0.0.0/0"}}}})},
			want{status: "PASS", checks: map[string]finding.Status{CheckOpenIngress: "PASS"}}},

		// IPv6
		{"dualstack ENI with ::/0 to an egress-only gateway is an ipv6 path", "", []func(*inventory.Region){addRoutes(route("::/0", func(r *inventory.Route) { r.EgressOnlyInternetGatewayID = "eigw-1" })),
			withENI(inventory.NetworkInterface{IPv6Addresses: []string{"2600:1f18::10"}})},
			want{status: "FAIL", path: "ipv6"}},
		{"IPv4-only ENI ignores IPv6 routes", "", []func(*inventory.Region){addRoutes(route("::/0", func(r *inventory.Route) { r.EgressOnlyInternetGatewayID = "eigw-1" })), withENI(inventory.NetworkInterface{})},
			want{status: "PASS", path: "none"}},
		{"dualstack without a recorded ENI assumes IPv6", "", []func(*inventory.Region){addRoutes(route("::/0", toGW("igw-1"))), nbSet(func(n *inventory.Notebook) { n.IPAddressType = "dualstack" })},
			want{status: "FAIL", path: "ipv6"}},

		// profiles
		{"fsbp: only the flag decides", "fsbp", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toNAT("nat-pub")))},
			want{status: "PASS", path: "nat", checks: map[string]finding.Status{CheckEgress: "FAIL"}}},
		{"fsbp: enabled fails", "fsbp", []func(*inventory.Region){nbSet(func(n *inventory.Notebook) { n.DirectInternetAccess = "Enabled" })},
			want{status: "FAIL", path: "direct"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := estate()
			for _, m := range tc.mods {
				m(reg)
			}
			got := evalOne(t, tc.profile, reg)
			if got.Status != tc.want.status {
				t.Errorf("status = %s, want %s; checks %+v", got.Status, tc.want.status, got.Checks)
			}
			if tc.want.path != "" && got.InternetPath != tc.want.path {
				t.Errorf("internet_path = %s, want %s; evidence %+v", got.InternetPath, tc.want.path, got.Evidence)
			}
			if tc.want.sev != "" && got.Severity != tc.want.sev {
				t.Errorf("severity = %s, want %s", got.Severity, tc.want.sev)
			}
			for id, st := range tc.want.checks {
				found := false
				for _, c := range got.Checks {
					if c.ID == id {
						found = true
						if c.Status != st {
							t.Errorf("check %s = %s (%s), want %s", id, c.Status, c.Message, st)
						}
					}
				}
				if !found {
					t.Errorf("check %s missing", id)
				}
			}
			blob := renderForSearch(got)
			for _, s := range tc.want.contains {
				if !strings.Contains(blob, s) {
					t.Errorf("result does not mention %q:\n%s", s, blob)
				}
			}
			if got.Status == finding.StatusError && got.InternetPath != finding.PathUnknown {
				t.Errorf("ERROR result with a known path %s", got.InternetPath)
			}
		})
	}
}

func renderForSearch(r finding.Result) string {
	var b strings.Builder
	for _, c := range r.Checks {
		b.WriteString(c.Message + "\n")
	}
	e := r.Evidence
	b.WriteString(strings.Join(append(append(append([]string{e.RouteTableID, e.DecidingRoute, e.DecidingRule, r.Remediation}, e.Routes...), e.Notes...), r.Reproduce.Strings()...), "\n"))
	return b.String()
}

// TestReproduceShowsTheInterfaceWhereItDecides: the network interface
// command is part of the reproduction only behind an internet gateway
// route, where its public address decides the path.
func TestReproduceShowsTheInterfaceWhereItDecides(t *testing.T) {
	hasENI := func(r finding.Result) bool {
		for _, c := range r.Reproduce.Strings() {
			if strings.Contains(c, "describe-network-interfaces") {
				return true
			}
		}
		return false
	}
	isolated := estate()
	withENI(inventory.NetworkInterface{})(isolated)
	if r := evalOne(t, "", isolated); hasENI(r) {
		t.Errorf("isolated subnet: interface command shown though no route depends on it: %v", r.Reproduce)
	}
	public := estate()
	withENI(inventory.NetworkInterface{PublicIP: "54.1.2.3"})(public)
	addRoutes(route("0.0.0.0/0", toGW("igw-1")))(public)
	if r := evalOne(t, "", public); !hasENI(r) {
		t.Errorf("IGW route: interface command missing: %v", r.Reproduce)
	}
}

// TestReproduceIsSafeToRenderConcurrently: the JSON writer renders results'
// commands on every core, and the notebooks of one placement share the EC2
// commands rendered on first use (run with -race). Every goroutine must see
// the same commands, and each notebook's own describe command first.
func TestReproduceIsSafeToRenderConcurrently(t *testing.T) {
	ev, _ := New(Options{})
	res, _ := ev.Evaluate(generateEstate(400, 400))
	got := make([][][]string, 4)
	var wg sync.WaitGroup
	for w := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range res {
				got[w] = append(got[w], res[i].Reproduce.Strings())
			}
		}()
	}
	wg.Wait()
	for i := range res {
		for w := 1; w < len(got); w++ {
			if !slices.Equal(got[w][i], got[0][i]) {
				t.Fatalf("%s: goroutines rendered different commands:\n%q\n%q", res[i].Resource.Name, got[0][i], got[w][i])
			}
		}
		if c := got[0][i]; len(c) < 2 || !strings.Contains(c[0], "--notebook-instance-name "+res[i].Resource.Name+" ") {
			t.Fatalf("%s: commands %q do not start with its describe command", res[i].Resource.Name, c)
		}
	}
}
