package collect

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sagefence/sagefence/internal/awsclient"
	"github.com/sagefence/sagefence/internal/testenv"
)

// motoOrg makes the default moto account the management account of an
// organization with n member accounts and returns their IDs. moto answers
// calls signed with credentials from AssumeRole as the account named in
// the role's ARN (the role need not exist), which is how the member
// accounts are populated and read.
func motoOrg(t *testing.T, url string, n int) []string {
	t.Helper()
	ctx := context.Background()
	org := organizations.NewFromConfig(testenv.Config(url))
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range n {
		out, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{
			AccountName: aws.String("member-" + string(rune('a'+i))), Email: aws.String("member" + string(rune('a'+i)) + "@example.com"),
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(out.CreateAccountStatus.AccountId))
	}
	return ids
}

// memberConfig is a config for account through an assumed role.
func memberConfig(t *testing.T, url, account, region string) aws.Config {
	t.Helper()
	out, err := sts.NewFromConfig(testenv.Config(url)).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(awsclient.RoleARN("aws", account, "OrganizationAccountAccessRole")), RoleSessionName: aws.String("setup"),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testenv.Config(url)
	cfg.Region = region
	c := out.Credentials
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	return cfg
}

func TestCollectOrganizationInMoto(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	members := motoOrg(t, s.m.URL(), 2)
	// One notebook per account and region, named after its account.
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		cfg := testenv.Config(s.m.URL())
		cfg.Region = region
		if _, err := testenv.CreateNotebook(ctx, sagemaker.NewFromConfig(cfg), testenv.Notebook{Name: "nb-" + testenv.AccountID}); err != nil {
			t.Fatal(err)
		}
		for _, id := range members {
			if _, err := testenv.CreateNotebook(ctx, sagemaker.NewFromConfig(memberConfig(t, s.m.URL(), id, region)), testenv.Notebook{Name: "nb-" + id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	p := testenv.NewFaultProxy(t, s.m.URL())
	cfg, st := liveConfig(t, p.URL(), awsclient.Options{})
	inv, err := Collect(ctx, cfg, CollectOptions{Org: true, Role: awsclient.RoleOptions{Name: "OrganizationAccountAccessRole"}, Regions: []string{"us-east-1", "eu-west-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Errors) != 0 {
		t.Fatalf("errors %+v", inv.Errors)
	}
	want := slices.Sorted(slices.Values(append([]string{testenv.AccountID}, members...)))
	var got []string
	for _, r := range inv.Regions {
		if len(r.Notebooks) != 1 || r.Notebooks[0].Name != "nb-"+r.AccountID {
			t.Errorf("%s/%s holds %+v, want only nb-%s", r.AccountID, r.Region, r.Notebooks, r.AccountID)
		}
		if len(r.Errors) != 0 {
			t.Errorf("%s/%s errors %+v", r.AccountID, r.Region, r.Errors)
		}
		if r.Region == "us-east-1" {
			got = append(got, r.AccountID)
		}
	}
	if !slices.Equal(got, want) || len(inv.Regions) != 2*len(want) {
		t.Errorf("accounts read %v (%d account-regions), want %v in two regions", got, len(inv.Regions), want)
	}
	if n := st.Op("sts:AssumeRole").Calls; n != len(members) {
		t.Errorf("sts:AssumeRole calls = %d, want one per member account (%d), none for the caller", n, len(members))
	}
	if n := p.Calls("organizations:ListAccounts"); n != 1 {
		t.Errorf("ListAccounts requests = %d", n)
	}
	// Each account lists its regions once, with its own credentials.
	if n := p.Calls("ec2:DescribeRegions"); n != 1+len(members) {
		t.Errorf("DescribeRegions requests = %d, want one per account", n)
	}
}
