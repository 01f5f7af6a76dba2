package control

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
)

// The hub-and-spoke estate: a spoke account (111122223333) whose notebook
// subnet routes 0.0.0.0/0 to a transit gateway that a network account
// (222233334444) owns. The spoke's attachment is associated with
// tgw-rtb-spoke, which sends 0.0.0.0/0 to the egress VPC's attachment and
// has the spokes' private ranges propagated. In the egress VPC (network
// account) the attachment subnet routes 0.0.0.0/0 to a public NAT gateway
// in a public subnet, whose table routes 0.0.0.0/0 to an attached
// internet gateway; both route 10.0.0.0/8 back to the transit gateway.
const (
	spokeAcct   = "111122223333"
	networkAcct = "222233334444"
)

func hubAndSpoke() *inventory.Inventory {
	spoke := estate()
	spoke.RouteTables[0].Routes = append(spoke.RouteTables[0].Routes, route("0.0.0.0/0", func(r *inventory.Route) { r.TransitGatewayID = "tgw-hub" }))
	spoke.Subnets = append(spoke.Subnets, inventory.Subnet{ID: "subnet-a-tgw", VPCID: "vpc-1", CIDRBlock: "10.0.9.0/28", AvailabilityZone: "us-east-1a"})
	spoke.NetworkACLs[0].SubnetIDs = append(spoke.NetworkACLs[0].SubnetIDs, "subnet-a-tgw")
	spoke.TransitGatewayAttachments = []inventory.TransitGatewayAttachment{{
		ID: "tgw-attach-spoke", TransitGatewayID: "tgw-hub", TransitGatewayOwnerID: networkAcct, ResourceType: "vpc",
		ResourceID: "vpc-1", ResourceOwnerID: spokeAcct, State: "available", RouteTableID: "tgw-rtb-spoke", SubnetIDs: []string{"subnet-a-tgw"},
	}}
	allow := allowAll()
	network := inventory.Region{
		AccountID: networkAcct, Region: "us-east-1", NetworkOnly: true, Notebooks: []inventory.Notebook{},
		VPCs: []inventory.VPC{{ID: "vpc-egress", CIDRBlocks: []string{"100.64.0.0/16"}}},
		Subnets: []inventory.Subnet{
			{ID: "subnet-e-tgw", VPCID: "vpc-egress", CIDRBlock: "100.64.0.0/28", AvailabilityZone: "us-east-1a"},
			{ID: "subnet-e-pub", VPCID: "vpc-egress", CIDRBlock: "100.64.1.0/24", AvailabilityZone: "us-east-1a"},
		},
		RouteTables: []inventory.RouteTable{
			{ID: "rtb-e-tgw", VPCID: "vpc-egress", SubnetIDs: []string{"subnet-e-tgw"}, Routes: []inventory.Route{
				{DestinationCIDR: "100.64.0.0/16", GatewayID: "local", State: "active"},
				route("0.0.0.0/0", toNAT("nat-e")), route("10.0.0.0/8", func(r *inventory.Route) { r.TransitGatewayID = "tgw-hub" })}},
			{ID: "rtb-e-pub", VPCID: "vpc-egress", SubnetIDs: []string{"subnet-e-pub"}, Routes: []inventory.Route{
				{DestinationCIDR: "100.64.0.0/16", GatewayID: "local", State: "active"},
				route("0.0.0.0/0", toGW("igw-e")), route("10.0.0.0/8", func(r *inventory.Route) { r.TransitGatewayID = "tgw-hub" })}},
			{ID: "rtb-e-main", VPCID: "vpc-egress", Main: true, Routes: []inventory.Route{{DestinationCIDR: "100.64.0.0/16", GatewayID: "local", State: "active"}}},
		},
		NATGateways:      []inventory.NATGateway{{ID: "nat-e", VPCID: "vpc-egress", SubnetID: "subnet-e-pub", State: "available", ConnectivityType: "public"}},
		InternetGateways: []inventory.InternetGateway{{ID: "igw-e", VPCIDs: []string{"vpc-egress"}, Attachments: []inventory.GatewayAttachment{{VPCID: "vpc-egress", State: "available"}}}},
		NetworkACLs: []inventory.NetworkACL{
			{ID: "acl-e-tgw", VPCID: "vpc-egress", SubnetIDs: []string{"subnet-e-tgw"}, Entries: slices.Clone(allow)},
			{ID: "acl-e-pub", VPCID: "vpc-egress", SubnetIDs: []string{"subnet-e-pub"}, Entries: slices.Clone(allow)},
		},
		TransitGatewayAttachments: []inventory.TransitGatewayAttachment{
			{ID: "tgw-attach-spoke", TransitGatewayID: "tgw-hub", TransitGatewayOwnerID: networkAcct, ResourceType: "vpc", ResourceID: "vpc-1",
				ResourceOwnerID: spokeAcct, State: "available", RouteTableID: "tgw-rtb-spoke", SubnetIDs: []string{"subnet-a-tgw"}},
			{ID: "tgw-attach-egress", TransitGatewayID: "tgw-hub", TransitGatewayOwnerID: networkAcct, ResourceType: "vpc", ResourceID: "vpc-egress",
				ResourceOwnerID: networkAcct, State: "available", RouteTableID: "tgw-rtb-egress", SubnetIDs: []string{"subnet-e-tgw"}},
			{ID: "tgw-attach-vpn", TransitGatewayID: "tgw-hub", TransitGatewayOwnerID: networkAcct, ResourceType: "vpn", ResourceID: "vpn-1",
				ResourceOwnerID: networkAcct, State: "available", RouteTableID: "tgw-rtb-egress"},
		},
		TransitGatewayRouteTables: []inventory.TransitGatewayRouteTable{
			{ID: "tgw-rtb-spoke", TransitGatewayID: "tgw-hub", Routes: []inventory.TransitGatewayRoute{
				{DestinationCIDR: "0.0.0.0/0", Type: "static", State: "active", Attachments: []inventory.TransitGatewayRouteAttachment{{ID: "tgw-attach-egress", ResourceType: "vpc", ResourceID: "vpc-egress"}}},
				{DestinationCIDR: "10.0.0.0/16", Type: "propagated", State: "active", Attachments: []inventory.TransitGatewayRouteAttachment{{ID: "tgw-attach-spoke", ResourceType: "vpc", ResourceID: "vpc-1"}}},
			}},
			{ID: "tgw-rtb-egress", TransitGatewayID: "tgw-hub", Routes: []inventory.TransitGatewayRoute{
				{DestinationCIDR: "10.0.0.0/16", Type: "propagated", State: "active", Attachments: []inventory.TransitGatewayRouteAttachment{{ID: "tgw-attach-spoke", ResourceType: "vpc", ResourceID: "vpc-1"}}},
			}},
		},
		Coverage: &inventory.Coverage{VPCs: []string{"vpc-egress"}, TransitGateways: []string{"tgw-hub"}},
	}
	return &inventory.Inventory{SchemaVersion: inventory.SchemaVersion, Partition: "aws", Regions: []inventory.Region{*spoke, network}}
}

func netRegion(inv *inventory.Inventory) *inventory.Region { return &inv.Regions[1] }

func tgwTable(inv *inventory.Inventory, id string) *inventory.TransitGatewayRouteTable {
	for i, t := range netRegion(inv).TransitGatewayRouteTables {
		if t.ID == id {
			return &netRegion(inv).TransitGatewayRouteTables[i]
		}
	}
	panic(id)
}

func rtOf(reg *inventory.Region, id string) *inventory.RouteTable {
	for i := range reg.RouteTables {
		if reg.RouteTables[i].ID == id {
			return &reg.RouteTables[i]
		}
	}
	panic(id)
}

func evalInv(t *testing.T, inv *inventory.Inventory, opts Options) finding.Result {
	t.Helper()
	// Round-trip through JSON, as --input would: the inventory must be a
	// valid file.
	b, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := inventory.Parse(b, "hub.json")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := ev.Evaluate(parsed)
	for _, r := range res {
		if r.Resource.Name == "nb" {
			return r
		}
	}
	t.Fatalf("no result for nb in %d results", len(res))
	return finding.Result{}
}

func hopIDs(r finding.Result) []string {
	var ids []string
	for _, h := range r.Hops {
		if h.ResourceID != "" {
			ids = append(ids, h.ResourceID)
		}
	}
	return ids
}

func TestHubAndSpoke(t *testing.T) {
	tgwRoute := func(dest string, set func(*inventory.TransitGatewayRoute)) inventory.TransitGatewayRoute {
		r := inventory.TransitGatewayRoute{DestinationCIDR: dest, Type: "static", State: "active"}
		set(r2(&r))
		return r
	}
	cases := []struct {
		name  string
		mod   func(*inventory.Inventory)
		opts  Options
		want  want
		hops  []string // resource IDs the deciding path must name, in order
		error string   // a message the result must carry
	}{
		{"spoke through the transit gateway to the egress VPC's NAT: FAIL nat", nil, Options{},
			want{status: "FAIL", path: "nat", checks: map[string]finding.Status{CheckEgress: "FAIL"}, contains: []string{"Egress is central (nat-e in account 222233334444)"}},
			[]string{"rtb-a", "tgw-attach-spoke", "tgw-rtb-spoke", "tgw-attach-egress", "subnet-e-tgw", "rtb-e-tgw", "nat-e", "subnet-e-pub", "rtb-e-pub", "igw-e"}, ""},
		{"the egress VPC in a network account the scan does not read: REVIEW naming it", func(inv *inventory.Inventory) {
			inv.Regions = inv.Regions[:1]
		}, Options{}, want{status: "REVIEW", path: "transit", contains: []string{"222233334444", "--network-accounts 222233334444"}}, nil, ""},
		{"the network account in scope but its role could not be assumed: ERROR", func(inv *inventory.Inventory) {
			inv.Regions = inv.Regions[:1]
			inv.Errors = append(inv.Errors, inventory.CollectError{AccountID: networkAcct, Operation: "sts:AssumeRole", Code: "AccessDenied", Message: "not authorized"})
		}, Options{}, want{status: "ERROR", path: "unknown", contains: []string{"account 222233334444 could not be read"}}, nil, ""},
		{"listed as a network account but not collected: REVIEW", func(inv *inventory.Inventory) {
			inv.Regions = inv.Regions[:1]
			inv.NetworkAccounts = []string{networkAcct}
		}, Options{}, want{status: "REVIEW", path: "transit", contains: []string{"was not collected"}}, nil, ""},
		{"the transit gateway route search failed: ERROR", func(inv *inventory.Inventory) {
			n := netRegion(inv)
			n.TransitGatewayRouteTables = n.TransitGatewayRouteTables[1:]
			n.Errors = append(n.Errors, inventory.CollectError{Operation: "ec2:SearchTransitGatewayRoutes", Resource: "tgw-rtb-spoke", Code: "RequestLimitExceeded", Message: "Request limit exceeded."})
		}, Options{}, want{status: "ERROR", path: "unknown", contains: []string{"ec2:SearchTransitGatewayRoutes failed for tgw-rtb-spoke"}}, nil, ""},
		{"a truncated transit gateway route table: ERROR", func(inv *inventory.Inventory) {
			tgwTable(inv, "tgw-rtb-spoke").Truncated = true
		}, Options{}, want{status: "ERROR", path: "unknown", contains: []string{"only part of its routes"}}, nil, ""},
		{"the transit gateway's default route is a blackhole: PASS none", func(inv *inventory.Inventory) {
			tgwTable(inv, "tgw-rtb-spoke").Routes[0] = tgwRoute("0.0.0.0/0", func(r *inventory.TransitGatewayRoute) { r.State = "blackhole" })
		}, Options{}, want{status: "PASS", path: "none", contains: []string{"blackhole route in tgw-rtb-spoke"}}, []string{"tgw-rtb-spoke"}, ""},
		{"the spoke's transit gateway table has only private routes: PASS none", func(inv *inventory.Inventory) {
			tgwTable(inv, "tgw-rtb-spoke").Routes = tgwTable(inv, "tgw-rtb-spoke").Routes[1:]
		}, Options{}, want{status: "PASS", path: "none", contains: []string{"no route in tgw-rtb-spoke"}}, nil, ""},
		{"the egress attachment subnet has no default route: PASS none", func(inv *inventory.Inventory) {
			rt := rtOf(netRegion(inv), "rtb-e-tgw")
			rt.Routes = slices.Delete(rt.Routes, 1, 2)
		}, Options{}, want{status: "PASS", path: "none", contains: []string{"no route in rtb-e-tgw"}}, nil, ""},
		{"the egress NAT's subnet has no route to the internet gateway: PASS none", func(inv *inventory.Inventory) {
			rt := rtOf(netRegion(inv), "rtb-e-pub")
			rt.Routes = slices.Delete(rt.Routes, 1, 2)
		}, Options{}, want{status: "PASS", path: "none", contains: []string{"no route in rtb-e-pub"}}, nil, ""},
		{"the egress internet gateway was detached: PASS none", func(inv *inventory.Inventory) {
			netRegion(inv).InternetGateways = nil
		}, Options{}, want{status: "PASS", path: "none", contains: []string{"igw-e is not attached to vpc-egress"}}, nil, ""},
		{"the egress internet gateway is detaching: PASS none", func(inv *inventory.Inventory) {
			netRegion(inv).InternetGateways[0].Attachments[0].State = "detaching"
		}, Options{}, want{status: "PASS", path: "none"}, nil, ""},
		{"the NAT subnet's network ACL denies egress: PASS none", func(inv *inventory.Inventory) {
			netRegion(inv).NetworkACLs[1].Entries = append([]inventory.ACLEntry{{RuleNumber: 1, Egress: true, Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"}}, allowAll()...)
		}, Options{}, want{status: "PASS", path: "none"}, nil, ""},
		{"the NAT subnet's network ACL does not admit the spoke's range: PASS none", func(inv *inventory.Inventory) {
			netRegion(inv).NetworkACLs[1].Entries = append([]inventory.ACLEntry{{RuleNumber: 1, Egress: false, Protocol: "-1", Action: "deny", CIDR: "10.0.0.0/8"}}, allowAll()...)
		}, Options{}, want{status: "PASS", path: "none"}, nil, ""},
		{"the egress attachment subnet's ACL blocks public destinations: PASS none", func(inv *inventory.Inventory) {
			netRegion(inv).NetworkACLs[0].Entries = append([]inventory.ACLEntry{{RuleNumber: 1, Egress: true, Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"}}, allowAll()...)
		}, Options{}, want{status: "PASS", path: "none"}, nil, ""},
		{"the spoke's attachment subnet ACL does not admit the notebook's subnet: PASS none", func(inv *inventory.Inventory) {
			inv.Regions[0].NetworkACLs = append(inv.Regions[0].NetworkACLs, inventory.NetworkACL{ID: "acl-a-tgw", VPCID: "vpc-1", SubnetIDs: []string{"subnet-a-tgw"},
				Entries: append([]inventory.ACLEntry{{RuleNumber: 1, Egress: false, Protocol: "-1", Action: "deny", CIDR: "10.0.1.0/24"}}, allowAll()...)})
			inv.Regions[0].NetworkACLs[0].SubnetIDs = []string{"subnet-a"}
		}, Options{}, want{status: "PASS", path: "none"}, nil, ""},
		{"the spoke's attachment has no subnet in the notebook's zone: PASS none", func(inv *inventory.Inventory) {
			inv.Regions[0].Subnets[2].AvailabilityZone = "us-east-1b"
		}, Options{}, want{status: "PASS", path: "none", contains: []string{"no subnet in us-east-1a"}}, nil, ""},
		{"the default goes to a VPN attachment: REVIEW naming it", func(inv *inventory.Inventory) {
			tgwTable(inv, "tgw-rtb-spoke").Routes[0].Attachments = []inventory.TransitGatewayRouteAttachment{{ID: "tgw-attach-vpn", ResourceType: "vpn", ResourceID: "vpn-1"}}
		}, Options{}, want{status: "REVIEW", path: "transit", contains: []string{"tgw-attach-vpn (VPN vpn-1)"}}, nil, ""},
		{"an attachment type sagefence does not know: ERROR", func(inv *inventory.Inventory) {
			tgwTable(inv, "tgw-rtb-spoke").Routes[0].Attachments = []inventory.TransitGatewayRouteAttachment{{ID: "tgw-attach-new", ResourceType: "quantum-link", ResourceID: "ql-1"}}
			netRegion(inv).TransitGatewayAttachments = append(netRegion(inv).TransitGatewayAttachments, inventory.TransitGatewayAttachment{
				ID: "tgw-attach-new", TransitGatewayID: "tgw-hub", TransitGatewayOwnerID: networkAcct, ResourceType: "quantum-link", ResourceID: "ql-1", State: "available"})
		}, Options{}, want{status: "ERROR", path: "unknown", contains: []string{"quantum-link"}}, nil, ""},
		{"a route to an attachment the owner's whole read does not hold: a blackhole", func(inv *inventory.Inventory) {
			tgwTable(inv, "tgw-rtb-spoke").Routes[0].Attachments = []inventory.TransitGatewayRouteAttachment{{ID: "tgw-attach-gone", ResourceType: "vpc", ResourceID: "vpc-gone"}}
		}, Options{}, want{status: "PASS", path: "none", contains: []string{"tgw-attach-gone no longer exists"}}, nil, ""},
		{"an active transit gateway route without attachments: ERROR", func(inv *inventory.Inventory) {
			tgwTable(inv, "tgw-rtb-spoke").Routes[0].Attachments = nil
		}, Options{}, want{status: "ERROR", path: "unknown", contains: []string{"names no attachment"}}, nil, ""},
		{"a more specific blackhole takes half the internet from the egress route: FAIL still (a /1 is open)", func(inv *inventory.Inventory) {
			tb := tgwTable(inv, "tgw-rtb-spoke")
			tb.Routes = append(tb.Routes, tgwRoute("0.0.0.0/1", func(r *inventory.TransitGatewayRoute) { r.State = "blackhole" }))
		}, Options{}, want{status: "FAIL", path: "nat"}, nil, ""},
		{"static routes outrank propagated ones of the same prefix", func(inv *inventory.Inventory) {
			tb := tgwTable(inv, "tgw-rtb-spoke")
			tb.Routes = append(tb.Routes, tgwRoute("0.0.0.0/0", func(r *inventory.TransitGatewayRoute) {
				r.Type, r.State = "propagated", "blackhole"
			}))
		}, Options{}, want{status: "FAIL", path: "nat"}, nil, ""},
		{"a transit gateway route to a customer prefix list holding 0.0.0.0/0: FAIL", func(inv *inventory.Inventory) {
			tb := tgwTable(inv, "tgw-rtb-spoke")
			tb.Routes[0].DestinationCIDR, tb.Routes[0].PrefixListID = "", "pl-0net"
			netRegion(inv).PrefixLists = []inventory.PrefixList{{ID: "pl-0net", OwnerID: networkAcct, Entries: []string{"0.0.0.0/0"}}}
		}, Options{}, want{status: "FAIL", path: "nat"}, nil, ""},
		{"the egress route loops back to the transit gateway: PASS none, no endless walk", func(inv *inventory.Inventory) {
			rt := rtOf(netRegion(inv), "rtb-e-tgw")
			rt.Routes[1] = route("0.0.0.0/0", func(r *inventory.Route) { r.TransitGatewayID = "tgw-hub" })
			eg := tgwTable(inv, "tgw-rtb-egress")
			eg.Routes = append(eg.Routes, inventory.TransitGatewayRoute{DestinationCIDR: "0.0.0.0/0", Type: "static", State: "active",
				Attachments: []inventory.TransitGatewayRouteAttachment{{ID: "tgw-attach-egress", ResourceType: "vpc", ResourceID: "vpc-egress"}}})
		}, Options{}, want{status: "PASS", path: "none", contains: []string{"routing loop"}}, nil, ""},
		{"the spoke's security groups allow only the partners' range: PASS controlled egress", func(inv *inventory.Inventory) {
			inv.Regions[0].SecurityGroups = append(inv.Regions[0].SecurityGroups, inventory.SecurityGroup{ID: "sg-partners", VPCID: "vpc-1",
				Egress: []inventory.SGRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, PrefixListIDs: []string{"pl-0partners"}}}})
			inv.Regions[0].Notebooks[0].SecurityGroupIDs = []string{"sg-partners"}
		}, Options{}, want{status: "PASS", path: "nat", checks: map[string]finding.Status{CheckEgress: "PASS"}, contains: []string{"controlled egress", "1,024 public IPv4 addresses"}}, nil, ""},
		{"a private NAT in the spoke forwards to the transit gateway: FAIL nat at the egress NAT", func(inv *inventory.Inventory) {
			spoke := &inv.Regions[0]
			spoke.RouteTables[0].Routes[len(spoke.RouteTables[0].Routes)-1] = route("0.0.0.0/0", toNAT("nat-priv"))
			nat := rtOf(spoke, "rtb-nat")
			nat.Routes = []inventory.Route{local(), route("0.0.0.0/0", func(r *inventory.Route) { r.TransitGatewayID = "tgw-hub" })}
			spoke.TransitGatewayAttachments[0].SubnetIDs = []string{"subnet-nat"}
			netRegion(inv).TransitGatewayAttachments[0].SubnetIDs = []string{"subnet-nat"}
		}, Options{}, want{status: "FAIL", path: "nat"}, []string{"nat-priv", "tgw-attach-spoke", "nat-e", "igw-e"}, ""},
		{"the same estate in a third account for the egress VPC, read as a network account: FAIL", func(inv *inventory.Inventory) {
			n := netRegion(inv)
			n.TransitGatewayAttachments[1].ResourceOwnerID = "333344445555"
			egress := *n
			egress.AccountID = "333344445555"
			egress.TransitGatewayAttachments, egress.TransitGatewayRouteTables = nil, nil
			egress.Coverage = &inventory.Coverage{VPCs: []string{"vpc-egress"}}
			n.VPCs, n.Subnets, n.RouteTables, n.NATGateways, n.InternetGateways, n.NetworkACLs = nil, nil, nil, nil, nil, nil
			n.Coverage = &inventory.Coverage{TransitGateways: []string{"tgw-hub"}}
			inv.Regions = append(inv.Regions, egress)
		}, Options{}, want{status: "FAIL", path: "nat", contains: []string{"in account 333344445555"}}, nil, ""},
		{"open threshold /16: a /8's worth of egress is open, and /0 egress fails either way", nil, Options{OpenV4Bits: 16},
			want{status: "FAIL", path: "nat"}, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := hubAndSpoke()
			if tc.mod != nil {
				tc.mod(inv)
			}
			got := evalInv(t, inv, tc.opts)
			if got.Status != tc.want.status {
				t.Errorf("status = %s, want %s; checks %+v", got.Status, tc.want.status, got.Checks)
			}
			if tc.want.path != "" && got.InternetPath != tc.want.path {
				t.Errorf("internet_path = %s, want %s; hops %v; notes %v", got.InternetPath, tc.want.path, hopIDs(got), got.Evidence.Notes)
			}
			for id, st := range tc.want.checks {
				for _, c := range got.Checks {
					if c.ID == id && c.Status != st {
						t.Errorf("check %s = %s (%s), want %s", id, c.Status, c.Message, st)
					}
				}
			}
			blob := renderForSearch(got)
			for _, s := range tc.want.contains {
				if !strings.Contains(blob, s) {
					t.Errorf("result does not mention %q:\n%s", s, blob)
				}
			}
			if len(tc.hops) > 0 {
				ids := hopIDs(got)
				i := 0
				for _, id := range ids {
					if i < len(tc.hops) && id == tc.hops[i] {
						i++
					}
				}
				if i < len(tc.hops) {
					t.Errorf("hops %v do not name %v in order (missing %s)", ids, tc.hops, tc.hops[i])
				}
			}
		})
	}
}

func r2(r *inventory.TransitGatewayRoute) *inventory.TransitGatewayRoute { return r }

// TestHubAndSpokeEvidence: the deciding path carries each hop's account
// and the command that reproduces it, marked with its account.
func TestHubAndSpokeEvidence(t *testing.T) {
	got := evalInv(t, hubAndSpoke(), Options{})
	var tgwHop *finding.Hop
	for i, h := range got.Hops {
		if h.Kind == "transit-gateway-route-table" {
			tgwHop = &got.Hops[i]
		}
	}
	if tgwHop == nil || tgwHop.AccountID != networkAcct || tgwHop.Region != "us-east-1" || !strings.Contains(tgwHop.Decision, "0.0.0.0/0 -> tgw-attach-egress") {
		t.Fatalf("transit gateway route table hop = %+v; hops %+v", tgwHop, got.Hops)
	}
	if last := got.Hops[len(got.Hops)-1]; last.Kind != "end" || last.Decision != "internet" {
		t.Errorf("last hop = %+v, want the end at the internet", last)
	}
	var search string
	for _, c := range got.Reproduce.Strings() {
		if strings.Contains(c, "search-transit-gateway-routes") {
			search = c
		}
	}
	if !strings.Contains(search, "--transit-gateway-route-table-id tgw-rtb-spoke") || !strings.Contains(search, "# in account "+networkAcct) {
		t.Errorf("reproduce lacks the route search in the network account: %q\n%v", search, got.Reproduce.Strings())
	}
}

// TestSchema1InventoryStillEvaluates: a schema 1 inventory (the example as
// it was) loads and evaluates as before; what schema 1 did not collect is
// reported as not collected, and nothing it lacks passes.
func TestSchema1InventoryStillEvaluates(t *testing.T) {
	inv, err := inventory.ReadFile("testdata/inventory-schema1.json")
	if err != nil {
		t.Fatal(err)
	}
	if inv.SchemaVersion != inventory.SchemaVersion1 {
		t.Fatalf("schema_version %q, want 1", inv.SchemaVersion)
	}
	ev, _ := New(Options{})
	res, _ := ev.Evaluate(inv)
	got := map[string]string{}
	for _, r := range res {
		got[r.Resource.Name] = string(r.Status) + "/" + string(r.InternetPath)
		if r.Resource.Name == "shared-services-nb" && !strings.Contains(renderForSearch(r), "not collected") {
			t.Errorf("shared-services-nb does not say the transit gateway was not collected:\n%s", renderForSearch(r))
		}
	}
	want := map[string]string{
		"eu-ml-sandbox": "ERROR/unknown", "eu-quickstart": "FAIL/direct", "credit-scoring": "ERROR/unknown",
		"forecasting": "FAIL/none", "fraud-model-dev": "FAIL/nat", "genomics-pipeline": "PASS/nat", "hipaa-analytics": "PASS/none",
		"marketing-etl": "FAIL/direct", "old-experiment": "PASS/none", "quant-research": "FAIL/igw", "research-legacy": "FAIL/direct",
		"shared-services-nb": "REVIEW/transit",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s = %s, want %s", name, got[name], w)
		}
	}
}
