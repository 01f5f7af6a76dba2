package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	shsdk "github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/sagefence/sagefence/internal/evidence"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/iostreams"
	"github.com/sagefence/sagefence/internal/report"
	"github.com/sagefence/sagefence/internal/testenv"
)

const exampleExceptions = "../../examples/exceptions.yaml"

// runScanWith runs the command line with a fixed clock and the scan
// command's options adjusted by set after flag parsing.
func runScanWith(t *testing.T, ctx context.Context, ios *iostreams.IOStreams, set func(*scanOptions), args ...string) int {
	t.Helper()
	root := NewRoot(ios)
	for _, c := range root.Commands() {
		if c.Name() == "scan" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(newScanCmd(ios, func(ctx context.Context, o *scanOptions) error {
		o.Now = fixedClock()
		if set != nil {
			set(o)
		}
		return runScan(ctx, o)
	}))
	root.SetArgs(args)
	return exitCode(ctx, ios, root.ExecuteContext(ctx))
}

// stubCollect returns inv and fails the test if the scan calls it when it
// must not.
func stubCollect(inv *inventory.Inventory, called *bool) collectFunc {
	return func(context.Context, liveOptions) (*inventory.Inventory, statsPrinter, error) {
		if called != nil {
			*called = true
		}
		return inv, nil, nil
	}
}

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type jsonReport struct {
	Summary map[string]int `json:"summary"`
	Results []struct {
		Resource struct {
			Name string `json:"name"`
			ARN  string `json:"arn"`
		} `json:"resource"`
		Status        string `json:"status"`
		UnmutedStatus string `json:"unmuted_status"`
		Mute          *struct {
			Reason, Owner, Expires, Source string
		} `json:"mute"`
	} `json:"results"`
	ExpiredExceptions []struct {
		Source    string   `json:"source"`
		Match     string   `json:"match"`
		Owner     string   `json:"owner"`
		Expires   string   `json:"expires"`
		Resources []string `json:"resources"`
	} `json:"expired_exceptions"`
}

func decodeReport(t *testing.T, b []byte) jsonReport {
	t.Helper()
	var r jsonReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, b)
	}
	return r
}

func TestScanSeveralFormatsWriteOneFileEach(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reports") // created by the scan
	ios, _, out, errOut := iostreams.Test()
	code := Main(context.Background(), ios, []string{"scan", "--input", example,
		"--format", "json,html", "--format", "junit", "--format", "json", "--output-dir", dir})
	if code != ExitIncomplete {
		t.Fatalf("exit = %d, want 3 (the example has an ERROR); stderr %q", code, errOut)
	}
	if out.Len() != 0 || errOut.Len() != 0 {
		t.Errorf("stdout %q, stderr %q: want both empty when the reports go to files and stderr is not a terminal", out, errOut)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"report.html", "report.json", "report.junit.xml"}; !slices.Equal(names, want) {
		t.Fatalf("files %v, want %v (one per format, a repeat written once, no temporary files)", names, want)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "report.json"))
	if r := decodeReport(t, b); len(r.Results) == 0 {
		t.Error("report.json has no results")
	}
	b, _ = os.ReadFile(filepath.Join(dir, "report.junit.xml"))
	if err := xml.Unmarshal(b, new(struct{})); err != nil {
		t.Errorf("report.junit.xml is not XML: %v", err)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "report.html"))
	if !bytes.Contains(b, []byte("<html")) {
		t.Error("report.html is not an HTML page")
	}
}

func TestScanOneFormatInOutputDirAndOnTTY(t *testing.T) {
	dir := t.TempDir()
	ios, _, out, errOut := iostreams.Test()
	ios.SetStderrTTY(true)
	Main(context.Background(), ios, []string{"scan", "--input", example, "--format", "markdown", "--output-dir", dir})
	if _, err := os.Stat(filepath.Join(dir, "report.md")); err != nil {
		t.Fatalf("one format with --output-dir: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", out)
	}
	if !strings.Contains(errOut.String(), "wrote "+filepath.Join(dir, "report.md")) {
		t.Errorf("stderr on a terminal = %q, want what was written", errOut)
	}
}

func TestScanOutputDirKeepsGoingWhenOneFormatFails(t *testing.T) {
	dir := t.TempDir()
	// A directory where report.json should go: that one rename fails.
	if err := os.Mkdir(filepath.Join(dir, "report.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	ios, _, _, errOut := iostreams.Test()
	// Nothing to scan: the exit code would be 0 but for the write.
	code := run(t, context.Background(), ios, stubCollect(stubInventory(), nil), "scan", "--format", "json,csv", "--output-dir", dir)
	if code != ExitIncomplete {
		t.Errorf("exit = %d, want 3 when a report could not be written", code)
	}
	if got := errOut.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "write json report") {
		t.Errorf("stderr = %q, want one line about the json report", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.csv")); err != nil {
		t.Errorf("the csv report was not written after the json one failed: %v", err)
	}
}

func TestScanFlagErrorsExitTwoBeforeScanning(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	os.Mkdir(full, 0o755)
	writeFile(t, full, "old.txt", "x")
	badYAML := writeFile(t, dir, "bad.yaml", "exceptions:\n  - match: {name: nb}\n    reason: r\n    owner: o\n    expires: soon\n  - match: {}\n")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"several formats without --output-dir", []string{"--format", "json,csv"}, "several formats need --output-dir"},
		{"several formats to --output", []string{"--format", "json", "--format", "csv", "--output", filepath.Join(dir, "r")}, "several formats need --output-dir"},
		{"unknown format in a list", []string{"--format", "json,xml", "--output-dir", dir}, `--format "xml"`},
		{"empty format", []string{"--format", ""}, "--format: no format given"},
		{"--output with --output-dir", []string{"--output", "r.json", "--output-dir", dir}, "cannot be combined"},
		{"--force without --evidence-dir", []string{"--force"}, "--force only applies to --evidence-dir"},
		{"same output and evidence dir", []string{"--output-dir", dir, "--evidence-dir", dir + "/"}, "same directory"},
		{"inventory over a report", []string{"--format", "json", "--output-dir", dir, "--save-inventory", filepath.Join(dir, "report.json")}, "same file"},
		{"malformed exceptions", []string{"--exceptions", badYAML}, badYAML + ":5: exception 1: expires \"soon\" is not a date"},
		{"missing exceptions", []string{"--exceptions", filepath.Join(dir, "nope.yaml")}, "no such file"},
		{"evidence dir not empty", []string{"--evidence-dir", full}, "pass --force"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			called := false
			ios, _, out, errOut := iostreams.Test()
			code := run(t, context.Background(), ios, stubCollect(stubInventory(), &called), append([]string{"scan"}, c.args...)...)
			if code != ExitUsage {
				t.Errorf("exit = %d, want 2", code)
			}
			msg := errOut.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "sagefence: ") || !strings.Contains(msg, c.want) {
				t.Errorf("stderr = %q, want one line naming %q", msg, c.want)
			}
			if called || out.Len() != 0 {
				t.Errorf("scanned anyway (collector called %v, stdout %q)", called, out)
			}
		})
	}
	t.Run("every exceptions problem is counted", func(t *testing.T) {
		ios, _, _, errOut := iostreams.Test()
		Main(context.Background(), ios, []string{"scan", "--input", example, "--exceptions", badYAML})
		if !strings.Contains(errOut.String(), "(and 4 more problem(s) in the file)") {
			t.Errorf("stderr = %q, want the count of the other problems", errOut)
		}
	})
	t.Run("AWS flags with --input only for the push", func(t *testing.T) {
		ios, _, _, errOut := iostreams.Test()
		if code := Main(context.Background(), ios, []string{"scan", "--input", example, "--profile", "audit"}); code != ExitUsage ||
			!strings.Contains(errOut.String(), "--profile reads AWS") {
			t.Errorf("exit %d, stderr %q: want --profile refused with --input", code, errOut)
		}
	})
}

func TestScanExampleExceptionsMuteEverywhereAndReportTheExpired(t *testing.T) {
	dir := t.TempDir()
	ios, _, out, errOut := iostreams.Test()
	code := Main(context.Background(), ios, []string{"scan", "--input", example, "--exceptions", exampleExceptions, "--format", "json"})
	if code != ExitIncomplete {
		t.Fatalf("exit = %d, want 3 (the example still has an ERROR); stderr %q", code, errOut)
	}
	r := decodeReport(t, out.Bytes())
	muted := 0
	for _, res := range r.Results {
		switch res.Resource.Name {
		case "marketing-etl":
			if res.Status != "MUTED" || res.UnmutedStatus != "FAIL" || res.Mute == nil ||
				!strings.Contains(res.Mute.Reason, "SEC-2041") || res.Mute.Owner == "" || res.Mute.Expires != "2099-12-31" {
				t.Errorf("marketing-etl = %+v, want MUTED (was FAIL) with the reason, owner and expiry", res)
			}
		case "research-legacy":
			if res.Status != "FAIL" {
				t.Errorf("research-legacy is %s: an expired exception must not mute it", res.Status)
			}
		}
		if res.Status == "MUTED" {
			muted++
		}
	}
	if muted != 1 || r.Summary["MUTED"] != 1 {
		t.Errorf("%d results MUTED, summary %v; want exactly marketing-etl", muted, r.Summary)
	}
	if len(r.ExpiredExceptions) != 1 {
		t.Fatalf("expired_exceptions = %+v, want the research-* entry", r.ExpiredExceptions)
	}
	x := r.ExpiredExceptions[0]
	if !strings.HasSuffix(x.Source, "exceptions.yaml:20") || x.Expires != "2025-06-30" ||
		!slices.Contains(x.Resources, "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/research-legacy") {
		t.Errorf("expired exception = %+v, want its file:line, expiry and the notebook it would mute", x)
	}

	// The muting reason is in every format.
	ios, _, _, errOut = iostreams.Test()
	Main(context.Background(), ios, append([]string{"scan", "--input", example, "--exceptions", exampleExceptions, "--output-dir", dir},
		formatArgs(report.Formats())...))
	if errOut.Len() != 0 {
		t.Fatalf("stderr %q", errOut)
	}
	for _, f := range report.Formats() {
		b, err := os.ReadFile(filepath.Join(dir, "report."+report.Extension(f)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("SEC-2041")) {
			t.Errorf("%s report does not carry the exception's reason", f)
		}
	}
}

func formatArgs(formats []string) []string {
	var args []string
	for _, f := range formats {
		args = append(args, "--format", f)
	}
	return args
}

func TestScanTableShowsExpiredExceptions(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	ios.SetStdoutTTY(true)
	Main(context.Background(), ios, []string{"scan", "--input", example, "--exceptions", exampleExceptions})
	tty := out.String()
	for _, want := range []string{
		"muted: Pulls campaign data",
		"1 exception(s) expired and mute nothing any more",
		"exceptions.yaml:20 account=123456789012 name=research-* (owner a.chen@example.com, expired 2025-06-30)",
		"would mute: arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/research-legacy",
		"1 MUTED",
	} {
		if !strings.Contains(tty, want) {
			t.Errorf("TTY table lacks %q:\n%s", want, tty)
		}
	}

	ios, _, out, _ = iostreams.Test()
	Main(context.Background(), ios, []string{"scan", "--input", example, "--exceptions", exampleExceptions})
	var line string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "EXPIRED-EXCEPTION\t") {
			line = l
		}
	}
	if f := strings.Split(line, "\t"); len(f) != 7 || !strings.HasSuffix(f[1], "exceptions.yaml:20") || f[2] != "2025-06-30" ||
		!strings.HasSuffix(f[6], "notebook-instance/research-legacy") {
		t.Errorf("piped output's expired line = %q, want 7 tab-separated fields with source, expiry, owner, match, reason, resources", line)
	}

	// Without an exceptions file the output is what it always was.
	ios, _, out, _ = iostreams.Test()
	Main(context.Background(), ios, []string{"scan", "--input", example})
	if strings.Contains(out.String(), "EXPIRED") {
		t.Error("expired-exception lines without --exceptions")
	}
}

func TestScanExceptionsDecideTheExitCode(t *testing.T) {
	dir := t.TempDir()
	inv := stubInventory(inventory.Notebook{Name: "vendor-mirror", DirectInternetAccess: "Enabled"})
	file := func(expires string) string {
		return writeFile(t, dir, expires+".yaml", "exceptions:\n  - match: {name: vendor-*}\n    reason: mirror\n    owner: me\n    expires: "+expires+"\n")
	}
	for _, c := range []struct {
		expires string
		want    int
	}{{"2099-01-01", ExitOK}, {"2026-11-01", ExitFail}, {"2026-11-02", ExitOK}} { // the clock reads 2026-11-02
		ios, _, _, errOut := iostreams.Test()
		if code := run(t, context.Background(), ios, stubCollect(inv, nil), "scan", "--exceptions", file(c.expires)); code != c.want {
			t.Errorf("expires %s: exit = %d, want %d", c.expires, code, c.want)
		}
		if errOut.Len() != 0 {
			t.Errorf("stderr = %q, want nothing off a terminal", errOut)
		}
	}
}

func TestScanEvidenceBundleVerifiesAndReproduces(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "evidence")
	ios, _, out, errOut := iostreams.Test()
	code := runScanWith(t, context.Background(), ios, nil, "scan", "--input", example, "--format", "json", "--evidence-dir", dir)
	if code != ExitIncomplete {
		t.Fatalf("exit = %d; stderr %q", code, errOut)
	}
	m, err := evidence.Verify(dir)
	if err != nil {
		t.Fatalf("bundle does not verify: %v", err)
	}
	if m.Caller != (evidence.Caller{AccountID: "123456789012", ARN: "unknown"}) {
		t.Errorf("caller = %+v, want the inventory's account and an unknown ARN", m.Caller)
	}
	if want := time.Date(2026, 11, 2, 9, 0, 3, 0, time.UTC); !m.CreatedAt.Equal(want) {
		t.Errorf("created_at = %s, want the scan's clock (%s)", m.CreatedAt, want)
	}
	if len(m.Files) != 1+len(evidence.Formats()) {
		t.Errorf("manifest lists %d files", len(m.Files))
	}
	saved, _ := os.ReadFile(filepath.Join(dir, evidence.InventoryFile))
	orig, _ := os.ReadFile(example)
	if !bytes.Equal(saved, orig) {
		t.Error("the bundle's inventory is not the --input file byte for byte")
	}
	bundled, _ := os.ReadFile(filepath.Join(dir, "report.json"))
	if resultsOf(t, bundled) != resultsOf(t, out.Bytes()) {
		t.Error("the bundle's report.json differs from the report written to stdout")
	}

	// Re-evaluating the bundle's inventory reproduces the results.
	ios2, _, out2, _ := iostreams.Test()
	Main(context.Background(), ios2, []string{"scan", "--input", filepath.Join(dir, evidence.InventoryFile), "--format", "json"})
	if resultsOf(t, out2.Bytes()) != resultsOf(t, bundled) {
		t.Error("re-evaluating the bundle's inventory gives other results")
	}

	// A second scan into the same directory needs --force.
	ios3, _, _, errOut3 := iostreams.Test()
	if code := Main(context.Background(), ios3, []string{"scan", "--input", example, "--evidence-dir", dir, "--format", "json"}); code != ExitUsage {
		t.Errorf("exit = %d into a full directory, want 2; stderr %q", code, errOut3)
	}
	ios3, _, _, errOut3 = iostreams.Test()
	if code := Main(context.Background(), ios3, []string{"scan", "--input", example, "--evidence-dir", dir, "--format", "json", "--force"}); code != ExitIncomplete {
		t.Errorf("exit = %d with --force, want 3; stderr %q", code, errOut3)
	}
	if _, err := evidence.Verify(dir); err != nil {
		t.Errorf("overwritten bundle does not verify: %v", err)
	}
}

func TestScanLiveEvidenceHoldsTheCollectedInventoryAndCaller(t *testing.T) {
	dir := t.TempDir()
	inv := stubInventory(inventory.Notebook{Name: "a", DirectInternetAccess: "Enabled"})
	const arn = "arn:aws:sts::111122223333:assumed-role/Auditor/s"
	collect := func(_ context.Context, o liveOptions) (*inventory.Inventory, statsPrinter, error) {
		o.Identity("111122223333", arn)
		return inv, nil, nil
	}
	ios, _, out, errOut := iostreams.Test()
	if code := run(t, context.Background(), ios, collect, "scan", "--format", "json", "--evidence-dir", filepath.Join(dir, "ev")); code != ExitFail {
		t.Fatalf("exit = %d; stderr %q", code, errOut)
	}
	m, err := evidence.Verify(filepath.Join(dir, "ev"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Caller != (evidence.Caller{AccountID: "111122223333", ARN: arn}) {
		t.Errorf("caller = %+v, want the collection's identity", m.Caller)
	}
	ios2, _, out2, _ := iostreams.Test()
	Main(context.Background(), ios2, []string{"scan", "--input", filepath.Join(dir, "ev", evidence.InventoryFile), "--format", "json"})
	if resultsOf(t, out2.Bytes()) != resultsOf(t, out.Bytes()) {
		t.Error("the bundle's inventory does not reproduce the live results")
	}
}

func TestScanProgressOnlyOnATerminal(t *testing.T) {
	const want = "2 accounts, 2 regions, 3 notebooks done"
	for _, tty := range []bool{true, false} {
		ios, _, out, _ := iostreams.Test()
		stderr := &testenv.SyncBuffer{}
		ios.ErrOut = stderr
		ios.SetStderrTTY(tty)
		collect := func(_ context.Context, o liveOptions) (*inventory.Inventory, statsPrinter, error) {
			o.Identity("111122223333", "arn:aws:iam::111122223333:user/a")
			o.Progress("111122223333", "eu-west-1", 1)
			o.Progress("111122223333", "us-east-1", 2)
			o.Progress("444455556666", "us-east-1", 0)
			// Wait for the line on a terminal; elsewhere, long enough for
			// many redraws that must not happen.
			deadline := time.Now().Add(5 * time.Second)
			if !tty {
				deadline = time.Now().Add(50 * time.Millisecond)
			}
			for time.Now().Before(deadline) && !strings.Contains(stderr.String(), want) {
				time.Sleep(time.Millisecond)
			}
			return stubInventory(inventory.Notebook{Name: "a", DirectInternetAccess: "Enabled"}), nil, nil
		}
		code := runScanWith(t, context.Background(), ios, func(o *scanOptions) {
			o.Collect = collect
			o.ProgressInterval = time.Millisecond
		}, "scan")
		if code != ExitFail {
			t.Errorf("exit = %d", code)
		}
		got := stderr.String()
		if tty {
			if !strings.Contains(got, "\r\x1b[K"+want+" · ") || !strings.Contains(got, "0 AWS calls, 0 retries") || !strings.HasSuffix(got, "\r\x1b[K") {
				t.Errorf("TTY stderr = %q, want the progress line with calls and retries, erased at the end", got)
			}
		} else if got != "" {
			t.Errorf("non-TTY stderr = %q, want nothing (no progress, no errors)", got)
		}
		if strings.Contains(out.String(), want) {
			t.Error("progress leaked into stdout")
		}
	}
}

func TestScanInputShowsNoProgress(t *testing.T) {
	ios, _, _, errOut := iostreams.Test()
	ios.SetStderrTTY(true)
	runScanWith(t, context.Background(), ios, func(o *scanOptions) { o.ProgressInterval = time.Nanosecond }, "scan", "--input", example)
	if strings.Contains(errOut.String(), "notebooks done") {
		t.Errorf("stderr = %q: an --input scan reads no AWS and shows no progress", errOut)
	}
}

// hubStub answers BatchImportFindings, rejecting the findings of one notebook.
type hubStub struct {
	mu      sync.Mutex
	regions map[string]int
	reject  string // notebook name
	fail    error
	updated map[string]int // "region STATUS" -> findings
	gets    int            // GetFindings calls
}

func (h *hubStub) client(_ aws.Config, region string) securityHubAPI {
	return hubRegion{h, region}
}

// GetFindings answers that nothing is suppressed yet.
func (c hubRegion) GetFindings(context.Context, *shsdk.GetFindingsInput, ...func(*shsdk.Options)) (*shsdk.GetFindingsOutput, error) {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	c.h.gets++
	return &shsdk.GetFindingsOutput{}, nil
}

// BatchUpdateFindings counts the findings whose workflow it is asked to
// change, by region and status.
func (c hubRegion) BatchUpdateFindings(_ context.Context, in *shsdk.BatchUpdateFindingsInput, _ ...func(*shsdk.Options)) (*shsdk.BatchUpdateFindingsOutput, error) {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	if c.h.updated == nil {
		c.h.updated = map[string]int{}
	}
	c.h.updated[c.region+" "+string(in.Workflow.Status)] += len(in.FindingIdentifiers)
	return &shsdk.BatchUpdateFindingsOutput{ProcessedFindings: in.FindingIdentifiers}, nil
}

type hubRegion struct {
	h      *hubStub
	region string
}

func (c hubRegion) BatchImportFindings(_ context.Context, in *shsdk.BatchImportFindingsInput, _ ...func(*shsdk.Options)) (*shsdk.BatchImportFindingsOutput, error) {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	if c.h.fail != nil {
		return nil, c.h.fail
	}
	out := &shsdk.BatchImportFindingsOutput{}
	ok := int32(0)
	for _, f := range in.Findings {
		if aws.ToString(f.Region) != c.region {
			return nil, errors.New("finding sent to the wrong region")
		}
		c.h.regions[c.region]++
		if strings.HasSuffix(aws.ToString(f.Resources[0].Id), "/"+c.h.reject) {
			out.FailedFindings = append(out.FailedFindings, types.ImportFindingsError{Id: f.Id, ErrorCode: aws.String("InvalidInput"), ErrorMessage: aws.String("bad finding")})
			continue
		}
		ok++
	}
	out.SuccessCount, out.FailedCount = aws.Int32(ok), aws.Int32(int32(len(out.FailedFindings)))
	return out, nil
}

func TestScanPushGroupsByRegionAndReportsRejections(t *testing.T) {
	testenv.SetAWSEnv(t, "") // credentials, no endpoint: the stub answers
	hub := &hubStub{regions: map[string]int{}, reject: "marketing-etl"}
	ios, _, out, errOut := iostreams.Test()
	code := runScanWith(t, context.Background(), ios, func(o *scanOptions) { o.SecurityHub = hub.client },
		"scan", "--input", example, "--push-securityhub", "--format", "json")
	if code != ExitIncomplete {
		t.Errorf("exit = %d, want 3", code)
	}
	if r := decodeReport(t, out.Bytes()); len(r.Results) != 16 {
		t.Errorf("report has %d results, want the 13 notebooks and 3 Studio results written despite the rejection", len(r.Results))
	}
	if hub.updated != nil || hub.gets != 0 {
		t.Errorf("workflow updates %v and %d reads without --exceptions or a muted result, want none", hub.updated, hub.gets)
	}
	if hub.regions["us-east-1"] != 14 || hub.regions["eu-west-1"] != 2 {
		t.Errorf("findings per region %v, want 14 in us-east-1 (11 notebooks, 2 domains, 1 profile) and 2 in eu-west-1", hub.regions)
	}
	got := errOut.String()
	if strings.Count(got, "\n") != 1 || !strings.Contains(got, "security hub 123456789012 us-east-1 rejected finding ") ||
		!strings.Contains(got, "InvalidInput: bad finding") {
		t.Errorf("stderr = %q, want one line naming the rejected finding", got)
	}

	// A failed call is reported too; the report is still written.
	hub = &hubStub{regions: map[string]int{}, fail: errors.New("AccessDeniedException: not subscribed")}
	ios, _, out, errOut = iostreams.Test()
	inv := stubInventory(inventory.Notebook{Name: "a", DirectInternetAccess: "Enabled"})
	code = runScanWith(t, context.Background(), ios, func(o *scanOptions) {
		o.SecurityHub = hub.client
		o.Collect = stubCollect(inv, nil)
	}, "scan", "--push-securityhub")
	if code != ExitIncomplete || !strings.Contains(errOut.String(), "not subscribed") || !strings.Contains(out.String(), "FAIL") {
		t.Errorf("exit %d, stderr %q, stdout %q: want 3, the error, and the report", code, errOut, out)
	}
}

func TestScanPushWithoutCredentialsIsAConfigurationError(t *testing.T) {
	testenv.SetAWSEnv(t, "")
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	ios, _, out, errOut := iostreams.Test()
	code := Main(context.Background(), ios, []string{"scan", "--input", example, "--push-securityhub"})
	if code != ExitUsage || out.Len() != 0 || !strings.Contains(errOut.String(), "--push-securityhub: no usable AWS credentials") {
		t.Errorf("exit %d, stdout %q, stderr %q: want 2 before anything is evaluated", code, out, errOut)
	}
}

// TestScanPushToMoto runs the real scan in-process against moto: a live
// collection, a push of its findings to Security Hub, an evidence bundle
// naming moto's caller, and a re-run that updates instead of duplicating.
func TestScanPushToMoto(t *testing.T) {
	m := testenv.MotoForTest(t)
	testenv.SetAWSEnv(t, m.URL())
	ctx := context.Background()
	cfg := testenv.Config(m.URL())
	sm := sagemaker.NewFromConfig(cfg)
	for _, name := range []string{"nb-direct-1", "nb-direct-2", "nb-direct-3"} {
		if _, err := testenv.CreateNotebook(ctx, sm, testenv.Notebook{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	hub := shsdk.NewFromConfig(cfg)
	scanOnce := func(evidenceDir string) {
		t.Helper()
		ios, _, out, errOut := iostreams.Test()
		code := Main(ctx, ios, []string{"scan", "--regions", testenv.Region, "--push-securityhub", "--format", "json", "--evidence-dir", evidenceDir})
		if code != ExitFail {
			t.Fatalf("exit = %d, want 1 (three FAIL); stderr %q", code, errOut)
		}
		if errOut.Len() != 0 {
			t.Errorf("stderr = %q, want nothing off a terminal", errOut)
		}
		if n := len(decodeReport(t, out.Bytes()).Results); n != 3 {
			t.Fatalf("%d results, want 3", n)
		}
	}
	count := func() int {
		t.Helper()
		n := 0
		p := shsdk.NewGetFindingsPaginator(hub, &shsdk.GetFindingsInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("GetFindings: %v", err)
			}
			for _, f := range page.Findings {
				if aws.ToString(f.ProductName) == "sagefence" {
					n++
				}
			}
		}
		return n
	}

	dir := t.TempDir()
	scanOnce(filepath.Join(dir, "first"))
	if n := count(); n != 3 {
		t.Fatalf("Security Hub holds %d sagefence findings, want 3", n)
	}
	scanOnce(filepath.Join(dir, "second"))
	if n := count(); n != 3 {
		t.Errorf("after a re-run Security Hub holds %d findings, want still 3", n)
	}

	man, err := evidence.Verify(filepath.Join(dir, "first"))
	if err != nil {
		t.Fatal(err)
	}
	if man.Caller.AccountID != testenv.AccountID || !strings.HasPrefix(man.Caller.ARN, "arn:aws:") {
		t.Errorf("caller = %+v, want moto's account and the ARN sts:GetCallerIdentity returned", man.Caller)
	}
}

func TestHelpDocumentsOutputFlagsWithExamples(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	Main(context.Background(), ios, []string{"scan", "--help"})
	for _, want := range []string{
		"--format strings", "--output-dir DIR", "--exceptions FILE", "--evidence-dir DIR", "--force", "--push-securityhub",
		"sagefence scan --format json,html,junit --output-dir reports",
		"sagefence scan --input examples/inventory.json --exceptions examples/exceptions.yaml",
		"sagefence scan --evidence-dir ",
		"sagefence scan --push-securityhub",
		"sagefence scan --input inv.json --push-securityhub",
		"MUTED",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("scan --help lacks %q", want)
		}
	}
}
