package sarif

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// schemaFile is the official SARIF 2.1.0 schema (OASIS sarif-spec,
// sarif-2.1/schema/sarif-schema-2.1.0.json), kept here so that the test
// runs offline.
const schemaFile = "testdata/sarif-schema-2.1.0.json"

func validate(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := checkSchema(data); err != nil {
		t.Errorf("%s does not conform to the SARIF 2.1.0 schema: %v", name, err)
	}
}

func checkSchema(data []byte) error {
	raw, err := os.ReadFile(schemaFile)
	if err != nil {
		return err
	}
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	if err := c.AddResource(url, schemaDoc); err != nil {
		return err
	}
	sch, err := c.Compile(url)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

func TestWriteFixtureGoldenAndSchema(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, reporttest.Report()); err != nil {
		t.Fatal(err)
	}
	validate(t, "fixture report", buf.Bytes())
	reporttest.Golden(t, "testdata/report.sarif.golden", buf.Bytes(), *update)
}

// The IaC golden report (internal/iac) is what code scanning receives.
func TestIaCGoldenConformsToSchema(t *testing.T) {
	data, err := os.ReadFile("../../iac/testdata/golden/report.sarif.golden")
	if err != nil {
		t.Skipf("IaC golden file not generated yet: %v", err)
	}
	validate(t, "IaC golden report", data)
}

func TestSchemaRejectsInvalidSARIF(t *testing.T) {
	// A test that cannot fail is a defect: prove the validator validates.
	for _, bad := range []string{
		`{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"level": "catastrophic", "message": {"text": "m"}}]}]}`,
		`{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}, "suppressions": [{"kind": "inSource", "status": null}]}]}]}`,
	} {
		if checkSchema([]byte(bad)) == nil {
			t.Errorf("an invalid SARIF document passed validation: %s", bad)
		}
	}
}

type sarifLog struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				Name  string `json:"name"`
				Rules []struct {
					ID string `json:"id"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Artifacts []struct {
			Location struct {
				URI   string `json:"uri"`
				Index int    `json:"index"`
			} `json:"location"`
		} `json:"artifacts"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			Kind      string `json:"kind"`
			Level     string `json:"level"`
			Locations []struct {
				PhysicalLocation *struct {
					ArtifactLocation struct {
						URI   string `json:"uri"`
						Index int    `json:"index"`
					} `json:"artifactLocation"`
					Region struct {
						StartLine int `json:"startLine"`
					} `json:"region"`
				} `json:"physicalLocation"`
				LogicalLocations []struct {
					Name               string `json:"name"`
					FullyQualifiedName string `json:"fullyQualifiedName"`
				} `json:"logicalLocations"`
			} `json:"locations"`
			Suppressions []struct {
				Kind          string `json:"kind"`
				Justification string `json:"justification"`
			} `json:"suppressions"`
		} `json:"results"`
		Invocations []struct {
			ExecutionSuccessful bool `json:"executionSuccessful"`
			Notifications       []struct {
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"toolExecutionNotifications"`
		} `json:"invocations"`
	} `json:"runs"`
}

func TestWriteLocatesIaCResults(t *testing.T) {
	rep := &finding.Report{
		Tool: finding.Tool{Name: "sagefence", Version: "test"},
		Results: []finding.Result{
			{ControlID: finding.ControlID, Status: finding.StatusFail, Severity: finding.SeverityHigh,
				Resource: finding.Resource{File: "infra/main.tf", Line: 12, Address: "aws_sagemaker_notebook_instance.nb", SourceKind: "terraform"},
				Checks:   []finding.Check{{ID: "direct-internet-access", Status: finding.StatusFail, Message: "omitted"}}},
			{ControlID: finding.ControlID, Status: finding.StatusMuted, UnmutedStatus: finding.StatusFail,
				Mute:     &finding.Mute{Reason: "lab", Source: "inline"},
				Resource: finding.Resource{File: "cdk.out/App.template.json", Line: 3, Address: "NB", ConstructPath: "App/NB/Resource", SourceKind: "cdk"}},
			{ControlID: finding.ControlID, Status: finding.StatusReview,
				Resource: finding.Resource{File: "infra/main.tf", Line: 30, Address: "aws_sagemaker_notebook_instance.x"}},
			{ControlID: finding.ControlID, Status: finding.StatusPass,
				Resource: finding.Resource{File: "dir with space/a.yaml", Line: 1, Address: "P"}},
		},
		Errors: []finding.Error{{Operation: "iac", Resource: "bad.yaml:4", Message: "bad.yaml:4: not valid YAML"}},
	}
	rep.Summarize()
	var buf bytes.Buffer
	if err := Write(&buf, rep); err != nil {
		t.Fatal(err)
	}
	validate(t, "IaC report", buf.Bytes())
	var log sarifLog
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "sagefence" || len(run.Tool.Driver.Rules) != 1 || run.Tool.Driver.Rules[0].ID != finding.ControlID {
		t.Errorf("driver: %+v", run.Tool.Driver)
	}
	if len(run.Results) != 4 {
		t.Fatalf("results %d, want 4", len(run.Results))
	}
	r0 := run.Results[0]
	pl := r0.Locations[0].PhysicalLocation
	if r0.Level != "error" || r0.Kind != "fail" || pl == nil || pl.ArtifactLocation.URI != "infra/main.tf" || pl.Region.StartLine != 12 {
		t.Errorf("FAIL result: %+v", r0)
	}
	if run.Artifacts[pl.ArtifactLocation.Index].Location.URI != "infra/main.tf" {
		t.Errorf("artifact index %d does not point at its artifact", pl.ArtifactLocation.Index)
	}
	if r0.Locations[0].LogicalLocations[0].Name != "aws_sagemaker_notebook_instance.nb" {
		t.Errorf("logical location: %+v", r0.Locations[0].LogicalLocations)
	}
	r1 := run.Results[1]
	if len(r1.Suppressions) != 1 || r1.Suppressions[0].Kind != "inSource" || r1.Suppressions[0].Justification != "lab" {
		t.Errorf("muted result suppressions: %+v", r1.Suppressions)
	}
	if r1.Locations[0].LogicalLocations[0].FullyQualifiedName != "App/NB/Resource" {
		t.Errorf("CDK construct path not reported: %+v", r1.Locations[0].LogicalLocations)
	}
	if run.Results[2].Level != "warning" || run.Results[2].Kind != "fail" || run.Results[3].Kind != "pass" {
		t.Errorf("review/pass: %+v / %+v", run.Results[2], run.Results[3])
	}
	if u := run.Results[3].Locations[0].PhysicalLocation.ArtifactLocation.URI; u != "dir%20with%20space/a.yaml" {
		t.Errorf("URI not escaped: %q", u)
	}
	inv := run.Invocations[0]
	if inv.ExecutionSuccessful || len(inv.Notifications) != 1 {
		t.Fatalf("invocation: %+v", inv)
	}
	loc := inv.Notifications[0].Locations[0].PhysicalLocation
	if loc.ArtifactLocation.URI != "bad.yaml" || loc.Region.StartLine != 4 {
		t.Errorf("error notification location: %+v", loc)
	}
	if !strings.HasSuffix(buf.String(), "}\n") {
		t.Error("output does not end with a newline")
	}
}

// A report with a Studio domain gets a second rule, with its own help and
// compliance tags, and the domain's result points at it.
func TestWriteOneRulePerControl(t *testing.T) {
	rep := &finding.Report{
		Tool: finding.Tool{Name: "sagefence", Version: "test"},
		Results: []finding.Result{
			{ControlID: finding.ControlIDStudio, Status: finding.StatusFail,
				Resource:   finding.Resource{Type: finding.ResourceTypeDomain, File: "main.tf", Line: 1, Address: "aws_sagemaker_domain.d"},
				Compliance: map[string][]string{"aws-config": {"sagemaker-domain-in-vpc"}}},
			{ControlID: finding.ControlID, Status: finding.StatusFail,
				Resource:   finding.Resource{File: "main.tf", Line: 9, Address: "aws_sagemaker_notebook_instance.nb"},
				Compliance: map[string][]string{"aws-securityhub": {"SageMaker.1"}}},
		},
	}
	rep.Summarize()
	var buf bytes.Buffer
	if err := Write(&buf, rep); err != nil {
		t.Fatal(err)
	}
	validate(t, "mixed report", buf.Bytes())
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID   string `json:"id"`
						Help struct {
							Text string `json:"text"`
						} `json:"help"`
						Properties struct {
							Tags []string `json:"tags"`
						} `json:"properties"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	rules := run.Tool.Driver.Rules
	if len(rules) != 2 || rules[0].ID != finding.ControlID || rules[1].ID != finding.ControlIDStudio {
		t.Fatalf("rules = %+v, want the notebook rule then the Studio rule", rules)
	}
	if !strings.Contains(rules[1].Help.Text, "VpcOnly") {
		t.Errorf("Studio rule help = %q", rules[1].Help.Text)
	}
	tags := strings.Join(rules[1].Properties.Tags, " ")
	if !strings.Contains(tags, "aws-config:sagemaker-domain-in-vpc") || strings.Contains(tags, "SageMaker.1") {
		t.Errorf("Studio rule tags = %v", rules[1].Properties.Tags)
	}
	if !strings.Contains(strings.Join(rules[0].Properties.Tags, " "), "aws-securityhub:SageMaker.1") {
		t.Errorf("notebook rule tags = %v", rules[0].Properties.Tags)
	}
	for _, r := range run.Results {
		if rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s has ruleIndex %d (%s)", r.RuleID, r.RuleIndex, rules[r.RuleIndex].ID)
		}
	}
}
