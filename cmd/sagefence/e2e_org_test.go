package main

// End-to-end tests of organisation scans: the binary against an
// organization in moto. moto answers calls signed with AssumeRole
// credentials as the account in the role's ARN (the role need not exist),
// so member accounts are populated and read through the same role the scan
// assumes.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/testenv"
)

const orgRole = "OrganizationAccountAccessRole"

var orgRegions = []string{"eu-west-1", "us-east-1"}

func roleARN(account string) string { return "arn:aws:iam::" + account + ":role/" + orgRole }

// orgEstate makes moto's default account the management account of an
// organization with members member accounts, and gives every account, in
// each of orgRegions, a network and notebooksPer pairs of notebooks: one
// with direct internet access (FAIL) and one in an isolated subnet (PASS).
// It returns every account ID, the management account first.
func orgEstate(t *testing.T, url string, members, notebooksPer int) []string {
	t.Helper()
	ctx := context.Background()
	org := organizations.NewFromConfig(testenv.Config(url))
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	accounts := []string{testenv.AccountID}
	for i := range members {
		name := "member-" + string(rune('a'+i))
		out, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
		if err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, aws.ToString(out.CreateAccountStatus.AccountId))
	}
	for _, account := range accounts {
		for _, region := range orgRegions {
			cfg := testenv.Config(url)
			cfg.Region = region
			if account != testenv.AccountID {
				out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN(account)), RoleSessionName: aws.String("setup")})
				if err != nil {
					t.Fatal(err)
				}
				c := out.Credentials
				cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
			}
			ec, sm := ec2.NewFromConfig(cfg), sagemaker.NewFromConfig(cfg)
			net := must[testenv.Network](t)(testenv.CreateNetwork(ctx, ec, "10.0.0.0/16"))
			for i := range notebooksPer {
				suffix := "-" + account + "-" + region + "-" + string(rune('a'+i))
				for _, nb := range []testenv.Notebook{
					{Name: "direct" + suffix, DirectInternetAccess: "Enabled"},
					{Name: "isolated" + suffix, DirectInternetAccess: "Disabled", SubnetID: net.IsolatedSubnetID, SecurityGroupIDs: []string{net.DefaultSecurityGroupID}},
				} {
					if _, err := testenv.CreateNotebook(ctx, sm, nb); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	return accounts
}

func orgArgs(extra ...string) []string {
	return append([]string{"--org", "--role-name", orgRole, "--regions", strings.Join(orgRegions, ",")}, extra...)
}

// coverage maps account -> regions with results.
func coverage(r finding.Report) map[string][]string {
	out := map[string][]string{}
	for _, res := range r.Results {
		if !slices.Contains(out[res.AccountID], res.Region) {
			out[res.AccountID] = append(out[res.AccountID], res.Region)
		}
	}
	return out
}

func TestE2EOrgScan(t *testing.T) {
	m := moto.ForTest(t)
	accounts := orgEstate(t, m.URL(), 2, 1)
	proxy := testenv.NewFaultProxy(t, m.URL())
	got := scan(t, proxy.URL(), orgArgs("--stats")...)
	if got.code != 1 {
		t.Fatalf("exit = %d, want 1 (FAILs, complete); stderr %s; errors %+v", got.code, got.stderr, got.report.Errors)
	}
	if !got.report.Complete || len(got.report.Errors) != 0 {
		t.Fatalf("incomplete: %+v", got.report.Errors)
	}
	cov := coverage(got.report)
	for _, a := range accounts {
		if !slices.Equal(cov[a], orgRegions) {
			t.Errorf("account %s has results in %v, want %v", a, cov[a], orgRegions)
		}
	}
	if len(got.report.Results) != len(accounts)*len(orgRegions)*2 {
		t.Errorf("%d results", len(got.report.Results))
	}
	for _, r := range got.report.Results {
		want := finding.StatusPass
		if strings.HasPrefix(r.Resource.Name, "direct-") {
			want = finding.StatusFail
		}
		if r.Status != want || !strings.Contains(r.Resource.Name, r.AccountID) || !strings.Contains(r.Resource.ARN, ":"+r.AccountID+":") {
			t.Errorf("%s in %s/%s: %s (arn %s), want %s in its own account", r.Resource.Name, r.AccountID, r.Region, r.Status, r.Resource.ARN, want)
		}
	}
	// One AssumeRole per member account, none into the caller's own.
	if n := proxy.Calls("sts:AssumeRole"); n != len(accounts)-1 {
		t.Errorf("AssumeRole requests = %d, want %d", n, len(accounts)-1)
	}
	for _, want := range []string{"sts:AssumeRole", "organizations:ListAccounts", "region", "eu-west-1", "calls/s"} {
		if !strings.Contains(got.stderr, want) {
			t.Errorf("--stats output lacks %q:\n%s", want, got.stderr)
		}
	}
}

func TestE2EOrgOneAccountDenied(t *testing.T) {
	m := moto.ForTest(t)
	accounts := orgEstate(t, m.URL(), 2, 1)
	denied := accounts[1]
	proxy := testenv.NewFaultProxy(t, m.URL())
	proxy.Add(testenv.Rule{Op: "sts:AssumeRole", When: testenv.ParamEquals("RoleArn", roleARN(denied)), Fault: testenv.AccessDenied()})
	got := scan(t, proxy.URL(), orgArgs()...)
	wantExit(t, got, 3)
	named := false
	for _, e := range got.report.Errors {
		if e.AccountID == denied && e.Operation == "sts:AssumeRole" && e.Code == "AccessDenied" {
			named = true
		}
	}
	if !named {
		t.Errorf("errors do not name account %s and sts:AssumeRole: %+v", denied, got.report.Errors)
	}
	cov := coverage(got.report)
	if len(cov[denied]) != 0 {
		t.Errorf("denied account %s has results in %v", denied, cov[denied])
	}
	for _, a := range []string{accounts[0], accounts[2]} {
		if !slices.Equal(cov[a], orgRegions) {
			t.Errorf("account %s was not fully scanned: %v", a, cov[a])
		}
	}
	// The denial is not retried: one attempt for the denied account.
	if n := proxy.Calls("sts:AssumeRole"); n != 2 {
		t.Errorf("AssumeRole requests = %d, want 2 (one per member)", n)
	}
}

// TestE2EShardMergeRoundTrip: the shards of the organisation, merged, are
// the unsharded scan.
func TestE2EShardMergeRoundTrip(t *testing.T) {
	m := moto.ForTest(t)
	orgEstate(t, m.URL(), 3, 1)
	whole := scan(t, m.URL(), orgArgs()...)
	if whole.code != 1 || len(whole.report.Results) == 0 {
		t.Fatalf("unsharded scan: exit %d, %d results; stderr %s", whole.code, len(whole.report.Results), whole.stderr)
	}
	dir := t.TempDir()
	const n = 3
	var files []string
	seen, biggest, most := 0, 0, 0
	for k := range n {
		got := scan(t, m.URL(), orgArgs("--shard", string(rune('0'+k))+"/3")...)
		if got.code != 0 && got.code != 1 {
			t.Fatalf("shard %d/%d: exit %d; %s", k, n, got.code, got.stderr)
		}
		if sh := got.report.Shard; sh == nil || sh.Index != k || sh.Count != n {
			t.Errorf("shard %d/%d: report records shard %+v", k, n, sh)
		}
		seen += len(got.report.Results)
		if len(got.report.Results) > most {
			biggest, most = k, len(got.report.Results)
		}
		p := filepath.Join(dir, "shard-"+string(rune('0'+k))+".json")
		if err := os.WriteFile(p, []byte(got.stdout), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	if seen != len(whole.report.Results) {
		t.Errorf("the shards hold %d results, the unsharded scan %d", seen, len(whole.report.Results))
	}
	merged := run(t, append([]string{"merge", "--format", "json"}, files...)...)
	if merged.code != whole.code {
		t.Errorf("merge exit = %d, want %d; stderr %s", merged.code, whole.code, merged.stderr)
	}
	var got finding.Report
	if err := json.Unmarshal([]byte(merged.stdout), &got); err != nil {
		t.Fatalf("merged report: %v", err)
	}
	want := whole.report
	for _, r := range []*finding.Report{&want, &got} {
		r.StartedAt, r.FinishedAt = time.Time{}, time.Time{}
	}
	wantJSON, _ := json.Marshal(want)
	gotJSON, _ := json.Marshal(got)
	if !bytes.Equal(wantJSON, gotJSON) {
		t.Errorf("merged shards differ from the unsharded scan:\nwant %s\ngot  %s", wantJSON, gotJSON)
	}
	if got.Shard != nil {
		t.Errorf("the merged report still records shard %+v", got.Shard)
	}
	// A missing shard makes the merge incomplete and is named.
	partial := run(t, "merge", "--format", "json", files[0], files[1])
	var part finding.Report
	if err := json.Unmarshal([]byte(partial.stdout), &part); err != nil {
		t.Fatalf("merge without shard 2/3: %v; stderr %s", err, partial.stderr)
	}
	if partial.code != 3 || part.Complete || !slices.ContainsFunc(part.Errors, func(e finding.Error) bool { return e.Resource == "shard 2/3" }) {
		t.Errorf("merge without shard 2/3: exit %d, complete %v, errors %+v", partial.code, part.Complete, part.Errors)
	}
	// Merging a shard twice is refused.
	twice := run(t, "merge", files[biggest], files[biggest])
	if twice.code != 2 || !strings.Contains(twice.stderr, "overlap") || twice.stdout != "" {
		t.Errorf("merging a shard twice: exit %d, stdout %q, stderr %s", twice.code, twice.stdout, twice.stderr)
	}
}

// TestE2EInterruptMidScan: SIGINT while calls hang ends the scan within
// seconds with a valid, incomplete report and exit 130.
func TestE2EInterruptMidScan(t *testing.T) {
	m := moto.ForTest(t)
	orgEstate(t, m.URL(), 2, 2)
	proxy := testenv.NewFaultProxy(t, m.URL())
	proxy.Add(testenv.Rule{Op: "sagemaker:DescribeNotebookInstance", Fault: testenv.Slow(time.Minute)})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"scan", "--format", "json"}, orgArgs()...)...)
	cmd.Env = testenv.Environ(proxy.URL())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until describes hang in every account's first regions.
	deadline := time.Now().Add(time.Minute)
	for proxy.Calls("sagemaker:DescribeNotebookInstance") < 4 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()
	err := cmd.Wait()
	d := time.Since(signalled)
	t.Logf("the scan ended %v after SIGINT", d)
	if d > 10*time.Second {
		t.Errorf("the scan ended %v after SIGINT", d)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit: %v, want 130; stderr %s", err, errOut.String())
	}
	var rep finding.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, out.String())
	}
	if rep.Complete {
		t.Error("an interrupted scan reports complete = true")
	}
	interrupted := false
	for _, e := range rep.Errors {
		interrupted = interrupted || strings.Contains(e.Message, "interrupted")
	}
	if !interrupted {
		t.Errorf("errors do not say the scan was interrupted: %+v", rep.Errors)
	}
	for _, r := range rep.Results {
		if r.Status == finding.StatusPass && strings.HasPrefix(r.Resource.Name, "direct-") {
			t.Errorf("%s PASSes in an interrupted scan", r.Resource.Name)
		}
	}
}

// run runs the binary with args and no AWS endpoint.
func run(t *testing.T, args ...string) scanResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = testenv.Environ("http://127.0.0.1:1")
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
	return res
}
