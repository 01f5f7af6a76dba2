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
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver
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
// $XDG_STATE_HOME/sagefence/journal.db, else ~/.local/state/sagefence/journal.db
// (%LocalAppData%\sagefence\journal.db on Windows).
func DefaultPath() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "sagefence", "journal.db"), nil
	}
	if runtime.GOOS == "windows" {
		d, err := os.UserCacheDir() // %LocalAppData%
		if err != nil {
			return "", fmt.Errorf("journal: locating the state directory: %w", err)
		}
		return filepath.Join(d, "sagefence", "journal.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("journal: locating the state directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "sagefence", "journal.db"), nil
}

// Open opens the journal at path, creating it and its directory when missing,
// and brings its schema up to date. The database runs in WAL mode with full
// synchronous commits: once a step is written, it survives a crash of the
// process or the machine.
func Open(ctx context.Context, path string) (*Journal, error) {
	if path == "" {
		return nil, errors.New("journal: empty path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("journal %s: path must not contain '?' or '#'", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("journal %s: creating its directory: %w", path, err)
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	// One connection: writes are serialised anyway, and it keeps the
	// per-connection pragmas above in force for every statement.
	db.SetMaxOpenConns(1)
	j := &Journal{db: db, path: path}
	if err := j.migrate(ctx); err != nil {
		_ = db.Close() // the migration error is the one worth reporting
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	return j, nil
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

func (j *Journal) migrate(ctx context.Context) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit

	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("journal %s: reading schema version: %w", j.path, err)
	}
	steps := migrations()
	if version > len(steps) {
		return fmt.Errorf("journal %s: schema version %d is newer than this sagefence understands (%d); upgrade sagefence",
			j.path, version, len(steps))
	}
	if version == len(steps) {
		return nil
	}
	for v := version; v < len(steps); v++ {
		if _, err := tx.ExecContext(ctx, steps[v]); err != nil {
			return fmt.Errorf("journal %s: migrating schema to version %d: %w", j.path, v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(steps))); err != nil {
		return fmt.Errorf("journal %s: recording schema version: %w", j.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("journal %s: committing schema: %w", j.path, err)
	}
	return nil
}
