// Package awsop is the one vocabulary of AWS operations sagefence reads,
// spelled as IAM spells them ("service:Action"). The collector records a
// failed call under these names, netpath looks failures up by them, and
// preflight and the permission catalog check that each is granted: one
// spelling, so that a failed call can never be mistaken for an absent
// object.
package awsop

// Identity, regions and accounts.
const (
	GetCallerIdentity = "sts:GetCallerIdentity"
	AssumeRole        = "sts:AssumeRole"
	DescribeRegions   = "ec2:DescribeRegions"
	ListAccounts      = "organizations:ListAccounts"
)

// Notebooks.
const (
	ListNotebookInstances    = "sagemaker:ListNotebookInstances"
	DescribeNotebookInstance = "sagemaker:DescribeNotebookInstance"
	ListTags                 = "sagemaker:ListTags"
)

// Studio domains, their user profiles, spaces and apps. ListTags (above)
// reads a domain's tags too. DescribeSpace is not read: a space has no
// network settings of its own (SpaceSettings has no security groups), and
// ListSpaces already gives its ownership and sharing.
const (
	ListDomains         = "sagemaker:ListDomains"
	DescribeDomain      = "sagemaker:DescribeDomain"
	ListUserProfiles    = "sagemaker:ListUserProfiles"
	DescribeUserProfile = "sagemaker:DescribeUserProfile"
	ListSpaces          = "sagemaker:ListSpaces"
	ListApps            = "sagemaker:ListApps"
)

// Studio lists the read operations of a Studio domain scan.
func Studio() []string {
	return []string{ListDomains, DescribeDomain, ListUserProfiles, DescribeUserProfile, ListSpaces, ListApps}
}

// Network facts of a notebook's own VPC.
const (
	DescribeSubnets                    = "ec2:DescribeSubnets"
	DescribeVpcs                       = "ec2:DescribeVpcs"
	DescribeRouteTables                = "ec2:DescribeRouteTables"
	DescribeNatGateways                = "ec2:DescribeNatGateways"
	DescribeInternetGateways           = "ec2:DescribeInternetGateways"
	DescribeEgressOnlyInternetGateways = "ec2:DescribeEgressOnlyInternetGateways"
	DescribeSecurityGroups             = "ec2:DescribeSecurityGroups"
	DescribeNetworkAcls                = "ec2:DescribeNetworkAcls"
	DescribeNetworkInterfaces          = "ec2:DescribeNetworkInterfaces"
	DescribeVpcEndpoints               = "ec2:DescribeVpcEndpoints"
)

// Facts past the subnet: transit gateways (in their owner's account) and
// customer-managed prefix lists.
const (
	DescribeTransitGatewayAttachments    = "ec2:DescribeTransitGatewayAttachments"
	DescribeTransitGatewayVpcAttachments = "ec2:DescribeTransitGatewayVpcAttachments"
	DescribeTransitGatewayRouteTables    = "ec2:DescribeTransitGatewayRouteTables"
	SearchTransitGatewayRoutes           = "ec2:SearchTransitGatewayRoutes"
	DescribeManagedPrefixLists           = "ec2:DescribeManagedPrefixLists"
	GetManagedPrefixListEntries          = "ec2:GetManagedPrefixListEntries"
)

// Network lists the EC2 read operations whose results the path analysis
// depends on: every one the collector can record as failed for a region,
// a VPC, a transit gateway or a prefix list.
func Network() []string {
	return []string{
		DescribeSubnets, DescribeVpcs, DescribeRouteTables, DescribeNatGateways,
		DescribeInternetGateways, DescribeEgressOnlyInternetGateways, DescribeSecurityGroups,
		DescribeNetworkAcls, DescribeNetworkInterfaces, DescribeVpcEndpoints,
		DescribeTransitGatewayAttachments, DescribeTransitGatewayVpcAttachments,
		DescribeTransitGatewayRouteTables, SearchTransitGatewayRoutes,
		DescribeManagedPrefixLists, GetManagedPrefixListEntries,
	}
}

// Audit lists every read operation a scan makes (identity, regions,
// accounts, notebooks, Studio and Network).
func Audit() []string {
	out := []string{
		GetCallerIdentity, AssumeRole, DescribeRegions, ListAccounts,
		ListNotebookInstances, DescribeNotebookInstance, ListTags,
	}
	out = append(out, Studio()...)
	return append(out, Network()...)
}
