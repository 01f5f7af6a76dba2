package main

// End-to-end tests of Studio domains (docs/studio.md): the binary against
// domains moto emulates (CreateDomain, DescribeDomain, ListDomains with
// AppNetworkAccessType, SubnetIds and DefaultUserSettings). moto 5.2 has no
// user profiles, spaces or apps (ListUserProfiles, DescribeUserProfile,
// ListSpaces and ListApps answer HTTP 500), so a proxy answers those four
// from a testenv.StudioLedger; the control's unit tests on inventories
// cover what the ledger does not model.

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/testenv"
)

// studioEstate is one region with a notebook and four Studio domains, and
// the ledger that holds the profile of the last one; it returns what each
// result must be, by name.
func studioEstate(t *testing.T, c clients, ledger *testenv.StudioLedger) map[string]expect {
	t.Helper()
	ctx := context.Background()
	str := must[string](t)
	net := must[testenv.Network](t)(testenv.CreateNetwork(ctx, c.ec2, "10.0.0.0/16"))
	sg := func(name string, egress ...testenv.Perm) string {
		return str(testenv.CreateSecurityGroup(ctx, c.ec2, net.VPCID, testenv.SecurityGroup{Name: name, Egress: egress, RevokeDefaultEgress: true}))
	}
	open := sg("open", testenv.AllTraffic("0.0.0.0/0"))
	private := sg("private-only", testenv.AllTraffic("10.0.0.0/8"))

	if _, err := testenv.CreateNotebook(ctx, c.sm, testenv.Notebook{Name: "isolated-notebook", DirectInternetAccess: "Disabled",
		SubnetID: net.IsolatedSubnetID, SecurityGroupIDs: []string{open}}); err != nil {
		t.Fatal(err)
	}
	domain := func(d testenv.Domain) string {
		d.VPCID = net.VPCID
		return str(testenv.CreateDomain(ctx, c.sm, d))
	}
	// The default: AppNetworkAccessType not given (moto, like AWS, then
	// says PublicInternetOnly).
	domain(testenv.Domain{Name: "default-public", SubnetIDs: []string{net.PrivateSubnetID}})
	domain(testenv.Domain{Name: "vpc-isolated", AppNetworkAccessType: "VpcOnly", SubnetIDs: []string{net.IsolatedSubnetID}, UserSecurityGroupIDs: []string{open}})
	domain(testenv.Domain{Name: "vpc-nat-open", AppNetworkAccessType: "VpcOnly", SubnetIDs: []string{net.PrivateSubnetID}, UserSecurityGroupIDs: []string{open}})
	id := domain(testenv.Domain{Name: "vpc-nat-private", AppNetworkAccessType: "VpcOnly", SubnetIDs: []string{net.PrivateSubnetID}, UserSecurityGroupIDs: []string{private}})
	ledger.AddProfile(id, testenv.StudioProfile{Name: "alice", SecurityGroupIDs: []string{open}})
	ledger.AddProfile(id, testenv.StudioProfile{Name: "bob"})
	ledger.AddSpace(id, testenv.StudioSpace{Name: "team", SharingType: "Shared"})
	ledger.AddApp(id, testenv.StudioApp{Space: "team", Type: "JupyterLab", Name: "default", Status: "InService"})

	return map[string]expect{
		"isolated-notebook":     {"PASS", "none", ""},
		"default-public":        {"FAIL", "direct", "app-network-access-type"},
		"vpc-isolated":          {"PASS", "none", ""},
		"vpc-nat-open":          {"FAIL", "nat", "internet-egress-path"},
		"vpc-nat-private":       {"PASS", "none", ""},
		"vpc-nat-private/alice": {"FAIL", "nat", "internet-egress-path"},
	}
}

// studioProxy is a proxy in front of m that answers what moto lacks.
func studioProxy(t *testing.T, url string, ledger *testenv.StudioLedger, faults ...testenv.Rule) *testenv.FaultProxy {
	p := testenv.NewFaultProxy(t, url)
	p.Add(faults...) // first: a fault shadows the answers
	p.Add(testenv.MotoStudioAnswers(ledger)...)
	return p
}

func TestE2EStudioDomains(t *testing.T) {
	m := moto.ForTest(t)
	ledger := testenv.NewStudioLedger()
	want := studioEstate(t, clientsFor(m.URL(), "us-east-1"), ledger)
	proxy := studioProxy(t, m.URL(), ledger)

	got := scan(t, proxy.URL(), "--regions", "us-east-1")
	wantExit(t, got, 1)
	if !got.report.Complete || len(got.report.Errors) != 0 {
		t.Fatalf("report incomplete: %+v", got.report.Errors)
	}
	if len(got.report.Results) != len(want) {
		t.Errorf("%d results, want %d (a notebook, four domains, one profile with groups of its own)", len(got.report.Results), len(want))
	}
	checkVerdicts(t, got, want)
	for _, r := range got.report.Results {
		wantType, wantControl := finding.ResourceTypeDomain, finding.ControlIDStudio
		switch r.Resource.Name {
		case "isolated-notebook":
			wantType, wantControl = finding.ResourceType, finding.ControlID
		case "vpc-nat-private/alice":
			wantType = finding.ResourceTypeUserProfile
		}
		if r.Resource.Type != wantType || r.ControlID != wantControl {
			t.Errorf("%s: type %s control %s, want %s %s", r.Resource.Name, r.Resource.Type, r.ControlID, wantType, wantControl)
		}
	}
	if r := got.byName()["default-public"]; r.Resource.ARN != "arn:aws:sagemaker:us-east-1:"+testenv.AccountID+":domain/d-default-public" ||
		r.Resource.Tags["sagefence-test"] != "studio" || len(r.Reproduce.Strings()) == 0 {
		t.Errorf("default-public result = %+v", r)
	}

	// The calls of one region's domain scan.
	for op, n := range map[string]int{
		"sagemaker:ListDomains": 1, "sagemaker:DescribeDomain": 4, "sagemaker:ListUserProfiles": 4,
		"sagemaker:DescribeUserProfile": 2, "sagemaker:ListSpaces": 4, "sagemaker:ListApps": 4,
		"sagemaker:ListTags": 5, // four domains and the notebook
	} {
		if got := proxy.Calls(op); got != n {
			t.Errorf("%s calls = %d, want %d", op, got, n)
		}
	}
	if ec2Calls := proxy.Calls("ec2:*") - proxy.Calls("ec2:DescribeRegions"); ec2Calls > 12 {
		t.Errorf("EC2 calls in the region = %d, want at most 12 (one batch for notebooks and domains): %v", ec2Calls, proxy.Counts())
	}
	t.Logf("calls of one region: %v", proxy.Counts())

	// The saved inventory (schema 3) reproduces the results offline.
	inv := filepath.Join(t.TempDir(), "inv.json")
	saved := scan(t, proxy.URL(), "--regions", "us-east-1", "--save-inventory", inv)
	offline := scan(t, "http://127.0.0.1:1", "--input", inv)
	if offline.code != saved.code || len(offline.report.Results) != len(saved.report.Results) {
		t.Fatalf("offline exit %d / %d results, live %d / %d", offline.code, len(offline.report.Results), saved.code, len(saved.report.Results))
	}
	checkVerdicts(t, offline, want)
}

func TestE2EStudioFSBPParity(t *testing.T) {
	m := moto.ForTest(t)
	ledger := testenv.NewStudioLedger()
	want := studioEstate(t, clientsFor(m.URL(), "us-east-1"), ledger)
	got := scan(t, studioProxy(t, m.URL(), ledger).URL(), "--regions", "us-east-1", "--control-profile", "fsbp")
	wantExit(t, got, 1)
	for name, r := range got.byName() {
		wantStatus := finding.StatusPass
		if want[name].path == "direct" {
			wantStatus = finding.StatusFail // only AppNetworkAccessType decides (sagemaker-domain-in-vpc)
		}
		if r.Status != wantStatus {
			t.Errorf("fsbp %s = %s, want %s", name, r.Status, wantStatus)
		}
	}
}

func TestE2EStudioResourcesSelection(t *testing.T) {
	m := moto.ForTest(t)
	ledger := testenv.NewStudioLedger()
	studioEstate(t, clientsFor(m.URL(), "us-east-1"), ledger)
	for _, c := range []struct {
		resources            string
		results              int
		listed, notListed    string
		firstType, otherType string
	}{
		{"notebook-instances", 1, "sagemaker:ListNotebookInstances", "sagemaker:ListDomains", finding.ResourceType, ""},
		{"studio-domains", 5, "sagemaker:ListDomains", "sagemaker:ListNotebookInstances", finding.ResourceTypeDomain, finding.ResourceType},
	} {
		t.Run(c.resources, func(t *testing.T) {
			proxy := studioProxy(t, m.URL(), ledger)
			got := scan(t, proxy.URL(), "--regions", "us-east-1", "--resources", c.resources)
			if len(got.report.Results) != c.results {
				t.Errorf("%d results, want %d", len(got.report.Results), c.results)
			}
			if proxy.Calls(c.listed) == 0 || proxy.Calls(c.notListed) != 0 {
				t.Errorf("%s called %d times, %s %d times", c.listed, proxy.Calls(c.listed), c.notListed, proxy.Calls(c.notListed))
			}
			for _, r := range got.report.Results {
				if c.otherType != "" && r.Resource.Type == c.otherType {
					t.Errorf("--resources %s reported %s %s", c.resources, r.Resource.Type, r.Resource.Name)
				}
			}
		})
	}
	bad := scan(t, m.URL(), "--regions", "us-east-1", "--resources", "spaces")
	if bad.code != 2 || bad.stdout != "" {
		t.Errorf("--resources spaces: exit %d, stdout %q; want 2 and nothing", bad.code, bad.stdout)
	}
}

func TestE2EStudioFaults(t *testing.T) {
	m := moto.ForTest(t)
	ledger := testenv.NewStudioLedger()
	want := studioEstate(t, clientsFor(m.URL(), "us-east-1"), ledger)
	describeOne := func(f testenv.Fault) testenv.Rule {
		return testenv.Rule{Op: "sagemaker:DescribeDomain", When: testenv.ParamEquals("DomainId", "d-vpc-isolated"), Fault: f}
	}
	oneDomainError := func(t *testing.T, got scanResult) {
		wantExit(t, got, 3)
		if r := got.byName()["vpc-isolated"]; r.Status != finding.StatusError || r.InternetPath != finding.PathUnknown {
			t.Errorf("vpc-isolated = %s/%s, want ERROR/unknown, never its PASS", r.Status, r.InternetPath)
		}
		rest := map[string]expect{}
		for name, w := range want {
			if name != "vpc-isolated" {
				rest[name] = w
			}
		}
		checkVerdicts(t, got, rest)
		hasError(t, got, "sagemaker:DescribeDomain", "d-vpc-isolated")
	}
	noDomains := func(t *testing.T, got scanResult) {
		wantExit(t, got, 3)
		for _, r := range got.report.Results {
			if r.Resource.Type != finding.ResourceType {
				t.Errorf("a domain was reported without its listing: %s %s", r.Resource.Name, r.Status)
			}
		}
		if r := got.byName()["isolated-notebook"]; r.Status != finding.StatusPass {
			t.Errorf("the notebook beside = %s, want PASS", r.Status)
		}
		hasError(t, got, "sagemaker:ListDomains", "")
	}
	for _, c := range []struct {
		name  string
		rule  testenv.Rule
		check func(t *testing.T, got scanResult)
	}{
		{"DescribeDomain denied on one domain", describeOne(testenv.AccessDenied()), oneDomainError},
		{"DescribeDomain answers 500 on one domain", describeOne(testenv.ServerError()), oneDomainError},
		{"ListDomains denied", testenv.Rule{Op: "sagemaker:ListDomains", Fault: testenv.AccessDenied()}, noDomains},
		{"ListDomains answers 500", testenv.Rule{Op: "sagemaker:ListDomains", Fault: testenv.ServerError()}, noDomains},
		{"ListUserProfiles denied", testenv.Rule{Op: "sagemaker:ListUserProfiles", Fault: testenv.AccessDenied()}, func(t *testing.T, got scanResult) {
			wantExit(t, got, 3)
			rs := got.byName()
			if r := rs["vpc-nat-private"]; r.Status != finding.StatusError {
				t.Errorf("vpc-nat-private = %s: a profile's own groups may open egress, so it cannot PASS", r.Status)
			}
			if r := rs["default-public"]; r.Status != finding.StatusFail {
				t.Errorf("default-public = %s, want FAIL (the flag decides)", r.Status)
			}
			hasError(t, got, "sagemaker:ListUserProfiles", "d-vpc-nat-private")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := scan(t, studioProxy(t, m.URL(), ledger, c.rule).URL(), "--regions", "us-east-1")
			c.check(t, got)
		})
	}
}
