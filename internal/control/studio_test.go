package control

import (
	"slices"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
)

// studioEstate is estate() without its notebook, plus subnet-b whose
// route table sends 0.0.0.0/0 to the public NAT gateway, and one Studio
// domain d-1 ("research") that set changes.
func studioEstate(set func(d *inventory.StudioDomain)) *inventory.Region {
	reg := estate()
	reg.Notebooks = []inventory.Notebook{}
	reg.Subnets = append(reg.Subnets, inventory.Subnet{ID: "subnet-b", VPCID: "vpc-1", CIDRBlock: "10.0.2.0/24"})
	reg.RouteTables = append(reg.RouteTables, inventory.RouteTable{ID: "rtb-b", VPCID: "vpc-1", SubnetIDs: []string{"subnet-b"},
		Routes: []inventory.Route{local(), route("0.0.0.0/0", toNAT("nat-pub"))}})
	d := inventory.StudioDomain{ID: "d-1", Name: "research", ARN: "arn:aws:sagemaker:us-east-1:111122223333:domain/d-1", Status: "InService",
		AppNetworkAccessType: "VpcOnly", VPCID: "vpc-1", SubnetIDs: []string{"subnet-a"}, DefaultUserSecurityGroupIDs: []string{"sg-open"},
		Tags: map[string]string{"team": "ml"}}
	if set != nil {
		set(&d)
	}
	reg.StudioDomains = []inventory.StudioDomain{d}
	return reg
}

func evalStudio(t *testing.T, profile string, reg *inventory.Region) ([]finding.Result, []finding.Error) {
	t.Helper()
	ev, err := New(Options{Profile: profile})
	if err != nil {
		t.Fatal(err)
	}
	return ev.Evaluate(&inventory.Inventory{SchemaVersion: inventory.SchemaVersion, Regions: []inventory.Region{*reg}})
}

func byName(t *testing.T, res []finding.Result, name string) finding.Result {
	t.Helper()
	for _, r := range res {
		if r.Resource.Name == name {
			return r
		}
	}
	t.Fatalf("no result for %q among %d", name, len(res))
	return finding.Result{}
}

func checkOf(r finding.Result, id string) finding.Check {
	for _, c := range r.Checks {
		if c.ID == id {
			return c
		}
	}
	return finding.Check{}
}

func TestStudioSemantics(t *testing.T) {
	profileAlice := func(groups ...string) func(d *inventory.StudioDomain) {
		return func(d *inventory.StudioDomain) {
			d.UserProfiles = append(d.UserProfiles, inventory.StudioUserProfile{Name: "alice", SecurityGroupIDs: groups})
		}
	}
	both := func(fs ...func(d *inventory.StudioDomain)) func(d *inventory.StudioDomain) {
		return func(d *inventory.StudioDomain) {
			for _, f := range fs {
				f(d)
			}
		}
	}
	subnets := func(ids ...string) func(d *inventory.StudioDomain) {
		return func(d *inventory.StudioDomain) { d.SubnetIDs = ids }
	}
	groups := func(ids ...string) func(d *inventory.StudioDomain) {
		return func(d *inventory.StudioDomain) { d.DefaultUserSecurityGroupIDs = ids }
	}
	cases := []struct {
		name     string
		profile  string
		set      func(d *inventory.StudioDomain)
		resource string // result looked at; default the domain
		status   finding.Status
		path     finding.InternetPath
		contains []string
	}{
		{name: "PublicInternetOnly is direct internet access", set: func(d *inventory.StudioDomain) { d.AppNetworkAccessType = "PublicInternetOnly" },
			status: finding.StatusFail, path: finding.PathDirect, contains: []string{"PublicInternetOnly", "aws sagemaker describe-domain --domain-id d-1 --region us-east-1"}},
		{name: "an absent flag is the PublicInternetOnly default", set: func(d *inventory.StudioDomain) { d.AppNetworkAccessType = "" },
			status: finding.StatusFail, path: finding.PathDirect, contains: []string{"not returned"}},
		{name: "an unrecognised flag cannot be evaluated", set: func(d *inventory.StudioDomain) { d.AppNetworkAccessType = "Sometimes" },
			status: finding.StatusError, path: finding.PathUnknown, contains: []string{`unrecognised value "Sometimes"`}},
		{name: "VpcOnly in an isolated subnet passes", status: finding.StatusPass, path: finding.PathNone,
			contains: []string{"no internet path", "aws ec2 describe-route-tables --region us-east-1 --filters Name=association.subnet-id,Values=subnet-a"}},
		{name: "VpcOnly behind a NAT with open egress fails", set: subnets("subnet-b"), status: finding.StatusFail, path: finding.PathNAT,
			contains: []string{"via nat-pub", "aws ec2 describe-nat-gateways --nat-gateway-ids nat-pub"}},
		{name: "VpcOnly behind a NAT with private egress passes", set: both(subnets("subnet-b"), groups("sg-private")), status: finding.StatusPass, path: finding.PathNone},
		{name: "one of two subnets exposed decides", set: subnets("subnet-a", "subnet-b"), status: finding.StatusFail, path: finding.PathNAT,
			contains: []string{"subnet subnet-b, default user settings"}},
		{name: "an unknown subnet is ERROR, not the other subnet's PASS", set: subnets("subnet-a", "subnet-gone"), status: finding.StatusError, path: finding.PathUnknown,
			contains: []string{"subnet-gone"}},
		{name: "VpcOnly without subnets cannot be evaluated", set: subnets(), status: finding.StatusError, path: finding.PathUnknown},
		{name: "an empty subnet ID is ERROR, not a PASS of nothing", set: subnets(""), status: finding.StatusError, path: finding.PathUnknown},
		{name: "an empty subnet ID beside an isolated one is ERROR", set: subnets("subnet-a", ""), status: finding.StatusError, path: finding.PathUnknown},
		{name: "VpcOnly without security groups cannot be evaluated", set: groups(), status: finding.StatusError, path: finding.PathUnknown,
			contains: []string{"no security groups recorded"}},
		{name: "a shared space's default groups open egress", set: both(subnets("subnet-b"), groups("sg-private"), func(d *inventory.StudioDomain) {
			d.DefaultSpaceSecurityGroupIDs = []string{"sg-open"}
		}), status: finding.StatusFail, path: finding.PathNAT, contains: []string{"default space settings (shared spaces)"}},
		{name: "domain-level apps' groups open egress", set: both(subnets("subnet-b"), groups("sg-private"), func(d *inventory.StudioDomain) {
			d.DomainSecurityGroupIDs = []string{"sg-open"}
		}), status: finding.StatusFail, path: finding.PathNAT, contains: []string{"domain settings (domain-level apps)"}},
		{name: "a describe failure is ERROR", set: func(d *inventory.StudioDomain) {
			*d = inventory.StudioDomain{ID: d.ID, Name: d.Name, Error: &inventory.CollectError{Operation: awsop.DescribeDomain, Resource: "d-1", Message: "denied"}}
		}, status: finding.StatusError, path: finding.PathUnknown, contains: []string{"sagemaker:DescribeDomain failed: denied"}},
		{name: "unlisted profiles make a VpcOnly domain ERROR", set: func(d *inventory.StudioDomain) {
			d.Errors = []inventory.CollectError{{Operation: awsop.ListUserProfiles, Resource: "d-1", Message: "denied"}}
		}, status: finding.StatusError, path: finding.PathNone, contains: []string{"user profiles could not be listed"}},
		{name: "unlisted profiles do not change a public domain's FAIL", set: func(d *inventory.StudioDomain) {
			d.AppNetworkAccessType = "PublicInternetOnly"
			d.Errors = []inventory.CollectError{{Operation: awsop.ListUserProfiles, Resource: "d-1", Message: "denied"}}
		}, status: finding.StatusFail, path: finding.PathDirect},
		{name: "unlisted apps change no verdict", set: func(d *inventory.StudioDomain) {
			d.Errors = []inventory.CollectError{{Operation: awsop.ListApps, Resource: "d-1", Message: "denied"}}
		}, status: finding.StatusPass, path: finding.PathNone},
		{name: "a profile's own group opens egress: the profile fails", set: both(subnets("subnet-b"), groups("sg-private"), profileAlice("sg-open")),
			resource: "research/alice", status: finding.StatusFail, path: finding.PathNAT,
			contains: []string{"user profile alice's own and the domain's default user groups", "describe-user-profile --domain-id d-1 --user-profile-name alice"}},
		{name: "... while the domain passes", set: both(subnets("subnet-b"), groups("sg-private"), profileAlice("sg-open")),
			status: finding.StatusPass, path: finding.PathNone},
		{name: "a profile's groups add to the domain's: a private group cannot close the default's open egress",
			set: both(subnets("subnet-b"), profileAlice("sg-private")), resource: "research/alice", status: finding.StatusFail, path: finding.PathNAT},
		{name: "a profile of a public domain fails with it", set: both(profileAlice("sg-private"), func(d *inventory.StudioDomain) { d.AppNetworkAccessType = "PublicInternetOnly" }),
			resource: "research/alice", status: finding.StatusFail, path: finding.PathDirect},
		{name: "a profile that could not be described is ERROR", set: func(d *inventory.StudioDomain) {
			d.UserProfiles = []inventory.StudioUserProfile{{Name: "alice", Error: &inventory.CollectError{Operation: awsop.DescribeUserProfile, Resource: "d-1/alice", Message: "denied"}}}
		}, resource: "research/alice", status: finding.StatusError, path: finding.PathUnknown},
		{name: "fsbp: only the flag decides (NAT with open egress passes)", profile: ProfileFSBP, set: subnets("subnet-b"), status: finding.StatusPass, path: finding.PathNAT},
		{name: "fsbp: PublicInternetOnly fails", profile: ProfileFSBP, set: func(d *inventory.StudioDomain) { d.AppNetworkAccessType = "PublicInternetOnly" },
			status: finding.StatusFail, path: finding.PathDirect},
		{name: "fsbp: unlisted profiles do not decide", profile: ProfileFSBP, set: func(d *inventory.StudioDomain) {
			d.Errors = []inventory.CollectError{{Operation: awsop.ListUserProfiles, Resource: "d-1", Message: "denied"}}
		}, status: finding.StatusPass, path: finding.PathNone},
		{name: "fsbp: a describe failure is still ERROR", profile: ProfileFSBP, set: func(d *inventory.StudioDomain) {
			d.Error = &inventory.CollectError{Operation: awsop.DescribeDomain, Message: "denied"}
		}, status: finding.StatusError, path: finding.PathUnknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, _ := evalStudio(t, c.profile, studioEstate(c.set))
			name := c.resource
			if name == "" {
				name = "research"
			}
			r := byName(t, res, name)
			if r.Status != c.status || r.InternetPath != c.path {
				t.Errorf("status %s path %s, want %s %s; checks %+v", r.Status, r.InternetPath, c.status, c.path, r.Checks)
			}
			if r.ControlID != finding.ControlIDStudio {
				t.Errorf("control %q", r.ControlID)
			}
			text := renderForSearch(r)
			for _, want := range c.contains {
				if !strings.Contains(text, want) {
					t.Errorf("result lacks %q:\n%s", want, text)
				}
			}
		})
	}
}

func TestStudioResultsBesideNotebooks(t *testing.T) {
	reg := studioEstate(func(d *inventory.StudioDomain) {
		d.UserProfiles = []inventory.StudioUserProfile{{Name: "bob"}, {Name: "alice", SecurityGroupIDs: []string{"sg-private"}}}
	})
	reg.Notebooks = []inventory.Notebook{{Name: "zz-nb", DirectInternetAccess: "Enabled"}}
	res, errs := evalStudio(t, "", reg)
	var got []string
	for _, r := range res {
		got = append(got, r.Resource.Type+" "+r.Resource.Name)
	}
	// The notebook first, then the domain and the one profile with groups
	// of its own (bob has none: the domain's result covers him).
	want := []string{"AWS::SageMaker::NotebookInstance zz-nb", "AWS::SageMaker::Domain research", "AWS::SageMaker::UserProfile research/alice"}
	if !slices.Equal(got, want) {
		t.Errorf("results = %v, want %v", got, want)
	}
	if len(errs) != 0 {
		t.Errorf("errors = %+v", errs)
	}
	d := res[1]
	if d.ControlID != finding.ControlIDStudio || res[0].ControlID != finding.ControlID {
		t.Errorf("control IDs %s, %s", res[0].ControlID, d.ControlID)
	}
	if ids := d.Compliance["aws-config"]; !slices.Equal(ids, []string{"sagemaker-domain-in-vpc"}) {
		t.Errorf("compliance = %v", d.Compliance)
	}
	if d.Resource.ARN != "arn:aws:sagemaker:us-east-1:111122223333:domain/d-1" || d.Resource.Tags["team"] != "ml" ||
		d.Evidence.DomainID != "d-1" || d.Evidence.AppNetworkAccessType != "VpcOnly" || d.Evidence.SubnetID != "subnet-a" {
		t.Errorf("domain result = %+v", d)
	}
	if a := res[2]; a.Resource.ARN != "arn:aws:sagemaker:us-east-1:111122223333:user-profile/d-1/alice" || a.Evidence.UserProfileName != "alice" {
		t.Errorf("profile result = %+v", a)
	}
}

func TestStudioFailuresAreReportedErrors(t *testing.T) {
	reg := studioEstate(func(d *inventory.StudioDomain) {
		d.Errors = []inventory.CollectError{{Operation: awsop.ListApps, Resource: "d-1", Message: "denied"}}
		d.UserProfiles = []inventory.StudioUserProfile{{Name: "alice", Error: &inventory.CollectError{Operation: awsop.DescribeUserProfile, Resource: "d-1/alice", Message: "denied"}}}
	})
	_, errs := evalStudio(t, "", reg)
	var ops []string
	for _, e := range errs {
		ops = append(ops, e.Operation+" "+e.Resource)
	}
	if want := []string{"sagemaker:ListApps d-1", "sagemaker:DescribeUserProfile d-1/alice"}; !slices.Equal(ops, want) {
		t.Errorf("errors = %v, want %v (every failed read makes the report incomplete)", ops, want)
	}
}

func TestStudioCatalogHasItsSources(t *testing.T) {
	fw, err := CatalogFor("sagemaker-studio-no-direct-internet-access")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fw {
		if f.Key == "" || len(f.IDs) == 0 || f.Source == "" {
			t.Errorf("framework %+v lacks a key, IDs or its source", f)
		}
	}
	if !slices.ContainsFunc(fw, func(f Framework) bool {
		return f.Key == "aws-config" && slices.Equal(f.IDs, []string{"sagemaker-domain-in-vpc"})
	}) {
		t.Errorf("no AWS Config sagemaker-domain-in-vpc mapping: %+v", fw)
	}
	if _, err := CatalogFor("no-such-control"); err == nil {
		t.Error("CatalogFor of an unknown control succeeded")
	}
}
