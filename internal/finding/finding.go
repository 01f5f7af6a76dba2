// Package finding defines the one canonical report type every output format
// is written from: a Report of Results, each with sub-checks, evidence,
// remediation and the AWS CLI commands that reproduce it. Field names and
// JSON tags are the stable contract of ../../docs/report-schema.md.
package finding

import (
	"strings"
	"time"
)

// SchemaVersion is the version of the JSON report contract.
const SchemaVersion = "1"

// ControlID identifies the control every result is about.
const ControlID = "sagemaker-notebook-no-direct-internet-access"

// ResourceType is the CloudFormation type name of the evaluated resource.
const ResourceType = "AWS::SageMaker::NotebookInstance"

// ControlIDStudio identifies the control on SageMaker Studio domains and
// the user profiles that carry their own security groups.
const ControlIDStudio = "sagemaker-studio-no-direct-internet-access"

// CloudFormation type names of the Studio resources a result can be about.
// A space has no network settings of its own (the API gives it no security
// groups), so no result is about one.
const (
	ResourceTypeDomain      = "AWS::SageMaker::Domain"
	ResourceTypeUserProfile = "AWS::SageMaker::UserProfile"
)

// ResourceTypes lists every resource type a result can be about.
func ResourceTypes() []string {
	return []string{ResourceType, ResourceTypeDomain, ResourceTypeUserProfile}
}

// ControlOf returns the control a result about resourceType is evaluated
// under.
func ControlOf(resourceType string) string {
	switch resourceType {
	case ResourceTypeDomain, ResourceTypeUserProfile:
		return ControlIDStudio
	}
	return ControlID
}

// Status is a result's or a sub-check's outcome.
type Status string

// Statuses, from least to most severe for a result (MUTED aside).
const (
	StatusPass   Status = "PASS"
	StatusReview Status = "REVIEW"
	StatusFail   Status = "FAIL"
	StatusError  Status = "ERROR"
	// StatusMuted is a FAIL or REVIEW covered by an exception; the result
	// keeps its checks and the exception's reason.
	StatusMuted Status = "MUTED"
	// StatusNotApplicable is for sub-checks only: the check does not apply
	// to this notebook (for example, VPC egress for a notebook with direct
	// internet access) and does not count towards the result.
	StatusNotApplicable Status = "N/A"
)

// Rank orders statuses for "worst wins": ERROR > FAIL > REVIEW > PASS.
// MUTED and N/A rank lowest; they never decide a result.
func (s Status) Rank() int {
	switch s {
	case StatusError:
		return 4
	case StatusFail:
		return 3
	case StatusReview:
		return 2
	case StatusPass:
		return 1
	}
	return 0
}

// Severity of a result or sub-check.
type Severity string

// Severities.
const (
	SeverityInformational Severity = "informational"
	SeverityLow           Severity = "low"
	SeverityMedium        Severity = "medium"
	SeverityHigh          Severity = "high"
)

// Rank orders severities.
func (s Severity) Rank() int {
	switch s {
	case SeverityHigh:
		return 3
	case SeverityMedium:
		return 2
	case SeverityLow:
		return 1
	}
	return 0
}

// InternetPath names how a notebook reaches the internet, most exposed first.
type InternetPath string

// Internet paths, most exposed first.
const (
	PathDirect    InternetPath = "direct"
	PathIGW       InternetPath = "igw"
	PathIPv6      InternetPath = "ipv6"
	PathNAT       InternetPath = "nat"
	PathAppliance InternetPath = "appliance"
	PathTransit   InternetPath = "transit"
	PathNone      InternetPath = "none"
	PathUnknown   InternetPath = "unknown"
)

// Exposure orders paths: a higher number is more exposed. Unknown ranks
// above everything because it cannot be proved safe.
func (p InternetPath) Exposure() int {
	switch p {
	case PathUnknown:
		return 8
	case PathDirect:
		return 7
	case PathIGW:
		return 6
	case PathIPv6:
		return 5
	case PathNAT:
		return 4
	case PathAppliance:
		return 3
	case PathTransit:
		return 2
	case PathNone:
		return 1
	}
	return 0
}

// Report is the outcome of one evaluation.
type Report struct {
	SchemaVersion string         `json:"schema_version"`
	Tool          Tool           `json:"tool"`
	Profile       string         `json:"profile"`
	StartedAt     time.Time      `json:"started_at"`
	FinishedAt    time.Time      `json:"finished_at"`
	Complete      bool           `json:"complete"`
	Summary       map[Status]int `json:"summary"`
	Results       []Result       `json:"results"`
	Errors        []Error        `json:"errors"`
	// ExpiredExceptions are exceptions whose expiry date has passed: they
	// mute nothing any more and are listed so that their owners renew or
	// remove them.
	ExpiredExceptions []ExpiredException `json:"expired_exceptions,omitempty"`
	// Shard is set on the report of one shard of a sharded scan (scan
	// --shard K/N), so that merge can tell a missing shard from an empty one.
	Shard *Shard `json:"shard,omitempty"`
}

// Shard names one of Count shards (Index from 0).
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// ExpiredException is an exception that no longer mutes because it expired.
type ExpiredException struct {
	// Source is where the exception is defined, as "file:line".
	Source string `json:"source"`
	// Match describes what the exception matches, e.g. "account=… name=dev-*".
	Match   string `json:"match"`
	Reason  string `json:"reason"`
	Owner   string `json:"owner"`
	Expires string `json:"expires"`
	// Resources are the ARNs (names when there is no ARN) of the results in
	// this report that the exception would still have muted.
	Resources []string `json:"resources,omitempty"`
}

// Tool names the producer of a report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Resource is the evaluated notebook instance.
type Resource struct {
	Type string `json:"type"`
	Name string `json:"name"`
	ARN  string `json:"arn"`
	// Tags are the notebook's tags, when they could be read.
	Tags map[string]string `json:"tags,omitempty"`

	// The fields below locate a notebook declared in infrastructure as code
	// (sagefence iac); a live scan leaves them empty.

	// File is the source file, slash-separated as given on the command line.
	File string `json:"file,omitempty"`
	// Line is the 1-based line of the resource's declaration in File.
	Line int `json:"line,omitempty"`
	// Address is the Terraform resource address (with module path and
	// instance key) or the CloudFormation logical ID.
	Address string `json:"address,omitempty"`
	// SourceKind is "terraform", "terraform-plan", "cloudformation" or "cdk".
	SourceKind string `json:"source_kind,omitempty"`
	// ConstructPath is the CDK construct path (aws:cdk:path metadata).
	ConstructPath string `json:"construct_path,omitempty"`
}

// Result is the verdict on one notebook instance. Results of notebooks with
// the same placement share their Checks, Evidence slices, Compliance and
// Tags: treat a Result's slices and maps as read-only, and copy before
// changing one.
type Result struct {
	ControlID    string              `json:"control_id"`
	AccountID    string              `json:"account_id"`
	Region       string              `json:"region"`
	Resource     Resource            `json:"resource"`
	Status       Status              `json:"status"`
	Severity     Severity            `json:"severity"`
	InternetPath InternetPath        `json:"internet_path"`
	Checks       []Check             `json:"checks"`
	Evidence     Evidence            `json:"evidence"`
	Remediation  string              `json:"remediation"`
	Reproduce    Commands            `json:"reproduce"`
	Compliance   map[string][]string `json:"compliance"`
	// Hops are the path that decided internet_path, hop by hop from the
	// notebook's subnet to where it ends: an internet gateway, a dead end,
	// or something the scanner cannot see past.
	Hops []Hop `json:"hops,omitempty"`
	// Mute is set when an exception or a remediation run turned a FAIL or
	// REVIEW into MUTED; UnmutedStatus keeps what it would have been.
	Mute          *Mute  `json:"mute,omitempty"`
	UnmutedStatus Status `json:"unmuted_status,omitempty"`
}

// Hop is one step of a network path.
type Hop struct {
	// Kind is what the hop is: subnet, route-table, nat-gateway,
	// internet-gateway, egress-only-internet-gateway, transit-gateway,
	// transit-gateway-attachment, transit-gateway-route-table,
	// vpc-peering-connection, network-acl, prefix-list, appliance,
	// gateway, or end (where the path stops).
	Kind string `json:"kind"`
	// ResourceID is the object's ID (or ARN).
	ResourceID string `json:"resource_id,omitempty"`
	AccountID  string `json:"account_id,omitempty"`
	Region     string `json:"region,omitempty"`
	// Decision is the route or rule that decided what happens at the hop,
	// e.g. "0.0.0.0/0 -> nat-0a1 (nat)", or why the path stops there.
	Decision string `json:"decision,omitempty"`
}

// Mute records why a result is MUTED.
type Mute struct {
	Reason  string `json:"reason"`
	Owner   string `json:"owner,omitempty"`
	Expires string `json:"expires,omitempty"`
	Source  string `json:"source,omitempty"`
}

// Check is one sub-check of the control.
type Check struct {
	ID       string   `json:"id"`
	Status   Status   `json:"status"`
	Severity Severity `json:"severity,omitempty"`
	Message  string   `json:"message"`
	// Informational is true when the active profile reports the check but
	// does not let it decide the result (profile fsbp).
	Informational bool `json:"informational,omitempty"`
}

// Evidence is what a verdict was decided on: the fields and IDs used and the
// route or rule that decided it.
type Evidence struct {
	DirectInternetAccess string   `json:"direct_internet_access,omitempty"`
	NotebookStatus       string   `json:"notebook_status,omitempty"`
	RootAccess           string   `json:"root_access,omitempty"`
	SubnetID             string   `json:"subnet_id,omitempty"`
	VPCID                string   `json:"vpc_id,omitempty"`
	SecurityGroupIDs     []string `json:"security_group_ids,omitempty"`
	NetworkInterfaceID   string   `json:"network_interface_id,omitempty"`
	PublicIP             string   `json:"public_ip,omitempty"`
	MapPublicIPOnLaunch  *bool    `json:"map_public_ip_on_launch,omitempty"`
	RouteTableID         string   `json:"route_table_id,omitempty"`
	// RouteTableSource is "explicit" or "main".
	RouteTableSource string `json:"route_table_source,omitempty"`
	NetworkACLID     string `json:"network_acl_id,omitempty"`
	// Routes are the routes that carry public traffic, as "dest -> target (kind)".
	Routes []string `json:"routes,omitempty"`
	// DecidingRoute and DecidingRule are what decided the verdict.
	DecidingRoute string `json:"deciding_route,omitempty"`
	DecidingRule  string `json:"deciding_rule,omitempty"`
	// Notes explain anything unusual (blackholes, private NAT, missing facts).
	Notes []string `json:"notes,omitempty"`

	// StudioEvidence is set on the results of Studio domains and user
	// profiles; its fields are the evidence's own in JSON. A pointer, so
	// that a notebook's result (of which a report holds many) is no larger.
	*StudioEvidence
}

// StudioEvidence is what a Studio domain's or user profile's verdict was
// decided on besides the network facts (control
// sagemaker-studio-no-direct-internet-access).
type StudioEvidence struct {
	DomainID string `json:"domain_id,omitempty"`
	// AppNetworkAccessType is the domain's, as DescribeDomain returned it.
	AppNetworkAccessType string `json:"app_network_access_type,omitempty"`
	// SubnetIDs are all of the domain's subnets; Evidence.SubnetID is the
	// one whose path decided.
	SubnetIDs       []string `json:"subnet_ids,omitempty"`
	UserProfileName string   `json:"user_profile_name,omitempty"`
	// AppsWith names whose apps carry Evidence.SecurityGroupIDs: "default
	// user settings", "default space settings (shared spaces)", "domain
	// settings (domain-level apps)", or a user profile's own and the
	// domain's default groups.
	AppsWith string `json:"apps_with,omitempty"`
}

// Error is an account, region or resource that could not be read.
type Error struct {
	AccountID string `json:"account_id"`
	Region    string `json:"region"`
	Operation string `json:"operation"`
	Resource  string `json:"resource,omitempty"`
	Code      string `json:"code,omitempty"`
	Message   string `json:"message"`
}

// Summarize recomputes Summary and Complete from Results and Errors.
func (r *Report) Summarize() {
	r.Summary = map[Status]int{StatusPass: 0, StatusFail: 0, StatusReview: 0, StatusError: 0, StatusMuted: 0}
	complete := len(r.Errors) == 0
	for i := range r.Results {
		r.Summary[r.Results[i].Status]++
		if r.Results[i].Status == StatusError {
			complete = false
		}
	}
	r.Complete = complete
	if r.Results == nil {
		r.Results = []Result{}
	}
	if r.Errors == nil {
		r.Errors = []Error{}
	}
}

// ExitCode is what every command exits with for this report (CONTROL.md):
// 3 when incomplete, else 1 when anything fails (or, with strict, needs
// review), else 0.
func (r *Report) ExitCode(strict bool) int {
	if !r.Complete {
		return 3
	}
	for i := range r.Results {
		switch r.Results[i].Status {
		case StatusFail:
			return 1
		case StatusReview:
			if strict {
				return 1
			}
		}
	}
	return 0
}

// Via renders the hops that matter for reading a path at a glance: the
// transit gateway attachments and route tables, NAT and internet gateways,
// peering connections and appliances it passes, then where it ends, joined
// by " > " ("tgw-attach-1 > tgw-rtb-2 > nat-3 > igw-4 > internet"). Empty
// without hops.
func (r *Result) Via() string {
	var parts []string
	for _, h := range r.Hops {
		switch h.Kind {
		case "transit-gateway-attachment", "transit-gateway-route-table", "nat-gateway", "internet-gateway",
			"egress-only-internet-gateway", "vpc-peering-connection", "appliance", "gateway", "transit-gateway":
			parts = append(parts, h.ResourceID)
		case "end":
			switch {
			case h.Decision == "internet":
				parts = append(parts, "internet")
			case strings.HasPrefix(h.Decision, "sight ends"):
				parts = append(parts, "(sight ends)")
			default:
				parts = append(parts, "(dead end)")
			}
		}
	}
	return strings.Join(parts, " > ")
}
