package iac

import (
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/iac/terraform"
)

// cfnCase is one template in YAML and its JSON equivalent.
type cfnCase struct {
	name       string
	yaml, json string
	vars       []terraform.VarArg
	want       map[string]want
}

func TestCloudFormationConstructs(t *testing.T) {
	fail := func(msg string) want { return want{status: finding.StatusFail, path: finding.PathDirect, msg: msg} }
	pass := want{status: finding.StatusPass, path: finding.PathNone}
	review := func(msg string) want { return want{status: finding.StatusReview, path: finding.PathUnknown, msg: msg} }
	cases := []cfnCase{
		{name: "missing attribute is Enabled",
			yaml: `
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      InstanceType: ml.t3.medium
      SubnetId: subnet-1`,
			json: `{"Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"InstanceType": "ml.t3.medium", "SubnetId": "subnet-1"}}}}`,
			want: map[string]want{"NB": fail("omitted")}},
		{name: "no Properties at all",
			yaml: "Resources:\n  NB:\n    Type: AWS::SageMaker::NotebookInstance\n",
			json: `{"Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance"}}}`,
			want: map[string]want{"NB": fail("omitted")}},
		{name: "Disabled with subnet Ref passes",
			yaml: `
Resources:
  Subnet:
    Type: AWS::EC2::Subnet
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      DirectInternetAccess: Disabled
      SubnetId: !Ref Subnet`,
			json: `{"Resources": {"Subnet": {"Type": "AWS::EC2::Subnet"}, "NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": "Disabled", "SubnetId": {"Ref": "Subnet"}}}}}`,
			want: map[string]want{"NB": pass}},
		{name: "lower-case disabled fails",
			yaml: `
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties: {DirectInternetAccess: disabled, SubnetId: subnet-1}`,
			json: `{"Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": "disabled", "SubnetId": "subnet-1"}}}}`,
			want: map[string]want{"NB": fail("case-sensitive")}},
		{name: "Disabled without subnet fails: deployment fails",
			yaml: `
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties: {DirectInternetAccess: Disabled}`,
			json: `{"Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": "Disabled"}}}}`,
			want: map[string]want{"NB": {status: finding.StatusFail, path: finding.PathNone, msg: "deployment itself will fail"}}},
		{name: "Ref to a parameter with an Enabled default fails",
			yaml: `
Parameters:
  Access: {Type: String, Default: Enabled}
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      DirectInternetAccess: !Ref Access
      SubnetId: subnet-1`,
			json: `{"Parameters": {"Access": {"Type": "String", "Default": "Enabled"}}, "Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": {"Ref": "Access"}, "SubnetId": "subnet-1"}}}}`,
			want: map[string]want{"NB": fail("default of parameter Access")}},
		{name: "parameter overridden by --var",
			vars: []terraform.VarArg{{Name: "Access", Value: "Disabled"}},
			yaml: `
Parameters:
  Access: {Type: String, Default: Enabled}
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties: {DirectInternetAccess: !Ref Access, SubnetId: subnet-1}`,
			json: `{"Parameters": {"Access": {"Type": "String", "Default": "Enabled"}}, "Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": {"Ref": "Access"}, "SubnetId": "subnet-1"}}}}`,
			want: map[string]want{"NB": pass}},
		{name: "AllowedValues all Disabled resolves",
			yaml: `
Parameters:
  Access: {Type: String, AllowedValues: [Disabled]}
  Subnet: {Type: "AWS::EC2::Subnet::Id"}
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties: {DirectInternetAccess: !Ref Access, SubnetId: !Ref Subnet}`,
			json: `{"Parameters": {"Access": {"Type": "String", "AllowedValues": ["Disabled"]}, "Subnet": {"Type": "AWS::EC2::Subnet::Id"}}, "Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": {"Ref": "Access"}, "SubnetId": {"Ref": "Subnet"}}}}}`,
			want: map[string]want{"NB": pass}},
		{name: "AllowedValues allowing Enabled fails even with a Disabled default",
			yaml: `
Parameters:
  Access: {Type: String, Default: Disabled, AllowedValues: [Disabled, Enabled]}
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties: {DirectInternetAccess: !Ref Access, SubnetId: subnet-1}`,
			json: `{"Parameters": {"Access": {"Type": "String", "Default": "Disabled", "AllowedValues": ["Disabled", "Enabled"]}}, "Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": {"Ref": "Access"}, "SubnetId": "subnet-1"}}}}`,
			want: map[string]want{"NB": fail("parameter Access allows it")}},
		{name: "parameter without default is unresolved",
			yaml: `
Parameters:
  Access: {Type: String}
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties: {DirectInternetAccess: !Ref Access, SubnetId: subnet-1}`,
			json: `{"Parameters": {"Access": {"Type": "String"}}, "Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": {"Ref": "Access"}, "SubnetId": "subnet-1"}}}}`,
			want: map[string]want{"NB": review("no default")}},
		{name: "Fn::If decided from defaults",
			yaml: `
Parameters:
  Env: {Type: String, Default: prod}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      DirectInternetAccess: !If [IsProd, Disabled, Enabled]
      SubnetId: subnet-1`,
			json: `{"Parameters": {"Env": {"Type": "String", "Default": "prod"}}, "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}}, "Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": {"Fn::If": ["IsProd", "Disabled", "Enabled"]}, "SubnetId": "subnet-1"}}}}`,
			want: map[string]want{"NB": pass}},
		{name: "Fn::If undecided with a mixed branch fails",
			yaml: `
Parameters:
  Env: {Type: String}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      DirectInternetAccess: !If [IsProd, Disabled, Enabled]
      SubnetId: subnet-1`,
			json: `{"Parameters": {"Env": {"Type": "String"}}, "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}}, "Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": {"Fn::If": ["IsProd", "Disabled", "Enabled"]}, "SubnetId": "subnet-1"}}}}`,
			want: map[string]want{"NB": fail("IsProd is false, which the parameters' defaults cannot decide")}},
		{name: "Fn::If with AWS::NoValue branch is omitted, so Enabled",
			yaml: `
Parameters:
  Env: {Type: String}
Conditions:
  IsProd: !Not [!Equals [!Ref Env, dev]]
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      DirectInternetAccess: !If [IsProd, Disabled, !Ref "AWS::NoValue"]
      SubnetId: subnet-1`,
			json: `{"Parameters": {"Env": {"Type": "String"}}, "Conditions": {"IsProd": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Env"}, "dev"]}]}}, "Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": {"Fn::If": ["IsProd", "Disabled", {"Ref": "AWS::NoValue"}]}, "SubnetId": "subnet-1"}}}}`,
			want: map[string]want{"NB": fail("omitted")}},
		{name: "And, Or and Condition references",
			yaml: `
Parameters:
  Env: {Type: String, Default: prod}
  Region: {Type: String, Default: eu}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsEU: !Equals [eu, !Ref Region]
  Locked: !And [!Condition IsProd, !Or [!Condition IsEU, !Equals [a, b]]]
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      DirectInternetAccess: !If [Locked, Disabled, Enabled]
      SubnetId: subnet-1`,
			json: `{"Parameters": {"Env": {"Type": "String", "Default": "prod"}, "Region": {"Type": "String", "Default": "eu"}},
 "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}, "IsEU": {"Fn::Equals": ["eu", {"Ref": "Region"}]},
   "Locked": {"Fn::And": [{"Condition": "IsProd"}, {"Fn::Or": [{"Condition": "IsEU"}, {"Fn::Equals": ["a", "b"]}]}]}},
 "Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": {"Fn::If": ["Locked", "Disabled", "Enabled"]}, "SubnetId": "subnet-1"}}}}`,
			want: map[string]want{"NB": pass}},
		{name: "resource whose Condition is false is skipped",
			yaml: `
Parameters:
  Create: {Type: String, Default: "false"}
Conditions:
  DoCreate: !Equals [!Ref Create, "true"]
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Condition: DoCreate`,
			json: `{"Parameters": {"Create": {"Type": "String", "Default": "false"}}, "Conditions": {"DoCreate": {"Fn::Equals": [{"Ref": "Create"}, "true"]}}, "Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Condition": "DoCreate"}}}`,
			want: map[string]want{}},
		{name: "Fn::Sub without variables is a literal",
			yaml: `
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties: {DirectInternetAccess: !Sub Disabled, SubnetId: !Sub "subnet-${!x}"}`,
			json: `{"Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": {"Fn::Sub": "Disabled"}, "SubnetId": {"Fn::Sub": "subnet-${!x}"}}}}}`,
			want: map[string]want{"NB": pass}},
		{name: "Fn::Sub with variables",
			yaml: `
Parameters:
  Mode: {Type: String, Default: abled}
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      DirectInternetAccess: !Sub ["${Prefix}${Mode}", {Prefix: En}]
      SubnetId: !Sub "${AWS::Region}-subnet"`,
			json: `{"Parameters": {"Mode": {"Type": "String", "Default": "abled"}}, "Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": {"Fn::Sub": ["${Prefix}${Mode}", {"Prefix": "En"}]}, "SubnetId": {"Fn::Sub": "${AWS::Region}-subnet"}}}}}`,
			want: map[string]want{"NB": fail(`"Enabled"`)}},
		{name: "FindInMap, Select, Join, Split",
			yaml: `
Parameters:
  Env: {Type: String, Default: prod}
Mappings:
  Access:
    prod: {Mode: Disabled}
    dev: {Mode: Enabled}
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      DirectInternetAccess: !FindInMap [Access, !Ref Env, Mode]
      SubnetId: !Select [1, !Split [",", !Join [",", [subnet-a, subnet-b]]]]`,
			json: `{"Parameters": {"Env": {"Type": "String", "Default": "prod"}}, "Mappings": {"Access": {"prod": {"Mode": "Disabled"}, "dev": {"Mode": "Enabled"}}},
 "Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": {"Fn::FindInMap": ["Access", {"Ref": "Env"}, "Mode"]}, "SubnetId": {"Fn::Select": [1, {"Fn::Split": [",", {"Fn::Join": [",", ["subnet-a", "subnet-b"]]}]}]}}}}}`,
			want: map[string]want{"NB": pass}},
		{name: "GetAtt and ImportValue are unresolved",
			yaml: `
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      DirectInternetAccess: !ImportValue shared-access
      SubnetId: !GetAtt Net.SubnetId`,
			json: `{"Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": {"Fn::ImportValue": "shared-access"}, "SubnetId": {"Fn::GetAtt": ["Net", "SubnetId"]}}}}}`,
			want: map[string]want{"NB": review("resolved at deployment")}},
		{name: "CDK construct path",
			yaml: `
Resources:
  NB1234:
    Type: AWS::SageMaker::NotebookInstance
    Properties: {DirectInternetAccess: Enabled}
    Metadata: {"aws:cdk:path": App/Stack/Notebook}`,
			json: `{"Resources": {"NB1234": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"DirectInternetAccess": "Enabled"}, "Metadata": {"aws:cdk:path": "App/Stack/Notebook"}}}}`,
			want: map[string]want{"NB1234": fail(`"Enabled"`)}},
	}
	for _, tc := range cases {
		for _, form := range []struct{ ext, body string }{{"template.yaml", tc.yaml}, {"template.json", tc.json}} {
			runCases(t, []scanCase{{name: tc.name + "/" + form.ext, files: map[string]string{form.ext: form.body}, vars: tc.vars, want: tc.want}})
		}
	}
}

func TestCloudFormationDetailsAndSuppressions(t *testing.T) {
	res, errs := scanTree(t, scanCase{files: map[string]string{
		"cdk.out/App.template.json": `{"Resources": {"NB": {"Type": "AWS::SageMaker::NotebookInstance",
  "Metadata": {"aws:cdk:path": "App/Stack/Notebook/Resource"}}}}`,
		"stack.yaml": `AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Muted:
    Type: AWS::SageMaker::NotebookInstance
    Metadata:
      sagefence:
        ignore:
          - id: sagemaker-notebook-no-direct-internet-access
            reason: training lab, no data (SEC-42)
  NoReason:
    Type: AWS::SageMaker::NotebookInstance
    Metadata:
      sagefence:
        ignore:
          - id: sagemaker-notebook-no-direct-internet-access
  Named:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      NotebookInstanceName: research
`,
		"bom.json":     "\uFEFF{\"Resources\": {\"Bom\": {\"Type\": \"AWS::SageMaker::NotebookInstance\"}}}",
		"k8s.yaml":     "apiVersion: v1\nkind: Pod\n",
		"workflow.yml": "on: [push]\njobs: {}\n",
		"package.json": `{"name": "x"}`,
		"notes.yaml":   "a: [unclosed\n",
	}})
	if len(errs) != 0 {
		t.Errorf("non-IaC files must be skipped silently: %+v", errs)
	}
	by := map[string]finding.Result{}
	for _, r := range res {
		by[r.Resource.Address] = r
	}
	if len(by) != 5 {
		t.Fatalf("results %d, want 5 (with the template that starts with a byte-order mark)", len(res))
	}
	cdk := by["NB"]
	if cdk.Resource.SourceKind != "cdk" || cdk.Resource.ConstructPath != "App/Stack/Notebook/Resource" || cdk.Resource.Line != 1 {
		t.Errorf("cdk: %+v", cdk.Resource)
	}
	m := by["Muted"]
	if m.Status != finding.StatusMuted || m.Mute.Reason != "training lab, no data (SEC-42)" || m.Mute.Source != "inline" || m.Resource.Line != 3 || m.Resource.SourceKind != "cloudformation" {
		t.Errorf("muted: %s %+v %+v", m.Status, m.Mute, m.Resource)
	}
	if nr := by["NoReason"]; nr.Status != finding.StatusFail || !strings.Contains(nr.Checks[0].Message, "no reason") {
		t.Errorf("no reason: %s %s", nr.Status, nr.Checks[0].Message)
	}
	if n := by["Named"]; n.Resource.Name != "research" || len(n.Reproduce.Strings()) == 0 || !strings.Contains(n.Reproduce.Strings()[0], "research") {
		t.Errorf("named: %+v %v", n.Resource, n.Reproduce)
	}
}

func TestCloudFormationMalformed(t *testing.T) {
	res, errs := scanTree(t, scanCase{files: map[string]string{
		"bad.yaml":  "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n  NB:\n    Type: [unclosed\n",
		"bad.json":  "{\n  \"Resources\": {\n    \"NB\": {\"Type\": \"AWS::SageMaker::NotebookInstance\",}\n  }\n}\n",
		"good.yaml": "Resources:\n  NB:\n    Type: AWS::SageMaker::NotebookInstance\n",
		// Found by FuzzTemplate: a logical ID CloudFormation would reject.
		"noid.json": "{\"Resources\": {\n  \"\": {\"Type\": \"AWS::SageMaker::NotebookInstance\"}}}\n",
	}})
	if len(res) != 1 {
		t.Errorf("results %d, want the good template's notebook", len(res))
	}
	wantLoc := map[string]bool{"bad.json:3": false, "bad.yaml:3": false, "noid.json:2": false}
	for _, e := range errs {
		for loc := range wantLoc {
			if strings.HasSuffix(e.Resource, loc) && strings.Contains(e.Message, loc+": ") {
				wantLoc[loc] = true
			}
		}
	}
	for loc, ok := range wantLoc {
		if !ok {
			t.Errorf("no error at %s in %+v", loc, errs)
		}
	}
}
