package iac

import (
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
)

const planJSON = `{
  "format_version": "1.2",
  "terraform_version": "1.9.0",
  "planned_values": {"root_module": {"resources": []}},
  "resource_changes": [
    {
      "address": "aws_sagemaker_notebook_instance.open",
      "mode": "managed", "type": "aws_sagemaker_notebook_instance", "name": "open",
      "change": {"actions": ["create"], "before": null,
        "after": {"name": "open", "direct_internet_access": "Enabled", "subnet_id": null},
        "after_unknown": {"arn": true}}
    },
    {
      "address": "aws_sagemaker_notebook_instance.private",
      "mode": "managed", "type": "aws_sagemaker_notebook_instance", "name": "private",
      "change": {"actions": ["create"], "before": null,
        "after": {"name": "private", "direct_internet_access": "Disabled"},
        "after_unknown": {"subnet_id": true}}
    },
    {
      "address": "aws_sagemaker_notebook_instance.pending",
      "mode": "managed", "type": "aws_sagemaker_notebook_instance", "name": "pending",
      "change": {"actions": ["update"], "before": {},
        "after": {"name": "pending", "subnet_id": "subnet-1"},
        "after_unknown": {"direct_internet_access": true}}
    },
    {
      "address": "aws_sagemaker_notebook_instance.gone",
      "mode": "managed", "type": "aws_sagemaker_notebook_instance", "name": "gone",
      "change": {"actions": ["delete"], "before": {"direct_internet_access": "Enabled"}, "after": null}
    },
    {
      "address": "module.ml.aws_sagemaker_notebook_instance.nb[0]",
      "module_address": "module.ml",
      "mode": "managed", "type": "aws_sagemaker_notebook_instance", "name": "nb", "index": 0,
      "change": {"actions": ["delete", "create"], "before": {},
        "after": {"name": "ml-0", "direct_internet_access": "disabled", "subnet_id": "subnet-1"},
        "after_unknown": {}}
    },
    {
      "address": "aws_instance.web",
      "mode": "managed", "type": "aws_instance", "name": "web",
      "change": {"actions": ["create"], "after": {}}
    }
  ]
}
`

const plannedValuesOnly = `{
  "format_version": "1.0",
  "planned_values": {"root_module": {
    "resources": [{"address": "aws_sagemaker_notebook_instance.a", "mode": "managed", "type": "aws_sagemaker_notebook_instance", "name": "a",
      "values": {"direct_internet_access": "Disabled", "subnet_id": "subnet-1"}}],
    "child_modules": [{"address": "module.m", "resources": [
      {"address": "module.m.aws_sagemaker_notebook_instance.b", "mode": "managed", "type": "aws_sagemaker_notebook_instance", "name": "b",
       "values": {"direct_internet_access": "Enabled"}},
      {"address": "module.m.aws_sagemaker_notebook_instance.c", "mode": "managed", "type": "aws_sagemaker_notebook_instance", "name": "c",
       "values": {"subnet_id": "subnet-1"}}]}]
  }}
}`

func TestTerraformPlan(t *testing.T) {
	runCases(t, []scanCase{
		{name: "resource changes", files: map[string]string{"plan.json": planJSON}, want: map[string]want{
			"aws_sagemaker_notebook_instance.open":            {status: finding.StatusFail, path: finding.PathDirect, msg: `"Enabled"`},
			"aws_sagemaker_notebook_instance.private":         {status: finding.StatusPass},
			"aws_sagemaker_notebook_instance.pending":         {status: finding.StatusReview, path: finding.PathUnknown, msg: "after_unknown"},
			"module.ml.aws_sagemaker_notebook_instance.nb[0]": {status: finding.StatusFail, msg: "case-sensitive"},
		}},
		{name: "planned values only", files: map[string]string{"out/tfplan.json": plannedValuesOnly}, want: map[string]want{
			"aws_sagemaker_notebook_instance.a":          {status: finding.StatusPass},
			"module.m.aws_sagemaker_notebook_instance.b": {status: finding.StatusFail},
			"module.m.aws_sagemaker_notebook_instance.c": {status: finding.StatusReview},
		}},
		{name: "unsupported format version is an error", files: map[string]string{"plan.json": `{"format_version": "9.0", "planned_values": {}}`},
			want: map[string]want{}, errs: []string{"unsupported plan format version"}},
	})
}

func TestTerraformPlanLocatesResources(t *testing.T) {
	res, _ := scanTree(t, scanCase{files: map[string]string{"plan.json": planJSON}})
	for _, r := range res {
		if r.Resource.SourceKind != "terraform-plan" {
			t.Errorf("%s: source kind %q", r.Resource.Address, r.Resource.SourceKind)
		}
		if r.Resource.Address == "aws_sagemaker_notebook_instance.open" && r.Resource.Line != 7 {
			t.Errorf("open: line %d, want 7", r.Resource.Line)
		}
		if strings.Contains(r.Resource.Address, "module.ml") && !strings.Contains(strings.Join(r.Evidence.Notes, " "), "replaces") {
			t.Errorf("replacement not noted: %v", r.Evidence.Notes)
		}
	}
}
