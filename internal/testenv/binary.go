package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// BuildSagefence builds the sagefence command from pkg (a path to
// cmd/sagefence, relative to the caller's package) into a new temporary
// directory, for a TestMain. It returns the binary's path and a function
// that removes the directory; the build's errors go to stderr.
func BuildSagefence(pkg string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "sagefence-bin-")
	if err != nil {
		return "", nil, fmt.Errorf("build sagefence: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	bin := filepath.Join(dir, "sagefence")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command("go", "build", "-o", bin, pkg)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("build sagefence: %w", err)
	}
	return bin, cleanup, nil
}
