package asff_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/asff"
	"github.com/sagefence/sagefence/internal/report/ocsf"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func write(t *testing.T, r *finding.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := asff.Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteMatchesGolden(t *testing.T) {
	reporttest.Golden(t, filepath.Join("testdata", "report.asff.json.golden"), write(t, reporttest.Report()), *update)
}

func TestOutputUnmarshalsIntoSDKTypesWithRequiredFields(t *testing.T) {
	r := reporttest.Report()
	out := write(t, r)
	if bytes.Contains(out, []byte("null")) {
		t.Error("output contains null values")
	}
	var fs []types.AwsSecurityFinding
	if err := json.Unmarshal(out, &fs); err != nil {
		t.Fatalf("output does not unmarshal into []types.AwsSecurityFinding: %v", err)
	}
	if len(fs) != len(r.Results) {
		t.Fatalf("got %d findings, want %d", len(fs), len(r.Results))
	}
	ids := map[string]bool{}
	for i, f := range fs {
		res := r.Results[i]
		// Required by BatchImportFindings.
		for name, v := range map[string]*string{"SchemaVersion": f.SchemaVersion, "Id": f.Id, "ProductArn": f.ProductArn,
			"GeneratorId": f.GeneratorId, "AwsAccountId": f.AwsAccountId, "CreatedAt": f.CreatedAt, "UpdatedAt": f.UpdatedAt,
			"Title": f.Title, "Description": f.Description} {
			if aws.ToString(v) == "" {
				t.Errorf("finding %d: %s is missing", i, name)
			}
		}
		if len(f.Types) != 1 || f.Types[0] != asff.FindingType {
			t.Errorf("finding %d: Types = %v", i, f.Types)
		}
		if f.Severity == nil || f.Severity.Label == "" {
			t.Errorf("finding %d: no Severity.Label", i)
		}
		if ids[aws.ToString(f.Id)] {
			t.Errorf("finding %d: duplicate Id %s", i, aws.ToString(f.Id))
		}
		ids[aws.ToString(f.Id)] = true
		if want := "arn:aws:securityhub:" + res.Region + ":" + res.AccountID + ":product/" + res.AccountID + "/default"; aws.ToString(f.ProductArn) != want {
			t.Errorf("finding %d: ProductArn = %s, want %s", i, aws.ToString(f.ProductArn), want)
		}
		if aws.ToString(f.GeneratorId) != finding.ControlID {
			t.Errorf("finding %d: GeneratorId = %s", i, aws.ToString(f.GeneratorId))
		}
		if aws.ToString(f.CreatedAt) != "2025-01-02T03:04:05.000Z" || aws.ToString(f.UpdatedAt) != "2025-01-02T03:04:47.000Z" {
			t.Errorf("finding %d: CreatedAt %s UpdatedAt %s, want the report's times", i, aws.ToString(f.CreatedAt), aws.ToString(f.UpdatedAt))
		}
		if len(f.Resources) != 1 || aws.ToString(f.Resources[0].Type) != asff.ResourceType || aws.ToString(f.Resources[0].Id) != res.Resource.ARN {
			t.Errorf("finding %d: Resources = %+v", i, f.Resources)
		}
		if d := f.Resources[0].Details; d == nil || aws.ToString(d.AwsSageMakerNotebookInstance.NotebookInstanceName) != res.Resource.Name {
			t.Errorf("finding %d: no notebook details", i)
		}
		if f.Compliance == nil || len(f.Compliance.RelatedRequirements) == 0 || !contains(f.Compliance.RelatedRequirements, "AWS Foundational Security Best Practices SageMaker.1") {
			t.Errorf("finding %d: Compliance = %+v", i, f.Compliance)
		}
		for k, v := range res.Resource.Tags {
			if f.Resources[0].Tags[k] != v {
				t.Errorf("finding %d: tag %s = %q, want %q", i, k, f.Resources[0].Tags[k], v)
			}
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestStatusMapping(t *testing.T) {
	fs, err := asff.Findings(reporttest.Report())
	if err != nil {
		t.Fatal(err)
	}
	r := reporttest.Report()
	for i, f := range fs {
		res := r.Results[i]
		want := map[finding.Status]types.ComplianceStatus{
			finding.StatusPass: types.ComplianceStatusPassed, finding.StatusFail: types.ComplianceStatusFailed,
			finding.StatusReview: types.ComplianceStatusWarning, finding.StatusError: types.ComplianceStatusNotAvailable,
			finding.StatusMuted: types.ComplianceStatusFailed,
		}[res.Status]
		if f.Compliance.Status != want {
			t.Errorf("%s: Compliance.Status = %s, want %s", res.Status, f.Compliance.Status, want)
		}
		wantWF := types.WorkflowStatusNew
		if res.Status == finding.StatusMuted {
			wantWF = types.WorkflowStatusSuppressed
		}
		if f.Workflow == nil || f.Workflow.Status != wantWF {
			t.Errorf("%s: Workflow = %+v, want %s", res.Status, f.Workflow, wantWF)
		}
		if res.Status == finding.StatusPass && f.Severity.Label != types.SeverityLabelInformational {
			t.Errorf("a passed control is INFORMATIONAL in Security Hub, got %s", f.Severity.Label)
		}
		if res.Status == finding.StatusFail && f.Severity.Label != types.SeverityLabelHigh {
			t.Errorf("FAIL high: Severity.Label = %s", f.Severity.Label)
		}
	}
}

func TestIDsAreDeterministicAndSharedWithOCSF(t *testing.T) {
	a, err := asff.Findings(reporttest.Report())
	if err != nil {
		t.Fatal(err)
	}
	later := reporttest.Report()
	later.StartedAt = later.StartedAt.AddDate(0, 0, 7)
	later.FinishedAt = later.FinishedAt.AddDate(0, 0, 7)
	later.Results[0].Status = finding.StatusPass
	b, err := asff.Findings(later)
	if err != nil {
		t.Fatal(err)
	}
	o := ocsf.Findings(reporttest.Report())
	for i := range a {
		if aws.ToString(a[i].Id) != aws.ToString(b[i].Id) {
			t.Errorf("finding %d: Id changed between runs", i)
		}
		if aws.ToString(a[i].Id) != o[i].FindingInfo.UID {
			t.Errorf("finding %d: ASFF Id %s differs from OCSF uid %s", i, aws.ToString(a[i].Id), o[i].FindingInfo.UID)
		}
	}
	if aws.ToString(a[0].UpdatedAt) == aws.ToString(b[0].UpdatedAt) {
		t.Error("UpdatedAt must move forward for Security Hub to accept the update")
	}
}

func TestPartitionComesFromTheARN(t *testing.T) {
	r := reporttest.Report()
	r.Results = r.Results[:1]
	r.Results[0].Region = "cn-north-1"
	r.Results[0].Resource.ARN = "arn:aws-cn:sagemaker:cn-north-1:111111111111:notebook-instance/x"
	fs, err := asff.Findings(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(fs[0].ProductArn); !strings.HasPrefix(got, "arn:aws-cn:securityhub:cn-north-1:") {
		t.Errorf("ProductArn = %s", got)
	}
	if fs[0].Resources[0].Partition != types.PartitionAwsCn {
		t.Errorf("Partition = %s", fs[0].Resources[0].Partition)
	}
}

func TestResultWithoutAccountIsAnError(t *testing.T) {
	r := reporttest.Report()
	r.Results[2].AccountID = ""
	if _, err := asff.Findings(r); err == nil {
		t.Error("want an error for a result that cannot be addressed to a Security Hub")
	}
}

func TestLongTextIsCutToSecurityHubLimits(t *testing.T) {
	r := reporttest.Report()
	r.Results = r.Results[:1]
	r.Results[0].Remediation = strings.Repeat("é", 600)
	r.Results[0].Checks[0].Message = strings.Repeat("x", 3000)
	fs, err := asff.Findings(r)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(aws.ToString(fs[0].Remediation.Recommendation.Text)); n > 512 {
		t.Errorf("Recommendation.Text is %d bytes, limit 512", n)
	}
	if n := len(aws.ToString(fs[0].Description)); n > 1024 {
		t.Errorf("Description is %d bytes, limit 1024", n)
	}
	if !strings.HasSuffix(aws.ToString(fs[0].Remediation.Recommendation.Text), "…") {
		t.Error("a cut text should say so")
	}
}

func TestNoteSourceReadsMuteNote(t *testing.T) {
	for _, src := range []string{"exception", "sagefence journal"} {
		res := &finding.Result{Mute: &finding.Mute{Reason: "why (it matters): because.", Owner: "o", Source: src}}
		if got, ok := asff.NoteSource(asff.MuteNote(res)); !ok || got != src {
			t.Errorf("NoteSource(%q) = %q, %v; want %q", asff.MuteNote(res), got, ok, src)
		}
	}
	for _, text := range []string{"accepted risk", "Muted: no source.", "Reopened by sagefence: nothing mutes this finding any more.", ""} {
		if got, ok := asff.NoteSource(text); ok {
			t.Errorf("NoteSource(%q) = %q, want not a mute note", text, got)
		}
	}
}
