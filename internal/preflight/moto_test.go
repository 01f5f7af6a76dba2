package preflight

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagefence/sagefence/internal/permissions"
	"github.com/sagefence/sagefence/internal/testenv"
)

// moto is one emulator for this package's tests; each test resets it.
var moto testenv.SharedMoto

func TestMain(m *testing.M) { testenv.Main(m, &moto) }

// seed gives the emulated account what a real one has: a VPC with a
// subnet and security group, a notebook in it, and a transit gateway (with
// its default route table), so the read probes that need a resource have
// one.
func seed(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	cfg := testenv.Config(url)
	ec := ec2.NewFromConfig(cfg)
	vpc, err := testenv.CreateVPC(ctx, ec, "10.20.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	subnet, err := testenv.CreateSubnet(ctx, ec, vpc, "10.20.1.0/24", false)
	if err != nil {
		t.Fatal(err)
	}
	sg, err := testenv.CreateSecurityGroup(ctx, ec, vpc, testenv.SecurityGroup{Name: "nb"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testenv.CreateNotebook(ctx, sagemaker.NewFromConfig(cfg), testenv.Notebook{
		Name: "nb-1", SubnetID: subnet, SecurityGroupIDs: []string{sg}, DirectInternetAccess: "Disabled",
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := testenv.CreateTransitGateway(ctx, ec); err != nil {
		t.Fatal(err)
	}
}

// withStudio puts a proxy in front of moto that answers the Studio reads
// moto 5.2 lacks (ListUserProfiles, DescribeUserProfile, ListSpaces,
// ListApps; MOTO-NOTES.md) and returns its URL.
func withStudio(t *testing.T, url string) string {
	p := testenv.NewFaultProxy(t, url)
	p.Add(testenv.MotoStudioAnswers(testenv.NewStudioLedger())...)
	return p.URL()
}

// clientsFor builds real SDK clients against url, recording every
// operation they invoke.
func clientsFor(url string, rec *permissions.Recorder) Clients {
	cfg := testenv.Config(url)
	cfg.APIOptions = append(cfg.APIOptions, rec.APIOption)
	return NewClients(cfg)
}

func table(t *testing.T, r Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.Table(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// line finds the table line of a permission in a region.
func line(tbl, action, region string) string {
	for _, l := range strings.Split(tbl, "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && f[1] == action && f[2] == region {
			return l
		}
	}
	return ""
}

func TestAuditAgainstMotoIsAllGranted(t *testing.T) {
	m := moto.ForTest(t)
	seed(t, m.URL())
	rec := permissions.NewRecorder()

	r, err := Run(context.Background(), clientsFor(withStudio(t, m.URL()), rec), Options{Mode: permissions.ModeAudit})
	if err != nil {
		t.Fatal(err)
	}
	tbl := table(t, r)
	if r.ExitCode() != ExitOK || !r.OK() {
		t.Fatalf("exit %d, want 0:\n%s", r.ExitCode(), tbl)
	}
	var got []string
	for _, c := range r.Checks {
		got = append(got, c.Action)
		if c.Status != StatusGranted {
			t.Errorf("%s@%s: %s (%s)", c.Action, c.Region, c.Status, c.Detail)
		}
		if c.Reason == "" {
			t.Errorf("%s: no reason", c.Action)
		}
	}
	var want []string
	for _, a := range permissions.Needed(permissions.ModeAudit) {
		want = append(want, a.String())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("checked %v\nwant    %v", got, want)
	}
	if r.Identity.Account != testenv.AccountID || r.Identity.Partition != "aws" {
		t.Errorf("identity = %+v", r.Identity)
	}
	if !slices.Contains(r.EnabledRegions, "us-east-1") || slices.Contains(r.EnabledRegions, "ap-east-1") {
		t.Errorf("enabled regions = %v (ap-east-1 is opt-in)", r.EnabledRegions)
	}
	if !strings.Contains(tbl, "OK: all ") || strings.Contains(tbl, "DENIED") {
		t.Errorf("table:\n%s", tbl)
	}
	// Preflight itself only calls what the audit policy grants.
	if missing := rec.Missing(permissions.ModeAudit); len(missing) != 0 {
		t.Errorf("preflight called actions outside the audit list: %v", missing)
	}
}

func TestRemediateAgainstMotoDryRunsAndCannotSimulate(t *testing.T) {
	m := moto.ForTest(t)
	seed(t, m.URL())
	rec := permissions.NewRecorder()

	s3c := s3.NewFromConfig(testenv.Config(m.URL()), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("sagefence-backups")}); err != nil {
		t.Fatal(err)
	}

	r, err := Run(context.Background(), clientsFor(withStudio(t, m.URL()), rec), Options{
		Mode: permissions.ModeRemediate, BackupBucket: "s3://sagefence-backups/nb",
	})
	if err != nil {
		t.Fatal(err)
	}
	tbl := table(t, r)
	if c := check(t, r, "s3:ListBucket", ""); c.Status != StatusGranted || c.Method != MethodCall {
		t.Errorf("s3:ListBucket on an existing bucket = %s by %s (%s)", c.Status, c.Method, c.Detail)
	}
	if r.ExitCode() != ExitIncomplete {
		t.Fatalf("exit %d, want %d (moto cannot simulate policies):\n%s", r.ExitCode(), ExitIncomplete, tbl)
	}
	if len(r.Denied()) != 0 {
		t.Errorf("denied in moto: %v", r.Denied())
	}
	for _, c := range r.Checks {
		a, _ := permissions.Lookup(c.Action)
		switch {
		case c.Action == "iam:SimulatePrincipalPolicy":
			if c.Status != StatusNotVerifiable {
				t.Errorf("%s: %s (%s), want not verifiable in moto", c.Action, c.Status, c.Detail)
			}
		case c.Action == "ec2:AuthorizeSecurityGroupEgress" || c.Action == "ec2:RevokeSecurityGroupEgress":
			if c.Status != StatusGranted || c.Method != MethodDryRun {
				t.Errorf("%s: %s by %s (%s), want granted by dry-run", c.Action, c.Status, c.Method, c.Detail)
			}
		case c.Method == MethodSimulation:
			if c.Status != StatusNotVerifiable || !strings.Contains(c.Detail, "simulation unavailable") {
				t.Errorf("%s: %s (%s), want not verifiable: simulation unavailable", c.Action, c.Status, c.Detail)
			}
		case a.Access == permissions.AccessRead && c.Method != MethodSimulation:
			if c.Status != StatusGranted {
				t.Errorf("%s: %s (%s), want granted", c.Action, c.Status, c.Detail)
			}
		}
	}
	for _, want := range []string{"sagemaker:CreateNotebookInstance", "iam:PassRole", "ec2:ModifySubnetAttribute", "s3:GetObject"} {
		l := line(tbl, want, "us-east-1")
		if l == "" {
			l = line(tbl, want, "-")
		}
		if !strings.HasPrefix(l, "NOT-VERIFIABLE") || !strings.Contains(l, "simulation") {
			t.Errorf("table line for %s = %q", want, l)
		}
	}
	if !strings.Contains(tbl, "INCOMPLETE:") {
		t.Errorf("no INCOMPLETE verdict:\n%s", tbl)
	}
	if missing := rec.Missing(permissions.ModeRemediate); len(missing) != 0 {
		t.Errorf("preflight called actions outside the remediate list: %v", missing)
	}
	// The DryRun probes must not have changed the security group.
	out, err := ec2.NewFromConfig(testenv.Config(m.URL())).DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sg := range out.SecurityGroups {
		for _, p := range sg.IpPermissionsEgress {
			for _, rg := range p.IpRanges {
				if aws.ToString(rg.CidrIp) == "192.0.2.0/24" {
					t.Errorf("probe rule left in %s", aws.ToString(sg.GroupId))
				}
			}
		}
	}
}

func TestFaultProxyDenialsAreNamedExactly(t *testing.T) {
	m := moto.ForTest(t)
	seed(t, m.URL())
	proxy := testenv.NewFaultProxy(t, m.URL())
	inRegion := func(region string) func(testenv.Call) bool {
		return func(c testenv.Call) bool {
			return strings.Contains(c.Header.Get("Authorization"), "/"+region+"/")
		}
	}
	proxy.Add(
		// One read, denied in one region only.
		testenv.Rule{Op: "ec2:DescribeRouteTables", When: inRegion("eu-west-1"), Fault: testenv.AccessDenied()},
		// One EC2 DryRun write, denied everywhere.
		testenv.Rule{Op: "ec2:AuthorizeSecurityGroupEgress", When: testenv.ParamEquals("DryRun", "true"), Fault: testenv.AccessDenied()},
	)
	proxy.Add(testenv.MotoStudioAnswers(testenv.NewStudioLedger())...)
	rec := permissions.NewRecorder()
	r, err := Run(context.Background(), clientsFor(proxy.URL(), rec), Options{
		Mode: permissions.ModeRemediate, Regions: []string{"us-east-1", "eu-west-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tbl := table(t, r)
	if r.ExitCode() != ExitDenied {
		t.Fatalf("exit %d, want %d:\n%s", r.ExitCode(), ExitDenied, tbl)
	}
	var denied []string
	for _, c := range r.Denied() {
		denied = append(denied, c.Action+"@"+c.Region)
	}
	slices.Sort(denied)
	want := []string{
		"ec2:AuthorizeSecurityGroupEgress@eu-west-1",
		"ec2:AuthorizeSecurityGroupEgress@us-east-1",
		"ec2:DescribeRouteTables@eu-west-1",
	}
	if !slices.Equal(denied, want) {
		t.Fatalf("denied = %v, want %v\n%s", denied, want, tbl)
	}
	for _, tc := range []struct{ action, region, status, method, detail string }{
		{"ec2:DescribeRouteTables", "eu-west-1", "DENIED", "call", "UnauthorizedOperation"},
		{"ec2:DescribeRouteTables", "us-east-1", "GRANTED", "call", ""},
		{"ec2:AuthorizeSecurityGroupEgress", "us-east-1", "DENIED", "dry-run", "UnauthorizedOperation"},
		{"ec2:RevokeSecurityGroupEgress", "us-east-1", "GRANTED", "dry-run", "DryRunOperation"},
	} {
		l := line(tbl, tc.action, tc.region)
		f := strings.Fields(l)
		if len(f) < 4 || f[0] != tc.status || f[3] != tc.method || !strings.Contains(l, tc.detail) {
			t.Errorf("%s@%s: table line %q, want %s by %s mentioning %q", tc.action, tc.region, l, tc.status, tc.method, tc.detail)
		}
	}
	if !strings.Contains(tbl, "DENIED: 3 of ") ||
		!strings.Contains(tbl, "ec2:DescribeRouteTables@eu-west-1") {
		t.Errorf("verdict does not name the denials:\n%s", tbl)
	}
	if n := proxy.Injected("ec2:AuthorizeSecurityGroupEgress"); n != 2 {
		t.Errorf("proxy denied AuthorizeSecurityGroupEgress %d times, want once per region", n)
	}
	var js bytes.Buffer
	if err := r.JSON(&js); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"denied": 3`) {
		t.Errorf("JSON summary: %s", js.String())
	}
}

// simulator answers iam:SimulatePrincipalPolicy in the test proxy, which
// moto 5.2 cannot: every action allowed except those in deny. It records
// the context keys of each request by action.
type simulator struct {
	deny    map[string]bool
	mu      sync.Mutex
	context map[string][]string // action -> context key names
}

func (s *simulator) answer(c testenv.Call) (int, []byte) {
	var actions, keys []string
	for i := 1; ; i++ {
		a, ok := c.Params[fmt.Sprintf("ActionNames.member.%d", i)]
		if !ok {
			break
		}
		actions = append(actions, a)
	}
	for i := 1; ; i++ {
		k, ok := c.Params[fmt.Sprintf("ContextEntries.member.%d.ContextKeyName", i)]
		if !ok {
			break
		}
		keys = append(keys, k)
	}
	resource := c.Params["ResourceArns.member.1"]
	var b strings.Builder
	b.WriteString(`<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><SimulatePrincipalPolicyResult>` +
		`<IsTruncated>false</IsTruncated><EvaluationResults>`)
	s.mu.Lock()
	for _, a := range actions {
		s.context[a] = keys
		decision := "allowed"
		if s.deny[a] {
			decision = "implicitDeny"
		}
		fmt.Fprintf(&b, `<member><EvalActionName>%s</EvalActionName><EvalResourceName>%s</EvalResourceName><EvalDecision>%s</EvalDecision></member>`,
			a, html.EscapeString(resource), decision)
	}
	s.mu.Unlock()
	b.WriteString(`</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>`)
	return 200, []byte(b.String())
}

// With the simulation emulated in the proxy, preflight for remediate
// decides every permission against moto: reads by calling, egress changes
// by DryRun, the rest by the (emulated) simulator, whose one denial is
// the only one reported.
func TestRemediateAgainstMotoWithAnEmulatedSimulator(t *testing.T) {
	m := moto.ForTest(t)
	seed(t, m.URL())
	s3c := s3.NewFromConfig(testenv.Config(m.URL()), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("sagefence-backups")}); err != nil {
		t.Fatal(err)
	}
	sim := &simulator{deny: map[string]bool{"kms:CreateGrant": true}, context: map[string][]string{}}
	proxy := testenv.NewFaultProxy(t, m.URL())
	proxy.Add(testenv.Rule{Op: "iam:SimulatePrincipalPolicy", Fault: testenv.Fault{Answer: sim.answer}})
	proxy.Add(testenv.MotoStudioAnswers(testenv.NewStudioLedger())...)
	rec := permissions.NewRecorder()

	r, err := Run(context.Background(), clientsFor(proxy.URL(), rec), Options{
		Mode: permissions.ModeRemediate, BackupBucket: "s3://sagefence-backups/nb",
	})
	if err != nil {
		t.Fatal(err)
	}
	tbl := table(t, r)
	if r.ExitCode() != ExitDenied {
		t.Fatalf("exit %d, want %d (one permission denied):\n%s", r.ExitCode(), ExitDenied, tbl)
	}
	simulated := 0
	for _, c := range r.Checks {
		switch {
		case c.Action == "kms:CreateGrant":
			if c.Status != StatusDenied || !strings.Contains(c.Detail, "implicitDeny") {
				t.Errorf("%s@%s: %s (%s), want denied by the simulator", c.Action, c.Region, c.Status, c.Detail)
			}
		case c.Status != StatusGranted:
			t.Errorf("%s@%s: %s by %s (%s), want granted", c.Action, c.Region, c.Status, c.Method, c.Detail)
		}
		if c.Method == MethodSimulation {
			simulated++
		}
	}
	if simulated < 10 {
		t.Errorf("only %d permissions were simulated:\n%s", simulated, tbl)
	}
	sim.mu.Lock()
	defer sim.mu.Unlock()
	if keys := sim.context["kms:CreateGrant"]; !slices.Contains(keys, "kms:GrantIsForAWSResource") {
		t.Errorf("kms:CreateGrant simulated with context %v, want kms:GrantIsForAWSResource", keys)
	}
	if keys := sim.context["iam:PassRole"]; !slices.Contains(keys, "iam:PassedToService") {
		t.Errorf("iam:PassRole simulated with context %v, want iam:PassedToService", keys)
	}
	if missing := rec.Missing(permissions.ModeRemediate); len(missing) != 0 {
		t.Errorf("preflight called actions outside the remediate list: %v", missing)
	}
}
