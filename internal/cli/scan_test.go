package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/iostreams"
)

const example = "../../examples/inventory.json"

func run(t *testing.T, ctx context.Context, ios *iostreams.IOStreams, collect collectFunc, args ...string) int {
	t.Helper()
	root := NewRoot(ios)
	if collect != nil {
		// Replace the scan command with one whose collector is stubbed.
		for _, c := range root.Commands() {
			if c.Name() == "scan" {
				root.RemoveCommand(c)
			}
		}
		root.AddCommand(newScanCmd(ios, func(ctx context.Context, o *scanOptions) error {
			o.Collect = collect
			o.Now = fixedClock()
			return runScan(ctx, o)
		}))
	}
	root.SetArgs(args)
	return exitCode(ctx, ios, root.ExecuteContext(ctx))
}

func fixedClock() func() time.Time {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	return func() time.Time { t0 = t0.Add(time.Second); return t0 }
}

func TestScanExampleJSONContract(t *testing.T) {
	ios, _, out, errOut := iostreams.Test()
	code := Main(context.Background(), ios, []string{"scan", "--input", example, "--format", "json"})
	if code != ExitIncomplete {
		t.Fatalf("exit = %d, want 3 (the example has an unreadable notebook); stderr %q", code, errOut)
	}
	var raw map[string]any
	if err := json.Unmarshal(out.Bytes(), &raw); err != nil {
		t.Fatalf("stdout is not JSON: %v", err)
	}
	for _, k := range []string{"schema_version", "tool", "profile", "started_at", "finished_at", "complete", "summary", "results", "errors"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("report lacks %q", k)
		}
	}
	if raw["complete"] != false {
		t.Error("complete must be false when a result is ERROR")
	}
	results := raw["results"].([]any)
	counts := map[string]float64{}
	for _, r := range results {
		res := r.(map[string]any)
		for _, k := range []string{"control_id", "account_id", "region", "resource", "status", "severity", "internet_path", "checks", "evidence", "remediation", "reproduce", "compliance"} {
			if _, ok := res[k]; !ok {
				t.Errorf("result lacks %q", k)
			}
		}
		res2 := res["resource"].(map[string]any)
		for _, k := range []string{"type", "name", "arn"} {
			if _, ok := res2[k]; !ok {
				t.Errorf("resource lacks %q", k)
			}
		}
		counts[res["status"].(string)]++
	}
	summary := raw["summary"].(map[string]any)
	for _, s := range []string{"PASS", "FAIL", "REVIEW", "ERROR"} {
		if counts[s] == 0 {
			t.Errorf("example estate has no %s result", s)
		}
		if summary[s] != counts[s] {
			t.Errorf("summary[%s] = %v, results have %v", s, summary[s], counts[s])
		}
	}
	if len(raw["errors"].([]any)) == 0 {
		t.Error("errors is empty although notebooks are ERROR")
	}
}

func TestScanTableTTYAndPiped(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	ios.SetStdoutTTY(true)
	Main(context.Background(), ios, []string{"scan", "--input", example})
	tty := out.String()
	// The example holds Studio domains beside the notebooks: the column
	// and the count say "resource" and "result".
	for _, want := range []string{"STATUS", "RESOURCE", "studio-domain/research-studio", "\x1b[31mFAIL", "16 result(s):", "INCOMPLETE"} {
		if !strings.Contains(tty, want) {
			t.Errorf("TTY output lacks %q:\n%s", want, tty)
		}
	}

	ios, _, out, _ = iostreams.Test()
	Main(context.Background(), ios, []string{"scan", "--input", example})
	piped := out.String()
	if strings.Contains(piped, "\x1b[") || strings.Contains(piped, "STATUS") || strings.Contains(piped, "notebook(s):") {
		t.Errorf("piped output has colour, header or summary:\n%s", piped)
	}
	first := strings.Split(strings.SplitN(piped, "\n", 2)[0], "\t")
	if len(first) != 7 {
		t.Errorf("piped line has %d tab-separated fields, want 7: %q", len(first), first)
	}
}

func TestScanBadInputExitsTwoWithOneLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(data), 0o644)
		return p
	}
	ex, _ := os.ReadFile(example)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"scan", "--input", filepath.Join(dir, "nope.json")}, "no such file"},
		{"truncated", []string{"scan", "--input", write("trunc.json", string(ex[:len(ex)/2]))}, "truncated"},
		{"wrong version", []string{"scan", "--input", write("v9.json", `{"schema_version":"9","regions":[]}`)}, `schema_version "9"`},
		{"syntax", []string{"scan", "--input", write("bad.json", "{\n\"schema_version\": \"1\",\n  \"regions\": [}\n")}, "bad.json:3:"},
		{"unknown flag", []string{"scan", "--frobnicate"}, "unknown flag"},
		{"unknown format", []string{"scan", "--input", example, "--format", "xml"}, `--format "xml"`},
		{"unknown profile name", []string{"scan", "--input", example, "--control-profile", "cis"}, `--control-profile "cis"`},
		{"input with regions", []string{"scan", "--input", example, "--regions", "us-east-1"}, "--regions reads AWS"},
		{"empty regions", []string{"scan", "--regions", ","}, "no region"},
		{"unknown resource kind", []string{"scan", "--resources", "notebook-instances,studio"}, `--resources "studio": want notebook-instances or studio-domains`},
		{"input with resources", []string{"scan", "--input", example, "--resources", "studio-domains"}, "--resources reads AWS"},
		{"unknown command", []string{"scna"}, "unknown command"},
		{"positional argument", []string{"scan", "extra"}, "unknown command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ios, _, out, errOut := iostreams.Test()
			code := Main(context.Background(), ios, c.args)
			if code != ExitUsage {
				t.Errorf("exit = %d, want 2", code)
			}
			msg := errOut.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "sagefence: ") {
				t.Errorf("stderr is not one line: %q", msg)
			}
			if !strings.Contains(msg, c.want) {
				t.Errorf("stderr %q lacks %q", msg, c.want)
			}
			if strings.Contains(msg, "goroutine") || strings.Contains(msg, "panic") {
				t.Errorf("stack trace on stderr: %q", msg)
			}
			if out.Len() != 0 {
				t.Errorf("stdout not empty on a usage error: %q", out)
			}
		})
	}
}

func TestScanOutputFileIsAtomic(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "report.json")
	os.WriteFile(out, []byte("previous"), 0o644)
	ios, _, _, _ := iostreams.Test()
	// A failing input must leave the previous file untouched.
	if code := Main(context.Background(), ios, []string{"scan", "--input", filepath.Join(dir, "missing.json"), "--output", out}); code != ExitUsage {
		t.Fatalf("exit = %d", code)
	}
	if b, _ := os.ReadFile(out); string(b) != "previous" {
		t.Fatalf("output file changed on failure: %q", b)
	}
	if code := Main(context.Background(), ios, []string{"scan", "--input", example, "--output", out, "--format", "json"}); code != ExitIncomplete {
		t.Fatalf("exit = %d", code)
	}
	b, _ := os.ReadFile(out)
	if !json.Valid(b) {
		t.Fatal("output file is not valid JSON")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func stubInventory(notebooks ...inventory.Notebook) *inventory.Inventory {
	return &inventory.Inventory{SchemaVersion: "1", Regions: []inventory.Region{{AccountID: "111122223333", Region: "us-east-1", Notebooks: notebooks}}}
}

type countingStats struct{ printed int }

func (c *countingStats) Print(w io.Writer, _ time.Duration) {
	c.printed++
	io.WriteString(w, "calls: 3\n")
}

func TestScanLiveExitCodes(t *testing.T) {
	pass := inventory.Notebook{Name: "ok", DirectInternetAccess: "Enabled"}
	pass.DirectInternetAccess = "Disabled"
	pass.SubnetID = ""
	cases := []struct {
		name string
		inv  *inventory.Inventory
		err  error
		args []string
		want int
	}{
		{"fail", stubInventory(inventory.Notebook{Name: "a", DirectInternetAccess: "Enabled"}), nil, nil, ExitFail},
		{"region error makes it incomplete", func() *inventory.Inventory {
			inv := stubInventory(inventory.Notebook{Name: "a", DirectInternetAccess: "Enabled"})
			inv.Regions[0].Errors = []inventory.CollectError{{Operation: "ec2:DescribeRouteTables", Message: "denied"}}
			return inv
		}(), nil, nil, ExitIncomplete},
		{"nothing to scan passes", stubInventory(), nil, nil, ExitOK},
		{"configuration error", nil, errors.New("no credentials"), nil, ExitUsage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			code := run(t, context.Background(), ios, func(context.Context, liveOptions) (*inventory.Inventory, statsPrinter, error) {
				return c.inv, nil, c.err
			}, append([]string{"scan"}, c.args...)...)
			if code != c.want {
				t.Errorf("exit = %d, want %d", code, c.want)
			}
		})
	}
}

func TestScanLiveSavesInventoryAndStats(t *testing.T) {
	dir := t.TempDir()
	inv := stubInventory(inventory.Notebook{Name: "a", DirectInternetAccess: "Enabled"})
	st := &countingStats{}
	ios, _, out, errOut := iostreams.Test()
	saved := filepath.Join(dir, "inv.json")
	code := run(t, context.Background(), ios, func(_ context.Context, o liveOptions) (*inventory.Inventory, statsPrinter, error) {
		if strings.Join(o.Regions, ",") != "eu-west-1,us-east-1" {
			t.Errorf("regions = %v", o.Regions)
		}
		return inv, st, nil
	}, "scan", "--regions", "eu-west-1, us-east-1", "--save-inventory", saved, "--stats", "--format", "json")
	if code != ExitFail {
		t.Fatalf("exit = %d", code)
	}
	if st.printed != 1 || !strings.Contains(errOut.String(), "calls: 3") {
		t.Errorf("stats not printed to stderr: %q", errOut)
	}
	if strings.Contains(out.String(), "calls: 3") {
		t.Error("stats leaked into stdout")
	}
	// Re-evaluating the saved inventory gives the same results.
	ios2, _, out2, _ := iostreams.Test()
	Main(context.Background(), ios2, []string{"scan", "--input", saved, "--format", "json"})
	if resultsOf(t, out.Bytes()) != resultsOf(t, out2.Bytes()) {
		t.Error("saved inventory does not reproduce the live results")
	}
}

func resultsOf(t *testing.T, b []byte) string {
	var r struct {
		Results json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return string(r.Results)
}

func TestScanInterruptedWritesIncompleteReport(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ios, _, out, _ := iostreams.Test()
	code := run(t, ctx, ios, func(ctx context.Context, _ liveOptions) (*inventory.Inventory, statsPrinter, error) {
		cancel() // Ctrl-C arrives while collecting
		inv := stubInventory(inventory.Notebook{Name: "a", DirectInternetAccess: "Disabled", SubnetID: "subnet-1"})
		return inv, nil, nil
	}, "scan", "--format", "json")
	if code != ExitInterrupted {
		t.Fatalf("exit = %d, want 130", code)
	}
	var r struct {
		Complete bool `json:"complete"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Complete {
		t.Fatalf("report = %q (err %v), want complete=false", out, err)
	}
}

func TestHelpTeachesExitCodes(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	Main(context.Background(), ios, []string{"scan", "--help"})
	for _, want := range []string{"--input", "--save-inventory", "Exit codes", "130", "examples/inventory.json"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("scan --help lacks %q", want)
		}
	}
}
