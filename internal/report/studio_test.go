package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sagefence/sagefence/internal/finding"
)

// studioReport is a report about a notebook, a Studio domain and a Studio
// user profile.
func studioReport() *finding.Report {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	studio := &finding.StudioEvidence{DomainID: "d-1", AppNetworkAccessType: "PublicInternetOnly"}
	rep := &finding.Report{SchemaVersion: finding.SchemaVersion, Tool: finding.Tool{Name: "sagefence", Version: "test"}, Profile: "sop",
		StartedAt: t0, FinishedAt: t0.Add(time.Second), Results: []finding.Result{
			{ControlID: finding.ControlID, AccountID: "111122223333", Region: "us-east-1", Status: finding.StatusPass, Severity: finding.SeverityInformational,
				InternetPath: finding.PathNone, Resource: finding.Resource{Type: finding.ResourceType, Name: "nb-1", ARN: "arn:aws:sagemaker:us-east-1:111122223333:notebook-instance/nb-1"}},
			{ControlID: finding.ControlIDStudio, AccountID: "111122223333", Region: "us-east-1", Status: finding.StatusFail, Severity: finding.SeverityHigh,
				InternetPath: finding.PathDirect, Resource: finding.Resource{Type: finding.ResourceTypeDomain, Name: "research", ARN: "arn:aws:sagemaker:us-east-1:111122223333:domain/d-1"},
				Checks:   []finding.Check{{ID: "app-network-access-type", Status: finding.StatusFail, Severity: finding.SeverityHigh, Message: "AppNetworkAccessType is PublicInternetOnly"}},
				Evidence: finding.Evidence{StudioEvidence: studio}, Compliance: map[string][]string{"aws-config": {"sagemaker-domain-in-vpc"}}},
			{ControlID: finding.ControlIDStudio, AccountID: "111122223333", Region: "us-east-1", Status: finding.StatusFail, Severity: finding.SeverityHigh,
				InternetPath: finding.PathDirect, Resource: finding.Resource{Type: finding.ResourceTypeUserProfile, Name: "research/alice", ARN: "arn:aws:sagemaker:us-east-1:111122223333:user-profile/d-1/alice"},
				Evidence: finding.Evidence{StudioEvidence: &finding.StudioEvidence{DomainID: "d-1", UserProfileName: "alice"}}},
		}}
	rep.Summarize()
	return rep
}

// TestEveryFormatNamesTheStudioTypeAndControl: each format tells a Studio
// domain and a user profile from a notebook, and carries the Studio
// control's ID.
func TestEveryFormatNamesTheStudioTypeAndControl(t *testing.T) {
	want := map[string][]string{
		"table":    {"studio-domain/research", "studio-user-profile/research/alice", "nb-1"},
		"json":     {`"type": "AWS::SageMaker::Domain"`, `"type": "AWS::SageMaker::UserProfile"`, `"control_id": "sagemaker-studio-no-direct-internet-access"`, `"domain_id": "d-1"`},
		"csv":      {",AWS::SageMaker::Domain,sagemaker-studio-no-direct-internet-access", ",AWS::SageMaker::UserProfile,sagemaker-studio-no-direct-internet-access", ",AWS::SageMaker::NotebookInstance,sagemaker-notebook-no-direct-internet-access"},
		"ocsf":     {`"type": "AWS::SageMaker::Domain"`, `"control": "sagemaker-studio-no-direct-internet-access"`, "SageMaker Studio domain research is exposed", "SageMaker Studio domains must not give their apps direct internet access"},
		"asff":     {`"Type": "Other"`, `"GeneratorId": "sagemaker-studio-no-direct-internet-access"`, `"DomainId": "d-1"`, "SageMaker Studio user profile research/alice has internet access", `"Type": "AwsSageMakerNotebookInstance"`},
		"junit":    {`name="studio-domain/research"`, `value="AWS::SageMaker::UserProfile"`, `value="sagemaker-studio-no-direct-internet-access"`},
		"markdown": {"studio-domain/research", "`sagemaker-studio-no-direct-internet-access`", "| Status | Resource |"},
		"github":   {"::error title=sagefence FAIL%3A studio-domain/research::", "research: FAIL. app-network-access-type:", "::error title=sagefence FAIL%3A studio-user-profile/research/alice::"},
		"html":     {"SageMaker notebook instances (1)", "SageMaker Studio domains (1)", "SageMaker Studio user profiles (1)", "of 3 results"},
	}
	for _, f := range Formats() {
		t.Run(f, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, f, studioReport(), Options{}); err != nil {
				t.Fatal(err)
			}
			for _, w := range want[f] {
				if !strings.Contains(b.String(), w) {
					t.Errorf("%s output lacks %q", f, w)
				}
			}
			if len(want[f]) == 0 {
				t.Errorf("format %s has no expectation here: add one", f)
			}
		})
	}
	// The HTML report groups rows by type: notebooks, domains, profiles.
	var b bytes.Buffer
	if err := Write(&b, "html", studioReport(), Options{}); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	nb, dom, prof := strings.Index(s, "SageMaker notebook instances (1)"), strings.Index(s, "SageMaker Studio domains (1)"), strings.Index(s, "SageMaker Studio user profiles (1)")
	if nb >= dom || dom >= prof || !(strings.Index(s, ">research<") > dom && strings.Index(s, ">research<") < prof) {
		t.Errorf("HTML groups out of order: notebooks at %d, domains at %d, profiles at %d", nb, dom, prof)
	}
}
