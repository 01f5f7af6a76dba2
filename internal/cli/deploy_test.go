package cli

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/sagefence/sagefence/internal/iostreams"
)

// The deployment files are checked here, without a container engine or a
// cluster (neither runs on CI): what they tell the binary must be what the
// binary accepts.

// TestDockerfileBuildsAStaticNonRootImage: the image is built in a Go
// stage, as a static binary (CGO off, and no dependency that needs C), and
// runs as a non-root user.
func TestDockerfileBuildsAStaticNonRootImage(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var froms, users, builds, entrypoints []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	var line string
	for sc.Scan() {
		// An instruction goes on over lines that end with a backslash.
		line += strings.TrimSpace(sc.Text())
		if l, ok := strings.CutSuffix(line, "\\"); ok {
			line = l + " "
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		line = ""
		switch strings.ToUpper(instr) {
		case "FROM":
			froms = append(froms, rest)
		case "USER":
			users = append(users, rest)
		case "ENTRYPOINT":
			entrypoints = append(entrypoints, rest)
		case "RUN":
			if strings.Contains(rest, "go build") {
				builds = append(builds, rest)
			}
		}
	}
	if len(froms) < 2 {
		t.Errorf("FROM %v: want a build stage and a runtime stage", froms)
	}
	if len(builds) != 1 || !strings.Contains(builds[0], "CGO_ENABLED=0") || !strings.Contains(builds[0], "./cmd/sagefence") {
		t.Errorf("go build steps %v: want one, with CGO_ENABLED=0, of ./cmd/sagefence", builds)
	}
	if len(users) != 1 {
		t.Fatalf("USER %v: want one", users)
	}
	uid, _, _ := strings.Cut(users[0], ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("USER %s: want a numeric non-root user (Kubernetes runAsNonRoot checks the number)", users[0])
	}
	if len(entrypoints) != 1 || !strings.Contains(entrypoints[0], "sagefence") {
		t.Errorf("ENTRYPOINT %v", entrypoints)
	}

	// A static binary needs every package outside the standard library
	// to build without cgo (the standard library has pure-Go fallbacks).
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if and (not .Standard) .CgoFiles}}{{.ImportPath}}{{end}}", "github.com/sagefence/sagefence/cmd/sagefence")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	if cgo := strings.Fields(string(out)); len(cgo) > 0 {
		t.Errorf("packages that need cgo, so the image's static build would drop or break them: %v", cgo)
	}
}

// TestKubernetesWatchExampleIsAcceptedByWatch: the Deployment's arguments
// pass watch's own validation, its probes are the paths that need no
// token, the history and the token file are on mounted volumes, and it
// runs one replica, replaced rather than rolled (one SQLite writer, one
// alert per transition).
func TestKubernetesWatchExampleIsAcceptedByWatch(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "k8s-watch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type probe struct {
		HTTPGet struct{ Path string } `yaml:"httpGet"`
	}
	type container struct {
		Name           string
		Args           []string
		LivenessProbe  *probe `yaml:"livenessProbe"`
		ReadinessProbe *probe `yaml:"readinessProbe"`
		StartupProbe   *probe `yaml:"startupProbe"`
		VolumeMounts   []struct {
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
		SecurityContext struct {
			ReadOnlyRootFilesystem bool `yaml:"readOnlyRootFilesystem"`
		} `yaml:"securityContext"`
	}
	type object struct {
		Kind string
		Spec struct {
			Replicas *int
			Strategy struct{ Type string }
			Template struct {
				Spec struct {
					SecurityContext struct {
						RunAsNonRoot bool `yaml:"runAsNonRoot"`
					} `yaml:"securityContext"`
					Containers []container
				}
			}
		}
	}
	var deployment *object
	dec := yaml.NewDecoder(bytes.NewReader(data))
	kinds := 0
	for {
		var o object
		if err := dec.Decode(&o); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("examples/k8s-watch.yaml: %v", err)
		}
		kinds++
		if o.Kind == "Deployment" {
			deployment = &o
		}
	}
	if deployment == nil {
		t.Fatalf("no Deployment among %d objects", kinds)
	}
	spec := deployment.Spec
	if spec.Replicas == nil || *spec.Replicas != 1 || spec.Strategy.Type != "Recreate" {
		t.Errorf("replicas %v, strategy %q: want 1 and Recreate", spec.Replicas, spec.Strategy.Type)
	}
	if !spec.Template.Spec.SecurityContext.RunAsNonRoot {
		t.Error("the pod does not require a non-root user")
	}
	if len(spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Template.Spec.Containers))
	}
	c := spec.Template.Spec.Containers[0]
	for what, p := range map[string]*probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
		if p == nil || !slices.Contains([]string{"/healthz", "/readyz"}, p.HTTPGet.Path) {
			t.Errorf("%s probe %+v: want /healthz or /readyz (the paths that need no token)", what, p)
		}
	}
	if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe on %s, want /readyz", c.ReadinessProbe.HTTPGet.Path)
	}
	if len(c.Args) == 0 || c.Args[0] != "watch" {
		t.Fatalf("args %v: want watch ...", c.Args)
	}
	mounted := func(path string) bool {
		for _, m := range c.VolumeMounts {
			if strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/") {
				return true
			}
		}
		return false
	}

	// Kubernetes expands $(VAR) from env; the token file is a mounted
	// secret: stand in for both.
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	envRef := regexp.MustCompile(`\$\([A-Z_]+\)`)
	var args []string
	for _, a := range c.Args[1:] {
		a = envRef.ReplaceAllString(a, "https://hooks.example.com/services/T0/B0/x")
		flag, value, _ := strings.Cut(a, "=")
		switch flag {
		case "--db", "--token-file":
			if !mounted(value) {
				t.Errorf("%s %s is not on a mounted volume (the root filesystem is read-only: %v)", flag, value, c.SecurityContext.ReadOnlyRootFilesystem)
			}
		}
		switch flag {
		case "--db":
			a = flag + "=" + filepath.Join(dir, "watch.db")
		case "--token-file":
			a = flag + "=" + token
		}
		args = append(args, a)
	}
	ios := &iostreams.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}
	o := &watchOptions{IO: ios}
	cmd := watchCmd(o)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("watch does not parse the example's arguments %v: %v", args, err)
	}
	if err := o.validate(cmd); err != nil {
		t.Errorf("watch refuses the example's arguments %v: %v", args, err)
	}
}
