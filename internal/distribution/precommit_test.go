package distribution

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPreCommitHooksRunSagefenceIAC: pre-commit try-repo builds the hooks
// from this repository (language golang: go install ./..., with this
// machine's module cache and GOPROXY=off, so nothing is downloaded) and
// runs them in a temporary repository: a Terraform notebook open to the
// internet fails the commit, a private one passes, a file that is not IaC
// is not handed to sagefence, and the whole-repository hook finds a
// CloudFormation template by its content.
func TestPreCommitHooksRunSagefenceIAC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sagefence through pre-commit")
	}
	precommit := tool(t, "pre-commit", "pre-commit hook test")
	repo := t.TempDir()
	files := map[string]string{
		".pre-commit-config.yaml": "repos: []\n",
		"open/main.tf":            tfOpen,
		"private/main.tf":         tfPrivate,
		"README.md":               "not IaC\n",
		"stacks/notebook.yaml": `Resources:
  NB:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      InstanceType: ml.t3.medium
      RoleArn: arn:aws:iam::123456789012:role/sagemaker
      DirectInternetAccess: Enabled
`,
	}
	for name, content := range files {
		p := filepath.Join(repo, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, repo, nil, "git", "init", "-q")
	run(t, repo, nil, "git", "add", ".")
	env := []string{"PRE_COMMIT_HOME=" + filepath.Join(t.TempDir(), "pre-commit"), "GOMODCACHE=" + goEnv(t, "GOMODCACHE"),
		"GOPROXY=off", "PRE_COMMIT_COLOR=never",
		// As the image and release builds, so that pre-commit's clone
		// shares their compiled packages instead of rebuilding them all.
		"GOFLAGS=-trimpath", "CGO_ENABLED=0"}
	tryRepo := func(args ...string) (string, error) {
		t.Helper()
		return runErr(t, repo, env, precommit, append([]string{"try-repo", repoRoot(t)}, args...)...)
	}

	// Each try-repo builds the hooks afresh (a temporary store), so two
	// runs: all hooks on files sagefence-iac must pass over, then
	// sagefence-iac alone on the open notebook.
	out, err := tryRepo("--files", "private/main.tf", "README.md", "stacks/notebook.yaml")
	if got := hookStatus(out, "sagefence iac ("); got != "Passed" {
		// stacks/notebook.yaml fails if it is handed over; README.md is an error.
		t.Errorf("sagefence-iac on a private notebook, a README and an unconventionally named template: %q, want Passed\n%s", got, out)
	}
	if got := hookStatus(out, "sagefence iac . ("); err == nil || got != "Failed" ||
		!strings.Contains(out, "stacks/notebook.yaml") || !strings.Contains(out, "open/main.tf") {
		t.Errorf("sagefence-iac-all: %q (err %v), want it to fail on the template and the open Terraform file\n%s", got, err, out)
	}
	out, err = tryRepo("sagefence-iac", "--files", "open/main.tf")
	if err == nil || hookStatus(out, "sagefence iac (") != "Failed" || !strings.Contains(out, "FAIL\topen/main.tf:1\taws_sagemaker_notebook_instance.open") {
		t.Errorf("an open notebook: err %v, want the hook to fail naming open/main.tf:1\n%s", err, out)
	}
}

// hookStatus is the word pre-commit ends a hook's line with ("Passed",
// "Failed", "(no files to check)Skipped"), the hook named by its prefix.
func hookStatus(out, namePrefix string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, namePrefix) && strings.Contains(line, "...") {
			return strings.TrimSpace(line[strings.LastIndex(line, "...")+3:])
		}
	}
	return ""
}
