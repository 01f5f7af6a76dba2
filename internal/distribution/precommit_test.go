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

	out, err := tryRepo("sagefence-iac", "--files", "open/main.tf")
	if err == nil || !strings.Contains(out, "Failed") || !strings.Contains(out, "FAIL\topen/main.tf:1\taws_sagemaker_notebook_instance.open") {
		t.Errorf("an open notebook: err %v, want the hook to fail naming open/main.tf:1\n%s", err, out)
	}
	if out, err := tryRepo("sagefence-iac", "--files", "private/main.tf"); err != nil || !strings.Contains(out, "Passed") {
		t.Errorf("a private notebook: err %v, want Passed\n%s", err, out)
	}
	if out, err := tryRepo("sagefence-iac", "--files", "README.md", "stacks/notebook.yaml"); err != nil || !strings.Contains(out, "no files to check") {
		t.Errorf("files the hook does not take: err %v, want it skipped\n%s", err, out)
	}
	out, err = tryRepo("sagefence-iac-all", "--files", "README.md", "stacks/notebook.yaml")
	if err == nil || !strings.Contains(out, "stacks/notebook.yaml") || !strings.Contains(out, "open/main.tf") {
		t.Errorf("the whole-repository hook: err %v, want it to fail on the template and the Terraform file\n%s", err, out)
	}
}
