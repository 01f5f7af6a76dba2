// Package history keeps what sagefence watch has seen, in an embedded
// SQLite database (WAL mode): every scan, the current state of every
// notebook (its latest result, in the report contract), and every change
// of a notebook's status as a transition with its cause. A restart resumes
// from it; a crash loses no committed history.
package history

import (
	"context"
	"errors"
	"time"

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

// ErrNotImplemented marks the skeleton's methods until they are built.
var ErrNotImplemented = errors.New("history: not implemented")

// Store is the database. It is safe for concurrent use.
type Store struct{}

// Open opens (creating it and its directory when needed) the database at
// path, in WAL mode, and migrates it to the current schema.
func Open(ctx context.Context, path string) (*Store, error) { return nil, ErrNotImplemented }

// Close closes the database.
func (s *Store) Close() error { return ErrNotImplemented }

// Record stores one scan atomically: rep's results for the account-regions
// in read replace the stored state of those account-regions, a notebook
// stored there but absent from rep becomes StatusDeleted, and every
// notebook whose status differs from its stored one (or is new) yields a
// Transition with cause, stored and returned in a stable order (account,
// region, name). Account-regions not in read are left as they are: a
// region that could not be read never deletes or passes a notebook. A
// result whose status is ERROR is a transition to ERROR like any other.
func (s *Store) Record(ctx context.Context, scan Scan, rep *finding.Report) ([]Transition, error) {
	return nil, ErrNotImplemented
}

// Current returns the latest result of every stored notebook that is not
// deleted, sorted by account, region and name.
func (s *Store) Current(ctx context.Context) ([]finding.Result, error) { return nil, ErrNotImplemented }

// LastScan returns the most recent scan, and whether there is one.
func (s *Store) LastScan(ctx context.Context) (Scan, bool, error) {
	return Scan{}, false, ErrNotImplemented
}

// History returns one notebook's transitions, oldest first.
func (s *Store) History(ctx context.Context, account, region, name string) ([]Transition, error) {
	return nil, ErrNotImplemented
}

// Recent returns the latest transitions, newest first, at most limit.
func (s *Store) Recent(ctx context.Context, limit int) ([]Transition, error) {
	return nil, ErrNotImplemented
}

// Trend returns the posture after each scan since a time, oldest first.
func (s *Store) Trend(ctx context.Context, since time.Time) ([]TrendPoint, error) {
	return nil, ErrNotImplemented
}

// Prune deletes scans and transitions older than before (the current
// state is kept), and returns how many rows it deleted.
func (s *Store) Prune(ctx context.Context, before time.Time) (int, error) {
	return 0, ErrNotImplemented
}
