package collect

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"
)

// fakeSageMaker serves notebooks from memory, in name order, with the
// paging of the real API, and fails the calls named in errs.
type fakeSageMaker struct {
	notebooks []*sagemaker.DescribeNotebookInstanceOutput
	tags      map[string][]smtypes.Tag // by ARN
	tagPage   int                      // ListTags page size; 0 = all

	// errs fails calls: key "Op" or "Op/name" (name is the notebook name,
	// or for ListNotebookInstances the page number from 1).
	errs map[string]error
	// block makes DescribeNotebookInstance wait for the context to end.
	block bool
	// domains are the Studio domains (fake_studio_test.go).
	domains []fakeDomain

	mu    sync.Mutex
	calls map[string]int
}

func (f *fakeSageMaker) count(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
}

func (f *fakeSageMaker) called(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *fakeSageMaker) fail(op, key string) error {
	if err := f.errs[op+"/"+key]; err != nil {
		return err
	}
	return f.errs[op]
}

func (f *fakeSageMaker) ListNotebookInstances(ctx context.Context, in *sagemaker.ListNotebookInstancesInput, _ ...func(*sagemaker.Options)) (*sagemaker.ListNotebookInstancesOutput, error) {
	f.count("ListNotebookInstances")
	start := 0
	if in.NextToken != nil {
		start, _ = strconv.Atoi(*in.NextToken)
	}
	size := int(aws.ToInt32(in.MaxResults))
	if size <= 0 || size > 100 {
		return nil, fmt.Errorf("fake: MaxResults %d out of range", size)
	}
	if err := f.fail("ListNotebookInstances", strconv.Itoa(start/size+1)); err != nil {
		return nil, err
	}
	out := &sagemaker.ListNotebookInstancesOutput{}
	end := min(start+size, len(f.notebooks))
	for _, nb := range f.notebooks[start:end] {
		out.NotebookInstances = append(out.NotebookInstances, smtypes.NotebookInstanceSummary{
			NotebookInstanceName:   nb.NotebookInstanceName,
			NotebookInstanceArn:    nb.NotebookInstanceArn,
			NotebookInstanceStatus: nb.NotebookInstanceStatus,
			InstanceType:           nb.InstanceType,
		})
	}
	if end < len(f.notebooks) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f *fakeSageMaker) DescribeNotebookInstance(ctx context.Context, in *sagemaker.DescribeNotebookInstanceInput, _ ...func(*sagemaker.Options)) (*sagemaker.DescribeNotebookInstanceOutput, error) {
	f.count("DescribeNotebookInstance")
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	name := aws.ToString(in.NotebookInstanceName)
	if err := f.fail("DescribeNotebookInstance", name); err != nil {
		return nil, err
	}
	for _, nb := range f.notebooks {
		if aws.ToString(nb.NotebookInstanceName) == name {
			c := *nb
			return &c, nil
		}
	}
	return nil, &smithy.GenericAPIError{Code: "ValidationException", Message: "RecordNotFound"}
}

func (f *fakeSageMaker) ListTags(ctx context.Context, in *sagemaker.ListTagsInput, _ ...func(*sagemaker.Options)) (*sagemaker.ListTagsOutput, error) {
	f.count("ListTags")
	arn := aws.ToString(in.ResourceArn)
	for _, nb := range f.notebooks {
		if aws.ToString(nb.NotebookInstanceArn) == arn {
			if err := f.fail("ListTags", aws.ToString(nb.NotebookInstanceName)); err != nil {
				return nil, err
			}
		}
	}
	for _, d := range f.domains {
		if aws.ToString(d.desc.DomainArn) == arn {
			if err := f.fail("ListTags", aws.ToString(d.desc.DomainId)); err != nil {
				return nil, err
			}
		}
	}
	all := f.tags[arn]
	start := 0
	if in.NextToken != nil {
		start, _ = strconv.Atoi(*in.NextToken)
	}
	end := len(all)
	if f.tagPage > 0 {
		end = min(start+f.tagPage, len(all))
	}
	out := &sagemaker.ListTagsOutput{Tags: all[start:end]}
	if end < len(all) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

// fakeEC2 answers describe calls from fixed lists, applying the filters
// collection uses (and failing on any other, as moto answers 500 to a
// filter it lacks), and records every call with its filter values.
type fakeEC2 struct {
	regions []ec2types.Region
	subnets []ec2types.Subnet
	vpcs    []ec2types.Vpc
	tables  []ec2types.RouteTable
	nats    []ec2types.NatGateway
	igws    []ec2types.InternetGateway
	eigws   []ec2types.EgressOnlyInternetGateway
	groups  []ec2types.SecurityGroup
	acls    []ec2types.NetworkAcl
	enis    []ec2types.NetworkInterface
	vpces   []ec2types.VpcEndpoint

	tgwAtts      []ec2types.TransitGatewayAttachment
	tgwVPCAtts   []ec2types.TransitGatewayVpcAttachment
	tgwTables    []ec2types.TransitGatewayRouteTable
	tgwRoutes    map[string][]ec2types.TransitGatewayRoute // by route table ID
	tgwTruncated map[string]bool                           // AdditionalRoutesAvailable, by route table ID
	prefixLists  []ec2types.ManagedPrefixList
	plEntries    map[string][]ec2types.PrefixListEntry // by prefix list ID

	// errs fails calls: key "Op", or "Op/ID" for the calls about one
	// object (a route table's search, a prefix list's entries).
	errs map[string]error
	// failPage makes the named operations answer a first page with a
	// NextToken and fail on the next one with the error.
	failPage map[string]error

	mu    sync.Mutex
	calls []fakeCall
}

type fakeCall struct {
	op      string
	filter  string // the last filter's name
	values  []string
	filters []string // every filter's name
}

func (f *fakeEC2) record(op string, filters []ec2types.Filter) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := fakeCall{op: op}
	for _, fl := range filters {
		c.filter = aws.ToString(fl.Name)
		c.values = slices.Clone(fl.Values)
		c.filters = append(c.filters, c.filter)
	}
	f.calls = append(f.calls, c)
	return f.errs[op]
}

// failFor is the error set for the call of op about id.
func (f *fakeEC2) failFor(op, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.errs[op+"/"+id]
}

func (f *fakeEC2) callsTo(op string) []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeCall
	for _, c := range f.calls {
		if op == "" || c.op == op {
			out = append(out, c)
		}
	}
	return out
}

// counts is the number of calls per operation.
func (f *fakeEC2) counts() map[string]int {
	out := map[string]int{}
	for _, c := range f.callsTo("") {
		out[c.op]++
	}
	return out
}

// page cuts items into the answer to a call with token: everything, or,
// when failPage names op, the first half and a NextToken, then the error.
func page[T any](f *fakeEC2, op string, items []T, token *string) ([]T, *string, error) {
	f.mu.Lock()
	err := f.failPage[op]
	f.mu.Unlock()
	if err == nil {
		return items, nil, nil
	}
	if token != nil {
		return nil, nil, err
	}
	return items[:(len(items)+1)/2], aws.String("page-2"), nil
}

// match returns the items every filter selects; keys gives the values of
// an item each supported filter compares with.
func match[T any](items []T, filters []ec2types.Filter, keys map[string]func(T) []string) ([]T, error) {
	out := slices.Clone(items)
	for _, fl := range filters {
		key, ok := keys[aws.ToString(fl.Name)]
		if !ok {
			return nil, fmt.Errorf("fake: unsupported filter %q", aws.ToString(fl.Name))
		}
		out = slices.DeleteFunc(out, func(it T) bool {
			return !slices.ContainsFunc(key(it), func(k string) bool { return slices.Contains(fl.Values, k) })
		})
	}
	return out, nil
}

func one(s *string) []string { return []string{aws.ToString(s)} }

func (f *fakeEC2) DescribeRegions(_ context.Context, in *ec2.DescribeRegionsInput, _ ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error) {
	if err := f.record("DescribeRegions", nil); err != nil {
		return nil, err
	}
	if !aws.ToBool(in.AllRegions) {
		return nil, fmt.Errorf("fake: AllRegions not set")
	}
	return &ec2.DescribeRegionsOutput{Regions: f.regions}, nil
}

func (f *fakeEC2) DescribeSubnets(_ context.Context, in *ec2.DescribeSubnetsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	if err := f.record("DescribeSubnets", in.Filters); err != nil {
		return nil, err
	}
	out, err := match(f.subnets, in.Filters, map[string]func(ec2types.Subnet) []string{
		"subnet-id": func(s ec2types.Subnet) []string { return one(s.SubnetId) },
		"vpc-id":    func(s ec2types.Subnet) []string { return one(s.VpcId) },
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(f, "DescribeSubnets", out, in.NextToken)
	return &ec2.DescribeSubnetsOutput{Subnets: items, NextToken: next}, err
}

func (f *fakeEC2) DescribeVpcs(_ context.Context, in *ec2.DescribeVpcsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	if err := f.record("DescribeVpcs", in.Filters); err != nil {
		return nil, err
	}
	out, err := match(f.vpcs, in.Filters, map[string]func(ec2types.Vpc) []string{
		"vpc-id": func(v ec2types.Vpc) []string { return one(v.VpcId) },
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(f, "DescribeVpcs", out, in.NextToken)
	return &ec2.DescribeVpcsOutput{Vpcs: items, NextToken: next}, err
}

func (f *fakeEC2) DescribeRouteTables(_ context.Context, in *ec2.DescribeRouteTablesInput, _ ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error) {
	if err := f.record("DescribeRouteTables", in.Filters); err != nil {
		return nil, err
	}
	out, err := match(f.tables, in.Filters, map[string]func(ec2types.RouteTable) []string{
		"vpc-id": func(t ec2types.RouteTable) []string { return one(t.VpcId) },
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(f, "DescribeRouteTables", out, in.NextToken)
	return &ec2.DescribeRouteTablesOutput{RouteTables: items, NextToken: next}, err
}

func (f *fakeEC2) DescribeNatGateways(_ context.Context, in *ec2.DescribeNatGatewaysInput, _ ...func(*ec2.Options)) (*ec2.DescribeNatGatewaysOutput, error) {
	if err := f.record("DescribeNatGateways", in.Filter); err != nil {
		return nil, err
	}
	out, err := match(f.nats, in.Filter, map[string]func(ec2types.NatGateway) []string{
		"vpc-id": func(n ec2types.NatGateway) []string { return one(n.VpcId) },
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(f, "DescribeNatGateways", out, in.NextToken)
	return &ec2.DescribeNatGatewaysOutput{NatGateways: items, NextToken: next}, err
}

func (f *fakeEC2) DescribeInternetGateways(_ context.Context, in *ec2.DescribeInternetGatewaysInput, _ ...func(*ec2.Options)) (*ec2.DescribeInternetGatewaysOutput, error) {
	if err := f.record("DescribeInternetGateways", in.Filters); err != nil {
		return nil, err
	}
	out, err := match(f.igws, in.Filters, map[string]func(ec2types.InternetGateway) []string{
		"attachment.vpc-id": func(g ec2types.InternetGateway) []string {
			var v []string
			for _, a := range g.Attachments {
				v = append(v, aws.ToString(a.VpcId))
			}
			return v
		},
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(f, "DescribeInternetGateways", out, in.NextToken)
	return &ec2.DescribeInternetGatewaysOutput{InternetGateways: items, NextToken: next}, err
}

func (f *fakeEC2) DescribeEgressOnlyInternetGateways(_ context.Context, in *ec2.DescribeEgressOnlyInternetGatewaysInput, _ ...func(*ec2.Options)) (*ec2.DescribeEgressOnlyInternetGatewaysOutput, error) {
	if err := f.record("DescribeEgressOnlyInternetGateways", in.Filters); err != nil {
		return nil, err
	}
	if len(in.Filters) > 0 {
		return nil, fmt.Errorf("fake: DescribeEgressOnlyInternetGateways has no VPC filter")
	}
	return &ec2.DescribeEgressOnlyInternetGatewaysOutput{EgressOnlyInternetGateways: f.eigws}, nil
}

func (f *fakeEC2) DescribeSecurityGroups(_ context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	if err := f.record("DescribeSecurityGroups", in.Filters); err != nil {
		return nil, err
	}
	out, err := match(f.groups, in.Filters, map[string]func(ec2types.SecurityGroup) []string{
		"group-id": func(g ec2types.SecurityGroup) []string { return one(g.GroupId) },
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(f, "DescribeSecurityGroups", out, in.NextToken)
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: items, NextToken: next}, err
}

func (f *fakeEC2) DescribeNetworkAcls(_ context.Context, in *ec2.DescribeNetworkAclsInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkAclsOutput, error) {
	if err := f.record("DescribeNetworkAcls", in.Filters); err != nil {
		return nil, err
	}
	out, err := match(f.acls, in.Filters, map[string]func(ec2types.NetworkAcl) []string{
		"vpc-id": func(a ec2types.NetworkAcl) []string { return one(a.VpcId) },
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(f, "DescribeNetworkAcls", out, in.NextToken)
	return &ec2.DescribeNetworkAclsOutput{NetworkAcls: items, NextToken: next}, err
}

func (f *fakeEC2) DescribeNetworkInterfaces(_ context.Context, in *ec2.DescribeNetworkInterfacesInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	if err := f.record("DescribeNetworkInterfaces", in.Filters); err != nil {
		return nil, err
	}
	out, err := match(f.enis, in.Filters, map[string]func(ec2types.NetworkInterface) []string{
		"network-interface-id": func(e ec2types.NetworkInterface) []string { return one(e.NetworkInterfaceId) },
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(f, "DescribeNetworkInterfaces", out, in.NextToken)
	return &ec2.DescribeNetworkInterfacesOutput{NetworkInterfaces: items, NextToken: next}, err
}

func (f *fakeEC2) DescribeVpcEndpoints(_ context.Context, in *ec2.DescribeVpcEndpointsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpcEndpointsOutput, error) {
	if err := f.record("DescribeVpcEndpoints", in.Filters); err != nil {
		return nil, err
	}
	out, err := match(f.vpces, in.Filters, map[string]func(ec2types.VpcEndpoint) []string{
		"vpc-id": func(e ec2types.VpcEndpoint) []string { return one(e.VpcId) },
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(f, "DescribeVpcEndpoints", out, in.NextToken)
	return &ec2.DescribeVpcEndpointsOutput{VpcEndpoints: items, NextToken: next}, err
}

func (f *fakeEC2) DescribeTransitGatewayAttachments(_ context.Context, in *ec2.DescribeTransitGatewayAttachmentsInput, _ ...func(*ec2.Options)) (*ec2.DescribeTransitGatewayAttachmentsOutput, error) {
	const op = "DescribeTransitGatewayAttachments"
	if err := f.record(op, in.Filters); err != nil {
		return nil, err
	}
	all, err := match(f.tgwAtts, in.Filters, map[string]func(ec2types.TransitGatewayAttachment) []string{
		"resource-id":        func(a ec2types.TransitGatewayAttachment) []string { return one(a.ResourceId) },
		"transit-gateway-id": func(a ec2types.TransitGatewayAttachment) []string { return one(a.TransitGatewayId) },
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(f, op, all, in.NextToken)
	return &ec2.DescribeTransitGatewayAttachmentsOutput{TransitGatewayAttachments: items, NextToken: next}, err
}

func (f *fakeEC2) DescribeTransitGatewayVpcAttachments(_ context.Context, in *ec2.DescribeTransitGatewayVpcAttachmentsInput, _ ...func(*ec2.Options)) (*ec2.DescribeTransitGatewayVpcAttachmentsOutput, error) {
	const op = "DescribeTransitGatewayVpcAttachments"
	if err := f.record(op, in.Filters); err != nil {
		return nil, err
	}
	all, err := match(f.tgwVPCAtts, in.Filters, map[string]func(ec2types.TransitGatewayVpcAttachment) []string{
		"vpc-id":             func(a ec2types.TransitGatewayVpcAttachment) []string { return one(a.VpcId) },
		"transit-gateway-id": func(a ec2types.TransitGatewayVpcAttachment) []string { return one(a.TransitGatewayId) },
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(f, op, all, in.NextToken)
	return &ec2.DescribeTransitGatewayVpcAttachmentsOutput{TransitGatewayVpcAttachments: items, NextToken: next}, err
}

func (f *fakeEC2) DescribeTransitGatewayRouteTables(_ context.Context, in *ec2.DescribeTransitGatewayRouteTablesInput, _ ...func(*ec2.Options)) (*ec2.DescribeTransitGatewayRouteTablesOutput, error) {
	const op = "DescribeTransitGatewayRouteTables"
	if err := f.record(op, in.Filters); err != nil {
		return nil, err
	}
	all, err := match(f.tgwTables, in.Filters, map[string]func(ec2types.TransitGatewayRouteTable) []string{
		"transit-gateway-id": func(t ec2types.TransitGatewayRouteTable) []string { return one(t.TransitGatewayId) },
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(f, op, all, in.NextToken)
	return &ec2.DescribeTransitGatewayRouteTablesOutput{TransitGatewayRouteTables: items, NextToken: next}, err
}

func (f *fakeEC2) SearchTransitGatewayRoutes(_ context.Context, in *ec2.SearchTransitGatewayRoutesInput, _ ...func(*ec2.Options)) (*ec2.SearchTransitGatewayRoutesOutput, error) {
	const op = "SearchTransitGatewayRoutes"
	if err := f.record(op, in.Filters); err != nil {
		return nil, err
	}
	id := aws.ToString(in.TransitGatewayRouteTableId)
	if err := f.failFor(op, id); err != nil {
		return nil, err
	}
	if in.MaxResults != nil {
		return nil, fmt.Errorf("fake: MaxResults set (moto 5.2 fails such a search)")
	}
	if len(in.Filters) == 0 {
		return nil, fmt.Errorf("fake: SearchTransitGatewayRoutes needs a filter")
	}
	all, err := match(f.tgwRoutes[id], in.Filters, map[string]func(ec2types.TransitGatewayRoute) []string{
		"state": func(r ec2types.TransitGatewayRoute) []string { return []string{string(r.State)} },
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(f, op, all, in.NextToken)
	return &ec2.SearchTransitGatewayRoutesOutput{Routes: items, NextToken: next, AdditionalRoutesAvailable: aws.Bool(f.tgwTruncated[id])}, err
}

func (f *fakeEC2) DescribeManagedPrefixLists(_ context.Context, in *ec2.DescribeManagedPrefixListsInput, _ ...func(*ec2.Options)) (*ec2.DescribeManagedPrefixListsOutput, error) {
	const op = "DescribeManagedPrefixLists"
	if err := f.record(op, in.Filters); err != nil {
		return nil, err
	}
	all, err := match(f.prefixLists, in.Filters, map[string]func(ec2types.ManagedPrefixList) []string{
		"prefix-list-id": func(l ec2types.ManagedPrefixList) []string { return one(l.PrefixListId) },
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(f, op, all, in.NextToken)
	return &ec2.DescribeManagedPrefixListsOutput{PrefixLists: items, NextToken: next}, err
}

func (f *fakeEC2) GetManagedPrefixListEntries(_ context.Context, in *ec2.GetManagedPrefixListEntriesInput, _ ...func(*ec2.Options)) (*ec2.GetManagedPrefixListEntriesOutput, error) {
	const op = "GetManagedPrefixListEntries"
	if err := f.record(op, nil); err != nil {
		return nil, err
	}
	id := aws.ToString(in.PrefixListId)
	if err := f.failFor(op, id); err != nil {
		return nil, err
	}
	entries, ok := f.plEntries[id]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "InvalidPrefixListID.NotFound", Message: "The prefix list ID '" + id + "' does not exist"}
	}
	items, next, err := page(f, op, entries, in.NextToken)
	return &ec2.GetManagedPrefixListEntriesOutput{Entries: items, NextToken: next}, err
}

// denied is an AWS access-denied error as the SDK returns it.
func denied(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "User is not authorized to perform this operation"}
}
