package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/events"
	"github.com/sagefence/sagefence/internal/iostreams"
)

func TestEventsSetupFlagParsing(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
		want    eventsSetupOptions
	}{
		{name: "cloudformation", args: []string{"--format", "cloudformation"}, want: eventsSetupOptions{Format: "cloudformation"}},
		{name: "terraform for an organization, to a file", args: []string{"--format", " Terraform ", "--org", "-o", filepath.Join(dir, "e.tf")},
			want: eventsSetupOptions{Format: "terraform", Org: true, Output: filepath.Join(dir, "e.tf")}},
		{name: "no format", args: nil, code: ExitUsage, wantErr: "--format is required: cloudformation or terraform"},
		{name: "unknown format", args: []string{"--format", "cdk"}, code: ExitUsage, wantErr: `--format "cdk": want cloudformation or terraform`},
		{name: "an argument", args: []string{"--format", "terraform", "extra"}, code: ExitUsage, wantErr: "unknown command"},
		{name: "output is a directory", args: []string{"--format", "terraform", "--output", dir}, code: ExitUsage, wantErr: "is a directory"},
		{name: "output in a missing directory", args: []string{"--format", "terraform", "--output", filepath.Join(dir, "no", "e.tf")}, code: ExitUsage, wantErr: "--output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, errOut := iostreams.Test()
			var got *eventsSetupOptions
			root := NewRoot(ios)
			for _, c := range root.Commands() {
				if c.Name() == "events-setup" {
					root.RemoveCommand(c)
				}
			}
			root.AddCommand(newEventsSetupCmd(ios, func(o *eventsSetupOptions) error { got = o; return nil }))
			root.SetArgs(append([]string{"events-setup"}, tt.args...))
			code := exitCode(context.Background(), ios, root.ExecuteContext(context.Background()))
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, errOut)
			}
			if tt.wantErr != "" {
				if !strings.Contains(errOut.String(), tt.wantErr) || strings.Count(errOut.String(), "\n") != 1 {
					t.Errorf("stderr %q: want one line with %q", errOut, tt.wantErr)
				}
				if got != nil {
					t.Error("ran despite the usage error")
				}
				return
			}
			got.IO = nil
			if *got != tt.want {
				t.Errorf("options %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestEventsSetupPrintsTheTemplate(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		render func(bool) ([]byte, error)
		org    bool
	}{
		{[]string{"--format", "cloudformation"}, events.CloudFormation, false},
		{[]string{"--format", "cloudformation", "--org"}, events.CloudFormation, true},
		{[]string{"--format", "terraform"}, events.Terraform, false},
		{[]string{"--format", "terraform", "--org"}, events.Terraform, true},
	} {
		want, err := tc.render(tc.org)
		if err != nil {
			t.Fatal(err)
		}
		ios, _, out, errOut := iostreams.Test()
		if code := Main(context.Background(), ios, append([]string{"events-setup"}, tc.args...)); code != ExitOK || errOut.Len() != 0 {
			t.Fatalf("%v: exit %d, stderr %q", tc.args, code, errOut)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("%v: stdout is not the rendered set-up", tc.args)
		}

		// --output writes the same to the file and nothing to stdout.
		path := filepath.Join(t.TempDir(), "events")
		ios, _, out, _ = iostreams.Test()
		if code := Main(context.Background(), ios, append([]string{"events-setup", "--output", path}, tc.args...)); code != ExitOK || out.Len() != 0 {
			t.Fatalf("%v --output: exit %d, stdout %q", tc.args, code, out)
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%v --output: file differs (%v)", tc.args, err)
		}
	}
}

// TestEventsSetupHelpTeaches: the help says what it deploys, where, what
// it needs, and which watch flag takes the result.
func TestEventsSetupHelpTeaches(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	if code := Main(context.Background(), ios, []string{"events-setup", "--help"}); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"EventBridge", "SQS queue", "dead-letter queue", "--org", "HomeRegion", "OrganizationId",
		"CentralAccountId", "CloudTrail trail", "watch --queue-url", "Exit codes", "CAPABILITY_IAM"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help does not mention %q", want)
		}
	}
}
