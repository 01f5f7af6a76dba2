package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/iac/terraform"
	"github.com/sagefence/sagefence/internal/iostreams"
)

func iacTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const (
	tfOpen    = `resource "aws_sagemaker_notebook_instance" "open" { name = "open" }`
	tfPrivate = `resource "aws_sagemaker_notebook_instance" "private" {
  name                   = "private"
  direct_internet_access = "Disabled"
  subnet_id              = "subnet-1"
}`
	tfVar = `variable "access" { default = "Enabled" }
resource "aws_sagemaker_notebook_instance" "nb" {
  name                   = "nb"
  direct_internet_access = var.access
  subnet_id              = "subnet-1"
}`
)

func TestIACFlagParsing(t *testing.T) {
	dir := iacTree(t, map[string]string{"main.tf": tfPrivate})
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
		check   func(*testing.T, *iacOptions)
	}{
		{name: "defaults", args: []string{dir}, check: func(t *testing.T, o *iacOptions) {
			if o.Format != "table" || o.Unresolved != "review" || o.Strict || len(o.Paths) != 1 {
				t.Errorf("defaults: %+v", o)
			}
		}},
		{name: "var-file and var keep command-line order", args: []string{dir, "--var", "a=1", "--var-file", "x.tfvars", "--var", "b=x=y"},
			check: func(t *testing.T, o *iacOptions) {
				want := []terraform.VarArg{{Name: "a", Value: "1"}, {File: "x.tfvars"}, {Name: "b", Value: "x=y"}}
				if !reflect.DeepEqual(o.VarArgs, want) {
					t.Errorf("VarArgs = %+v, want %+v", o.VarArgs, want)
				}
			}},
		{name: "no path", args: nil, code: ExitUsage, wantErr: "at least one file or directory"},
		{name: "missing path", args: []string{filepath.Join(dir, "nope")}, code: ExitUsage, wantErr: "no such file or directory"},
		{name: "bad format", args: []string{dir, "--format", "ocsf"}, code: ExitUsage, wantErr: "--format"},
		{name: "bad unresolved", args: []string{dir, "--unresolved", "maybe"}, code: ExitUsage, wantErr: "--unresolved"},
		{name: "var without =", args: []string{dir, "--var", "access"}, code: ExitUsage, wantErr: "NAME=VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, errOut := iostreams.Test()
			var got *iacOptions
			root := NewRoot(ios)
			for _, c := range root.Commands() {
				if c.Name() == "iac" {
					root.RemoveCommand(c)
				}
			}
			root.AddCommand(newIACCmd(ios, func(_ context.Context, o *iacOptions) error { got = o; return nil }))
			root.SetArgs(append([]string{"iac"}, tt.args...))
			code := exitCode(context.Background(), ios, root.ExecuteContext(context.Background()))
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, errOut)
			}
			if tt.wantErr != "" {
				if !strings.Contains(errOut.String(), tt.wantErr) || strings.Count(errOut.String(), "\n") != 1 {
					t.Errorf("stderr %q: want one line with %q", errOut, tt.wantErr)
				}
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func runIACMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	code := Main(context.Background(), ios, append([]string{"iac"}, args...))
	return code, out.String(), errOut.String()
}

type iacJSON struct {
	Complete bool           `json:"complete"`
	Profile  string         `json:"profile"`
	Summary  map[string]int `json:"summary"`
	Results  []struct {
		Status   string `json:"status"`
		Resource struct {
			Name       string `json:"name"`
			File       string `json:"file"`
			Line       int    `json:"line"`
			Address    string `json:"address"`
			SourceKind string `json:"source_kind"`
		} `json:"resource"`
		Mute *struct {
			Reason string `json:"reason"`
			Source string `json:"source"`
		} `json:"mute"`
	} `json:"results"`
	Errors []struct {
		Resource string `json:"resource"`
		Message  string `json:"message"`
	} `json:"errors"`
}

func decodeIAC(t *testing.T, s string) iacJSON {
	t.Helper()
	var r iacJSON
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return r
}

func TestIACExitCodes(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		args  []string
		code  int
	}{
		{name: "all pass", files: map[string]string{"main.tf": tfPrivate}, code: ExitOK},
		{name: "a FAIL", files: map[string]string{"a/main.tf": tfPrivate, "b/main.tf": tfOpen}, code: ExitFail},
		{name: "nothing declared", files: map[string]string{"README.md": "hi"}, code: ExitOK},
		{name: "REVIEW is not a failure", files: map[string]string{"main.tf": `variable "x" {}
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = var.x
  subnet_id              = "s"
}`}, code: ExitOK},
		{name: "REVIEW with --strict", files: map[string]string{"main.tf": `variable "x" {}
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = var.x
  subnet_id              = "s"
}`}, args: []string{"--strict"}, code: ExitFail},
		{name: "--unresolved fail", files: map[string]string{"main.tf": `variable "x" {}
resource "aws_sagemaker_notebook_instance" "nb" {
  direct_internet_access = var.x
  subnet_id              = "s"
}`}, args: []string{"--unresolved", "fail"}, code: ExitFail},
		{name: "malformed file wins over FAIL", files: map[string]string{"main.tf": tfOpen, "bad/main.tf": "resource {"}, code: ExitIncomplete},
		{name: "--var overrides the default", files: map[string]string{"main.tf": tfVar}, args: []string{"--var", "access=Disabled"}, code: ExitOK},
		{name: "--var-file then --var, later wins", files: map[string]string{"main.tf": tfVar, "prod.tfvars": `access = "Disabled"`},
			args: []string{"--var-file", "PROD", "--var", "access=Enabled"}, code: ExitFail},
		{name: "--var then --var-file, later wins", files: map[string]string{"main.tf": tfVar, "prod.tfvars": `access = "Disabled"`},
			args: []string{"--var", "access=Enabled", "--var-file", "PROD"}, code: ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := iacTree(t, tt.files)
			args := []string{dir, "--format", "json"}
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "PROD", filepath.Join(dir, "prod.tfvars")))
			}
			code, out, errOut := runIACMain(t, args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q\n%s", code, tt.code, errOut, out)
			}
			decodeIAC(t, out)
		})
	}
}

func TestIACBadInputsExitTwo(t *testing.T) {
	dir := iacTree(t, map[string]string{"main.tf": tfPrivate, "bad.tfvars": "access = ", "exc.yaml": "exceptions: [{}]"})
	for name, args := range map[string][]string{
		"missing var file":     {dir, "--var-file", filepath.Join(dir, "none.tfvars")},
		"malformed var file":   {dir, "--var-file", filepath.Join(dir, "bad.tfvars")},
		"missing exceptions":   {dir, "--exceptions", filepath.Join(dir, "none.yaml")},
		"malformed exceptions": {dir, "--exceptions", filepath.Join(dir, "exc.yaml")},
		"one of two paths bad": {dir, filepath.Join(dir, "gone")},
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runIACMain(t, args...)
			if code != ExitUsage || out != "" || strings.Count(errOut, "\n") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q: want 2, nothing evaluated, one line", code, out, errOut)
			}
		})
	}
}

func TestIACMalformedFileReportedWithLocation(t *testing.T) {
	dir := iacTree(t, map[string]string{
		"tf/main.tf":     "resource \"aws_sagemaker_notebook_instance\" \"a\" {\n  name = \"a\n}\n",
		"cfn/stack.json": "{\n  \"Resources\": {\n    \"NB\": {\"Type\": \"AWS::SageMaker::NotebookInstance\",,}\n  }\n}\n",
		"cfn/ok.yaml":    "Resources:\n  NB:\n    Type: AWS::SageMaker::NotebookInstance\n    Properties: {DirectInternetAccess: Disabled, SubnetId: s}\n",
	})
	code, out, _ := runIACMain(t, dir, "--format", "json")
	if code != ExitIncomplete {
		t.Fatalf("exit %d, want 3", code)
	}
	r := decodeIAC(t, out)
	if r.Complete || len(r.Results) != 1 || r.Results[0].Status != "PASS" {
		t.Errorf("want the good template evaluated and the report incomplete: %+v", r)
	}
	want := []string{"cfn/stack.json:3: not valid JSON", "tf/main.tf:2: "}
	for _, w := range want {
		found := false
		for _, e := range r.Errors {
			found = found || strings.Contains(e.Message, w)
		}
		if !found {
			t.Errorf("no error with %q in %+v", w, r.Errors)
		}
	}

	// The table says the same on a terminal and piped.
	ios, _, outBuf, _ := iostreams.Test()
	ios.SetStdoutTTY(true)
	Main(context.Background(), ios, []string{"iac", dir})
	if s := outBuf.String(); !strings.Contains(s, "could not be evaluated") || !strings.Contains(s, "stack.json:3") || !strings.Contains(s, "INCOMPLETE") {
		t.Errorf("TTY table:\n%s", s)
	}
}

func TestIACFormatsAndOutputFile(t *testing.T) {
	dir := iacTree(t, map[string]string{"main.tf": tfOpen + "\n" + tfPrivate})
	for _, f := range iacFormats() {
		t.Run(f, func(t *testing.T) {
			code, out, errOut := runIACMain(t, dir, "--format", f)
			if code != ExitFail || out == "" {
				t.Fatalf("exit %d, stdout %d bytes, stderr %q", code, len(out), errOut)
			}
			if f == "table" {
				first := strings.Split(strings.SplitN(out, "\n", 2)[0], "\t")
				if len(first) != 6 || first[0] != "FAIL" || !strings.HasSuffix(first[1], "main.tf:1") {
					t.Errorf("piped table line: %q", first)
				}
			}
			if f == "sarif" && !strings.Contains(out, `"startLine": 1`) {
				t.Errorf("SARIF lacks the location:\n%s", out)
			}
			if f == "github" && (!strings.HasPrefix(out, "::error file=") || !strings.Contains(out, "main.tf,line=1,title=")) {
				t.Errorf("workflow commands lack the location:\n%s", out)
			}
			if f == "codequality" && !strings.Contains(out, `"begin": 1`) {
				t.Errorf("code quality report lacks the location:\n%s", out)
			}
		})
	}
	outFile := filepath.Join(t.TempDir(), "report.sarif")
	code, out, _ := runIACMain(t, dir, "--format", "sarif", "--output", outFile)
	data, err := os.ReadFile(outFile)
	if code != ExitFail || out != "" || err != nil || !strings.Contains(string(data), `"version": "2.1.0"`) {
		t.Errorf("--output: exit %d, stdout %q, file err %v", code, out, err)
	}
}

func TestIACCloudFormationAndExceptions(t *testing.T) {
	dir := iacTree(t, map[string]string{
		"stack.yaml": `Parameters:
  Access: {Type: String, Default: Enabled}
Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      NotebookInstanceName: vendor-mirror
      DirectInternetAccess: !Ref Access
      SubnetId: subnet-1
`,
		"exceptions.yaml": `exceptions:
  - match: {name: "vendor-*"}
    reason: vendor package mirror (SEC-9)
    owner: ml-platform@example.com
    expires: 2999-01-01
`,
	})
	code, out, _ := runIACMain(t, dir, "--format", "json")
	if r := decodeIAC(t, out); code != ExitFail || r.Results[0].Resource.SourceKind != "cloudformation" || r.Results[0].Resource.Line != 4 {
		t.Errorf("exit %d, %+v", code, r.Results)
	}
	code, out, _ = runIACMain(t, dir, "--format", "json", "--var", "Access=Disabled")
	if code != ExitOK {
		t.Errorf("--var as parameter override: exit %d\n%s", code, out)
	}
	code, out, _ = runIACMain(t, dir, "--format", "json", "--exceptions", filepath.Join(dir, "exceptions.yaml"))
	r := decodeIAC(t, out)
	if code != ExitOK || r.Results[0].Status != "MUTED" || r.Results[0].Mute == nil || r.Results[0].Mute.Source != "exception" {
		t.Errorf("exceptions: exit %d, %+v", code, r.Results)
	}
}
