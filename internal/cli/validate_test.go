package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sagefence/sagefence/internal/iostreams"
	"github.com/sagefence/sagefence/internal/testenv"
)

// awsTrap is an AWS endpoint that counts the calls it gets and denies
// them all (403 is not retried, so a command that does reach it ends
// quickly).
type awsTrap struct {
	URL   string
	calls atomic.Int64
}

func newAWSTrap(t *testing.T) *awsTrap {
	t.Helper()
	trap := &awsTrap{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trap.calls.Add(1)
		w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>denied by the test's trap</Message></Error></ErrorResponse>`))
	}))
	t.Cleanup(srv.Close)
	trap.URL = srv.URL
	return trap
}

// trapEnv points the SDK at trap with fake credentials and no region, and
// keeps the journal and the state directory in t's temporary directory.
func trapEnv(t *testing.T, trap *awsTrap) {
	t.Helper()
	testenv.SetAWSEnv(t, trap.URL)
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("XDG_STATE_HOME", t.TempDir())
}

// planFile writes a plan with ready actions (from the example estate), one
// that apply would carry out.
func planFile(t *testing.T) string {
	t.Helper()
	plan := filepath.Join(t.TempDir(), "plan.json")
	ios, _, _, errOut := iostreams.Test()
	Main(context.Background(), ios, []string{"plan", "--input", example, "--output", plan})
	if _, err := os.Stat(plan); err != nil {
		t.Fatalf("no plan: %v; stderr %s", err, errOut)
	}
	return plan
}

// TestBadRegionIsExitTwoNamingItsSourceBeforeAnyAWSCall gives every
// command that reads AWS a region that is not one, from each place a
// region comes from: exit 2, one line naming the place, nothing on stdout,
// and no call. The same command with the region corrected does call the
// trap, so the silence is the check's doing, not the endpoint's.
func TestBadRegionIsExitTwoNamingItsSourceBeforeAnyAWSCall(t *testing.T) {
	plan := planFile(t)
	commands := []struct {
		name string
		args func(endpoint string) []string
		// regionsFlag is whether the command takes --regions; journal,
		// whether it takes --journal.
		regionsFlag, journal bool
	}{
		{"scan", func(e string) []string { return []string{"scan", "--endpoint-url", e} }, true, true},
		{"plan", func(e string) []string { return []string{"plan", "--endpoint-url", e} }, true, false},
		{"preflight", func(e string) []string { return []string{"preflight", "--endpoint-url", e} }, true, false},
		{"apply", func(e string) []string { return []string{"apply", plan, "--yes", "--endpoint-url", e} }, false, true},
		{"backout", func(e string) []string {
			return []string{"backout", "20261129T091500-1a2b3c", "--yes", "--endpoint-url", e}
		}, false, true},
		{"finalize", func(e string) []string {
			return []string{"finalize", "20261129T091500-1a2b3c", "--yes", "--endpoint-url", e}
		}, false, true},
		{"scan --input --push-securityhub", func(e string) []string {
			return []string{"scan", "--input", example, "--push-securityhub", "--endpoint-url", e}
		}, false, true},
	}
	// Each source sets region r (bad or good) and returns extra arguments.
	sources := []struct {
		name     string
		set      func(t *testing.T, r string) []string
		wantLine string
		flagOnly bool
	}{
		{"--regions", func(t *testing.T, r string) []string {
			t.Setenv("AWS_REGION", "us-east-1")
			return []string{"--regions", "eu-west-1," + r}
		}, `sagefence: --regions "us-east1" is not an AWS region (did you mean us-east-1?)`, true},
		{"AWS_REGION", func(t *testing.T, r string) []string {
			t.Setenv("AWS_REGION", r)
			return nil
		}, `AWS_REGION "us-east1" is not an AWS region (did you mean us-east-1?)`, false},
		{"AWS_DEFAULT_REGION", func(t *testing.T, r string) []string {
			t.Setenv("AWS_DEFAULT_REGION", r)
			return nil
		}, `AWS_DEFAULT_REGION "us-east1" is not an AWS region (did you mean us-east-1?)`, false},
		{"profile", func(t *testing.T, r string) []string {
			cfg := "[profile audit]\nregion = " + r + "\naws_access_key_id = testing\naws_secret_access_key = testing\n"
			if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{"--profile", "audit"}
		}, `profile "audit" region "us-east1" is not an AWS region (did you mean us-east-1?)`, false},
	}
	for _, cmd := range commands {
		for _, src := range sources {
			if src.flagOnly && !cmd.regionsFlag {
				continue
			}
			t.Run(cmd.name+"/"+src.name, func(t *testing.T) {
				// run gives the command region r from src, against a new trap.
				run := func(r string) (trap *awsTrap, code int, out, errOut string) {
					trap = newAWSTrap(t)
					trapEnv(t, trap)
					args := append(cmd.args(trap.URL), src.set(t, r)...)
					if cmd.journal {
						args = append(args, "--journal", filepath.Join(t.TempDir(), "j.db"))
					}
					ios, _, o, e := iostreams.Test()
					code = Main(context.Background(), ios, args)
					return trap, code, o.String(), e.String()
				}
				trap, code, out, errOut := run("us-east1")
				if code != ExitUsage {
					t.Errorf("exit %d, want 2", code)
				}
				if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, src.wantLine) {
					t.Errorf("stderr = %q, want one line with %q", errOut, src.wantLine)
				}
				if out != "" {
					t.Errorf("stdout = %q, want nothing", out)
				}
				if n := trap.calls.Load(); n != 0 {
					t.Errorf("%d AWS call(s) made before the region was refused", n)
				}

				// The same command with the region corrected gets past the
				// check: it reaches AWS, or (finalize or backout of a run the
				// journal does not hold) fails for that reason, not the region's.
				trap, _, _, errOut = run("us-east-1")
				switch {
				case cmd.name == "finalize" || cmd.name == "backout":
					if strings.Contains(errOut, "not an AWS region") || !(strings.Contains(errOut, "is not in journal") || strings.Contains(errOut, "no journal at")) {
						t.Errorf("with a good region: stderr %q, want the run's absence, not the region", errOut)
					}
				case trap.calls.Load() == 0:
					t.Errorf("with a good region the command made no call (stderr %q): the test proves nothing", errOut)
				}
			})
		}
	}
}

// TestUnknownCommandsAndFlagsGetSuggestions: exit 2, one line, the command
// or flag that was probably meant.
func TestUnknownCommandsAndFlagsGetSuggestions(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"scna"}, `sagefence: unknown command "scna" for "sagefence" (did you mean scan?)`},
		{[]string{"jounral", "list"}, `sagefence: unknown command "jounral" for "sagefence" (did you mean journal?)`},
		{[]string{"journal", "lsit"}, `sagefence: unknown command "lsit" for "sagefence journal" (did you mean list?)`},
		{[]string{"xyzzy"}, `sagefence: unknown command "xyzzy" for "sagefence"`},
		{[]string{"scan", "--region", "us-east-1"}, `sagefence: unknown flag: --region (sagefence takes --regions, a comma-separated list)`},
		{[]string{"preflight", "--region=us-east-1"}, `sagefence: unknown flag: --region (sagefence takes --regions, a comma-separated list)`},
		{[]string{"plan", "--region", "us-east-1"}, `sagefence: unknown flag: --region (sagefence takes --regions, a comma-separated list)`},
		{[]string{"apply", "plan.json", "--region", "us-east-1"}, `sagefence: unknown flag: --region (sagefence apply takes no region: only plan, preflight, scan and watch take --regions)`},
		{[]string{"scan", "--fromat", "json"}, `sagefence: unknown flag: --fromat (did you mean --format?)`},
		{[]string{"journal", "list", "--jornal", "j.db"}, `sagefence: unknown flag: --jornal (did you mean --journal?)`},
		{[]string{"scan", "--frobnicate"}, `sagefence: unknown flag: --frobnicate`},
	}
	for _, tt := range tests {
		ios, _, out, errOut := iostreams.Test()
		code := Main(context.Background(), ios, tt.args)
		if code != ExitUsage || errOut.String() != tt.want+"\n" || out.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q\nwant exit 2, stderr %q", tt.args, code, out, errOut, tt.want)
		}
	}
	// A command that only groups others still prints its help when given none.
	for _, args := range [][]string{nil, {"journal"}} {
		ios, _, out, errOut := iostreams.Test()
		if code := Main(context.Background(), ios, args); code != ExitOK || !strings.Contains(out.String(), "Available Commands:") || errOut.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// TestOutputPathsAreCheckedBeforeAnyAWSCall: a report, inventory, bundle
// or plan that could not be written is refused before the scan it would
// have lost (exit 2, one line, no call).
func TestOutputPathsAreCheckedBeforeAnyAWSCall(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file.json")
	if err := os.WriteFile(file, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"scan --output in a missing directory", []string{"scan", "--output", filepath.Join(missing, "r.json")},
			`--output "` + missing + `/r.json": directory "` + missing + `" does not exist`},
		{"scan --output is a directory", []string{"scan", "--output", dir},
			`--output "` + dir + `": is a directory (name a file in it)`},
		{"scan --output under a file", []string{"scan", "--output", filepath.Join(file, "r.json")},
			`--output "` + file + `/r.json": "` + file + `" is not a directory`},
		{"scan --output-dir is a file", []string{"scan", "--format", "json,html", "--output-dir", file},
			`--output-dir "` + file + `": is a file, not a directory`},
		{"scan --output-dir in a missing directory", []string{"scan", "--format", "json,html", "--output-dir", filepath.Join(missing, "reports")},
			`--output-dir "` + missing + `/reports": directory "` + missing + `" does not exist`},
		{"scan --save-inventory in a missing directory", []string{"scan", "--save-inventory", filepath.Join(missing, "inv.json")},
			`--save-inventory "` + missing + `/inv.json": directory "` + missing + `" does not exist`},
		{"scan --save-inventory is a directory", []string{"scan", "--save-inventory", dir},
			`--save-inventory "` + dir + `": is a directory (name a file in it)`},
		{"scan --evidence-dir is a file", []string{"scan", "--evidence-dir", file, "--force"},
			`--evidence-dir "` + file + `": is a file, not a directory`},
		{"scan --evidence-dir in a missing directory", []string{"scan", "--evidence-dir", filepath.Join(missing, "a", "b")},
			`--evidence-dir "` + missing + `/a/b": directory "` + missing + `/a" does not exist`},
		{"plan --output in a missing directory", []string{"plan", "--output", filepath.Join(missing, "plan.json")},
			`--output "` + missing + `/plan.json": directory "` + missing + `" does not exist`},
		{"plan --output is a directory", []string{"plan", "--output", dir},
			`--output "` + dir + `": is a directory (name a file in it)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trap := newAWSTrap(t)
			trapEnv(t, trap)
			t.Setenv("AWS_REGION", "us-east-1")
			ios, _, out, errOut := iostreams.Test()
			code := Main(context.Background(), ios, append(tt.args, "--endpoint-url", trap.URL))
			if code != ExitUsage || errOut.String() != "sagefence: "+tt.want+"\n" || out.Len() != 0 {
				t.Errorf("exit %d, stdout %q, stderr %q\nwant exit 2, stderr %q", code, out, errOut, "sagefence: "+tt.want)
			}
			if n := trap.calls.Load(); n != 0 {
				t.Errorf("%d AWS call(s) made before the path was refused", n)
			}
		})
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("a check created %s", missing)
	}
}

// TestEveryOutputFlagIsChecked: the commands that call no AWS check
// --output the same way, before they read their inputs; watch checks --db
// before it calls AWS.
func TestEveryOutputFlagIsChecked(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	out := filepath.Join(missing, "out")
	want := `sagefence: --output "` + out + `": directory "` + missing + `" does not exist` + "\n"
	for _, args := range [][]string{
		{"iam-policy", "--output", out},
		{"guardrail", "--output", out},
		{"merge", example, example, "--output", out},
		{"iac", ".", "--output", out},
		{"events-setup", "--format", "cloudformation", "--output", out},
	} {
		ios, _, stdout, errOut := iostreams.Test()
		if code := Main(context.Background(), ios, args); code != ExitUsage || errOut.String() != want || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q\nwant exit 2, stderr %q", args, code, stdout, errOut, want)
		}
	}
	ios, _, stdout, errOut := iostreams.Test()
	wantDB := strings.Replace(want, "--output", "--db", 1)
	if code := Main(context.Background(), ios, []string{"watch", "--regions", "us-east-1", "--db", out}); code != ExitUsage || errOut.String() != wantDB || stdout.Len() != 0 {
		t.Errorf("watch --db %s: exit %d, stdout %q, stderr %q\nwant exit 2, stderr %q", out, code, stdout, errOut, wantDB)
	}
}
