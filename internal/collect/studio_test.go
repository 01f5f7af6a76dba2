package collect

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

func domainARN(id string) string { return "arn:aws:sagemaker:" + region + ":" + acct + ":domain/" + id }

// vpcDomain is a VpcOnly domain in vpc-d with subnets subnet-d1 and
// subnet-d2, default user group sg-du and default space group sg-ds, a
// profile "alice" with its own group sg-alice, a profile "bob" without
// one, a shared space and a private one, and two apps.
func vpcDomain(id string) fakeDomain {
	return fakeDomain{
		desc: &sagemaker.DescribeDomainOutput{
			DomainId: aws.String(id), DomainName: aws.String("name-" + id), DomainArn: aws.String(domainARN(id)),
			Status: smtypes.DomainStatusInService, AppNetworkAccessType: smtypes.AppNetworkAccessTypeVpcOnly,
			VpcId: aws.String("vpc-d"), SubnetIds: []string{"subnet-d1", "subnet-d2"},
			DefaultUserSettings:              &smtypes.UserSettings{SecurityGroups: []string{"sg-du"}, ExecutionRole: aws.String("arn:aws:iam::" + acct + ":role/studio")},
			DefaultSpaceSettings:             &smtypes.DefaultSpaceSettings{SecurityGroups: []string{"sg-ds"}},
			DomainSettings:                   &smtypes.DomainSettings{SecurityGroupIds: []string{"sg-dom"}, IpAddressType: smtypes.IPAddressTypeIpv4},
			SecurityGroupIdForDomainBoundary: aws.String("sg-boundary"),
			AuthMode:                         smtypes.AuthModeIam,
		},
		profiles: []*sagemaker.DescribeUserProfileOutput{
			{UserProfileName: aws.String("alice"), UserProfileArn: aws.String("arn:aws:sagemaker:" + region + ":" + acct + ":user-profile/" + id + "/alice"),
				Status: smtypes.UserProfileStatusInService, UserSettings: &smtypes.UserSettings{SecurityGroups: []string{"sg-alice"}}},
			{UserProfileName: aws.String("bob"), Status: smtypes.UserProfileStatusInService},
		},
		spaces: []smtypes.SpaceDetails{
			{SpaceName: aws.String("team"), Status: smtypes.SpaceStatusInService,
				SpaceSharingSettingsSummary: &smtypes.SpaceSharingSettingsSummary{SharingType: smtypes.SharingTypeShared},
				OwnershipSettingsSummary:    &smtypes.OwnershipSettingsSummary{OwnerUserProfileName: aws.String("alice")},
				SpaceSettingsSummary:        &smtypes.SpaceSettingsSummary{AppType: smtypes.AppTypeJupyterLab}},
			{SpaceName: aws.String("alice-private"), SpaceSharingSettingsSummary: &smtypes.SpaceSharingSettingsSummary{SharingType: smtypes.SharingTypePrivate}},
		},
		apps: []smtypes.AppDetails{
			{DomainId: aws.String(id), SpaceName: aws.String("team"), AppType: smtypes.AppTypeJupyterLab, AppName: aws.String("default"), Status: smtypes.AppStatusInService,
				ResourceSpec: &smtypes.ResourceSpec{InstanceType: smtypes.AppInstanceTypeMlT3Medium}},
			{DomainId: aws.String(id), UserProfileName: aws.String("bob"), AppType: smtypes.AppTypeJupyterServer, AppName: aws.String("default"), Status: smtypes.AppStatusDeleted},
		},
	}
}

// studioEC2 holds the network of vpcDomain.
func studioEC2() *fakeEC2 {
	return &fakeEC2{
		vpcs: []ec2types.Vpc{{VpcId: aws.String("vpc-d"), CidrBlock: aws.String("10.9.0.0/16")}},
		subnets: []ec2types.Subnet{
			{SubnetId: aws.String("subnet-d1"), VpcId: aws.String("vpc-d")},
			{SubnetId: aws.String("subnet-d2"), VpcId: aws.String("vpc-d")},
		},
		groups: []ec2types.SecurityGroup{
			{GroupId: aws.String("sg-du"), VpcId: aws.String("vpc-d")}, {GroupId: aws.String("sg-ds"), VpcId: aws.String("vpc-d")},
			{GroupId: aws.String("sg-dom"), VpcId: aws.String("vpc-d")}, {GroupId: aws.String("sg-alice"), VpcId: aws.String("vpc-d")},
		},
		tables: []ec2types.RouteTable{{RouteTableId: aws.String("rtb-d"), VpcId: aws.String("vpc-d"),
			Associations: []ec2types.RouteTableAssociation{{Main: aws.Bool(true)}}}},
	}
}

func TestCollectDomainReadsEverythingTheControlAndARemediationNeed(t *testing.T) {
	sm := &fakeSageMaker{domains: []fakeDomain{vpcDomain("d-1")}, tags: map[string][]smtypes.Tag{domainARN("d-1"): {{Key: aws.String("team"), Value: aws.String("ml")}}}}
	ec := studioEC2()
	r := Region(context.Background(), sm, ec, acct, region, Options{})
	if len(r.Errors) != 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	if len(r.StudioDomains) != 1 {
		t.Fatalf("domains = %+v", r.StudioDomains)
	}
	d := r.StudioDomains[0]
	if d.Error != nil || len(d.Errors) != 0 {
		t.Fatalf("domain errors: %+v %+v", d.Error, d.Errors)
	}
	if d.Name != "name-d-1" || d.ARN != domainARN("d-1") || d.Status != "InService" || d.AppNetworkAccessType != "VpcOnly" || d.VPCID != "vpc-d" ||
		!slices.Equal(d.SubnetIDs, []string{"subnet-d1", "subnet-d2"}) || !slices.Equal(d.DefaultUserSecurityGroupIDs, []string{"sg-du"}) ||
		!slices.Equal(d.DefaultSpaceSecurityGroupIDs, []string{"sg-ds"}) || !slices.Equal(d.DomainSecurityGroupIDs, []string{"sg-dom"}) ||
		d.SecurityGroupIDForDomainBoundary != "sg-boundary" || d.AuthMode != "IAM" || d.IPAddressType != "ipv4" || d.Tags["team"] != "ml" ||
		d.DefaultExecutionRole == "" {
		t.Errorf("domain = %+v", d)
	}
	if len(d.UserProfiles) != 2 || d.UserProfiles[0].Name != "alice" || !slices.Equal(d.UserProfiles[0].SecurityGroupIDs, []string{"sg-alice"}) ||
		d.UserProfiles[0].ARN == "" || d.UserProfiles[1].Name != "bob" || len(d.UserProfiles[1].SecurityGroupIDs) != 0 {
		t.Errorf("profiles = %+v", d.UserProfiles)
	}
	if len(d.Spaces) != 2 || d.Spaces[1].Name != "team" || d.Spaces[1].SharingType != "Shared" || d.Spaces[1].OwnerUserProfileName != "alice" ||
		d.Spaces[1].AppType != "JupyterLab" || d.Spaces[1].ARN != "arn:aws:sagemaker:"+region+":"+acct+":space/d-1/team" || d.Spaces[0].SharingType != "Private" {
		t.Errorf("spaces = %+v", d.Spaces)
	}
	if len(d.Apps) != 2 || d.Apps[0].SpaceName != "team" || d.Apps[0].InstanceType != "ml.t3.medium" || d.Apps[1].UserProfileName != "bob" || d.Apps[1].Status != "Deleted" {
		t.Errorf("apps = %+v", d.Apps)
	}
	// The domain's network is read in the region's EC2 batch: its
	// subnets and every group its apps may carry, and its VPC whole.
	if len(r.Subnets) != 2 || !slices.Contains(r.Coverage.VPCs, "vpc-d") || len(r.RouteTables) != 1 {
		t.Errorf("network: subnets %+v, coverage %+v, route tables %+v", r.Subnets, r.Coverage, r.RouteTables)
	}
	var groups []string
	for _, g := range r.SecurityGroups {
		groups = append(groups, g.ID)
	}
	if want := []string{"sg-alice", "sg-dom", "sg-ds", "sg-du"}; !slices.Equal(groups, want) {
		t.Errorf("security groups read = %v, want %v", groups, want)
	}
	if n := sm.called("DescribeUserProfile"); n != 2 {
		t.Errorf("%d DescribeUserProfile calls, want one per profile", n)
	}
}

// TestPublicDomainNetworkIsRead: a PublicInternetOnly domain's VPC does
// not carry its apps' internet traffic, but plan --fix studio-vpc-only
// judges the subnets and endpoints the domain would use once VpcOnly (a
// NAT route, private subnets, interface endpoints): they are read, in the
// region's one EC2 batch.
func TestPublicDomainNetworkIsRead(t *testing.T) {
	d := vpcDomain("d-pub")
	d.desc.AppNetworkAccessType = smtypes.AppNetworkAccessTypePublicInternetOnly
	sm := &fakeSageMaker{domains: []fakeDomain{d}}
	ec := studioEC2()
	r := Region(context.Background(), sm, ec, acct, region, Options{})
	if len(r.StudioDomains) != 1 || r.StudioDomains[0].AppNetworkAccessType != "PublicInternetOnly" {
		t.Fatalf("domains = %+v", r.StudioDomains)
	}
	if len(r.Subnets) == 0 || len(r.RouteTables) == 0 || !slices.Contains(r.Coverage.VPCs, r.StudioDomains[0].VPCID) {
		t.Errorf("subnets %d, route tables %d, coverage %v: the domain's VPC was not read", len(r.Subnets), len(r.RouteTables), r.Coverage)
	}
}

func TestCollectResourcesSelectsWhatIsRead(t *testing.T) {
	cases := []struct {
		name                   string
		resources              []string
		wantNotebooks, wantDom bool
	}{
		{"default reads both", nil, true, true},
		{"notebook instances only", []string{inventory.ResourceNotebookInstances}, true, false},
		{"studio domains only", []string{inventory.ResourceStudioDomains}, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sm, ec := bigEstate(1)
			sm.domains = []fakeDomain{vpcDomain("d-1")}
			r := Region(context.Background(), sm, ec, acct, region, Options{Resources: c.resources})
			if got := sm.called("ListNotebookInstances") > 0; got != c.wantNotebooks || (len(r.Notebooks) > 0) != c.wantNotebooks {
				t.Errorf("notebooks listed = %v (%d), want %v", got, len(r.Notebooks), c.wantNotebooks)
			}
			if got := sm.called("ListDomains") > 0; got != c.wantDom || (len(r.StudioDomains) > 0) != c.wantDom {
				t.Errorf("domains listed = %v (%d), want %v", got, len(r.StudioDomains), c.wantDom)
			}
			if r.Notebooks == nil {
				t.Error("notebooks is nil: the inventory's notebooks field must stay a list")
			}
		})
	}
}

func TestDomainFailuresAreRecordedWhereTheyBelong(t *testing.T) {
	deny := denied("AccessDeniedException")
	cases := []struct {
		name  string
		errs  map[string]error
		check func(t *testing.T, r inventory.Region)
	}{
		{"ListDomains fails: region error, no domain", map[string]error{"ListDomains": deny}, func(t *testing.T, r inventory.Region) {
			if len(r.StudioDomains) != 0 || !hasRegionError(r, awsop.ListDomains) {
				t.Errorf("domains %+v errors %+v", r.StudioDomains, r.Errors)
			}
		}},
		{"DescribeDomain fails: the domain's error", map[string]error{"DescribeDomain/d-1": deny}, func(t *testing.T, r inventory.Region) {
			d := r.StudioDomains[0]
			if d.Error == nil || d.Error.Operation != awsop.DescribeDomain || d.Error.Resource != "d-1" || d.AppNetworkAccessType != "" || len(d.UserProfiles) != 0 {
				t.Errorf("domain = %+v", d)
			}
			if !slices.ContainsFunc(r.StudioDomains, func(d inventory.StudioDomain) bool { return d.ID == "d-2" && d.Error == nil }) {
				t.Errorf("the other domain was not read: %+v", r.StudioDomains)
			}
		}},
		{"ListTags fails: the domain's error", map[string]error{"ListTags/d-1": deny}, func(t *testing.T, r inventory.Region) {
			if d := r.StudioDomains[0]; d.Error == nil || d.Error.Operation != awsop.ListTags {
				t.Errorf("domain = %+v", d)
			}
		}},
		{"ListUserProfiles fails: on the domain, no partial list", map[string]error{"ListUserProfiles/d-1": deny}, func(t *testing.T, r inventory.Region) {
			d := r.StudioDomains[0]
			if d.Error != nil || len(d.Errors) != 1 || d.Errors[0].Operation != awsop.ListUserProfiles || len(d.UserProfiles) != 0 || len(d.Spaces) != 2 {
				t.Errorf("domain = %+v", d)
			}
		}},
		{"ListSpaces and ListApps fail: on the domain", map[string]error{"ListSpaces/d-1": deny, "ListApps/d-1": deny}, func(t *testing.T, r inventory.Region) {
			d := r.StudioDomains[0]
			if len(d.Errors) != 2 || d.Errors[0].Operation != awsop.ListSpaces || d.Errors[1].Operation != awsop.ListApps {
				t.Errorf("domain errors = %+v", d.Errors)
			}
		}},
		{"DescribeUserProfile fails: the profile's error", map[string]error{"DescribeUserProfile/d-1/alice": deny}, func(t *testing.T, r inventory.Region) {
			p := r.StudioDomains[0].UserProfiles[0]
			if p.Error == nil || p.Error.Resource != "d-1/alice" || p.Error.Operation != awsop.DescribeUserProfile {
				t.Errorf("profile = %+v", p)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sm := &fakeSageMaker{domains: []fakeDomain{vpcDomain("d-1"), vpcDomain("d-2")}, errs: c.errs}
			c.check(t, Region(context.Background(), sm, studioEC2(), acct, region, Options{}))
		})
	}
}

func hasRegionError(r inventory.Region, op string) bool {
	return slices.ContainsFunc(r.Errors, func(e inventory.CollectError) bool { return e.Operation == op && e.Resource == "" })
}

// TestStudioListingsArePaginated: more domains, profiles, spaces and apps
// than one page holds are all read.
func TestStudioListingsArePaginated(t *testing.T) {
	var domains []fakeDomain
	for i := range 130 {
		domains = append(domains, fakeDomain{desc: &sagemaker.DescribeDomainOutput{DomainId: aws.String(fmt.Sprintf("d-%03d", i)),
			DomainArn: aws.String(domainARN(fmt.Sprintf("d-%03d", i))), AppNetworkAccessType: smtypes.AppNetworkAccessTypePublicInternetOnly}})
	}
	for i := range 250 {
		name := fmt.Sprintf("u%03d", i)
		domains[0].profiles = append(domains[0].profiles, &sagemaker.DescribeUserProfileOutput{UserProfileName: aws.String(name)})
		domains[0].spaces = append(domains[0].spaces, smtypes.SpaceDetails{SpaceName: aws.String(name)})
		domains[0].apps = append(domains[0].apps, smtypes.AppDetails{AppName: aws.String(name), AppType: smtypes.AppTypeJupyterLab, SpaceName: aws.String(name)})
	}
	sm := &fakeSageMaker{domains: domains}
	r := Region(context.Background(), sm, &fakeEC2{}, acct, region, Options{Resources: []string{inventory.ResourceStudioDomains}})
	d := r.StudioDomains[0]
	if len(r.StudioDomains) != 130 || len(d.UserProfiles) != 250 || len(d.Spaces) != 250 || len(d.Apps) != 250 {
		t.Errorf("read %d domains, %d profiles, %d spaces, %d apps; want 130, 250, 250, 250", len(r.StudioDomains), len(d.UserProfiles), len(d.Spaces), len(d.Apps))
	}
	if n := sm.called("ListDomains"); n != 2 {
		t.Errorf("%d ListDomains calls, want 2 pages", n)
	}
	if n := sm.called("ListUserProfiles"); n != 3+129 {
		t.Errorf("%d ListUserProfiles calls, want 3 pages for d-000 and one for each other domain", n)
	}
}
