package distribution

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestDockerfileBuildsAnImageThatRuns builds the repository's Dockerfile
// with buildah, offline, and runs "sagefence version" in the image. No
// registry is reachable here, so the two base images are stand-ins: the
// Go builder is a scratch image holding this machine's shell and
// coreutils, with its Go toolchain, module cache and build cache mounted
// (GOMODCACHE and GOCACHE point at them, so the Dockerfile's cache mounts
// go unused; GOPROXY=off: nothing is downloaded); the runtime base is scratch, like
// distroless/static without its CA certificates and passwd file. Every
// instruction of the Dockerfile runs as written. Storage lives in a
// temporary directory (vfs driver, chroot isolation: no daemon and no
// user namespaces needed).
func TestDockerfileBuildsAnImageThatRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a container image")
	}
	if runtime.GOOS != "linux" {
		t.Skip("buildah runs on Linux only")
	}
	buildah := tool(t, "buildah", "container image test")
	root := repoRoot(t)
	tmp := t.TempDir()
	store := []string{"--root", filepath.Join(tmp, "storage"), "--runroot", filepath.Join(tmp, "run"), "--storage-driver", "vfs"}
	bah := func(args ...string) string {
		t.Helper()
		return run(t, root, []string{"BUILDAH_ISOLATION=chroot"}, buildah, append(append([]string{}, store...), args...)...)
	}
	t.Cleanup(func() {
		// vfs layers are plain directories; buildah unmounts what it mounted.
		runErr(t, root, nil, buildah, append(append([]string{}, store...), "rm", "--all")...)
	})

	goroot := goEnv(t, "GOROOT")
	builder := builderImage(t, bah, tmp)
	const version = "0.0.0-container-test"
	bah("bud", "--isolation", "chroot", "--layers=false", "-q",
		"--build-arg", "GO_IMAGE="+builder, "--build-arg", "BASE=scratch",
		"--build-arg", "GOPROXY=off", "--build-arg", "VERSION="+version, "--build-arg", "COMMIT=c0ffee",
		"-v", goroot+":/usr/local/go:ro",
		"-v", goEnv(t, "GOMODCACHE")+":/gomodcache",
		"-v", goEnv(t, "GOCACHE")+":/gocache",
		"-f", filepath.Join(root, "Dockerfile"), "-t", "localhost/sagefence:test", root)

	var inspect struct {
		OCIv1 struct {
			Config struct {
				User       string
				WorkingDir string
				Entrypoint []string
			} `json:"config"`
		}
	}
	if err := json.Unmarshal([]byte(bah("inspect", "--type", "image", "localhost/sagefence:test")), &inspect); err != nil {
		t.Fatal(err)
	}
	cfg := inspect.OCIv1.Config
	if cfg.User != "65532:65532" || cfg.WorkingDir != "/work" || strings.Join(cfg.Entrypoint, " ") != "/usr/local/bin/sagefence" {
		t.Errorf("image config user %q, workdir %q, entrypoint %q: want 65532:65532, /work, /usr/local/bin/sagefence", cfg.User, cfg.WorkingDir, cfg.Entrypoint)
	}

	ctr := strings.TrimSpace(bah("from", "-q", "localhost/sagefence:test"))
	out := bah("run", "--isolation", "chroot", ctr, "--", "/usr/local/bin/sagefence", "version", "--format", "json")
	var info struct{ Version, Commit, Platform string }
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("sagefence version in the image: %v\n%s", err, out)
	}
	if info.Version != version || info.Commit != "c0ffee" || info.Platform != "linux/"+runtime.GOARCH {
		t.Errorf("version in the image: %+v, want %s, c0ffee, linux/%s (the build arguments)", info, version, runtime.GOARCH)
	}
	size := strings.TrimSpace(bah("images", "--format", "{{.Size}}", "localhost/sagefence:test"))
	t.Logf("image localhost/sagefence:test built, %s", size)
}

// builderImage makes the stand-in for golang:1.26: /bin/sh, mkdir and
// chown with their shared libraries, and the environment the official
// image sets; the toolchain and caches are mounted at build time.
func builderImage(t *testing.T, bah func(...string) string, tmp string) string {
	t.Helper()
	rootfs := filepath.Join(tmp, "builder", "rootfs")
	for _, d := range []string{"tmp", "go/pkg/mod", "gomodcache", "gocache", "usr/local/go", "src"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	for _, prog := range []string{"sh", "mkdir", "chown"} {
		path, err := exec.LookPath(prog)
		if err != nil {
			t.Skipf("%s not found to make the builder image", prog)
		}
		copyWithLibs(t, rootfs, path)
	}
	containerfile := filepath.Join(tmp, "builder", "Containerfile")
	if err := os.WriteFile(containerfile, []byte(`FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/go/bin:/go/bin:/usr/bin:/bin HOME=/root GOPATH=/go GOMODCACHE=/gomodcache GOCACHE=/gocache GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
`), 0o644); err != nil {
		t.Fatal(err)
	}
	const tag = "localhost/sagefence-test-go:1"
	bah("bud", "--isolation", "chroot", "-q", "-f", containerfile, "-t", tag, filepath.Dir(containerfile))
	return tag
}

// copyWithLibs copies a dynamically linked program and the libraries ldd
// lists for it into rootfs, at the same paths.
func copyWithLibs(t *testing.T, rootfs, prog string) {
	t.Helper()
	real, err := filepath.EvalSymlinks(prog)
	if err != nil {
		t.Fatal(err)
	}
	files := []string{real}
	if out, err := exec.Command("ldd", real).Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			for _, f := range strings.Fields(line) {
				if strings.HasPrefix(f, "/") {
					files = append(files, f)
				}
			}
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dsts := []string{f}
		if f == real {
			// RUN's shell form execs /bin/sh, whatever the host's layout.
			dsts = append(dsts, prog, "/bin/"+filepath.Base(prog))
		}
		for _, dst := range dsts {
			p := filepath.Join(rootfs, dst)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o755); err != nil {
				t.Fatal(fmt.Errorf("copy %s: %w", f, err))
			}
		}
	}
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}
