package remediate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sagefence/sagefence/internal/journal"
)

// Options tune Apply, Backout and Finalize. The zero value is ready to use.
type Options struct {
	// Force lets Backout restore a resource whose live state is no longer
	// what apply left (someone changed it since). Backout only.
	Force bool
	// PollInterval is how often status is polled while waiting (15s).
	PollInterval time.Duration
	// NotebookTimeout bounds one notebook status transition (45m).
	NotebookTimeout time.Duration
	// DataTimeout bounds waiting for a backup or restore manifest (6h).
	DataTimeout time.Duration
	// OnStep, if set, is called after each step's result is journaled
	// (progress output).
	OnStep func(StepResult)
	// Now and NewRunID make runs deterministic in tests.
	Now      func() time.Time
	NewRunID func() string

	// hook is called at step boundaries (seq, "intent"|"call"|"result");
	// the crash tests end the process there.
	hook func(seq int, point string)
}

func (o Options) withDefaults() Options {
	if o.PollInterval <= 0 {
		o.PollInterval = 15 * time.Second
	}
	if o.NotebookTimeout <= 0 {
		o.NotebookTimeout = 45 * time.Minute
	}
	if o.DataTimeout <= 0 {
		o.DataTimeout = 6 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewRunID == nil {
		now := o.Now
		o.NewRunID = func() string { return newRunID(now()) }
	}
	return o
}

// newRunID is "r-20060102T150405Z-" plus six random hex digits.
func newRunID(t time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return "r-" + t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// Crash-test hook points.
const (
	pointIntent = "intent"
	pointCall   = "call"
	pointResult = "result"
)

func (o Options) at(seq int, point string) {
	if o.hook != nil {
		o.hook(seq, point)
	}
}

func (o Options) runner(c Clients, runID string, seq int) *runner {
	r := &runner{c: c, runID: runID, poll: o.PollInterval, notebookWait: o.NotebookTimeout, markerWait: o.DataTimeout}
	if o.hook != nil {
		r.afterCallHook = func() { o.hook(seq, pointCall) }
	}
	return r
}

// ActionStatus is where an action stands in a run.
type ActionStatus string

// Action statuses.
const (
	ActionDone ActionStatus = "done"
	// ActionSkipped: the live state differed from the plan (drift).
	ActionSkipped ActionStatus = "skipped"
	// ActionBlocked: the plan itself said it cannot be applied.
	ActionBlocked ActionStatus = "blocked"
	ActionFailed  ActionStatus = "failed"
	// ActionInFlight: a step was under way when the process ended.
	ActionInFlight ActionStatus = "in-flight"
	// ActionNotStarted: the run stopped before reaching it.
	ActionNotStarted ActionStatus = "not-started"
	// ActionUndone: a backout reversed it.
	ActionUndone ActionStatus = "undone"
)

// ActionResult is one plan action's outcome in an apply run.
type ActionResult struct {
	ID       string       `json:"id"`
	Action   ActionKind   `json:"action"`
	Resource string       `json:"resource"`
	Status   ActionStatus `json:"status"`
	Error    string       `json:"error,omitempty"`
	// Details are the drift found or why the action was blocked.
	Details []string `json:"details,omitempty"`
	// Replacement is the new notebook of a recreate-notebook action.
	Replacement string `json:"replacement,omitempty"`
}

// StepResult is one journaled step.
type StepResult struct {
	Seq      int                `json:"seq"`
	ActionID string             `json:"action_id"`
	Action   string             `json:"action"`
	Resource string             `json:"resource"`
	Status   journal.StepStatus `json:"status"`
	Error    string             `json:"error,omitempty"`
	Note     string             `json:"note,omitempty"`
	UndoneBy string             `json:"undone_by,omitempty"`
	// Undoes is, for a backout's step, the step of the apply run it
	// reverses (backout numbers its own steps from 1).
	Undoes int `json:"undoes,omitempty"`
	// Result is what the step learned, for example data manifests.
	Result json.RawMessage `json:"result,omitempty"`
}

// RunResult is the machine-readable outcome of apply, backout, finalize and
// `journal show`.
type RunResult struct {
	RunID     string            `json:"run_id"`
	Kind      journal.RunKind   `json:"kind"`
	PlanHash  string            `json:"plan_hash,omitempty"`
	TargetRun string            `json:"target_run,omitempty"`
	Status    journal.RunStatus `json:"status"`
	// NothingToDo is true when the call changed nothing because the work
	// was already done (the plan was applied before, the run backed out).
	NothingToDo bool       `json:"nothing_to_do,omitempty"`
	Message     string     `json:"message,omitempty"`
	Error       string     `json:"error,omitempty"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	// Actions is set for apply runs, in plan order, and Summary counts
	// them by outcome.
	Actions []ActionResult `json:"actions,omitempty"`
	Summary *ActionCounts  `json:"summary,omitempty"`
	// Failure is the step a failed apply stopped at, with its cause.
	Failure *StepFailure `json:"failure,omitempty"`
	// LeftChanged is set by an apply that failed or was interrupted: each
	// resource the run touched whose live state, read after it stopped, is
	// not as it was before the run. Backout restores them.
	LeftChanged []ResourceChange `json:"left_changed,omitempty"`
	Steps       []StepResult     `json:"steps"`
}

// ExitCode maps a run to the CLI's exit codes: 0 everything done (or
// nothing to do), 1 a step failed or a backout stopped on changed state,
// 3 incomplete (actions skipped for drift or blocked by the plan),
// 130 interrupted.
func (r *RunResult) ExitCode() int {
	if r.NothingToDo {
		return 0
	}
	switch r.Status {
	case journal.RunInterrupted:
		return 130
	case journal.RunFailed, journal.RunStopped, journal.RunRunning:
		return 1
	}
	for _, a := range r.Actions {
		if a.Status != ActionDone && a.Status != ActionUndone {
			return 3
		}
	}
	for _, s := range r.Steps {
		if s.Status == journal.StepSkipped && r.Kind == journal.KindFinalize && strings.HasPrefix(s.Note, "refused") {
			return 3
		}
	}
	return 0
}

// RunSummary is one line of `journal list`.
type RunSummary struct {
	journal.Run
	Steps map[journal.StepStatus]int `json:"steps"`
}

// ListRuns lists every run in the journal, oldest first.
func ListRuns(ctx context.Context, j *journal.Journal) ([]RunSummary, error) {
	runs, err := j.Runs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]RunSummary, 0, len(runs))
	for _, r := range runs {
		steps, err := j.Steps(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		s := RunSummary{Run: r, Steps: map[journal.StepStatus]int{}}
		for _, st := range steps {
			s.Steps[st.Status]++
		}
		out = append(out, s)
	}
	return out, nil
}

// ShowRun reads one run with its steps and, for an apply run, the outcome
// of every action of its plan.
func ShowRun(ctx context.Context, j *journal.Journal, runID string) (*RunResult, error) {
	run, err := j.Run(ctx, runID)
	if err != nil {
		return nil, err
	}
	steps, err := j.Steps(ctx, runID)
	if err != nil {
		return nil, err
	}
	res := &RunResult{
		RunID: run.ID, Kind: run.Kind, PlanHash: run.PlanHash, TargetRun: run.TargetRun, Status: run.Status,
		Error: run.Error, StartedAt: run.StartedAt, FinishedAt: run.FinishedAt, Steps: []StepResult{},
	}
	for _, s := range steps {
		r := StepResult{Seq: s.Seq, ActionID: s.ActionID, Action: s.Action, Resource: s.Resource,
			Status: s.Status, Error: s.Error, Note: s.Note, UndoneBy: s.UndoneBy, Result: s.Result}
		var in undoIntent
		if run.Kind == journal.KindBackout && json.Unmarshal(s.Intent, &in) == nil && in.Run == run.TargetRun {
			r.Undoes = in.Seq
		}
		res.Steps = append(res.Steps, r)
	}
	if run.Kind == journal.KindApply {
		plan, err := storedPlan(ctx, j, runID)
		if err != nil {
			return nil, err
		}
		res.Actions = actionResults(plan, steps)
		c := CountActions(res.Actions)
		res.Summary = &c
	}
	return res, nil
}

func storedPlan(ctx context.Context, j *journal.Journal, runID string) (*Plan, error) {
	raw, err := j.Plan(ctx, runID)
	if err != nil {
		return nil, err
	}
	var p Plan
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("run %s: its stored plan is unreadable: %w", runID, err)
	}
	return &p, nil
}

// skipRecord is the intent of the pseudo-step that journals an action apply
// did not carry out.
type skipRecord struct {
	ActionID string   `json:"action_id"`
	Reason   string   `json:"reason"` // "drift" or "blocked"
	Details  []string `json:"details"`
}

// actionResults derives each plan action's status from its steps.
func actionResults(p *Plan, steps []journal.Step) []ActionResult {
	by := map[string][]journal.Step{}
	for _, s := range steps {
		by[s.ActionID] = append(by[s.ActionID], s)
	}
	out := make([]ActionResult, 0, len(p.Actions))
	for _, a := range p.Actions {
		r := ActionResult{ID: a.ID, Action: a.Kind, Resource: a.Resource}
		if a.Replacement != nil {
			r.Replacement = a.Replacement.Name
		}
		ss := by[a.ID]
		switch {
		case len(ss) == 0:
			r.Status = ActionNotStarted
		case len(ss) == 1 && ss[0].Action == string(a.Kind):
			var rec skipRecord
			_ = json.Unmarshal(ss[0].Intent, &rec) // written by us; an unreadable one just loses details
			r.Details = rec.Details
			r.Status = ActionSkipped
			if rec.Reason == "blocked" {
				r.Status = ActionBlocked
			}
			if ss[0].Status == journal.StepFailed {
				r.Status, r.Error = ActionFailed, ss[0].Error
			}
		default:
			r.Status = ActionDone
			undone := true
			for _, s := range ss {
				switch s.Status {
				case journal.StepFailed:
					r.Status, r.Error = ActionFailed, s.Error
				case journal.StepPending:
					if r.Status != ActionFailed {
						r.Status = ActionInFlight
					}
				}
				if s.Status != journal.StepUndone && !(s.Status == journal.StepSkipped && s.UndoneBy != "") {
					undone = false
				}
			}
			if undone {
				r.Status = ActionUndone
			}
		}
		out = append(out, r)
	}
	return out
}

// reap marks runs left "running" by a process that is gone. It is only
// called with the journal lock held, so no live process owns them.
func reap(ctx context.Context, j *journal.Journal, now time.Time) error {
	runs, err := j.Runs(ctx)
	if err != nil {
		return err
	}
	for _, r := range runs {
		if r.Status == journal.RunRunning {
			if err := j.FinishRun(ctx, r.ID, journal.RunInterrupted,
				fmt.Sprintf("process %d ended without finishing the run (crash or kill)", r.PID), now); err != nil {
				return err
			}
		}
	}
	return nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

func mustJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Every value marshalled here is a plain struct of strings, numbers
		// and maps; failing is a programming error.
		panic(fmt.Sprintf("remediate: marshalling %T: %v", v, err))
	}
	return b
}

func joinLines(d []string) string { return strings.Join(d, "; ") }
