package journal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sagefence/sagefence/internal/statedb"
)

// RunKind is what a run does.
type RunKind string

// Run kinds.
const (
	KindApply    RunKind = "apply"
	KindBackout  RunKind = "backout"
	KindFinalize RunKind = "finalize"
)

// RunStatus is where a run stands.
type RunStatus string

// Run statuses. A run is "running" from its creation until it finishes; a
// "running" run whose process is gone was interrupted by a crash.
const (
	RunRunning RunStatus = "running"
	// RunCompleted: every step that was attempted succeeded (actions may
	// still have been skipped for drift or blocked by the plan).
	RunCompleted RunStatus = "completed"
	// RunFailed: a step failed and the run stopped there.
	RunFailed RunStatus = "failed"
	// RunInterrupted: the context was cancelled between steps.
	RunInterrupted RunStatus = "interrupted"
	// RunStopped: a backout found live state it did not expect and stopped.
	RunStopped RunStatus = "stopped"
	// RunBackedOut: an apply run whose changes a backout has reversed.
	RunBackedOut RunStatus = "backed-out"
	// RunFinalized: an apply run whose replaced notebooks were deleted.
	RunFinalized RunStatus = "finalized"
)

// StepStatus is where a step stands.
type StepStatus string

// Step statuses.
const (
	// StepPending: intent and before-state are committed; the AWS call may or
	// may not have happened (the process may have died during it).
	StepPending StepStatus = "pending"
	StepDone    StepStatus = "done"
	StepFailed  StepStatus = "failed"
	StepSkipped StepStatus = "skipped"
	// StepUndone: a backout reversed the step.
	StepUndone StepStatus = "undone"
)

// Run is one apply, backout or finalize.
type Run struct {
	ID   string  `json:"run_id"`
	Kind RunKind `json:"kind"`
	// PlanHash is the hash of the plan an apply executed.
	PlanHash string `json:"plan_hash,omitempty"`
	// TargetRun is the apply run a backout or finalize acts on.
	TargetRun  string     `json:"target_run,omitempty"`
	Status     RunStatus  `json:"status"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	PID        int        `json:"pid"`
	Host       string     `json:"host,omitempty"`
	Error      string     `json:"error,omitempty"`
	// Plan is the plan document an apply executed; read it with Journal.Plan.
	Plan json.RawMessage `json:"-"`
}

// Step is one journaled change (or wait) within a run.
type Step struct {
	RunID    string `json:"run_id"`
	Seq      int    `json:"seq"`
	ActionID string `json:"action_id"`
	// Action is the step's kind, for example "revoke-sg-egress".
	Action   string     `json:"action"`
	Resource string     `json:"resource"`
	Status   StepStatus `json:"status"`
	// Intent is what the step is about to do, Before the live state it found;
	// both are committed before the AWS call.
	Intent json.RawMessage `json:"intent"`
	Before json.RawMessage `json:"before,omitempty"`
	// After is the live state after the call, Result anything else it
	// learned (for example a data manifest).
	After      json.RawMessage `json:"after,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	Error      string          `json:"error,omitempty"`
	Note       string          `json:"note,omitempty"`
	UndoneBy   string          `json:"undone_by,omitempty"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt *time.Time      `json:"finished_at,omitempty"`
}

// NotFoundError reports a run that is not in the journal.
type NotFoundError struct {
	Path  string
	RunID string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("run %s is not in journal %s (see `sagefence journal list`)", e.RunID, e.Path)
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return statedb.FormatTime(*t)
}

func blob(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	return []byte(m)
}

// CreateRun records a new run. Its status is normally RunRunning.
func (j *Journal) CreateRun(ctx context.Context, r Run) error {
	_, err := j.db.ExecContext(ctx,
		`INSERT INTO runs (id, kind, plan_hash, target_run, plan, status, started_at, finished_at, pid, host, error)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, string(r.Kind), r.PlanHash, r.TargetRun, blob(r.Plan), string(r.Status),
		statedb.FormatTime(r.StartedAt), nullTime(r.FinishedAt), r.PID, r.Host, r.Error)
	if err != nil {
		return fmt.Errorf("journal %s: recording run %s: %w", j.path, r.ID, err)
	}
	return nil
}

// FinishRun sets a run's final status, error message and finish time.
func (j *Journal) FinishRun(ctx context.Context, id string, status RunStatus, errMsg string, at time.Time) error {
	return j.updateRun(ctx, id, `UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?`,
		string(status), errMsg, statedb.FormatTime(at), id)
}

// SetRunStatus changes a run's status, for example to RunBackedOut.
func (j *Journal) SetRunStatus(ctx context.Context, id string, status RunStatus) error {
	return j.updateRun(ctx, id, `UPDATE runs SET status = ? WHERE id = ?`, string(status), id)
}

func (j *Journal) updateRun(ctx context.Context, id, query string, args ...any) error {
	res, err := j.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("journal %s: updating run %s: %w", j.path, id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return &NotFoundError{Path: j.path, RunID: id}
	}
	return nil
}

const runColumns = `id, kind, plan_hash, target_run, status, started_at, finished_at, pid, host, error`

func scanRun(row interface{ Scan(...any) error }) (Run, error) {
	var (
		r                Run
		kind, status     string
		started          string
		finished         sql.NullString
		pid              int64
		host, errMessage string
	)
	if err := row.Scan(&r.ID, &kind, &r.PlanHash, &r.TargetRun, &status, &started, &finished, &pid, &host, &errMessage); err != nil {
		return Run{}, err
	}
	r.Kind, r.Status, r.PID, r.Host, r.Error = RunKind(kind), RunStatus(status), int(pid), host, errMessage
	var err error
	if r.StartedAt, err = statedb.ParseTime(started); err != nil {
		return Run{}, fmt.Errorf("run %s: started_at: %w", r.ID, err)
	}
	if finished.Valid {
		t, err := statedb.ParseTime(finished.String)
		if err != nil {
			return Run{}, fmt.Errorf("run %s: finished_at: %w", r.ID, err)
		}
		r.FinishedAt = &t
	}
	return r, nil
}

// Run reads one run (without its plan). A missing run is a *NotFoundError.
func (j *Journal) Run(ctx context.Context, id string) (Run, error) {
	r, err := scanRun(j.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, &NotFoundError{Path: j.path, RunID: id}
	}
	if err != nil {
		return Run{}, fmt.Errorf("journal %s: reading run %s: %w", j.path, id, err)
	}
	return r, nil
}

// Plan reads the plan document an apply run executed.
func (j *Journal) Plan(ctx context.Context, id string) (json.RawMessage, error) {
	var plan []byte
	err := j.db.QueryRowContext(ctx, `SELECT plan FROM runs WHERE id = ?`, id).Scan(&plan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{Path: j.path, RunID: id}
	}
	if err != nil {
		return nil, fmt.Errorf("journal %s: reading the plan of run %s: %w", j.path, id, err)
	}
	return plan, nil
}

// Runs lists every run, oldest first.
func (j *Journal) Runs(ctx context.Context) ([]Run, error) {
	return j.queryRuns(ctx, `SELECT `+runColumns+` FROM runs ORDER BY started_at, id`)
}

// RunsByPlanHash lists the runs of a kind that executed the plan with hash, oldest first.
func (j *Journal) RunsByPlanHash(ctx context.Context, kind RunKind, hash string) ([]Run, error) {
	return j.queryRuns(ctx, `SELECT `+runColumns+` FROM runs WHERE kind = ? AND plan_hash = ? ORDER BY started_at, id`,
		string(kind), hash)
}

// RunsTargeting lists the backout and finalize runs that acted on run id, oldest first.
func (j *Journal) RunsTargeting(ctx context.Context, id string) ([]Run, error) {
	return j.queryRuns(ctx, `SELECT `+runColumns+` FROM runs WHERE target_run = ? ORDER BY started_at, id`, id)
}

func (j *Journal) queryRuns(ctx context.Context, query string, args ...any) ([]Run, error) {
	rows, err := j.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("journal %s: listing runs: %w", j.path, err)
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err reports what matters
	var runs []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("journal %s: listing runs: %w", j.path, err)
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal %s: listing runs: %w", j.path, err)
	}
	return runs, nil
}

// BeginStep commits a step's intent and before-state with status pending.
// It must return before the AWS call the step describes is made.
func (j *Journal) BeginStep(ctx context.Context, s Step) error {
	if len(s.Intent) == 0 {
		return fmt.Errorf("journal %s: step %s/%d has no intent", j.path, s.RunID, s.Seq)
	}
	_, err := j.db.ExecContext(ctx,
		`INSERT INTO steps (run_id, seq, action_id, action, resource, status, intent, before, started_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.RunID, s.Seq, s.ActionID, s.Action, s.Resource, string(StepPending), []byte(s.Intent), blob(s.Before),
		statedb.FormatTime(s.StartedAt))
	if err != nil {
		return fmt.Errorf("journal %s: recording the intent of step %s/%d (%s %s): %w",
			j.path, s.RunID, s.Seq, s.Action, s.Resource, err)
	}
	return nil
}

// StepOutcome is what FinishStep records.
type StepOutcome struct {
	Status StepStatus
	After  json.RawMessage
	Result json.RawMessage
	Error  string
	Note   string
	At     time.Time
}

// FinishStep records a step's outcome: its status, after-state, result and error.
func (j *Journal) FinishStep(ctx context.Context, runID string, seq int, o StepOutcome) error {
	res, err := j.db.ExecContext(ctx,
		`UPDATE steps SET status = ?, after = ?, result = ?, error = ?, note = ?, finished_at = ?
		 WHERE run_id = ? AND seq = ?`,
		string(o.Status), blob(o.After), blob(o.Result), o.Error, o.Note, statedb.FormatTime(o.At), runID, seq)
	if err != nil {
		return fmt.Errorf("journal %s: recording the result of step %s/%d: %w", j.path, runID, seq, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("journal %s: step %s/%d was never begun", j.path, runID, seq)
	}
	return nil
}

// MarkStep changes the status of an existing step, keeping its states; a
// backout uses it to record that it reversed (or found nothing to reverse
// for) a step of the apply run. by names the run that did it.
func (j *Journal) MarkStep(ctx context.Context, runID string, seq int, status StepStatus, note, by string) error {
	res, err := j.db.ExecContext(ctx, `UPDATE steps SET status = ?, note = ?, undone_by = ? WHERE run_id = ? AND seq = ?`,
		string(status), note, by, runID, seq)
	if err != nil {
		return fmt.Errorf("journal %s: marking step %s/%d %s: %w", j.path, runID, seq, status, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("journal %s: step %s/%d does not exist", j.path, runID, seq)
	}
	return nil
}

// Steps lists a run's steps in order.
func (j *Journal) Steps(ctx context.Context, runID string) ([]Step, error) {
	rows, err := j.db.QueryContext(ctx,
		`SELECT run_id, seq, action_id, action, resource, status, intent, before, after, result, error, note,
		        undone_by, started_at, finished_at
		 FROM steps WHERE run_id = ? ORDER BY seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("journal %s: listing steps of run %s: %w", j.path, runID, err)
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err reports what matters
	var steps []Step
	for rows.Next() {
		var (
			s                     Step
			status, started       string
			intent, before, after []byte
			result                []byte
			finished              sql.NullString
		)
		if err := rows.Scan(&s.RunID, &s.Seq, &s.ActionID, &s.Action, &s.Resource, &status, &intent, &before, &after,
			&result, &s.Error, &s.Note, &s.UndoneBy, &started, &finished); err != nil {
			return nil, fmt.Errorf("journal %s: listing steps of run %s: %w", j.path, runID, err)
		}
		s.Status = StepStatus(status)
		s.Intent, s.Before, s.After, s.Result = intent, before, after, result
		if s.StartedAt, err = statedb.ParseTime(started); err != nil {
			return nil, fmt.Errorf("journal %s: step %s/%d: %w", j.path, runID, s.Seq, err)
		}
		if finished.Valid {
			t, err := statedb.ParseTime(finished.String)
			if err != nil {
				return nil, fmt.Errorf("journal %s: step %s/%d: %w", j.path, runID, s.Seq, err)
			}
			s.FinishedAt = &t
		}
		steps = append(steps, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal %s: listing steps of run %s: %w", j.path, runID, err)
	}
	return steps, nil
}
