package iac

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/sagefence/sagefence/internal/finding"
	jsonw "github.com/sagefence/sagefence/internal/report/json"
	"github.com/sagefence/sagefence/internal/report/reporttest"
	"github.com/sagefence/sagefence/internal/report/sarif"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// corpusReport scans testdata/corpus: Terraform (root, local module,
// tfvars, suppression), a plan, CloudFormation YAML and JSON (mixed
// Fn::If, Enabled parameter default, unresolved import, a broken file) and
// a CDK output; and Studio domains (CloudFormation parameter, omitted, a
// Terraform variable in the wrong case).
func corpusReport(t *testing.T) *finding.Report {
	t.Helper()
	comp, err := Compliance()
	if err != nil {
		t.Fatal(err)
	}
	sc := New(Options{Compliance: comp, Concurrency: 2})
	res, errs, err := sc.Scan(context.Background(), []string{"testdata/corpus"})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return NewReport(finding.Tool{Name: "sagefence", Version: "test"}, t0, t0.Add(2*time.Second), res, errs)
}

func TestGoldenJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := jsonw.Write(&buf, corpusReport(t)); err != nil {
		t.Fatal(err)
	}
	reporttest.Golden(t, "testdata/golden/report.json.golden", buf.Bytes(), *update)
}

func TestGoldenSARIF(t *testing.T) {
	var buf bytes.Buffer
	if err := sarif.Write(&buf, corpusReport(t)); err != nil {
		t.Fatal(err)
	}
	reporttest.Golden(t, "testdata/golden/report.sarif.golden", buf.Bytes(), *update)
}

func TestCorpusVerdicts(t *testing.T) {
	rep := corpusReport(t)
	want := map[string]finding.Status{
		"aws_sagemaker_notebook_instance.default_access":   finding.StatusFail,
		"aws_sagemaker_notebook_instance.private":          finding.StatusPass,
		"aws_sagemaker_notebook_instance.lab":              finding.StatusMuted,
		"module.team.aws_sagemaker_notebook_instance.this": finding.StatusFail, // tfvars: staging, not prod
		"MixedNotebook":                                   finding.StatusFail,
		"ParameterNotebook":                               finding.StatusFail,
		"PrivateNotebook":                                 finding.StatusPass,
		"SharedNotebook":                                  finding.StatusReview,
		"Notebook8A3F2C1B":                                finding.StatusFail,
		"aws_sagemaker_notebook_instance.open":            finding.StatusFail,
		"aws_sagemaker_notebook_instance.private#plan":    finding.StatusPass,
		"aws_sagemaker_notebook_instance.pending":         finding.StatusReview,
		"module.ml.aws_sagemaker_notebook_instance.nb[0]": finding.StatusFail,
		"PrivateStudio":                                   finding.StatusPass, // VpcOnly, the only allowed parameter value
		"DefaultStudio":                                   finding.StatusFail, // omitted: PublicInternetOnly
		"aws_sagemaker_domain.team":                       finding.StatusFail, // "vpconly": wrong case
	}
	got := map[string]finding.Status{}
	for _, r := range rep.Results {
		key := r.Resource.Address
		if r.Resource.SourceKind == "terraform-plan" && key == "aws_sagemaker_notebook_instance.private" {
			key += "#plan"
		}
		got[key] = r.Status
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s, want %s", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d results, want %d: %v", len(got), len(want), got)
	}
	if rep.Complete || len(rep.Errors) != 1 || !strings.HasPrefix(rep.Errors[0].Resource, "testdata/corpus/cloudformation/broken.yaml:") {
		t.Errorf("want the broken template as the one error: complete=%v %+v", rep.Complete, rep.Errors)
	}
	if rep.ExitCode(false) != 3 {
		t.Errorf("exit code %d, want 3 (incomplete wins over FAIL)", rep.ExitCode(false))
	}
}
