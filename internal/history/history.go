// Package history keeps what sagefence watch has seen, in an embedded
// SQLite database (WAL mode): every scan, the current state of every
// notebook (its latest result, in the report contract), and every change
// of a notebook's status as a transition with its cause. A restart resumes
// from it; a crash loses no committed history.
//
// The package never reads the clock: every time it stores comes from the
// Scan it is given, so the same scans give the same database.
package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver

	"github.com/sagefence/sagefence/internal/finding"
)

// Cause says why a scan ran.
type Cause struct {
	// Kind is "start" (the first scan), "scheduled" (--interval) or
	// "event" (a CloudTrail event).
	Kind string `json:"kind"`
	// EventName, EventID and Caller are the CloudTrail event's name, ID
	// and the caller's ARN (userIdentity.arn), for Kind "event".
	EventName string `json:"event_name,omitempty"`
	EventID   string `json:"event_id,omitempty"`
	Caller    string `json:"caller,omitempty"`
}

// Cause kinds.
const (
	CauseStart     = "start"
	CauseScheduled = "scheduled"
	CauseEvent     = "event"
)

// String renders a cause for people: "scheduled", or "CreateRoute by
// arn:aws:iam::123:user/alice (event 0a1b...)".
func (c Cause) String() string {
	if c.Kind != CauseEvent {
		return c.Kind
	}
	s := c.EventName
	if c.Caller != "" {
		s += " by " + c.Caller
	}
	if c.EventID != "" {
		s += " (event " + c.EventID + ")"
	}
	return s
}

// StatusDeleted is the To of a transition for a notebook that is gone.
const StatusDeleted = "DELETED"

// Transition is one change of a notebook's status: From is "" for a
// notebook seen for the first time; To is a finding.Status or
// StatusDeleted.
type Transition struct {
	At           time.Time `json:"at"`
	AccountID    string    `json:"account_id"`
	Region       string    `json:"region"`
	Name         string    `json:"name"`
	ARN          string    `json:"arn,omitempty"`
	From         string    `json:"from"`
	To           string    `json:"to"`
	InternetPath string    `json:"internet_path,omitempty"`
	Cause        Cause     `json:"cause"`
}

// Scope is an account-region a scan read completely (its notebooks were
// listed): only such account-regions replace what is stored of them.
type Scope struct {
	AccountID string `json:"account_id"`
	Region    string `json:"region"`
}

// Scan is one recorded scan.
type Scan struct {
	ID         int64                  `json:"id"`
	StartedAt  time.Time              `json:"started_at"`
	FinishedAt time.Time              `json:"finished_at"`
	Cause      Cause                  `json:"cause"`
	Complete   bool                   `json:"complete"`
	Read       []Scope                `json:"read"`
	Counts     map[finding.Status]int `json:"counts"`
}

// TrendPoint is the posture after one scan: how many notebooks were in
// each status across everything stored.
type TrendPoint struct {
	At     time.Time              `json:"at"`
	Counts map[finding.Status]int `json:"counts"`
}

// SchemaVersion is the history schema this package reads and writes. It is
// stored in the database's user_version, as the journal's is.
const SchemaVersion = 1

// migrations[i] takes a database from schema version i to i+1.
//
// A transition holds no time or cause of its own: both are its scan's, so
// that pruning a scan prunes its transitions and a cause is stored once per
// scan, not once per notebook. A notebook's current result is stored as the
// report's JSON, in a table of its own, with a SHA-256 of it beside the
// notebook's status: Record compares a scan with what is stored by reading
// the small notebooks rows only, and a notebook in which nothing changed
// rewrites nothing (the database grows with the changes, not with the
// estate). Deleted notebooks are removed from notebooks: their last state
// survives in their transitions.
func migrations() []string {
	return []string{
		`CREATE TABLE scans (
			id          INTEGER PRIMARY KEY,
			at          TEXT NOT NULL,
			started_at  TEXT NOT NULL,
			finished_at TEXT NOT NULL,
			cause_kind  TEXT NOT NULL,
			event_name  TEXT NOT NULL DEFAULT '',
			event_id    TEXT NOT NULL DEFAULT '',
			caller      TEXT NOT NULL DEFAULT '',
			complete    INTEGER NOT NULL,
			read        BLOB NOT NULL,
			counts      BLOB NOT NULL
		);
		CREATE INDEX scans_at ON scans (at);
		CREATE TABLE notebooks (
			id            INTEGER PRIMARY KEY,
			account_id    TEXT NOT NULL,
			region        TEXT NOT NULL,
			name          TEXT NOT NULL,
			arn           TEXT NOT NULL,
			status        TEXT NOT NULL,
			internet_path TEXT NOT NULL,
			result_sha256 BLOB NOT NULL,
			UNIQUE (account_id, region, name)
		);
		CREATE INDEX notebooks_status ON notebooks (status);
		CREATE TABLE results (
			notebook_id INTEGER PRIMARY KEY REFERENCES notebooks (id) ON DELETE CASCADE,
			result      BLOB NOT NULL
		);
		CREATE TABLE transitions (
			id            INTEGER PRIMARY KEY,
			scan_id       INTEGER NOT NULL REFERENCES scans (id),
			account_id    TEXT NOT NULL,
			region        TEXT NOT NULL,
			name          TEXT NOT NULL,
			arn           TEXT NOT NULL,
			from_status   TEXT NOT NULL,
			to_status     TEXT NOT NULL,
			internet_path TEXT NOT NULL
		);
		CREATE INDEX transitions_scan ON transitions (scan_id);
		CREATE INDEX transitions_notebook ON transitions (account_id, region, name);`,
	}
}

// Store is the database. It is safe for concurrent use: Record calls are
// serialised (one writer at a time), and readers run beside the writer,
// each query seeing the database as of the last committed scan.
type Store struct {
	// w is the only connection that writes; r are read-only connections,
	// which WAL lets run while w holds a write transaction.
	w, r *sql.DB
	path string

	// beforeCommit, when set (by tests), runs inside Record's transaction
	// just before it commits.
	beforeCommit func()
}

// DefaultPath is where the history lives unless --db says otherwise:
// $XDG_STATE_HOME/sagefence/history.db, else
// ~/.local/state/sagefence/history.db (%LocalAppData%\sagefence\history.db
// on Windows), beside the remediation journal.
func DefaultPath() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "sagefence", "history.db"), nil
	}
	if runtime.GOOS == "windows" {
		d, err := os.UserCacheDir() // %LocalAppData%
		if err != nil {
			return "", fmt.Errorf("history: locating the state directory: %w", err)
		}
		return filepath.Join(d, "sagefence", "history.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("history: locating the state directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "sagefence", "history.db"), nil
}

// Open opens (creating it and its directory when needed) the database at
// path, in WAL mode, and migrates it to the current schema. Commits are
// synchronous (FULL): a recorded scan survives a crash of the process or of
// the machine.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("history: empty database path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("history %s: path must not contain '?' or '#'", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("history %s: creating its directory: %w", path, err)
	}
	// The writer takes the write lock when its transaction begins
	// (immediate), so a Record never fails half-way on a lock upgrade. The
	// write-ahead log keeps the size of its largest transaction (the first
	// scan: about 4.6 KB per notebook) unless limited: journal_size_limit
	// truncates it once a checkpoint has emptied it, and 16 MiB stays above
	// the 4 MB at which SQLite checkpoints, so steady scans never regrow it.
	w, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"+
		"&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_pragma=journal_size_limit(16777216)"+
		"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	// One writing connection: SQLite serialises writers anyway, and this
	// keeps the per-connection pragmas above in force for every statement.
	w.SetMaxOpenConns(1)
	s := &Store{w: w, path: path}
	if err := s.migrate(ctx); err != nil {
		_ = w.Close() // the migration error is the one worth reporting
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	// Readers: WAL mode is a property of the file by now; query_only makes
	// a write through them an error instead of a second writer.
	r, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	s.r = r
	return s, nil
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// Close closes the database. The last connection to close checkpoints the
// write-ahead log into the database file.
func (s *Store) Close() error {
	errR := s.r.Close()
	errW := s.w.Close()
	if err := errors.Join(errR, errW); err != nil {
		return fmt.Errorf("history %s: closing: %w", s.path, err)
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("history %s: %w", s.path, err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit

	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("history %s: reading schema version: %w", s.path, err)
	}
	steps := migrations()
	if version > len(steps) {
		return fmt.Errorf("history %s: schema version %d is newer than this sagefence understands (%d); upgrade sagefence",
			s.path, version, len(steps))
	}
	if version == len(steps) {
		return nil
	}
	for v := version; v < len(steps); v++ {
		if _, err := tx.ExecContext(ctx, steps[v]); err != nil {
			return fmt.Errorf("history %s: migrating schema to version %d: %w", s.path, v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(steps))); err != nil {
		return fmt.Errorf("history %s: recording schema version: %w", s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("history %s: committing schema: %w", s.path, err)
	}
	return nil
}

// timeLayout is RFC 3339 with a fixed nine-digit fraction, so that times
// stored as text sort in time order (the journal's layout).
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }
