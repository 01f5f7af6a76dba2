package remediate

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
)

const (
	acct   = "123456789012"
	region = "us-east-1"
)

// fixture is a small estate: a VPC with a public subnet (holding the NAT
// gateway), a NAT subnet and two private subnets, one network ACL that
// allows everything; nb-direct has direct internet access in the public
// subnet, nb-egress reaches the internet through the NAT with egress to
// 0.0.0.0/0.
func fixture() *inventory.Inventory {
	egress := []inventory.SGRule{
		{Protocol: "-1", CIDRs: []string{"0.0.0.0/0"}},
		{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"0.0.0.0/0", "10.9.0.0/16"},
			Descriptions: map[string]string{"0.0.0.0/0": "https out", "10.9.0.0/16": "partner"}},
		{Protocol: "tcp", FromPort: 5432, ToPort: 5432, SourceGroupIDs: []string{"sg-db"}},
	}
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	return &inventory.Inventory{
		SchemaVersion: inventory.SchemaVersion,
		CollectedAt:   time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Regions: []inventory.Region{{
			AccountID: acct, Region: region,
			Notebooks: []inventory.Notebook{
				{
					Name: "nb-direct", ARN: "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb-direct",
					Status: "InService", DirectInternetAccess: "Enabled", SubnetID: "subnet-pub",
					SecurityGroupIDs: []string{"sg-nb"}, IPAddressType: "ipv4", RootAccess: "Disabled",
					InstanceType: "ml.t3.medium", RoleARN: "arn:aws:iam::123456789012:role/nb", KMSKeyID: "key-1",
					VolumeSizeInGB: 20, LifecycleConfigName: "setup", DefaultCodeRepository: "repo",
					AdditionalCodeRepositories: []string{"repo2"}, PlatformIdentifier: "notebook-al2-v2",
					MinimumIMDSVersion: "2", AcceleratorTypes: []string{"ml.eia2.medium"}, CreationTime: &created,
					Tags: map[string]string{"team": "ml", "aws:cloudformation:stack-name": "s", "sagefence:run-id": "old"},
				},
				{
					Name: "nb-egress", ARN: "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb-egress",
					Status: "InService", DirectInternetAccess: "Disabled", SubnetID: "subnet-nat",
					SecurityGroupIDs: []string{"sg-nb"}, NetworkInterfaceID: "eni-nb-egress", InstanceType: "ml.t3.medium",
					RoleARN: "arn:aws:iam::123456789012:role/nb",
				},
			},
			VPCs: []inventory.VPC{{ID: "vpc-1", CIDRBlocks: []string{"10.0.0.0/16"}}},
			Subnets: []inventory.Subnet{
				{ID: "subnet-pub", VPCID: "vpc-1", CIDRBlock: "10.0.0.0/24", AvailabilityZone: "us-east-1a", MapPublicIPOnLaunch: true},
				{ID: "subnet-nat", VPCID: "vpc-1", CIDRBlock: "10.0.3.0/24", AvailabilityZone: "us-east-1b"},
				{ID: "subnet-0b", VPCID: "vpc-1", CIDRBlock: "10.0.2.0/24", AvailabilityZone: "us-east-1b"},
				{ID: "subnet-a1", VPCID: "vpc-1", CIDRBlock: "10.0.1.0/24", AvailabilityZone: "us-east-1a"},
			},
			RouteTables: []inventory.RouteTable{
				{ID: "rtb-main", VPCID: "vpc-1", Main: true, Routes: []inventory.Route{{DestinationCIDR: "10.0.0.0/16", GatewayID: "local", State: "active"}}},
				{ID: "rtb-pub", VPCID: "vpc-1", SubnetIDs: []string{"subnet-pub"}, Routes: []inventory.Route{
					{DestinationCIDR: "10.0.0.0/16", GatewayID: "local", State: "active"},
					{DestinationCIDR: "0.0.0.0/0", GatewayID: "igw-1", State: "active"}}},
				{ID: "rtb-nat", VPCID: "vpc-1", SubnetIDs: []string{"subnet-nat"}, Routes: []inventory.Route{
					{DestinationCIDR: "10.0.0.0/16", GatewayID: "local", State: "active"},
					{DestinationCIDR: "0.0.0.0/0", NATGatewayID: "nat-1", State: "active"}}},
			},
			NATGateways:      []inventory.NATGateway{{ID: "nat-1", VPCID: "vpc-1", SubnetID: "subnet-pub", State: "available", ConnectivityType: "public"}},
			InternetGateways: []inventory.InternetGateway{{ID: "igw-1", VPCIDs: []string{"vpc-1"}, Attachments: []inventory.GatewayAttachment{{VPCID: "vpc-1", State: "available"}}}},
			NetworkACLs: []inventory.NetworkACL{{ID: "acl-1", VPCID: "vpc-1", Default: true,
				SubnetIDs: []string{"subnet-pub", "subnet-nat", "subnet-0b", "subnet-a1"},
				Entries: []inventory.ACLEntry{
					{RuleNumber: 100, Egress: true, Protocol: "-1", Action: "allow", CIDR: "0.0.0.0/0"},
					{RuleNumber: 100, Protocol: "-1", Action: "allow", CIDR: "0.0.0.0/0"},
				}}},
			SecurityGroups: []inventory.SecurityGroup{
				{ID: "sg-nb", Name: "notebooks", VPCID: "vpc-1", Egress: egress},
				{ID: "sg-db", Name: "db", VPCID: "vpc-1"},
			},
			NetworkInterfaces: []inventory.NetworkInterface{
				{ID: "eni-nb-egress", SubnetID: "subnet-nat", SecurityGroupIDs: []string{"sg-nb"}},
				{ID: "eni-web", SubnetID: "subnet-pub", SecurityGroupIDs: []string{"sg-web"}, Description: "web server"},
			},
		}},
	}
}

func result(name, status string, checks ...finding.Check) finding.Result {
	return finding.Result{
		ControlID: finding.ControlID, AccountID: acct, Region: region, Status: finding.Status(status),
		Resource: finding.Resource{Type: finding.ResourceType, Name: name,
			ARN: "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/" + name},
		Checks: checks,
	}
}

func fail(id string) finding.Check { return finding.Check{ID: id, Status: finding.StatusFail} }
func pass(id string) finding.Check { return finding.Check{ID: id, Status: finding.StatusPass} }

func fixtureReport() *finding.Report {
	return &finding.Report{Results: []finding.Result{
		result("nb-egress", "FAIL", pass(checkDirect), fail(checkEgress), pass(checkPublicSubnet)),
		result("nb-direct", "FAIL", fail(checkDirect), fail(checkPublicSubnet), fail(checkOpenIngress)),
	}}
}

func mustPlan(t *testing.T, inv *inventory.Inventory, rep *finding.Report, opts PlanOptions) *Plan {
	t.Helper()
	p, err := BuildPlan(context.Background(), inv, rep, opts)
	if err != nil {
		t.Fatalf("BuildPlan: %v", err)
	}
	return p
}

func actionOf(t *testing.T, p *Plan, kind ActionKind) *Action {
	t.Helper()
	for i := range p.Actions {
		if p.Actions[i].Kind == kind {
			return &p.Actions[i]
		}
	}
	t.Fatalf("plan has no %s action; actions: %+v", kind, p.Actions)
	return nil
}

func TestBuildPlanMapsEachFailingCheckToItsAction(t *testing.T) {
	p := mustPlan(t, fixture(), fixtureReport(), PlanOptions{})
	var got []string
	for _, a := range p.Actions {
		got = append(got, string(a.Kind)+" "+a.Resource+" "+strings.Join(a.Notebooks, ","))
	}
	want := []string{
		"restrict-sg-egress sg-nb nb-egress",
		"disable-public-ip-on-launch subnet-pub nb-direct",
		"recreate-notebook nb-direct nb-direct",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if !strings.Contains(strings.Join(p.Notes, "\n"), "open-ingress has no automated fix") {
		t.Errorf("notes do not mention the unfixable open-ingress: %q", p.Notes)
	}
}

func TestBuildPlanIsDeterministicAndHashed(t *testing.T) {
	var outs [2]bytes.Buffer
	for i := range outs {
		p := mustPlan(t, fixture(), fixtureReport(), PlanOptions{AllowShared: true})
		if err := p.Encode(&outs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(outs[0].Bytes(), outs[1].Bytes()) {
		t.Fatalf("two plans from the same inputs differ:\n%s\n---\n%s", outs[0].String(), outs[1].String())
	}
	p, err := ReadPlan(bytes.NewReader(outs[0].Bytes()))
	if err != nil {
		t.Fatalf("ReadPlan of an encoded plan: %v", err)
	}
	if p.SchemaVersion != PlanSchemaVersion || len(p.Hash) != 64 {
		t.Errorf("schema %q hash %q", p.SchemaVersion, p.Hash)
	}
	edited := bytes.Replace(outs[0].Bytes(), []byte(`"10.0.0.0/16"`), []byte(`"10.0.0.0/8"`), 1)
	if _, err := ReadPlan(bytes.NewReader(edited)); err == nil || !strings.Contains(err.Error(), "hash mismatch") {
		t.Errorf("ReadPlan of an edited plan: err = %v, want a hash mismatch", err)
	}
}

func TestRecreateCopiesEverySettingAndNetworkOnlyChanges(t *testing.T) {
	p := mustPlan(t, fixture(), fixtureReport(), PlanOptions{Fixes: []Fix{FixDirect}})
	a := actionOf(t, p, ActionRecreateNotebook)
	if a.Blocked != "" {
		t.Fatalf("blocked: %s", a.Blocked)
	}
	want := &NotebookState{
		Name: "nb-direct-private", Status: "InService", DirectInternetAccess: "Disabled", SubnetID: "subnet-a1",
		SecurityGroupIDs: []string{"sg-nb"}, InstanceType: "ml.t3.medium", RoleARN: "arn:aws:iam::123456789012:role/nb",
		KMSKeyID: "key-1", VolumeSizeInGB: 20, LifecycleConfigName: "setup", DefaultCodeRepository: "repo",
		AdditionalCodeRepositories: []string{"repo2"}, RootAccess: "Disabled", PlatformIdentifier: "notebook-al2-v2",
		MinimumIMDSVersion: "2", IPAddressType: "ipv4", AcceleratorTypes: []string{"ml.eia2.medium"},
		Tags: map[string]string{"team": "ml", TagReplaces: "nb-direct"},
	}
	if diff := cmp.Diff(want, a.Replacement); diff != "" {
		t.Errorf("replacement (-want +got):\n%s", diff)
	}
	if a.TargetSubnetSource != "automatic" {
		t.Errorf("target subnet source = %q", a.TargetSubnetSource)
	}
	if got := a.After.Notebook; got.Status != "Stopped" || got.Tags[TagReplacedBy] != "nb-direct-private" {
		t.Errorf("after-state of the old notebook = %+v, want Stopped and tagged", got)
	}
	if !strings.Contains(strings.Join(a.Warnings, "\n"), "aws:cloudformation:stack-name") {
		t.Errorf("warnings do not mention the aws: tag that cannot be copied: %q", a.Warnings)
	}
}

func TestRecreateHonoursTargetSubnetGroupsAndName(t *testing.T) {
	inv := fixture()
	inv.Regions[0].SecurityGroups = append(inv.Regions[0].SecurityGroups, inventory.SecurityGroup{ID: "sg-private", VPCID: "vpc-1"})
	p := mustPlan(t, inv, fixtureReport(), PlanOptions{Fixes: []Fix{FixDirect}, TargetSubnet: "subnet-0b",
		TargetSecurityGroups: []string{"sg-private"}, NewNames: map[string]string{"nb-direct": "nb-new"}})
	a := actionOf(t, p, ActionRecreateNotebook)
	r := a.Replacement
	if r.Name != "nb-new" || r.SubnetID != "subnet-0b" || strings.Join(r.SecurityGroupIDs, ",") != "sg-private" ||
		a.TargetSubnetSource != "option" || a.Blocked != "" {
		t.Errorf("replacement %+v source %q blocked %q", r, a.TargetSubnetSource, a.Blocked)
	}
}

func TestRecreateIsBlockedWithoutAPrivateSubnet(t *testing.T) {
	inv := fixture()
	reg := &inv.Regions[0]
	// Every other subnet becomes public.
	reg.RouteTables[0].Routes = append(reg.RouteTables[0].Routes, inventory.Route{DestinationCIDR: "0.0.0.0/0", GatewayID: "igw-1", State: "active"})
	reg.RouteTables[2].Routes = append(reg.RouteTables[2].Routes, inventory.Route{DestinationIPv6CIDR: "::/0", GatewayID: "igw-1", State: "active"})
	a := actionOf(t, mustPlan(t, inv, fixtureReport(), PlanOptions{Fixes: []Fix{FixDirect}}), ActionRecreateNotebook)
	if !strings.Contains(a.Blocked, "no private subnet") || !strings.Contains(a.Blocked, "vpc-1") {
		t.Errorf("Blocked = %q, want it to say no private subnet was found in vpc-1", a.Blocked)
	}
}

func TestRecreateStatesWhatHappensToTheData(t *testing.T) {
	a := actionOf(t, mustPlan(t, fixture(), fixtureReport(), PlanOptions{Fixes: []Fix{FixDirect}}), ActionRecreateNotebook)
	if a.Data.Mode != DataStaysOnOldNotebook || !strings.Contains(a.Data.Statement, "NOT copied") ||
		!strings.Contains(a.Data.Statement, "stay on the stopped notebook nb-direct") {
		t.Errorf("without a bucket: %+v", a.Data)
	}
	a = actionOf(t, mustPlan(t, fixture(), fixtureReport(), PlanOptions{Fixes: []Fix{FixDirect}, BackupBucket: "s3://bk-bucket/migrations/"}), ActionRecreateNotebook)
	want := &DataPlan{Mode: DataCopiedThroughS3, Bucket: "bk-bucket", Prefix: "migrations",
		DataURI: "s3://bk-bucket/migrations/nb-direct/", MetaURI: "s3://bk-bucket/migrations/nb-direct.sagefence/"}
	got := *a.Data
	got.Statement = ""
	if diff := cmp.Diff(want, &got); diff != "" {
		t.Errorf("with a bucket (-want +got):\n%s", diff)
	}
	// Only the NAT subnet reaches S3, so the restore can work there; the plan
	// says the replacement will then fail the egress check.
	if a.Replacement.SubnetID != "subnet-nat" || !strings.Contains(strings.Join(a.Warnings, "\n"), "will fail internet-egress-path") {
		t.Errorf("with a bucket: subnet %s, warnings %q", a.Replacement.SubnetID, a.Warnings)
	}
	inv := fixture()
	inv.Regions[0].RouteTables[2].Routes = inv.Regions[0].RouteTables[2].Routes[:1] // no NAT: nothing reaches S3
	a = actionOf(t, mustPlan(t, inv, fixtureReport(), PlanOptions{Fixes: []Fix{FixDirect}, BackupBucket: "s3://bk-bucket"}), ActionRecreateNotebook)
	if !strings.Contains(strings.Join(a.Warnings, "\n"), "neither an S3 VPC endpoint") {
		t.Errorf("warnings %q do not say the private subnet cannot reach S3", a.Warnings)
	}
	inv.Regions[0].VPCEndpoints = []inventory.VPCEndpoint{{ID: "vpce-1", VPCID: "vpc-1", Type: "Gateway", ServiceName: "com.amazonaws.us-east-1.s3"}}
	a = actionOf(t, mustPlan(t, inv, fixtureReport(), PlanOptions{Fixes: []Fix{FixDirect}, BackupBucket: "s3://bk-bucket"}), ActionRecreateNotebook)
	if strings.Contains(strings.Join(a.Warnings, "\n"), "neither an S3 VPC endpoint") || a.Replacement.SubnetID != "subnet-a1" {
		t.Errorf("with an S3 endpoint: subnet %s, warnings %q", a.Replacement.SubnetID, a.Warnings)
	}
}

func TestRestrictEgressReplacesInternetRulesWithVPCCIDRsKeepingPorts(t *testing.T) {
	a := actionOf(t, mustPlan(t, fixture(), fixtureReport(), PlanOptions{Fixes: []Fix{FixEgress}, AllowShared: true}), ActionRestrictSGEgress)
	wantRevoke := []Rule{
		{Protocol: "-1", CIDR: "0.0.0.0/0"},
		{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: "0.0.0.0/0", Description: "https out"},
	}
	wantAuth := []Rule{
		{Protocol: "-1", CIDR: "10.0.0.0/16", Description: "sagefence: instead of 0.0.0.0/0"},
		{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: "10.0.0.0/16", Description: "sagefence: instead of 0.0.0.0/0"},
	}
	if diff := cmp.Diff(wantRevoke, a.Revoke); diff != "" {
		t.Errorf("revoke (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantAuth, a.Authorize); diff != "" {
		t.Errorf("authorize (-want +got):\n%s", diff)
	}
	for _, r := range a.After.SecurityGroup.Egress {
		if isWholeInternet(r) {
			t.Errorf("after-state still has %s", r)
		}
	}
	if len(a.After.SecurityGroup.Egress) != 4 { // partner CIDR, sg-db, and the two new rules
		t.Errorf("after-state egress = %v", a.After.SecurityGroup.Egress)
	}
}

func TestRestrictEgressUsesAllowEgress(t *testing.T) {
	a := actionOf(t, mustPlan(t, fixture(), fixtureReport(), PlanOptions{Fixes: []Fix{FixEgress}, AllowShared: true,
		AllowEgress: []string{"pl-12345", "192.168.1.7/16"}}), ActionRestrictSGEgress)
	var dests []string
	for _, r := range a.Authorize {
		dests = append(dests, r.Protocol+" "+r.Destination())
	}
	want := []string{"-1 192.168.0.0/16", "-1 pl-12345", "tcp 192.168.0.0/16", "tcp pl-12345"}
	if diff := cmp.Diff(want, dests); diff != "" {
		t.Errorf("authorized destinations (-want +got):\n%s", diff)
	}
}

func TestSharedGroupIsRefusedWithoutAllowShared(t *testing.T) {
	inv := fixture()
	reg := &inv.Regions[0]
	reg.NetworkInterfaces = append(reg.NetworkInterfaces,
		inventory.NetworkInterface{ID: "eni-batch", SecurityGroupIDs: []string{"sg-nb"}, Description: "batch"},
		inventory.NetworkInterface{ID: "eni-api", SecurityGroupIDs: []string{"sg-nb"}})
	a := actionOf(t, mustPlan(t, inv, fixtureReport(), PlanOptions{Fixes: []Fix{FixEgress}}), ActionRestrictSGEgress)
	br := a.BlastRadius
	// nb-direct uses sg-nb as well but is not part of this action.
	if !br.Shared || len(br.NetworkInterfaces) != 2 || strings.Join(br.Notebooks, ",") != "nb-direct" {
		t.Fatalf("blast radius = %+v, want 2 other interfaces and notebook nb-direct", br)
	}
	for _, want := range []string{"--allow-shared", "2 other network interface(s) (eni-api, eni-batch)", "1 other notebook(s) (nb-direct)"} {
		if !strings.Contains(a.Blocked, want) {
			t.Errorf("Blocked = %q, want it to contain %q", a.Blocked, want)
		}
	}
	if slicesContain(br.NetworkInterfaces, "eni-nb-egress") {
		t.Errorf("the notebook's own interface counts as another user: %+v", br.NetworkInterfaces)
	}
	a = actionOf(t, mustPlan(t, inv, fixtureReport(), PlanOptions{Fixes: []Fix{FixEgress}, AllowShared: true}), ActionRestrictSGEgress)
	if a.Blocked != "" {
		t.Errorf("with AllowShared: Blocked = %q", a.Blocked)
	}
}

func slicesContain(refs []InterfaceRef, id string) bool {
	for _, r := range refs {
		if r.ID == id {
			return true
		}
	}
	return false
}

// stubENIs answers DescribeNetworkInterfaces from a map keyed by "filter=value".
type stubENIs struct {
	byFilter map[string][]ec2types.NetworkInterface
	asked    []string
}

func (s *stubENIs) DescribeNetworkInterfaces(_ context.Context, in *ec2.DescribeNetworkInterfacesInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	key := aws.ToString(in.Filters[0].Name) + "=" + in.Filters[0].Values[0]
	s.asked = append(s.asked, key)
	return &ec2.DescribeNetworkInterfacesOutput{NetworkInterfaces: s.byFilter[key]}, nil
}

func TestBlastRadiusLooksUpInterfacesLive(t *testing.T) {
	stub := &stubENIs{byFilter: map[string][]ec2types.NetworkInterface{
		"group-id=sg-nb": {
			{NetworkInterfaceId: aws.String("eni-nb-egress")},
			{NetworkInterfaceId: aws.String("eni-lambda"), InterfaceType: ec2types.NetworkInterfaceTypeLambda, Description: aws.String("AWS Lambda VPC ENI")},
		},
		"subnet-id=subnet-pub": {{NetworkInterfaceId: aws.String("eni-web"), Attachment: &ec2types.NetworkInterfaceAttachment{InstanceId: aws.String("i-1")}}},
	}}
	opts := PlanOptions{Interfaces: func(context.Context, string, string) (NetworkInterfacesAPI, error) { return stub, nil }}
	p := mustPlan(t, fixture(), fixtureReport(), opts)
	sg := actionOf(t, p, ActionRestrictSGEgress)
	if sg.BlastRadius.Source != "DescribeNetworkInterfaces" || len(sg.BlastRadius.NetworkInterfaces) != 1 ||
		sg.BlastRadius.NetworkInterfaces[0].Type != "lambda" || !strings.Contains(sg.Blocked, "eni-lambda") {
		t.Errorf("sg blast radius %+v blocked %q", sg.BlastRadius, sg.Blocked)
	}
	if got := sg.BlastRadius.OwnInterfaces; len(got) != 1 || got[0] != "eni-nb-egress" {
		t.Errorf("own interfaces = %v", got)
	}
	sub := actionOf(t, p, ActionDisablePublicIP)
	if len(sub.BlastRadius.NetworkInterfaces) != 1 || sub.BlastRadius.NetworkInterfaces[0].InstanceID != "i-1" ||
		!strings.Contains(sub.BlastRadius.Summary, "eni-web") {
		t.Errorf("subnet blast radius %+v", sub.BlastRadius)
	}
	if diff := cmp.Diff([]string{"subnet-id=subnet-pub", "group-id=sg-nb"}, stub.asked); diff != "" {
		t.Errorf("lookups (-want +got):\n%s", diff)
	}
}

func TestFixSelectionLeavesOtherChecksAsNotes(t *testing.T) {
	p := mustPlan(t, fixture(), fixtureReport(), PlanOptions{Fixes: []Fix{FixPublicSubnet}})
	if len(p.Actions) != 1 || p.Actions[0].Kind != ActionDisablePublicIP {
		t.Fatalf("actions = %+v, want only disable-public-ip-on-launch", p.Actions)
	}
	notes := strings.Join(p.Notes, "\n")
	for _, want := range []string{"--fix does not include direct", "--fix does not include egress"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
}

func TestOnlyFailResultsArePlanned(t *testing.T) {
	rep := &finding.Report{Results: []finding.Result{
		result("nb-direct", "ERROR", fail(checkDirect)),
		result("nb-egress", "MUTED", fail(checkEgress)),
	}}
	p := mustPlan(t, fixture(), rep, PlanOptions{})
	if len(p.Actions) != 0 {
		t.Errorf("actions = %+v, want none", p.Actions)
	}
	if !strings.Contains(strings.Join(p.Notes, "\n"), "nb-direct (123456789012/us-east-1) could not be evaluated") {
		t.Errorf("notes %q do not mention the ERROR result", p.Notes)
	}
}

// TestStudioResultsAreNotPlannedAsNotebooks: a failing Studio domain that
// shares a notebook's name must not have the notebook's fixes planned
// for it.
func TestStudioResultsAreNotPlannedAsNotebooks(t *testing.T) {
	domain := result("nb-egress", "FAIL", fail(checkEgress))
	domain.ControlID, domain.Resource.Type = finding.ControlIDStudio, finding.ResourceTypeDomain
	p := mustPlan(t, fixture(), &finding.Report{Results: []finding.Result{domain}}, PlanOptions{})
	if len(p.Actions) != 0 || len(p.Notes) != 0 {
		t.Errorf("actions %+v, notes %q: want none for a Studio domain", p.Actions, p.Notes)
	}
}

func TestPlanJSONHasTheContractFields(t *testing.T) {
	var buf bytes.Buffer
	if err := mustPlan(t, fixture(), fixtureReport(), PlanOptions{}).Encode(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema_version", "actions", "hash", "settings"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("plan JSON lacks %q", k)
		}
	}
	a := doc["actions"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "action", "resource", "before", "after", "blast_radius", "summary"} {
		if _, ok := a[k]; !ok {
			t.Errorf("action JSON lacks %q", k)
		}
	}
}

func TestParseFixes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Fix
		err  bool
	}{
		{in: "", want: []Fix{FixDirect, FixEgress, FixPublicSubnet}}, // studio-vpc-only is asked for by name
		{in: "direct, egress,direct", want: []Fix{FixDirect, FixEgress}},
		{in: "public-subnet", want: []Fix{FixPublicSubnet}},
		{in: "studio-vpc-only,direct", want: []Fix{FixStudioVPCOnly, FixDirect}},
		{in: "ingress", err: true},
		{in: "studio", err: true},
	} {
		got, err := ParseFixes(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseFixes(%q) err = %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseFixes(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestInvalidOptionsAreRefused(t *testing.T) {
	for name, opts := range map[string]PlanOptions{
		"allow the whole internet": {AllowEgress: []string{"0.0.0.0/0"}},
		"allow garbage":            {AllowEgress: []string{"example.com"}},
		"bucket without scheme":    {BackupBucket: "bucket/prefix"},
		"bad bucket name":          {BackupBucket: "s3://B_/x"},
		"bad new name":             {NewNames: map[string]string{"nb-direct": "has_underscore"}},
	} {
		if _, err := BuildPlan(context.Background(), fixture(), fixtureReport(), opts); err == nil {
			t.Errorf("%s: BuildPlan accepted %+v", name, opts)
		}
	}
}

// TestCentralEgressIsNamedOnTheLocalFix: when a notebook reaches the
// internet through a transit gateway and a NAT gateway elsewhere, the
// security-group fix is the local remedy and says where the NAT is.
func TestCentralEgressIsNamedOnTheLocalFix(t *testing.T) {
	rep := fixtureReport()
	rep.Results[0].Hops = []finding.Hop{
		{Kind: "route-table", ResourceID: "rtb-nat", AccountID: acct, Region: region, Decision: "0.0.0.0/0 -> tgw-1 (tgw)"},
		{Kind: "transit-gateway-attachment", ResourceID: "tgw-attach-spoke", AccountID: acct, Region: region},
		{Kind: "transit-gateway-route-table", ResourceID: "tgw-rtb-spoke", AccountID: "222233334444", Region: region},
		{Kind: "nat-gateway", ResourceID: "nat-egress", AccountID: "222233334444", Region: region},
		{Kind: "internet-gateway", ResourceID: "igw-egress", AccountID: "222233334444", Region: region},
		{Kind: "end", Decision: "internet"},
	}
	a := actionOf(t, mustPlan(t, fixture(), rep, PlanOptions{}), ActionRestrictSGEgress)
	w := strings.Join(a.Warnings, "\n")
	if !strings.Contains(w, "nat gateway nat-egress (account 222233334444, us-east-1) via transit gateway attachment tgw-attach-spoke") {
		t.Errorf("warnings do not name the central NAT: %q", a.Warnings)
	}
	local := actionOf(t, mustPlan(t, fixture(), fixtureReport(), PlanOptions{}), ActionRestrictSGEgress)
	if strings.Contains(strings.Join(local.Warnings, "\n"), "central") {
		t.Errorf("a local NAT path is called central: %q", local.Warnings)
	}
}

// TestAGroupAStudioDomainGivesItsAppsIsShared: a notebook's security group
// that a Studio domain (or a user profile) gives its apps is shared even
// when no app runs (no interface to count): changing it changes every app
// the domain starts.
func TestAGroupAStudioDomainGivesItsAppsIsShared(t *testing.T) {
	for _, c := range []struct {
		name   string
		domain inventory.StudioDomain
		want   string
	}{
		{"default user settings", inventory.StudioDomain{ID: "d-1", Name: "research", DefaultUserSecurityGroupIDs: []string{"sg-nb"}}, "research"},
		{"a user profile's own groups", inventory.StudioDomain{ID: "d-2", Name: "clinical", DefaultUserSecurityGroupIDs: []string{"sg-other"},
			UserProfiles: []inventory.StudioUserProfile{{Name: "bob", SecurityGroupIDs: []string{"sg-nb"}}}}, "clinical/bob"},
	} {
		t.Run(c.name, func(t *testing.T) {
			inv := fixture()
			inv.Regions[0].StudioDomains = []inventory.StudioDomain{c.domain}
			a := actionOf(t, mustPlan(t, inv, fixtureReport(), PlanOptions{Fixes: []Fix{FixEgress}}), ActionRestrictSGEgress)
			if br := a.BlastRadius; !br.Shared || !slices.Equal(br.StudioDomains, []string{c.want}) {
				t.Fatalf("blast radius = %+v, want shared with Studio %s", br, c.want)
			}
			if !strings.Contains(a.Blocked, "--allow-shared") || !strings.Contains(a.Blocked, "Studio domain(s) "+c.want) {
				t.Errorf("Blocked = %q, want it to name Studio %s and --allow-shared", a.Blocked, c.want)
			}
		})
	}
}
