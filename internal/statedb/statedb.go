// Package statedb opens sagefence's own SQLite files (the remediation
// journal, the watch history): where they live by default, how a file is
// created, opened in WAL mode and migrated, and how times are stored in
// them. What each file holds belongs to its package.
package statedb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver
)

// Dir is sagefence's state directory: $XDG_STATE_HOME/sagefence, else
// ~/.local/state/sagefence (%LocalAppData%\sagefence on Windows).
func Dir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "sagefence"), nil
	}
	if runtime.GOOS == "windows" {
		d, err := os.UserCacheDir() // %LocalAppData%
		if err != nil {
			return "", fmt.Errorf("locating the state directory: %w", err)
		}
		return filepath.Join(d, "sagefence"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locating the state directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "sagefence"), nil
}

// Writer is the DSN parameters of a file's one writing connection: WAL,
// full synchronous commits (a commit survives a crash of the process or
// the machine), foreign keys, and the write lock taken when a transaction
// begins (so no transaction fails half-way on a lock upgrade).
const Writer = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
	"&_pragma=foreign_keys(1)&_txlock=immediate"

// Kind is what a file holds: its name in errors ("journal", "history"),
// the SQLite application_id that marks it, and a table its first schema
// version creates (how a file from before the mark is recognised).
type Kind struct {
	Name  string
	AppID int32
	Table string
}

// Open opens the database at path with the DSN parameters params (Writer,
// with any more), creating it and its directory (0700) when missing, on
// one connection, migrated to len(steps) (steps[i] takes schema version i
// to i+1, kept in user_version), and makes the file 0600. A file of
// another kind (another sagefence file, or any SQLite file without the
// kind's table) is an error, before anything is written to it.
func Open(ctx context.Context, kind Kind, path, params string, steps []string) (*sql.DB, error) {
	what := kind.Name
	if path == "" {
		return nil, fmt.Errorf("%s: empty path", what)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("%s %s: path must not contain '?' or '#'", what, path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("%s %s: creating its directory: %w", what, path, err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+params)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	// One connection: SQLite serialises writers anyway, and this keeps the
	// per-connection pragmas in force for every statement.
	db.SetMaxOpenConns(1)
	if err := migrate(ctx, db, kind, steps); err != nil {
		_ = db.Close() // the migration error is the one worth reporting
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	return db, nil
}

// OpenReader opens up to n read-only connections to a database Open has
// created: WAL lets them read the last commit while the writer writes, and
// query_only makes a write through them an error instead of a second
// writer.
func OpenReader(what, path string, n int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	db.SetMaxOpenConns(n)
	return db, nil
}

func migrate(ctx context.Context, db *sql.DB, kind Kind, steps []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit

	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	var app int32
	if err := tx.QueryRowContext(ctx, "PRAGMA application_id").Scan(&app); err != nil {
		return fmt.Errorf("reading application id: %w", err)
	}
	switch {
	case app == kind.AppID:
	case app != 0:
		return fmt.Errorf("not a sagefence %s (application id %#x)", kind.Name, uint32(app))
	default:
		// Unmarked: new and empty, or written before files were marked,
		// when its kind's table says it is one. Anything else is another
		// program's file, left as it is.
		var tables, own int
		if err := tx.QueryRowContext(ctx, "SELECT count(*), count(CASE WHEN name = ? THEN 1 END) FROM sqlite_master WHERE type = 'table'", kind.Table).Scan(&tables, &own); err != nil {
			return fmt.Errorf("reading its tables: %w", err)
		}
		if (version > 0 || tables > 0) && own == 0 {
			return fmt.Errorf("not a sagefence %s (no %s table)", kind.Name, kind.Table)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", kind.AppID)); err != nil {
			return fmt.Errorf("marking the file: %w", err)
		}
	}
	if version > len(steps) {
		return fmt.Errorf("schema version %d is newer than this sagefence understands (%d); upgrade sagefence", version, len(steps))
	}
	if version == len(steps) {
		return tx.Commit() // the mark, when it is new
	}
	for v := version; v < len(steps); v++ {
		if _, err := tx.ExecContext(ctx, steps[v]); err != nil {
			return fmt.Errorf("migrating schema to version %d: %w", v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(steps))); err != nil {
		return fmt.Errorf("recording schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing schema: %w", err)
	}
	return nil
}

// timeLayout is RFC 3339 with a fixed nine-digit fraction, so that times
// stored as text sort in time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// FormatTime is how a time is stored: UTC, in a layout whose text sorts in
// time order.
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// ParseTime reads a stored time.
func ParseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }
