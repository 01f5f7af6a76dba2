package control

import (
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
)

// TestFailClosed: every fact the scanner does not understand, on a
// notebook's path, makes the notebook ERROR with the fact named; never
// PASS, and never a REVIEW that exits 0. Each case is a corruption of one
// fact of a notebook that would otherwise reach the internet through a NAT
// gateway (or pass), as a saved inventory can carry it.
func TestFailClosed(t *testing.T) {
	natDefault := addRoutes(route("0.0.0.0/0", toNAT("nat-pub")))
	cases := []struct {
		name string
		mods []func(*inventory.Region)
		// fact is what the ERROR must name.
		fact string
	}{
		{"a security-group rule protocol the scanner does not know", []func(*inventory.Region){natDefault, sgs("sg-x"),
			addSG(inventory.SecurityGroup{ID: "sg-x", Egress: []inventory.SGRule{{Protocol: "tcpx", FromPort: 443, ToPort: 443, CIDRs: []string{"0.0.0.0/0"}}}})},
			`protocol "tcpx" is not recognised`},
		{"an empty security-group rule protocol", []func(*inventory.Region){natDefault, sgs("sg-x"),
			addSG(inventory.SecurityGroup{ID: "sg-x", Egress: []inventory.SGRule{{Protocol: "", CIDRs: []string{"0.0.0.0/0"}}}})},
			`protocol "" is not recognised`},
		{"a security-group CIDR with a trailing space", []func(*inventory.Region){natDefault, sgs("sg-x"),
			addSG(inventory.SecurityGroup{ID: "sg-x", Egress: []inventory.SGRule{{Protocol: "-1", CIDRs: []string{"0.0.0.0/0 "}}}})},
			`"0.0.0.0/0 "`},
		{"an IPv4 CIDR among a rule's IPv6 ranges", []func(*inventory.Region){natDefault, sgs("sg-x"),
			addSG(inventory.SecurityGroup{ID: "sg-x", Egress: []inventory.SGRule{{Protocol: "-1", IPv6CIDRs: []string{"0.0.0.0/0"}}}})},
			"IPv6 CIDR"},
		{"a TCP port range that is not one", []func(*inventory.Region){natDefault, sgs("sg-x"),
			addSG(inventory.SecurityGroup{ID: "sg-x", Egress: []inventory.SGRule{{Protocol: "tcp", FromPort: 443, ToPort: 80, CIDRs: []string{"0.0.0.0/0"}}}})},
			"port range 443-80"},
		{"a network ACL entry with an unparsable CIDR", []func(*inventory.Region){natDefault,
			aclEntries(append([]inventory.ACLEntry{{RuleNumber: 10, Egress: true, Protocol: "-1", Action: "deny", CIDR: "8.8.8.8/33"}}, allowAll()...)...)},
			`"8.8.8.8/33"`},
		{"a network ACL entry with an action that is neither allow nor deny", []func(*inventory.Region){natDefault,
			aclEntries(append([]inventory.ACLEntry{{RuleNumber: 10, Egress: true, Protocol: "-1", Action: "drop", CIDR: "0.0.0.0/0"}}, allowAll()...)...)},
			`action "drop"`},
		{"a network ACL entry protocol that is not a number", []func(*inventory.Region){natDefault,
			aclEntries(append([]inventory.ACLEntry{{RuleNumber: 10, Egress: true, Protocol: "six", Action: "deny", CIDR: "0.0.0.0/0"}}, allowAll()...)...)},
			`protocol "six"`},
		{"a notebook in a subnet with no security groups recorded", []func(*inventory.Region){natDefault, sgs()},
			"AWS always attaches at least one"},
		{"a route to a target kind the scanner does not recognise", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", toGW("xgw-0abc")))},
			`target "xgw-0abc" is not a kind sagefence recognises`},
		{"a route with no target at all", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", func(*inventory.Route) {}))},
			"no target"},
		{"a route without a destination", []func(*inventory.Region){addRoutes(inventory.Route{NATGatewayID: "nat-pub", State: "active"})},
			"a route needs exactly one destination"},
		{"a route with an unparsable destination", []func(*inventory.Region){addRoutes(route("0.0.0.0/0x", toNAT("nat-pub")))},
			`destination "0.0.0.0/0x"`},
		{"a route in a state the scanner does not know", []func(*inventory.Region){addRoutes(route("0.0.0.0/0", func(r *inventory.Route) { r.NATGatewayID, r.State = "nat-pub", "rerouting" }))},
			`state "rerouting"`},
		{"a security group referencing a prefix list the inventory does not hold", []func(*inventory.Region){natDefault, sgs("sg-x"),
			addSG(inventory.SecurityGroup{ID: "sg-x", Egress: []inventory.SGRule{{Protocol: "-1", PrefixListIDs: []string{"pl-0missing"}}}})},
			"prefix list pl-0missing"},
		{"a prefix list whose entries could not be read", []func(*inventory.Region){natDefault, sgs("sg-x"),
			addSG(inventory.SecurityGroup{ID: "sg-x", Egress: []inventory.SGRule{{Protocol: "-1", PrefixListIDs: []string{"pl-0denied"}}}}),
			func(reg *inventory.Region) {
				reg.Errors = append(reg.Errors, inventory.CollectError{Operation: "ec2:GetManagedPrefixListEntries", Resource: "pl-0denied", Code: "UnauthorizedOperation", Message: "denied"})
			}},
			"ec2:GetManagedPrefixListEntries failed for pl-0denied"},
		{"a schema 1 inventory's security group referencing a prefix list", []func(*inventory.Region){natDefault, sgs("sg-x"),
			addSG(inventory.SecurityGroup{ID: "sg-x", Egress: []inventory.SGRule{{Protocol: "-1", PrefixListIDs: []string{"pl-0open"}}}}), schema1},
			"not collected"},
		{"a NAT gateway's subnet without a network ACL in a complete read", []func(*inventory.Region){natDefault, func(reg *inventory.Region) { reg.NetworkACLs = reg.NetworkACLs[:1] }},
			"network ACL of subnet subnet-nat"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := estate()
			for _, m := range tc.mods {
				m(reg)
			}
			got := evalOne(t, "", reg)
			wantUnknown(t, got, tc.fact)
		})
	}
}

// wantUnknown fails unless r is ERROR with internet_path unknown and names
// fact.
func wantUnknown(t *testing.T, r finding.Result, fact string) {
	t.Helper()
	if r.Status != finding.StatusError || r.InternetPath != finding.PathUnknown {
		t.Fatalf("status %s, internet_path %s; want ERROR, unknown; checks %+v", r.Status, r.InternetPath, r.Checks)
	}
	if blob := renderForSearch(r); !strings.Contains(blob, fact) {
		t.Errorf("the result does not name the fact %q:\n%s", fact, blob)
	}
}

// TestControlledEgressIsAnAllowlist: "controlled egress" is reachable
// public space within the threshold; a blocklist is open.
func TestControlledEgressIsAnAllowlist(t *testing.T) {
	natDefault := addRoutes(route("0.0.0.0/0", toNAT("nat-pub")))
	blocklist := aclEntries(append([]inventory.ACLEntry{
		{RuleNumber: 10, Egress: true, Protocol: "-1", Action: "deny", CIDR: "203.0.113.7/32"},
		{RuleNumber: 11, Egress: true, Protocol: "-1", Action: "deny", CIDR: "8.8.8.8/32"}}, allowAll()...)...)
	allowlist := aclEntries(
		inventory.ACLEntry{RuleNumber: 10, Egress: true, Protocol: "6", Action: "allow", CIDR: "52.94.0.0/22", HasPorts: true, FromPort: 443, ToPort: 443},
		inventory.ACLEntry{RuleNumber: 10, Egress: false, Protocol: "6", Action: "allow", CIDR: "52.94.0.0/22", HasPorts: true, FromPort: 1024, ToPort: 65535},
	)
	cases := []struct {
		name   string
		opts   Options
		mods   []func(*inventory.Region)
		status finding.Status
		path   finding.InternetPath
		says   string
	}{
		{"a NACL that denies two addresses and allows the rest is open", Options{}, []func(*inventory.Region){natDefault, blocklist},
			"FAIL", "nat", "3,702,258,687 public IPv4 addresses"},
		{"a NACL that allows one /22 on 443 is controlled egress", Options{}, []func(*inventory.Region){natDefault, allowlist},
			"PASS", "nat", "1,024 public IPv4 addresses"},
		{"security groups that allow everything but a /1 are still open", Options{}, []func(*inventory.Region){natDefault, sgs("sg-half"),
			addSG(inventory.SecurityGroup{ID: "sg-half", Egress: []inventory.SGRule{{Protocol: "-1", CIDRs: []string{"128.0.0.0/1"}}}})},
			"FAIL", "nat", "% of the public IPv4 space"},
		{"a customer prefix list holding 0.0.0.0/0 in the only egress rule is open", Options{}, []func(*inventory.Region){natDefault, sgs("sg-pl"),
			addSG(inventory.SecurityGroup{ID: "sg-pl", Egress: []inventory.SGRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, PrefixListIDs: []string{"pl-0open"}}}})},
			"FAIL", "nat", "100% of the public IPv4 space"},
		{"a customer prefix list of private space is no internet path", Options{}, []func(*inventory.Region){natDefault, sgs("sg-pl"),
			addSG(inventory.SecurityGroup{ID: "sg-pl", Egress: []inventory.SGRule{{Protocol: "-1", PrefixListIDs: []string{"pl-0private"}}}})},
			"PASS", "none", "no internet path"},
		{"an AWS-managed prefix list is AWS service destinations, noted and not counted", Options{}, []func(*inventory.Region){natDefault, sgs("sg-s3"),
			addSG(inventory.SecurityGroup{ID: "sg-s3", Egress: []inventory.SGRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, PrefixListIDs: []string{"pl-63a5400a"}}}})},
			"PASS", "none", "AWS-managed prefix list pl-63a5400a"},
		{"--open-threshold /24: a /22 is open", Options{OpenV4Bits: 24}, []func(*inventory.Region){natDefault, allowlist},
			"FAIL", "nat", "threshold /24"},
		{"--open-threshold /22: a /22 is not more than a /22", Options{OpenV4Bits: 22}, []func(*inventory.Region){natDefault, allowlist},
			"PASS", "nat", "threshold /22"},
		{"IPv6: ::/0 through an egress-only gateway is open at /32", Options{}, []func(*inventory.Region){
			addRoutes(route("::/0", func(r *inventory.Route) { r.EgressOnlyInternetGatewayID = "eigw-1" })),
			withENI(inventory.NetworkInterface{IPv6Addresses: []string{"2600:1f18::10"}})},
			"FAIL", "ipv6", "public IPv6 addresses"},
		{"IPv6: one /48 is controlled egress", Options{}, []func(*inventory.Region){
			addRoutes(route("2600:1f18::/48", func(r *inventory.Route) { r.EgressOnlyInternetGatewayID = "eigw-1" })),
			withENI(inventory.NetworkInterface{IPv6Addresses: []string{"2600:1f18::10"}})},
			"PASS", "ipv6", "controlled egress"},
		{"IPv6 through a NAT gateway (NAT64) is not analysed: REVIEW", Options{}, []func(*inventory.Region){
			addRoutes(route("64:ff9b::/96", toNAT("nat-pub"))),
			withENI(inventory.NetworkInterface{IPv6Addresses: []string{"2600:1f18::10"}})},
			"REVIEW", "nat", "NAT64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := estate()
			for _, m := range tc.mods {
				m(reg)
			}
			inv := &inventory.Inventory{SchemaVersion: inventory.SchemaVersion, Regions: []inventory.Region{*reg}}
			got := evalInv(t, inv, tc.opts)
			if got.Status != tc.status || got.InternetPath != tc.path {
				t.Errorf("got %s/%s, want %s/%s; checks %+v", got.Status, got.InternetPath, tc.status, tc.path, got.Checks)
			}
			if blob := renderForSearch(got); !strings.Contains(blob, tc.says) {
				t.Errorf("the result does not say %q:\n%s", tc.says, blob)
			}
		})
	}
}

// TestInterfaceGroupsDecide: when the network interface records other
// security groups than the notebook, the interface's decide, and the
// difference is noted.
func TestInterfaceGroupsDecide(t *testing.T) {
	reg := estate()
	addRoutes(route("0.0.0.0/0", toNAT("nat-pub")))(reg)
	sgs("sg-private")(reg)
	withENI(inventory.NetworkInterface{SecurityGroupIDs: []string{"sg-open"}})(reg)
	got := evalOne(t, "", reg)
	if got.Status != finding.StatusFail || got.InternetPath != finding.PathNAT {
		t.Fatalf("got %s/%s, want FAIL/nat (the interface's open group decides)", got.Status, got.InternetPath)
	}
	if blob := renderForSearch(got); !strings.Contains(blob, "network interface eni-1 has security groups sg-open, the notebook records sg-private") {
		t.Errorf("the difference is not noted:\n%s", blob)
	}
}

// TestNoteDoesNotLeakBetweenNotebooks: two notebooks of one placement, one
// whose IPv6 is assumed (dualstack, no interface recorded) and one whose
// interface has IPv6 addresses, must not share the assumption's note. The
// analysis cache used to key them alike.
func TestNoteDoesNotLeakBetweenNotebooks(t *testing.T) {
	reg := estate()
	reg.Notebooks = []inventory.Notebook{
		{Name: "a-assumed", DirectInternetAccess: "Disabled", SubnetID: "subnet-a", SecurityGroupIDs: []string{"sg-open"}, IPAddressType: "dualstack"},
		{Name: "b-interface", DirectInternetAccess: "Disabled", SubnetID: "subnet-a", SecurityGroupIDs: []string{"sg-open"}, NetworkInterfaceID: "eni-6"},
	}
	reg.NetworkInterfaces = []inventory.NetworkInterface{{ID: "eni-6", SubnetID: "subnet-a", VPCID: "vpc-1", IPv6Addresses: []string{"2600:1f18::6"}}}
	for _, order := range [][]int{{0, 1}, {1, 0}} {
		r := *reg
		r.Notebooks = []inventory.Notebook{reg.Notebooks[order[0]], reg.Notebooks[order[1]]}
		ev, _ := New(Options{})
		res, _ := ev.Evaluate(&inventory.Inventory{SchemaVersion: inventory.SchemaVersion, Regions: []inventory.Region{r}})
		for _, x := range res {
			assumed := strings.Contains(strings.Join(x.Evidence.Notes, "\n"), "IPv6 assumed")
			if assumed != (x.Resource.Name == "a-assumed") {
				t.Errorf("order %v: %s carries the assumption note: %v", order, x.Resource.Name, assumed)
			}
		}
	}
}

// TestPublicSubnetSeesPrefixListRoutes: a route to an internet gateway
// whose destination is a prefix list makes the subnet public too.
func TestPublicSubnetSeesPrefixListRoutes(t *testing.T) {
	for _, pl := range []string{"pl-0open", "pl-63a5400a"} {
		reg := estate()
		reg.Subnets[0].MapPublicIPOnLaunch = true
		addRoutes(route(pl, toGW("igw-1")))(reg)
		sgs("sg-private")(reg)
		got := evalOne(t, "", reg)
		var c finding.Check
		for _, x := range got.Checks {
			if x.ID == CheckPublicSubnet {
				c = x
			}
		}
		if c.Status != finding.StatusFail || !strings.Contains(c.Message, pl) {
			t.Errorf("%s -> igw-1: public-subnet = %s (%s), want FAIL naming the route", pl, c.Status, c.Message)
		}
	}
}
