package iac

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/iac/terraform"
)

// want is the expected verdict on one notebook, by address.
type want struct {
	status finding.Status
	path   finding.InternetPath
	// msg must appear in the direct-internet-access check's message.
	msg string
}

type scanCase struct {
	name  string
	files map[string]string
	vars  []terraform.VarArg
	// paths are scanned (relative to the temp dir); default ".".
	paths      []string
	unresolved Unresolved
	want       map[string]want
	// errs must each appear in one of the report's errors.
	errs []string
}

func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func scanTree(t *testing.T, tc scanCase) ([]finding.Result, []finding.Error) {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, tc.files)
	ctx := context.Background()
	for i, v := range tc.vars {
		if v.File != "" {
			tc.vars[i].File = filepath.Join(dir, v.File)
		}
	}
	in, err := terraform.ParseInputs(ctx, tc.vars)
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{}
	for _, v := range tc.vars {
		if v.File == "" {
			params[v.Name] = v.Value
		}
	}
	sc := New(Options{Inputs: in, Params: params, Unresolved: tc.unresolved})
	paths := tc.paths
	if len(paths) == 0 {
		paths = []string{"."}
	}
	for i := range paths {
		paths[i] = filepath.Join(dir, paths[i])
	}
	res, errs, err := sc.Scan(ctx, paths)
	if err != nil {
		t.Fatal(err)
	}
	return res, errs
}

func runCases(t *testing.T, cases []scanCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, errs := scanTree(t, tc)
			got := map[string]*finding.Result{}
			for i := range res {
				got[res[i].Resource.Address] = &res[i]
			}
			for addr, w := range tc.want {
				r, ok := got[addr]
				if !ok {
					t.Errorf("%s: no result; got %v", addr, keys(got))
					continue
				}
				if r.Status != w.status {
					t.Errorf("%s: status %s, want %s (%s)", addr, r.Status, w.status, r.Checks[0].Message)
				}
				if w.path != "" && r.InternetPath != w.path {
					t.Errorf("%s: internet_path %s, want %s", addr, r.InternetPath, w.path)
				}
				if w.msg != "" && !strings.Contains(r.Checks[0].Message, w.msg) {
					t.Errorf("%s: message %q lacks %q", addr, r.Checks[0].Message, w.msg)
				}
				if r.Resource.File == "" || r.Resource.Line == 0 || r.Resource.SourceKind == "" {
					t.Errorf("%s: not located: %+v", addr, r.Resource)
				}
			}
			for addr := range got {
				if _, ok := tc.want[addr]; !ok {
					t.Errorf("unexpected result %s: %s %s", addr, got[addr].Status, got[addr].Checks[0].Message)
				}
			}
			for _, e := range tc.errs {
				found := false
				for _, x := range errs {
					found = found || strings.Contains(x.Message, e)
				}
				if !found {
					t.Errorf("no error containing %q in %+v", e, errs)
				}
			}
			if len(tc.errs) == 0 && len(errs) > 0 {
				t.Errorf("unexpected errors: %+v", errs)
			}
		})
	}
}

func keys(m map[string]*finding.Result) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

const nbAddr = "aws_sagemaker_notebook_instance.nb"

func TestTerraformConstructs(t *testing.T) {
	fail := func(msg string) want { return want{status: finding.StatusFail, path: finding.PathDirect, msg: msg} }
	pass := want{status: finding.StatusPass, path: finding.PathNone}
	review := func(msg string) want { return want{status: finding.StatusReview, path: finding.PathUnknown, msg: msg} }
	runCases(t, []scanCase{
		{name: "missing attribute is Enabled", files: map[string]string{"main.tf": `
resource "aws_sagemaker_notebook_instance" "nb" {
  name      = "nb"
  subnet_id = "subnet-1"
}`}, want: map[string]want{nbAddr: fail("omitted")}},
		{name: "explicit Enabled", files: map[string]string{"main.tf": `
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = "Enabled"
}`}, want: map[string]want{nbAddr: fail(`"Enabled"`)}},
		{name: "null is the default", files: map[string]string{"main.tf": `
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = null
  subnet_id              = "subnet-1"
}`}, want: map[string]want{nbAddr: fail("omitted")}},
		{name: "Disabled with a subnet reference passes", files: map[string]string{"main.tf": `
resource "aws_subnet" "private" { vpc_id = "vpc-1" }
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = "Disabled"
  subnet_id              = aws_subnet.private.id
}`}, want: map[string]want{nbAddr: pass}},
		{name: "lower-case disabled fails", files: map[string]string{"main.tf": `
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = "disabled"
  subnet_id              = "subnet-1"
}`}, want: map[string]want{nbAddr: fail("case-sensitive")}},
		{name: "Disabled without subnet fails: deployment fails", files: map[string]string{"main.tf": `
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = "Disabled"
}`}, want: map[string]want{nbAddr: {status: finding.StatusFail, path: finding.PathNone, msg: "deployment itself will fail"}}},
		{name: "Disabled with empty subnet fails", files: map[string]string{"main.tf": `
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = "Disabled"
  subnet_id              = ""
}`}, want: map[string]want{nbAddr: {status: finding.StatusFail, msg: "deployment itself will fail"}}},
		{name: "variable default", files: map[string]string{"main.tf": `
variable "access" { default = "Disabled" }
variable "subnet" {
  type    = string
  default = "subnet-1"
}
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = var.access
  subnet_id              = var.subnet
}`}, want: map[string]want{nbAddr: pass}},
		{name: "variable overridden by terraform.tfvars", files: map[string]string{
			"main.tf": `
variable "access" { default = "Disabled" }
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = var.access
  subnet_id              = "subnet-1"
}`,
			"terraform.tfvars": `access = "Enabled"`,
		}, want: map[string]want{nbAddr: fail("terraform.tfvars:1")}},
		{name: "auto.tfvars wins over terraform.tfvars", files: map[string]string{
			"main.tf": `
variable "access" {}
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = var.access
  subnet_id              = "subnet-1"
}`,
			"terraform.tfvars":   `access = "Enabled"`,
			"b.auto.tfvars":      `access = "Enabled"`,
			"a.auto.tfvars.json": `{"access": "Enabled"}`,
			"z.auto.tfvars":      `access = "Disabled"`,
		}, want: map[string]want{nbAddr: pass}},
		{name: "--var-file then --var, later wins", files: map[string]string{
			"main.tf": `
variable "access" { default = "Enabled" }
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = var.access
  subnet_id              = "subnet-1"
}`,
			"prod.tfvars": `access = "Enabled"`,
		}, vars: []terraform.VarArg{{File: "prod.tfvars"}, {Name: "access", Value: "Disabled"}},
			want: map[string]want{nbAddr: pass}},
		{name: "required variable without value is unresolved", files: map[string]string{"main.tf": `
variable "access" { type = string }
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = var.access
  subnet_id              = "subnet-1"
}`}, want: map[string]want{nbAddr: review("cannot be decided")}},
		{name: "required subnet variable counts as set", files: map[string]string{"main.tf": `
variable "subnet" { type = string }
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = "Disabled"
  subnet_id              = var.subnet
}`}, want: map[string]want{nbAddr: pass}},
		{name: "locals and functions", files: map[string]string{"main.tf": `
locals {
  env    = "prod"
  access = local.env == "prod" ? title(lower("DISABLED")) : "Enabled"
  subnet = join("-", ["subnet", "abc"])
}
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = local.access
  subnet_id              = local.subnet
}`}, want: map[string]want{nbAddr: pass}},
		{name: "decided conditional", files: map[string]string{"main.tf": `
variable "private" { default = false }
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = var.private ? "Disabled" : "Enabled"
  subnet_id              = "subnet-1"
}`}, want: map[string]want{nbAddr: fail(`"Enabled"`)}},
		{name: "undecided conditional with an Enabled branch fails", files: map[string]string{"main.tf": `
variable "private" { type = bool }
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = var.private ? "Disabled" : "Enabled"
  subnet_id              = "subnet-1"
}`}, want: map[string]want{nbAddr: fail("is false, which is not known before apply")}},
		{name: "undecided conditional with only Disabled branches passes", files: map[string]string{"main.tf": `
variable "private" { type = bool }
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = var.private ? "Disabled" : "Disabled"
  subnet_id              = "subnet-1"
}`}, want: map[string]want{nbAddr: pass}},
		{name: "count = 0 declares nothing", files: map[string]string{"main.tf": `
variable "create" { default = false }
resource "aws_sagemaker_notebook_instance" "nb" {
  count = var.create ? 1 : 0
}`}, want: map[string]want{}},
		{name: "empty for_each declares nothing", files: map[string]string{"main.tf": `
resource "aws_sagemaker_notebook_instance" "nb" {
  for_each = {}
}`}, want: map[string]want{}},
		{name: "count instances", files: map[string]string{"main.tf": `
resource "aws_sagemaker_notebook_instance" "nb" {
  count                  = 2
  direct_internet_access = count.index == 0 ? "Disabled" : "Enabled"
  subnet_id              = "subnet-1"
}`}, want: map[string]want{nbAddr + "[0]": pass, nbAddr + "[1]": fail(`"Enabled"`)}},
		{name: "for_each instances", files: map[string]string{"main.tf": `
locals {
  notebooks = {
    secure = { access = "Disabled" }
    open   = { access = "Enabled" }
  }
}
resource "aws_sagemaker_notebook_instance" "nb" {
  for_each               = local.notebooks
  name                   = each.key
  direct_internet_access = each.value.access
  subnet_id              = "subnet-1"
}`}, want: map[string]want{nbAddr + `["secure"]`: pass, nbAddr + `["open"]`: fail(`"Enabled"`)}},
		{name: "for_each over a set", files: map[string]string{"main.tf": `
resource "aws_sagemaker_notebook_instance" "nb" {
  for_each               = toset(["a"])
  direct_internet_access = "Disabled"
  subnet_id              = "subnet-${each.key}"
}`}, want: map[string]want{nbAddr + `["a"]`: pass}},
		{name: "unknown count evaluated once", files: map[string]string{"main.tf": `
resource "aws_sagemaker_notebook_instance" "nb" {
  count = length(data.aws_subnets.all.ids)
}`}, want: map[string]want{nbAddr + "[*]": fail("omitted")}},
		{name: "reference to another resource is unresolved", files: map[string]string{"main.tf": `
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = aws_ssm_parameter.access.value
  subnet_id              = "subnet-1"
}`}, want: map[string]want{nbAddr: review("cannot be decided")}},
		{name: "unknown function is unresolved", files: map[string]string{"main.tf": `
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = file("access.txt")
  subnet_id              = "subnet-1"
}`}, want: map[string]want{nbAddr: review("unknown function")}},
		{name: "unresolved fail", unresolved: UnresolvedFail, files: map[string]string{"main.tf": `
variable "access" {}
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = var.access
  subnet_id              = "subnet-1"
}`}, want: map[string]want{nbAddr: {status: finding.StatusFail, path: finding.PathUnknown}}},
		{name: "unresolved pass", unresolved: UnresolvedPass, files: map[string]string{"main.tf": `
variable "access" {}
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = var.access
  subnet_id              = "subnet-1"
}`}, want: map[string]want{nbAddr: {status: finding.StatusPass, path: finding.PathUnknown}}},
		{name: "awscc resource", files: map[string]string{"main.tf": `
resource "awscc_sagemaker_notebook_instance" "nb" {
  notebook_instance_name = "x"
  direct_internet_access = "Enabled"
}`}, want: map[string]want{"awscc_sagemaker_notebook_instance.nb": fail(`"Enabled"`)}},
		{name: "tf.json", files: map[string]string{"main.tf.json": `{
  "variable": {"access": {"default": "Disabled"}},
  "resource": {"aws_sagemaker_notebook_instance": {"nb": {
    "direct_internet_access": "${var.access}",
    "subnet_id": "subnet-1"
  }}}
}`}, want: map[string]want{nbAddr: pass}},
		{name: "unknown access without a subnet fails either way", files: map[string]string{"main.tf": `
variable "access" { type = string }
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = var.access
}`}, want: map[string]want{nbAddr: fail("Disabled needs a subnet")}},
		{name: "object variable with optional defaults", files: map[string]string{"main.tf": `
variable "nb" {
  type = object({
    access = optional(string, "Disabled")
    subnet = optional(string, "subnet-1")
  })
  default = {}
}
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = var.nb.access
  subnet_id              = var.nb.subnet
}`}, want: map[string]want{nbAddr: pass}},
		{name: "--var for a list variable is an HCL expression", files: map[string]string{"main.tf": `
variable "modes" { type = list(string) }
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = var.modes[1]
  subnet_id              = "subnet-1"
}`}, vars: []terraform.VarArg{{Name: "modes", Value: `["Disabled", "Enabled"]`}}, want: map[string]want{nbAddr: fail(`"Enabled"`)}},
		{name: "other resources are ignored", files: map[string]string{"main.tf": `
resource "aws_instance" "web" { ami = "ami-1" }
`}, want: map[string]want{}},
	})
}

func TestTerraformModules(t *testing.T) {
	module := `
variable "access" { default = "Disabled" }
variable "subnet" { default = "subnet-1" }
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = var.access
  subnet_id              = var.subnet
}`
	runCases(t, []scanCase{
		{name: "module input decides, not the module's default", files: map[string]string{
			"modules/nb/main.tf": module,
			"live/main.tf": `
module "team" {
  source = "../modules/nb"
  access = "Enabled"
}`,
		}, want: map[string]want{"module.team." + nbAddr: {status: finding.StatusFail, msg: `module "team" input`}}},
		{name: "module reached through a caller is not evaluated standalone", files: map[string]string{
			"modules/nb/main.tf": module,
			"main.tf": `
locals { subnet = "subnet-9" }
module "a" {
  source = "./modules/nb"
  subnet = local.subnet
}
module "b" {
  source = "./modules/nb"
  access = "Enabled"
}`,
		}, want: map[string]want{
			"module.a." + nbAddr: {status: finding.StatusPass},
			"module.b." + nbAddr: {status: finding.StatusFail},
		}},
		{name: "nested modules with count", files: map[string]string{
			"modules/nb/main.tf": module,
			"modules/team/main.tf": `
variable "open" {}
module "nb" {
  source = "../nb"
  count  = 2
  access = var.open && count.index == 1 ? "Enabled" : "Disabled"
}`,
			"main.tf": `
module "team" {
  source = "./modules/team"
  open   = true
}`,
		}, want: map[string]want{
			"module.team.module.nb[0]." + nbAddr: {status: finding.StatusPass},
			"module.team.module.nb[1]." + nbAddr: {status: finding.StatusFail},
		}},
		{name: "module that nobody calls is a root", files: map[string]string{"modules/nb/main.tf": module},
			want: map[string]want{nbAddr: {status: finding.StatusPass}}},
		{name: "module calling itself is an error, not a hang", files: map[string]string{"main.tf": `
module "me" { source = "./" }
resource "aws_sagemaker_notebook_instance" "nb" {}`},
			want: map[string]want{nbAddr: {status: finding.StatusFail}}, errs: []string{"calls itself"}},
		{name: "remote modules are not fetched", files: map[string]string{"main.tf": `
module "vpc" { source = "terraform-aws-modules/vpc/aws" }`}, want: map[string]want{}},
	})
}

func TestTerraformSuppressions(t *testing.T) {
	res, _ := scanTree(t, scanCase{files: map[string]string{"main.tf": `
# sagefence:ignore sagemaker-notebook-no-direct-internet-access reason="vendor mirror, SEC-1234"
resource "aws_sagemaker_notebook_instance" "muted" {}

# sagefence:ignore sagemaker-notebook-no-direct-internet-access
resource "aws_sagemaker_notebook_instance" "noreason" {}

resource "aws_sagemaker_notebook_instance" "inline" { # sagefence:ignore sagemaker-notebook-no-direct-internet-access reason="lab"
}

# sagefence:ignore some-other-rule reason="x"
resource "aws_sagemaker_notebook_instance" "other" {}

# sagefence:ignore sagemaker-notebook-no-direct-internet-access reason="not needed"
resource "aws_sagemaker_notebook_instance" "passing" {
  direct_internet_access = "Disabled"
  subnet_id              = "subnet-1"
}

# sagefence:ignore sagemaker-notebook-no-direct-internet-access reason="too far away"

resource "aws_sagemaker_notebook_instance" "detached" {}
`}})
	by := map[string]finding.Result{}
	for _, r := range res {
		by[r.Resource.Address] = r
	}
	m := by["aws_sagemaker_notebook_instance.muted"]
	if m.Status != finding.StatusMuted || m.UnmutedStatus != finding.StatusFail || m.Mute == nil || m.Mute.Reason != "vendor mirror, SEC-1234" || m.Mute.Source != MuteSource {
		t.Errorf("muted: %+v %+v", m.Status, m.Mute)
	}
	if r := by["aws_sagemaker_notebook_instance.inline"]; r.Status != finding.StatusMuted || r.Mute.Reason != "lab" {
		t.Errorf("inline: %s %+v", r.Status, r.Mute)
	}
	nr := by["aws_sagemaker_notebook_instance.noreason"]
	if nr.Status != finding.StatusFail || !strings.Contains(nr.Checks[0].Message, "has no reason: not honoured") {
		t.Errorf("suppression without reason: %s %q", nr.Status, nr.Checks[0].Message)
	}
	if r := by["aws_sagemaker_notebook_instance.other"]; r.Status != finding.StatusFail || !strings.Contains(strings.Join(r.Evidence.Notes, "\n"), "some-other-rule") {
		t.Errorf("other rule: %s %v", r.Status, r.Evidence.Notes)
	}
	if r := by["aws_sagemaker_notebook_instance.passing"]; r.Status != finding.StatusPass {
		t.Errorf("passing: %s", r.Status)
	}
	if r := by["aws_sagemaker_notebook_instance.detached"]; r.Status != finding.StatusFail {
		t.Errorf("a suppression separated by a blank line must not apply: %s", r.Status)
	}
}

func TestTerraformMalformedFileIsReportedAndOthersScanned(t *testing.T) {
	res, errs := scanTree(t, scanCase{files: map[string]string{
		"a/main.tf": "resource \"aws_sagemaker_notebook_instance\" \"nb\" {\n  direct_internet_access = \n}\n",
		"a/ok.tf":   `resource "aws_sagemaker_notebook_instance" "other" {}`,
		"b/main.tf": `resource "aws_sagemaker_notebook_instance" "nb" {}`,
	}})
	if len(errs) != 1 || !strings.HasSuffix(errs[0].Resource, "a/main.tf:2") || !strings.Contains(errs[0].Message, "a/main.tf:2: Invalid expression") {
		t.Fatalf("errors = %+v, want one at a/main.tf:2", errs)
	}
	if len(res) != 2 {
		t.Fatalf("results = %d, want the two notebooks of the files that parse", len(res))
	}
}
