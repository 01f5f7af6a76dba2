package guardrail

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"go.yaml.in/yaml/v3"
)

// CloudFormation logical IDs and Terraform resource names, stable so that
// users can reference them.
const (
	LogicalID        = "SagefenceDenyNotebookDirectInternet"
	TerraformName    = "sagefence_deny_notebook_direct_internet"
	TerraformSCPType = "aws_organizations_policy"
	TerraformIAMType = "aws_iam_policy"
)

// The template is built from structs, not text, so its YAML is well formed
// by construction; field order follows the CloudFormation docs.
type cfnTemplate struct {
	AWSTemplateFormatVersion string                 `yaml:"AWSTemplateFormatVersion"`
	Description              string                 `yaml:"Description"`
	Resources                map[string]cfnResource `yaml:"Resources"`
	Outputs                  map[string]cfnOutput   `yaml:"Outputs"`
}

type cfnResource struct {
	Type       string `yaml:"Type"`
	Properties any    `yaml:"Properties"`
}

type cfnSCPProperties struct {
	Name        string   `yaml:"Name"`
	Description string   `yaml:"Description"`
	Type        string   `yaml:"Type"`
	TargetIds   []string `yaml:"TargetIds,omitempty"`
	Content     Document `yaml:"Content"`
}

type cfnIAMProperties struct {
	ManagedPolicyName string   `yaml:"ManagedPolicyName"`
	Description       string   `yaml:"Description"`
	PolicyDocument    Document `yaml:"PolicyDocument"`
}

type cfnOutput struct {
	Description string         `yaml:"Description"`
	Value       map[string]any `yaml:"Value"`
}

func cloudFormation(o Options, doc Document) ([]byte, error) {
	t := cfnTemplate{
		AWSTemplateFormatVersion: "2010-09-09",
		Resources:                map[string]cfnResource{},
		Outputs:                  map[string]cfnOutput{},
	}
	switch o.Kind {
	case KindSCP:
		t.Description = "sagefence guardrail: service control policy denying SageMaker notebook instances with direct internet access or without a VPC subnet, and Studio domains that are not VpcOnly. Deploy in the organization's management account."
		t.Resources[LogicalID] = cfnResource{
			Type: "AWS::Organizations::Policy",
			Properties: cfnSCPProperties{
				Name: o.Name, Description: o.Description, Type: "SERVICE_CONTROL_POLICY",
				TargetIds: o.TargetIDs, Content: doc,
			},
		}
		t.Outputs["PolicyId"] = cfnOutput{
			Description: "ID of the service control policy (attach it to an OU or account to enforce it).",
			Value:       map[string]any{"Fn::GetAtt": []string{LogicalID, "Id"}},
		}
	case KindIAM:
		t.Description = "sagefence guardrail: customer managed IAM policy denying SageMaker notebook instances with direct internet access or without a VPC subnet, and Studio domains that are not VpcOnly. Attach it to the roles and groups that create notebooks and domains."
		t.Resources[LogicalID] = cfnResource{
			Type: "AWS::IAM::ManagedPolicy",
			Properties: cfnIAMProperties{
				ManagedPolicyName: o.Name, Description: o.Description, PolicyDocument: doc,
			},
		}
		t.Outputs["PolicyArn"] = cfnOutput{
			Description: "ARN of the managed policy.",
			Value:       map[string]any{"Ref": LogicalID},
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(t); err != nil {
		return nil, fmt.Errorf("encode CloudFormation template: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode CloudFormation template: %w", err)
	}
	return buf.Bytes(), nil
}

// terraform writes HCL through hclwrite, so quoting and layout are the
// library's (and terraform fmt's), not ours.
func terraform(o Options, doc Document) ([]byte, error) {
	f := hclwrite.NewEmptyFile()
	root := f.Body()

	tf := root.AppendNewBlock("terraform", nil).Body()
	providers := tf.AppendNewBlock("required_providers", nil).Body()
	providers.SetAttributeValue("aws", cty.ObjectVal(map[string]cty.Value{
		"source": cty.StringVal("hashicorp/aws"),
	}))
	root.AppendNewline()

	content := hclwrite.TokensForFunctionCall("jsonencode", documentTokens(doc))
	switch o.Kind {
	case KindSCP:
		b := root.AppendNewBlock("resource", []string{TerraformSCPType, TerraformName}).Body()
		b.SetAttributeValue("name", cty.StringVal(o.Name))
		b.SetAttributeValue("description", cty.StringVal(o.Description))
		b.SetAttributeValue("type", cty.StringVal("SERVICE_CONTROL_POLICY"))
		b.SetAttributeRaw("content", content)
		if len(o.TargetIDs) > 0 {
			root.AppendNewline()
			a := root.AppendNewBlock("resource", []string{"aws_organizations_policy_attachment", TerraformName}).Body()
			targets := make([]cty.Value, len(o.TargetIDs))
			for i, id := range o.TargetIDs {
				targets[i] = cty.StringVal(id)
			}
			a.SetAttributeRaw("for_each", hclwrite.TokensForFunctionCall("toset",
				hclwrite.TokensForValue(cty.ListVal(targets))))
			a.SetAttributeTraversal("policy_id", traversal(TerraformSCPType, TerraformName, "id"))
			a.SetAttributeTraversal("target_id", traversal("each", "value"))
		}
		root.AppendNewline()
		out := root.AppendNewBlock("output", []string{"guardrail_policy_id"}).Body()
		out.SetAttributeTraversal("value", traversal(TerraformSCPType, TerraformName, "id"))
	case KindIAM:
		b := root.AppendNewBlock("resource", []string{TerraformIAMType, TerraformName}).Body()
		b.SetAttributeValue("name", cty.StringVal(o.Name))
		b.SetAttributeValue("description", cty.StringVal(o.Description))
		b.SetAttributeRaw("policy", content)
		root.AppendNewline()
		out := root.AppendNewBlock("output", []string{"guardrail_policy_arn"}).Body()
		out.SetAttributeTraversal("value", traversal(TerraformIAMType, TerraformName, "arn"))
	}
	return hclwrite.Format(f.Bytes()), nil
}

func traversal(root string, attrs ...string) hcl.Traversal {
	t := hcl.Traversal{hcl.TraverseRoot{Name: root}}
	for _, a := range attrs {
		t = append(t, hcl.TraverseAttr{Name: a})
	}
	return t
}

// documentTokens writes the policy as an HCL object expression in AWS's
// field order (a cty object would sort the keys).
func documentTokens(doc Document) hclwrite.Tokens {
	stmts := make([]hclwrite.Tokens, len(doc.Statement))
	for i, s := range doc.Statement {
		stmts[i] = object(
			kv("Sid", str(s.Sid)),
			kv("Effect", str(s.Effect)),
			kv("Action", str(s.Action)),
			kv("Resource", str(s.Resource)),
			kv("Condition", conditionTokens(s.Condition)),
		)
	}
	return object(
		kv("Version", str(doc.Version)),
		kv("Statement", hclwrite.TokensForTuple(stmts)),
	)
}

func conditionTokens(c Condition) hclwrite.Tokens {
	var ops []hclwrite.ObjectAttrTokens
	for _, op := range sortedKeys(c) {
		var keys []hclwrite.ObjectAttrTokens
		for _, k := range sortedKeys(c[op]) {
			vals := make([]cty.Value, len(c[op][k]))
			for i, v := range c[op][k] {
				vals[i] = cty.StringVal(v)
			}
			keys = append(keys, kv(k, hclwrite.TokensForValue(cty.TupleVal(vals))))
		}
		ops = append(ops, kv(op, hclwrite.TokensForObject(keys)))
	}
	return hclwrite.TokensForObject(ops)
}

func object(attrs ...hclwrite.ObjectAttrTokens) hclwrite.Tokens {
	return hclwrite.TokensForObject(attrs)
}

func str(s string) hclwrite.Tokens { return hclwrite.TokensForValue(cty.StringVal(s)) }

// kv quotes keys that are not HCL identifiers ("aws:PrincipalArn").
func kv(key string, value hclwrite.Tokens) hclwrite.ObjectAttrTokens {
	name := hclwrite.TokensForIdentifier(key)
	if !hclsyntax.ValidIdentifier(key) || strings.Contains(key, "-") {
		name = hclwrite.TokensForValue(cty.StringVal(key))
	}
	return hclwrite.ObjectAttrTokens{Name: name, Value: value}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
