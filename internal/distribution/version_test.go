package distribution

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoBuildInACheckoutReportsItsCommit: "go build" in a git checkout
// stamps the commit (whatever GOFLAGS says, -buildvcs=true here), and
// ldflags -X sets the version as the release build does. The build runs in
// a local clone at HEAD: Go finds a repository only by a .git directory,
// and a worktree's .git is a file.
func TestGoBuildInACheckoutReportsItsCommit(t *testing.T) {
	root := repoRoot(t)
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): nothing to stamp", err)
	}
	commit := strings.TrimSpace(string(head))
	clone := t.TempDir()
	run(t, root, nil, "git", "clone", "-q", "--no-checkout", root, clone)
	run(t, clone, nil, "git", "checkout", "-q", commit)
	bin := filepath.Join(t.TempDir(), "sagefence")
	// -trimpath and no cgo, as the image and release builds: the clone's
	// packages then share their compiled form with those builds' (without
	// -trimpath, the clone's directory is part of every package's key).
	run(t, clone, []string{"GOFLAGS=", "GOPROXY=off", "CGO_ENABLED=0"}, "go", "build", "-trimpath", "-buildvcs=true",
		"-ldflags=-X github.com/sagefence/sagefence/internal/buildinfo.version=v9.8.7", "-o", bin, "./cmd/sagefence")
	var info struct {
		Version   string `json:"version"`
		Commit    string `json:"commit"`
		GoVersion string `json:"go_version"`
	}
	out := run(t, root, nil, bin, "version", "--format", "json")
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	goVersion, _ := exec.Command("go", "env", "GOVERSION").Output()
	if info.Commit != commit || info.Version != "9.8.7" || info.GoVersion != strings.TrimSpace(string(goVersion)) {
		t.Errorf("version %+v: want commit %s, version 9.8.7 (no v) and %s", info, head, goVersion)
	}
}
