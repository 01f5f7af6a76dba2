package collect

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

// recordedOperations lists the operations of every failure an inventory
// records: the inventory's own, each region's and each notebook's.
func recordedOperations(inv *inventory.Inventory) []string {
	var ops []string
	for _, e := range inv.Errors {
		ops = append(ops, e.Operation)
	}
	for _, r := range inv.Regions {
		for _, e := range r.Errors {
			ops = append(ops, e.Operation)
		}
		for _, nb := range r.Notebooks {
			if nb.Error != nil {
				ops = append(ops, nb.Error.Operation)
			}
		}
		for _, d := range r.StudioDomains {
			if d.Error != nil {
				ops = append(ops, d.Error.Operation)
			}
			for _, e := range d.Errors {
				ops = append(ops, e.Operation)
			}
			for _, p := range d.UserProfiles {
				if p.Error != nil {
					ops = append(ops, p.Error.Operation)
				}
			}
		}
	}
	return ops
}

// TestEveryRecordedFailureIsInTheVocabulary fails each call the fakes
// answer, one at a time, and checks that every failure the collector
// records names an operation of awsop.Audit: the analysis looks failures
// up by these names, so a spelling of its own would turn a failed read
// into an absent object.
func TestEveryRecordedFailureIsInTheVocabulary(t *testing.T) {
	seen := map[string]bool{}
	record := func(inv *inventory.Inventory) {
		for _, op := range recordedOperations(inv) {
			seen[op] = true
		}
	}
	// Each EC2 and SageMaker call of a region, failed on its own.
	for _, call := range []string{
		"DescribeSubnets", "DescribeVpcs", "DescribeRouteTables", "DescribeNatGateways", "DescribeInternetGateways",
		"DescribeEgressOnlyInternetGateways", "DescribeSecurityGroups", "DescribeNetworkAcls",
		"DescribeNetworkInterfaces", "DescribeVpcEndpoints",
		"ListNotebookInstances", "DescribeNotebookInstance", "ListTags",
		"ListDomains", "DescribeDomain", "ListUserProfiles", "DescribeUserProfile", "ListSpaces", "ListApps",
	} {
		sm, ec := bigEstate(2)
		sm.domains = []fakeDomain{vpcDomain("d-1")}
		sm.notebooks[0].NetworkInterfaceId = aws.String("eni-1")
		ec.errs = map[string]error{call: denied("UnauthorizedOperation")}
		sm.errs = map[string]error{call: denied("AccessDeniedException")}
		r := Region(context.Background(), sm, ec, acct, region, Options{})
		record(&inventory.Inventory{Regions: []inventory.Region{r}})
	}
	// Each call of the rounds past the subnet and of the follow-up, failed
	// in every account of a hub-and-spoke estate.
	for _, call := range []string{
		"DescribeTransitGatewayAttachments", "DescribeTransitGatewayVpcAttachments", "DescribeTransitGatewayRouteTables",
		"SearchTransitGatewayRoutes", "DescribeManagedPrefixLists", "GetManagedPrefixListEntries", "DescribeVpcs",
	} {
		_, _, inv := hubScan(t, func(_ string, ec *fakeEC2) { ec.errs = map[string]error{call: denied("UnauthorizedOperation")} })
		record(inv)
	}
	// The account-level calls.
	ids := accountIDs(2)
	src := &fakeSource{
		org: orgOf(append([]string{caller}, ids...), nil), regionNames: []string{"us-east-1"}, perRegion: 1,
		denied: map[string]error{ids[0]: denied("AccessDenied")}, regionsErr: map[string]error{ids[1]: denied("UnauthorizedOperation")},
	}
	inv, err := collectFrom(context.Background(), src, "us-east-1", CollectOptions{Org: true, Role: audit})
	if err != nil {
		t.Fatal(err)
	}
	record(inv)
	src = &fakeSource{org: &fakeOrg{err: denied("AccessDeniedException")}}
	if inv, err = collectFrom(context.Background(), src, "us-east-1", CollectOptions{Org: true, Role: audit}); err != nil {
		t.Fatal(err)
	}
	record(inv)
	src = &fakeSource{identityErr: denied("AccessDenied")}
	if inv, err = collectFrom(context.Background(), src, "us-east-1", CollectOptions{}); err != nil {
		t.Fatal(err)
	}
	record(inv)

	audit := awsop.Audit()
	for op := range seen {
		if !slices.Contains(audit, op) {
			t.Errorf("collect records failures under %q, which awsop.Audit does not list", op)
		}
	}
	// Every operation of the vocabulary must have been driven to fail, or
	// the check above proves nothing about it.
	for _, op := range awsop.Audit() {
		if !seen[op] {
			t.Errorf("no failure of %s was recorded: the fakes do not exercise it", op)
		}
	}
}
