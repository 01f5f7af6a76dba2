package distribution

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sagefence/sagefence/internal/testenv"
)

// repoRoot is the repository's top directory, two levels above this
// package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// tool finds a program the test needs: on PATH or in bin/tools, where
// "make test-deps" installs the pinned ones. A missing tool skips the test
// with the reason, except under CI (CI=true), where make test-deps has run
// and a missing tool means the install step is broken.
func tool(t *testing.T, name, why string) string {
	t.Helper()
	if p, err := exec.LookPath(filepath.Join(repoRoot(t), "bin", "tools", name)); err == nil {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := name + " is not installed (" + why + "); make test-deps installs it"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// run runs a command in dir and returns its combined output, failing the
// test when it fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := runErr(t, dir, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// sagefenceBin is the binary the tests run, built once by TestMain.
var sagefenceBin string

func TestMain(m *testing.M) {
	var cleanup func()
	var err error
	sagefenceBin, cleanup, err = testenv.BuildSagefence("../../cmd/sagefence")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}
