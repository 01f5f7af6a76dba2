package cli

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/buildinfo"
	"github.com/sagefence/sagefence/internal/iostreams"
)

func TestVersionPrintsTheBuildInOneLineOrJSON(t *testing.T) {
	info := buildinfo.Info{Version: "1.2.0", Commit: "0123456789abcdef", BuildDate: "2026-02-03T00:00:00Z", GoVersion: "go1.26.8", Platform: "linux/amd64"}

	ios, _, out, _ := iostreams.Test()
	if err := runVersion(&versionOptions{IO: ios, Format: "text", Info: info}); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "sagefence 1.2.0 (commit 0123456789ab, built 2026-02-03T00:00:00Z, go1.26.8 linux/amd64)\n"; got != want {
		t.Errorf("text: %q, want %q", got, want)
	}

	ios, _, out, _ = iostreams.Test()
	if err := runVersion(&versionOptions{IO: ios, Format: "json", Info: info}); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	for k, want := range map[string]string{"version": "1.2.0", "commit": "0123456789abcdef", "build_date": "2026-02-03T00:00:00Z", "go_version": "go1.26.8", "platform": "linux/amd64"} {
		if got[k] != want {
			t.Errorf("json %s = %v, want %q", k, got[k], want)
		}
	}
}

func TestVersionFlagAndCommandAgree(t *testing.T) {
	ios, _, cmdOut, _ := iostreams.Test()
	if code := Main(context.Background(), ios, []string{"version"}); code != ExitOK {
		t.Fatalf("version: exit %d", code)
	}
	ios, _, flagOut, _ := iostreams.Test()
	if code := Main(context.Background(), ios, []string{"--version"}); code != ExitOK {
		t.Fatalf("--version: exit %d", code)
	}
	if cmdOut.String() != flagOut.String() || !strings.HasPrefix(cmdOut.String(), "sagefence "+Version()+" (") {
		t.Errorf("version %q and --version %q differ or do not start with the version %q", cmdOut, flagOut, Version())
	}
}

func TestVersionRejectsAnUnknownFormat(t *testing.T) {
	ios, _, out, errOut := iostreams.Test()
	if code := Main(context.Background(), ios, []string{"version", "--format", "yaml"}); code != ExitUsage || out.Len() != 0 ||
		strings.Count(errOut.String(), "\n") != 1 || !strings.Contains(errOut.String(), "text, json") {
		t.Errorf("exit %d, stdout %q, stderr %q: want 2 and one line naming the formats", code, out, errOut)
	}
}

// TestCompletionScriptsLoad: cobra's completion command prints a script
// for each shell; the bash one loads and registers a completion for
// sagefence, and the scripts complete sagefence's own commands.
func TestCompletionScriptsLoad(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		ios, _, out, errOut := iostreams.Test()
		if code := Main(context.Background(), ios, []string{"completion", shell}); code != ExitOK || !strings.Contains(out.String(), "sagefence") {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q", shell, code, out.Len(), errOut)
		}
	}
	ios, _, out, _ := iostreams.Test()
	if code := Main(context.Background(), ios, []string{"__complete", "sc"}); code != ExitOK || !strings.Contains(out.String(), "scan\t") {
		t.Errorf("__complete sc: exit %d, %q: want scan offered", code, out)
	}
	ios, _, out, _ = iostreams.Test()
	if code := Main(context.Background(), ios, []string{"__complete", "iac", "--format", ""}); code != ExitOK || !strings.Contains(out.String(), "sarif\n") {
		t.Errorf("__complete iac --format: exit %d, %q: want the iac formats offered", code, out)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed: the script is not loaded")
	}
	ios, _, out, _ = iostreams.Test()
	Main(context.Background(), ios, []string{"completion", "bash"})
	cmd := exec.Command("bash", "-c", `source /dev/stdin && complete -p sagefence`)
	cmd.Stdin = strings.NewReader(out.String())
	got, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(got), "sagefence") {
		t.Errorf("bash could not load the script: %v\n%s", err, got)
	}
}
