// Package inventory holds the typed, versioned snapshot of the AWS facts that
// the control is evaluated on: notebook instances and the network objects they
// reference, per account and region, plus every call that failed while they
// were collected. It round-trips to JSON so that a scan can be saved
// (--save-inventory) and evaluated again offline (--input).
package inventory

import "time"

// SchemaVersion is the version of the JSON snapshot this package reads and writes.
const SchemaVersion = "1"

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

	// Errors are the calls that failed in this account-region. A failure of a
	// whole operation (Operation set, Resource empty) means the objects of that
	// kind are missing from this snapshot: every notebook that needs them is
	// evaluated as ERROR.
	Errors []CollectError `json:"errors,omitempty"`
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

	// State is "active" or "blackhole".
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
	ID     string   `json:"id"`
	VPCIDs []string `json:"vpc_ids,omitempty"`
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

// VPCEndpoint is one VPC endpoint; only its type matters to routing.
type VPCEndpoint struct {
	ID          string `json:"id"`
	VPCID       string `json:"vpc_id,omitempty"`
	Type        string `json:"type"` // Gateway, Interface, GatewayLoadBalancer
	ServiceName string `json:"service_name,omitempty"`
}
