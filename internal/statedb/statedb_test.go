package statedb

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

var (
	journalKind = Kind{Name: "journal", AppID: 0x73666a6c, Table: "runs"}
	historyKind = Kind{Name: "history", AppID: 0x73666869, Table: "scans"}
)

func open(t *testing.T, kind Kind, path string) error {
	t.Helper()
	db, err := Open(context.Background(), kind, path, Writer, []string{"CREATE TABLE " + kind.Table + " (id INTEGER)"})
	if err == nil {
		_ = db.Close()
	}
	return err
}

// raw makes a SQLite file another way: an older sagefence (no mark) or
// another program.
func raw(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpenRefusesAnotherKindOfFile: a journal given where a history goes
// (or any SQLite file that is not one) is refused before anything is
// written to it; a file from before the mark is still opened, and marked.
func TestOpenRefusesAnotherKindOfFile(t *testing.T) {
	dir := t.TempDir()
	journal := filepath.Join(dir, "journal.db")
	if err := open(t, journalKind, journal); err != nil {
		t.Fatal(err)
	}
	if err := open(t, historyKind, journal); err == nil || !strings.Contains(err.Error(), "not a sagefence history") {
		t.Fatalf("a journal opened as a history: err = %v", err)
	}
	if err := open(t, journalKind, journal); err != nil {
		t.Fatalf("the journal again: %v", err)
	}

	legacy := filepath.Join(dir, "legacy.db")
	raw(t, legacy, "CREATE TABLE scans (id INTEGER)", "PRAGMA user_version = 1")
	if err := open(t, journalKind, legacy); err == nil || !strings.Contains(err.Error(), "no runs table") {
		t.Fatalf("an unmarked history opened as a journal: err = %v", err)
	}
	if err := open(t, historyKind, legacy); err != nil {
		t.Fatalf("an unmarked history: %v", err)
	}
	if err := open(t, journalKind, legacy); err == nil || !strings.Contains(err.Error(), "application id") {
		t.Fatalf("the history, now marked, opened as a journal: err = %v", err)
	}

	other := filepath.Join(dir, "other.db")
	raw(t, other, "CREATE TABLE customers (id INTEGER)")
	if err := open(t, historyKind, other); err == nil || !strings.Contains(err.Error(), "not a sagefence history") {
		t.Fatalf("another program's file: err = %v", err)
	}
	db, err := sql.Open("sqlite", "file:"+other)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("another program's file has %d tables (%v), want its own 1 only", n, err)
	}
}
