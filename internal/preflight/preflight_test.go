package preflight

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/sagefence/sagefence/internal/permissions"
)

func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " from the fake"}
}

type fakeSTS struct {
	arn string
	err error
}

func (f fakeSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &sts.GetCallerIdentityOutput{Account: aws.String("111122223333"), Arn: aws.String(f.arn), UserId: aws.String("AROAEXAMPLE:me")}, nil
}

// fakeIAM answers each simulated action with decide(action), or err.
type fakeIAM struct {
	mu     sync.Mutex
	decide func(action string) iamtypes.EvaluationResult
	err    error
	calls  []*iam.SimulatePrincipalPolicyInput
}

func (f *fakeIAM) SimulatePrincipalPolicy(_ context.Context, in *iam.SimulatePrincipalPolicyInput, _ ...func(*iam.Options)) (*iam.SimulatePrincipalPolicyOutput, error) {
	f.mu.Lock()
	f.calls = append(f.calls, in)
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	out := &iam.SimulatePrincipalPolicyOutput{}
	for _, a := range in.ActionNames {
		res := f.decide(a)
		res.EvalActionName = aws.String(a)
		out.EvaluationResults = append(out.EvaluationResults, res)
	}
	return out, nil
}

func allowed() iamtypes.EvaluationResult {
	return iamtypes.EvaluationResult{EvalDecision: iamtypes.PolicyEvaluationDecisionTypeAllowed}
}

// fakeEC2 grants every read, answers DryRunOperation to DryRun writes, and
// fails the operations in errs.
type fakeEC2 struct {
	EC2API
	regions      []string
	tgwTables    []string // transit gateway route table IDs
	searchDryRun error    // the answer to a dry-run search of another table
	errs         map[string]error
}

func (f fakeEC2) DescribeRegions(context.Context, *ec2.DescribeRegionsInput, ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error) {
	out := &ec2.DescribeRegionsOutput{}
	for _, r := range f.regions {
		out.Regions = append(out.Regions, ec2types.Region{RegionName: aws.String(r)})
	}
	return out, f.errs["DescribeRegions"]
}

func (f fakeEC2) DescribeSubnets(context.Context, *ec2.DescribeSubnetsInput, ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	return &ec2.DescribeSubnetsOutput{Subnets: []ec2types.Subnet{{SubnetId: aws.String("subnet-0fake")}}}, f.errs["DescribeSubnets"]
}

func (f fakeEC2) DescribeVpcs(context.Context, *ec2.DescribeVpcsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	return &ec2.DescribeVpcsOutput{}, f.errs["DescribeVpcs"]
}

func (f fakeEC2) DescribeRouteTables(context.Context, *ec2.DescribeRouteTablesInput, ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error) {
	return &ec2.DescribeRouteTablesOutput{}, f.errs["DescribeRouteTables"]
}

func (f fakeEC2) DescribeNatGateways(context.Context, *ec2.DescribeNatGatewaysInput, ...func(*ec2.Options)) (*ec2.DescribeNatGatewaysOutput, error) {
	return &ec2.DescribeNatGatewaysOutput{}, f.errs["DescribeNatGateways"]
}

func (f fakeEC2) DescribeInternetGateways(context.Context, *ec2.DescribeInternetGatewaysInput, ...func(*ec2.Options)) (*ec2.DescribeInternetGatewaysOutput, error) {
	return &ec2.DescribeInternetGatewaysOutput{}, f.errs["DescribeInternetGateways"]
}

func (f fakeEC2) DescribeEgressOnlyInternetGateways(context.Context, *ec2.DescribeEgressOnlyInternetGatewaysInput, ...func(*ec2.Options)) (*ec2.DescribeEgressOnlyInternetGatewaysOutput, error) {
	return &ec2.DescribeEgressOnlyInternetGatewaysOutput{}, f.errs["DescribeEgressOnlyInternetGateways"]
}

func (f fakeEC2) DescribeSecurityGroups(context.Context, *ec2.DescribeSecurityGroupsInput, ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: []ec2types.SecurityGroup{{GroupId: aws.String("sg-0fake")}}}, f.errs["DescribeSecurityGroups"]
}

func (f fakeEC2) DescribeNetworkAcls(context.Context, *ec2.DescribeNetworkAclsInput, ...func(*ec2.Options)) (*ec2.DescribeNetworkAclsOutput, error) {
	return &ec2.DescribeNetworkAclsOutput{}, f.errs["DescribeNetworkAcls"]
}

func (f fakeEC2) DescribeNetworkInterfaces(context.Context, *ec2.DescribeNetworkInterfacesInput, ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	return &ec2.DescribeNetworkInterfacesOutput{}, f.errs["DescribeNetworkInterfaces"]
}

func (f fakeEC2) DescribeVpcEndpoints(context.Context, *ec2.DescribeVpcEndpointsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcEndpointsOutput, error) {
	return &ec2.DescribeVpcEndpointsOutput{}, f.errs["DescribeVpcEndpoints"]
}

func (f fakeEC2) DescribeTransitGatewayAttachments(context.Context, *ec2.DescribeTransitGatewayAttachmentsInput, ...func(*ec2.Options)) (*ec2.DescribeTransitGatewayAttachmentsOutput, error) {
	return &ec2.DescribeTransitGatewayAttachmentsOutput{}, f.errs["DescribeTransitGatewayAttachments"]
}

func (f fakeEC2) DescribeTransitGatewayVpcAttachments(context.Context, *ec2.DescribeTransitGatewayVpcAttachmentsInput, ...func(*ec2.Options)) (*ec2.DescribeTransitGatewayVpcAttachmentsOutput, error) {
	return &ec2.DescribeTransitGatewayVpcAttachmentsOutput{}, f.errs["DescribeTransitGatewayVpcAttachments"]
}

// DescribeTransitGatewayRouteTables finds the route tables in tgwTables.
func (f fakeEC2) DescribeTransitGatewayRouteTables(context.Context, *ec2.DescribeTransitGatewayRouteTablesInput, ...func(*ec2.Options)) (*ec2.DescribeTransitGatewayRouteTablesOutput, error) {
	out := &ec2.DescribeTransitGatewayRouteTablesOutput{}
	for _, id := range f.tgwTables {
		out.TransitGatewayRouteTables = append(out.TransitGatewayRouteTables, ec2types.TransitGatewayRouteTable{TransitGatewayRouteTableId: aws.String(id)})
	}
	return out, f.errs["DescribeTransitGatewayRouteTables"]
}

// SearchTransitGatewayRoutes searches the tables of tgwTables; a dry run
// on another answers searchDryRun (DryRunOperation by default).
func (f fakeEC2) SearchTransitGatewayRoutes(_ context.Context, in *ec2.SearchTransitGatewayRoutesInput, _ ...func(*ec2.Options)) (*ec2.SearchTransitGatewayRoutesOutput, error) {
	if len(in.Filters) == 0 || in.MaxResults != nil {
		return nil, errors.New("fake: search without a filter or with MaxResults")
	}
	if err := f.errs["SearchTransitGatewayRoutes"]; err != nil {
		return nil, err
	}
	switch {
	case slices.Contains(f.tgwTables, aws.ToString(in.TransitGatewayRouteTableId)):
		return &ec2.SearchTransitGatewayRoutesOutput{}, nil
	case !aws.ToBool(in.DryRun):
		return nil, errors.New("fake: a search of an unknown route table without DryRun")
	case f.searchDryRun != nil:
		return nil, f.searchDryRun
	}
	return nil, apiErr("DryRunOperation")
}

func (f fakeEC2) DescribeManagedPrefixLists(context.Context, *ec2.DescribeManagedPrefixListsInput, ...func(*ec2.Options)) (*ec2.DescribeManagedPrefixListsOutput, error) {
	return &ec2.DescribeManagedPrefixListsOutput{PrefixLists: []ec2types.ManagedPrefixList{{PrefixListId: aws.String("pl-0fake"), OwnerId: aws.String("AWS")}}},
		f.errs["DescribeManagedPrefixLists"]
}

func (f fakeEC2) GetManagedPrefixListEntries(_ context.Context, in *ec2.GetManagedPrefixListEntriesInput, _ ...func(*ec2.Options)) (*ec2.GetManagedPrefixListEntriesOutput, error) {
	if aws.ToString(in.PrefixListId) != "pl-0fake" {
		return nil, errors.New("fake: entries of an unknown prefix list")
	}
	return &ec2.GetManagedPrefixListEntriesOutput{}, f.errs["GetManagedPrefixListEntries"]
}

func (f fakeEC2) dryRun(op string, dry *bool) error {
	if err := f.errs[op]; err != nil {
		return err
	}
	if !aws.ToBool(dry) {
		return errors.New("fake: a probe called " + op + " without DryRun")
	}
	return apiErr("DryRunOperation")
}

func (f fakeEC2) AuthorizeSecurityGroupEgress(_ context.Context, in *ec2.AuthorizeSecurityGroupEgressInput, _ ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupEgressOutput, error) {
	return nil, f.dryRun("AuthorizeSecurityGroupEgress", in.DryRun)
}

func (f fakeEC2) RevokeSecurityGroupEgress(_ context.Context, in *ec2.RevokeSecurityGroupEgressInput, _ ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupEgressOutput, error) {
	return nil, f.dryRun("RevokeSecurityGroupEgress", in.DryRun)
}

// fakeSageMaker has no notebooks: every read of one is "not found".
type fakeSageMaker struct{ SageMakerAPI }

func (fakeSageMaker) ListNotebookInstances(context.Context, *sagemaker.ListNotebookInstancesInput, ...func(*sagemaker.Options)) (*sagemaker.ListNotebookInstancesOutput, error) {
	return &sagemaker.ListNotebookInstancesOutput{}, nil
}

func (fakeSageMaker) DescribeNotebookInstance(context.Context, *sagemaker.DescribeNotebookInstanceInput, ...func(*sagemaker.Options)) (*sagemaker.DescribeNotebookInstanceOutput, error) {
	return nil, apiErr("ValidationException")
}

func (fakeSageMaker) ListTags(context.Context, *sagemaker.ListTagsInput, ...func(*sagemaker.Options)) (*sagemaker.ListTagsOutput, error) {
	return nil, apiErr("ValidationException")
}

func (fakeSageMaker) DescribeNotebookInstanceLifecycleConfig(context.Context, *sagemaker.DescribeNotebookInstanceLifecycleConfigInput, ...func(*sagemaker.Options)) (*sagemaker.DescribeNotebookInstanceLifecycleConfigOutput, error) {
	return nil, apiErr("ValidationException")
}

func (fakeSageMaker) ListDomains(context.Context, *sagemaker.ListDomainsInput, ...func(*sagemaker.Options)) (*sagemaker.ListDomainsOutput, error) {
	return &sagemaker.ListDomainsOutput{}, nil
}

func (fakeSageMaker) DescribeDomain(context.Context, *sagemaker.DescribeDomainInput, ...func(*sagemaker.Options)) (*sagemaker.DescribeDomainOutput, error) {
	return nil, apiErr("ResourceNotFound")
}

func (fakeSageMaker) ListUserProfiles(context.Context, *sagemaker.ListUserProfilesInput, ...func(*sagemaker.Options)) (*sagemaker.ListUserProfilesOutput, error) {
	return &sagemaker.ListUserProfilesOutput{}, nil
}

func (fakeSageMaker) DescribeUserProfile(context.Context, *sagemaker.DescribeUserProfileInput, ...func(*sagemaker.Options)) (*sagemaker.DescribeUserProfileOutput, error) {
	return nil, apiErr("ResourceNotFound")
}

func (fakeSageMaker) ListSpaces(context.Context, *sagemaker.ListSpacesInput, ...func(*sagemaker.Options)) (*sagemaker.ListSpacesOutput, error) {
	return &sagemaker.ListSpacesOutput{}, nil
}

func (fakeSageMaker) ListApps(context.Context, *sagemaker.ListAppsInput, ...func(*sagemaker.Options)) (*sagemaker.ListAppsOutput, error) {
	return &sagemaker.ListAppsOutput{}, nil
}

func fakeClients(arn string, im IAMAPI, ec fakeEC2) Clients {
	if ec.regions == nil {
		ec.regions = []string{"us-east-1", "eu-west-1"}
	}
	if ec.tgwTables == nil {
		ec.tgwTables = []string{"tgw-rtb-0fake"}
	}
	return Clients{
		Region: "us-east-1",
		STS:    fakeSTS{arn: arn},
		IAM:    im,
		Regional: func(string) RegionalClients {
			return RegionalClients{EC2: ec, SageMaker: fakeSageMaker{}}
		},
	}
}

const roleSession = "arn:aws:sts::111122223333:assumed-role/Remediator/alice"

func check(t *testing.T, r Report, action, region string) Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Action == action && c.Region == region {
			return c
		}
	}
	t.Fatalf("no check of %s in %q", action, region)
	return Check{}
}

func TestIdentityOf(t *testing.T) {
	for _, tc := range []struct{ arn, partition, principal string }{
		{"arn:aws:iam::111122223333:user/ops/alice", "aws", "arn:aws:iam::111122223333:user/ops/alice"},
		{roleSession, "aws", "arn:aws:iam::111122223333:role/Remediator"},
		{"arn:aws-us-gov:sts::111122223333:assumed-role/R/s", "aws-us-gov", "arn:aws-us-gov:iam::111122223333:role/R"},
		{"arn:aws:iam::111122223333:root", "aws", ""},
		{"arn:aws:sts::111122223333:federated-user/bob", "aws", ""},
		{"not-an-arn", "", ""},
	} {
		id := identityOf("111122223333", tc.arn, "x")
		if id.Partition != tc.partition || id.PrincipalARN != tc.principal {
			t.Errorf("identityOf(%s) = %+v, want partition %q principal %q", tc.arn, id, tc.partition, tc.principal)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		notFound []string
		want     Status
	}{
		{"success", nil, nil, StatusGranted},
		{"dry run would succeed", apiErr("DryRunOperation"), nil, StatusGranted},
		{"ec2 denial", apiErr("UnauthorizedOperation"), nil, StatusDenied},
		{"json denial", apiErr("AccessDeniedException"), nil, StatusDenied},
		{"query denial", apiErr("AccessDenied"), nil, StatusDenied},
		{"probe resource not found", apiErr("ValidationException"), []string{"ValidationException"}, StatusGranted},
		{"unexpected validation error", apiErr("ValidationException"), nil, StatusNotVerifiable},
		{"throttled after retries", apiErr("ThrottlingException"), nil, StatusNotVerifiable},
		{"network", errors.New("connection refused"), nil, StatusNotVerifiable},
	} {
		if got, detail := classify(MethodCall, tc.err, tc.notFound); got != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, got, detail, tc.want)
		}
	}
}

func TestSimulationDecidesWritePermissions(t *testing.T) {
	im := &fakeIAM{decide: func(a string) iamtypes.EvaluationResult {
		switch a {
		case "sagemaker:DeleteNotebookInstance":
			return iamtypes.EvaluationResult{EvalDecision: iamtypes.PolicyEvaluationDecisionTypeImplicitDeny}
		case "iam:PassRole":
			res := allowed()
			res.OrganizationsDecisionDetail = &iamtypes.OrganizationsDecisionDetail{AllowedByOrganizations: false}
			return res
		case "s3:GetObject":
			return iamtypes.EvaluationResult{
				EvalDecision:         iamtypes.PolicyEvaluationDecisionTypeImplicitDeny,
				MissingContextValues: []string{"aws:SourceVpce"},
			}
		}
		return allowed()
	}}
	r, err := Run(context.Background(), fakeClients(roleSession, im, fakeEC2{}), Options{
		Mode: permissions.ModeRemediate, BackupBucket: "s3://acme-backups/nb",
		NotebookRoleARN: "arn:aws:iam::111122223333:role/service-role/NB",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		action, region string
		status         Status
		method         Method
		detail         string
	}{
		{"sagemaker:CreateNotebookInstance", "us-east-1", StatusGranted, MethodSimulation, "allowed"},
		{"sagemaker:DeleteNotebookInstance", "us-east-1", StatusDenied, MethodSimulation, "implicitDeny"},
		{"iam:PassRole", "", StatusDenied, MethodSimulation, "service control policy"},
		{"s3:GetObject", "", StatusNotVerifiable, MethodSimulation, "aws:SourceVpce"},
		{"ec2:ModifySubnetAttribute", "us-east-1", StatusGranted, MethodSimulation, "subnet/subnet-0fake"},
		{"ec2:AuthorizeSecurityGroupEgress", "us-east-1", StatusGranted, MethodDryRun, "DryRunOperation"},
		{"sagemaker:DescribeNotebookInstance", "us-east-1", StatusGranted, MethodCall, "ValidationException"},
		{"iam:SimulatePrincipalPolicy", "", StatusGranted, MethodCall, ""},
	} {
		c := check(t, r, tc.action, tc.region)
		if c.Status != tc.status || c.Method != tc.method || !strings.Contains(c.Detail, tc.detail) {
			t.Errorf("%s@%s = %s by %s (%s), want %s by %s mentioning %q",
				tc.action, tc.region, c.Status, c.Method, c.Detail, tc.status, tc.method, tc.detail)
		}
	}
	if r.ExitCode() != ExitDenied {
		t.Errorf("exit %d, want %d", r.ExitCode(), ExitDenied)
	}
	// What was simulated, as whom, on what, in which context.
	var passRole *iam.SimulatePrincipalPolicyInput
	for _, in := range im.calls {
		if aws.ToString(in.PolicySourceArn) != "arn:aws:iam::111122223333:role/Remediator" {
			t.Errorf("simulated as %s", aws.ToString(in.PolicySourceArn))
		}
		if slices.Contains(in.ActionNames, "iam:PassRole") {
			passRole = in
		}
		if slices.Contains(in.ActionNames, "sagemaker:CreateNotebookInstance") {
			if !hasContext(in, "aws:RequestedRegion", "us-east-1") {
				t.Errorf("regional simulation without aws:RequestedRegion: %+v", in.ContextEntries)
			}
		}
		if slices.Contains(in.ActionNames, "s3:ListBucket") && !slices.Equal(in.ResourceArns, []string{"arn:aws:s3:::acme-backups"}) {
			t.Errorf("s3:ListBucket simulated on %v", in.ResourceArns)
		}
		if slices.Contains(in.ActionNames, "s3:GetObject") && !slices.Equal(in.ResourceArns, []string{"arn:aws:s3:::acme-backups/nb/" + probeName}) {
			t.Errorf("s3:GetObject simulated on %v", in.ResourceArns)
		}
	}
	for _, in := range im.calls {
		grant := slices.Contains(in.ActionNames, "kms:CreateGrant")
		if grant != hasContext(in, "kms:GrantIsForAWSResource", "true") || (grant && len(in.ActionNames) != 1) {
			t.Errorf("simulation of %v has context %+v: kms:CreateGrant alone needs kms:GrantIsForAWSResource", in.ActionNames, in.ContextEntries)
		}
	}
	if passRole == nil || !slices.Equal(passRole.ResourceArns, []string{"arn:aws:iam::111122223333:role/service-role/NB"}) ||
		!hasContext(passRole, "iam:PassedToService", "sagemaker.amazonaws.com") || len(passRole.ActionNames) != 1 {
		t.Errorf("iam:PassRole simulation = %+v", passRole)
	}
}

func hasContext(in *iam.SimulatePrincipalPolicyInput, key, value string) bool {
	for _, e := range in.ContextEntries {
		if aws.ToString(e.ContextKeyName) == key && slices.Equal(e.ContextKeyValues, []string{value}) {
			return true
		}
	}
	return false
}

func TestDeniedSimulationLeavesWritesUnverifiable(t *testing.T) {
	im := &fakeIAM{err: apiErr("AccessDenied")}
	r, err := Run(context.Background(), fakeClients(roleSession, im, fakeEC2{}), Options{Mode: permissions.ModeRemediate})
	if err != nil {
		t.Fatal(err)
	}
	if c := check(t, r, "iam:SimulatePrincipalPolicy", ""); c.Status != StatusDenied {
		t.Errorf("iam:SimulatePrincipalPolicy = %s (%s), want denied", c.Status, c.Detail)
	}
	if c := check(t, r, "sagemaker:CreateNotebookInstance", "us-east-1"); c.Status != StatusNotVerifiable ||
		!strings.Contains(c.Detail, "iam:SimulatePrincipalPolicy is denied") {
		t.Errorf("CreateNotebookInstance = %s (%s)", c.Status, c.Detail)
	}
	if len(im.calls) != 1 {
		t.Errorf("%d simulation calls after the first was denied, want 1", len(im.calls))
	}
}

func TestRootCallerCannotBeSimulated(t *testing.T) {
	im := &fakeIAM{decide: func(string) iamtypes.EvaluationResult { return allowed() }}
	r, err := Run(context.Background(), fakeClients("arn:aws:iam::111122223333:root", im, fakeEC2{}), Options{Mode: permissions.ModeRemediate})
	if err != nil {
		t.Fatal(err)
	}
	if len(im.calls) != 0 {
		t.Errorf("simulated a root caller")
	}
	c := check(t, r, "iam:PassRole", "")
	if c.Status != StatusNotVerifiable || !strings.Contains(c.Detail, "not an IAM user or role") {
		t.Errorf("iam:PassRole = %s (%s)", c.Status, c.Detail)
	}
	if r.ExitCode() != ExitIncomplete {
		t.Errorf("exit %d, want %d", r.ExitCode(), ExitIncomplete)
	}
}

func TestAuditNeedsNoSimulation(t *testing.T) {
	im := &fakeIAM{err: apiErr("AccessDenied")}
	r, err := Run(context.Background(), fakeClients(roleSession, im, fakeEC2{}), Options{Mode: permissions.ModeAudit})
	if err != nil {
		t.Fatal(err)
	}
	if len(im.calls) != 0 || !r.OK() {
		t.Errorf("audit: %d simulations, exit %d\n%v", len(im.calls), r.ExitCode(), r.Checks)
	}
	for _, c := range r.Checks {
		if c.Action == "iam:SimulatePrincipalPolicy" {
			t.Error("audit checks iam:SimulatePrincipalPolicy it does not need")
		}
	}
}

// TestTransitGatewaySearchProbe: a region's route table is searched; with
// none, a dry run on a placeholder asks for the permission alone, and an
// answer about the table, which proves nothing, leaves it to simulation.
func TestTransitGatewaySearchProbe(t *testing.T) {
	tests := []struct {
		name   string
		ec     fakeEC2
		status Status
		method Method
	}{
		{"a route table to search", fakeEC2{tgwTables: []string{"tgw-rtb-1"}}, StatusGranted, MethodCall},
		{"none: the dry run is authorized", fakeEC2{tgwTables: []string{}}, StatusGranted, MethodDryRun},
		{"none: the dry run is denied", fakeEC2{tgwTables: []string{}, searchDryRun: apiErr("UnauthorizedOperation")}, StatusDenied, MethodDryRun},
		{"none: the answer is about the table", fakeEC2{tgwTables: []string{}, searchDryRun: apiErr("InvalidRouteTableID.NotFound")}, StatusGranted, MethodSimulation},
		{"denied search", fakeEC2{errs: map[string]error{"SearchTransitGatewayRoutes": apiErr("UnauthorizedOperation")}}, StatusDenied, MethodCall},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.ec.regions = []string{"us-east-1"}
			im := &fakeIAM{decide: func(string) iamtypes.EvaluationResult { return allowed() }}
			r, err := Run(context.Background(), fakeClients(roleSession, im, tt.ec), Options{Mode: permissions.ModeAudit})
			if err != nil {
				t.Fatal(err)
			}
			if c := check(t, r, "ec2:SearchTransitGatewayRoutes", "us-east-1"); c.Status != tt.status || c.Method != tt.method {
				t.Errorf("search: %s by %s (%s), want %s by %s", c.Status, c.Method, c.Detail, tt.status, tt.method)
			}
			if c := check(t, r, "ec2:GetManagedPrefixListEntries", "us-east-1"); c.Status != StatusGranted || c.Method != MethodCall {
				t.Errorf("prefix list entries: %s by %s (%s), want a call on the region's AWS-managed list", c.Status, c.Method, c.Detail)
			}
		})
	}
}

func TestRegionsNotEnabledAreNotVerifiable(t *testing.T) {
	r, err := Run(context.Background(), fakeClients(roleSession, nil, fakeEC2{regions: []string{"us-east-1"}}),
		Options{Mode: permissions.ModeAudit, Regions: []string{"us-east-1", "ap-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	c := check(t, r, "ec2:DescribeSubnets", "ap-east-1")
	if c.Status != StatusNotVerifiable || !strings.Contains(c.Detail, "not enabled") {
		t.Errorf("ap-east-1 = %s (%s)", c.Status, c.Detail)
	}
	if c := check(t, r, "ec2:DescribeSubnets", "us-east-1"); c.Status != StatusGranted {
		t.Errorf("us-east-1 = %s (%s)", c.Status, c.Detail)
	}
	if r.ExitCode() != ExitIncomplete {
		t.Errorf("exit %d", r.ExitCode())
	}
}

func TestRunErrors(t *testing.T) {
	ctx := context.Background()
	c := fakeClients(roleSession, nil, fakeEC2{})
	c.STS = fakeSTS{err: errors.New("no credentials")}
	if _, err := Run(ctx, c, Options{Mode: permissions.ModeAudit}); err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Errorf("no identity: err = %v", err)
	}
	if _, err := Run(ctx, fakeClients(roleSession, nil, fakeEC2{}), Options{Mode: "admin"}); err == nil {
		t.Error("bad mode accepted")
	}
	c = fakeClients(roleSession, nil, fakeEC2{})
	c.Region = ""
	if _, err := Run(ctx, c, Options{Mode: permissions.ModeAudit}); err == nil {
		t.Error("no region accepted")
	}
}

func TestExitCodeAndTableVerdict(t *testing.T) {
	granted := Check{Action: "ec2:DescribeVpcs", Region: "us-east-1", Status: StatusGranted, Method: MethodCall}
	denied := Check{Action: "ec2:DescribeRouteTables", Region: "us-east-1", Status: StatusDenied, Method: MethodCall, Detail: "UnauthorizedOperation"}
	unknown := Check{Action: "iam:PassRole", Status: StatusNotVerifiable, Method: MethodSimulation, Detail: "no simulation"}
	for _, tc := range []struct {
		name    string
		checks  []Check
		exit    int
		verdict string
	}{
		{"all granted", []Check{granted}, ExitOK, "OK: all 1 permissions needed for audit are granted."},
		{"one denied", []Check{granted, denied, unknown}, ExitDenied, "DENIED: 1 of 3 permissions needed for audit are denied: ec2:DescribeRouteTables@us-east-1. 1 more could not be verified."},
		{"one unknown", []Check{granted, unknown}, ExitIncomplete, "INCOMPLETE: 1 of 2 permissions needed for audit could not be verified: iam:PassRole."},
		{"nothing checked", nil, ExitIncomplete, "INCOMPLETE"},
	} {
		r := Report{Mode: permissions.ModeAudit, Regions: []string{"us-east-1"}, Checks: tc.checks}
		if got := r.ExitCode(); got != tc.exit {
			t.Errorf("%s: exit %d, want %d", tc.name, got, tc.exit)
		}
		var b bytes.Buffer
		if err := r.Table(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tc.verdict) {
			t.Errorf("%s: table lacks %q:\n%s", tc.name, tc.verdict, b.String())
		}
	}
}

// Every permission preflight simulates is simulated on a resource the
// policy iam-policy writes grants it on: a resource the policy does not
// cover (such as "*" for an action the policy scopes to ARNs) would make
// the simulator deny what the policy allows.
func TestSimulatedResourcesAreOnesThePolicyGrants(t *testing.T) {
	const account = "111122223333"
	granted := map[string][]string{} // action -> resource patterns
	for _, mode := range []permissions.Mode{permissions.ModeRemediate, permissions.ModeWatch} {
		doc, err := permissions.Build(mode, permissions.WithAllFeatures(), permissions.WithAccount(account))
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range doc.Statement {
			for _, a := range st.Action {
				granted[a] = append(granted[a], st.Resource...)
			}
		}
	}
	r := &run{report: Report{Identity: Identity{Account: account, Partition: "aws"}}}
	rs := &regionState{region: "eu-west-1"}
	for _, a := range permissions.All() {
		if a.String() == "iam:SimulatePrincipalPolicy" {
			continue // called, never simulated
		}
		res := r.simResource(a.String(), rs)
		ok := false
		for _, pattern := range granted[a.String()] {
			if globMatch(pattern, res) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s is simulated on %q, which the policy's %v does not cover", a, res, granted[a.String()])
		}
	}
}

// globMatch is IAM's Resource matching: * matches any run of characters.
func globMatch(pattern, s string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
	return regexp.MustCompile(re).MatchString(s)
}

// TestWatchResourcesAreSimulatedOnTheGivenQueueAndTopic: with the queue
// and topic of the watch, their ARNs are what is simulated.
func TestWatchResourcesAreSimulatedOnTheGivenQueueAndTopic(t *testing.T) {
	r := &run{report: Report{Identity: Identity{Account: "111122223333", Partition: "aws"}}, opts: Options{
		EventQueueARN: "arn:aws:sqs:eu-west-1:111122223333:secops-events", AlertTopicARN: "arn:aws:sns:eu-west-1:111122223333:secops"}}
	rs := &regionState{region: "eu-west-1"}
	if got := r.simResource("sqs:ReceiveMessage", rs); got != r.opts.EventQueueARN {
		t.Errorf("sqs:ReceiveMessage simulated on %s, want %s", got, r.opts.EventQueueARN)
	}
	if got := r.simResource("sns:Publish", rs); got != r.opts.AlertTopicARN {
		t.Errorf("sns:Publish simulated on %s, want %s", got, r.opts.AlertTopicARN)
	}
}
