package terraform

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func evalFiles(t *testing.T, files map[string]string) {
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	nbs, errs := New(nil).EvaluateRoot(context.Background(), dir)
	for _, e := range errs {
		if strings.Contains(e.Msg, "internal error") {
			t.Fatalf("evaluation panicked: %v", e)
		}
	}
	for _, nb := range nbs {
		if nb.Address == "" || nb.Line < 1 || len(nb.DirectInternetAccess.Normalized().Alts) == 0 {
			t.Fatalf("bad notebook: %+v", nb)
		}
	}
}

// FuzzModule evaluates an arbitrary configuration file (with a tfvars
// file and a local module) as a root module.
func FuzzModule(f *testing.F) {
	f.Add(`resource "aws_sagemaker_notebook_instance" "nb" {}`, ``)
	f.Add(`variable "a" { default = "Disabled" }
locals { b = var.a == "x" ? "Enabled" : local.c
  c = upper(var.a) }
resource "aws_sagemaker_notebook_instance" "nb" {
  for_each = { x = 1 }
  direct_internet_access = local.b
  subnet_id = aws_subnet.a[each.key].id
}
module "m" {
  source = "./mod"
  count = 2
  a = count.index
}`, `a = "Enabled"`)
	f.Add(`variable "net" { default = "vpconly" }
resource "aws_sagemaker_domain" "d" {
  count                   = 2
  domain_name             = "d${count.index}"
  app_network_access_type = count.index == 0 ? var.net : null
}
resource "awscc_sagemaker_domain" "e" { app_network_access_type = aws_ssm_parameter.p.value }`, `net = "VpcOnly"`)
	f.Add(`locals { a = local.a }
resource "aws_sagemaker_notebook_instance" "nb" { count = local.a }`, `b = [1,`)
	f.Fuzz(func(t *testing.T, src, tfvars string) {
		evalFiles(t, map[string]string{
			"main.tf":          src,
			"terraform.tfvars": tfvars,
			"mod/main.tf": `variable "a" {}
resource "aws_sagemaker_notebook_instance" "nb" { direct_internet_access = var.a }`,
		})
	})
}

// FuzzExpression evaluates an arbitrary expression as the notebook's
// attributes, with variables, locals and count in scope.
func FuzzExpression(f *testing.F) {
	for _, s := range []string{
		`var.access`, `local.on ? "Disabled" : "Enabled"`, `lower(var.access)`, `[for s in var.list : upper(s)][0]`,
		`try(var.map["x"], "Disabled")`, `"${var.access}"`, `aws_subnet.a.id`, `count.index > 0 ? null : "Disabled"`,
		`format("%s", var.access)`, `jsondecode("{\"a\": 1}").a`, `var.list[*]`, `{for k, v in var.map : k => v}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		if strings.ContainsAny(expr, "\n\r") {
			return
		}
		evalFiles(t, map[string]string{"main.tf": `variable "access" { default = "Disabled" }
variable "list" { default = ["a", "b"] }
variable "map" {
  type    = map(string)
  default = { x = "Enabled" }
}
locals { on = var.access == "Disabled" }
resource "aws_sagemaker_notebook_instance" "nb" {
  count                  = 2
  direct_internet_access = ` + expr + `
  subnet_id              = ` + expr + `
}
`})
	})
}
