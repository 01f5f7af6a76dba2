// Package collect reads live AWS accounts (the caller's, a list, or an
// organization's, through an assumed role) into an inventory.Inventory, one
// bounded pool of workers over the account-regions: the
// SageMaker notebook instances of each region, described one by one with
// bounded concurrency, and the network objects they reference (subnets,
// VPCs, route tables, gateways, security groups, network ACLs, network
// interfaces, VPC endpoints, transit gateway attachments, prefix lists),
// read with a constant number of batched EC2 calls per region. A
// follow-up phase then reads what the notebooks' traffic meets past their
// VPCs (transit gateway route tables and the VPCs behind them, in the
// accounts in scope; followup.go). Every call that fails is recorded in
// the inventory; the analysis fails closed on what is missing. Only
// configuration problems that leave nothing to evaluate come back as Go
// errors.
package collect

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagefence/sagefence/internal/awsclient"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/shard"
)

// SageMakerAPI is the part of the SageMaker client collection uses.
type SageMakerAPI interface {
	ListNotebookInstances(ctx context.Context, in *sagemaker.ListNotebookInstancesInput, optFns ...func(*sagemaker.Options)) (*sagemaker.ListNotebookInstancesOutput, error)
	DescribeNotebookInstance(ctx context.Context, in *sagemaker.DescribeNotebookInstanceInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeNotebookInstanceOutput, error)
	ListTags(ctx context.Context, in *sagemaker.ListTagsInput, optFns ...func(*sagemaker.Options)) (*sagemaker.ListTagsOutput, error)
	StudioAPI
}

// RegionsAPI is the EC2 call that lists regions.
type RegionsAPI interface {
	DescribeRegions(ctx context.Context, in *ec2.DescribeRegionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error)
}

// EC2API is the part of the EC2 client collection uses.
type EC2API interface {
	RegionsAPI
	DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
	DescribeVpcs(ctx context.Context, in *ec2.DescribeVpcsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error)
	DescribeRouteTables(ctx context.Context, in *ec2.DescribeRouteTablesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error)
	DescribeNatGateways(ctx context.Context, in *ec2.DescribeNatGatewaysInput, optFns ...func(*ec2.Options)) (*ec2.DescribeNatGatewaysOutput, error)
	DescribeInternetGateways(ctx context.Context, in *ec2.DescribeInternetGatewaysInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInternetGatewaysOutput, error)
	DescribeEgressOnlyInternetGateways(ctx context.Context, in *ec2.DescribeEgressOnlyInternetGatewaysInput, optFns ...func(*ec2.Options)) (*ec2.DescribeEgressOnlyInternetGatewaysOutput, error)
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
	DescribeNetworkAcls(ctx context.Context, in *ec2.DescribeNetworkAclsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeNetworkAclsOutput, error)
	DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error)
	DescribeVpcEndpoints(ctx context.Context, in *ec2.DescribeVpcEndpointsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeVpcEndpointsOutput, error)
	DescribeTransitGatewayAttachments(ctx context.Context, in *ec2.DescribeTransitGatewayAttachmentsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeTransitGatewayAttachmentsOutput, error)
	DescribeTransitGatewayVpcAttachments(ctx context.Context, in *ec2.DescribeTransitGatewayVpcAttachmentsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeTransitGatewayVpcAttachmentsOutput, error)
	DescribeTransitGatewayRouteTables(ctx context.Context, in *ec2.DescribeTransitGatewayRouteTablesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeTransitGatewayRouteTablesOutput, error)
	SearchTransitGatewayRoutes(ctx context.Context, in *ec2.SearchTransitGatewayRoutesInput, optFns ...func(*ec2.Options)) (*ec2.SearchTransitGatewayRoutesOutput, error)
	DescribeManagedPrefixLists(ctx context.Context, in *ec2.DescribeManagedPrefixListsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeManagedPrefixListsOutput, error)
	GetManagedPrefixListEntries(ctx context.Context, in *ec2.GetManagedPrefixListEntriesInput, optFns ...func(*ec2.Options)) (*ec2.GetManagedPrefixListEntriesOutput, error)
}

// DefaultConcurrency is how many notebooks of a region are described at
// once when Options.Concurrency is 0.
const DefaultConcurrency = 8

// DefaultRegionConcurrency is how many account-regions are collected at
// once when CollectOptions.RegionConcurrency is 0.
const DefaultRegionConcurrency = 8

// Options tune the collection of one region.
type Options struct {
	// Concurrency bounds the notebooks described at once (and the EC2
	// describe calls in flight); 0 means DefaultConcurrency.
	Concurrency int
	// Resources are the kinds to read (inventory.ResourceNotebookInstances,
	// inventory.ResourceStudioDomains); empty means both.
	Resources []string
}

// reads reports whether kind is to be read.
func (o Options) reads(kind string) bool {
	return len(o.Resources) == 0 || slices.Contains(o.Resources, kind)
}

// resources are the kinds read, as the inventory records them.
func (o Options) resources() []string {
	if len(o.Resources) == 0 {
		return []string{inventory.ResourceNotebookInstances, inventory.ResourceStudioDomains}
	}
	return sortedSet(o.Resources)
}

func (o Options) concurrency() int {
	if o.Concurrency <= 0 {
		return DefaultConcurrency
	}
	return o.Concurrency
}

// CollectOptions tune a whole collection.
type CollectOptions struct {
	// Regions to read; empty means every region enabled in the account,
	// in the caller's partition.
	Regions []string
	// Concurrency is Options.Concurrency for every region.
	Concurrency int
	// Resources is Options.Resources for every region: empty reads
	// notebook instances and Studio domains.
	Resources []string
	// RegionConcurrency bounds the account-regions read at once (the
	// workers of the one pool over accounts × regions); 0 means
	// DefaultRegionConcurrency. At most RegionConcurrency × Concurrency
	// notebooks are described at once.
	RegionConcurrency int
	// Now stamps Inventory.CollectedAt; nil means time.Now.
	Now func() time.Time

	// Org reads every ACTIVE account of the caller's organization
	// (organizations:ListAccounts, from the management account or a
	// delegated administrator). Org and Accounts are exclusive; without
	// either, the caller's account alone is read.
	Org bool
	// Accounts are the IDs of the accounts to read.
	Accounts []string
	// ExcludeAccounts are never read (unless listed in NetworkAccounts).
	ExcludeAccounts []string
	// NetworkAccounts are read for networking only, never for notebooks,
	// even when Org or Accounts select them: the transit gateways and the
	// VPCs behind them that the notebooks' paths lead into (followup.go).
	// Reading them needs Role.
	NetworkAccounts []string
	// Shard keeps the accounts of one shard only (shard.Shard.Owns).
	Shard shard.Shard
	// Role is assumed in every account to read except the caller's own,
	// which is read with the caller's credentials. Required with Org or
	// Accounts.
	Role awsclient.RoleOptions
	// RegionRead, if set, is called as each account-region has been read,
	// with the time it took and the notebooks found. It must be safe for
	// concurrent use.
	RegionRead func(account, region string, took time.Duration, notebooks int)
}

// ErrNoRegion is returned when neither the configuration nor the request
// names a region to start from.
var ErrNoRegion = errors.New("no AWS region configured: pass --regions, set AWS_REGION, or use a profile with a region")

// Collect reads the caller's account, or the accounts opts names (a list
// or the organization's): identity (STS), the accounts, a session in each
// other account through opts.Role, the regions to read in each, then every
// account-region with a SageMaker and an EC2 client built for it. A Go
// error means nothing could be evaluated because of the options or the
// configuration (ErrUnknownRegion, ErrNoRegion, ErrAccountOptions); every
// AWS failure, including a failed identity lookup, a failed account listing
// or a role that could not be assumed, is recorded in the returned
// inventory instead, against the account it concerns.
func Collect(ctx context.Context, cfg aws.Config, opts CollectOptions) (*inventory.Inventory, error) {
	requested, err := checkRegionNames(opts.Regions)
	if err != nil {
		return nil, err
	}
	home := cfg.Region
	if home == "" {
		if len(requested) == 0 {
			return nil, ErrNoRegion
		}
		home = requested[0]
	}
	return collectFrom(ctx, sdkSource{cfg: cfg, home: home, role: opts.Role}, home, opts)
}

// Region reads one account-region: every notebook instance (listed,
// described and tagged) and every Studio domain (with its profiles, spaces
// and apps), as opts.Resources selects, and the network objects they
// reference, with the coverage of the VPCs it read whole. It never fails:
// a call that fails is recorded on the notebook or domain it concerns
// (Notebook.Error, StudioDomain.Error) or in Region.Errors, and the rest
// is still collected.
func Region(ctx context.Context, sm SageMakerAPI, ec EC2API, accountID, region string, opts Options) inventory.Region {
	rec := &recorder{account: accountID, region: region}
	r := inventory.Region{AccountID: accountID, Region: region, Notebooks: []inventory.Notebook{}, Coverage: &inventory.Coverage{VPCs: []string{}}}
	if opts.reads(inventory.ResourceNotebookInstances) {
		r.Notebooks = collectNotebooks(ctx, sm, rec, opts)
	}
	if opts.reads(inventory.ResourceStudioDomains) {
		r.StudioDomains = collectDomains(ctx, sm, rec, opts)
	}
	collectNetwork(ctx, ec, rec, &r, opts)
	r.Errors = rec.list()
	return r
}

// chunk splits values into slices of at most n, the most filter values
// one EC2 call accepts.
func chunk(values []string, n int) [][]string {
	var out [][]string
	for len(values) > n {
		out = append(out, values[:n])
		values = values[n:]
	}
	if len(values) > 0 {
		out = append(out, values)
	}
	return out
}

// sortedSet returns the distinct non-empty values, sorted.
func sortedSet(values ...[]string) []string {
	var out []string
	for _, vs := range values {
		for _, v := range vs {
			if v != "" {
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
