package main

// End-to-end tests: the real binary against estates built in moto through
// the AWS SDK, directly or through a fault-injecting proxy. moto omits
// NetworkInterfaceId on notebooks, so public-IP paths are covered by the
// control's unit tests on inventories instead.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/testenv"
)

var (
	moto   testenv.SharedMoto
	binary string
)

func TestMain(m *testing.M) {
	var cleanup func()
	var err error
	binary, cleanup, err = testenv.BuildSagefence(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	moto.Close()
	cleanup()
	os.Exit(code)
}

type scanResult struct {
	code   int
	report finding.Report
	stdout string
	stderr string
}

func (s scanResult) byName() map[string]finding.Result {
	m := map[string]finding.Result{}
	for _, r := range s.report.Results {
		m[r.Resource.Name] = r
	}
	return m
}

// scan runs the binary with the emulator's (or proxy's) endpoint.
func scan(t *testing.T, endpoint string, args ...string) scanResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"scan", "--format", "json"}, args...)...)
	cmd.Env = testenv.Environ(endpoint)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	res := scanResult{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run sagefence: %v", err)
	}
	if out.Len() > 0 && json.Valid(out.Bytes()) {
		if err := json.Unmarshal(out.Bytes(), &res.report); err != nil {
			t.Fatalf("report: %v", err)
		}
	}
	if strings.Contains(res.stderr, "panic") || strings.Contains(res.stderr, "goroutine ") {
		t.Fatalf("stack trace on stderr:\n%s", res.stderr)
	}
	return res
}

type clients struct {
	ec2 *ec2.Client
	sm  *sagemaker.Client
}

func clientsFor(url, region string) clients {
	cfg := testenv.Config(url)
	cfg.Region = region
	return clients{ec2: ec2.NewFromConfig(cfg), sm: sagemaker.NewFromConfig(cfg)}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

type expect struct {
	status finding.Status
	path   finding.InternetPath
	check  string // a sub-check that must have status
}

// verdictEstate builds one region holding a notebook per scenario of the
// issue and returns what each must evaluate to.
func verdictEstate(t *testing.T, c clients) map[string]expect {
	t.Helper()
	ctx := context.Background()
	str := must[string](t)
	net := must[testenv.Network](t)(testenv.CreateNetwork(ctx, c.ec2, "10.0.0.0/16"))
	vpc := net.VPCID
	sg := func(name string, egress ...testenv.Perm) string {
		return str(testenv.CreateSecurityGroup(ctx, c.ec2, vpc, testenv.SecurityGroup{Name: name, Egress: egress, RevokeDefaultEgress: true}))
	}
	open := sg("open", testenv.AllTraffic("0.0.0.0/0"))
	private := sg("private-only", testenv.AllTraffic("10.0.0.0/8"))
	https := sg("https-anywhere", testenv.TCP(443, "0.0.0.0/0"))
	partner := sg("one-public-cidr", testenv.TCP(443, "52.94.0.0/22"))

	// Extra subnets with their own route tables.
	subnet := func(cidr string, routes map[string]string) string {
		id := str(testenv.CreateSubnet(ctx, c.ec2, vpc, cidr, false))
		rtb := str(testenv.CreateRouteTable(ctx, c.ec2, vpc, id))
		for dest, target := range routes {
			if err := testenv.AddRoute(ctx, c.ec2, rtb, dest, target); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	naclSubnet := subnet("10.0.10.0/24", map[string]string{"0.0.0.0/0": net.NATGatewayID})
	str(testenv.CreateNetworkACL(ctx, c.ec2, vpc, []testenv.ACLRule{
		{Number: 50, Egress: true, Allow: false, Protocol: "-1", CIDR: "0.0.0.0/0"},
		{Number: 100, Egress: true, Allow: true, Protocol: "-1", CIDR: "10.0.0.0/8"},
		{Number: 100, Egress: false, Allow: true, Protocol: "-1", CIDR: "0.0.0.0/0"},
	}, naclSubnet))
	tgw := str(testenv.CreateTransitGateway(ctx, c.ec2))
	tgwSubnet := subnet("10.0.11.0/24", map[string]string{"0.0.0.0/0": tgw})
	peerNet := must[testenv.Network](t)(testenv.CreateNetwork(ctx, c.ec2, "10.1.0.0/16"))
	pcx := str(testenv.CreatePeering(ctx, c.ec2, vpc, peerNet.VPCID))
	pcxSubnet := subnet("10.0.12.0/24", map[string]string{"0.0.0.0/0": pcx})
	fw := str(testenv.CreateNetworkInterface(ctx, c.ec2, net.PublicSubnetID))
	applianceSubnet := subnet("10.0.13.0/24", map[string]string{"0.0.0.0/0": fw})
	splitSubnet := subnet("10.0.14.0/24", map[string]string{"0.0.0.0/1": net.NATGatewayID, "128.0.0.0/1": net.NATGatewayID})
	s3Subnet := subnet("10.0.15.0/24", nil)
	s3rtb := str(testenv.CreateRouteTable(ctx, c.ec2, vpc, s3Subnet))
	if _, _, err := testenv.CreateS3GatewayEndpoint(ctx, c.ec2, "us-east-1", vpc, s3rtb); err != nil {
		t.Fatal(err)
	}
	// A second NAT, deleted after its route was added: the route is a blackhole.
	deadNAT := str(testenv.CreateNATGateway(ctx, c.ec2, net.PublicSubnetID))
	deadSubnet := subnet("10.0.16.0/24", map[string]string{"0.0.0.0/0": deadNAT})
	if err := testenv.DeleteNATGateway(ctx, c.ec2, deadNAT); err != nil {
		t.Fatal(err)
	}

	// Main-table fallback: subnets without an explicit association use their
	// own VPC's main table. VPC A's main table routes to a NAT; VPC B's main
	// table is local only. A scanner that picks "a" main table gets one wrong.
	mainA := must[testenv.Network](t)(testenv.CreateNetwork(ctx, c.ec2, "10.2.0.0/16"))
	if err := testenv.AddRoute(ctx, c.ec2, mainA.MainRouteTableID, "0.0.0.0/0", mainA.NATGatewayID); err != nil {
		t.Fatal(err)
	}
	unassocA := str(testenv.CreateSubnet(ctx, c.ec2, mainA.VPCID, "10.2.20.0/24", false))
	openA := str(testenv.CreateSecurityGroup(ctx, c.ec2, mainA.VPCID, testenv.SecurityGroup{Name: "open-a"}))
	mainB := must[testenv.Network](t)(testenv.CreateNetwork(ctx, c.ec2, "10.3.0.0/16"))
	unassocB := str(testenv.CreateSubnet(ctx, c.ec2, mainB.VPCID, "10.3.20.0/24", false))
	openB := str(testenv.CreateSecurityGroup(ctx, c.ec2, mainB.VPCID, testenv.SecurityGroup{Name: "open-b"}))

	nb := func(name, dia, subnet, root string, groups ...string) {
		if _, err := testenv.CreateNotebook(ctx, c.sm, testenv.Notebook{Name: name, DirectInternetAccess: dia, SubnetID: subnet, SecurityGroupIDs: groups, RootAccess: root}); err != nil {
			t.Fatal(err)
		}
	}
	nb("no-vpc", "Enabled", "", "")
	nb("enabled-in-isolated-subnet", "Enabled", net.IsolatedSubnetID, "", open)
	nb("isolated", "Disabled", net.IsolatedSubnetID, "", open)
	nb("nat-open", "Disabled", net.PrivateSubnetID, "", open)
	nb("nat-private-only", "Disabled", net.PrivateSubnetID, "", private)
	nb("nat-https-anywhere", "Disabled", net.PrivateSubnetID, "", https)
	nb("nat-one-public-cidr", "Disabled", net.PrivateSubnetID, "", partner)
	nb("two-groups-union", "Disabled", net.PrivateSubnetID, "", private, open)
	nb("nacl-deny", "Disabled", naclSubnet, "", open)
	nb("main-table-own-vpc-nat", "Disabled", unassocA, "", openA)
	nb("main-table-own-vpc-local", "Disabled", unassocB, "", openB)
	nb("public-subnet", "Disabled", net.PublicSubnetID, "", private)
	nb("transit-gateway", "Disabled", tgwSubnet, "", open)
	nb("peering", "Disabled", pcxSubnet, "", open)
	nb("eni-appliance", "Disabled", applianceSubnet, "", open)
	nb("split-default", "Disabled", splitSubnet, "", open)
	nb("s3-endpoint-only", "Disabled", s3Subnet, "", open)
	nb("deleted-nat", "Disabled", deadSubnet, "", open)
	nb("root-disabled-direct-enabled", "Enabled", "", "Disabled")
	nb("root-enabled-isolated", "Disabled", net.IsolatedSubnetID, "Enabled", open)

	return map[string]expect{
		"no-vpc":                       {"FAIL", "direct", "direct-internet-access"},
		"enabled-in-isolated-subnet":   {"FAIL", "direct", "direct-internet-access"},
		"isolated":                     {"PASS", "none", ""},
		"nat-open":                     {"FAIL", "nat", "internet-egress-path"},
		"nat-private-only":             {"PASS", "none", ""},
		"nat-https-anywhere":           {"FAIL", "nat", "internet-egress-path"},
		"nat-one-public-cidr":          {"PASS", "nat", ""},
		"two-groups-union":             {"FAIL", "nat", "internet-egress-path"},
		"nacl-deny":                    {"PASS", "none", ""},
		"main-table-own-vpc-nat":       {"FAIL", "nat", "internet-egress-path"},
		"main-table-own-vpc-local":     {"PASS", "none", ""},
		"public-subnet":                {"FAIL", "none", "public-subnet"},
		"transit-gateway":              {"PASS", "none", ""}, // a route to a gateway the VPC has no attachment to: a blackhole
		"peering":                      {"PASS", "none", ""},
		"eni-appliance":                {"REVIEW", "appliance", "internet-egress-path"},
		"split-default":                {"FAIL", "nat", "internet-egress-path"},
		"s3-endpoint-only":             {"PASS", "none", ""},
		"deleted-nat":                  {"PASS", "none", ""},
		"root-disabled-direct-enabled": {"FAIL", "direct", "direct-internet-access"},
		"root-enabled-isolated":        {"PASS", "none", ""},
	}
}

func checkVerdicts(t *testing.T, got scanResult, want map[string]expect) {
	t.Helper()
	results := got.byName()
	for name, w := range want {
		r, ok := results[name]
		if !ok {
			t.Errorf("%s: no result", name)
			continue
		}
		if r.Status != w.status || r.InternetPath != w.path {
			t.Errorf("%s: %s/%s, want %s/%s; checks %+v; evidence %+v", name, r.Status, r.InternetPath, w.status, w.path, r.Checks, r.Evidence)
		}
		if w.check != "" {
			found := false
			for _, c := range r.Checks {
				if c.ID == w.check && c.Status == w.status {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: sub-check %s is not %s: %+v", name, w.check, w.status, r.Checks)
			}
		}
		if len(r.Reproduce.Strings()) == 0 {
			t.Errorf("%s: no reproducing commands", name)
		}
	}
}

func TestE2EVerdicts(t *testing.T) {
	m := moto.ForTest(t)
	want := verdictEstate(t, clientsFor(m.URL(), "us-east-1"))
	got := scan(t, m.URL(), "--regions", "us-east-1")
	if got.code != 1 {
		t.Fatalf("exit = %d, want 1; stderr %s", got.code, got.stderr)
	}
	if !got.report.Complete || len(got.report.Errors) != 0 {
		t.Fatalf("report incomplete: %+v", got.report.Errors)
	}
	if len(got.report.Results) != len(want) {
		t.Errorf("%d results, want %d", len(got.report.Results), len(want))
	}
	checkVerdicts(t, got, want)

	// The saved inventory reproduces the same results offline.
	inv := filepath.Join(t.TempDir(), "inv.json")
	saved := scan(t, m.URL(), "--regions", "us-east-1", "--save-inventory", inv)
	offline := scan(t, "http://127.0.0.1:1", "--input", inv)
	if saved.code != offline.code || len(offline.report.Results) != len(saved.report.Results) {
		t.Fatalf("offline exit %d / %d results, live %d / %d", offline.code, len(offline.report.Results), saved.code, len(saved.report.Results))
	}
	for i := range saved.report.Results {
		a, b := saved.report.Results[i], offline.report.Results[i]
		if a.Resource.Name != b.Resource.Name || a.Status != b.Status || a.InternetPath != b.InternetPath {
			t.Errorf("offline %s %s/%s differs from live %s/%s", a.Resource.Name, b.Status, b.InternetPath, a.Status, a.InternetPath)
		}
	}
}

func TestE2EFSBPProfile(t *testing.T) {
	m := moto.ForTest(t)
	want := verdictEstate(t, clientsFor(m.URL(), "us-east-1"))
	got := scan(t, m.URL(), "--regions", "us-east-1", "--control-profile", "fsbp")
	for name, r := range got.byName() {
		wantStatus := finding.StatusPass
		if want[name].path == "direct" {
			wantStatus = finding.StatusFail
		}
		if r.Status != wantStatus {
			t.Errorf("fsbp %s = %s, want %s (only the flag decides)", name, r.Status, wantStatus)
		}
	}
}

func TestE2EPaginationAndCallBudget(t *testing.T) {
	m := moto.ForTest(t)
	c := clientsFor(m.URL(), "us-east-1")
	ctx := context.Background()
	net := must[testenv.Network](t)(testenv.CreateNetwork(ctx, c.ec2, "10.0.0.0/16"))
	const n = 105
	for i := 0; i < n; i++ {
		subnet := net.PrivateSubnetID
		if i%2 == 0 {
			subnet = net.IsolatedSubnetID
		}
		if _, err := testenv.CreateNotebook(ctx, c.sm, testenv.Notebook{Name: fmt.Sprintf("nb-%03d", i), DirectInternetAccess: "Disabled", SubnetID: subnet, SecurityGroupIDs: []string{net.DefaultSecurityGroupID}}); err != nil {
			t.Fatal(err)
		}
	}
	proxy := testenv.NewFaultProxy(t, m.URL())
	got := scan(t, proxy.URL(), "--regions", "us-east-1", "--stats")
	if len(got.report.Results) != n {
		t.Fatalf("%d results, want %d", len(got.report.Results), n)
	}
	if pages := proxy.Calls("sagemaker:ListNotebookInstances"); pages != 2 {
		t.Errorf("ListNotebookInstances pages = %d, want ceil(%d/100) = 2", pages, n)
	}
	if d := proxy.Calls("sagemaker:DescribeNotebookInstance"); d != n {
		t.Errorf("DescribeNotebookInstance calls = %d, want %d", d, n)
	}
	if ec2Calls := proxy.Calls("ec2:*") - proxy.Calls("ec2:DescribeRegions"); ec2Calls > 12 {
		t.Errorf("EC2 calls in the region = %d, want at most 12: %v", ec2Calls, proxy.Counts())
	}
	if !strings.Contains(got.stderr, "sagemaker:DescribeNotebookInstance") {
		t.Errorf("--stats does not list calls per operation:\n%s", got.stderr)
	}
}

func TestE2ERegionDiscovery(t *testing.T) {
	m := moto.ForTest(t)
	ctx := context.Background()
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		c := clientsFor(m.URL(), region)
		if _, err := testenv.CreateNotebook(ctx, c.sm, testenv.Notebook{Name: "nb-" + region, DirectInternetAccess: "Enabled"}); err != nil {
			t.Fatal(err)
		}
	}
	proxy := testenv.NewFaultProxy(t, m.URL())
	got := scan(t, proxy.URL())
	if got.code != 1 {
		t.Fatalf("exit = %d; stderr %s; errors %+v", got.code, got.stderr, got.report.Errors)
	}
	regions := map[string]bool{}
	for _, r := range got.report.Results {
		regions[r.Region] = true
	}
	if !regions["us-east-1"] || !regions["eu-west-1"] || len(regions) != 2 {
		t.Errorf("regions with results = %v", regions)
	}
	// moto lists cn- and us-gov- regions too: they are another partition.
	if got := proxy.Calls("sagemaker:ListNotebookInstances"); got == 0 {
		t.Fatal("no region scanned")
	}
	for _, e := range got.report.Errors {
		if strings.HasPrefix(e.Region, "cn-") || strings.HasPrefix(e.Region, "us-gov-") {
			t.Errorf("scanned a region of another partition: %+v", e)
		}
	}
}

func TestE2EBadConfiguration(t *testing.T) {
	m := moto.ForTest(t)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown region", []string{"--regions", "us-east-9"}, "us-east-9"},
		{"unknown profile", []string{"--profile", "no-such-profile"}, "no-such-profile"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := scan(t, m.URL(), c.args...)
			if got.code != 2 {
				t.Errorf("exit = %d, want 2; stderr %q", got.code, got.stderr)
			}
			if strings.Count(strings.TrimSpace(got.stderr), "\n") != 0 || !strings.Contains(got.stderr, c.want) {
				t.Errorf("stderr = %q, want one line naming %q", got.stderr, c.want)
			}
			if got.stdout != "" {
				t.Errorf("stdout = %q", got.stdout)
			}
		})
	}
}

// TestE2EFaults: whatever the emulator's answers, no false PASS and nothing
// silently lost.
func TestE2EFaults(t *testing.T) {
	m := moto.ForTest(t)
	want := verdictEstate(t, clientsFor(m.URL(), "us-east-1"))
	baseline := scan(t, m.URL(), "--regions", "us-east-1")

	cases := []struct {
		name  string
		rules []testenv.Rule
		args  []string
		check func(t *testing.T, got scanResult)
	}{
		{"access denied on one notebook", []testenv.Rule{{Op: "sagemaker:DescribeNotebookInstance", When: testenv.ParamEquals("NotebookInstanceName", "isolated"), Fault: testenv.AccessDenied()}}, nil,
			func(t *testing.T, got scanResult) {
				wantExit(t, got, 3)
				rs := got.byName()
				if r := rs["isolated"]; r.Status != "ERROR" || r.InternetPath != "unknown" {
					t.Errorf("denied notebook = %s/%s, want ERROR/unknown", r.Status, r.InternetPath)
				}
				delete(want, "isolated")
				checkVerdicts(t, got, want)
				want["isolated"] = expect{"PASS", "none", ""}
				hasError(t, got, "sagemaker:DescribeNotebookInstance", "isolated")
			}},
		{"route tables denied in the region", []testenv.Rule{{Op: "ec2:DescribeRouteTables", Fault: testenv.AccessDenied()}}, nil,
			func(t *testing.T, got scanResult) {
				wantExit(t, got, 3)
				for name, r := range got.byName() {
					if want[name].path == "direct" {
						if r.Status != "FAIL" && r.Status != "ERROR" {
							t.Errorf("%s = %s", name, r.Status)
						}
						continue
					}
					if r.Status != "ERROR" {
						t.Errorf("%s = %s without route tables, want ERROR", name, r.Status)
					}
				}
				if r := got.byName()["no-vpc"]; r.Status != "FAIL" {
					t.Errorf("no-vpc needs no route table and must still FAIL, got %s", r.Status)
				}
				hasError(t, got, "ec2:DescribeRouteTables", "")
			}},
		{"throttling on a third of calls", []testenv.Rule{{Op: "*", Fraction: 0.33, Seed: 7, Fault: testenv.Throttle()}}, []string{"--stats"},
			func(t *testing.T, got scanResult) {
				wantExit(t, got, 1)
				sameAs(t, got, baseline)
				if !strings.Contains(strings.ToLower(got.stderr), "throttl") {
					t.Errorf("--stats does not report throttles:\n%s", got.stderr)
				}
			}},
		{"HTTP 500 on every other call", []testenv.Rule{{Op: "*", Every: 2, Fault: testenv.ServerError()}}, nil,
			func(t *testing.T, got scanResult) {
				wantExit(t, got, 1)
				sameAs(t, got, baseline)
			}},
		{"dropped connections", []testenv.Rule{{Op: "ec2:*", Every: 3, Fault: testenv.Drop()}}, nil,
			func(t *testing.T, got scanResult) {
				wantExit(t, got, 1)
				sameAs(t, got, baseline)
			}},
		{"slow EC2 with a short timeout", []testenv.Rule{{Op: "ec2:DescribeSecurityGroups", Fault: testenv.Slow(20 * time.Second)}}, []string{"--call-timeout", "2s"},
			func(t *testing.T, got scanResult) {
				wantExit(t, got, 3)
				noFalsePass(t, got, baseline)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			proxy := testenv.NewFaultProxy(t, m.URL())
			proxy.Add(c.rules...)
			got := scan(t, proxy.URL(), append([]string{"--regions", "us-east-1"}, c.args...)...)
			c.check(t, got)
			noFalsePass(t, got, baseline)
		})
	}
}

func wantExit(t *testing.T, got scanResult, code int) {
	t.Helper()
	if got.code != code {
		t.Errorf("exit = %d, want %d; stderr %s; errors %+v", got.code, code, got.stderr, got.report.Errors)
	}
	if code == 3 && got.report.Complete {
		t.Error("exit 3 but complete = true")
	}
}

func hasError(t *testing.T, got scanResult, op, resource string) {
	t.Helper()
	for _, e := range got.report.Errors {
		if e.Operation == op && (resource == "" || e.Resource == resource) {
			return
		}
	}
	t.Errorf("errors do not name %s %s: %+v", op, resource, got.report.Errors)
}

// sameAs: every notebook has the verdict it had without faults.
func sameAs(t *testing.T, got, base scanResult) {
	t.Helper()
	b := base.byName()
	if len(got.report.Results) != len(b) {
		t.Errorf("%d results, want %d", len(got.report.Results), len(b))
	}
	for name, r := range got.byName() {
		if r.Status != b[name].Status || r.InternetPath != b[name].InternetPath {
			t.Errorf("%s = %s/%s, without faults %s/%s", name, r.Status, r.InternetPath, b[name].Status, b[name].InternetPath)
		}
	}
}

// noFalsePass: a notebook that does not pass without faults never passes
// with them, and none disappears.
func noFalsePass(t *testing.T, got, base scanResult) {
	t.Helper()
	g := got.byName()
	for name, r := range base.byName() {
		gr, ok := g[name]
		if !ok {
			t.Errorf("%s lost from the report", name)
			continue
		}
		if gr.Status == "PASS" && r.Status != "PASS" {
			t.Errorf("%s PASSes under faults but is %s without", name, r.Status)
		}
	}
}

// imdsV1 serves an instance metadata service that refuses IMDSv2 tokens
// and has no role: the SDK falls back to IMDSv1 and finds no credentials.
func imdsV1(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestE2EMissingConfiguration: no region or no credentials is a
// configuration error (exit 2, one line), found before anything is read.
func TestE2EMissingConfiguration(t *testing.T) {
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull, "AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL=http://127.0.0.1:1"}
	for _, c := range []struct {
		name string
		env  []string
		want string
	}{
		{"no region", []string{"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing"}, "no AWS region"},
		{"no credentials", []string{"AWS_REGION=us-east-1"}, "credentials"},
		// An instance metadata service without IMDSv2 tokens: the SDK
		// falls back to IMDSv1 and logs a warning, which must not reach
		// stderr before sagefence's own line.
		{"no credentials and an IMDSv1 metadata service", []string{"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=false",
			"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imdsV1(t)}, "credentials"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(binary, "scan")
			cmd.Env = append(append([]string{}, base...), c.env...)
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("err = %v, want exit 2; stderr %q", err, errOut.String())
			}
			if msg := errOut.String(); strings.Count(msg, "\n") != 1 || !strings.Contains(msg, c.want) {
				t.Errorf("stderr = %q, want one line about %q", msg, c.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout = %q", out.String())
			}
		})
	}
}
