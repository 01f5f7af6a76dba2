package inventory

import "time"

// Resource kinds a collection can read (Inventory.Resources, scan
// --resources).
const (
	ResourceNotebookInstances = "notebook-instances"
	ResourceStudioDomains     = "studio-domains"
)

// AppNetworkAccessType values as the SageMaker API spells them. An empty
// value means DescribeDomain did not return one; AWS's default is
// PublicInternetOnly, and the control evaluates an absent value as such.
const (
	AppNetworkAccessPublicInternetOnly = "PublicInternetOnly"
	AppNetworkAccessVpcOnly            = "VpcOnly"
)

// StudioDomain is a SageMaker Studio domain as DescribeDomain and ListTags
// report it, with its user profiles, spaces and apps (schema 3).
type StudioDomain struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	ARN    string `json:"arn,omitempty"`
	Status string `json:"status,omitempty"`

	// AppNetworkAccessType is "PublicInternetOnly", "VpcOnly", or empty
	// when DescribeDomain did not return it.
	AppNetworkAccessType string   `json:"app_network_access_type,omitempty"`
	VPCID                string   `json:"vpc_id,omitempty"`
	SubnetIDs            []string `json:"subnet_ids,omitempty"`
	// DefaultUserSecurityGroupIDs are DefaultUserSettings.SecurityGroups:
	// the groups of a user profile's apps unless the profile sets its own.
	DefaultUserSecurityGroupIDs []string `json:"default_user_security_group_ids,omitempty"`
	// DefaultSpaceSecurityGroupIDs are DefaultSpaceSettings.SecurityGroups:
	// the groups of the apps of shared spaces.
	DefaultSpaceSecurityGroupIDs []string `json:"default_space_security_group_ids,omitempty"`
	// DomainSecurityGroupIDs are DomainSettings.SecurityGroupIds: the
	// groups of domain-level apps (RStudio) and their traffic to user apps.
	DomainSecurityGroupIDs []string `json:"domain_security_group_ids,omitempty"`
	// SecurityGroupIDForDomainBoundary is the group SageMaker created for
	// traffic between RSessionGateway apps and the RStudioServerPro app.
	SecurityGroupIDForDomainBoundary string `json:"security_group_id_for_domain_boundary,omitempty"`
	// AppSecurityGroupManagement is "Service", "Customer" or empty.
	AppSecurityGroupManagement string `json:"app_security_group_management,omitempty"`
	// IPAddressType is DomainSettings.IpAddressType: "ipv4", "dualstack"
	// or empty (ipv4).
	IPAddressType        string            `json:"ip_address_type,omitempty"`
	AuthMode             string            `json:"auth_mode,omitempty"`
	HomeEFSFileSystemID  string            `json:"home_efs_file_system_id,omitempty"`
	KMSKeyID             string            `json:"kms_key_id,omitempty"`
	DefaultExecutionRole string            `json:"default_execution_role,omitempty"`
	CreationTime         *time.Time        `json:"creation_time,omitempty"`
	Tags                 map[string]string `json:"tags,omitempty"`

	UserProfiles []StudioUserProfile `json:"user_profiles,omitempty"`
	Spaces       []StudioSpace       `json:"spaces,omitempty"`
	Apps         []StudioApp         `json:"apps,omitempty"`

	// Error is set when the domain was listed but could not be described
	// (or its tags could not be read); such a domain is evaluated as ERROR.
	Error *CollectError `json:"error,omitempty"`
	// Errors are the failed reads of the domain's children
	// (sagemaker:ListUserProfiles, sagemaker:ListSpaces, sagemaker:ListApps):
	// the children of that kind are missing from the snapshot. A missing
	// user profile could carry security groups of its own, so a failed
	// profile listing makes a VpcOnly domain ERROR; spaces carry none and
	// apps decide no verdict (docs/studio.md).
	Errors []CollectError `json:"errors,omitempty"`
}

// StudioUserProfile is one user profile of a domain (ListUserProfiles,
// DescribeUserProfile).
type StudioUserProfile struct {
	Name   string `json:"name"`
	ARN    string `json:"arn,omitempty"`
	Status string `json:"status,omitempty"`
	// SecurityGroupIDs are the profile's own UserSettings.SecurityGroups;
	// empty when it uses the domain's DefaultUserSettings.
	SecurityGroupIDs []string   `json:"security_group_ids,omitempty"`
	ExecutionRole    string     `json:"execution_role,omitempty"`
	CreationTime     *time.Time `json:"creation_time,omitempty"`
	// Error is set when the profile was listed but could not be described;
	// the profile has a result of its own, ERROR.
	Error *CollectError `json:"error,omitempty"`
}

// Space sharing types as the SageMaker API spells them.
const (
	SpaceSharingPrivate = "Private"
	SpaceSharingShared  = "Shared"
)

// StudioSpace is one space of a domain (ListSpaces, DescribeSpace). The
// API gives a space no security groups of its own (SpaceSettings has none):
// a shared space's apps use the domain's DefaultSpaceSettings groups, a
// private space's its owner's user profile groups.
type StudioSpace struct {
	Name   string `json:"name"`
	ARN    string `json:"arn,omitempty"`
	Status string `json:"status,omitempty"`
	// OwnerUserProfileName is OwnershipSettings.OwnerUserProfileName.
	OwnerUserProfileName string `json:"owner_user_profile_name,omitempty"`
	// SharingType is "Private", "Shared" or empty.
	SharingType  string     `json:"sharing_type,omitempty"`
	AppType      string     `json:"app_type,omitempty"`
	RemoteAccess string     `json:"remote_access,omitempty"`
	CreationTime *time.Time `json:"creation_time,omitempty"`
	// Error is set when the space was listed but could not be described.
	Error *CollectError `json:"error,omitempty"`
}

// StudioApp is one app of a domain (ListApps): what runs, for a user
// profile or in a space.
type StudioApp struct {
	DomainID        string `json:"domain_id"`
	UserProfileName string `json:"user_profile_name,omitempty"`
	SpaceName       string `json:"space_name,omitempty"`
	// AppType is JupyterServer, KernelGateway, JupyterLab, CodeEditor,
	// RStudioServerPro, RSessionGateway, Canvas, ...
	AppType      string     `json:"app_type"`
	AppName      string     `json:"app_name"`
	Status       string     `json:"status,omitempty"`
	InstanceType string     `json:"instance_type,omitempty"`
	CreationTime *time.Time `json:"creation_time,omitempty"`
}
