package evidence_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/evidence"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

const inventory = `{"schema_version":"1","collected_at":"2025-01-02T03:04:05Z","regions":[]}` + "\n"

func bundle() evidence.Bundle {
	return evidence.Bundle{
		Inventory: []byte(inventory),
		Report:    reporttest.Report(),
		Caller:    evidence.Caller{AccountID: "111111111111", ARN: "arn:aws:sts::111111111111:assumed-role/Auditor/alice"},
		Time:      time.Date(2025, 1, 2, 4, 0, 0, 0, time.UTC),
	}
}

func TestWriteBundleWritesEveryFormatWithHashes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "evidence") // does not exist yet
	m, err := evidence.WriteBundle(dir, bundle())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"inventory.json", "manifest.json", "report.asff.json", "report.csv", "report.github.txt", "report.html", "report.json",
		"report.junit.xml", "report.md", "report.ocsf.json", "report.txt"}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bundle files (-want +got), temporary files must not remain:\n%s", diff)
	}

	// The manifest on disk is the one returned, and every hash is right.
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk evidence.Manifest
	if err := json.Unmarshal(data, &onDisk); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, onDisk); diff != "" {
		t.Errorf("manifest.json differs from the returned manifest:\n%s", diff)
	}
	if len(m.Files) != len(want)-1 {
		t.Errorf("manifest lists %d files, want %d (all but itself)", len(m.Files), len(want)-1)
	}
	for _, f := range m.Files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(b)) != f.Size || f.Format == "" {
			t.Errorf("%s: manifest entry %+v does not match the file", f.Name, f)
		}
	}
	if m.Tool.Version != "1.2.3-test" || m.Caller.ARN == "" || !m.CreatedAt.Equal(bundle().Time) || m.ManifestVersion == "" {
		t.Errorf("manifest header %+v", m)
	}
	if m.Complete || m.Summary["FAIL"] != 3 {
		t.Errorf("manifest should carry the report's completeness and summary: %+v", m)
	}
	inv, _ := os.ReadFile(filepath.Join(dir, "inventory.json"))
	if string(inv) != inventory {
		t.Error("the inventory is not stored byte for byte")
	}
	if _, err := evidence.Verify(dir); err != nil {
		t.Errorf("Verify of a fresh bundle: %v", err)
	}
}

func TestBundleIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	ma, err := evidence.WriteBundle(a, bundle())
	if err != nil {
		t.Fatal(err)
	}
	mb, err := evidence.WriteBundle(b, bundle())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ma, mb); diff != "" {
		t.Errorf("same input, different manifests:\n%s", diff)
	}
	for _, name := range []string{"manifest.json", "report.html"} {
		x, _ := os.ReadFile(filepath.Join(a, name))
		y, _ := os.ReadFile(filepath.Join(b, name))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two writes of the same bundle", name)
		}
	}
}

func TestRefusesANonEmptyDirectoryUnlessTold(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := evidence.WriteBundle(dir, bundle())
	var ne *evidence.NotEmptyError
	if !errors.As(err, &ne) {
		t.Fatalf("err = %v, want *NotEmptyError", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused bundle wrote files")
	}
	b := bundle()
	b.Overwrite = true
	if _, err := evidence.WriteBundle(dir, b); err != nil {
		t.Fatalf("with Overwrite: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); string(got) != "mine" {
		t.Error("Overwrite touched a file that is not part of the bundle")
	}
	// A second bundle over the first replaces it.
	b.Report.Profile = "fsbp"
	m, err := evidence.WriteBundle(dir, b)
	if err != nil || m.Profile != "fsbp" {
		t.Fatalf("rewrite: %+v, %v", m, err)
	}
	if _, err := evidence.Verify(dir); err != nil {
		t.Errorf("Verify after a rewrite: %v", err)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	dir := t.TempDir()
	if _, err := evidence.WriteBundle(dir, bundle()); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "report.csv")
	data, _ := os.ReadFile(p)
	if err := os.WriteFile(p, bytes.Replace(data, []byte("FAIL"), []byte("PASS"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.Verify(dir); err == nil || !strings.Contains(err.Error(), "report.csv") {
		t.Errorf("Verify after tampering: %v, want an error naming report.csv", err)
	}
}

func TestRejectsMissingInputs(t *testing.T) {
	for name, mutate := range map[string]func(*evidence.Bundle){
		"no report":         func(b *evidence.Bundle) { b.Report = nil },
		"no inventory":      func(b *evidence.Bundle) { b.Inventory = nil },
		"invalid inventory": func(b *evidence.Bundle) { b.Inventory = []byte("{not json") },
	} {
		t.Run(name, func(t *testing.T) {
			b := bundle()
			mutate(&b)
			dir := t.TempDir()
			if _, err := evidence.WriteBundle(dir, b); err == nil {
				t.Error("want an error")
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("a failed bundle left %d files", len(entries))
			}
		})
	}
}
