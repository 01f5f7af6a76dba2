//go:build unix

package cli

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sagefence/sagefence/internal/iostreams"
)

// TestReadOnlyOutputDirectoryIsRefused: a directory the user cannot write
// into is refused before the scan (exit 2, one line, no call). Root may
// write anywhere, so run as root the test runs itself again as nobody.
func TestReadOnlyOutputDirectoryIsRefused(t *testing.T) {
	if os.Geteuid() == 0 {
		rerunUnprivileged(t)
		return
	}
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"scan", "--output", filepath.Join(ro, "r.json")}, `--output "` + ro + `/r.json": directory "` + ro + `" is not writable`},
		{[]string{"scan", "--format", "json,html", "--output-dir", ro}, `--output-dir "` + ro + `": directory is not writable`},
		{[]string{"scan", "--format", "json,html", "--output-dir", filepath.Join(ro, "new")}, `--output-dir "` + ro + `/new": directory "` + ro + `" is not writable`},
		{[]string{"scan", "--save-inventory", filepath.Join(ro, "inv.json")}, `--save-inventory "` + ro + `/inv.json": directory "` + ro + `" is not writable`},
		{[]string{"scan", "--evidence-dir", ro}, `--evidence-dir "` + ro + `": directory is not writable`},
		{[]string{"scan", "--evidence-dir", filepath.Join(ro, "bundle")}, `--evidence-dir "` + ro + `/bundle": directory "` + ro + `" is not writable`},
		{[]string{"plan", "--output", filepath.Join(ro, "plan.json")}, `--output "` + ro + `/plan.json": directory "` + ro + `" is not writable`},
	}
	for _, tt := range tests {
		trap := newAWSTrap(t)
		trapEnv(t, trap)
		t.Setenv("AWS_REGION", "us-east-1")
		ios, _, out, errOut := iostreams.Test()
		code := Main(context.Background(), ios, append(tt.args, "--endpoint-url", trap.URL))
		if code != ExitUsage || errOut.String() != "sagefence: "+tt.want+"\n" || out.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q\nwant exit 2, stderr %q", tt.args, code, out, errOut, "sagefence: "+tt.want)
		}
		if n := trap.calls.Load(); n != 0 {
			t.Errorf("%v: %d AWS call(s) made before the directory was refused", tt.args, n)
		}
	}
}

// rerunUnprivileged runs t's test again in a copy of the test binary as
// user and group 65534 (nobody), and fails t if it fails.
func rerunUnprivileged(t *testing.T) {
	t.Helper()
	if os.Getenv("SAGEFENCE_TEST_UNPRIVILEGED") != "" {
		t.Fatal("still root after dropping privileges")
	}
	// The go command keeps the test binary where only root can reach it.
	dir, err := os.MkdirTemp("", "sagefence-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, tmp} {
		if err := os.Chmod(p, 0o777|os.ModeSticky); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "cli.test")
	if err := copyFile(os.Args[0], bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SAGEFENCE_TEST_UNPRIVILEGED=1", "HOME="+dir, "TMPDIR="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as an unprivileged user: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the unprivileged run did not run %s:\n%s", t.Name(), out)
	}
}

func copyFile(from, to string, perm os.FileMode) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}
