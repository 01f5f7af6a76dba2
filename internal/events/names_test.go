package events

import (
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagefence/sagefence/internal/awsop"
)

// TestNamesAreSDKOperations: CloudTrail names a management event after
// the API operation, so every name must be an operation of its service's
// SDK client; a typo would silently never match.
func TestNamesAreSDKOperations(t *testing.T) {
	clients := map[string]reflect.Type{
		SourceEC2:       reflect.TypeOf(&ec2.Client{}),
		SourceSageMaker: reflect.TypeOf(&sagemaker.Client{}),
	}
	names := Names()
	if len(names) == 0 {
		t.Fatal("no names")
	}
	for _, n := range names {
		c, ok := clients[n.Source]
		if !ok {
			t.Errorf("%s: unknown source %q", n.Name, n.Source)
			continue
		}
		if _, ok := c.MethodByName(n.Name); !ok {
			t.Errorf("%s is not an operation of the %s client", n.Name, n.Source)
		}
	}
}

func TestNamesAreUniqueAndStable(t *testing.T) {
	seen := map[Name]bool{}
	for _, n := range Names() {
		if seen[n] {
			t.Errorf("%v listed twice", n)
		}
		seen[n] = true
		if !Relevant(n.Source, n.Name) {
			t.Errorf("Relevant(%q, %q) = false for a listed name", n.Source, n.Name)
		}
	}
	if !reflect.DeepEqual(Names(), Names()) {
		t.Error("Names is not stable")
	}
	var all []string
	for _, s := range Sources() {
		all = append(all, NamesOf(s)...)
	}
	if len(all) != len(Names()) {
		t.Errorf("Sources/NamesOf cover %d names, Names has %d", len(all), len(Names()))
	}
}

func TestRelevantRefusesOthers(t *testing.T) {
	for _, tc := range []struct{ source, name string }{
		{SourceEC2, "DescribeRouteTables"},                       // read-only
		{SourceEC2, "UpdateSecurityGroupRuleDescriptionsEgress"}, // changes nothing reachable
		{SourceEC2, "RunInstances"},
		{SourceSageMaker, "CreateRoute"}, // right name, wrong source
		{"iam.amazonaws.com", "CreateRole"},
		{SourceEC2, "createroute"},
		{"", ""},
	} {
		if Relevant(tc.source, tc.name) {
			t.Errorf("Relevant(%q, %q) = true", tc.source, tc.name)
		}
	}
}

// TestEveryNetworkReadIsWatched ties the list to what the path analysis
// reads: each EC2 read whose answer can change a verdict must have events
// that change that answer. A read added to awsop.Network without its
// events fails here.
func TestEveryNetworkReadIsWatched(t *testing.T) {
	changedBy := map[string][]string{
		awsop.DescribeSubnets:                      {"CreateSubnet", "DeleteSubnet", "ModifySubnetAttribute", "AssociateSubnetCidrBlock"},
		awsop.DescribeVpcs:                         nil, // read for coverage and evidence; no verdict depends on a VPC's own attributes
		awsop.DescribeRouteTables:                  {"CreateRoute", "ReplaceRoute", "DeleteRoute", "AssociateRouteTable", "DisassociateRouteTable", "ReplaceRouteTableAssociation", "EnableVgwRoutePropagation"},
		awsop.DescribeNatGateways:                  {"CreateNatGateway", "DeleteNatGateway"},
		awsop.DescribeInternetGateways:             {"AttachInternetGateway", "DetachInternetGateway"},
		awsop.DescribeEgressOnlyInternetGateways:   {"CreateEgressOnlyInternetGateway", "DeleteEgressOnlyInternetGateway"},
		awsop.DescribeSecurityGroups:               {"AuthorizeSecurityGroupEgress", "RevokeSecurityGroupEgress", "ModifySecurityGroupRules"},
		awsop.DescribeNetworkAcls:                  {"CreateNetworkAclEntry", "ReplaceNetworkAclEntry", "DeleteNetworkAclEntry", "ReplaceNetworkAclAssociation"},
		awsop.DescribeNetworkInterfaces:            {"ModifyNetworkInterfaceAttribute", "AssociateAddress", "DisassociateAddress", "AssignIpv6Addresses"},
		awsop.DescribeVpcEndpoints:                 {"CreateVpcEndpoint", "ModifyVpcEndpoint", "DeleteVpcEndpoints"},
		awsop.DescribeTransitGatewayAttachments:    {"CreateTransitGatewayVpcAttachment", "DeleteTransitGatewayVpcAttachment", "AcceptTransitGatewayPeeringAttachment"},
		awsop.DescribeTransitGatewayVpcAttachments: {"ModifyTransitGatewayVpcAttachment", "AcceptTransitGatewayVpcAttachment"},
		awsop.DescribeTransitGatewayRouteTables:    {"AssociateTransitGatewayRouteTable", "DisassociateTransitGatewayRouteTable"},
		awsop.SearchTransitGatewayRoutes:           {"CreateTransitGatewayRoute", "ReplaceTransitGatewayRoute", "EnableTransitGatewayRouteTablePropagation", "CreateTransitGatewayPrefixListReference"},
		awsop.DescribeManagedPrefixLists:           {"CreateManagedPrefixList", "DeleteManagedPrefixList"},
		awsop.GetManagedPrefixListEntries:          {"ModifyManagedPrefixList", "RestoreManagedPrefixListVersion"},
	}
	for _, op := range awsop.Network() {
		names, ok := changedBy[op]
		if !ok {
			t.Errorf("%s: the analysis reads it, but no events are mapped to it here (add them to families)", op)
			continue
		}
		for _, n := range names {
			if !Relevant(SourceEC2, n) {
				t.Errorf("%s is changed by %s, which is not in Names", op, n)
			}
		}
	}
	for _, n := range []string{"CreateNotebookInstance", "DeleteNotebookInstance", "StartNotebookInstance", "StopNotebookInstance", "UpdateNotebookInstance",
		// Studio: what DescribeDomain, DescribeUserProfile and ListSpaces read.
		"CreateDomain", "UpdateDomain", "DeleteDomain", "CreateUserProfile", "UpdateUserProfile", "DeleteUserProfile",
		"CreateSpace", "UpdateSpace", "DeleteSpace"} {
		if !slices.Contains(NamesOf(SourceSageMaker), n) {
			t.Errorf("notebook or Studio lifecycle event %s missing", n)
		}
	}
}
