// Package guardrail generates the preventive control that keeps the finding
// from recurring: a policy that denies sagemaker:CreateNotebookInstance
// unless the request disables direct internet access and places the
// notebook in a VPC subnet. It renders that one policy as a service
// control policy or IAM policy (JSON), a CloudFormation template, or
// Terraform.
//
// The condition logic, checked against the IAM policy reference
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
// a negated string operator such as StringNotEquals is true when the key
// is absent from the request, so "StringNotEquals
// sagemaker:DirectInternetAccess Disabled" denies a request that says
// Enabled and one that does not say anything (the API default is Enabled).
// "Null sagemaker:VpcSubnets true" denies a request without a subnet. The
// two are separate statements because conditions inside one statement are
// ANDed and we want either to deny. An exemption adds "ArnNotLike
// aws:PrincipalArn" to both.
//
// UpdateNotebookInstance is deliberately not denied: DirectInternetAccess
// and SubnetId cannot be updated, so the guardrail has nothing to guard
// there.
//
// SageMaker Studio domains get two more statements on the condition key
// sagemaker:AppNetworkAccessType, which the Service Authorization
// Reference lists for both CreateDomain and UpdateDomain. CreateDomain is
// denied unless the request says VpcOnly ("StringNotEquals", so omitting
// it, whose default is PublicInternetOnly, is denied too). UpdateDomain is
// denied only when the request sets the key to something else ("Null
// false" AND "StringNotEquals"): an update that does not mention it leaves
// the setting as it is, and denying those would block every other change
// to a domain. An ...IfExists operator would do the opposite of what is
// wanted here: in a Deny it is true when the key is absent.
package guardrail

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Format is an output format of Generate.
type Format string

// Formats.
const (
	FormatSCP            Format = "scp"
	FormatIAM            Format = "iam"
	FormatCloudFormation Format = "cloudformation"
	FormatTerraform      Format = "terraform"
)

// Formats lists every format Generate accepts.
func Formats() []Format {
	return []Format{FormatSCP, FormatIAM, FormatCloudFormation, FormatTerraform}
}

// Kind is what the CloudFormation and Terraform outputs create.
type Kind string

// Kinds.
const (
	// KindSCP is an AWS Organizations service control policy: it binds
	// every principal in the accounts it is attached to, administrators
	// included (never the management account).
	KindSCP Kind = "scp"
	// KindIAM is a customer managed IAM policy, for accounts outside an
	// organization or to attach to chosen roles and groups.
	KindIAM Kind = "iam"
)

// DefaultName is the policy name when Options.Name is empty. It predates
// the Studio statements and is kept so that redeploying updates the
// policy in place.
const DefaultName = "sagefence-deny-notebook-direct-internet"

// Condition keys and values the policy uses.
const (
	KeyDirectInternetAccess = "sagemaker:DirectInternetAccess"
	KeyVpcSubnets           = "sagemaker:VpcSubnets"
	KeyPrincipalArn         = "aws:PrincipalArn"
	ActionCreateNotebook    = "sagemaker:CreateNotebookInstance"
	ValueDisabled           = "Disabled"

	KeyAppNetworkAccessType = "sagemaker:AppNetworkAccessType"
	ActionCreateDomain      = "sagemaker:CreateDomain"
	ActionUpdateDomain      = "sagemaker:UpdateDomain"
	ValueVpcOnly            = "VpcOnly"
)

// Statement IDs, stable so that rollout tooling can find them.
const (
	SidDirectInternet = "DenyNotebookDirectInternetAccess"
	SidNoSubnet       = "DenyNotebookWithoutVpcSubnet"
	SidDomainCreate   = "DenyStudioDomainCreateWithoutVpcOnly"
	SidDomainUpdate   = "DenyStudioDomainUpdateToPublicInternet"
)

// Options shape the generated guardrail.
type Options struct {
	// Name of the policy resource; DefaultName when empty.
	Name string
	// Description of the policy resource; a default says what it does.
	Description string
	// ExemptPrincipalARNs are aws:PrincipalArn patterns (ArnNotLike, "*"
	// and "?" allowed) the denial does not apply to, for example a
	// break-glass role: "arn:aws:iam::*:role/NotebookBreakGlass". Use the
	// IAM role ARN, not the assumed-role session ARN.
	ExemptPrincipalARNs []string
	// Kind is what the cloudformation and terraform formats create; the
	// default is KindSCP. Ignored by the scp and iam formats.
	Kind Kind
	// TargetIDs are the organization root, OU or account IDs to attach an
	// SCP to (cloudformation and terraform, KindSCP only). Empty creates
	// the policy without attaching it, which is the first rollout step.
	TargetIDs []string
}

// Document is an IAM policy document, in the field order AWS shows.
type Document struct {
	Version   string      `json:"Version" yaml:"Version"`
	Statement []Statement `json:"Statement" yaml:"Statement"`
}

// Statement is one policy statement.
type Statement struct {
	Sid       string    `json:"Sid" yaml:"Sid"`
	Effect    string    `json:"Effect" yaml:"Effect"`
	Action    string    `json:"Action" yaml:"Action"`
	Resource  string    `json:"Resource" yaml:"Resource"`
	Condition Condition `json:"Condition" yaml:"Condition"`
}

// Condition maps an operator to its keys and values. Operators render in
// sorted order (encoding/json sorts map keys).
type Condition map[string]map[string][]string

func (o Options) withDefaults() (Options, error) {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Description == "" {
		o.Description = "Deny SageMaker notebook instances with direct internet access or outside a VPC subnet, and Studio domains that are not VpcOnly (generated by sagefence)."
	}
	if o.Kind == "" {
		o.Kind = KindSCP
	}
	if o.Kind != KindSCP && o.Kind != KindIAM {
		return o, fmt.Errorf("unknown guardrail kind %q: want scp or iam", o.Kind)
	}
	nameRE := regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,128}$`)
	if !nameRE.MatchString(o.Name) {
		return o, fmt.Errorf("invalid policy name %q: letters, digits and +=,.@_- only", o.Name)
	}
	if strings.ContainsAny(o.Description, "\n\r") || len(o.Description) > 512 {
		return o, fmt.Errorf("description must be one line of at most 512 characters")
	}
	arnRE := regexp.MustCompile(`^arn:(aws(-[a-z]+)*|\*):(iam|sts)::([0-9]{12}|\*):[A-Za-z0-9+=,.@_/*?-]+$`)
	for _, a := range o.ExemptPrincipalARNs {
		if !arnRE.MatchString(a) {
			return o, fmt.Errorf("invalid exempt principal ARN pattern %q: want arn:PARTITION:iam::ACCOUNT:role/NAME (wildcards allowed)", a)
		}
	}
	targetRE := regexp.MustCompile(`^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|[0-9]{12})$`)
	for _, t := range o.TargetIDs {
		if !targetRE.MatchString(t) {
			return o, fmt.Errorf("invalid SCP target %q: want a root (r-...), OU (ou-...) or 12-digit account ID", t)
		}
	}
	if len(o.TargetIDs) > 0 && o.Kind != KindSCP {
		return o, fmt.Errorf("targets apply to SCPs only")
	}
	return o, nil
}

// Policy builds the guardrail policy document.
func Policy(opts Options) (Document, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return Document{}, err
	}
	return policy(o), nil
}

func policy(o Options) Document {
	// cond is the statement's condition (operators ANDed) with the
	// exemption, if any.
	cond := func(c Condition) Condition {
		if len(o.ExemptPrincipalARNs) > 0 {
			c["ArnNotLike"] = map[string][]string{KeyPrincipalArn: append([]string(nil), o.ExemptPrincipalARNs...)}
		}
		return c
	}
	return Document{
		Version: "2012-10-17",
		Statement: []Statement{
			{
				Sid: SidDirectInternet, Effect: "Deny", Action: ActionCreateNotebook, Resource: "*",
				// Negated operator: also true when the key is absent, so an
				// omitted DirectInternetAccess (default Enabled) is denied.
				Condition: cond(Condition{"StringNotEquals": {KeyDirectInternetAccess: {ValueDisabled}}}),
			},
			{
				Sid: SidNoSubnet, Effect: "Deny", Action: ActionCreateNotebook, Resource: "*",
				Condition: cond(Condition{"Null": {KeyVpcSubnets: {"true"}}}),
			},
			{
				Sid: SidDomainCreate, Effect: "Deny", Action: ActionCreateDomain, Resource: "*",
				// Negated operator: an omitted AppNetworkAccessType (default
				// PublicInternetOnly) is denied too.
				Condition: cond(Condition{"StringNotEquals": {KeyAppNetworkAccessType: {ValueVpcOnly}}}),
			},
			{
				Sid: SidDomainUpdate, Effect: "Deny", Action: ActionUpdateDomain, Resource: "*",
				// Only an update that sets the key: one that leaves it out
				// does not change the domain's network access.
				Condition: cond(Condition{
					"StringNotEquals": {KeyAppNetworkAccessType: {ValueVpcOnly}},
					"Null":            {KeyAppNetworkAccessType: {"false"}},
				}),
			},
		},
	}
}

// Generate renders the guardrail in format: "scp" or "iam" (the policy
// JSON), "cloudformation" (a YAML template) or "terraform" (HCL).
func Generate(format string, opts Options) ([]byte, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	doc := policy(o)
	switch Format(strings.ToLower(strings.TrimSpace(format))) {
	case FormatSCP, FormatIAM:
		return policyJSON(doc)
	case FormatCloudFormation:
		return cloudFormation(o, doc)
	case FormatTerraform:
		return terraform(o, doc)
	}
	return nil, fmt.Errorf("unknown guardrail format %q: want one of %v", format, Formats())
}

// policyJSON writes the document as indented JSON, without HTML escaping
// (IAM accepts either, but humans read this). The result is far below the
// 5,120-character SCP limit; the tests check it stays so.
func policyJSON(doc Document) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode guardrail policy: %w", err)
	}
	return buf.Bytes(), nil
}
