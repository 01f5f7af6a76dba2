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
// collection uses, and records every call with its filter values.
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
	errs    map[string]error // by operation name
	mu      sync.Mutex
	calls   []fakeCall
}

type fakeCall struct {
	op     string
	filter string
	values []string
}

func (f *fakeEC2) record(op string, filters []ec2types.Filter) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := fakeCall{op: op}
	for _, fl := range filters {
		c.filter = aws.ToString(fl.Name)
		c.values = slices.Clone(fl.Values)
	}
	f.calls = append(f.calls, c)
	return f.errs[op]
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

// pick returns the items whose key is in the one filter's values (all
// items when there is no filter).
func pick[T any](items []T, filters []ec2types.Filter, key func(T) []string) []T {
	if len(filters) == 0 {
		return items
	}
	var out []T
	for _, it := range items {
		for _, k := range key(it) {
			if slices.Contains(filters[0].Values, k) {
				out = append(out, it)
				break
			}
		}
	}
	return out
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
	return &ec2.DescribeSubnetsOutput{Subnets: pick(f.subnets, in.Filters, func(s ec2types.Subnet) []string { return one(s.SubnetId) })}, nil
}

func (f *fakeEC2) DescribeVpcs(_ context.Context, in *ec2.DescribeVpcsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	if err := f.record("DescribeVpcs", in.Filters); err != nil {
		return nil, err
	}
	return &ec2.DescribeVpcsOutput{Vpcs: pick(f.vpcs, in.Filters, func(v ec2types.Vpc) []string { return one(v.VpcId) })}, nil
}

func (f *fakeEC2) DescribeRouteTables(_ context.Context, in *ec2.DescribeRouteTablesInput, _ ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error) {
	if err := f.record("DescribeRouteTables", in.Filters); err != nil {
		return nil, err
	}
	return &ec2.DescribeRouteTablesOutput{RouteTables: pick(f.tables, in.Filters, func(t ec2types.RouteTable) []string { return one(t.VpcId) })}, nil
}

func (f *fakeEC2) DescribeNatGateways(_ context.Context, in *ec2.DescribeNatGatewaysInput, _ ...func(*ec2.Options)) (*ec2.DescribeNatGatewaysOutput, error) {
	if err := f.record("DescribeNatGateways", in.Filter); err != nil {
		return nil, err
	}
	return &ec2.DescribeNatGatewaysOutput{NatGateways: pick(f.nats, in.Filter, func(n ec2types.NatGateway) []string { return one(n.VpcId) })}, nil
}

func (f *fakeEC2) DescribeInternetGateways(_ context.Context, in *ec2.DescribeInternetGatewaysInput, _ ...func(*ec2.Options)) (*ec2.DescribeInternetGatewaysOutput, error) {
	if err := f.record("DescribeInternetGateways", in.Filters); err != nil {
		return nil, err
	}
	return &ec2.DescribeInternetGatewaysOutput{InternetGateways: pick(f.igws, in.Filters, func(g ec2types.InternetGateway) []string {
		var v []string
		for _, a := range g.Attachments {
			v = append(v, aws.ToString(a.VpcId))
		}
		return v
	})}, nil
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
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: pick(f.groups, in.Filters, func(g ec2types.SecurityGroup) []string { return one(g.GroupId) })}, nil
}

func (f *fakeEC2) DescribeNetworkAcls(_ context.Context, in *ec2.DescribeNetworkAclsInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkAclsOutput, error) {
	if err := f.record("DescribeNetworkAcls", in.Filters); err != nil {
		return nil, err
	}
	return &ec2.DescribeNetworkAclsOutput{NetworkAcls: pick(f.acls, in.Filters, func(a ec2types.NetworkAcl) []string { return one(a.VpcId) })}, nil
}

func (f *fakeEC2) DescribeNetworkInterfaces(_ context.Context, in *ec2.DescribeNetworkInterfacesInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	if err := f.record("DescribeNetworkInterfaces", in.Filters); err != nil {
		return nil, err
	}
	return &ec2.DescribeNetworkInterfacesOutput{NetworkInterfaces: pick(f.enis, in.Filters, func(e ec2types.NetworkInterface) []string { return one(e.NetworkInterfaceId) })}, nil
}

func (f *fakeEC2) DescribeVpcEndpoints(_ context.Context, in *ec2.DescribeVpcEndpointsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpcEndpointsOutput, error) {
	if err := f.record("DescribeVpcEndpoints", in.Filters); err != nil {
		return nil, err
	}
	return &ec2.DescribeVpcEndpointsOutput{VpcEndpoints: pick(f.vpces, in.Filters, func(e ec2types.VpcEndpoint) []string { return one(e.VpcId) })}, nil
}

// denied is an AWS access-denied error as the SDK returns it.
func denied(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "User is not authorized to perform this operation"}
}
