package json

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
)

// TestStudioEvidenceIsFlat: a Studio result's own evidence fields sit in
// "evidence" beside the network ones (the contract of report-schema.md),
// they read back, and a notebook's result has none of them.
func TestStudioEvidenceIsFlat(t *testing.T) {
	rep := &finding.Report{SchemaVersion: finding.SchemaVersion, Results: []finding.Result{
		{ControlID: finding.ControlIDStudio, Resource: finding.Resource{Type: finding.ResourceTypeDomain, Name: "research"},
			Evidence: finding.Evidence{VPCID: "vpc-1", StudioEvidence: &finding.StudioEvidence{DomainID: "d-1", AppNetworkAccessType: "VpcOnly", SubnetIDs: []string{"subnet-a"}}}},
		{ControlID: finding.ControlID, Resource: finding.Resource{Type: finding.ResourceType, Name: "nb"}, Evidence: finding.Evidence{VPCID: "vpc-1"}},
	}}
	rep.Summarize()
	var buf bytes.Buffer
	if err := Write(&buf, rep); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Results []struct {
			Evidence map[string]any `json:"evidence"`
		} `json:"results"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if e := got.Results[0].Evidence; e["domain_id"] != "d-1" || e["app_network_access_type"] != "VpcOnly" || e["vpc_id"] != "vpc-1" {
		t.Errorf("domain evidence = %v", e)
	}
	if e := got.Results[1].Evidence; len(e) != 1 {
		t.Errorf("notebook evidence = %v, want vpc_id alone", e)
	}
	var back finding.Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if s := back.Results[0].Evidence.StudioEvidence; s == nil || s.DomainID != "d-1" || back.Results[1].Evidence.StudioEvidence != nil {
		t.Errorf("read back: %+v / %+v", back.Results[0].Evidence, back.Results[1].Evidence)
	}
	if strings.Contains(buf.String(), "StudioEvidence") {
		t.Errorf("the Go field name leaked into JSON:\n%s", buf.String())
	}
}
