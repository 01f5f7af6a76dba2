package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	shsdk "github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/sagefence/sagefence/internal/iostreams"
	"github.com/sagefence/sagefence/internal/securityhub"
	"github.com/sagefence/sagefence/internal/testenv"
)

// Security Hub operations as the test proxy names them (REST-JSON).
const (
	opImportFindings = "securityhub:POST /findings/import"
	opUpdateFindings = "securityhub:PATCH /findings/batchupdate"
)

// TestScanPushKeepsSecurityHubWorkflowInStepWithExceptions pushes the
// example estate to moto's Security Hub four times: without exceptions,
// with the example's (marketing-etl muted), with them again, and with
// none matching any more.
func TestScanPushKeepsSecurityHubWorkflowInStepWithExceptions(t *testing.T) {
	m := testenv.MotoForTest(t)
	proxy := testenv.NewFaultProxy(t, m.URL())
	proxy.Add(testenv.SecurityHubWorkflow(t, m.URL())...)
	testenv.SetAWSEnv(t, proxy.URL())
	ctx := context.Background()
	noneMatch := filepath.Join(t.TempDir(), "none.yaml")
	if err := os.WriteFile(noneMatch, []byte("exceptions: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	push := func(exceptionsFile string) (updates int) {
		t.Helper()
		proxy.ResetCounts()
		args := []string{"scan", "--input", example, "--push-securityhub", "--format", "json"}
		if exceptionsFile != "" {
			args = append(args, "--exceptions", exceptionsFile)
		}
		ios, _, _, errOut := iostreams.Test()
		if code := Main(ctx, ios, args); code != ExitIncomplete {
			t.Fatalf("exit = %d, want 3 (the example has ERROR results); stderr %q", code, errOut)
		}
		if strings.Contains(errOut.String(), "security hub") {
			t.Fatalf("stderr = %q", errOut)
		}
		return proxy.Calls(opUpdateFindings)
	}
	// marketing-etl's workflow and note, from moto directly.
	marketing := func() string {
		t.Helper()
		c := shsdk.NewFromConfig(testenv.Config(m.URL()))
		out, err := c.GetFindings(ctx, &shsdk.GetFindingsInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range out.Findings {
			if aws.ToString(f.Resources[0].Details.AwsSageMakerNotebookInstance.NotebookInstanceName) != "marketing-etl" {
				continue
			}
			s := string(f.Workflow.Status)
			if f.Note != nil {
				s += " by " + aws.ToString(f.Note.UpdatedBy) + ": " + aws.ToString(f.Note.Text)
			}
			return s
		}
		t.Fatal("no finding for marketing-etl")
		return ""
	}

	if n := push(""); n != 0 || marketing() != "NEW" {
		t.Fatalf("without exceptions: %d workflow updates, marketing-etl %q; want none and NEW", n, marketing())
	}
	if n := push(exampleExceptions); n != 1 {
		t.Errorf("with the example's exceptions: %d update calls, want 1", n)
	}
	want := "SUPPRESSED by sagefence: Muted (exception): Pulls campaign data from a vendor SFTP server " +
		"that has no private endpoint (SEC-2041) (owner marketing-data@example.com, expires 2099-12-31)."
	if got := marketing(); got != want {
		t.Errorf("marketing-etl = %q, want %q", got, want)
	}
	if n := push(exampleExceptions); n != 0 || marketing() != want {
		t.Errorf("the same push again: %d update calls, marketing-etl %q; want none and unchanged", n, marketing())
	}
	if n := push(noneMatch); n != 1 {
		t.Errorf("with no exception matching: %d update calls, want 1", n)
	}
	if got, want := marketing(), "NEW by sagefence: "+securityhub.Reopened; got != want {
		t.Errorf("marketing-etl = %q, want %q", got, want)
	}

	// On a terminal the push says what it did.
	ios, _, _, errOut := iostreams.Test()
	ios.SetStderrTTY(true)
	Main(ctx, ios, []string{"scan", "--input", example, "--push-securityhub", "--exceptions", exampleExceptions, "--format", "json"})
	if want := "security hub: imported 16 of 16 findings in 2 account-region(s); workflow: 1 suppressed, 0 reopened\n"; !strings.HasSuffix(errOut.String(), want) {
		t.Errorf("stderr on a terminal = %q, want it to end with %q", errOut, want)
	}
}

// A live scan with --push-securityhub resolves its credentials once: a
// credential process (or an SSO login, or an assumed role) runs once, not
// once for the collection and once more for the push.
func TestScanWithPushResolvesCredentialsOnce(t *testing.T) {
	m := testenv.MotoForTest(t)
	testenv.SetAWSEnv(t, m.URL())
	ctx := context.Background()
	if _, err := testenv.CreateNotebook(ctx, sagemaker.NewFromConfig(testenv.Config(m.URL())), testenv.Notebook{Name: "nb"}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	script := filepath.Join(dir, "credentials.sh")
	body := "#!/bin/sh\necho run >> '" + runs + "'\n" +
		`echo '{"Version": 1, "AccessKeyId": "testing", "SecretAccessKey": "testing"}'` + "\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	profile := "[profile counted]\ncredential_process = " + script + "\nregion = " + testenv.Region + "\n"
	if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte(profile), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, _, out, errOut := iostreams.Test()
	code := Main(ctx, ios, []string{"scan", "--profile", "counted", "--regions", testenv.Region, "--push-securityhub", "--format", "json"})
	if code != ExitFail || !strings.Contains(out.String(), `"nb"`) {
		t.Fatalf("exit %d, stderr %q: want 1 and a report of nb", code, errOut)
	}
	got, err := os.ReadFile(runs)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(got), "run\n"); n != 1 {
		t.Errorf("the credential process ran %d times, want once", n)
	}
}
