package guardrail

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	"go.yaml.in/yaml/v3"

	"github.com/sagefence/sagefence/internal/testenv"
)

const breakGlass = "arn:aws:iam::*:role/NotebookBreakGlass"

func exempt() Options {
	return Options{ExemptPrincipalARNs: []string{breakGlass}}
}

func decodePolicy(t *testing.T, b []byte) Document {
	t.Helper()
	var generic map[string]any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	var doc Document
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("unexpected policy shape: %v\n%s", err, b)
	}
	return doc
}

func TestPolicyJSONHasTheDenyStatements(t *testing.T) {
	for _, format := range []string{"scp", "iam", " SCP "} {
		for _, opts := range []Options{{}, exempt()} {
			b, err := Generate(format, opts)
			if err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			if len(b) > 5120 {
				t.Errorf("%s: %d characters, over the SCP size limit", format, len(b))
			}
			doc := decodePolicy(t, b)
			if doc.Version != "2012-10-17" || len(doc.Statement) != 4 {
				t.Fatalf("%s: %+v", format, doc)
			}
			want := map[string]Condition{
				SidDirectInternet: {"StringNotEquals": {KeyDirectInternetAccess: {"Disabled"}}},
				SidNoSubnet:       {"Null": {KeyVpcSubnets: {"true"}}},
				SidDomainCreate:   {"StringNotEquals": {"sagemaker:AppNetworkAccessType": {"VpcOnly"}}},
				SidDomainUpdate: {
					"StringNotEquals": {"sagemaker:AppNetworkAccessType": {"VpcOnly"}},
					"Null":            {"sagemaker:AppNetworkAccessType": {"false"}},
				},
			}
			action := map[string]string{
				SidDirectInternet: "sagemaker:CreateNotebookInstance", SidNoSubnet: "sagemaker:CreateNotebookInstance",
				SidDomainCreate: "sagemaker:CreateDomain", SidDomainUpdate: "sagemaker:UpdateDomain",
			}
			for _, st := range doc.Statement {
				if st.Effect != "Deny" || st.Action != action[st.Sid] || st.Resource != "*" {
					t.Errorf("%s: %+v", st.Sid, st)
				}
				w, ok := want[st.Sid]
				if !ok {
					t.Errorf("unexpected statement %s", st.Sid)
					continue
				}
				if len(opts.ExemptPrincipalARNs) > 0 {
					w["ArnNotLike"] = map[string][]string{KeyPrincipalArn: {breakGlass}}
				}
				if !reflect.DeepEqual(st.Condition, w) {
					t.Errorf("%s condition = %v, want %v", st.Sid, st.Condition, w)
				}
			}
		}
	}
}

// request is the part of an IAM request context the guardrail reads; a
// nil pointer is a key absent from the request. The action defaults to
// CreateNotebookInstance.
type request struct {
	directInternetAccess *string
	vpcSubnets           []string
	principalArn         string
	action               string
	appNetworkAccessType *string
}

// denied evaluates the policy's Deny statements the way the IAM policy
// reference describes the three operators it uses, including their
// behaviour for a key absent from the request. It exists to pin the
// semantics the policy relies on; an unknown operator fails the test.
func denied(t *testing.T, doc Document, r request) bool {
	t.Helper()
	values := func(key string) ([]string, bool) {
		switch key {
		case KeyDirectInternetAccess:
			if r.directInternetAccess == nil {
				return nil, false
			}
			return []string{*r.directInternetAccess}, true
		case KeyVpcSubnets:
			return r.vpcSubnets, len(r.vpcSubnets) > 0
		case KeyPrincipalArn:
			return []string{r.principalArn}, true
		case KeyAppNetworkAccessType:
			if r.appNetworkAccessType == nil {
				return nil, false
			}
			return []string{*r.appNetworkAccessType}, true
		}
		t.Fatalf("policy reads unexpected key %s", key)
		return nil, false
	}
	action := r.action
	if action == "" {
		action = ActionCreateNotebook
	}
	for _, st := range doc.Statement {
		if st.Action != action {
			continue
		}
		all := true
		for op, keys := range st.Condition {
			for key, want := range keys {
				got, present := values(key)
				var ok bool
				switch op {
				case "StringNotEquals":
					// Negated operator: true when the key is absent.
					ok = true
					for _, g := range got {
						for _, w := range want {
							if g == w {
								ok = false
							}
						}
					}
				case "Null":
					// "true": the key is absent; "false": it is present.
					ok = (want[0] == "true") == !present
				case "ArnNotLike":
					ok = true
					for _, g := range got {
						for _, w := range want {
							if m, _ := path.Match(w, g); m {
								ok = false
							}
						}
					}
				default:
					t.Fatalf("unexpected operator %s", op)
				}
				all = all && ok
			}
		}
		if st.Effect == "Deny" && all {
			return true
		}
	}
	return false
}

func TestPolicyDeniesExactlyTheUnsafeRequests(t *testing.T) {
	enabled, disabled := "Enabled", "Disabled"
	subnet := []string{"subnet-0abc"}
	user := "arn:aws:iam::111122223333:role/DataScientist"
	glass := "arn:aws:iam::111122223333:role/NotebookBreakGlass"
	b, err := Generate("scp", exempt())
	if err != nil {
		t.Fatal(err)
	}
	doc := decodePolicy(t, b)
	for _, tc := range []struct {
		name string
		r    request
		deny bool
	}{
		{"direct internet access enabled", request{directInternetAccess: &enabled, vpcSubnets: subnet, principalArn: user}, true},
		{"direct internet access omitted (defaults to Enabled)", request{directInternetAccess: nil, vpcSubnets: subnet, principalArn: user}, true},
		{"disabled in a subnet", request{directInternetAccess: &disabled, vpcSubnets: subnet, principalArn: user}, false},
		{"disabled without a subnet", request{directInternetAccess: &disabled, vpcSubnets: nil, principalArn: user}, true},
		{"no subnet, nothing set", request{directInternetAccess: nil, vpcSubnets: nil, principalArn: user}, true},
		{"exempt role may enable it", request{directInternetAccess: &enabled, vpcSubnets: nil, principalArn: glass}, false},
	} {
		if got := denied(t, doc, tc.r); got != tc.deny {
			t.Errorf("%s: denied = %v, want %v", tc.name, got, tc.deny)
		}
	}
}

// The Studio statements: CreateDomain must say VpcOnly (omitted is the API
// default PublicInternetOnly); UpdateDomain is denied only when it sets
// the key to something else, since an update that leaves it out does not
// change the domain's network access.
func TestPolicyDeniesStudioDomainsThatAreNotVpcOnly(t *testing.T) {
	vpcOnly, public, lower := "VpcOnly", "PublicInternetOnly", "vpconly"
	user := "arn:aws:iam::111122223333:role/DataScientist"
	glass := "arn:aws:iam::111122223333:role/NotebookBreakGlass"
	b, err := Generate("iam", exempt())
	if err != nil {
		t.Fatal(err)
	}
	doc := decodePolicy(t, b)
	for _, tc := range []struct {
		name   string
		action string
		value  *string
		who    string
		deny   bool
	}{
		{"create VpcOnly", ActionCreateDomain, &vpcOnly, user, false},
		{"create PublicInternetOnly", ActionCreateDomain, &public, user, true},
		{"create omitted (defaults to PublicInternetOnly)", ActionCreateDomain, nil, user, true},
		{"create vpconly (wrong case)", ActionCreateDomain, &lower, user, true},
		{"update to PublicInternetOnly", ActionUpdateDomain, &public, user, true},
		{"update to vpconly (wrong case)", ActionUpdateDomain, &lower, user, true},
		{"update to VpcOnly", ActionUpdateDomain, &vpcOnly, user, false},
		{"update that leaves the setting alone", ActionUpdateDomain, nil, user, false},
		{"exempt role may create a public domain", ActionCreateDomain, &public, glass, false},
		{"exempt role may update to public", ActionUpdateDomain, &public, glass, false},
		{"other domain actions are untouched", "sagemaker:DeleteDomain", nil, user, false},
	} {
		r := request{action: tc.action, appNetworkAccessType: tc.value, principalArn: tc.who}
		if got := denied(t, doc, r); got != tc.deny {
			t.Errorf("%s: denied = %v, want %v", tc.name, got, tc.deny)
		}
	}
}

func TestCloudFormationTemplate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     Options
		resource string
		docKey   string
	}{
		{"scp", Options{TargetIDs: []string{"ou-ab12-cdef5678"}}, "AWS::Organizations::Policy", "Content"},
		{"scp-unattached-exempt", exempt(), "AWS::Organizations::Policy", "Content"},
		{"iam", Options{Kind: KindIAM, ExemptPrincipalARNs: []string{breakGlass}}, "AWS::IAM::ManagedPolicy", "PolicyDocument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Generate("cloudformation", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var tmpl struct {
				AWSTemplateFormatVersion string `yaml:"AWSTemplateFormatVersion"`
				Resources                map[string]struct {
					Type       string         `yaml:"Type"`
					Properties map[string]any `yaml:"Properties"`
				} `yaml:"Resources"`
			}
			if err := yaml.Unmarshal(b, &tmpl); err != nil {
				t.Fatalf("not YAML: %v\n%s", err, b)
			}
			res, ok := tmpl.Resources[LogicalID]
			if tmpl.AWSTemplateFormatVersion != "2010-09-09" || !ok || res.Type != tc.resource {
				t.Fatalf("template = %+v", tmpl)
			}
			// The embedded policy must be the same document as the JSON one.
			embedded, err := json.Marshal(res.Properties[tc.docKey])
			if err != nil {
				t.Fatal(err)
			}
			want, _ := Policy(tc.opts)
			if got := decodePolicy(t, embedded); !reflect.DeepEqual(got, want) {
				t.Errorf("embedded policy = %+v, want %+v", got, want)
			}
			testenv.CfnLint(t, "guardrail.yaml", b)
		})
	}
}

func TestTerraform(t *testing.T) {
	for _, tc := range []struct {
		name, resourceType, attr string
		opts                     Options
		attachment               bool
	}{
		{"scp", TerraformSCPType, "content", exempt(), false},
		{"scp-attached", TerraformSCPType, "content", Options{TargetIDs: []string{"r-ab12", "123456789012"}}, true},
		{"iam", TerraformIAMType, "policy", Options{Kind: KindIAM}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Generate("terraform", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			f, diags := hclparse.NewParser().ParseHCL(b, "guardrail.tf")
			if diags.HasErrors() {
				t.Fatalf("HCL does not parse: %s\n%s", diags.Error(), b)
			}
			content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
				{Type: "terraform"},
				{Type: "resource", LabelNames: []string{"type", "name"}},
				{Type: "output", LabelNames: []string{"name"}},
			}})
			if diags.HasErrors() {
				t.Fatalf("unexpected top-level structure: %s", diags.Error())
			}
			var found, attached bool
			for _, blk := range content.Blocks {
				if blk.Type != "resource" {
					continue
				}
				switch blk.Labels[0] {
				case "aws_organizations_policy_attachment":
					attached = true
					continue
				case tc.resourceType:
				default:
					t.Errorf("unexpected resource %v", blk.Labels)
					continue
				}
				found = true
				attrs, diags := blk.Body.JustAttributes()
				if diags.HasErrors() {
					t.Fatal(diags.Error())
				}
				name, _ := attrs["name"].Expr.Value(nil)
				if name.AsString() != DefaultName {
					t.Errorf("name = %v", name.GoString())
				}
				if tc.resourceType == TerraformSCPType {
					typ, _ := attrs["type"].Expr.Value(nil)
					if typ.AsString() != "SERVICE_CONTROL_POLICY" {
						t.Errorf("type = %v", typ.GoString())
					}
				}
				// Evaluate jsonencode(...) as Terraform would and compare it
				// to the JSON policy.
				val, diags := attrs[tc.attr].Expr.Value(&hcl.EvalContext{Functions: map[string]function.Function{
					"jsonencode": stdlib.JSONEncodeFunc,
				}})
				if diags.HasErrors() {
					t.Fatalf("%s does not evaluate: %s", tc.attr, diags.Error())
				}
				if val.Type() != cty.String {
					t.Fatalf("%s is %s, want a JSON string", tc.attr, val.Type().FriendlyName())
				}
				want, _ := Policy(tc.opts)
				if got := decodePolicy(t, []byte(val.AsString())); !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %+v, want %+v", tc.attr, got, want)
				}
			}
			if !found {
				t.Errorf("no %s resource in\n%s", tc.resourceType, b)
			}
			if attached != tc.attachment {
				t.Errorf("attachment present = %v, want %v", attached, tc.attachment)
			}
			terraformFmtCheck(t, b)
		})
	}
}

// terraformFmtCheck asks terraform, when it is installed, whether the file
// is already canonically formatted. It needs no providers or network.
func terraformFmtCheck(t *testing.T, src []byte) {
	t.Helper()
	bin, err := exec.LookPath("terraform")
	if err != nil {
		t.Log("terraform not installed; formatting not checked")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "fmt", "-check", "-diff", "-")
	cmd.Stdin = bytes.NewReader(src)
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+os.DevNull, "CHECKPOINT_DISABLE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("terraform fmt -check: %v\n%s", err, out)
	}
}

func TestAttachmentIsOnlyForSCPs(t *testing.T) {
	if _, err := Generate("terraform", Options{Kind: KindIAM, TargetIDs: []string{"123456789012"}}); err == nil {
		t.Error("IAM policy with SCP targets accepted")
	}
}

func TestGenerateRejectsBadInput(t *testing.T) {
	for name, tc := range map[string]struct {
		format string
		opts   Options
	}{
		"format":      {"yaml", Options{}},
		"kind":        {"terraform", Options{Kind: "rcp"}},
		"name":        {"scp", Options{Name: "has spaces"}},
		"description": {"scp", Options{Description: "two\nlines"}},
		"exempt":      {"scp", Options{ExemptPrincipalARNs: []string{"BreakGlass"}}},
		"target":      {"cloudformation", Options{TargetIDs: []string{"ou-nope"}}},
		"injection":   {"terraform", Options{ExemptPrincipalARNs: []string{`arn:aws:iam::*:role/x"}`}}},
	} {
		if b, err := Generate(tc.format, tc.opts); err == nil {
			t.Errorf("%s: accepted, produced\n%s", name, b)
		}
	}
	if !strings.Contains(errString(Generate("yaml", Options{})), "scp") {
		t.Error("unknown-format error does not list the formats")
	}
}

func errString(_ []byte, err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
