package reportfmt_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/reportfmt"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

func TestFindingIDIsStableAndDistinct(t *testing.T) {
	r := reporttest.Report()
	seen := map[string]bool{}
	for i := range r.Results {
		id := reportfmt.FindingID(&r.Results[i])
		if seen[id] {
			t.Errorf("duplicate ID %s", id)
		}
		seen[id] = true
		again := reporttest.Report().Results[i]
		again.Status = finding.StatusPass // the verdict is not part of the identity
		again.Evidence = finding.Evidence{}
		if got := reportfmt.FindingID(&again); got != id {
			t.Errorf("ID changed with the verdict: %s vs %s", got, id)
		}
		if len(id) > 512 || !strings.HasPrefix(id, "sagefence/"+r.Results[i].AccountID+"/"+r.Results[i].Region+"/") {
			t.Errorf("ID %q: want sagefence/<account>/<region>/..., at most 512 characters (ASFF)", id)
		}
	}
	// The same notebook name in another account is another finding.
	a := r.Results[0]
	b := a
	b.AccountID = "999999999999"
	b.Resource.ARN = ""
	a.Resource.ARN = ""
	if reportfmt.FindingID(&a) == reportfmt.FindingID(&b) {
		t.Error("same name in two accounts gives one ID")
	}
}

func TestPartition(t *testing.T) {
	for _, tt := range []struct{ arn, region, want string }{
		{"arn:aws:sagemaker:us-east-1:1:notebook-instance/x", "us-east-1", "aws"},
		{"arn:aws-cn:sagemaker:cn-north-1:1:notebook-instance/x", "cn-north-1", "aws-cn"},
		{"", "cn-northwest-1", "aws-cn"},
		{"", "us-gov-west-1", "aws-us-gov"},
		{"", "eu-west-1", "aws"},
	} {
		res := finding.Result{Region: tt.region, Resource: finding.Resource{ARN: tt.arn}}
		if got := reportfmt.Partition(&res); got != tt.want {
			t.Errorf("Partition(%q, %q) = %q, want %q", tt.arn, tt.region, got, tt.want)
		}
	}
}

func TestSortedPutsTheUrgentFirstWithoutTouchingTheReport(t *testing.T) {
	r := reporttest.Report()
	before := r.Results[0].Resource.Name
	var got []string
	for _, res := range reportfmt.Sorted(r.Results) {
		got = append(got, string(res.Status)+" "+res.Resource.Name)
	}
	want := []string{"ERROR unreadable-notebook", "FAIL data-science-prod", "FAIL " + reporttest.XSSName,
		"FAIL " + reporttest.FormulaName, "REVIEW transit-notebook", "MUTED approved-internet-notebook", "PASS secure-vpc-notebook"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if r.Results[0].Resource.Name != before {
		t.Error("Sorted reordered the report")
	}
}

func TestRequirementsFlattenInFrameworkOrder(t *testing.T) {
	got := reportfmt.Requirements(map[string][]string{"soc2": {"CC6.1", "CC6.6"}, "aws-securityhub": {"SageMaker.1"}, "custom": {"X-1"}})
	want := []string{"AWS Foundational Security Best Practices SageMaker.1", "custom X-1", "SOC 2 CC6.1", "SOC 2 CC6.6"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
