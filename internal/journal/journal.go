// Package journal owns sagefence's write-ahead record of remediation runs: an
// embedded SQLite database (pure Go, no cgo) holding every apply, backout and
// finalize run and each of its steps. A step's intent and the live state it
// found are committed before the AWS call that changes anything, and its
// result after, so a run interrupted at any point leaves enough behind to
// undo it. The package stores JSON documents it does not interpret; their
// meaning belongs to package remediate.
//
// A journal is guarded by one exclusive lock (an flock on a file beside the
// database) so that two mutating runs never share it.
package journal

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"

	"github.com/sagefence/sagefence/internal/statedb"
)

// SchemaVersion is the journal schema this package reads and writes. It is
// stored in the database's user_version.
const SchemaVersion = 1

// migrations[i] takes a database from schema version i to i+1.
func migrations() []string {
	return []string{
		`CREATE TABLE runs (
			id          TEXT PRIMARY KEY,
			kind        TEXT NOT NULL CHECK (kind IN ('apply', 'backout', 'finalize')),
			plan_hash   TEXT NOT NULL DEFAULT '',
			target_run  TEXT NOT NULL DEFAULT '',
			plan        BLOB,
			status      TEXT NOT NULL,
			started_at  TEXT NOT NULL,
			finished_at TEXT,
			pid         INTEGER NOT NULL,
			host        TEXT NOT NULL DEFAULT '',
			error       TEXT NOT NULL DEFAULT ''
		);
		CREATE INDEX runs_plan_hash ON runs (plan_hash);
		CREATE INDEX runs_target_run ON runs (target_run);
		CREATE TABLE steps (
			run_id      TEXT NOT NULL REFERENCES runs (id),
			seq         INTEGER NOT NULL,
			action_id   TEXT NOT NULL,
			action      TEXT NOT NULL,
			resource    TEXT NOT NULL,
			status      TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'skipped', 'undone')),
			intent      BLOB NOT NULL,
			before      BLOB,
			after       BLOB,
			result      BLOB,
			error       TEXT NOT NULL DEFAULT '',
			note        TEXT NOT NULL DEFAULT '',
			undone_by   TEXT NOT NULL DEFAULT '',
			started_at  TEXT NOT NULL,
			finished_at TEXT,
			PRIMARY KEY (run_id, seq)
		);`,
	}
}

// Journal is an open journal database.
type Journal struct {
	db   *sql.DB
	path string
}

// DefaultPath is where the journal lives unless --journal says otherwise:
// journal.db in the state directory (statedb.Dir).
func DefaultPath() (string, error) {
	d, err := statedb.Dir()
	if err != nil {
		return "", fmt.Errorf("journal: %w", err)
	}
	return filepath.Join(d, "journal.db"), nil
}

// journalKind is what marks the file as this package's: application_id "sfjl".
func journalKind() statedb.Kind {
	return statedb.Kind{Name: "journal", AppID: 0x73666a6c, Table: "runs"}
}

// Open opens the journal at path, creating it and its directory when missing,
// and brings its schema up to date. The database runs in WAL mode with full
// synchronous commits: once a step is written, it survives a crash of the
// process or the machine.
func Open(ctx context.Context, path string) (*Journal, error) {
	db, err := statedb.Open(ctx, journalKind(), path, statedb.Writer, migrations())
	if err != nil {
		return nil, err
	}
	return &Journal{db: db, path: path}, nil
}

// Path is the database file's path.
func (j *Journal) Path() string { return j.path }

// Close closes the database.
func (j *Journal) Close() error {
	if err := j.db.Close(); err != nil {
		return fmt.Errorf("journal %s: closing: %w", j.path, err)
	}
	return nil
}
