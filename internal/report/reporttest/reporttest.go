// Package reporttest provides what every report writer's tests share: one
// fixed report with deterministic times that exercises every status, hostile
// AWS-supplied values (HTML, formula and markdown injection), collection
// errors and expired exceptions; and a golden-file comparison helper.
package reporttest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sagefence/sagefence/internal/finding"
)

// XSSName is a notebook name that must render as text, never as markup.
const XSSName = `<img src=x onerror=alert(1)>`

// FormulaName is a notebook name that a spreadsheet would evaluate.
const FormulaName = `=HYPERLINK("http://127.0.0.1/x","click")`

// Started is when the fixture report's scan started.
func Started() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }

// Finished is when the fixture report's scan finished.
func Finished() time.Time { return Started().Add(42 * time.Second) }

// Compliance is the control's compliance mapping as the control package
// fills it (CONTROL.md).
func Compliance() map[string][]string {
	return map[string][]string{
		"aws-securityhub": {"SageMaker.1"},
		"aws-config":      {"sagemaker-notebook-no-direct-internet-access"},
		"cis-controls-v8": {"3.4", "6.7", "6.8", "14.6"},
		"nist-800-53-r5":  {"AC-4", "SC-7"},
		"soc2":            {"CC6.1", "CC6.6"},
		"hipaa":           {"164.312(e)(1)"},
		"pci-dss-4.0":     {"1.4.1"},
	}
}

func arn(account, region, name string) string {
	return "arn:aws:sagemaker:" + region + ":" + account + ":notebook-instance/" + name
}

func reproduce(name, region string) []string {
	return []string{
		"aws sagemaker describe-notebook-instance --notebook-instance-name '" + name + "' --region " + region +
			" --query '{DirectInternetAccess:DirectInternetAccess,SubnetId:SubnetId,SecurityGroups:SecurityGroups}'",
	}
}

const recreate = "Recreate the notebook with DirectInternetAccess=Disabled in a private subnet: back up " +
	"/home/ec2-user/SageMaker to S3, stop and delete the notebook, create it again with --direct-internet-access " +
	"Disabled --subnet-id and --security-group-ids, then restore the data."

func result(account, region, name string, status finding.Status, sev finding.Severity, path finding.InternetPath, checks ...finding.Check) finding.Result {
	return finding.Result{
		ControlID:    finding.ControlID,
		AccountID:    account,
		Region:       region,
		Resource:     finding.Resource{Type: finding.ResourceType, Name: name, ARN: arn(account, region, name)},
		Status:       status,
		Severity:     sev,
		InternetPath: path,
		Checks:       checks,
		Reproduce:    finding.CommandList(reproduce(name, region)...),
		Compliance:   Compliance(),
	}
}

// Report returns a fresh copy of the fixture report: one result of every
// status across two accounts and three regions, a collection error and an
// expired exception. Callers may modify it.
func Report() *finding.Report {
	t := true
	f := false

	direct := result("111111111111", "us-east-1", "data-science-prod", finding.StatusFail, finding.SeverityHigh, finding.PathDirect,
		finding.Check{ID: "direct-internet-access", Status: finding.StatusFail, Severity: finding.SeverityHigh, Message: "DirectInternetAccess is Enabled: SageMaker gives the notebook its own internet path"},
		finding.Check{ID: "internet-egress-path", Status: finding.StatusNotApplicable, Message: "not evaluated: the notebook has direct internet access"},
		finding.Check{ID: "public-subnet", Status: finding.StatusPass, Severity: finding.SeverityMedium, Message: "subnet-0a1 routes 0.0.0.0/0 to nat-0f1; MapPublicIpOnLaunch is false"},
		finding.Check{ID: "open-ingress", Status: finding.StatusPass, Severity: finding.SeverityHigh, Message: "no security group allows ingress from 0.0.0.0/0 or ::/0"},
	)
	direct.Resource.Tags = map[string]string{"team": "data-science", "env": "prod"}
	direct.Evidence = finding.Evidence{
		DirectInternetAccess: "Enabled", NotebookStatus: "InService", RootAccess: "Enabled",
		SubnetID: "subnet-0a1", VPCID: "vpc-0a1", SecurityGroupIDs: []string{"sg-0a1", "sg-0a2"},
		NetworkInterfaceID: "eni-0a1", MapPublicIPOnLaunch: &f,
		RouteTableID: "rtb-0a1", RouteTableSource: "explicit", NetworkACLID: "acl-0a1",
		Routes:       []string{"0.0.0.0/0 -> nat-0f1 (nat)"},
		DecidingRule: "DirectInternetAccess=Enabled",
	}
	direct.Remediation = recreate

	pass := result("111111111111", "us-east-1", "secure-vpc-notebook", finding.StatusPass, finding.SeverityInformational, finding.PathNone,
		finding.Check{ID: "direct-internet-access", Status: finding.StatusPass, Severity: finding.SeverityHigh, Message: "DirectInternetAccess is Disabled and the notebook is in subnet-0b1"},
		finding.Check{ID: "internet-egress-path", Status: finding.StatusPass, Severity: finding.SeverityMedium, Message: "no route to public address space from rtb-0b1"},
		finding.Check{ID: "public-subnet", Status: finding.StatusPass, Severity: finding.SeverityMedium, Message: "the subnet has no route to an internet gateway"},
		finding.Check{ID: "open-ingress", Status: finding.StatusPass, Severity: finding.SeverityHigh, Message: "the ENI is not internet-reachable"},
	)
	pass.Evidence = finding.Evidence{
		DirectInternetAccess: "Disabled", NotebookStatus: "Stopped", SubnetID: "subnet-0b1", VPCID: "vpc-0b1",
		SecurityGroupIDs: []string{"sg-0b1"}, RouteTableID: "rtb-0b1", RouteTableSource: "main", NetworkACLID: "acl-0b1",
		MapPublicIPOnLaunch: &f,
	}
	pass.Remediation = "No action needed."

	review := result("111111111111", "eu-west-1", "transit-notebook", finding.StatusReview, finding.SeverityMedium, finding.PathTransit,
		finding.Check{ID: "direct-internet-access", Status: finding.StatusPass, Severity: finding.SeverityHigh, Message: "DirectInternetAccess is Disabled and the notebook is in subnet-0c1"},
		finding.Check{ID: "internet-egress-path", Status: finding.StatusReview, Severity: finding.SeverityMedium, Message: "0.0.0.0/0 leaves the VPC through tgw-0c1, which the scanner cannot see past"},
		finding.Check{ID: "public-subnet", Status: finding.StatusPass, Severity: finding.SeverityMedium, Message: "the subnet has no route to an internet gateway"},
		finding.Check{ID: "open-ingress", Status: finding.StatusPass, Severity: finding.SeverityHigh, Message: "the ENI is not internet-reachable"},
	)
	review.Evidence = finding.Evidence{
		DirectInternetAccess: "Disabled", NotebookStatus: "InService", SubnetID: "subnet-0c1", VPCID: "vpc-0c1",
		SecurityGroupIDs: []string{"sg-0c1"}, NetworkInterfaceID: "eni-0c1", RouteTableID: "rtb-0c1", RouteTableSource: "explicit",
		NetworkACLID: "acl-0c1", Routes: []string{"0.0.0.0/0 -> tgw-0c1 (transit)"}, DecidingRoute: "0.0.0.0/0 -> tgw-0c1 (transit)",
		Notes: []string{"egress beyond a transit gateway depends on the network account's inspection VPC"},
	}
	review.Hops = []finding.Hop{
		{Kind: "route-table", ResourceID: "rtb-0c1", AccountID: "111111111111", Region: "eu-west-1", Decision: "0.0.0.0/0 -> tgw-0c1 (tgw)"},
		{Kind: "transit-gateway-attachment", ResourceID: "tgw-attach-0c1", AccountID: "111111111111", Region: "eu-west-1", Decision: "vpc-0c1 to tgw-0c1"},
		{Kind: "end", Decision: "sight ends: transit gateway tgw-0c1 is in account 999999999999, which this scan does not read (add --network-accounts 999999999999 to follow it)"},
	}

	review.Remediation = "Confirm that the transit gateway's egress is inspected and restricted, or record an exception."

	errRes := result("222222222222", "us-west-2", "unreadable-notebook", finding.StatusError, finding.SeverityHigh, finding.PathUnknown,
		finding.Check{ID: "direct-internet-access", Status: finding.StatusError, Severity: finding.SeverityHigh, Message: "sagemaker:DescribeNotebookInstance failed: AccessDeniedException"},
	)
	errRes.Evidence = finding.Evidence{Notes: []string{"the notebook could not be evaluated; it is not assumed compliant"}}
	errRes.Remediation = "Grant sagemaker:DescribeNotebookInstance to the scanning role and scan again."

	muted := result("222222222222", "eu-west-1", "approved-internet-notebook", finding.StatusMuted, finding.SeverityHigh, finding.PathDirect,
		finding.Check{ID: "direct-internet-access", Status: finding.StatusFail, Severity: finding.SeverityHigh, Message: "DirectInternetAccess is Enabled: SageMaker gives the notebook its own internet path"},
	)
	muted.Evidence = finding.Evidence{DirectInternetAccess: "Enabled", NotebookStatus: "InService"}
	muted.Remediation = recreate
	muted.UnmutedStatus = finding.StatusFail
	muted.Mute = &finding.Mute{Reason: "Vendor package mirror | approved in SEC-1234", Owner: "ml-platform@example.com", Expires: "2099-12-31", Source: "exception"}
	muted.Resource.Tags = map[string]string{"approved": "SEC-1234"}

	xss := result("222222222222", "us-east-1", XSSName, finding.StatusFail, finding.SeverityHigh, finding.PathIGW,
		finding.Check{ID: "direct-internet-access", Status: finding.StatusPass, Severity: finding.SeverityHigh, Message: "DirectInternetAccess is Disabled and the notebook is in subnet-0d1"},
		finding.Check{ID: "internet-egress-path", Status: finding.StatusFail, Severity: finding.SeverityHigh, Message: "the ENI has public IP 203.0.113.10 and rtb-0d1 routes 0.0.0.0/0 to igw-0d1"},
		finding.Check{ID: "public-subnet", Status: finding.StatusFail, Severity: finding.SeverityMedium, Message: "rtb-0d1 routes 0.0.0.0/0 to igw-0d1 and MapPublicIpOnLaunch is true"},
		finding.Check{ID: "open-ingress", Status: finding.StatusFail, Severity: finding.SeverityHigh, Message: "sg-0d1 allows tcp/8888 from 0.0.0.0/0"},
	)
	xss.Resource.Tags = map[string]string{
		"owner": `"><script>alert(2)</script>`,
		"note":  "a|b *c* `d` [e](javascript:alert(3))",
	}
	xss.Evidence = finding.Evidence{
		DirectInternetAccess: "Disabled", NotebookStatus: "InService", SubnetID: "subnet-0d1", VPCID: "vpc-0d1",
		SecurityGroupIDs: []string{"sg-0d1"}, NetworkInterfaceID: "eni-0d1", PublicIP: "203.0.113.10", MapPublicIPOnLaunch: &t,
		RouteTableID: "rtb-0d1", RouteTableSource: "main", NetworkACLID: "acl-0d1",
		Routes: []string{"0.0.0.0/0 -> igw-0d1 (igw)"}, DecidingRoute: "0.0.0.0/0 -> igw-0d1 (igw)", DecidingRule: "sg-0d1 egress 0.0.0.0/0 all",
	}
	xss.Remediation = "Remove the public IP from eni-0d1, move the notebook to a private subnet and restrict sg-0d1."

	formula := result("222222222222", "us-east-1", FormulaName, finding.StatusFail, finding.SeverityHigh, finding.PathDirect,
		finding.Check{ID: "direct-internet-access", Status: finding.StatusFail, Severity: finding.SeverityHigh, Message: "no SubnetId: the notebook always has direct internet access"},
	)
	formula.Resource.Tags = map[string]string{"cost-center": "+1-555-0100", "@evil": "-2+3"}
	formula.Evidence = finding.Evidence{DirectInternetAccess: "Enabled", NotebookStatus: "InService"}
	formula.Remediation = recreate

	r := &finding.Report{
		SchemaVersion: finding.SchemaVersion,
		Tool:          finding.Tool{Name: "sagefence", Version: "1.2.3-test"},
		Profile:       "sop",
		StartedAt:     Started(),
		FinishedAt:    Finished(),
		Results:       []finding.Result{direct, pass, review, errRes, muted, xss, formula},
		Errors: []finding.Error{{
			AccountID: "333333333333", Region: "ap-south-1", Operation: "sagemaker:ListNotebookInstances",
			Code: "AccessDeniedException", Message: "User is not authorized to perform sagemaker:ListNotebookInstances",
		}},
		ExpiredExceptions: []finding.ExpiredException{{
			Source: "exceptions.yaml:14", Match: "account=111111111111 name=legacy-*",
			Reason: "Legacy migration window", Owner: "data-eng@example.com", Expires: "2024-12-31",
		}},
	}
	r.Summarize()
	return r
}

// Golden compares got with the file at path, rewriting the file instead
// when update is true (the tests' -update flag).
func Golden(t *testing.T, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run the test with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update if the change is intended)\n--- got ---\n%s", path, got)
	}
}
