package collect

import (
	"context"
	"slices"
	"testing"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

// hubScan collects one spoke and the network account in one region, after
// change has adjusted each account's fakes.
func hubScan(t *testing.T, change func(account string, ec *fakeEC2)) (spokeEntry, networkEntry *inventory.Region, inv *inventory.Inventory) {
	t.Helper()
	s := accountIDs(1)[0]
	build := hubAndSpokes(network, []string{s}, 2)
	src := &fakeSource{regionNames: []string{"eu-west-1"}, estate: func(account, region string) (*fakeSageMaker, *fakeEC2) {
		sm, ec := build(account, region)
		change(account, ec)
		return sm, ec
	}}
	inv, err := collectFrom(context.Background(), src, "eu-west-1", CollectOptions{Accounts: []string{s}, NetworkAccounts: []string{network}, Role: audit})
	if err != nil {
		t.Fatal(err)
	}
	return regionOf(inv, s, "eu-west-1"), regionOf(inv, network, "eu-west-1"), inv
}

func opResources(errs []inventory.CollectError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Operation+" "+e.Resource)
	}
	return out
}

// TestPartialPagesAreDroppedAndRecorded: each paginated read answers a
// first page and a NextToken, then fails. What that read was for is absent
// from the inventory, never kept with the first page only, and the failure
// is recorded against what it concerns: the whole region in the scan's own
// rounds, the object in the follow-up.
func TestPartialPagesAreDroppedAndRecorded(t *testing.T) {
	tests := []struct {
		name    string
		account string // "spoke" or "network"
		call    string
		want    []string // "operation resource" of the errors of the account's entry
		absent  func(spoke, net *inventory.Region) bool
	}{
		{"the spoke's transit gateway attachments", "spoke", "DescribeTransitGatewayAttachments",
			[]string{awsop.DescribeTransitGatewayAttachments + " "},
			func(s, n *inventory.Region) bool { return len(s.TransitGatewayAttachments) == 0 && n == nil }},
		{"the spoke's VPC attachments", "spoke", "DescribeTransitGatewayVpcAttachments",
			[]string{awsop.DescribeTransitGatewayVpcAttachments + " "},
			func(s, n *inventory.Region) bool { return len(s.TransitGatewayAttachments) == 0 && n == nil }},
		{"the owner's attachments", "network", "DescribeTransitGatewayAttachments",
			[]string{awsop.DescribeTransitGatewayAttachments + " " + hubTGW},
			func(s, n *inventory.Region) bool {
				return len(n.TransitGatewayAttachments) == 0 && len(n.Coverage.TransitGateways) == 0 && len(n.Coverage.VPCs) == 0
			}},
		{"the owner's route tables", "network", "DescribeTransitGatewayRouteTables",
			[]string{awsop.DescribeTransitGatewayRouteTables + " " + hubTGW},
			func(s, n *inventory.Region) bool {
				return len(n.TransitGatewayRouteTables) == 0 && len(n.Coverage.TransitGateways) == 0
			}},
		{"a route table's search", "network", "SearchTransitGatewayRoutes",
			[]string{awsop.SearchTransitGatewayRoutes + " " + egressTable, awsop.SearchTransitGatewayRoutes + " " + spokesTable},
			func(s, n *inventory.Region) bool {
				return len(n.TransitGatewayRouteTables) == 0 && len(n.Coverage.VPCs) == 0
			}},
		{"the spoke's customer prefix list entries", "spoke", "GetManagedPrefixListEntries",
			[]string{awsop.GetManagedPrefixListEntries + " " + spokePL},
			func(s, n *inventory.Region) bool {
				return slices.Equal(ids(s.PrefixLists, func(p inventory.PrefixList) string { return p.ID }), []string{s3PL})
			}},
		{"a transit gateway route's prefix list entries", "network", "GetManagedPrefixListEntries",
			[]string{awsop.GetManagedPrefixListEntries + " " + partnersPL},
			func(s, n *inventory.Region) bool { return len(n.PrefixLists) == 0 }},
		{"the spoke's prefix lists", "spoke", "DescribeManagedPrefixLists",
			[]string{awsop.DescribeManagedPrefixLists + " "},
			func(s, n *inventory.Region) bool { return len(s.PrefixLists) == 0 }},
		{"a transit gateway route's prefix list", "network", "DescribeManagedPrefixLists",
			[]string{awsop.DescribeManagedPrefixLists + " " + partnersPL},
			func(s, n *inventory.Region) bool { return len(n.PrefixLists) == 0 }},
		{"the egress VPC's subnets", "network", "DescribeSubnets",
			[]string{awsop.DescribeSubnets + " " + egressVPC},
			func(s, n *inventory.Region) bool {
				return len(n.Subnets) == 0 && slices.Equal(n.Coverage.VPCs, []string{egressVPC})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, n, inv := hubScan(t, func(account string, ec *fakeEC2) {
				if (account == network) == (tt.account == "network") {
					ec.failPage = map[string]error{tt.call: denied("RequestLimitExceeded")}
				}
			})
			entry, other := s, n
			if tt.account == "network" {
				entry, other = n, s
			}
			if entry == nil {
				t.Fatalf("no %s entry; errors %+v", tt.account, inv.Errors)
			}
			if got := opResources(entry.Errors); !slices.Equal(got, tt.want) {
				t.Errorf("%s errors %q, want %q", tt.account, got, tt.want)
			}
			if other != nil && len(other.Errors) != 0 {
				t.Errorf("the other account's errors %+v", other.Errors)
			}
			for _, e := range entry.Errors {
				if e.Code != "RequestLimitExceeded" || e.AccountID != entry.AccountID || e.Region != "eu-west-1" {
					t.Errorf("error %+v", e)
				}
			}
			if !tt.absent(s, n) {
				t.Errorf("a partial read was kept: spoke %+v\nnetwork %+v", s, n)
			}
		})
	}
}

// TestFollowUpFailuresNameWhatTheyConcern: a failed call of the follow-up
// names the transit gateway, route table, VPC or prefix list it was about,
// never the whole region, whose own reads succeeded; the rest is read.
func TestFollowUpFailuresNameWhatTheyConcern(t *testing.T) {
	tests := []struct {
		name string
		errs map[string]error
		want []string
		kept func(n *inventory.Region) bool
	}{
		{"one route table's search denied", map[string]error{"SearchTransitGatewayRoutes/" + spokesTable: denied("UnauthorizedOperation")},
			[]string{awsop.SearchTransitGatewayRoutes + " " + spokesTable},
			func(n *inventory.Region) bool {
				return slices.Equal(ids(n.TransitGatewayRouteTables, func(t inventory.TransitGatewayRouteTable) string { return t.ID }), []string{egressTable}) &&
					slices.Equal(n.Coverage.TransitGateways, []string{hubTGW}) && len(n.Coverage.VPCs) == 0
			}},
		{"the gateway's route tables denied", map[string]error{"DescribeTransitGatewayRouteTables": denied("UnauthorizedOperation")},
			[]string{awsop.DescribeTransitGatewayRouteTables + " " + hubTGW},
			func(n *inventory.Region) bool {
				return len(n.TransitGatewayAttachments) == 2 && len(n.TransitGatewayRouteTables) == 0 && len(n.Coverage.TransitGateways) == 0
			}},
		{"the egress VPC's route tables denied", map[string]error{"DescribeRouteTables": denied("UnauthorizedOperation")},
			[]string{awsop.DescribeRouteTables + " " + egressVPC},
			func(n *inventory.Region) bool {
				return len(n.RouteTables) == 0 && len(n.NATGateways) == 1 && slices.Equal(n.Coverage.VPCs, []string{egressVPC})
			}},
		{"a prefix list's entries denied", map[string]error{"GetManagedPrefixListEntries/" + partnersPL: denied("UnauthorizedOperation")},
			[]string{awsop.GetManagedPrefixListEntries + " " + partnersPL},
			func(n *inventory.Region) bool {
				return len(n.PrefixLists) == 0 && len(n.TransitGatewayRouteTables) == 2
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, n, _ := hubScan(t, func(account string, ec *fakeEC2) {
				if account == network {
					ec.errs = tt.errs
				}
			})
			if got := opResources(n.Errors); !slices.Equal(got, tt.want) {
				t.Errorf("errors %q, want %q", got, tt.want)
			}
			if !tt.kept(n) {
				t.Errorf("network entry %+v", n)
			}
		})
	}
}
