package distribution

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const tfOpen = `resource "aws_sagemaker_notebook_instance" "open" {
  name          = "open"
  role_arn      = "arn:aws:iam::123456789012:role/sagemaker"
  instance_type = "ml.t3.medium"
}
`

const tfPrivate = `resource "aws_sagemaker_notebook_instance" "private" {
  name                   = "private"
  role_arn               = "arn:aws:iam::123456789012:role/sagemaker"
  instance_type          = "ml.t3.medium"
  direct_internet_access = "Disabled"
  subnet_id              = "subnet-0123456789abcdef0"
  security_groups        = ["sg-0123456789abcdef0"]
}
`

type actionRun struct {
	code                 int
	stdout               string
	sarif, summary, outs string
}

// runAction runs the Action's script as the runner would: inputs in
// INPUT_*, GITHUB_STEP_SUMMARY and GITHUB_OUTPUT files, sagefence on PATH,
// in a workspace holding files.
func runAction(t *testing.T, files map[string]string, inputs map[string]string) actionRun {
	t.Helper()
	ws := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(ws, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runner := t.TempDir()
	summary, outputs := filepath.Join(runner, "summary.md"), filepath.Join(runner, "output")
	env := []string{"PATH=" + filepath.Dir(sagefenceBin) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"GITHUB_STEP_SUMMARY=" + summary, "GITHUB_OUTPUT=" + outputs}
	for k, v := range inputs {
		env = append(env, "INPUT_"+strings.ToUpper(strings.ReplaceAll(k, "-", "_"))+"="+v)
	}
	cmd := exec.Command("bash", filepath.Join(repoRoot(t), "action", "run.sh"))
	cmd.Dir = ws
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	r := actionRun{stdout: string(out)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	read := func(p string) string { b, _ := os.ReadFile(p); return string(b) }
	r.sarif, r.summary, r.outs = read(filepath.Join(ws, "sagefence.sarif")), read(summary), read(outputs)
	return r
}

// TestActionReportsIACAsSARIFAnnotationsAndSummary: the Action's script
// writes the SARIF file, prints annotations at the notebook's file and
// line, appends a Markdown summary, sets its outputs and fails the step as
// fail-on says.
func TestActionReportsIACAsSARIFAnnotationsAndSummary(t *testing.T) {
	r := runAction(t, map[string]string{"main.tf": tfOpen}, map[string]string{"paths": "."})
	if r.code != 1 {
		t.Errorf("exit %d, want 1 (a FAIL with fail-on fail)\n%s", r.code, r.stdout)
	}
	var sarif struct{ Version string }
	if err := json.Unmarshal([]byte(r.sarif), &sarif); err != nil || sarif.Version != "2.1.0" {
		t.Errorf("sagefence.sarif is not SARIF 2.1.0 (%v): %.200s", err, r.sarif)
	}
	if !strings.Contains(r.stdout, "::error file=main.tf,line=1,title=sagefence FAIL%3A aws_sagemaker_notebook_instance.open::") {
		t.Errorf("no annotation on main.tf line 1 in:\n%s", r.stdout)
	}
	if !strings.Contains(r.summary, "FAIL") || !strings.Contains(r.summary, "|") {
		t.Errorf("step summary is not the Markdown report:\n%s", r.summary)
	}
	if !strings.Contains(r.outs, "exit-code=1\n") || !strings.Contains(r.outs, "report=sagefence.sarif\n") {
		t.Errorf("outputs %q", r.outs)
	}

	if r := runAction(t, map[string]string{"main.tf": tfOpen}, map[string]string{"fail-on": "never"}); r.code != 0 || !strings.Contains(r.outs, "exit-code=1\n") {
		t.Errorf("fail-on never: exit %d, outputs %q: want 0 and exit-code=1", r.code, r.outs)
	}
	if r := runAction(t, map[string]string{"main.tf": tfPrivate}, nil); r.code != 0 || strings.Contains(r.stdout, "::error") {
		t.Errorf("a private notebook: exit %d, stdout %q: want 0 and no error", r.code, r.stdout)
	}
	if r := runAction(t, nil, map[string]string{"fail-on": "sometimes"}); r.code != 2 || !strings.Contains(r.stdout, "::error") {
		t.Errorf("fail-on sometimes: exit %d, stdout %q: want 2 and an error annotation", r.code, r.stdout)
	}
	if r := runAction(t, map[string]string{"main.tf": tfOpen}, map[string]string{"paths": "missing/"}); r.code != 2 {
		t.Errorf("a missing path: exit %d, want 2", r.code)
	}
}

// TestActionAndExampleWorkflowPassActionlint: actionlint checks the
// example workflow, with the Action taken from this repository (uses: ./,
// so its inputs are checked against action.yml), and the Action's own
// steps as a reusable workflow of its inputs (expressions, contexts and,
// with shellcheck installed, the scripts). shellcheck checks the script.
func TestActionAndExampleWorkflowPassActionlint(t *testing.T) {
	actionlint := tool(t, "actionlint", "GitHub Action lint")
	root := repoRoot(t)
	repo := t.TempDir()
	action, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(root, "examples", "github", "sagefence.yml"))
	if err != nil {
		t.Fatal(err)
	}
	local := strings.ReplaceAll(string(example), "uses: sagefence/sagefence@v0", "uses: ./")
	if local == string(example) {
		t.Fatal("the example does not use sagefence/sagefence@v0")
	}
	var meta struct {
		Inputs map[string]struct {
			Description string
			Default     string
			Required    bool
		}
		Runs struct {
			Using string
			Steps []map[string]any
		}
	}
	if err := yaml.Unmarshal(action, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Runs.Using != "composite" || len(meta.Runs.Steps) == 0 {
		t.Fatalf("action.yml runs %q with %d steps: want a composite action", meta.Runs.Using, len(meta.Runs.Steps))
	}
	inputs := map[string]any{}
	for name, in := range meta.Inputs {
		if in.Description == "" {
			t.Errorf("input %s has no description", name)
		}
		inputs[name] = map[string]any{"type": "string", "required": in.Required, "default": in.Default, "description": in.Description}
	}
	steps, err := yaml.Marshal(map[string]any{
		"name": "action steps",
		"on":   map[string]any{"workflow_call": map[string]any{"inputs": inputs}},
		"jobs": map[string]any{"action": map[string]any{"runs-on": "ubuntu-latest", "steps": meta.Runs.Steps}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wf := filepath.Join(repo, ".github", "workflows")
	if err := os.MkdirAll(wf, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"action.yml": action, ".github/workflows/example.yml": []byte(local), ".github/workflows/action-steps.yml": steps,
	} {
		if err := os.WriteFile(filepath.Join(repo, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, repo, nil, "git", "init", "-q")
	if out, err := runErr(t, repo, nil, actionlint, "-color=false"); err != nil {
		t.Errorf("actionlint: %v\n%s", err, out)
	}
	if _, err := exec.LookPath("shellcheck"); err == nil {
		if out, err := runErr(t, root, nil, "shellcheck", "action/run.sh"); err != nil {
			t.Errorf("shellcheck action/run.sh: %v\n%s", err, out)
		}
	}
}
