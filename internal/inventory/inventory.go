// Package inventory holds the typed, versioned snapshot of the AWS facts that
// the control is evaluated on: notebook instances and the network objects they
// reference, per account and region, plus every call that failed while they
// were collected. It round-trips to JSON so that a scan can be saved
// (--save-inventory) and evaluated again offline (--input).
package inventory

import "time"

// SchemaVersion is the version of the JSON snapshot this package writes.
// Version 2 added what the path analysis needs past the notebook's subnet:
// transit gateway attachments and route tables, prefix lists, internet
// gateway attachment states, the coverage of each read and the accounts
// read for networking only. Version 3 added SageMaker Studio domains
// (Region.StudioDomains) and the resource kinds read (Inventory.Resources).
// Version 1 and 2 snapshots still load: what they lack is evaluated as not
// collected (see Region.Coverage); they hold notebook instances only.
const SchemaVersion = "3"

// SchemaVersion2 is the snapshot version before Studio domains, still read.
const SchemaVersion2 = "2"

// SchemaVersion1 is the first snapshot version, still read.
const SchemaVersion1 = "1"

// Inventory is one collection run over one or more account-regions.
type Inventory struct {
	SchemaVersion string    `json:"schema_version"`
	CollectedAt   time.Time `json:"collected_at"`
	// Partition is the AWS partition of the caller ("aws", "aws-cn", ...).
	Partition string   `json:"partition,omitempty"`
	Regions   []Region `json:"regions"`
	// Errors are failures not tied to one account-region (for example, the
	// region list could not be read). Region-scoped failures live in Region.Errors.
	Errors []CollectError `json:"errors,omitempty"`
	// Shard is set when the collection read one shard of a split of the
	// accounts (scan --shard K/N); reports evaluated from it say so.
	Shard *Shard `json:"shard,omitempty"`
	// NetworkAccounts are the accounts the scan could read for networking
	// (transit gateway route tables, egress VPCs) besides the accounts it
	// scanned: scan --network-accounts, and with --org the organisation's
	// accounts outside the shard or the exclusions. A path that leads into
	// an account neither scanned nor listed here is out of sight (REVIEW,
	// naming the account); one into an account in scope that could not be
	// read is ERROR.
	NetworkAccounts []string `json:"network_accounts,omitempty"`
	// Resources are the resource kinds this collection read
	// (ResourceNotebookInstances, ResourceStudioDomains; schema 3). Empty
	// in older snapshots, which read notebook instances only.
	Resources []string `json:"resources,omitempty"`
}

// ReadsResource reports whether the collection read resources of kind
// (ResourceNotebookInstances or ResourceStudioDomains).
func (inv *Inventory) ReadsResource(kind string) bool {
	if len(inv.Resources) == 0 {
		return kind == ResourceNotebookInstances
	}
	for _, r := range inv.Resources {
		if r == kind {
			return true
		}
	}
	return false
}

// Shard names one of Count shards (Index from 0).
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// Region is everything collected in one account and region.
type Region struct {
	AccountID string `json:"account_id"`
	Region    string `json:"region"`

	Notebooks                  []Notebook                  `json:"notebooks"`
	VPCs                       []VPC                       `json:"vpcs,omitempty"`
	Subnets                    []Subnet                    `json:"subnets,omitempty"`
	RouteTables                []RouteTable                `json:"route_tables,omitempty"`
	NATGateways                []NATGateway                `json:"nat_gateways,omitempty"`
	InternetGateways           []InternetGateway           `json:"internet_gateways,omitempty"`
	EgressOnlyInternetGateways []EgressOnlyInternetGateway `json:"egress_only_internet_gateways,omitempty"`
	SecurityGroups             []SecurityGroup             `json:"security_groups,omitempty"`
	NetworkACLs                []NetworkACL                `json:"network_acls,omitempty"`
	NetworkInterfaces          []NetworkInterface          `json:"network_interfaces,omitempty"`
	VPCEndpoints               []VPCEndpoint               `json:"vpc_endpoints,omitempty"`

	// TransitGatewayAttachments are the attachments of the read VPCs (as
	// the VPC's account sees them) and, in a transit gateway owner's
	// account, every attachment of the transit gateways it was read for.
	TransitGatewayAttachments []TransitGatewayAttachment `json:"transit_gateway_attachments,omitempty"`
	// TransitGatewayRouteTables are the route tables of the transit
	// gateways this account owns that a path leads through, with their
	// routes.
	TransitGatewayRouteTables []TransitGatewayRouteTable `json:"transit_gateway_route_tables,omitempty"`
	// PrefixLists are the managed prefix lists a security group rule or a
	// route of this account-region references.
	PrefixLists []PrefixList `json:"prefix_lists,omitempty"`

	// StudioDomains are the SageMaker Studio domains of the account-region
	// (schema 3), when the collection read them (Inventory.Resources). A
	// failed sagemaker:ListDomains is a region error with no resource.
	StudioDomains []StudioDomain `json:"studio_domains,omitempty"`

	// NetworkOnly is true when the account-region was read for networking
	// only (a transit gateway owner's or an egress VPC's account): its
	// notebooks were not listed.
	NetworkOnly bool `json:"network_only,omitempty"`
	// Coverage says which reads this snapshot holds whole (schema 2): an
	// object of a covered kind that is absent does not exist. Nil in a
	// schema 1 snapshot.
	Coverage *Coverage `json:"coverage,omitempty"`

	// Errors are the calls that failed in this account-region. A failure of a
	// whole operation (Operation set, Resource empty) means the objects of that
	// kind are missing from this snapshot: every notebook that needs them is
	// evaluated as ERROR. A failure with a Resource concerns that object
	// alone: a VPC ("vpc-…") whose contents could not be read, a transit
	// gateway ("tgw-…"), a transit gateway route table ("tgw-rtb-…"), a
	// prefix list ("pl-…"), or a notebook's own object.
	Errors []CollectError `json:"errors,omitempty"`
}

// Coverage records what a schema 2 collection read whole in one
// account-region.
type Coverage struct {
	// VPCs are the VPCs whose subnets, route tables, NAT gateways, internet
	// and egress-only internet gateways, network ACLs, VPC endpoints and
	// transit gateway attachments were read.
	VPCs []string `json:"vpcs"`
	// TransitGateways are the transit gateways (owned by this account)
	// whose attachments and route tables, with their routes, were read.
	TransitGateways []string `json:"transit_gateways,omitempty"`
}

// CollectError is one failed API call.
type CollectError struct {
	AccountID string `json:"account_id,omitempty"`
	Region    string `json:"region,omitempty"`
	// Operation is "service:Action", for example "ec2:DescribeRouteTables".
	Operation string `json:"operation"`
	// Resource names the object the call was about, when it was about one.
	Resource string `json:"resource,omitempty"`
	Code     string `json:"code,omitempty"`
	Message  string `json:"message"`
}

// DirectInternetAccess values as the SageMaker API spells them.
const (
	DirectInternetAccessEnabled  = "Enabled"
	DirectInternetAccessDisabled = "Disabled"
)

// Notebook is a SageMaker notebook instance as DescribeNotebookInstance and
// ListTags report it. Fields other than the network ones are kept so that a
// remediation can recreate the notebook with the same settings.
type Notebook struct {
	Name   string `json:"name"`
	ARN    string `json:"arn,omitempty"`
	Status string `json:"status,omitempty"`

	// DirectInternetAccess is "Enabled", "Disabled", or empty when the
	// describe call did not return it (which is evaluated as ERROR).
	DirectInternetAccess string   `json:"direct_internet_access,omitempty"`
	SubnetID             string   `json:"subnet_id,omitempty"`
	SecurityGroupIDs     []string `json:"security_group_ids,omitempty"`
	NetworkInterfaceID   string   `json:"network_interface_id,omitempty"`
	IPAddressType        string   `json:"ip_address_type,omitempty"`

	RootAccess                 string            `json:"root_access,omitempty"`
	InstanceType               string            `json:"instance_type,omitempty"`
	RoleARN                    string            `json:"role_arn,omitempty"`
	KMSKeyID                   string            `json:"kms_key_id,omitempty"`
	VolumeSizeInGB             int32             `json:"volume_size_in_gb,omitempty"`
	LifecycleConfigName        string            `json:"lifecycle_config_name,omitempty"`
	DefaultCodeRepository      string            `json:"default_code_repository,omitempty"`
	AdditionalCodeRepositories []string          `json:"additional_code_repositories,omitempty"`
	PlatformIdentifier         string            `json:"platform_identifier,omitempty"`
	MinimumIMDSVersion         string            `json:"minimum_imds_version,omitempty"`
	AcceleratorTypes           []string          `json:"accelerator_types,omitempty"`
	CreationTime               *time.Time        `json:"creation_time,omitempty"`
	Tags                       map[string]string `json:"tags,omitempty"`

	// Error is set when the notebook was listed but could not be described
	// (or its tags could not be read); such a notebook is evaluated as ERROR.
	Error *CollectError `json:"error,omitempty"`
}

// VPC is the part of DescribeVpcs the analysis and remediation need.
type VPC struct {
	ID             string   `json:"id"`
	CIDRBlocks     []string `json:"cidr_blocks,omitempty"`
	IPv6CIDRBlocks []string `json:"ipv6_cidr_blocks,omitempty"`
	// OwnerID is the account that owns the VPC: another account's for a
	// VPC shared through AWS RAM (schema 2 files may lack it).
	OwnerID string `json:"owner_id,omitempty"`
}

// Subnet is the part of DescribeSubnets the analysis needs.
type Subnet struct {
	ID                          string   `json:"id"`
	VPCID                       string   `json:"vpc_id"`
	CIDRBlock                   string   `json:"cidr_block,omitempty"`
	IPv6CIDRBlocks              []string `json:"ipv6_cidr_blocks,omitempty"`
	AvailabilityZone            string   `json:"availability_zone,omitempty"`
	MapPublicIPOnLaunch         bool     `json:"map_public_ip_on_launch"`
	AssignIPv6AddressOnCreation bool     `json:"assign_ipv6_address_on_creation,omitempty"`
}

// RouteTable is one VPC route table with its associations.
type RouteTable struct {
	ID    string `json:"id"`
	VPCID string `json:"vpc_id"`
	// Main is true when the table is its VPC's main route table.
	Main      bool     `json:"main,omitempty"`
	SubnetIDs []string `json:"subnet_ids,omitempty"`
	Routes    []Route  `json:"routes"`
}

// Route is one route. Exactly one destination and, for an active route,
// usually one target is set.
type Route struct {
	DestinationCIDR         string `json:"destination_cidr,omitempty"`
	DestinationIPv6CIDR     string `json:"destination_ipv6_cidr,omitempty"`
	DestinationPrefixListID string `json:"destination_prefix_list_id,omitempty"`

	// GatewayID holds "local", an igw-, vgw- or vpce- ID.
	GatewayID                   string `json:"gateway_id,omitempty"`
	NATGatewayID                string `json:"nat_gateway_id,omitempty"`
	EgressOnlyInternetGatewayID string `json:"egress_only_internet_gateway_id,omitempty"`
	InstanceID                  string `json:"instance_id,omitempty"`
	NetworkInterfaceID          string `json:"network_interface_id,omitempty"`
	TransitGatewayID            string `json:"transit_gateway_id,omitempty"`
	VPCPeeringConnectionID      string `json:"vpc_peering_connection_id,omitempty"`
	LocalGatewayID              string `json:"local_gateway_id,omitempty"`
	CarrierGatewayID            string `json:"carrier_gateway_id,omitempty"`
	CoreNetworkARN              string `json:"core_network_arn,omitempty"`
	// OdbNetworkARN is an Oracle Database@AWS network (schema 2).
	OdbNetworkARN string `json:"odb_network_arn,omitempty"`
	// NextHopIP is the next hop of a route VPC Route Server propagated
	// (the SDK's IpAddress; schema 2).
	NextHopIP string `json:"next_hop_ip,omitempty"`

	// State is "active", "blackhole" or "filtered".
	State string `json:"state,omitempty"`
}

// NATGateway is one NAT gateway.
type NATGateway struct {
	ID    string `json:"id"`
	VPCID string `json:"vpc_id,omitempty"`
	// SubnetID is the subnet the NAT gateway itself lives in.
	SubnetID string `json:"subnet_id,omitempty"`
	// State is pending, available, deleting, deleted or failed.
	State string `json:"state"`
	// ConnectivityType is "public" (default) or "private".
	ConnectivityType string `json:"connectivity_type,omitempty"`
}

// InternetGateway is one internet gateway and the VPCs it is attached to.
type InternetGateway struct {
	ID string `json:"id"`
	// VPCIDs are the VPCs of its attachments, in any state (schema 1
	// recorded only these).
	VPCIDs []string `json:"vpc_ids,omitempty"`
	// Attachments carry each attachment's state (schema 2): a gateway
	// routes a VPC's traffic only while attached ("available" or
	// "attached"); a route to one that is not is a blackhole.
	Attachments []GatewayAttachment `json:"attachments,omitempty"`
}

// GatewayAttachment is one VPC attachment of a gateway and its state
// (attaching, attached, available, detaching, detached).
type GatewayAttachment struct {
	VPCID string `json:"vpc_id"`
	State string `json:"state"`
}

// EgressOnlyInternetGateway is one IPv6 egress-only internet gateway.
type EgressOnlyInternetGateway struct {
	ID     string   `json:"id"`
	VPCIDs []string `json:"vpc_ids,omitempty"`
}

// SecurityGroup is one security group with its rules.
type SecurityGroup struct {
	ID      string   `json:"id"`
	Name    string   `json:"name,omitempty"`
	VPCID   string   `json:"vpc_id,omitempty"`
	Ingress []SGRule `json:"ingress"`
	Egress  []SGRule `json:"egress"`
}

// SGRule is one IpPermission. Protocol is "-1" for all traffic, otherwise a
// protocol name ("tcp", "udp", "icmp", "icmpv6") or number. FromPort and ToPort
// are meaningful for tcp and udp only.
type SGRule struct {
	Protocol string `json:"protocol"`
	FromPort int32  `json:"from_port,omitempty"`
	ToPort   int32  `json:"to_port,omitempty"`

	CIDRs          []string `json:"cidrs,omitempty"`
	IPv6CIDRs      []string `json:"ipv6_cidrs,omitempty"`
	PrefixListIDs  []string `json:"prefix_list_ids,omitempty"`
	SourceGroupIDs []string `json:"group_ids,omitempty"`
	// Descriptions keeps each range's description, keyed by the range, so a
	// backout can re-create a rule exactly.
	Descriptions map[string]string `json:"descriptions,omitempty"`
}

// NetworkACL is one network ACL with its entries and associated subnets.
type NetworkACL struct {
	ID        string     `json:"id"`
	VPCID     string     `json:"vpc_id"`
	Default   bool       `json:"default,omitempty"`
	SubnetIDs []string   `json:"subnet_ids,omitempty"`
	Entries   []ACLEntry `json:"entries"`
}

// ACLEntry is one network ACL rule.
type ACLEntry struct {
	RuleNumber int32 `json:"rule_number"`
	Egress     bool  `json:"egress"`
	// Protocol is "-1" for all, else an IANA protocol number as a string.
	Protocol string `json:"protocol"`
	Action   string `json:"action"` // "allow" or "deny"
	CIDR     string `json:"cidr,omitempty"`
	IPv6CIDR string `json:"ipv6_cidr,omitempty"`
	FromPort int32  `json:"from_port,omitempty"`
	ToPort   int32  `json:"to_port,omitempty"`
	HasPorts bool   `json:"has_ports,omitempty"`
}

// NetworkInterface is the part of DescribeNetworkInterfaces the analysis needs.
type NetworkInterface struct {
	ID               string   `json:"id"`
	SubnetID         string   `json:"subnet_id,omitempty"`
	VPCID            string   `json:"vpc_id,omitempty"`
	PrivateIPAddress string   `json:"private_ip_address,omitempty"`
	PublicIP         string   `json:"public_ip,omitempty"`
	IPv6Addresses    []string `json:"ipv6_addresses,omitempty"`
	SecurityGroupIDs []string `json:"security_group_ids,omitempty"`
	Description      string   `json:"description,omitempty"`
}

// TransitGatewayAttachment is one attachment of a transit gateway
// (DescribeTransitGatewayAttachments, with the subnets of a VPC attachment
// from DescribeTransitGatewayVpcAttachments).
type TransitGatewayAttachment struct {
	ID                    string `json:"id"`
	TransitGatewayID      string `json:"transit_gateway_id"`
	TransitGatewayOwnerID string `json:"transit_gateway_owner_id,omitempty"`
	// ResourceType is vpc, vpn, vpn-concentrator, direct-connect-gateway,
	// connect, peering, tgw-peering, network-function or client-vpn.
	ResourceType    string `json:"resource_type"`
	ResourceID      string `json:"resource_id,omitempty"`
	ResourceOwnerID string `json:"resource_owner_id,omitempty"`
	// State is the attachment's state (available, pending, deleting, ...).
	State string `json:"state"`
	// RouteTableID is the transit gateway route table the attachment is
	// associated with (its association); empty when it has none.
	RouteTableID     string `json:"route_table_id,omitempty"`
	AssociationState string `json:"association_state,omitempty"`
	// SubnetIDs are the subnets of a VPC attachment's interfaces.
	SubnetIDs []string `json:"subnet_ids,omitempty"`
}

// TransitGatewayRouteTable is one transit gateway route table and its
// routes (SearchTransitGatewayRoutes, active and blackhole).
type TransitGatewayRouteTable struct {
	ID               string                `json:"id"`
	TransitGatewayID string                `json:"transit_gateway_id"`
	Routes           []TransitGatewayRoute `json:"routes"`
	// Truncated is true when the search said more routes exist than it
	// returned: the table is not known whole.
	Truncated bool `json:"truncated,omitempty"`
}

// TransitGatewayRoute is one route of a transit gateway route table.
type TransitGatewayRoute struct {
	DestinationCIDR string `json:"destination_cidr,omitempty"`
	PrefixListID    string `json:"prefix_list_id,omitempty"`
	// Type is static or propagated.
	Type string `json:"type,omitempty"`
	// State is active or blackhole.
	State string `json:"state"`
	// Attachments are where the route sends traffic (several for ECMP).
	Attachments []TransitGatewayRouteAttachment `json:"attachments,omitempty"`
}

// TransitGatewayRouteAttachment is the target of a transit gateway route.
type TransitGatewayRouteAttachment struct {
	ID           string `json:"id"`
	ResourceType string `json:"resource_type,omitempty"`
	ResourceID   string `json:"resource_id,omitempty"`
}

// PrefixList is one managed prefix list. An AWS-managed list (owner "AWS",
// named com.amazonaws.<region>.<service>) stands for an AWS service's
// public ranges: its entries are not read. A customer-managed list is the
// CIDRs it holds.
type PrefixList struct {
	ID            string `json:"id"`
	Name          string `json:"name,omitempty"`
	OwnerID       string `json:"owner_id,omitempty"`
	AddressFamily string `json:"address_family,omitempty"`
	State         string `json:"state,omitempty"`
	// Entries are the CIDRs of a customer-managed list.
	Entries []string `json:"entries,omitempty"`
}

// AWSManaged reports whether the list is owned by AWS.
func (p *PrefixList) AWSManaged() bool { return p.OwnerID == "AWS" }

// VPCEndpoint is one VPC endpoint; only its type matters to routing.
type VPCEndpoint struct {
	ID          string `json:"id"`
	VPCID       string `json:"vpc_id,omitempty"`
	Type        string `json:"type"` // Gateway, Interface, GatewayLoadBalancer
	ServiceName string `json:"service_name,omitempty"`
}
