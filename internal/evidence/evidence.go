// Package evidence writes an evidence bundle: one directory an auditor can
// take away that holds the raw facts (the saved inventory), the report in
// every format, and a manifest with the SHA-256 of each file, the tool
// version, the time and the identity that ran the scan. Re-evaluating the
// inventory with the same tool version reproduces the report.
//
// Every file is written atomically (temporary file, fsync, rename, fsync of
// the directory), and manifest.json is written last, so a directory with a
// manifest holds a complete bundle.
package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report"
)

// ManifestVersion is the version of manifest.json's shape.
const ManifestVersion = "1"

// File names inside a bundle.
const (
	ManifestFile  = "manifest.json"
	InventoryFile = "inventory.json"
)

// Caller is the AWS identity that ran the scan (sts:GetCallerIdentity).
type Caller struct {
	AccountID string `json:"account_id"`
	ARN       string `json:"arn"`
}

// Bundle is what WriteBundle writes.
type Bundle struct {
	// Inventory is the saved inventory JSON, exactly as --save-inventory
	// writes it; it is stored byte for byte.
	Inventory []byte
	// Report is the evaluation of Inventory.
	Report *finding.Report
	// Caller is who ran the scan.
	Caller Caller
	// Time is when the bundle is made (the caller's clock).
	Time time.Time
	// Overwrite allows writing into a directory that is not empty; files of
	// the same name are replaced, others are left alone.
	Overwrite bool
}

// Manifest describes a bundle; it is written as manifest.json.
type Manifest struct {
	ManifestVersion string                 `json:"manifest_version"`
	Tool            finding.Tool           `json:"tool"`
	CreatedAt       time.Time              `json:"created_at"`
	Caller          Caller                 `json:"caller"`
	Profile         string                 `json:"profile"`
	ScanStartedAt   time.Time              `json:"scan_started_at"`
	ScanFinishedAt  time.Time              `json:"scan_finished_at"`
	Complete        bool                   `json:"complete"`
	Summary         map[finding.Status]int `json:"summary"`
	// Files lists every file of the bundle except the manifest, by name.
	Files []File `json:"files"`
}

// File is one file of the bundle.
type File struct {
	Name   string `json:"name"`
	Format string `json:"format"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Format is one report format written into a bundle.
type Format struct {
	Name  string
	File  string
	Write func(io.Writer, *finding.Report) error
}

// Formats are the report formats a bundle holds: every format of the
// report package, each in report.<extension> (the table as a terminal
// shows it).
func Formats() []Format {
	var out []Format
	for _, name := range report.Formats() {
		out = append(out, Format{Name: name, File: "report." + report.Extension(name), Write: func(w io.Writer, r *finding.Report) error {
			return report.Write(w, name, r, report.Options{TTY: name == "table"})
		}})
	}
	return out
}

// NotEmptyError is returned when the bundle directory already holds files
// and Bundle.Overwrite is false.
type NotEmptyError struct{ Dir string }

func (e *NotEmptyError) Error() string {
	return "evidence directory " + e.Dir + " is not empty (choose an empty directory or allow overwriting)"
}

// WriteBundle writes b into dir, creating dir if needed, and returns the
// manifest it wrote. Every report is rendered in memory first, so a writer
// that fails leaves nothing behind.
func WriteBundle(dir string, b Bundle) (Manifest, error) {
	if b.Report == nil {
		return Manifest{}, errors.New("evidence: no report")
	}
	if !json.Valid(b.Inventory) {
		return Manifest{}, errors.New("evidence: the inventory is missing or not valid JSON")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Manifest{}, fmt.Errorf("evidence: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Manifest{}, fmt.Errorf("evidence: %w", err)
	}
	if len(entries) > 0 && !b.Overwrite {
		return Manifest{}, &NotEmptyError{Dir: dir}
	}

	type content struct {
		name, format string
		data         []byte
	}
	files := []content{{InventoryFile, "inventory", b.Inventory}}
	for _, f := range Formats() {
		var buf bytes.Buffer
		if err := f.Write(&buf, b.Report); err != nil {
			return Manifest{}, fmt.Errorf("evidence: rendering %s: %w", f.Name, err)
		}
		files = append(files, content{f.File, f.Name, buf.Bytes()})
	}

	m := Manifest{
		ManifestVersion: ManifestVersion,
		Tool:            b.Report.Tool,
		CreatedAt:       b.Time.UTC(),
		Caller:          b.Caller,
		Profile:         b.Report.Profile,
		ScanStartedAt:   b.Report.StartedAt.UTC(),
		ScanFinishedAt:  b.Report.FinishedAt.UTC(),
		Complete:        b.Report.Complete,
		Summary:         b.Report.Summary,
	}
	for _, f := range files {
		if err := writeAtomic(dir, f.name, f.data); err != nil {
			return Manifest{}, err
		}
		sum := sha256.Sum256(f.data)
		m.Files = append(m.Files, File{Name: f.name, Format: f.format, Size: int64(len(f.data)), SHA256: hex.EncodeToString(sum[:])})
	}
	slices.SortFunc(m.Files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, fmt.Errorf("evidence: %w", err)
	}
	if err := writeAtomic(dir, ManifestFile, append(data, '\n')); err != nil {
		return Manifest{}, err
	}
	if err := syncDir(dir); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// Verify re-reads the bundle in dir and checks every file against the
// manifest's size and SHA-256.
func Verify(dir string) (Manifest, error) {
	var m Manifest
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return m, fmt.Errorf("evidence: %w", err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("evidence: %s: %w", ManifestFile, err)
	}
	var errs []error
	for _, f := range m.Files {
		if filepath.Base(f.Name) != f.Name {
			errs = append(errs, fmt.Errorf("evidence: manifest names a file outside the bundle: %q", f.Name))
			continue
		}
		got, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			errs = append(errs, fmt.Errorf("evidence: %w", err))
			continue
		}
		sum := sha256.Sum256(got)
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(got)) != f.Size {
			errs = append(errs, fmt.Errorf("evidence: %s does not match its SHA-256 in the manifest", f.Name))
		}
	}
	return m, errors.Join(errs...)
}

// writeAtomic writes data to dir/name through a temporary file in dir that
// is fsynced and renamed into place, so a reader never sees half a file.
func writeAtomic(dir, name string, data []byte) (err error) {
	tmp, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return fmt.Errorf("evidence: writing %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("evidence: writing %s: %w", name, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("evidence: writing %s: %w", name, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("evidence: syncing %s: %w", name, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("evidence: writing %s: %w", name, err)
	}
	if err = os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("evidence: writing %s: %w", name, err)
	}
	return nil
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("evidence: syncing %s: %w", dir, err)
	}
	return nil
}
