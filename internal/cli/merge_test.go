package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/iostreams"
	"github.com/sagefence/sagefence/internal/shard"
)

// orgInventory is the example estate copied into several accounts, with
// an account whose role could not be assumed.
func orgInventory(t *testing.T, accounts ...string) *inventory.Inventory {
	t.Helper()
	ex, err := inventory.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	inv := &inventory.Inventory{SchemaVersion: ex.SchemaVersion, CollectedAt: ex.CollectedAt, Partition: ex.Partition}
	for _, a := range accounts {
		for _, r := range ex.Regions {
			if r.NetworkOnly {
				continue // the network account's region is not copied per account
			}
			r.AccountID = a
			r.Errors = slices.Clone(r.Errors)
			for i := range r.Errors {
				r.Errors[i].AccountID = a
			}
			r.Notebooks = slices.Clone(r.Notebooks)
			for i, nb := range r.Notebooks {
				if nb.Error != nil {
					e := *nb.Error
					e.AccountID = a
					r.Notebooks[i].Error = &e
				}
			}
			inv.Regions = append(inv.Regions, r)
		}
	}
	inv.Errors = append(inv.Errors, inventory.CollectError{AccountID: "999999999999", Operation: "sts:AssumeRole", Code: "AccessDenied", Message: "denied"})
	return inv
}

// onlyShard keeps the accounts (and errors) of one shard.
func onlyShard(inv *inventory.Inventory, s shard.Shard) *inventory.Inventory {
	out := *inv
	out.Regions, out.Errors = nil, nil
	for _, r := range inv.Regions {
		if s.Owns(r.AccountID) {
			out.Regions = append(out.Regions, r)
		}
	}
	for _, e := range inv.Errors {
		if s.Owns(e.AccountID) {
			out.Errors = append(out.Errors, e)
		}
	}
	return &out
}

// scanInput runs scan --input on inv and returns the JSON report's path
// and the exit code.
func scanInput(t *testing.T, dir, name string, inv *inventory.Inventory, args ...string) (string, int) {
	t.Helper()
	in := filepath.Join(dir, name+".inv.json")
	if err := inv.WriteFile(in); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name+".json")
	ios, _, _, errOut := iostreams.Test()
	code := Main(context.Background(), ios, append([]string{"scan", "--input", in, "--format", "json", "--output", out}, args...))
	if code == ExitUsage {
		t.Fatalf("scan %s: %s", name, errOut)
	}
	return out, code
}

func readJSONReport(t *testing.T, path string) finding.Report {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r finding.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

func merge(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	code := Main(context.Background(), ios, append([]string{"merge"}, args...))
	return code, out.String(), errOut.String()
}

// TestMergeOfShardsEqualsTheUnshardedScan: the shards of an organisation,
// scanned apart and merged, give the report one scan of everything gives
// (times aside).
func TestMergeOfShardsEqualsTheUnshardedScan(t *testing.T) {
	dir := t.TempDir()
	inv := orgInventory(t, "111122223333", "444455556666", "777788889999", "123456789012")
	whole, wholeCode := scanInput(t, dir, "whole", inv)
	var shards []string
	for k := range 3 {
		p, _ := scanInput(t, dir, "shard"+string(rune('0'+k)), onlyShard(inv, shard.Shard{Index: k, Count: 3}))
		shards = append(shards, p)
	}
	mergedPath := filepath.Join(dir, "merged.json")
	code, _, stderr := merge(t, append(shards, "--format", "json", "--output", mergedPath)...)
	if code != wholeCode {
		t.Errorf("merge exit = %d, unsharded scan %d; stderr %s", code, wholeCode, stderr)
	}
	want, got := readJSONReport(t, whole), readJSONReport(t, mergedPath)
	if len(want.Results) == 0 || len(want.Errors) == 0 {
		t.Fatalf("the estate must have results and errors: %d, %d", len(want.Results), len(want.Errors))
	}
	// Times differ, and errors are a set: a scan lists them in collection
	// order, merge sorts them.
	normalize := func(r *finding.Report) {
		r.StartedAt, r.FinishedAt = time.Time{}, time.Time{}
		slices.SortFunc(r.Errors, func(a, b finding.Error) int {
			return strings.Compare(a.AccountID+a.Region+a.Operation+a.Resource, b.AccountID+b.Region+b.Operation+b.Resource)
		})
	}
	normalize(&want)
	normalize(&got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged shards differ from the unsharded scan (-want +got):\n%s", diff)
	}
}

func TestMergeSpansTheShardsTimesAndRecomputesTheSummary(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	a := finding.Report{SchemaVersion: "1", Profile: "sop", StartedAt: t0.Add(time.Minute), FinishedAt: t0.Add(3 * time.Minute),
		Complete: true, Summary: map[finding.Status]int{finding.StatusPass: 99},
		Results: []finding.Result{{AccountID: "222222222222", Region: "us-east-1", Resource: finding.Resource{Name: "b"}, Status: finding.StatusFail}}}
	b := finding.Report{SchemaVersion: "1", Profile: "sop", StartedAt: t0, FinishedAt: t0.Add(2 * time.Minute), Complete: true,
		Results: []finding.Result{{AccountID: "111111111111", Region: "us-east-1", Resource: finding.Resource{Name: "a"}, Status: finding.StatusPass}}}
	pa, pb := writeReportFile(t, dir, "a.json", a), writeReportFile(t, dir, "b.json", b)
	code, out, stderr := merge(t, pa, pb, "--format", "json")
	if code != ExitFail {
		t.Errorf("exit = %d, want 1 (a FAIL); stderr %s", code, stderr)
	}
	var got finding.Report
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if !got.StartedAt.Equal(t0) || !got.FinishedAt.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("times %v..%v, want the earliest start and the latest finish", got.StartedAt, got.FinishedAt)
	}
	if got.Summary[finding.StatusPass] != 1 || got.Summary[finding.StatusFail] != 1 || !got.Complete {
		t.Errorf("summary %v complete %v: not recomputed", got.Summary, got.Complete)
	}
	if got.Results[0].AccountID != "111111111111" {
		t.Errorf("results not in account order: %+v", got.Results)
	}
}

func TestMergeRefusesOverlapsAndMismatches(t *testing.T) {
	dir := t.TempDir()
	base := func() finding.Report {
		return finding.Report{SchemaVersion: "1", Profile: "sop",
			Results: []finding.Result{{AccountID: "111111111111", Region: "us-east-1", Resource: finding.Resource{Name: "a"}, Status: finding.StatusPass}}}
	}
	a := writeReportFile(t, dir, "a.json", base())
	other := base()
	other.Results[0].Resource.Name = "other"
	sameRegion := writeReportFile(t, dir, "same-region.json", other)
	errOnly := base()
	errOnly.Results = nil
	errOnly.Errors = []finding.Error{{AccountID: "111111111111", Region: "us-east-1", Operation: "sagemaker:ListNotebookInstances", Message: "denied"}}
	sameByError := writeReportFile(t, dir, "same-by-error.json", errOnly)
	fsbp := base()
	fsbp.Profile = "fsbp"
	fsbp.Results[0].AccountID = "222222222222"
	profile := writeReportFile(t, dir, "fsbp.json", fsbp)
	v2 := filepath.Join(dir, "v2.json")
	os.WriteFile(v2, []byte(`{"schema_version": "2", "results": []}`), 0o600)
	notReport := filepath.Join(dir, "inventory.json")
	os.WriteFile(notReport, []byte(`{"schema_version": "1", "regions": []}`), 0o600)
	garbage := filepath.Join(dir, "garbage.json")
	os.WriteFile(garbage, []byte(`{"schema_version": `), 0o600)

	tests := []struct {
		name  string
		files []string
		want  string
	}{
		{"the same file twice", []string{a, a}, "overlap"},
		{"two reports of one account-region", []string{a, sameRegion}, "both cover account 111111111111 in us-east-1"},
		{"an error covers the account-region too", []string{a, sameByError}, "overlap"},
		{"different profiles", []string{a, profile}, "profile"},
		{"another schema version", []string{a, v2}, `schema_version "2"`},
		{"an inventory, not a report", []string{a, notReport}, "not a sagefence JSON report"},
		{"truncated JSON", []string{a, garbage}, "garbage.json"},
		{"a missing file", []string{a, filepath.Join(dir, "nope.json")}, "nope.json"},
		{"no file", nil, "at least one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := merge(t, append(tt.files, "--format", "json")...)
			if code != ExitUsage {
				t.Errorf("exit = %d, want 2", code)
			}
			if out != "" {
				t.Errorf("wrote a report: %q", out)
			}
			if !strings.Contains(stderr, tt.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("stderr = %q, want one line with %q", stderr, tt.want)
			}
		})
	}
}

func TestMergeKeepsIncompleteness(t *testing.T) {
	dir := t.TempDir()
	done := finding.Report{SchemaVersion: "1", Profile: "sop",
		Results: []finding.Result{{AccountID: "111111111111", Region: "us-east-1", Resource: finding.Resource{Name: "a"}, Status: finding.StatusPass}}}
	interrupted := finding.Report{SchemaVersion: "1", Profile: "sop",
		Errors: []finding.Error{{Operation: "scan", Message: "interrupted before the scan finished"}}}
	denied := finding.Report{SchemaVersion: "1", Profile: "sop",
		Errors: []finding.Error{{AccountID: "333333333333", Operation: "sts:AssumeRole", Code: "AccessDenied", Message: "denied"}}}
	for _, tt := range []struct {
		name  string
		other finding.Report
		want  string
	}{
		{"an interrupted shard", interrupted, "interrupted"},
		{"an account that could not be read", denied, "333333333333"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, _ := merge(t, writeReportFile(t, dir, "done.json", done), writeReportFile(t, dir, "other.json", tt.other), "--format", "json")
			if code != ExitIncomplete {
				t.Errorf("exit = %d, want 3", code)
			}
			if !strings.Contains(out, `"complete": false`) || !strings.Contains(out, tt.want) {
				t.Errorf("merged report:\n%s", out)
			}
		})
	}
	// The same account-level failure from two region-split scans is kept once.
	code, out, _ := merge(t, writeReportFile(t, dir, "d1.json", denied), writeReportFile(t, dir, "d2.json", denied), "--format", "json")
	if code != ExitIncomplete || strings.Count(out, "333333333333") != 1 {
		t.Errorf("exit %d; the repeated account error should appear once:\n%s", code, out)
	}
}

func TestMergeTableAndOutputFile(t *testing.T) {
	dir := t.TempDir()
	r := finding.Report{SchemaVersion: "1", Profile: "sop",
		Results: []finding.Result{{AccountID: "111111111111", Region: "us-east-1", Resource: finding.Resource{Name: "nb-a"}, Status: finding.StatusPass, InternetPath: finding.PathNone}}}
	p := writeReportFile(t, dir, "a.json", r)
	code, out, _ := merge(t, p)
	if code != ExitOK || !strings.Contains(out, "nb-a") || !strings.Contains(out, "111111111111") {
		t.Errorf("table output (exit %d):\n%s", code, out)
	}
	dest := filepath.Join(dir, "merged.html")
	code, out, _ = merge(t, p, "--format", "html", "--output", dest)
	if code != ExitOK || out != "" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	if data, err := os.ReadFile(dest); err != nil || !strings.Contains(string(data), "nb-a") {
		t.Errorf("merged.html: %v", err)
	}
	if code, _, stderr := merge(t, p, "--format", "yaml"); code != ExitUsage || !strings.Contains(stderr, "yaml") {
		t.Errorf("unknown format: exit %d, %q", code, stderr)
	}
}

func writeReportFile(t *testing.T, dir, name string, r finding.Report) string {
	t.Helper()
	if r.Results == nil {
		r.Results = []finding.Result{}
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMergeTellsAMissingShardFromAnEmptyOne: shard reports record K/N, so
// an empty shard merges as complete, a shard never given makes the merge
// incomplete (exit 3) and is named, and shards of two splits or a shard
// given twice are refused (exit 2, nothing written).
func TestMergeTellsAMissingShardFromAnEmptyOne(t *testing.T) {
	dir := t.TempDir()
	shardReport := func(k, n int, account string) string {
		r := finding.Report{SchemaVersion: "1", Profile: "sop", Complete: true, Shard: &finding.Shard{Index: k, Count: n}}
		if account != "" {
			r.Results = []finding.Result{{AccountID: account, Region: "us-east-1", Resource: finding.Resource{Name: "nb"}, Status: finding.StatusPass}}
		}
		return writeReportFile(t, dir, fmt.Sprintf("s%d-%d-%s.json", k, n, account), r)
	}
	s0, s1, empty2 := shardReport(0, 3, "111111111111"), shardReport(1, 3, "222222222222"), shardReport(2, 3, "")

	code, out, stderr := merge(t, s0, s1, empty2, "--format", "json")
	var got finding.Report
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("all shards, one empty: %v; stderr %s", err, stderr)
	}
	if code != ExitOK || !got.Complete || len(got.Errors) != 0 || got.Shard != nil {
		t.Errorf("all shards, one empty: exit %d, complete %v, errors %+v, shard %+v", code, got.Complete, got.Errors, got.Shard)
	}

	code, out, stderr = merge(t, s0, empty2, "--format", "json")
	got = finding.Report{}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("shard 1/3 missing: %v; stderr %s", err, stderr)
	}
	if code != ExitIncomplete || got.Complete || len(got.Errors) != 1 || got.Errors[0].Resource != "shard 1/3" ||
		!strings.Contains(got.Errors[0].Message, "was not given") {
		t.Errorf("shard 1/3 missing: exit %d, complete %v, errors %+v", code, got.Complete, got.Errors)
	}

	for name, files := range map[string][]string{
		"two splits":  {s0, shardReport(1, 2, "333333333333")},
		"empty twice": {s0, s1, empty2, shardReport(2, 3, "")},
		"bad shard":   {s0, shardReport(3, 3, "444444444444")},
	} {
		out := filepath.Join(dir, "merged-"+strings.ReplaceAll(name, " ", "-")+".json")
		code, _, stderr := merge(t, append(files, "--format", "json", "--output", out)...)
		if code != ExitUsage || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "shard") {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and one line about shards", name, code, stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: a merged report was written", name)
		}
	}
}

// TestSavedShardInventoriesKeepTheirShard: a shard's inventory, scanned
// offline, reports its shard, so merging it without the other shard's
// report is incomplete and names what is missing.
func TestSavedShardInventoriesKeepTheirShard(t *testing.T) {
	dir := t.TempDir()
	inv := orgInventory(t, "111122223333", "444455556666", "777788889999")
	part := onlyShard(inv, shard.Shard{Index: 0, Count: 2})
	part.Shard = &inventory.Shard{Index: 0, Count: 2}
	p, _ := scanInput(t, dir, "shard0", part)
	if got := readJSONReport(t, p).Shard; got == nil || *got != (finding.Shard{Index: 0, Count: 2}) {
		t.Fatalf("report of a shard inventory records shard %+v, want 0/2", got)
	}
	code, out, stderr := merge(t, p, "--format", "json")
	var merged finding.Report
	if err := json.Unmarshal([]byte(out), &merged); err != nil {
		t.Fatalf("%v; stderr %s", err, stderr)
	}
	if code != ExitIncomplete || !slices.ContainsFunc(merged.Errors, func(e finding.Error) bool { return e.Resource == "shard 1/2" }) {
		t.Errorf("merge of shard 0/2 alone: exit %d, errors %+v", code, merged.Errors)
	}
	if p, _ := scanInput(t, dir, "whole", inv); readJSONReport(t, p).Shard != nil {
		t.Error("an unsharded inventory's report records a shard")
	}

	bad := *part
	bad.Shard = &inventory.Shard{Index: 2, Count: 2}
	in := filepath.Join(dir, "bad.inv.json")
	if err := bad.WriteFile(in); err != nil {
		t.Fatal(err)
	}
	ios, _, _, errOut := iostreams.Test()
	if code := Main(context.Background(), ios, []string{"scan", "--input", in}); code != ExitUsage || !strings.Contains(errOut.String(), "shard 2/2") {
		t.Errorf("inventory with shard 2/2: exit %d, stderr %q; want exit 2 naming it", code, errOut)
	}
}
