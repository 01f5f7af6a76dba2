package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/statedb"
)

// Current returns the latest result of every stored notebook that is not
// deleted, sorted by account, region and name.
func (s *Store) Current(ctx context.Context) ([]finding.Result, error) {
	// A Result is some 600 bytes: growing the slice from nothing would copy
	// 10,000 of them a dozen times. The count is a hint only (a scan may be
	// recorded between the two queries).
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM notebooks`).Scan(&n); err != nil {
		return nil, fmt.Errorf("history %s: reading notebooks: %w", s.path, err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT n.account_id, n.region, n.name, r.result
		FROM notebooks n JOIN results r ON r.notebook_id = n.id ORDER BY n.account_id, n.region, n.name`)
	if err != nil {
		return nil, fmt.Errorf("history %s: reading notebooks: %w", s.path, err)
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err below reports failures
	out := make([]finding.Result, 0, n)
	for rows.Next() {
		var acct, region, name string
		var doc sql.RawBytes // decoded before the next row: no copy needed
		if err := rows.Scan(&acct, &region, &name, &doc); err != nil {
			return nil, fmt.Errorf("history %s: reading notebooks: %w", s.path, err)
		}
		out = append(out, finding.Result{})
		if err := jsonv2.Unmarshal(doc, &out[len(out)-1], resultJSON); err != nil {
			return nil, fmt.Errorf("history %s: reading notebook %s/%s/%s: %w", s.path, acct, region, name, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history %s: reading notebooks: %w", s.path, err)
	}
	return out, nil
}

const scanColumns = `id, started_at, finished_at, cause_kind, event_name, event_id, caller, complete, read, counts`

// LastScan returns the most recently recorded scan, and whether there is
// one. Its Counts are the posture after it.
func (s *Store) LastScan(ctx context.Context) (Scan, bool, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+scanColumns+` FROM scans ORDER BY id DESC LIMIT 1`)
	var sc Scan
	var started, finished string
	var read, counts []byte
	err := row.Scan(&sc.ID, &started, &finished, &sc.Cause.Kind, &sc.Cause.EventName, &sc.Cause.EventID,
		&sc.Cause.Caller, &sc.Complete, &read, &counts)
	if errors.Is(err, sql.ErrNoRows) {
		return Scan{}, false, nil
	}
	if err == nil {
		sc.StartedAt, err = statedb.ParseTime(started)
	}
	if err == nil {
		sc.FinishedAt, err = statedb.ParseTime(finished)
	}
	if err == nil {
		err = json.Unmarshal(read, &sc.Read)
	}
	if err == nil {
		err = json.Unmarshal(counts, &sc.Counts)
	}
	if err != nil {
		return Scan{}, false, fmt.Errorf("history %s: reading the last scan: %w", s.path, err)
	}
	return sc, true, nil
}

const transitionQuery = `SELECT s.at, t.account_id, t.region, t.name, t.arn, t.from_status, t.to_status,
	t.internet_path, s.cause_kind, s.event_name, s.event_id, s.caller
	FROM transitions t JOIN scans s ON s.id = t.scan_id`

// History returns one notebook's transitions, oldest first (in the order
// their scans were recorded, so that each transition's From is the To of
// the one before it, unless pruning removed that one).
func (s *Store) History(ctx context.Context, account, region, name string) ([]Transition, error) {
	return s.transitions(ctx, transitionQuery+`
		WHERE t.account_id = ? AND t.region = ? AND t.name = ? ORDER BY t.id`, account, region, name)
}

// Recent returns the latest transitions, newest first, at most limit. The
// transitions of one scan keep their order (account, region, name).
func (s *Store) Recent(ctx context.Context, limit int) ([]Transition, error) {
	if limit <= 0 {
		return nil, nil
	}
	return s.transitions(ctx, transitionQuery+` ORDER BY t.scan_id DESC, t.id LIMIT ?`, limit)
}

func (s *Store) transitions(ctx context.Context, query string, args ...any) ([]Transition, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("history %s: reading transitions: %w", s.path, err)
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err below reports failures
	var out []Transition
	for rows.Next() {
		var t Transition
		var at string
		if err := rows.Scan(&at, &t.AccountID, &t.Region, &t.Name, &t.ARN, &t.From, &t.To, &t.InternetPath,
			&t.Cause.Kind, &t.Cause.EventName, &t.Cause.EventID, &t.Cause.Caller); err != nil {
			return nil, fmt.Errorf("history %s: reading transitions: %w", s.path, err)
		}
		if t.At, err = statedb.ParseTime(at); err != nil {
			return nil, fmt.Errorf("history %s: reading transitions: %w", s.path, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history %s: reading transitions: %w", s.path, err)
	}
	return out, nil
}

// Trend returns the posture after each scan since a time (inclusive),
// oldest first (in the order the scans were recorded). A point's counts
// always hold PASS, FAIL, REVIEW, ERROR and MUTED, with 0 for none.
func (s *Store) Trend(ctx context.Context, since time.Time) ([]TrendPoint, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT at, counts FROM scans WHERE at >= ? ORDER BY id`, statedb.FormatTime(since))
	if err != nil {
		return nil, fmt.Errorf("history %s: reading the trend: %w", s.path, err)
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err below reports failures
	var out []TrendPoint
	for rows.Next() {
		var at string
		var counts []byte
		if err := rows.Scan(&at, &counts); err != nil {
			return nil, fmt.Errorf("history %s: reading the trend: %w", s.path, err)
		}
		p := TrendPoint{}
		if p.At, err = statedb.ParseTime(at); err == nil {
			err = json.Unmarshal(counts, &p.Counts)
		}
		if err != nil {
			return nil, fmt.Errorf("history %s: reading the trend: %w", s.path, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history %s: reading the trend: %w", s.path, err)
	}
	return out, nil
}

// Prune deletes scans and transitions older than before (the current
// state is kept), and returns how many rows it deleted. The last recorded
// scan is kept whatever its age, with its transitions: it is what LastScan
// resumes from and what the current state was last read by.
func (s *Store) Prune(ctx context.Context, before time.Time) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("history %s: pruning: %w", s.path, err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit
	const old = `SELECT id FROM scans WHERE at < ? AND id < (SELECT max(id) FROM scans)`
	n := 0
	for _, q := range []string{
		`DELETE FROM transitions WHERE scan_id IN (` + old + `)`,
		`DELETE FROM scans WHERE id IN (` + old + `)`,
	} {
		res, err := tx.ExecContext(ctx, q, statedb.FormatTime(before))
		if err != nil {
			return 0, fmt.Errorf("history %s: pruning: %w", s.path, err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("history %s: pruning: %w", s.path, err)
		}
		n += int(k)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("history %s: pruning: %w", s.path, err)
	}
	return n, nil
}

// Posture is how many current notebooks an account-region has in one
// status.
type Posture struct {
	AccountID string
	Region    string
	Status    finding.Status
	Count     int
}

// Posture counts the current (not deleted) notebooks by account, region
// and status, sorted so. Unlike Current it decodes no result: it is what
// the watch's gauges read after every scan.
func (s *Store) Posture(ctx context.Context) ([]Posture, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT account_id, region, status, count(*) FROM notebooks
		GROUP BY account_id, region, status ORDER BY account_id, region, status`)
	if err != nil {
		return nil, fmt.Errorf("history %s: counting notebooks: %w", s.path, err)
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err below reports failures
	var out []Posture
	for rows.Next() {
		var p Posture
		if err := rows.Scan(&p.AccountID, &p.Region, &p.Status, &p.Count); err != nil {
			return nil, fmt.Errorf("history %s: counting notebooks: %w", s.path, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history %s: counting notebooks: %w", s.path, err)
	}
	return out, nil
}
