// Package preflight answers, before a scan or a remediation, "can these
// credentials do it?": who the caller is, in which partition, which regions
// are enabled, and for every AWS permission the chosen mode needs whether it
// is granted, denied, or not verifiable, found without changing anything.
//
// How each permission is checked, in order of preference:
//
//   - a read call that returns little (ListNotebookInstances MaxResults 1,
//     DescribeRouteTables MaxResults 5, ...). For reads that need a
//     resource, a notebook found by the listing is used, else a name that
//     does not exist: AWS authorizes before it looks the resource up, so a
//     "not found" answer proves the permission.
//   - EC2 mutating calls with DryRun=true: DryRunOperation means granted,
//     UnauthorizedOperation denied.
//   - iam:SimulatePrincipalPolicy for everything else (SageMaker mutating
//     actions, iam:PassRole, S3 writes, ec2:ModifySubnetAttribute, which has
//     no DryRun): the caller's identity policies, permissions boundary and
//     the organization's SCPs, but not session policies.
//   - otherwise "not verifiable", with the reason (no simulation for the
//     root user or federated users, simulation denied, or an emulator that
//     does not implement it).
//
// The list of permissions is the permissions package's: preflight checks
// exactly what the policy grants.
package preflight

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sagefence/sagefence/internal/permissions"
)

// Status is the outcome of one permission check.
type Status string

// Statuses.
const (
	StatusGranted       Status = "granted"
	StatusDenied        Status = "denied"
	StatusNotVerifiable Status = "not-verifiable"
)

// Method is how a permission was checked.
type Method string

// Methods.
const (
	MethodCall       Method = "call"
	MethodDryRun     Method = "dry-run"
	MethodSimulation Method = "simulation"
	MethodNone       Method = "none"
)

// Options choose what to check.
type Options struct {
	// Mode is audit, remediate or watch.
	Mode permissions.Mode
	// Regions are checked one by one for the regional permissions (an SCP
	// may deny some regions). Empty means Clients.Region.
	Regions []string
	// Features adds the permissions of optional features (Security Hub
	// push, organization scan).
	Features []permissions.Feature
	// BackupBucket is the remediation backup location, a bucket name or
	// "s3://BUCKET/PREFIX"; without it the S3 permissions are simulated
	// against a bucket matching permissions.DefaultBackupBucketPattern.
	BackupBucket string
	// NotebookRoleARN is the execution role to check iam:PassRole on;
	// without it preflight uses the role of a notebook it finds, else a
	// placeholder role in the account.
	NotebookRoleARN string
	// MemberRoleName is the role assumed in member accounts (organization
	// scans); "OrganizationAccountAccessRole" when empty.
	MemberRoleName string
	// EventQueueARN and AlertTopicARN are the SQS queue and SNS topic the
	// watch mode's permissions are simulated on; without them, a queue
	// named sagefence-events and a topic named sagefence-alerts in the
	// checked region.
	EventQueueARN, AlertTopicARN string
}

// Identity is who the credentials belong to.
type Identity struct {
	Account   string `json:"account"`
	ARN       string `json:"arn"`
	UserID    string `json:"user_id"`
	Partition string `json:"partition"`
	// PrincipalARN is the IAM user or role ARN policy simulation uses; empty
	// when there is none (root, federated user).
	PrincipalARN string `json:"principal_arn,omitempty"`
}

// Check is one permission in one region (Region is empty for global
// services).
type Check struct {
	Action  string              `json:"action"`
	Region  string              `json:"region,omitempty"`
	Status  Status              `json:"status"`
	Method  Method              `json:"method"`
	Detail  string              `json:"detail,omitempty"`
	Reason  string              `json:"reason"`
	Feature permissions.Feature `json:"feature,omitempty"`
}

// Report is the result of Run.
type Report struct {
	Mode           permissions.Mode      `json:"mode"`
	Features       []permissions.Feature `json:"features,omitempty"`
	Identity       Identity              `json:"identity"`
	EnabledRegions []string              `json:"enabled_regions"`
	Regions        []string              `json:"regions_checked"`
	Checks         []Check               `json:"checks"`
	Summary        map[Status]int        `json:"summary"`
}

// Run checks every permission opts.Mode needs. It returns an error only
// when nothing could be checked: no region, or the caller's identity could
// not be read (no or invalid credentials). Every other failure is a Check.
func Run(ctx context.Context, c Clients, opts Options) (Report, error) {
	if _, err := permissions.ParseMode(string(opts.Mode)); err != nil {
		return Report{}, err
	}
	for _, f := range opts.Features {
		if _, err := permissions.ParseFeature(string(f)); err != nil {
			return Report{}, err
		}
	}
	if c.STS == nil || c.Regional == nil {
		return Report{}, fmt.Errorf("preflight: STS and regional clients are required")
	}
	regions := slices.Clone(opts.Regions)
	if len(regions) == 0 && c.Region != "" {
		regions = []string{c.Region}
	}
	if len(regions) == 0 {
		return Report{}, fmt.Errorf("preflight: no region given and none configured")
	}
	home := c.Region
	if home == "" {
		home = regions[0]
	}

	who, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Report{}, fmt.Errorf("preflight: read caller identity (are credentials configured?): %w", err)
	}
	r := &run{
		ctx: ctx, c: c, opts: opts, home: home,
		report: Report{
			Mode:     opts.Mode,
			Features: slices.Clone(opts.Features),
			Identity: identityOf(aws.ToString(who.Account), aws.ToString(who.Arn), aws.ToString(who.UserId)),
			Regions:  regions,
		},
		needed: map[string]permissions.Action{},
	}
	for _, a := range r.neededActions() {
		r.needed[a.String()] = a
	}
	r.add(Check{Action: "sts:GetCallerIdentity", Status: StatusGranted, Method: MethodCall,
		Detail: "caller " + r.report.Identity.ARN})
	r.checkAll()
	r.finish()
	return r.report, nil
}

// neededActions is what the mode and features need, plus
// iam:SimulatePrincipalPolicy whenever some permission can only be checked
// by simulation.
func (r *run) neededActions() []permissions.Action {
	actions := permissions.Needed(r.opts.Mode, r.opts.Features...)
	simulate := false
	for _, a := range actions {
		if probeFor(a.String()).simulateOnly {
			simulate = true
		}
	}
	if simulate && !slices.Contains(r.opts.Features, permissions.FeaturePreflight) {
		if a, ok := permissions.Lookup("iam:SimulatePrincipalPolicy"); ok {
			actions = append(actions, a)
		}
	}
	return actions
}

// identityOf derives the partition and the simulatable principal from the
// caller ARN: arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION becomes
// arn:PARTITION:iam::ACCOUNT:role/ROLE (a role with a path is then not
// found by the simulator, which preflight reports as not verifiable).
func identityOf(account, arn, userID string) Identity {
	id := Identity{Account: account, ARN: arn, UserID: userID}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return id
	}
	id.Partition = parts[1]
	service, resource := parts[2], parts[5]
	switch {
	case service == "iam" && strings.HasPrefix(resource, "user/"):
		id.PrincipalARN = arn
	case service == "iam" && strings.HasPrefix(resource, "role/"):
		id.PrincipalARN = arn
	case service == "sts" && strings.HasPrefix(resource, "assumed-role/"):
		role, _, _ := strings.Cut(strings.TrimPrefix(resource, "assumed-role/"), "/")
		id.PrincipalARN = fmt.Sprintf("arn:%s:iam::%s:role/%s", id.Partition, account, role)
	case service == "sts" && strings.HasPrefix(resource, "user/"):
		// moto answers as an sts "user"; treat it like the IAM user.
		id.PrincipalARN = fmt.Sprintf("arn:%s:iam::%s:%s", id.Partition, account, resource)
	}
	return id
}
