package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sagefence/sagefence/internal/testenv"
)

// runCLI runs the binary with any arguments and extra environment, against
// endpoint.
func runCLI(t *testing.T, endpoint string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(testenv.Environ(endpoint), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run sagefence: %v", err)
	}
	return code, out.String(), errOut.String()
}

// TestE2EBadInputIsRefusedBeforeAnyCall: what people mistype (a region name
// in a flag or the environment, a command, a flag, a report path in a
// folder that does not exist) is exit 2, one line on stderr, nothing on
// stdout, and no call reaches the emulator, for the binary as users run it.
func TestE2EBadInputIsRefusedBeforeAnyCall(t *testing.T) {
	m := moto.ForTest(t)
	proxy := testenv.NewFaultProxy(t, m.URL())
	missing := filepath.Join(t.TempDir(), "no-such-dir", "report.json")
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"AWS_REGION that is not a region", []string{"AWS_REGION=us-east1"}, []string{"scan"}, `AWS_REGION "us-east1" is not an AWS region (did you mean us-east-1?)`},
		{"--regions that is not a region, in preflight", nil, []string{"preflight", "--regions", "us-east1"}, `--regions "us-east1" is not an AWS region`},
		{"--regions that is not a region, in plan", nil, []string{"plan", "--regions", "eu-west"}, `--regions "eu-west" is not an AWS region`},
		{"a mistyped command", nil, []string{"scna"}, `unknown command "scna" for "sagefence" (did you mean scan?)`},
		{"--region, as the AWS CLI spells it", nil, []string{"scan", "--region", "us-east-1"}, "sagefence takes --regions"},
		{"a report in a folder that does not exist", nil, []string{"scan", "--regions", "us-east-1", "--format", "json", "--output", missing}, "does not exist"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := proxy.Calls("*")
			code, stdout, stderr := runCLI(t, proxy.URL(), c.env, c.args...)
			if code != 2 || stdout != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, stdout)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q: want one line saying %q", stderr, c.want)
			}
			if n := proxy.Calls("*") - before; n != 0 {
				t.Errorf("%d AWS call(s) made before the refusal", n)
			}
		})
	}
	// The same scan with the input corrected reaches AWS: the zeros above
	// are the checks' doing.
	before := proxy.Calls("*")
	if code, _, stderr := runCLI(t, proxy.URL(), []string{"AWS_REGION=us-east-1"}, "scan", "--format", "json"); code != 0 || proxy.Calls("*") == before {
		t.Errorf("corrected scan: exit %d, %d calls, stderr %q; want 0 and some calls", code, proxy.Calls("*")-before, stderr)
	}
}
