package testenv

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// TestMotoStudioGaps pins what moto 5.2 does and does not emulate of
// Studio, so that a moto upgrade that changes it is noticed: domains with
// their network settings are emulated; user profiles, spaces and apps are
// not (sagefence's tests answer them through MotoStudioAnswers).
func TestMotoStudioGaps(t *testing.T) {
	m := shared.ForTest(t)
	ctx := context.Background()
	sm := sagemaker.NewFromConfig(Config(m.URL()))
	id, err := CreateDomain(ctx, sm, Domain{Name: "gaps", AppNetworkAccessType: "VpcOnly", VPCID: "vpc-1", SubnetIDs: []string{"subnet-1"}, UserSecurityGroupIDs: []string{"sg-1"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := sm.DescribeDomain(ctx, &sagemaker.DescribeDomainInput{DomainId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if d.AppNetworkAccessType != smtypes.AppNetworkAccessTypeVpcOnly || !slices.Equal(d.SubnetIds, []string{"subnet-1"}) ||
		d.DefaultUserSettings == nil || !slices.Equal(d.DefaultUserSettings.SecurityGroups, []string{"sg-1"}) {
		t.Errorf("DescribeDomain = %+v", d)
	}
	if _, err := sm.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: d.DomainArn}); err != nil {
		t.Errorf("ListTags on a tagged domain: %v", err)
	}
	pub, err := sm.CreateDomain(ctx, &sagemaker.CreateDomainInput{DomainName: aws.String("untagged"), AuthMode: smtypes.AuthModeIam,
		DefaultUserSettings: &smtypes.UserSettings{}, SubnetIds: []string{"subnet-1"}, VpcId: aws.String("vpc-1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sm.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: pub.DomainArn}); err == nil {
		t.Error("moto now lists the tags of an untagged domain: drop the tag CreateDomain always adds")
	}
	u, err := sm.DescribeDomain(ctx, &sagemaker.DescribeDomainInput{DomainId: aws.String("d-untagged")})
	if err != nil {
		t.Fatal(err)
	}
	if u.AppNetworkAccessType != smtypes.AppNetworkAccessTypePublicInternetOnly {
		t.Errorf("a domain created without AppNetworkAccessType reads %q in moto, want its PublicInternetOnly default", u.AppNetworkAccessType)
	}
	for name, call := range map[string]func() error{
		"ListUserProfiles": func() error {
			_, err := sm.ListUserProfiles(ctx, &sagemaker.ListUserProfilesInput{DomainIdEquals: aws.String(id)})
			return err
		},
		"ListSpaces": func() error {
			_, err := sm.ListSpaces(ctx, &sagemaker.ListSpacesInput{DomainIdEquals: aws.String(id)})
			return err
		},
		"ListApps": func() error {
			_, err := sm.ListApps(ctx, &sagemaker.ListAppsInput{DomainIdEquals: aws.String(id)})
			return err
		},
	} {
		if err := call(); err == nil {
			t.Errorf("moto now answers %s: MotoStudioAnswers may no longer be needed", name)
		} else {
			t.Logf("moto %s: %v", name, err)
		}
	}
}

func TestMotoStudioAnswersServeTheLedger(t *testing.T) {
	m := shared.ForTest(t)
	ctx := context.Background()
	p := NewFaultProxy(t, m.URL())
	l := NewStudioLedger()
	p.Add(MotoStudioAnswers(l)...)
	sm := sagemaker.NewFromConfig(Config(p.URL()))
	l.AddProfile("d-a", StudioProfile{Name: "alice", SecurityGroupIDs: []string{"sg-a"}})
	l.AddProfile("d-b", StudioProfile{Name: "bob"})
	l.AddSpace("d-a", StudioSpace{Name: "team", SharingType: "Shared", Owner: "alice"})
	l.AddApp("d-a", StudioApp{Space: "team", Type: "JupyterLab", Name: "default", Status: "InService"})

	ps, err := sm.ListUserProfiles(ctx, &sagemaker.ListUserProfilesInput{DomainIdEquals: aws.String("d-a")})
	if err != nil || len(ps.UserProfiles) != 1 || aws.ToString(ps.UserProfiles[0].UserProfileName) != "alice" {
		t.Fatalf("ListUserProfiles = %+v, %v", ps, err)
	}
	up, err := sm.DescribeUserProfile(ctx, &sagemaker.DescribeUserProfileInput{DomainId: aws.String("d-a"), UserProfileName: aws.String("alice")})
	if err != nil || up.UserSettings == nil || !slices.Equal(up.UserSettings.SecurityGroups, []string{"sg-a"}) || aws.ToString(up.UserProfileArn) == "" {
		t.Fatalf("DescribeUserProfile = %+v, %v", up, err)
	}
	if _, err := sm.DescribeUserProfile(ctx, &sagemaker.DescribeUserProfileInput{DomainId: aws.String("d-a"), UserProfileName: aws.String("bob")}); err == nil {
		t.Error("DescribeUserProfile of a profile of another domain succeeded")
	}
	sp, err := sm.ListSpaces(ctx, &sagemaker.ListSpacesInput{DomainIdEquals: aws.String("d-a")})
	if err != nil || len(sp.Spaces) != 1 || sp.Spaces[0].SpaceSharingSettingsSummary.SharingType != smtypes.SharingTypeShared {
		t.Fatalf("ListSpaces = %+v, %v", sp, err)
	}
	apps, err := sm.ListApps(ctx, &sagemaker.ListAppsInput{DomainIdEquals: aws.String("d-b")})
	if err != nil || len(apps.Apps) != 0 {
		t.Fatalf("ListApps(d-b) = %+v, %v", apps, err)
	}
}
