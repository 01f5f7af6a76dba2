package iac

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/iac/terraform"
)

const domainAddr = "aws_sagemaker_domain.studio"

// domainTF is a domain whose app_network_access_type is written as expr
// ("" omits it).
func domainTF(expr string) string {
	attr := ""
	if expr != "" {
		attr = "\n  app_network_access_type = " + expr
	}
	return `resource "aws_sagemaker_domain" "studio" {
  domain_name = "studio"
  auth_mode   = "IAM"
  vpc_id      = "vpc-1"
  subnet_ids  = ["subnet-1"]` + attr + `
  default_user_settings {
    execution_role = "arn:aws:iam::111122223333:role/studio"
  }
}
`
}

func TestTerraformStudioDomains(t *testing.T) {
	fail := func(msg string) want { return want{status: finding.StatusFail, path: finding.PathDirect, msg: msg} }
	pass := want{status: finding.StatusPass, path: finding.PathNone, msg: `"VpcOnly"`}
	review := func(msg string) want { return want{status: finding.StatusReview, path: finding.PathUnknown, msg: msg} }
	required := `variable "access" { type = string }` + "\n"
	runCases(t, []scanCase{
		{name: "missing attribute is PublicInternetOnly", files: map[string]string{"main.tf": domainTF("")},
			want: map[string]want{domainAddr: fail("default to PublicInternetOnly")}},
		{name: "null is the default", files: map[string]string{"main.tf": domainTF("null")},
			want: map[string]want{domainAddr: fail("omitted")}},
		{name: "VpcOnly passes", files: map[string]string{"main.tf": domainTF(`"VpcOnly"`)},
			want: map[string]want{domainAddr: pass}},
		{name: "PublicInternetOnly fails", files: map[string]string{"main.tf": domainTF(`"PublicInternetOnly"`)},
			want: map[string]want{domainAddr: fail(`"PublicInternetOnly"`)}},
		{name: "lower-case vpconly fails", files: map[string]string{"main.tf": domainTF(`"vpconly"`)},
			want: map[string]want{domainAddr: fail("case-sensitive")}},
		{name: "another value fails", files: map[string]string{"main.tf": domainTF(`"Private"`)},
			want: map[string]want{domainAddr: fail(`only the exact string "VpcOnly"`)}},
		{name: "variable default VpcOnly passes",
			files: map[string]string{"main.tf": `variable "access" { default = "VpcOnly" }` + "\n" + domainTF("var.access")},
			want:  map[string]want{domainAddr: pass}},
		{name: "variable default overridden by terraform.tfvars",
			files: map[string]string{
				"main.tf":          `variable "access" { default = "VpcOnly" }` + "\n" + domainTF("var.access"),
				"terraform.tfvars": `access = "PublicInternetOnly"`,
			},
			want: map[string]want{domainAddr: fail("terraform.tfvars")}},
		{name: "--var overrides the tfvars",
			files: map[string]string{
				"main.tf":          `variable "access" { default = "PublicInternetOnly" }` + "\n" + domainTF("var.access"),
				"terraform.tfvars": `access = "PublicInternetOnly"`,
			},
			vars: []terraform.VarArg{{Name: "access", Value: "VpcOnly"}},
			want: map[string]want{domainAddr: pass}},
		{name: "local",
			files: map[string]string{"main.tf": `locals { access = lower("PUBLIC") == "public" ? "PublicInternetOnly" : "VpcOnly" }` + "\n" + domainTF("local.access")},
			want:  map[string]want{domainAddr: fail(`"PublicInternetOnly"`)}},
		{name: "undecided conditional fails on its public branch",
			files: map[string]string{"main.tf": `variable "prod" { type = bool }` + "\n" + domainTF(`var.prod ? "VpcOnly" : "PublicInternetOnly"`)},
			want:  map[string]want{domainAddr: fail("can be")}},
		{name: "required variable is unresolved",
			files: map[string]string{"main.tf": required + domainTF("var.access")},
			want:  map[string]want{domainAddr: review("cannot be decided before deployment")}},
		{name: "unresolved fails with --unresolved fail",
			files:      map[string]string{"main.tf": required + domainTF("var.access")},
			unresolved: UnresolvedFail,
			want:       map[string]want{domainAddr: {status: finding.StatusFail, path: finding.PathUnknown}}},
		{name: "another resource's attribute is unresolved",
			files: map[string]string{"main.tf": `resource "aws_ssm_parameter" "p" {
  name  = "access"
  type  = "String"
  value = "VpcOnly"
}
` + domainTF("aws_ssm_parameter.p.value")},
			want: map[string]want{domainAddr: review("known only after apply")}},
		{name: "local module evaluated with its caller's input",
			files: map[string]string{
				"main.tf": `module "team" {
  source = "./modules/studio"
  access = "PublicInternetOnly"
}
`,
				"modules/studio/main.tf": `variable "access" { default = "VpcOnly" }` + "\n" + domainTF("var.access"),
			},
			want: map[string]want{"module.team." + domainAddr: fail(`module "team" input`)}},
		{name: "awscc provider",
			files: map[string]string{"main.tf": `resource "awscc_sagemaker_domain" "a" {
  domain_name             = "a"
  app_network_access_type = "VpcOnly"
}
resource "awscc_sagemaker_domain" "b" {
  domain_name = "b"
}
`},
			want: map[string]want{
				"awscc_sagemaker_domain.a": pass,
				"awscc_sagemaker_domain.b": fail("omitted"),
			}},
		{name: "count gives one result per domain",
			files: map[string]string{"main.tf": strings.Replace(domainTF(`count.index == 0 ? "VpcOnly" : "PublicInternetOnly"`), `"studio" {`, "\"studio\" {\n  count = 2", 1)},
			want:  map[string]want{domainAddr + "[0]": pass, domainAddr + "[1]": fail(`"PublicInternetOnly"`)}},
	})
}

func TestTerraformPlanStudioDomains(t *testing.T) {
	plan := `{
  "format_version": "1.2",
  "planned_values": {"root_module": {"resources": []}},
  "resource_changes": [
    {"address": "aws_sagemaker_domain.open", "mode": "managed", "type": "aws_sagemaker_domain", "name": "open",
     "change": {"actions": ["create"], "before": null, "after": {"domain_name": "open", "app_network_access_type": "PublicInternetOnly"}, "after_unknown": {}}},
    {"address": "aws_sagemaker_domain.private", "mode": "managed", "type": "aws_sagemaker_domain", "name": "private",
     "change": {"actions": ["create"], "before": null, "after": {"domain_name": "private", "app_network_access_type": "VpcOnly"}, "after_unknown": {}}},
    {"address": "aws_sagemaker_domain.lower", "mode": "managed", "type": "aws_sagemaker_domain", "name": "lower",
     "change": {"actions": ["update"], "before": {}, "after": {"domain_name": "lower", "app_network_access_type": "vpconly"}, "after_unknown": {}}},
    {"address": "aws_sagemaker_domain.missing", "mode": "managed", "type": "aws_sagemaker_domain", "name": "missing",
     "change": {"actions": ["create"], "before": null, "after": {"domain_name": "missing"}, "after_unknown": {}}},
    {"address": "aws_sagemaker_domain.pending", "mode": "managed", "type": "aws_sagemaker_domain", "name": "pending",
     "change": {"actions": ["create"], "before": null, "after": {"domain_name": "pending"}, "after_unknown": {"app_network_access_type": true}}},
    {"address": "awscc_sagemaker_domain.cc", "mode": "managed", "type": "awscc_sagemaker_domain", "name": "cc",
     "change": {"actions": ["delete", "create"], "before": {}, "after": {"domain_name": "cc", "app_network_access_type": "VpcOnly"}, "after_unknown": {}}},
    {"address": "aws_sagemaker_domain.gone", "mode": "managed", "type": "aws_sagemaker_domain", "name": "gone",
     "change": {"actions": ["delete"], "before": {"app_network_access_type": "PublicInternetOnly"}, "after": null}},
    {"address": "aws_sagemaker_notebook_instance.nb", "mode": "managed", "type": "aws_sagemaker_notebook_instance", "name": "nb",
     "change": {"actions": ["create"], "before": null, "after": {"name": "nb", "direct_internet_access": "Enabled"}, "after_unknown": {}}}
  ]
}`
	planned := `{
  "format_version": "1.0",
  "planned_values": {"root_module": {"resources": [
    {"address": "aws_sagemaker_domain.a", "mode": "managed", "type": "aws_sagemaker_domain", "name": "a", "values": {"app_network_access_type": "VpcOnly"}},
    {"address": "aws_sagemaker_domain.b", "mode": "managed", "type": "aws_sagemaker_domain", "name": "b", "values": {}}
  ]}}
}`
	runCases(t, []scanCase{
		{name: "resource changes", files: map[string]string{"plan.json": plan}, want: map[string]want{
			"aws_sagemaker_domain.open":          {status: finding.StatusFail, path: finding.PathDirect, msg: `"PublicInternetOnly"`},
			"aws_sagemaker_domain.private":       {status: finding.StatusPass, path: finding.PathNone},
			"aws_sagemaker_domain.lower":         {status: finding.StatusFail, msg: "case-sensitive"},
			"aws_sagemaker_domain.missing":       {status: finding.StatusFail, msg: "omitted"},
			"aws_sagemaker_domain.pending":       {status: finding.StatusReview, path: finding.PathUnknown, msg: "after_unknown"},
			"awscc_sagemaker_domain.cc":          {status: finding.StatusPass},
			"aws_sagemaker_notebook_instance.nb": {status: finding.StatusFail, msg: `"Enabled"`},
		}},
		// Planned values omit what is unknown until apply: absent is unknown there.
		{name: "planned values only", files: map[string]string{"plan.json": planned}, want: map[string]want{
			"aws_sagemaker_domain.a": {status: finding.StatusPass},
			"aws_sagemaker_domain.b": {status: finding.StatusReview, msg: "planned values omit it"},
		}},
	})
	res, _ := scanTree(t, scanCase{files: map[string]string{"plan.json": plan}})
	for _, r := range res {
		if r.Resource.Address == "awscc_sagemaker_domain.cc" && !strings.Contains(strings.Join(r.Evidence.Notes, " "), "replaces this domain") {
			t.Errorf("replacement not noted: %v", r.Evidence.Notes)
		}
	}
}

func TestCloudFormationStudioDomains(t *testing.T) {
	fail := func(msg string) want { return want{status: finding.StatusFail, path: finding.PathDirect, msg: msg} }
	pass := want{status: finding.StatusPass, path: finding.PathNone}
	review := func(msg string) want { return want{status: finding.StatusReview, path: finding.PathUnknown, msg: msg} }
	// domain is a template with one domain whose properties are props
	// (YAML flow mapping) and with the given top-level sections.
	domain := func(sections, props string) string {
		return sections + `
Resources:
  Studio:
    Type: AWS::SageMaker::Domain
    Properties: {AuthMode: IAM, DomainName: studio, VpcId: vpc-1, SubnetIds: [subnet-1], DefaultUserSettings: {ExecutionRole: arn}` + props + `}`
	}
	params := `
Parameters:
  Access:
    Type: String
    Default: PublicInternetOnly`
	cases := []cfnCase{
		{name: "missing attribute is PublicInternetOnly", yaml: domain("", ""),
			json: `{"Resources": {"Studio": {"Type": "AWS::SageMaker::Domain", "Properties": {"DomainName": "studio"}}}}`,
			want: map[string]want{"Studio": fail("default to PublicInternetOnly")}},
		{name: "no Properties at all", yaml: "Resources:\n  Studio:\n    Type: AWS::SageMaker::Domain\n",
			json: `{"Resources": {"Studio": {"Type": "AWS::SageMaker::Domain"}}}`,
			want: map[string]want{"Studio": fail("omitted")}},
		{name: "VpcOnly passes", yaml: domain("", ", AppNetworkAccessType: VpcOnly"),
			json: `{"Resources": {"Studio": {"Type": "AWS::SageMaker::Domain", "Properties": {"AppNetworkAccessType": "VpcOnly"}}}}`,
			want: map[string]want{"Studio": pass}},
		{name: "lower-case vpconly fails", yaml: domain("", ", AppNetworkAccessType: vpconly"),
			json: `{"Resources": {"Studio": {"Type": "AWS::SageMaker::Domain", "Properties": {"AppNetworkAccessType": "vpconly"}}}}`,
			want: map[string]want{"Studio": fail("case-sensitive")}},
		{name: "parameter default PublicInternetOnly fails", yaml: domain(params, ", AppNetworkAccessType: !Ref Access"),
			json: `{"Parameters": {"Access": {"Type": "String", "Default": "PublicInternetOnly"}},
"Resources": {"Studio": {"Type": "AWS::SageMaker::Domain", "Properties": {"AppNetworkAccessType": {"Ref": "Access"}}}}}`,
			want: map[string]want{"Studio": fail(`"PublicInternetOnly"`)}},
		{name: "parameter override VpcOnly passes", yaml: domain(params, ", AppNetworkAccessType: !Ref Access"),
			json: `{"Parameters": {"Access": {"Type": "String", "Default": "PublicInternetOnly"}},
"Resources": {"Studio": {"Type": "AWS::SageMaker::Domain", "Properties": {"AppNetworkAccessType": {"Ref": "Access"}}}}}`,
			vars: []terraform.VarArg{{Name: "Access", Value: "VpcOnly"}},
			want: map[string]want{"Studio": pass}},
		{name: "parameter allowing PublicInternetOnly fails",
			yaml: domain("\nParameters:\n  Access: {Type: String, Default: VpcOnly, AllowedValues: [VpcOnly, PublicInternetOnly]}", ", AppNetworkAccessType: !Ref Access"),
			json: `{"Parameters": {"Access": {"Type": "String", "Default": "VpcOnly", "AllowedValues": ["VpcOnly", "PublicInternetOnly"]}},
"Resources": {"Studio": {"Type": "AWS::SageMaker::Domain", "Properties": {"AppNetworkAccessType": {"Ref": "Access"}}}}}`,
			want: map[string]want{"Studio": fail("can be")}},
		{name: "required parameter is unresolved",
			yaml: domain("\nParameters:\n  Access: {Type: String}", ", AppNetworkAccessType: !Ref Access"),
			json: `{"Parameters": {"Access": {"Type": "String"}}, "Resources": {"Studio": {"Type": "AWS::SageMaker::Domain", "Properties": {"AppNetworkAccessType": {"Ref": "Access"}}}}}`,
			want: map[string]want{"Studio": review("cannot be decided before deployment")}},
		{name: "Fn::If decided by the parameter default",
			yaml: domain("\nParameters:\n  Env: {Type: String, Default: prod}\nConditions:\n  IsProd: !Equals [!Ref Env, prod]",
				", AppNetworkAccessType: !If [IsProd, VpcOnly, PublicInternetOnly]"),
			json: `{"Parameters": {"Env": {"Type": "String", "Default": "prod"}}, "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
"Resources": {"Studio": {"Type": "AWS::SageMaker::Domain", "Properties": {"AppNetworkAccessType": {"Fn::If": ["IsProd", "VpcOnly", "PublicInternetOnly"]}}}}}`,
			want: map[string]want{"Studio": pass}},
		{name: "Fn::If undecided fails on its public branch",
			yaml: domain("\nParameters:\n  Env: {Type: String}\nConditions:\n  IsProd: !Equals [!Ref Env, prod]",
				", AppNetworkAccessType: !If [IsProd, VpcOnly, PublicInternetOnly]"),
			json: `{"Parameters": {"Env": {"Type": "String"}}, "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
"Resources": {"Studio": {"Type": "AWS::SageMaker::Domain", "Properties": {"AppNetworkAccessType": {"Fn::If": ["IsProd", "VpcOnly", "PublicInternetOnly"]}}}}}`,
			want: map[string]want{"Studio": fail("can be")}},
		{name: "Ref AWS::NoValue falls back to the default",
			yaml: domain("", ", AppNetworkAccessType: !Ref AWS::NoValue"),
			json: `{"Resources": {"Studio": {"Type": "AWS::SageMaker::Domain", "Properties": {"AppNetworkAccessType": {"Ref": "AWS::NoValue"}}}}}`,
			want: map[string]want{"Studio": fail("omitted")}},
		{name: "ImportValue is unresolved",
			yaml: domain("", ", AppNetworkAccessType: !ImportValue shared-access"),
			json: `{"Resources": {"Studio": {"Type": "AWS::SageMaker::Domain", "Properties": {"AppNetworkAccessType": {"Fn::ImportValue": "shared-access"}}}}}`,
			want: map[string]want{"Studio": review("deployment")}},
		{name: "CDK construct path",
			yaml: "Resources:\n  Studio12AB:\n    Type: AWS::SageMaker::Domain\n    Properties: {AppNetworkAccessType: PublicInternetOnly}\n    Metadata: {\"aws:cdk:path\": App/Stack/Studio/Resource}",
			json: `{"Resources": {"Studio12AB": {"Type": "AWS::SageMaker::Domain", "Properties": {"AppNetworkAccessType": "PublicInternetOnly"}, "Metadata": {"aws:cdk:path": "App/Stack/Studio/Resource"}}}}`,
			want: map[string]want{"Studio12AB": fail(`"PublicInternetOnly"`)}},
	}
	for _, tc := range cases {
		for _, form := range []struct{ ext, body string }{{"template.yaml", tc.yaml}, {"template.json", tc.json}} {
			runCases(t, []scanCase{{name: tc.name + "/" + form.ext, files: map[string]string{form.ext: form.body}, vars: tc.vars, want: tc.want}})
		}
	}
}

// TestDomainAndNotebookInOneFile checks that each resource is reported
// under its own control, resource type, evidence and compliance, and that
// an inline suppression counts only for the control it names.
func TestDomainAndNotebookInOneFile(t *testing.T) {
	comp, err := Compliance()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		files          map[string]string
		domain, nb     string
		domainMuted    bool
		constructPaths bool
	}{
		{name: "terraform", domain: domainAddr, nb: nbAddr, domainMuted: true, files: map[string]string{"main.tf": `
# sagefence:ignore sagemaker-studio-no-direct-internet-access reason="public training lab (SEC-1)"
` + domainTF(`"PublicInternetOnly"`) + `
# sagefence:ignore sagemaker-studio-no-direct-internet-access reason="names the other control"
resource "aws_sagemaker_notebook_instance" "nb" {
  name = "nb"
}
`}},
		{name: "cloudformation", domain: "Studio", nb: "NB", files: map[string]string{"template.yaml": `
Resources:
  Studio:
    Type: AWS::SageMaker::Domain
    Properties: {DomainName: studio}
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties: {NotebookInstanceName: nb, DirectInternetAccess: Enabled}
`}},
		{name: "cdk", domain: "Studio", nb: "NB", constructPaths: true, files: map[string]string{"cdk.out/App.template.json": `{"Resources": {
  "Studio": {"Type": "AWS::SageMaker::Domain", "Properties": {"DomainName": "studio", "AppNetworkAccessType": "PublicInternetOnly"},
    "Metadata": {"aws:cdk:path": "App/Studio/Resource"}},
  "NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"NotebookInstanceName": "nb"},
    "Metadata": {"aws:cdk:path": "App/Notebook/Resource"}}}}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tc.files)
			res, errs, err := New(Options{Compliance: comp}).Scan(context.Background(), []string{dir})
			if err != nil || len(errs) > 0 {
				t.Fatalf("err %v, errs %+v", err, errs)
			}
			by := map[string]finding.Result{}
			for _, r := range res {
				by[r.Resource.Address] = r
			}
			if len(res) != 2 {
				t.Fatalf("%d results, want the domain and the notebook: %v", len(res), by)
			}
			d, n := by[tc.domain], by[tc.nb]
			if d.ControlID != finding.ControlIDStudio || d.Resource.Type != finding.ResourceTypeDomain {
				t.Errorf("domain: control %q type %q", d.ControlID, d.Resource.Type)
			}
			if n.ControlID != finding.ControlID || n.Resource.Type != finding.ResourceType {
				t.Errorf("notebook: control %q type %q", n.ControlID, n.Resource.Type)
			}
			if d.Resource.Name != "studio" || n.Resource.Name != "nb" {
				t.Errorf("names: domain %q notebook %q", d.Resource.Name, n.Resource.Name)
			}
			if !slices.Equal(d.Compliance["aws-config"], []string{"sagemaker-domain-in-vpc"}) || d.Compliance["aws-securityhub"] != nil {
				t.Errorf("domain compliance = %v", d.Compliance)
			}
			if !slices.Equal(n.Compliance["aws-securityhub"], []string{"SageMaker.1"}) {
				t.Errorf("notebook compliance = %v", n.Compliance)
			}
			if d.Evidence.StudioEvidence == nil || d.Evidence.AppNetworkAccessType == "" || d.Evidence.DirectInternetAccess != "" || d.Evidence.SubnetID != "" {
				t.Errorf("domain evidence = %+v", d.Evidence)
			}
			if n.Evidence.StudioEvidence != nil || n.Evidence.DirectInternetAccess == "" {
				t.Errorf("notebook evidence = %+v", n.Evidence)
			}
			if n.Status != finding.StatusFail {
				t.Errorf("notebook: %s, want FAIL (a suppression naming the Studio control does not mute it)", n.Status)
			}
			wantDomain := finding.StatusFail
			if tc.domainMuted {
				wantDomain = finding.StatusMuted
			}
			if d.Status != wantDomain || (tc.domainMuted && d.UnmutedStatus != finding.StatusFail) {
				t.Errorf("domain: %s (unmuted %s), want %s", d.Status, d.UnmutedStatus, wantDomain)
			}
			if !strings.Contains(d.Remediation, "VpcOnly") || strings.Contains(d.Remediation, "DirectInternetAccess") {
				t.Errorf("domain remediation = %q", d.Remediation)
			}
			if tc.constructPaths && (d.Resource.SourceKind != "cdk" || d.Resource.ConstructPath != "App/Studio/Resource" || !strings.Contains(d.Remediation, "CfnDomain")) {
				t.Errorf("cdk domain: %+v %q", d.Resource, d.Remediation)
			}
			cmds := strings.Join(d.Reproduce.Strings(), "\n")
			if !strings.Contains(cmds, "describe-domain") || !strings.Contains(cmds, "DomainName==`studio`") {
				t.Errorf("domain reproduce = %s", cmds)
			}
			if tc.name == "terraform" {
				if !strings.Contains(cmds, "app_network_access_type") || filepath.Base(d.Resource.File) != "main.tf" {
					t.Errorf("terraform domain reproduce = %s, file %s", cmds, d.Resource.File)
				}
				if !strings.Contains(strings.Join(n.Evidence.Notes, " "), "not "+finding.ControlID+": ignored") {
					t.Errorf("notebook notes = %v, want the other control's suppression ignored", n.Evidence.Notes)
				}
			}
		})
	}
}
