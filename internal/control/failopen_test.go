package control

import (
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
)

// TestNoPassOnWhatWasNotRead: facts that a failed or partial read left
// out, or that the inventory holds twice or in a form the scanner does not
// recognise, are unknown wherever they decide; the notebook is ERROR,
// never PASS (and never a REVIEW that exits 0). Each case is one that a
// review found passing.
func TestNoPassOnWhatWasNotRead(t *testing.T) {
	igwUnread := func(reg *inventory.Region) {
		reg.InternetGateways = nil
		reg.Errors = append(reg.Errors, inventory.CollectError{Operation: "ec2:DescribeInternetGateways", Code: "RequestLimitExceeded", Message: "Request limit exceeded."})
	}
	igwState := func(state string) func(*inventory.Region) {
		return func(reg *inventory.Region) { reg.InternetGateways[0].Attachments[0].State = state }
	}
	// A notebook whose groups allow only private egress, with a public
	// IPv4 address and a rule admitting SSH from anywhere.
	publicENI := []func(*inventory.Region){
		sgs("sg-in"), addSG(inventory.SecurityGroup{ID: "sg-in", VPCID: "vpc-1",
			Ingress: []inventory.SGRule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDRs: []string{"0.0.0.0/0"}}},
			Egress:  []inventory.SGRule{{Protocol: "-1", CIDRs: []string{"10.0.0.0/8"}}}}),
		withENI(inventory.NetworkInterface{VPCID: "vpc-1", SubnetID: "subnet-a", PublicIP: "54.0.0.1", SecurityGroupIDs: []string{"sg-in"}}),
		addRoutes(route("0.0.0.0/0", toGW("igw-1"))),
	}
	privateOnly := sgs("sg-private")
	natDefault := addRoutes(route("0.0.0.0/0", toNAT("nat-pub")))
	cases := []struct {
		name string
		mods []func(*inventory.Region)
		fact string
	}{
		{"a public subnet whose internet gateway could not be read", []func(*inventory.Region){privateOnly, publicSubnet, igwUnread},
			"internet-gateway igw-1"},
		{"a public subnet whose internet gateway attachment has no state", []func(*inventory.Region){privateOnly, publicSubnet, igwState("")},
			`attachment state "" is not recognised`},
		{"a public subnet whose internet gateway attachment state is not one AWS gives", []func(*inventory.Region){privateOnly, publicSubnet, igwState("Available")},
			`attachment state "Available" is not recognised`},
		{"an interface with a public address and open ingress behind an unread internet gateway", append(publicENI, igwUnread),
			"internet-gateway igw-1"},
		{"an egress path through an internet gateway attachment with no state", []func(*inventory.Region){natDefault, igwState("")},
			`attachment state "" is not recognised`},
		{"a second explicit route table claiming the notebook's subnet", []func(*inventory.Region){func(reg *inventory.Region) {
			reg.RouteTables = append([]inventory.RouteTable{{ID: "rtb-dup", VPCID: "vpc-1", SubnetIDs: []string{"subnet-a"},
				Routes: []inventory.Route{local(), route("0.0.0.0/0", toNAT("nat-pub"))}}}, reg.RouteTables...)
		}}, "route table of subnet subnet-a"},
		{"two main route tables in the notebook's VPC", []func(*inventory.Region){func(reg *inventory.Region) {
			reg.RouteTables[0].SubnetIDs = nil // subnet-a falls to the main table
			reg.RouteTables = append([]inventory.RouteTable{{ID: "rtb-main-2", VPCID: "vpc-1", Main: true,
				Routes: []inventory.Route{local(), route("0.0.0.0/0", toNAT("nat-pub"))}}}, reg.RouteTables...)
		}}, "main route table of vpc-1"},
		{"a second network ACL claiming the notebook's subnet", []func(*inventory.Region){natDefault, func(reg *inventory.Region) {
			reg.NetworkACLs = append(reg.NetworkACLs, inventory.NetworkACL{ID: "acl-deny", VPCID: "vpc-1", SubnetIDs: []string{"subnet-a"},
				Entries: []inventory.ACLEntry{{RuleNumber: 32767, Egress: true, Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"},
					{RuleNumber: 32767, Egress: false, Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"}}})
		}}, "network ACL of subnet subnet-a"},
		{"a main route table kept from a route table read that failed", []func(*inventory.Region){func(reg *inventory.Region) {
			reg.RouteTables[0].SubnetIDs = nil // the explicit association was on a page that failed
			reg.Errors = append(reg.Errors, inventory.CollectError{Operation: "ec2:DescribeRouteTables", Resource: "vpc-1", Code: "InternalError", Message: "try again"})
		}}, "ec2:DescribeRouteTables failed for vpc-1"},
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

// TestAnotherVPCsClaimIsIgnored: a route table or network ACL of another
// VPC cannot be associated with a subnet; a record saying so does not
// decide, whatever its place in the file.
func TestAnotherVPCsClaimIsIgnored(t *testing.T) {
	reg := estate()
	addRoutes(route("0.0.0.0/0", toNAT("nat-pub")))(reg)
	reg.RouteTables = append(reg.RouteTables, inventory.RouteTable{ID: "rtb-other", VPCID: "vpc-2", SubnetIDs: []string{"subnet-a"},
		Routes: []inventory.Route{{DestinationCIDR: "172.16.0.0/16", GatewayID: "local", State: "active"}}})
	reg.NetworkACLs = append(reg.NetworkACLs, inventory.NetworkACL{ID: "acl-other", VPCID: "vpc-2", SubnetIDs: []string{"subnet-a"},
		Entries: []inventory.ACLEntry{{RuleNumber: 32767, Egress: true, Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"},
			{RuleNumber: 32767, Egress: false, Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"}}})
	got := evalOne(t, "", reg)
	if got.Status != finding.StatusFail || got.InternetPath != finding.PathNAT || got.Evidence.RouteTableID != "rtb-a" {
		t.Fatalf("status %s, internet_path %s, route table %s; want FAIL, nat, rtb-a", got.Status, got.InternetPath, got.Evidence.RouteTableID)
	}
}

// TestNoPassOnWhatWasNotReadPastTheSubnet: the same, for the transit
// gateway and the network account behind it.
func TestNoPassOnWhatWasNotReadPastTheSubnet(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*inventory.Inventory)
		fact string
	}{
		{"a transit gateway route without a type", func(inv *inventory.Inventory) {
			tgwTable(inv, "tgw-rtb-spoke").Routes[0].Type = ""
		}, `type "" is not recognised`},
		{"an attachment state AWS does not give", func(inv *inventory.Inventory) {
			netRegion(inv).TransitGatewayAttachments[0].State = "bogus"
			inv.Regions[0].TransitGatewayAttachments[0].State = "bogus"
		}, `state "bogus" is not recognised`},
		{"an attachment state in the wrong case in the owner's record", func(inv *inventory.Inventory) {
			netRegion(inv).TransitGatewayAttachments[0].State = "Available"
		}, `state "Available" is not recognised`},
		{"the network account's region could not be read", func(inv *inventory.Inventory) {
			inv.Regions = inv.Regions[:1]
			inv.NetworkAccounts = []string{networkAcct}
			inv.Errors = append(inv.Errors, inventory.CollectError{AccountID: networkAcct, Region: "us-east-1", Operation: "ec2:DescribeTransitGateways", Code: "AuthFailure", Message: "not enabled"})
		}, "ec2:DescribeTransitGateways failed"},
		{"a transit gateway route table kept although its route search failed", func(inv *inventory.Inventory) {
			tgwTable(inv, "tgw-rtb-spoke").Routes = tgwTable(inv, "tgw-rtb-spoke").Routes[1:] // what a partial search left
			n := netRegion(inv)
			n.Errors = append(n.Errors, inventory.CollectError{Operation: "ec2:SearchTransitGatewayRoutes", Resource: "tgw-rtb-spoke", Code: "InternalError", Message: "try again"})
		}, "ec2:SearchTransitGatewayRoutes failed for tgw-rtb-spoke"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := hubAndSpoke()
			tc.mod(inv)
			got := evalInv(t, inv, Options{})
			wantUnknown(t, got, tc.fact)
		})
	}
}

// TestTransitGatewayStateAndZonesPastTheAccount: an attachment carries
// traffic if either account's record says it does; zone names are per
// account, so in another account every attachment subnet may carry it.
func TestTransitGatewayStateAndZonesPastTheAccount(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*inventory.Inventory)
	}{
		{"the spoke's record says deleted, the owner's available", func(inv *inventory.Inventory) {
			inv.Regions[0].TransitGatewayAttachments[0].State = "deleted"
		}},
		{"the egress VPC's subnet in the spoke's zone name is isolated; its other attachment subnet is not", func(inv *inventory.Inventory) {
			n := netRegion(inv)
			// us-east-1a in the network account need not be us-east-1a in the
			// spoke's: the isolated subnet named like the spoke's zone must
			// not hide the open one.
			n.Subnets = append(n.Subnets, inventory.Subnet{ID: "subnet-e-tgw-b", VPCID: "vpc-egress", CIDRBlock: "100.64.0.16/28", AvailabilityZone: "us-east-1b"})
			for i := range n.NetworkACLs {
				if n.NetworkACLs[i].ID == "acl-e-tgw" {
					n.NetworkACLs[i].SubnetIDs = append(n.NetworkACLs[i].SubnetIDs, "subnet-e-tgw-b")
				}
			}
			rtOf(n, "rtb-e-tgw").SubnetIDs = []string{"subnet-e-tgw-b"}
			n.RouteTables = append(n.RouteTables, inventory.RouteTable{ID: "rtb-e-isolated", VPCID: "vpc-egress", SubnetIDs: []string{"subnet-e-tgw"},
				Routes: []inventory.Route{{DestinationCIDR: "100.64.0.0/16", GatewayID: "local", State: "active"}}})
			for i := range n.TransitGatewayAttachments {
				if n.TransitGatewayAttachments[i].ID == "tgw-attach-egress" {
					n.TransitGatewayAttachments[i].SubnetIDs = []string{"subnet-e-tgw", "subnet-e-tgw-b"}
				}
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := hubAndSpoke()
			tc.mod(inv)
			got := evalInv(t, inv, Options{})
			if got.Status != finding.StatusFail || got.InternetPath != finding.PathNAT {
				t.Fatalf("status %s, internet_path %s; want FAIL, nat; checks %+v", got.Status, got.InternetPath, got.Checks)
			}
		})
	}
}

// TestAnalysisSharedWithoutNames: notebooks that share an analysis do not
// share each other's names or interfaces in what it says.
func TestAnalysisSharedWithoutNames(t *testing.T) {
	reg := estate()
	reg.Notebooks[0].Name, reg.Notebooks[0].SecurityGroupIDs = "alpha", nil
	beta := reg.Notebooks[0]
	beta.Name = "beta"
	reg.Notebooks = append(reg.Notebooks, beta)
	// Two interfaces with the same groups, both differing from what
	// their notebooks record.
	for i, id := range []string{"eni-a", "eni-b"} {
		reg.Notebooks = append(reg.Notebooks, inventory.Notebook{Name: "nb-" + id, DirectInternetAccess: "Disabled", SubnetID: "subnet-a",
			SecurityGroupIDs: []string{"sg-open"}, NetworkInterfaceID: id, RootAccess: "Enabled", Status: "InService"})
		reg.NetworkInterfaces = append(reg.NetworkInterfaces, inventory.NetworkInterface{ID: id, VPCID: "vpc-1", SubnetID: "subnet-a",
			PrivateIPAddress: "10.0.1." + string(rune('5'+i)), SecurityGroupIDs: []string{"sg-private"}})
	}
	ev, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := ev.Evaluate(&inventory.Inventory{SchemaVersion: inventory.SchemaVersion, Regions: []inventory.Region{*reg}})
	byName := map[string]string{}
	for _, r := range res {
		byName[r.Resource.Name] = renderForSearch(r)
	}
	for name, other := range map[string]string{"alpha": "beta", "beta": "alpha", "nb-eni-a": "eni-b", "nb-eni-b": "eni-a"} {
		blob, ok := byName[name]
		if !ok {
			t.Fatalf("no result for %s", name)
		}
		if strings.Contains(blob, other) {
			t.Errorf("%s's result names %s:\n%s", name, other, blob)
		}
	}
	if !strings.Contains(byName["nb-eni-b"], "eni-b") {
		t.Errorf("nb-eni-b's result does not name its own interface:\n%s", byName["nb-eni-b"])
	}
}

// TestReproduceNamesTheGroupsThatDecide: when the interface's security
// groups decide, the reproducing command describes them, not the
// notebook's.
func TestReproduceNamesTheGroupsThatDecide(t *testing.T) {
	reg := estate()
	withENI(inventory.NetworkInterface{VPCID: "vpc-1", SubnetID: "subnet-a", SecurityGroupIDs: []string{"sg-private"}})(reg)
	got := strings.Join(evalOne(t, "", reg).Reproduce.Strings(), "\n")
	if !strings.Contains(got, "--group-ids sg-private") || strings.Contains(got, "sg-open") {
		t.Fatalf("reproduce does not describe the interface's group sg-private alone:\n%s", got)
	}
}
