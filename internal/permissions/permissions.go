// Package permissions owns the one list of AWS API actions sagefence calls,
// as data, per mode (audit, remediate) and optional feature. Everything that
// talks about permissions is derived from it: the least-privilege IAM policy
// (`sagefence iam-policy`), the checks `sagefence preflight` runs, and the
// test Recorder that fails when the collector or the remediator invokes an
// operation the list does not name.
package permissions

import (
	"fmt"
	"slices"
	"strings"
)

// Mode is what a principal is allowed to do with sagefence.
type Mode string

// Modes. Remediate includes everything audit needs: plan and apply re-read
// the account before they change it. Watch is audit plus reading the event
// queue and publishing alerts; it never changes a scanned account.
const (
	ModeAudit     Mode = "audit"
	ModeRemediate Mode = "remediate"
	ModeWatch     Mode = "watch"
)

// Modes lists every mode, in a stable order.
func Modes() []Mode { return []Mode{ModeAudit, ModeRemediate, ModeWatch} }

// ParseMode accepts "audit", "remediate" or "watch".
func ParseMode(s string) (Mode, error) {
	m := Mode(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Modes(), m) {
		return m, nil
	}
	return "", fmt.Errorf("unknown mode %q: want audit, remediate or watch", s)
}

// includes reports whether a principal in mode m needs actions of mode need.
func (m Mode) includes(need Mode) bool {
	return need == ModeAudit || m == need
}

// Feature names an optional capability that needs extra actions.
type Feature string

// Optional features. An action with a Feature is needed only when that
// feature is used.
const (
	// FeatureSecurityHub is `scan --push-securityhub`.
	FeatureSecurityHub Feature = "securityhub"
	// FeatureOrganizations is scanning every account of an organization
	// from its management (or delegated administrator) account.
	FeatureOrganizations Feature = "organizations"
	// FeaturePreflight is `preflight` checking, by policy simulation, the
	// permissions that have no harmless call.
	FeaturePreflight Feature = "preflight"
)

// Features lists every optional feature, in a stable order.
func Features() []Feature {
	return []Feature{FeatureSecurityHub, FeatureOrganizations, FeaturePreflight}
}

// ParseFeature accepts one of Features.
func ParseFeature(s string) (Feature, error) {
	f := Feature(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Features(), f) {
		return f, nil
	}
	return "", fmt.Errorf("unknown feature %q: want one of %v", s, Features())
}

// Scope says which resources an action is allowed on. Actions without
// resource-level permissions have ScopeAny ("*").
type Scope string

// Scopes, each rendered by Policy into ARN patterns.
const (
	ScopeAny      Scope = "any"
	ScopeNotebook Scope = "notebook-instance"
	// ScopeStudio is Studio domains and their user profiles.
	ScopeStudio Scope = "studio-domain"
	// ScopeTagged is what sagefence reads tags of: notebook instances
	// and Studio domains.
	ScopeTagged             Scope = "tagged-sagemaker-resource"
	ScopeLifecycleConfig    Scope = "notebook-instance-lifecycle-config"
	ScopeSecurityGroup      Scope = "security-group"
	ScopeSubnet             Scope = "subnet"
	ScopeNotebookRole       Scope = "notebook-role"
	ScopeBackupBucket       Scope = "backup-bucket"
	ScopeBackupObjects      Scope = "backup-objects"
	ScopeMemberRole         Scope = "member-account-role"
	ScopeSecurityHubProduct Scope = "securityhub-product"
	ScopeIAMPrincipal       Scope = "iam-principal"
	// ScopeNotebookENI is what SageMaker checks when it makes or removes a
	// notebook's network interface on the caller's behalf: the interface,
	// its subnet and its security groups.
	ScopeNotebookENI Scope = "notebook-network-interface"
	// ScopeKMSKey is the customer managed keys notebook volumes use.
	ScopeKMSKey Scope = "kms-key"
	// ScopeKMSKeyGrant is the same keys, for grants only AWS services
	// create (kms:GrantIsForAWSResource).
	ScopeKMSKeyGrant Scope = "kms-key-grant"
	// ScopeEventQueue is the SQS queue watch reads CloudTrail events from
	// (events-setup names it sagefence-events).
	ScopeEventQueue Scope = "event-queue"
	// ScopeAlertTopic is the SNS topic watch publishes transitions to.
	ScopeAlertTopic Scope = "alert-topic"
	// ScopeDomain is the Studio domains a remediation changes.
	ScopeDomain Scope = "sagemaker-domain"
)

// Access classifies an action for preflight: how it can be checked
// without side effects.
type Access string

// Access kinds.
const (
	// AccessRead has no side effects: preflight calls it.
	AccessRead Access = "read"
	// AccessWrite changes the account: preflight checks it with DryRun
	// where the API has it, else by policy simulation.
	AccessWrite Access = "write"
)

// Action is one IAM action sagefence calls, and why.
type Action struct {
	// Service is the IAM service prefix, e.g. "ec2".
	Service string
	// Name is the action name, e.g. "DescribeSubnets".
	Name string
	// Mode is the least mode that needs it: audit actions are needed by
	// remediate too.
	Mode Mode
	// Feature is set when the action is needed only with that feature.
	Feature Feature
	// Access says whether calling it changes anything.
	Access Access
	// Scope is which resources the policy allows it on.
	Scope Scope
	// Statement groups actions of one service into one policy statement;
	// actions sharing it share Scope.
	Statement string
	// Reason is the one line that says what sagefence uses it for.
	Reason string
}

// String is the IAM form, "service:Name".
func (a Action) String() string { return a.Service + ":" + a.Name }

// catalog is the list. It is a function, not a package variable, so no
// caller can mutate the one copy everybody reads.
func catalog() []Action {
	const (
		audit = ModeAudit
		remed = ModeRemediate
		watch = ModeWatch
		r     = AccessRead
		w     = AccessWrite
	)
	return []Action{
		// Identity and regions.
		{"sts", "GetCallerIdentity", audit, "", r, ScopeAny, "Identity", "Learn the account and partition being scanned (cannot be denied by IAM policies, but listed for completeness)."},
		{"ec2", "DescribeRegions", audit, "", r, ScopeAny, "Describe", "Find the regions enabled in the account."},

		// Notebooks.
		{"sagemaker", "ListNotebookInstances", audit, "", r, ScopeAny, "List", "Enumerate notebook instances per region."},
		{"sagemaker", "DescribeNotebookInstance", audit, "", r, ScopeNotebook, "NotebookRead", "Read DirectInternetAccess, SubnetId, SecurityGroups and the ENI (List does not return them)."},
		{"sagemaker", "ListTags", audit, "", r, ScopeTagged, "TagsRead", "Read notebook and Studio domain tags for exceptions and ownership."},

		// Studio domains.
		{"sagemaker", "ListDomains", audit, "", r, ScopeAny, "List", "Enumerate Studio domains per region."},
		{"sagemaker", "ListUserProfiles", audit, "", r, ScopeAny, "List", "Enumerate a domain's user profiles (their security groups apply to their apps)."},
		{"sagemaker", "ListSpaces", audit, "", r, ScopeAny, "List", "Enumerate a domain's spaces, their owners and sharing."},
		{"sagemaker", "ListApps", audit, "", r, ScopeAny, "List", "Enumerate a domain's apps (what a remediation must stop)."},
		{"sagemaker", "DescribeDomain", audit, "", r, ScopeStudio, "StudioRead", "Read AppNetworkAccessType, the subnets and the default security groups (List does not return them)."},
		{"sagemaker", "DescribeUserProfile", audit, "", r, ScopeStudio, "StudioRead", "Read a user profile's own security groups."},

		// Network objects a notebook's path depends on.
		{"ec2", "DescribeSubnets", audit, "", r, ScopeAny, "Describe", "Subnet, VPC and MapPublicIpOnLaunch of each notebook."},
		{"ec2", "DescribeVpcs", audit, "", r, ScopeAny, "Describe", "VPC CIDRs, to tell VPC-internal from public destinations."},
		{"ec2", "DescribeRouteTables", audit, "", r, ScopeAny, "Describe", "Effective route table (explicit association or the VPC's main table)."},
		{"ec2", "DescribeNatGateways", audit, "", r, ScopeAny, "Describe", "NAT gateway state and connectivity type (public or private)."},
		{"ec2", "DescribeInternetGateways", audit, "", r, ScopeAny, "Describe", "Internet gateways attached to the notebook's VPC."},
		{"ec2", "DescribeEgressOnlyInternetGateways", audit, "", r, ScopeAny, "Describe", "IPv6 egress-only gateways."},
		{"ec2", "DescribeSecurityGroups", audit, "", r, ScopeAny, "Describe", "Egress and ingress rules of the notebook's security groups."},
		{"ec2", "DescribeNetworkAcls", audit, "", r, ScopeAny, "Describe", "The subnet's network ACL rules."},
		{"ec2", "DescribeNetworkInterfaces", audit, "", r, ScopeAny, "Describe", "Public IP association of the notebook's ENI."},
		{"ec2", "DescribeVpcEndpoints", audit, "", r, ScopeAny, "Describe", "VPC endpoints that keep AWS-service traffic off the internet."},

		// Past the subnet: transit gateways (in their owner's account) and
		// the prefix lists rules and routes name.
		{"ec2", "DescribeTransitGatewayAttachments", audit, "", r, ScopeAny, "Describe", "A VPC's transit gateway attachments, their owners and route table associations."},
		{"ec2", "DescribeTransitGatewayVpcAttachments", audit, "", r, ScopeAny, "Describe", "The subnets (Availability Zones) where a VPC attachment enters its VPC."},
		{"ec2", "DescribeTransitGatewayRouteTables", audit, "", r, ScopeAny, "Describe", "The route tables of a transit gateway public traffic is routed to."},
		{"ec2", "SearchTransitGatewayRoutes", audit, "", r, ScopeAny, "Describe", "The active and blackhole routes of those transit gateway route tables."},
		{"ec2", "DescribeManagedPrefixLists", audit, "", r, ScopeAny, "Describe", "Tell AWS-managed from customer-managed prefix lists named by rules and routes."},
		{"ec2", "GetManagedPrefixListEntries", audit, "", r, ScopeAny, "Describe", "The CIDRs of a customer-managed prefix list (it may hold 0.0.0.0/0)."},

		// Optional audit features.
		{"securityhub", "BatchImportFindings", audit, FeatureSecurityHub, w, ScopeSecurityHubProduct, "ImportFindings", "Push results to Security Hub (--push-securityhub)."},
		{"securityhub", "GetFindings", audit, FeatureSecurityHub, r, ScopeAny, "ReadFindings", "Read which pushed findings are suppressed (--push-securityhub)."},
		{"securityhub", "BatchUpdateFindings", audit, FeatureSecurityHub, w, ScopeAny, "UpdateFindingWorkflow", "Suppress muted findings and reopen ones nothing mutes any more (--push-securityhub)."},
		{"organizations", "ListAccounts", audit, FeatureOrganizations, r, ScopeAny, "ListAccounts", "Enumerate member accounts for an organization scan."},
		{"sts", "AssumeRole", audit, FeatureOrganizations, w, ScopeMemberRole, "AssumeMemberRole", "Assume the scan role in each member account."},
		{"iam", "SimulatePrincipalPolicy", audit, FeaturePreflight, r, ScopeIAMPrincipal, "SimulateOwnPolicy", "Let preflight check permissions that have no harmless call."},

		// Remediation: network containment.
		{"ec2", "RevokeSecurityGroupEgress", remed, "", w, ScopeSecurityGroup, "SecurityGroupEgress", "Remove egress to the whole internet from a notebook's security group."},
		{"ec2", "AuthorizeSecurityGroupEgress", remed, "", w, ScopeSecurityGroup, "SecurityGroupEgress", "Restore revoked egress rules on backout."},
		{"ec2", "ModifySubnetAttribute", remed, "", w, ScopeSubnet, "SubnetAttribute", "Turn MapPublicIpOnLaunch off (and back on, on backout)."},

		// Remediation: recreate the notebook without direct internet access.
		{"sagemaker", "CreateNotebookInstance", remed, "", w, ScopeNotebook, "NotebookRecreate", "Recreate the notebook with DirectInternetAccess Disabled (or as it was, on backout)."},
		{"sagemaker", "StopNotebookInstance", remed, "", w, ScopeNotebook, "NotebookRecreate", "Stop the notebook before it is updated or deleted."},
		{"sagemaker", "StartNotebookInstance", remed, "", w, ScopeNotebook, "NotebookRecreate", "Start the notebook so its lifecycle configuration saves the ML volume, and restart after."},
		{"sagemaker", "DeleteNotebookInstance", remed, "", w, ScopeNotebook, "NotebookRecreate", "Delete the old notebook once its data is saved."},
		{"sagemaker", "UpdateNotebookInstance", remed, "", w, ScopeNotebook, "NotebookRecreate", "Attach or detach the backup lifecycle configuration."},
		{"sagemaker", "AddTags", remed, "", w, ScopeNotebook, "NotebookRecreate", "Tag notebooks sagefence changed (run ID), and carry the old tags over."},
		{"sagemaker", "DeleteTags", remed, "", w, ScopeNotebook, "NotebookRecreate", "Remove sagefence's tags on backout."},
		{"sagemaker", "CreateNotebookInstanceLifecycleConfig", remed, "", w, ScopeLifecycleConfig, "LifecycleConfig", "Create the lifecycle configuration that copies the ML volume to S3 and back."},
		{"sagemaker", "DescribeNotebookInstanceLifecycleConfig", remed, "", r, ScopeLifecycleConfig, "LifecycleConfig", "Read the notebook's own lifecycle configuration, to keep it."},
		{"sagemaker", "DeleteNotebookInstanceLifecycleConfig", remed, "", w, ScopeLifecycleConfig, "LifecycleConfig", "Remove sagefence's lifecycle configuration when the run is finalized."},
		{"iam", "PassRole", remed, "", w, ScopeNotebookRole, "PassNotebookRole", "Pass the notebook's execution role to SageMaker when recreating it."},
		// What SageMaker checks on the caller when it creates, starts or
		// deletes a notebook in a VPC or with a customer managed key (the
		// SageMaker API permissions reference): sagefence never calls these
		// itself.
		{"ec2", "CreateNetworkInterface", remed, "", w, ScopeNotebookENI, "NotebookNetworkInterface", "SageMaker creates the recreated (or restarted) notebook's interface in its subnet as the caller."},
		{"ec2", "DeleteNetworkInterface", remed, "", w, ScopeNotebookENI, "NotebookNetworkInterface", "SageMaker deletes a deleted notebook's interface as the caller."},
		{"kms", "DescribeKey", remed, "", r, ScopeKMSKey, "NotebookVolumeKey", "SageMaker reads the customer managed key of a notebook's volume as the caller."},
		{"kms", "CreateGrant", remed, "", w, ScopeKMSKeyGrant, "NotebookVolumeKeyGrant", "SageMaker grants itself the use of that key for the recreated notebook's volume."},
		{"s3", "ListBucket", remed, "", r, ScopeBackupBucket, "BackupBucket", "Check the backup of the ML volume is there before deleting the notebook."},
		{"s3", "GetObject", remed, "", r, ScopeBackupObjects, "BackupObjects", "Read the backup manifest of the ML volume."},

		// Remediation: Studio domains to VpcOnly (plan --fix studio-vpc-only).
		{"sagemaker", "UpdateDomain", remed, "", w, ScopeDomain, "StudioDomainUpdate", "Set a domain's AppNetworkAccessType to VpcOnly (and back, on backout)."},

		// Continuous mode. Receiving hides a message from other readers, so
		// preflight simulates it rather than calling it.
		{"sqs", "ReceiveMessage", watch, "", w, ScopeEventQueue, "EventQueue", "Long-poll the queue EventBridge sends CloudTrail events to (watch --queue-url)."},
		{"sqs", "DeleteMessage", watch, "", w, ScopeEventQueue, "EventQueue", "Delete each event once it is handled, malformed ones included (DeleteMessageBatch needs this action)."},
		{"sns", "Publish", watch, "", w, ScopeAlertTopic, "AlertTopic", "Publish each transition to the alert topic (watch --alert-sns-topic)."},
	}
}

// All returns every action of every mode, in catalog order. The slice is
// a fresh copy.
func All() []Action { return catalog() }

// Actions returns the actions a principal in mode needs, including those
// of every optional feature (each marked with its Feature), in catalog
// order. The slice is a fresh copy.
func Actions(mode Mode) []Action {
	var out []Action
	for _, a := range catalog() {
		if mode.includes(a.Mode) {
			out = append(out, a)
		}
	}
	return out
}

// Needed returns the actions mode needs with only the given optional
// features enabled.
func Needed(mode Mode, features ...Feature) []Action {
	var out []Action
	for _, a := range Actions(mode) {
		if a.Feature == "" || slices.Contains(features, a.Feature) {
			out = append(out, a)
		}
	}
	return out
}

// Lookup finds an action by its IAM name ("ec2:DescribeSubnets",
// case-insensitive) in the whole catalog.
func Lookup(name string) (Action, bool) {
	for _, a := range catalog() {
		if strings.EqualFold(a.String(), name) {
			return a, true
		}
	}
	return Action{}, false
}
