package history

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"golang.org/x/sync/errgroup"

	"github.com/sagefence/sagefence/internal/finding"
	reportjson "github.com/sagefence/sagefence/internal/report/json"
	"github.com/sagefence/sagefence/internal/report/reportfmt"
	"github.com/sagefence/sagefence/internal/statedb"
)

// resultJSON encodes and decodes a stored result as the JSON report writes
// it (the semantics of encoding/json, map keys sorted), compact: the same
// result always gives the same bytes, and the same SHA-256.
var resultJSON = reportjson.ResultCompact

// incoming is one result of the scan being recorded, encoded as it will be
// stored.
type incoming struct {
	r   *finding.Result
	doc []byte
	sum [sha256.Size]byte
}

// scopeResults are the results of one account-region the scan read, sorted
// by name.
type scopeResults struct {
	scope   Scope
	results []incoming
	// keep are the prefixes of stored names the scan did not read.
	keep []string
}

// stored is what Record compares a result with.
type stored struct {
	id     int64
	arn    string
	status string
	sum    []byte
	seen   bool
}

// Record stores one scan atomically: rep's results for the account-regions
// in scan.Read replace the stored state of those account-regions, a
// notebook stored there but absent from rep becomes StatusDeleted, and
// every notebook whose status differs from its stored one (or is new)
// yields a Transition with the scan's cause, stored and returned in a
// stable order (account, region, name). Account-regions not in scan.Read
// are left as they are, and rep's results in them are not applied: a
// region that could not be read never deletes or passes a notebook. A
// result whose status is ERROR is a transition to ERROR like any other.
//
// A transition's At is the scan's FinishedAt (its StartedAt when
// FinishedAt is zero; a scan with neither is refused). scan.ID and
// scan.Counts are ignored: the scan gets the next ID, and its counts are
// the posture after it (see Trend and LastScan). A report holding the same
// notebook twice is refused, since either result would be a guess.
//
// Record either stores everything or nothing: when ctx is cancelled or the
// process dies before it returns, the database is as it was before the
// call. A caller that must record the scan it is finishing while shutting
// down passes a context that is not cancelled by the shutdown
// (context.WithoutCancel).
func (s *Store) Record(ctx context.Context, scan Scan, rep *finding.Report) ([]Transition, error) {
	if rep == nil {
		return nil, errors.New("history: recording a scan without a report")
	}
	at := scan.FinishedAt
	if at.IsZero() {
		at = scan.StartedAt
	}
	if at.IsZero() {
		return nil, errors.New("history: recording a scan with no time (StartedAt and FinishedAt are both zero)")
	}
	at = at.UTC()
	// Encoding is the bulk of the work and needs no database: do it before
	// taking the write lock.
	scopes, err := groupByScope(scan.Read, scan.Unread, rep.Results)
	if err != nil {
		return nil, err
	}
	read, err := json.Marshal(scan.Read)
	if err != nil {
		return nil, fmt.Errorf("history: encoding the scan's account-regions: %w", err)
	}

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("history %s: recording a scan: %w", s.path, err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit

	w, err := prepareWriter(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("history %s: recording a scan: %w", s.path, err)
	}
	defer w.close()

	var trs []Transition
	for _, sc := range scopes {
		trs, err = w.apply(ctx, sc, trs)
		if err != nil {
			return nil, fmt.Errorf("history %s: recording account %s region %s: %w",
				s.path, sc.scope.AccountID, sc.scope.Region, err)
		}
	}

	// The scan is stored with the posture after it, so that Trend is one
	// query over scans.
	counts, err := countStatuses(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("history %s: counting notebooks: %w", s.path, err)
	}
	countsDoc, err := json.Marshal(counts)
	if err != nil {
		return nil, fmt.Errorf("history: encoding counts: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO scans
		(at, started_at, finished_at, cause_kind, event_name, event_id, caller, complete, read, counts)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		statedb.FormatTime(at), statedb.FormatTime(scan.StartedAt), statedb.FormatTime(scan.FinishedAt), scan.Cause.Kind, scan.Cause.EventName,
		scan.Cause.EventID, scan.Cause.Caller, scan.Complete, read, countsDoc)
	if err != nil {
		return nil, fmt.Errorf("history %s: recording a scan: %w", s.path, err)
	}
	scanID, err := res.LastInsertId()
	if err != nil {
		return nil, fmt.Errorf("history %s: recording a scan: %w", s.path, err)
	}

	slices.SortFunc(trs, func(a, b Transition) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Region, b.Region), cmp.Compare(a.Name, b.Name))
	})
	for i := range trs {
		t := &trs[i]
		t.At, t.Cause = at, scan.Cause
		if _, err := w.insertTransition.ExecContext(ctx, scanID, t.AccountID, t.Region, t.Name, t.ARN, t.From, t.To,
			t.InternetPath); err != nil {
			return nil, fmt.Errorf("history %s: recording a transition of %s/%s/%s: %w",
				s.path, t.AccountID, t.Region, t.Name, err)
		}
	}
	if s.beforeCommit != nil {
		s.beforeCommit()
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("history %s: committing a scan: %w", s.path, err)
	}
	return trs, nil
}

// groupByScope encodes the results of the account-regions in read, grouped
// by account-region (sorted) and sorted by name within each.
func groupByScope(read []Scope, unread []Unread, results []finding.Result) ([]scopeResults, error) {
	index := make(map[Scope]int, len(read))
	var scopes []scopeResults
	for _, sc := range read {
		if _, ok := index[sc]; !ok {
			index[sc] = len(scopes)
			scopes = append(scopes, scopeResults{scope: sc})
		}
	}
	for _, u := range unread {
		if k, ok := index[u.Scope]; ok {
			scopes[k].keep = append(scopes[k].keep, u.Prefix)
		}
	}
	for i := range results {
		r := &results[i]
		k, ok := index[Scope{AccountID: r.AccountID, Region: r.Region}]
		if !ok {
			continue // not read completely: what is stored of it stands
		}
		scopes[k].results = append(scopes[k].results, incoming{r: r})
	}
	if err := encode(scopes); err != nil {
		return nil, err
	}
	slices.SortFunc(scopes, func(a, b scopeResults) int {
		return cmp.Or(cmp.Compare(a.scope.AccountID, b.scope.AccountID), cmp.Compare(a.scope.Region, b.scope.Region))
	})
	for _, sc := range scopes {
		slices.SortFunc(sc.results, func(a, b incoming) int { return cmp.Compare(storedName(a.r), storedName(b.r)) })
		for i := 1; i < len(sc.results); i++ {
			if storedName(sc.results[i].r) == storedName(sc.results[i-1].r) {
				return nil, fmt.Errorf("history: the report holds notebook %s/%s/%s twice",
					sc.scope.AccountID, sc.scope.Region, storedName(sc.results[i].r))
			}
		}
	}
	return scopes, nil
}

// storedName is the name a result is stored and its transitions reported
// under: a notebook's own name, and for a Studio domain or user profile a
// name that says so ("studio-domain/research"), which no notebook can have
// (notebook names hold no "/"), so that a domain named like a notebook of
// its region does not take its place.
func storedName(r *finding.Result) string { return reportfmt.DisplayName(r) }

// encodeChunk is how many results one encoding job holds.
const encodeChunk = 256

// encode encodes and hashes the results on every core: it is most of
// Record's work, and none of it needs the database.
func encode(scopes []scopeResults) error {
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, sc := range scopes {
		for from := 0; from < len(sc.results); from += encodeChunk {
			chunk := sc.results[from:min(from+encodeChunk, len(sc.results))]
			g.Go(func() error {
				opts := jsonv2.JoinOptions(resultJSON, reportjson.SharedMaps())
				for i := range chunk {
					in := &chunk[i]
					doc, err := jsonv2.Marshal(in.r, opts)
					if err != nil {
						return fmt.Errorf("history: encoding the result of %s/%s/%s: %w",
							in.r.AccountID, in.r.Region, in.r.Resource.Name, err)
					}
					in.doc, in.sum = doc, sha256.Sum256(doc)
				}
				return nil
			})
		}
	}
	return g.Wait()
}

// writer holds Record's statements, prepared once per scan.
type writer struct {
	selectScope, insertNotebook, updateNotebook, putResult, deleteNotebook, insertTransition *sql.Stmt
}

func prepareWriter(ctx context.Context, tx *sql.Tx) (*writer, error) {
	var w writer
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&w.selectScope, `SELECT id, name, arn, status, result_sha256 FROM notebooks WHERE account_id = ? AND region = ?`},
		{&w.insertNotebook, `INSERT INTO notebooks
			(account_id, region, name, arn, status, internet_path, result_sha256) VALUES (?, ?, ?, ?, ?, ?, ?)`},
		{&w.updateNotebook, `UPDATE notebooks SET arn = ?, status = ?, internet_path = ?, result_sha256 = ? WHERE id = ?`},
		{&w.putResult, `INSERT OR REPLACE INTO results (notebook_id, result) VALUES (?, ?)`},
		{&w.deleteNotebook, `DELETE FROM notebooks WHERE id = ?`},
		{&w.insertTransition, `INSERT INTO transitions
			(scan_id, account_id, region, name, arn, from_status, to_status, internet_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`},
	} {
		stmt, err := tx.PrepareContext(ctx, p.query)
		if err != nil {
			w.close()
			return nil, err
		}
		*p.stmt = stmt
	}
	return &w, nil
}

func (w *writer) close() {
	for _, st := range []*sql.Stmt{w.selectScope, w.insertNotebook, w.updateNotebook, w.putResult, w.deleteNotebook,
		w.insertTransition} {
		if st != nil {
			_ = st.Close() // closing a statement of a transaction that ends anyway
		}
	}
}

// apply replaces the stored state of one account-region with sc's results
// and appends the transitions (without their time and cause) to trs.
func (w *writer) apply(ctx context.Context, sc scopeResults, trs []Transition) ([]Transition, error) {
	acct, region := sc.scope.AccountID, sc.scope.Region
	old, err := w.load(ctx, acct, region)
	if err != nil {
		return trs, err
	}
	for _, in := range sc.results {
		r := in.r
		name, status := storedName(r), string(r.Status)
		st, ok := old[name]
		switch {
		case !ok:
			res, err := w.insertNotebook.ExecContext(ctx, acct, region, name, r.Resource.ARN, status,
				string(r.InternetPath), in.sum[:])
			var id int64
			if err == nil {
				id, err = res.LastInsertId()
			}
			if err == nil {
				_, err = w.putResult.ExecContext(ctx, id, in.doc)
			}
			if err != nil {
				return trs, fmt.Errorf("storing notebook %s: %w", name, err)
			}
		case st.status != status || string(st.sum) != string(in.sum[:]):
			st.seen = true
			_, err := w.updateNotebook.ExecContext(ctx, r.Resource.ARN, status, string(r.InternetPath), in.sum[:], st.id)
			if err == nil {
				_, err = w.putResult.ExecContext(ctx, st.id, in.doc)
			}
			if err != nil {
				return trs, fmt.Errorf("storing notebook %s: %w", name, err)
			}
		default:
			st.seen = true // unchanged: nothing to write
		}
		if !ok || st.status != status {
			from := ""
			if ok {
				from = st.status
			}
			trs = append(trs, Transition{AccountID: acct, Region: region, Name: name, ARN: r.Resource.ARN,
				From: from, To: status, InternetPath: string(r.InternetPath)})
		}
	}
	for name, st := range old {
		if st.seen || slices.ContainsFunc(sc.keep, func(p string) bool { return strings.HasPrefix(name, p) }) {
			continue // unchanged, or not read: what is stored stands
		}
		if _, err := w.deleteNotebook.ExecContext(ctx, st.id); err != nil {
			return trs, fmt.Errorf("removing notebook %s: %w", name, err)
		}
		trs = append(trs, Transition{AccountID: acct, Region: region, Name: name, ARN: st.arn,
			From: st.status, To: StatusDeleted})
	}
	return trs, nil
}

// load reads the stored state of one account-region.
func (w *writer) load(ctx context.Context, acct, region string) (map[string]*stored, error) {
	rows, err := w.selectScope.QueryContext(ctx, acct, region)
	if err != nil {
		return nil, fmt.Errorf("reading stored notebooks: %w", err)
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err below reports failures
	old := make(map[string]*stored)
	for rows.Next() {
		var name string
		st := new(stored)
		if err := rows.Scan(&st.id, &name, &st.arn, &st.status, &st.sum); err != nil {
			return nil, fmt.Errorf("reading stored notebooks: %w", err)
		}
		old[name] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading stored notebooks: %w", err)
	}
	return old, nil
}

// countStatuses counts the stored notebooks by status. The statuses a
// result can have are always present, with 0 when none has it, so that a
// trend's series do not come and go.
func countStatuses(ctx context.Context, q queryer) (map[finding.Status]int, error) {
	counts := map[finding.Status]int{finding.StatusPass: 0, finding.StatusFail: 0, finding.StatusReview: 0,
		finding.StatusError: 0, finding.StatusMuted: 0}
	rows, err := q.QueryContext(ctx, `SELECT status, count(*) FROM notebooks GROUP BY status`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err below reports failures
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return nil, err
		}
		counts[finding.Status(status)] = n
	}
	return counts, rows.Err()
}

// queryer is what *sql.DB and *sql.Tx share.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}
