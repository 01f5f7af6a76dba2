// Package model is the provider-neutral description of a SageMaker notebook
// instance or Studio domain declared in infrastructure as code: what each
// source adapter
// (Terraform configuration, Terraform plan, CloudFormation/CDK) extracts and
// what the IaC verdict is computed from. Values are static: an attribute may
// be omitted, known, one of several values (an undecided condition), or
// unknown until deployment.
package model

import (
	"strconv"
	"strings"
)

// SourceKind names the kind of source a notebook was declared in.
type SourceKind string

// Source kinds.
const (
	KindTerraform      SourceKind = "terraform"
	KindTerraformPlan  SourceKind = "terraform-plan"
	KindCloudFormation SourceKind = "cloudformation"
	KindCDK            SourceKind = "cdk"
)

// Resource type names the adapters recognise.
const (
	TypeTerraformAWS   = "aws_sagemaker_notebook_instance"
	TypeTerraformAWSCC = "awscc_sagemaker_notebook_instance"
	TypeCloudFormation = "AWS::SageMaker::NotebookInstance"

	TypeTerraformDomainAWS   = "aws_sagemaker_domain"
	TypeTerraformDomainAWSCC = "awscc_sagemaker_domain"
	TypeCloudFormationDomain = "AWS::SageMaker::Domain"
)

// IsDomain reports whether a resource type is a SageMaker Studio domain.
func IsDomain(typ string) bool {
	return typ == TypeTerraformDomainAWS || typ == TypeTerraformDomainAWSCC || typ == TypeCloudFormationDomain
}

// IsTerraformType reports whether a Terraform resource type is one the
// adapters evaluate.
func IsTerraformType(typ string) bool {
	switch typ {
	case TypeTerraformAWS, TypeTerraformAWSCC, TypeTerraformDomainAWS, TypeTerraformDomainAWSCC:
		return true
	}
	return false
}

// TerraformNameAttr is the attribute holding a Terraform resource's name.
func TerraformNameAttr(typ string) string {
	switch typ {
	case TypeTerraformAWSCC:
		return "notebook_instance_name"
	case TypeTerraformDomainAWS, TypeTerraformDomainAWSCC:
		return "domain_name"
	}
	return "name"
}

// TerraformAppNetworkAccessType is the Studio domain attribute the control
// reads, in both the aws and awscc providers.
const TerraformAppNetworkAccessType = "app_network_access_type"

// Alt is one value an attribute can take.
type Alt struct {
	// Absent: the attribute is omitted or null, so the provider or API
	// default applies.
	Absent bool
	// Unknown: the value is decided only at deployment (a reference to
	// another resource, a variable without a value, a function the
	// evaluator does not offer).
	Unknown bool
	// Set: an Unknown value that is known not to be omitted (a reference
	// to another resource's ID, a required input).
	Set bool
	// Value is the known value (Absent and Unknown false).
	Value string
	// Why says where the value came from or why it is unknown.
	Why string
}

// Value is what static evaluation knows about one attribute: every value
// it can take. More than one Alt means a condition could not be decided or
// a parameter allows several values. An empty Value is an omitted attribute.
type Value struct {
	// Expr is the attribute as written, shortened, for evidence.
	Expr string
	Alts []Alt
}

// Known returns a Value that is exactly s.
func Known(expr, s, why string) Value {
	return Value{Expr: expr, Alts: []Alt{{Value: s, Why: why}}}
}

// Absent returns the Value of an omitted attribute.
func Absent() Value { return Value{Alts: []Alt{{Absent: true}}} }

// Unknown returns a Value decided only at deployment.
func Unknown(expr, why string, set bool) Value {
	return Value{Expr: expr, Alts: []Alt{{Unknown: true, Set: set, Why: why}}}
}

// Normalized returns v with an omitted attribute spelled out as one Absent
// Alt and duplicate Alts removed.
func (v Value) Normalized() Value {
	if len(v.Alts) == 0 {
		return Value{Expr: v.Expr, Alts: []Alt{{Absent: true}}}
	}
	out := Value{Expr: v.Expr, Alts: make([]Alt, 0, len(v.Alts))}
	for _, a := range v.Alts {
		dup := false
		for _, b := range out.Alts {
			if a.Absent == b.Absent && a.Unknown == b.Unknown && a.Set == b.Set && a.Value == b.Value {
				dup = true
				break
			}
		}
		if !dup {
			out.Alts = append(out.Alts, a)
		}
	}
	return out
}

// Single returns the value when v is exactly one known string.
func (v Value) Single() (string, bool) {
	if len(v.Alts) == 1 && !v.Alts[0].Absent && !v.Alts[0].Unknown {
		return v.Alts[0].Value, true
	}
	return "", false
}

// String describes the possible values, e.g. `"Disabled" | omitted`.
func (v Value) String() string {
	parts := make([]string, 0, len(v.Alts))
	for _, a := range v.Normalized().Alts {
		switch {
		case a.Absent:
			parts = append(parts, "omitted")
		case a.Unknown:
			parts = append(parts, "unknown")
		default:
			parts = append(parts, `"`+a.Value+`"`)
		}
	}
	return strings.Join(parts, " | ")
}

// Suppression is an inline suppression found next to a resource.
type Suppression struct {
	// ID is the control the suppression names.
	ID string
	// Reason is required; a suppression without one is not honoured.
	Reason string
	// Source is where it is written, as "file:line".
	Source string
}

// Notebook is one notebook instance or Studio domain (or one instance of
// a counted resource) declared in a source file; IsDomain(Type) tells
// which. The name predates domains: keeping one type lets every adapter
// and the verdict share locations, suppressions and notes.
type Notebook struct {
	File    string
	Line    int
	Kind    SourceKind
	Type    string
	Address string
	// Name is the notebook name when it is known, else empty.
	Name string
	// ConstructPath is the CDK construct path (aws:cdk:path), if any.
	ConstructPath string

	// DirectInternetAccess and SubnetID are a notebook's.
	DirectInternetAccess Value
	SubnetID             Value
	// AppNetworkAccessType is a Studio domain's.
	AppNetworkAccessType Value

	Suppressions []Suppression
	// Notes explain anything unusual about how the values were found.
	Notes []string
}

// Error is a source that could not be read or evaluated.
type Error struct {
	File string
	// Line is 0 when the problem concerns the whole file.
	Line int
	Msg  string
}

func (e Error) Error() string {
	if e.Line > 0 {
		return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
	}
	return e.File + ": " + e.Msg
}

// Shorten trims an expression for evidence: one line, at most 200 bytes.
func Shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		cut := 197
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}
