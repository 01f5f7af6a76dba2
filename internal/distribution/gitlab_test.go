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

type gitlabJob struct {
	Image     string
	Variables map[string]string
	Script    []string
	Artifacts struct {
		When    string
		Reports map[string]string
		Paths   []string
	}
}

func gitlabTemplate(t *testing.T) (map[string]string, gitlabJob) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "gitlab", "sagefence.gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Variables map[string]string
		Job       gitlabJob `yaml:"sagefence-iac"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Job.Script) == 0 {
		t.Fatal("no sagefence-iac job with a script")
	}
	return doc.Variables, doc.Job
}

// TestGitLabTemplateWritesTheReportsItDeclares runs the template's script
// the way a GitLab runner would (bash, stop at the first failing line, the
// variables in the environment), with go install replaced by the binary
// under test: it writes the code quality and JUnit reports its artifacts
// declare, with the notebook at its file and line, and the job's exit
// code is sagefence's.
func TestGitLabTemplateWritesTheReportsItDeclares(t *testing.T) {
	vars, job := gitlabTemplate(t)
	if job.Artifacts.When != "always" || job.Artifacts.Reports["codequality"] == "" {
		t.Fatalf("artifacts %+v: want a codequality report, kept when the job fails", job.Artifacts)
	}
	for _, tc := range []struct {
		tf   string
		code int
	}{{tfOpen, 1}, {tfPrivate, 0}} {
		ws := t.TempDir()
		if err := os.WriteFile(filepath.Join(ws, "main.tf"), []byte(tc.tf), 0o644); err != nil {
			t.Fatal(err)
		}
		// "go install" is the runner's download; "go env GOPATH" must lead
		// to the binary under test.
		gopath := t.TempDir()
		if err := os.MkdirAll(filepath.Join(gopath, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(sagefenceBin, filepath.Join(gopath, "bin", "sagefence")); err != nil {
			t.Fatal(err)
		}
		script := "set -eo pipefail\ngo() { case \"$1\" in install) ;; env) echo \"$FAKE_GOPATH\" ;; esac; }\n" + strings.Join(job.Script, "\n") + "\n"
		cmd := exec.Command("bash", "-c", script)
		cmd.Dir = ws
		cmd.Env = append(os.Environ(), "FAKE_GOPATH="+gopath)
		for k, v := range vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		for k, v := range job.Variables {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code {
			t.Errorf("job exit %d, want %d\n%s", code, tc.code, out)
		}
		for _, p := range append(job.Artifacts.Paths, job.Artifacts.Reports["codequality"], job.Artifacts.Reports["junit"]) {
			if _, err := os.Stat(filepath.Join(ws, p)); err != nil {
				t.Errorf("declared artifact %s was not written: %v", p, err)
			}
		}
		data, _ := os.ReadFile(filepath.Join(ws, job.Artifacts.Reports["codequality"]))
		var issues []struct {
			Location struct {
				Path  string
				Lines struct{ Begin int }
			}
		}
		if err := json.Unmarshal(data, &issues); err != nil {
			t.Fatalf("code quality report: %v\n%s", err, data)
		}
		if tc.code == 1 && (len(issues) != 1 || issues[0].Location.Path != "main.tf" || issues[0].Location.Lines.Begin != 1) {
			t.Errorf("issues %+v: want one at main.tf:1", issues)
		}
		if tc.code == 0 && len(issues) != 0 {
			t.Errorf("issues %+v for a private notebook", issues)
		}
	}
}
