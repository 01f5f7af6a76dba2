package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// CfnLint runs cfn-lint on a CloudFormation template (written to name in a
// temporary directory). Missing cfn-lint skips the check on a developer
// machine and fails it in CI, where `make test` installs it. Informational
// findings (I*) are not failures; errors and warnings are.
func CfnLint(t *testing.T, name string, template []byte) {
	t.Helper()
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("cfn-lint not found in CI (pip install cfn-lint)")
		}
		t.Skip("cfn-lint not installed; skipping the lint (pip install cfn-lint)")
	}
	f := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(f, template, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--format", "parseable", "--", f).CombinedOutput()
	if err != nil {
		t.Errorf("cfn-lint failed: %v\n%s\n--- template ---\n%s", err, out, template)
	}
}
