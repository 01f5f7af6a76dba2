package cli

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagefence/sagefence/internal/iostreams"
	"github.com/sagefence/sagefence/internal/permissions"
	"github.com/sagefence/sagefence/internal/testenv"
)

func TestGuardrailFormats(t *testing.T) {
	for _, format := range []string{"scp", "iam"} {
		ios, _, out, _ := iostreams.Test()
		if code := Main(context.Background(), ios, []string{"guardrail", "--format", format, "--exempt-principal", "arn:aws:iam::*:role/BreakGlass"}); code != 0 {
			t.Fatalf("%s: exit %d", format, code)
		}
		var doc struct {
			Statement []struct {
				Effect    string
				Action    any
				Condition map[string]map[string]any
			}
		}
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("%s: not JSON: %v", format, err)
		}
		var denies, exempt int
		for _, s := range doc.Statement {
			if s.Effect == "Deny" {
				denies++
			}
			if _, ok := s.Condition["ArnNotLike"]; ok {
				exempt++
			}
		}
		if denies < 2 || exempt == 0 {
			t.Errorf("%s: %d deny statements, %d exemptions: %s", format, denies, exempt, out)
		}
	}
	for _, format := range []string{"cloudformation", "terraform"} {
		ios, _, out, _ := iostreams.Test()
		if code := Main(context.Background(), ios, []string{"guardrail", "--format", format}); code != 0 || !strings.Contains(out.String(), "sagemaker:DirectInternetAccess") {
			t.Errorf("%s: exit %d, output %q", format, code, out)
		}
	}
	for _, args := range [][]string{{"guardrail", "--format", "yaml"}, {"guardrail", "--kind", "rcp"}} {
		ios, _, _, errOut := iostreams.Test()
		if code := Main(context.Background(), ios, args); code != ExitUsage || strings.Count(errOut.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

func policyActions(t *testing.T, doc []byte) []string {
	t.Helper()
	var p struct {
		Statement []struct {
			Action []string
		}
	}
	if err := json.Unmarshal(doc, &p); err != nil {
		t.Fatalf("policy is not JSON: %v\n%s", err, doc)
	}
	var out []string
	for _, s := range p.Statement {
		out = append(out, s.Action...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestIAMPolicyModes(t *testing.T) {
	for _, mode := range []permissions.Mode{permissions.ModeAudit, permissions.ModeRemediate} {
		ios, _, out, _ := iostreams.Test()
		if code := Main(context.Background(), ios, []string{"iam-policy", "--for", string(mode)}); code != 0 {
			t.Fatalf("exit %d", code)
		}
		got := policyActions(t, out.Bytes())
		for _, a := range permissions.Needed(mode) {
			if !slices.Contains(got, a.String()) {
				t.Errorf("%s policy lacks %s", mode, a)
			}
		}
		if mode == permissions.ModeAudit {
			for _, a := range got {
				if !strings.Contains(a, ":Describe") && !strings.Contains(a, ":List") && !strings.Contains(a, ":Get") && !strings.Contains(a, ":Search") {
					t.Errorf("audit policy grants a non-read action %s", a)
				}
			}
		}
	}
	ios, _, _, _ := iostreams.Test()
	if code := Main(context.Background(), ios, []string{"iam-policy", "--for", "admin"}); code != ExitUsage {
		t.Errorf("bad mode: exit %d", code)
	}
}

// TestREADMEAuditPermissions keeps the README's policy true: it lists
// exactly the actions a scan needs.
func TestREADMEAuditPermissions(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var doc []string
	for _, m := range regexp.MustCompile(`"((?:sts|ec2|sagemaker):[A-Za-z]+)"`).FindAllStringSubmatch(string(b), -1) {
		doc = append(doc, m[1])
	}
	slices.Sort(doc)
	doc = slices.Compact(doc)
	var want []string
	for _, a := range permissions.Needed(permissions.ModeAudit) {
		want = append(want, a.String())
	}
	slices.Sort(want)
	if !slices.Equal(doc, want) {
		t.Errorf("README lists %v, the scan needs %v", doc, want)
	}
}

func TestPreflightAgainstMoto(t *testing.T) {
	m := testenv.MotoForTest(t)
	// moto 5.2 lacks the Studio profile, space and app reads; the proxy
	// answers them (MOTO-NOTES.md).
	proxy := testenv.NewFaultProxy(t, m.URL())
	proxy.Add(testenv.MotoStudioAnswers(testenv.NewStudioLedger())...)
	testenv.SetAWSEnv(t, proxy.URL())
	// moto answers ListTags only for an existing notebook.
	if _, err := testenv.CreateNotebook(context.Background(), sagemaker.NewFromConfig(testenv.Config(m.URL())), testenv.Notebook{Name: "nb", DirectInternetAccess: "Disabled"}); err != nil {
		t.Fatal(err)
	}
	ios, _, out, errOut := iostreams.Test()
	code := Main(context.Background(), ios, []string{"preflight", "--regions", "us-east-1", "--format", "json"})
	if code != 0 {
		t.Fatalf("exit %d; stderr %s; %s", code, errOut, out)
	}
	var rep struct {
		Identity struct {
			Account string `json:"account"`
		} `json:"identity"`
		Checks []struct {
			Action string `json:"action"`
			Status string `json:"status"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Checks) == 0 {
		t.Fatal("no checks")
	}

	// One read denied: preflight names it and exits 1.
	proxy = testenv.NewFaultProxy(t, m.URL())
	proxy.Add(testenv.Rule{Op: "ec2:DescribeNetworkAcls", Fault: testenv.AccessDenied()})
	proxy.Add(testenv.MotoStudioAnswers(testenv.NewStudioLedger())...)
	ios, _, out, _ = iostreams.Test()
	code = Main(context.Background(), ios, []string{"preflight", "--regions", "us-east-1", "--endpoint-url", proxy.URL()})
	if code != 1 {
		t.Fatalf("exit %d with a denied read, want 1:\n%s", code, out)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "DescribeNetworkAcls") && !strings.Contains(strings.ToLower(line), "denied") {
			t.Errorf("denied action not marked denied: %q", line)
		}
	}
	if !strings.Contains(out.String(), "DescribeNetworkAcls") {
		t.Errorf("table does not name the denied action:\n%s", out)
	}
}
