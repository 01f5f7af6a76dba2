package preflight

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sagefence/sagefence/internal/permissions"
)

// probeName is the name of the resource that read probes ask for when the
// account has none to ask about. It is never created.
const probeName = "sagefence-preflight-probe"

// placeholderTGWRouteTable is the transit gateway route table a dry run
// names when the region has none.
const placeholderTGWRouteTable = "tgw-rtb-00000000000000000"

// DefaultMemberRoleName is the role an organization scan assumes when
// Options.MemberRoleName is empty.
const DefaultMemberRoleName = "OrganizationAccountAccessRole"

// probe says how one action is checked.
type probe struct {
	// regional actions are checked in every region.
	regional bool
	// simulateOnly actions have no harmless call.
	simulateOnly bool
	// call runs the harmless call. A nil call, or a call that returns
	// MethodNone (nothing to call it on), means simulate.
	call func(r *run, rs *regionState) (Method, error)
	// notFound are error codes that prove the action was authorized (the
	// probe's resource just does not exist).
	notFound []string
}

// probeFor returns the probe of an action ("ec2:DescribeSubnets").
func probeFor(action string) probe {
	ec2read := func(f func(context.Context, EC2API) error) probe {
		return probe{regional: true, call: func(r *run, rs *regionState) (Method, error) {
			return MethodCall, f(r.ctx, rs.c.EC2)
		}}
	}
	five := aws.Int32(5)
	switch action {
	case "ec2:DescribeSubnets":
		return probe{regional: true, call: func(r *run, rs *regionState) (Method, error) {
			out, err := rs.c.EC2.DescribeSubnets(r.ctx, &ec2.DescribeSubnetsInput{MaxResults: five})
			if err == nil && len(out.Subnets) > 0 {
				rs.subnetID = aws.ToString(out.Subnets[0].SubnetId)
			}
			return MethodCall, err
		}}
	case "ec2:DescribeVpcs":
		return ec2read(func(ctx context.Context, c EC2API) error {
			_, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{MaxResults: five})
			return err
		})
	case "ec2:DescribeRouteTables":
		return ec2read(func(ctx context.Context, c EC2API) error {
			_, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{MaxResults: five})
			return err
		})
	case "ec2:DescribeNatGateways":
		return ec2read(func(ctx context.Context, c EC2API) error {
			_, err := c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{MaxResults: five})
			return err
		})
	case "ec2:DescribeInternetGateways":
		return ec2read(func(ctx context.Context, c EC2API) error {
			_, err := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{MaxResults: five})
			return err
		})
	case "ec2:DescribeEgressOnlyInternetGateways":
		return ec2read(func(ctx context.Context, c EC2API) error {
			_, err := c.DescribeEgressOnlyInternetGateways(ctx, &ec2.DescribeEgressOnlyInternetGatewaysInput{MaxResults: five})
			return err
		})
	case "ec2:DescribeSecurityGroups":
		return probe{regional: true, call: func(r *run, rs *regionState) (Method, error) {
			out, err := rs.c.EC2.DescribeSecurityGroups(r.ctx, &ec2.DescribeSecurityGroupsInput{MaxResults: five})
			if err == nil && len(out.SecurityGroups) > 0 {
				rs.securityGroupID = aws.ToString(out.SecurityGroups[0].GroupId)
			}
			return MethodCall, err
		}}
	case "ec2:DescribeNetworkAcls":
		return ec2read(func(ctx context.Context, c EC2API) error {
			_, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{MaxResults: five})
			return err
		})
	case "ec2:DescribeNetworkInterfaces":
		return ec2read(func(ctx context.Context, c EC2API) error {
			_, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{MaxResults: five})
			return err
		})
	case "ec2:DescribeVpcEndpoints":
		return ec2read(func(ctx context.Context, c EC2API) error {
			_, err := c.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{MaxResults: five})
			return err
		})
	case "ec2:DescribeTransitGatewayAttachments":
		return ec2read(func(ctx context.Context, c EC2API) error {
			_, err := c.DescribeTransitGatewayAttachments(ctx, &ec2.DescribeTransitGatewayAttachmentsInput{MaxResults: five})
			return err
		})
	case "ec2:DescribeTransitGatewayVpcAttachments":
		return ec2read(func(ctx context.Context, c EC2API) error {
			_, err := c.DescribeTransitGatewayVpcAttachments(ctx, &ec2.DescribeTransitGatewayVpcAttachmentsInput{MaxResults: five})
			return err
		})
	case "ec2:DescribeTransitGatewayRouteTables":
		return probe{regional: true, call: func(r *run, rs *regionState) (Method, error) {
			out, err := rs.c.EC2.DescribeTransitGatewayRouteTables(r.ctx, &ec2.DescribeTransitGatewayRouteTablesInput{MaxResults: five})
			if err == nil && len(out.TransitGatewayRouteTables) > 0 {
				rs.tgwRouteTableID = aws.ToString(out.TransitGatewayRouteTables[0].TransitGatewayRouteTableId)
			}
			return MethodCall, err
		}}
	case "ec2:SearchTransitGatewayRoutes":
		// A search names a route table. With one in the region it is
		// searched, like the collector does (without MaxResults: moto 5.2
		// fails a search that sets it). Without one, a dry run on a
		// placeholder asks for the permission alone: DryRunOperation or a
		// denial decides, an answer about the table proves nothing and the
		// permission is simulated.
		return probe{regional: true, call: func(r *run, rs *regionState) (Method, error) {
			in := &ec2.SearchTransitGatewayRoutesInput{
				TransitGatewayRouteTableId: aws.String(rs.tgwRouteTableID),
				Filters:                    []ec2types.Filter{{Name: aws.String("state"), Values: []string{"active"}}},
			}
			if rs.tgwRouteTableID != "" {
				_, err := rs.c.EC2.SearchTransitGatewayRoutes(r.ctx, in)
				return MethodCall, err
			}
			in.TransitGatewayRouteTableId = aws.String(placeholderTGWRouteTable)
			in.DryRun = aws.Bool(true)
			_, err := rs.c.EC2.SearchTransitGatewayRoutes(r.ctx, in)
			var ae smithy.APIError
			if errors.As(err, &ae) && ae.ErrorCode() != "DryRunOperation" && !deniedCode(ae.ErrorCode()) {
				return MethodNone, nil
			}
			// No error: the endpoint ignored DryRun and searched, which
			// for a read is harmless and as good an answer.
			return MethodDryRun, err
		}}
	case "ec2:DescribeManagedPrefixLists":
		return probe{regional: true, call: func(r *run, rs *regionState) (Method, error) {
			out, err := rs.c.EC2.DescribeManagedPrefixLists(r.ctx, &ec2.DescribeManagedPrefixListsInput{MaxResults: five})
			if err == nil && len(out.PrefixLists) > 0 {
				// Every region has AWS-managed lists; their entries can be
				// read like a customer list's.
				rs.prefixListID = aws.ToString(out.PrefixLists[0].PrefixListId)
			}
			return MethodCall, err
		}}
	case "ec2:GetManagedPrefixListEntries":
		return probe{regional: true, call: func(r *run, rs *regionState) (Method, error) {
			if rs.prefixListID == "" {
				return MethodNone, nil
			}
			_, err := rs.c.EC2.GetManagedPrefixListEntries(r.ctx, &ec2.GetManagedPrefixListEntriesInput{
				PrefixListId: aws.String(rs.prefixListID), MaxResults: five,
			})
			return MethodCall, err
		}}
	case "ec2:AuthorizeSecurityGroupEgress":
		return probe{regional: true, call: dryRunAuthorize}
	case "ec2:RevokeSecurityGroupEgress":
		return probe{regional: true, call: dryRunRevoke}
	case "ec2:ModifySubnetAttribute":
		// No DryRun parameter on this API.
		return probe{regional: true, simulateOnly: true}

	case "sagemaker:ListNotebookInstances":
		return probe{regional: true, call: func(r *run, rs *regionState) (Method, error) {
			out, err := rs.c.SageMaker.ListNotebookInstances(r.ctx, &sagemaker.ListNotebookInstancesInput{MaxResults: aws.Int32(1)})
			if err == nil && len(out.NotebookInstances) > 0 {
				nb := out.NotebookInstances[0]
				rs.notebookName = aws.ToString(nb.NotebookInstanceName)
				rs.notebookARN = aws.ToString(nb.NotebookInstanceArn)
				rs.lifecycleConfig = aws.ToString(nb.NotebookInstanceLifecycleConfigName)
			}
			return MethodCall, err
		}}
	case "sagemaker:DescribeNotebookInstance":
		return probe{regional: true, notFound: []string{"ValidationException", "ResourceNotFound"},
			call: func(r *run, rs *regionState) (Method, error) {
				out, err := rs.c.SageMaker.DescribeNotebookInstance(r.ctx, &sagemaker.DescribeNotebookInstanceInput{
					NotebookInstanceName: aws.String(rs.notebook()),
				})
				if err == nil {
					rs.roleARN = aws.ToString(out.RoleArn)
					if rs.lifecycleConfig == "" {
						rs.lifecycleConfig = aws.ToString(out.NotebookInstanceLifecycleConfigName)
					}
				}
				return MethodCall, err
			}}
	case "sagemaker:ListTags":
		return probe{regional: true, notFound: []string{"ValidationException", "ResourceNotFound"},
			call: func(r *run, rs *regionState) (Method, error) {
				_, err := rs.c.SageMaker.ListTags(r.ctx, &sagemaker.ListTagsInput{
					ResourceArn: aws.String(rs.notebookResource(r)), MaxResults: aws.Int32(1),
				})
				return MethodCall, err
			}}
	case "sagemaker:ListDomains":
		return probe{regional: true, call: func(r *run, rs *regionState) (Method, error) {
			out, err := rs.c.SageMaker.ListDomains(r.ctx, &sagemaker.ListDomainsInput{MaxResults: aws.Int32(1)})
			if err == nil && len(out.Domains) > 0 {
				rs.domainID = aws.ToString(out.Domains[0].DomainId)
			}
			return MethodCall, err
		}}
	case "sagemaker:DescribeDomain":
		return probe{regional: true, notFound: []string{"ValidationException", "ResourceNotFound"},
			call: func(r *run, rs *regionState) (Method, error) {
				_, err := rs.c.SageMaker.DescribeDomain(r.ctx, &sagemaker.DescribeDomainInput{DomainId: aws.String(rs.domain())})
				return MethodCall, err
			}}
	case "sagemaker:ListUserProfiles":
		return probe{regional: true, call: func(r *run, rs *regionState) (Method, error) {
			_, err := rs.c.SageMaker.ListUserProfiles(r.ctx, &sagemaker.ListUserProfilesInput{MaxResults: aws.Int32(1)})
			return MethodCall, err
		}}
	case "sagemaker:DescribeUserProfile":
		return probe{regional: true, notFound: []string{"ValidationException", "ResourceNotFound"},
			call: func(r *run, rs *regionState) (Method, error) {
				_, err := rs.c.SageMaker.DescribeUserProfile(r.ctx, &sagemaker.DescribeUserProfileInput{
					DomainId: aws.String(rs.domain()), UserProfileName: aws.String(probeName)})
				return MethodCall, err
			}}
	case "sagemaker:ListSpaces":
		return probe{regional: true, call: func(r *run, rs *regionState) (Method, error) {
			_, err := rs.c.SageMaker.ListSpaces(r.ctx, &sagemaker.ListSpacesInput{MaxResults: aws.Int32(1)})
			return MethodCall, err
		}}
	case "sagemaker:ListApps":
		return probe{regional: true, call: func(r *run, rs *regionState) (Method, error) {
			_, err := rs.c.SageMaker.ListApps(r.ctx, &sagemaker.ListAppsInput{MaxResults: aws.Int32(1)})
			return MethodCall, err
		}}
	case "sagemaker:DescribeNotebookInstanceLifecycleConfig":
		return probe{regional: true, notFound: []string{"ValidationException", "ResourceNotFound"},
			call: func(r *run, rs *regionState) (Method, error) {
				name := rs.lifecycleConfig
				if name == "" {
					name = probeName
				}
				_, err := rs.c.SageMaker.DescribeNotebookInstanceLifecycleConfig(r.ctx,
					&sagemaker.DescribeNotebookInstanceLifecycleConfigInput{NotebookInstanceLifecycleConfigName: aws.String(name)})
				return MethodCall, err
			}}

	case "organizations:ListAccounts":
		return probe{notFound: []string{"AWSOrganizationsNotInUseException"},
			call: func(r *run, _ *regionState) (Method, error) {
				if r.c.Organizations == nil {
					return MethodNone, nil
				}
				_, err := r.c.Organizations.ListAccounts(r.ctx, &organizations.ListAccountsInput{MaxResults: aws.Int32(1)})
				return MethodCall, err
			}}
	case "s3:ListBucket":
		return probe{call: func(r *run, _ *regionState) (Method, error) {
			bucket, prefix := permissions.SplitBackupLocation(r.opts.BackupBucket)
			if r.c.S3 == nil || bucket == "" {
				return MethodNone, nil
			}
			in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(1)}
			if prefix != "" {
				in.Prefix = aws.String(prefix + "/")
			}
			_, err := r.c.S3.ListObjectsV2(r.ctx, in)
			return MethodCall, err
		}}
	case "iam:SimulatePrincipalPolicy", "ec2:DescribeRegions", "sts:GetCallerIdentity":
		// Checked apart: by the simulations themselves (simulateAll),
		// before the regions (describeRegions), and first of all (Run).
		return probe{}
	}
	// Everything else (SageMaker writes, iam:PassRole, S3 objects,
	// sts:AssumeRole, the Security Hub writes) has no harmless call.
	// securityhub:GetFindings has one, but preflight holds no Security Hub
	// client: it is simulated like the writes.
	regional := strings.HasPrefix(action, "sagemaker:") || strings.HasPrefix(action, "ec2:") ||
		strings.HasPrefix(action, "securityhub:")
	return probe{regional: regional, simulateOnly: true}
}

// dryRunRule is the egress rule the DryRun calls name: TCP port 1 to
// TEST-NET-1 (RFC 5737), which no real rule is likely to match and which is
// harmless even if a DryRun were ever ignored.
func dryRunRule() []ec2types.IpPermission {
	return []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(1), ToPort: aws.Int32(1),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("192.0.2.0/24"), Description: aws.String("sagefence preflight (dry run)")}},
	}}
}

func dryRunAuthorize(r *run, rs *regionState) (Method, error) {
	if rs.securityGroupID == "" {
		return MethodNone, nil
	}
	_, err := rs.c.EC2.AuthorizeSecurityGroupEgress(r.ctx, &ec2.AuthorizeSecurityGroupEgressInput{
		DryRun: aws.Bool(true), GroupId: aws.String(rs.securityGroupID), IpPermissions: dryRunRule(),
	})
	if err == nil {
		// The endpoint ignored DryRun and added the rule: take it out again.
		_, rerr := rs.c.EC2.RevokeSecurityGroupEgress(r.ctx, &ec2.RevokeSecurityGroupEgressInput{
			GroupId: aws.String(rs.securityGroupID), IpPermissions: dryRunRule(),
		})
		rs.note = fmt.Sprintf("endpoint ignored DryRun: probe rule added to %s and removed again (revoke error: %v)", rs.securityGroupID, rerr)
	}
	return MethodDryRun, err
}

func dryRunRevoke(r *run, rs *regionState) (Method, error) {
	if rs.securityGroupID == "" {
		return MethodNone, nil
	}
	_, err := rs.c.EC2.RevokeSecurityGroupEgress(r.ctx, &ec2.RevokeSecurityGroupEgressInput{
		DryRun: aws.Bool(true), GroupId: aws.String(rs.securityGroupID), IpPermissions: dryRunRule(),
	})
	return MethodDryRun, err
}

// deniedCodes are the error codes AWS services answer an unauthorized
// request with.
func deniedCode(code string) bool {
	switch code {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
		"Client.UnauthorizedOperation", "AuthorizationError", "NotAuthorized":
		return true
	}
	return false
}

// classify turns a probe's error into a status and a detail line.
func classify(method Method, err error, notFound []string) (Status, string) {
	if err == nil {
		return StatusGranted, ""
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) {
			return StatusNotVerifiable, fmt.Sprintf("HTTP %d with an unreadable answer (%s)", re.HTTPStatusCode(), opName(err))
		}
		return StatusNotVerifiable, "probe failed: " + err.Error()
	}
	code := ae.ErrorCode()
	switch {
	case code == "DryRunOperation":
		return StatusGranted, "DryRunOperation"
	case deniedCode(code):
		return StatusDenied, code + ": " + ae.ErrorMessage()
	case slices.Contains(notFound, code):
		return StatusGranted, fmt.Sprintf("authorized (%s for the probe resource)", code)
	}
	return StatusNotVerifiable, fmt.Sprintf("%s probe answered %s: %s", method, code, ae.ErrorMessage())
}

// regionState is what the probes of one region learn for the later ones.
type regionState struct {
	region          string
	c               RegionalClients
	notebookName    string
	notebookARN     string
	roleARN         string
	lifecycleConfig string
	securityGroupID string
	subnetID        string
	tgwRouteTableID string
	prefixListID    string
	domainID        string
	note            string
}

// probeDomainID is the Studio domain the describe probes ask for when the
// region has none (a domain ID's shape; never created).
const probeDomainID = "d-sagefenceprobe0"

func (rs *regionState) domain() string {
	if rs.domainID != "" {
		return rs.domainID
	}
	return probeDomainID
}

func (rs *regionState) notebook() string {
	if rs.notebookName != "" {
		return rs.notebookName
	}
	return probeName
}

func (rs *regionState) notebookResource(r *run) string {
	if rs.notebookARN != "" {
		return rs.notebookARN
	}
	return fmt.Sprintf("arn:%s:sagemaker:%s:%s:notebook-instance/%s", r.partition(), rs.region, r.report.Identity.Account, probeName)
}

// simRequest is one action to simulate, with the resource and context it
// is simulated for.
type simRequest struct {
	check    int // index into report.Checks
	action   string
	resource string
	region   string
	passRole bool // simulated as passed to SageMaker
	awsGrant bool // simulated as a grant for an AWS resource
}

// run is the state of one Run.
type run struct {
	ctx     context.Context
	c       Clients
	opts    Options
	home    string
	report  Report
	needed  map[string]permissions.Action
	enabled map[string]bool
	sims    []simRequest
	roleARN string // a notebook execution role seen in any region
}

func (r *run) partition() string {
	if p := r.report.Identity.Partition; p != "" {
		return p
	}
	return "aws"
}

func (r *run) add(c Check) int {
	if a, ok := permissions.Lookup(c.Action); ok {
		c.Reason = a.Reason
		c.Feature = a.Feature
	}
	r.report.Checks = append(r.report.Checks, c)
	return len(r.report.Checks) - 1
}

// checkAll runs every probe: the enabled regions first, then the regional
// probes region by region, then the global ones, then the simulations.
func (r *run) checkAll() {
	if _, ok := r.needed["ec2:DescribeRegions"]; ok {
		r.describeRegions()
	}
	order := permissions.All() // catalog order
	for _, region := range r.report.Regions {
		rs := &regionState{region: region, c: r.c.Regional(region)}
		for _, a := range order {
			if _, ok := r.needed[a.String()]; !ok || !probeFor(a.String()).regional || a.String() == "ec2:DescribeRegions" {
				continue
			}
			r.checkOne(a.String(), rs)
		}
		if rs.roleARN != "" && r.roleARN == "" {
			r.roleARN = rs.roleARN
		}
	}
	for _, a := range order {
		name := a.String()
		if _, ok := r.needed[name]; !ok || probeFor(name).regional || name == "ec2:DescribeRegions" ||
			name == "sts:GetCallerIdentity" || name == "iam:SimulatePrincipalPolicy" {
			continue
		}
		r.checkOne(name, &regionState{region: r.home})
	}
	r.simulateAll()
}

func (r *run) describeRegions() {
	c := r.c.Regional(r.home)
	out, err := c.EC2.DescribeRegions(r.ctx, &ec2.DescribeRegionsInput{})
	st, detail := classify(MethodCall, err, nil)
	if err == nil {
		r.enabled = map[string]bool{}
		for _, reg := range out.Regions {
			// AllRegions is false, so AWS returns only enabled regions; an
			// emulator may list others with their opt-in status.
			if aws.ToString(reg.OptInStatus) == "not-opted-in" {
				continue
			}
			name := aws.ToString(reg.RegionName)
			r.enabled[name] = true
			r.report.EnabledRegions = append(r.report.EnabledRegions, name)
		}
		slices.Sort(r.report.EnabledRegions)
		detail = fmt.Sprintf("%d regions enabled", len(r.report.EnabledRegions))
	}
	r.add(Check{Action: "ec2:DescribeRegions", Region: r.home, Status: st, Method: MethodCall, Detail: detail})
}

// checkOne checks one action in one region (rs.region is the home region
// for global actions).
func (r *run) checkOne(action string, rs *regionState) {
	p := probeFor(action)
	region := ""
	if p.regional {
		region = rs.region
		if r.enabled != nil && !r.enabled[region] {
			r.add(Check{Action: action, Region: region, Status: StatusNotVerifiable, Method: MethodNone,
				Detail: "region " + region + " is not enabled in this account"})
			return
		}
	}
	if p.call != nil {
		rs.note = ""
		method, err := p.call(r, rs)
		if method != MethodNone {
			st, detail := classify(method, err, p.notFound)
			if rs.note != "" {
				detail = strings.TrimSpace(detail + "; " + rs.note)
			}
			r.add(Check{Action: action, Region: region, Status: st, Method: method, Detail: detail})
			return
		}
	}
	// No harmless call, or nothing to call it on: simulate.
	i := r.add(Check{Action: action, Region: region, Status: StatusNotVerifiable, Method: MethodSimulation})
	r.sims = append(r.sims, simRequest{
		check: i, action: action, region: region,
		resource: r.simResource(action, rs), passRole: action == "iam:PassRole",
		awsGrant: action == "kms:CreateGrant",
	})
}

// simResource is the resource ARN an action is simulated on: the resource
// sagefence would act on when one is known, else one of the shape the
// policy grants.
func (r *run) simResource(action string, rs *regionState) string {
	p, acct, region := r.partition(), r.report.Identity.Account, rs.region
	bucket, prefix := permissions.SplitBackupLocation(r.opts.BackupBucket)
	if bucket == "" {
		bucket = strings.ReplaceAll(permissions.DefaultBackupBucketPattern, "*", "backup")
	}
	objects := probeName
	if prefix != "" {
		objects = prefix + "/" + probeName
	}
	a, _ := permissions.Lookup(action)
	switch a.Scope {
	case permissions.ScopeNotebook, permissions.ScopeTagged:
		return rs.notebookResource(r)
	case permissions.ScopeStudio:
		return fmt.Sprintf("arn:%s:sagemaker:%s:%s:domain/%s", p, region, acct, rs.domain())
	case permissions.ScopeLifecycleConfig:
		name := rs.lifecycleConfig
		if name == "" {
			name = probeName
		}
		return fmt.Sprintf("arn:%s:sagemaker:%s:%s:notebook-instance-lifecycle-config/%s", p, region, acct, name)
	case permissions.ScopeSubnet:
		id := rs.subnetID
		if id == "" {
			id = "subnet-00000000000000000"
		}
		return fmt.Sprintf("arn:%s:ec2:%s:%s:subnet/%s", p, region, acct, id)
	case permissions.ScopeSecurityGroup:
		id := rs.securityGroupID
		if id == "" {
			id = "sg-00000000000000000"
		}
		return fmt.Sprintf("arn:%s:ec2:%s:%s:security-group/%s", p, region, acct, id)
	case permissions.ScopeNotebookRole:
		switch {
		case r.opts.NotebookRoleARN != "":
			return r.opts.NotebookRoleARN
		case r.roleARN != "":
			return r.roleARN
		}
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", p, acct, probeName)
	case permissions.ScopeBackupBucket:
		return fmt.Sprintf("arn:%s:s3:::%s", p, bucket)
	case permissions.ScopeBackupObjects:
		return fmt.Sprintf("arn:%s:s3:::%s/%s", p, bucket, objects)
	case permissions.ScopeMemberRole:
		name := r.opts.MemberRoleName
		if name == "" {
			name = DefaultMemberRoleName
		}
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", p, acct, name)
	case permissions.ScopeSecurityHubProduct:
		return fmt.Sprintf("arn:%s:securityhub:%s:%s:product/%s/default", p, region, acct, acct)
	case permissions.ScopeNotebookENI:
		// SageMaker makes the interface in the notebook's subnet.
		id := rs.subnetID
		if id == "" {
			id = "subnet-00000000000000000"
		}
		return fmt.Sprintf("arn:%s:ec2:%s:%s:subnet/%s", p, region, acct, id)
	case permissions.ScopeKMSKey, permissions.ScopeKMSKeyGrant:
		return fmt.Sprintf("arn:%s:kms:%s:%s:key/%s", p, region, acct, "00000000-0000-0000-0000-000000000000")
	case permissions.ScopeEventQueue:
		if r.opts.EventQueueARN != "" {
			return r.opts.EventQueueARN
		}
		return fmt.Sprintf("arn:%s:sqs:%s:%s:sagefence-events", p, region, acct)
	case permissions.ScopeAlertTopic:
		if r.opts.AlertTopicARN != "" {
			return r.opts.AlertTopicARN
		}
		return fmt.Sprintf("arn:%s:sns:%s:%s:sagefence-alerts", p, region, acct)
	case permissions.ScopeDomain:
		// A domain ID's shape; the policy grants every domain.
		return fmt.Sprintf("arn:%s:sagemaker:%s:%s:domain/d-sagefenceprobe0", p, region, acct)
	}
	return "*"
}

// simulateAll runs the pending simulations, one SimulatePrincipalPolicy
// call per (resource, region, context), and records whether the caller may
// simulate at all.
func (r *run) simulateAll() {
	_, wantSimCheck := r.needed["iam:SimulatePrincipalPolicy"]
	simCheck, simSet := -1, false
	if wantSimCheck {
		simCheck = r.add(Check{Action: "iam:SimulatePrincipalPolicy", Status: StatusNotVerifiable, Method: MethodCall})
	}
	// The first simulation call decides the caller's own permission.
	setSim := func(st Status, detail string) {
		if simCheck >= 0 && !simSet {
			simSet = true
			r.report.Checks[simCheck].Status, r.report.Checks[simCheck].Detail = st, detail
		}
	}
	principal := r.report.Identity.PrincipalARN
	switch {
	case len(r.sims) == 0:
		setSim(StatusNotVerifiable, "no permission needed simulation")
		return
	case principal == "":
		reason := "the caller (" + r.report.Identity.ARN + ") is not an IAM user or role, which policy simulation needs"
		r.failSims(reason)
		setSim(StatusNotVerifiable, reason)
		return
	case r.c.IAM == nil:
		r.failSims("no IAM client")
		setSim(StatusNotVerifiable, "no IAM client")
		return
	}

	type key struct {
		resource, region   string
		passRole, awsGrant bool
	}
	var order []key
	groups := map[key][]simRequest{}
	for _, s := range r.sims {
		k := key{s.resource, s.region, s.passRole, s.awsGrant}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], s)
	}
	for gi, k := range order {
		reqs := groups[k]
		in := &iam.SimulatePrincipalPolicyInput{
			PolicySourceArn: aws.String(principal),
			ResourceArns:    []string{k.resource},
		}
		for _, s := range reqs {
			in.ActionNames = append(in.ActionNames, s.action)
		}
		if k.region != "" {
			in.ContextEntries = append(in.ContextEntries, contextString("aws:RequestedRegion", k.region))
		}
		if k.passRole {
			in.ContextEntries = append(in.ContextEntries, contextString("iam:PassedToService", permissions.SageMakerServicePrincipal))
		}
		if k.awsGrant {
			// SageMaker creates the grant for the notebook's volume.
			in.ContextEntries = append(in.ContextEntries, iamtypes.ContextEntry{
				ContextKeyName: aws.String("kms:GrantIsForAWSResource"), ContextKeyType: iamtypes.ContextKeyTypeEnumBoolean,
				ContextKeyValues: []string{"true"},
			})
		}
		results, err := r.simulate(in)
		if err != nil {
			st, detail := classify(MethodCall, err, nil)
			reason := "policy simulation unavailable: " + detail
			var ae smithy.APIError
			switch {
			case st == StatusDenied:
				reason = "iam:SimulatePrincipalPolicy is denied, so this cannot be checked without acting"
			case errors.As(err, &ae) && ae.ErrorCode() == "NoSuchEntity":
				reason = "the simulator does not know " + principal + " (a role with a path?): " + ae.ErrorMessage()
			}
			setSim(st, detail)
			// The next calls would fail the same way (and each failure may
			// have cost retries): give every remaining check this reason.
			for _, rest := range order[gi:] {
				for _, s := range groups[rest] {
					r.report.Checks[s.check].Detail = reason
				}
			}
			return
		}
		setSim(StatusGranted, "simulation answered")
		for _, s := range reqs {
			st, detail := StatusNotVerifiable, "the simulator returned no result for it"
			for _, res := range results {
				if aws.ToString(res.EvalActionName) == s.action {
					st, detail = decision(res)
					break
				}
			}
			r.report.Checks[s.check].Status = st
			r.report.Checks[s.check].Detail = detail + " on " + k.resource
		}
	}
}

func (r *run) simulate(in *iam.SimulatePrincipalPolicyInput) ([]iamtypes.EvaluationResult, error) {
	var all []iamtypes.EvaluationResult
	for {
		out, err := r.c.IAM.SimulatePrincipalPolicy(r.ctx, in)
		if err != nil {
			return nil, fmt.Errorf("simulate as %s: %w", aws.ToString(in.PolicySourceArn), err)
		}
		all = append(all, out.EvaluationResults...)
		if !out.IsTruncated || out.Marker == nil {
			return all, nil
		}
		in.Marker = out.Marker
	}
}

func (r *run) failSims(reason string) {
	for _, s := range r.sims {
		r.report.Checks[s.check].Detail = reason
	}
}

func contextString(key, value string) iamtypes.ContextEntry {
	return iamtypes.ContextEntry{
		ContextKeyName: aws.String(key), ContextKeyType: iamtypes.ContextKeyTypeEnumString,
		ContextKeyValues: []string{value},
	}
}

// decision reads one simulation result. A denial that depends on context
// values the simulation did not have is not a verdict.
func decision(res iamtypes.EvaluationResult) (Status, string) {
	var notes []string
	if d := res.OrganizationsDecisionDetail; d != nil && !d.AllowedByOrganizations {
		notes = append(notes, "denied by a service control policy")
	}
	if d := res.PermissionsBoundaryDecisionDetail; d != nil && !d.AllowedByPermissionsBoundary {
		notes = append(notes, "denied by the permissions boundary")
	}
	if res.EvalDecision == iamtypes.PolicyEvaluationDecisionTypeAllowed && len(notes) == 0 {
		return StatusGranted, "simulated: allowed"
	}
	detail := "simulated: " + string(res.EvalDecision)
	if len(notes) > 0 {
		detail += " (" + strings.Join(notes, ", ") + ")"
	}
	if len(res.MissingContextValues) > 0 && len(notes) == 0 {
		return StatusNotVerifiable, detail + "; depends on context keys the simulation lacked: " + strings.Join(res.MissingContextValues, ", ")
	}
	return StatusDenied, detail
}

// finish sorts nothing (checks stay in the order they ran, which is the
// catalog's) and fills the summary.
func (r *run) finish() {
	r.report.Summary = map[Status]int{StatusGranted: 0, StatusDenied: 0, StatusNotVerifiable: 0}
	for _, c := range r.report.Checks {
		r.report.Summary[c.Status]++
	}
}

// opName is the "Service: Operation" an SDK error is about.
func opName(err error) string {
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		return oe.Service() + " " + oe.Operation()
	}
	return "unknown operation"
}
