package codequality_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/codequality"
)

func write(t *testing.T, r *finding.Report) []codequality.Issue {
	t.Helper()
	var buf bytes.Buffer
	if err := codequality.Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	var issues []codequality.Issue
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&issues); err != nil || issues == nil {
		t.Fatalf("not a JSON array of issues (%v):\n%s", err, buf.String())
	}
	return issues
}

func iacResult(status finding.Status, sev finding.Severity, file string, line int, address string) finding.Result {
	return finding.Result{ControlID: finding.ControlID, Status: status, Severity: sev,
		Resource: finding.Resource{Name: address, File: file, Line: line, Address: address},
		Checks:   []finding.Check{{ID: "direct-internet-access", Status: status, Message: "DirectInternetAccess is Enabled"}}}
}

// TestIssuesAreTheResultsToFixAtTheirFileAndLine: FAIL, REVIEW and ERROR
// results and unreadable sources are issues at their file and line, each
// with its own fingerprint; PASS and MUTED are not.
func TestIssuesAreTheResultsToFixAtTheirFileAndLine(t *testing.T) {
	r := &finding.Report{
		Results: []finding.Result{
			iacResult(finding.StatusFail, finding.SeverityHigh, "./infra/main.tf", 12, "aws_sagemaker_notebook_instance.open"),
			iacResult(finding.StatusReview, finding.SeverityMedium, "infra/main.tf", 30, "aws_sagemaker_notebook_instance.var"),
			iacResult(finding.StatusPass, finding.SeverityInformational, "infra/main.tf", 40, "aws_sagemaker_notebook_instance.ok"),
			iacResult(finding.StatusMuted, finding.SeverityHigh, "infra/lab.tf", 3, "aws_sagemaker_notebook_instance.lab"),
		},
		Errors: []finding.Error{{Operation: "iac", Resource: "cfn/bad.yaml:7", Message: "cfn/bad.yaml:7: mapping values are not allowed"}},
	}
	issues := write(t, r)
	type want struct {
		path     string
		line     int
		severity string
	}
	wants := []want{{"infra/main.tf", 12, "critical"}, {"infra/main.tf", 30, "minor"}, {"cfn/bad.yaml", 7, "major"}}
	if len(issues) != len(wants) {
		t.Fatalf("%d issues, want %d: %+v", len(issues), len(wants), issues)
	}
	seen := map[string]bool{}
	for i, w := range wants {
		is := issues[i]
		if is.Location.Path != w.path || is.Location.Lines.Begin != w.line || is.Severity != w.severity || is.Description == "" || is.CheckName == "" {
			t.Errorf("issue %d = %+v, want %+v", i, is, w)
		}
		if seen[is.Fingerprint] || is.Fingerprint == "" {
			t.Errorf("issue %d: fingerprint %q empty or repeated", i, is.Fingerprint)
		}
		seen[is.Fingerprint] = true
	}
}

func TestNoIssuesIsAnEmptyArray(t *testing.T) {
	r := &finding.Report{Results: []finding.Result{iacResult(finding.StatusPass, finding.SeverityInformational, "a.tf", 1, "x")}}
	if issues := write(t, r); len(issues) != 0 {
		t.Errorf("issues %+v, want none", issues)
	}
}
