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
	"path/filepath"
	"time"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/statedb"
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
	// Unread are the parts of read account-regions the scan could not
	// read (the Studio domains when ListDomains failed, a domain's user
	// profiles when it could not be described or its profiles listed):
	// what is stored of them stands. Not stored with the scan.
	Unread []Unread `json:"-"`
}

// Unread names the stored results of a read account-region that a scan did
// not read: those whose stored name begins with Prefix
// ("studio-domain/", "studio-user-profile/research/").
type Unread struct {
	Scope
	Prefix string
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
// history.db in the state directory (statedb.Dir), beside the remediation
// journal.
func DefaultPath() (string, error) {
	d, err := statedb.Dir()
	if err != nil {
		return "", fmt.Errorf("history: %w", err)
	}
	return filepath.Join(d, "history.db"), nil
}

// historyKind is what marks the file as this package's: application_id "sfhi".
func historyKind() statedb.Kind {
	return statedb.Kind{Name: "history", AppID: 0x73666869, Table: "scans"}
}

// Open opens (creating it and its directory when needed) the database at
// path, in WAL mode, and migrates it to the current schema. Commits are
// synchronous (FULL): a recorded scan survives a crash of the process or of
// the machine.
func Open(ctx context.Context, path string) (*Store, error) {
	// The write-ahead log keeps the size of its largest transaction (the
	// first scan: about 4.6 KB per notebook) unless limited:
	// journal_size_limit truncates it once a checkpoint has emptied it,
	// and 16 MiB stays above the 4 MB at which SQLite checkpoints, so
	// steady scans never regrow it.
	w, err := statedb.Open(ctx, historyKind(), path, statedb.Writer+"&_pragma=journal_size_limit(16777216)", migrations())
	if err != nil {
		return nil, err
	}
	// Readers see the last committed scan while the writer writes.
	r, err := statedb.OpenReader("history", path, 4)
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	return &Store{w: w, r: r, path: path}, nil
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
