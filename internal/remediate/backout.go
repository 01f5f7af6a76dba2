package remediate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/sagefence/sagefence/internal/journal"
)

// StateChangedError is a backout stopping because a resource's live state is
// no longer what apply left: someone changed it since. Force restores it
// anyway.
type StateChangedError struct {
	Resource string
	Seq      int
	Diff     []string
}

func (e *StateChangedError) Error() string {
	return fmt.Sprintf("%s changed since apply (apply step %d): %s; check it, then back out with --force to restore it anyway",
		e.Resource, e.Seq, joinLines(e.Diff))
}

// lockApplyRun takes the journal's lock for what (backout, finalize),
// finishes the records of runs whose process died, and returns the apply
// run runID; any other kind of run is refused.
func lockApplyRun(ctx context.Context, j *journal.Journal, runID, what, done string, opts Options) (*journal.Lock, journal.Run, error) {
	lock, err := j.Lock(what + " of run " + runID)
	if err != nil {
		return nil, journal.Run{}, err
	}
	jctx := context.WithoutCancel(ctx)
	fail := func(err error) (*journal.Lock, journal.Run, error) {
		_ = lock.Release()
		return nil, journal.Run{}, err
	}
	if err := reap(jctx, j, opts.Now()); err != nil {
		return fail(err)
	}
	target, err := j.Run(jctx, runID)
	if err != nil {
		return fail(err)
	}
	if target.Kind != journal.KindApply {
		return fail(fmt.Errorf("run %s is a %s run; only apply runs are %s", runID, target.Kind, done))
	}
	return lock, target, nil
}

// alreadyDone is the result of backing out or finalizing a run a second
// time: the run as it stands, and nothing changed.
func alreadyDone(ctx context.Context, j *journal.Journal, runID, done string) (*RunResult, error) {
	res, err := ShowRun(ctx, j, runID)
	if err != nil {
		return nil, err
	}
	res.NothingToDo = true
	res.Message = fmt.Sprintf("run %s is already %s; nothing changed", runID, done)
	return res, nil
}

// Backout reverses an apply run from its journal: every step that was done
// (or was in flight when the process ended) is undone in reverse order.
//
// Before each inverse it compares the live state with what apply left and
// stops with a *StateChangedError when they differ, unless opts.Force. A step
// that was in flight when apply crashed is judged from the live state: if
// it equals the state before the step, the call never took effect and
// nothing is done; otherwise it is reversed. A resource the run created
// (the replacement notebook, temporary lifecycle configurations) is
// deleted once, which reverses every later step on it.
//
// Backing out a run twice changes nothing the second time; an interrupted
// backout is finished by running it again.
func Backout(ctx context.Context, runID string, clients ClientsFunc, j *journal.Journal, opts Options) (*RunResult, error) {
	opts = opts.withDefaults()
	lock, target, err := lockApplyRun(ctx, j, runID, "backout", "backed out", opts)
	if err != nil {
		return nil, err
	}
	defer func() { _ = lock.Release() }() // the OS drops it with the process anyway
	jctx := context.WithoutCancel(ctx)
	switch target.Status {
	case journal.RunFinalized:
		return nil, fmt.Errorf("run %s was finalized: the notebooks it replaced are deleted, so it can no longer be backed out", runID)
	case journal.RunBackedOut:
		return alreadyDone(jctx, j, runID, "backed out")
	}
	plan, err := storedPlan(jctx, j, runID)
	if err != nil {
		return nil, err
	}
	steps, err := j.Steps(jctx, runID)
	if err != nil {
		return nil, err
	}
	inFlight, err := interruptedUndos(jctx, j, runID)
	if err != nil {
		return nil, err
	}

	run := journal.Run{ID: opts.NewRunID(), Kind: journal.KindBackout, TargetRun: runID, PlanHash: target.PlanHash,
		Status: journal.RunRunning, StartedAt: opts.Now().UTC(), PID: os.Getpid(), Host: hostname()}
	if err := j.CreateRun(jctx, run); err != nil {
		return nil, err
	}
	b := &backout{executor: executor{j: j, opts: opts, runID: run.ID}, target: runID, plan: plan, clients: clients,
		inFlight: inFlight}
	runErr := b.reverse(ctx, steps)

	status, msg := journal.RunCompleted, ""
	var changed *StateChangedError
	switch {
	case runErr == nil:
	case errors.As(runErr, &changed):
		status, msg = journal.RunStopped, runErr.Error()
	case errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded):
		status, msg = journal.RunInterrupted, runErr.Error()
	default:
		status, msg = journal.RunFailed, runErr.Error()
	}
	if err := j.FinishRun(jctx, run.ID, status, msg, opts.Now().UTC()); err != nil {
		return nil, errors.Join(runErr, err)
	}
	if runErr == nil {
		if err := j.SetRunStatus(jctx, runID, journal.RunBackedOut); err != nil {
			return nil, err
		}
	}
	res, err := ShowRun(jctx, j, run.ID)
	if err != nil {
		return nil, errors.Join(runErr, err)
	}
	if runErr != nil {
		res.Message = fmt.Sprintf("backout %s of run %s stopped before it finished", run.ID, runID)
		return res, fmt.Errorf("backout run %s: %w", run.ID, runErr)
	}
	res.Message = fmt.Sprintf("run %s is backed out (backout run %s)", runID, run.ID)
	return res, nil
}

// undoIntent is the journaled intent of a backout step.
type undoIntent struct {
	Run    string          `json:"run"`
	Seq    int             `json:"seq"`
	Step   string          `json:"step"`
	Intent json.RawMessage `json:"intent"`
	Why    string          `json:"why"`
}

// interruptedUndos lists the apply steps whose undo an earlier backout
// began but never finished: their resources may be anywhere between the
// states before and after the step.
func interruptedUndos(ctx context.Context, j *journal.Journal, runID string) (map[int]bool, error) {
	runs, err := j.RunsTargeting(ctx, runID)
	if err != nil {
		return nil, err
	}
	out := map[int]bool{}
	for _, r := range runs {
		if r.Kind != journal.KindBackout {
			continue
		}
		steps, err := j.Steps(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		for _, s := range steps {
			if s.Status == journal.StepPending || s.Status == journal.StepFailed {
				var in undoIntent
				if json.Unmarshal(s.Intent, &in) == nil && in.Run == runID {
					out[in.Seq] = true
				}
			}
		}
	}
	return out, nil
}

type backout struct {
	executor
	target   string
	plan     *Plan
	clients  ClientsFunc
	inFlight map[int]bool
}

type decoded struct {
	journal.Step
	s step
}

func (b *backout) reverse(ctx context.Context, steps []journal.Step) error {
	var todo []decoded
	created := map[string]int{} // resource -> seq of the step that created it
	for _, st := range steps {
		if st.Status == journal.StepUndone || st.Status == journal.StepSkipped ||
			(st.Status == journal.StepFailed && !wasAttempted(st.Result)) {
			continue
		}
		s, err := decodeStep(st.Action, st.Intent)
		if err != nil {
			if st.Status == journal.StepFailed {
				continue // an action that failed before any step (clients, drift check): nothing to undo
			}
			return fmt.Errorf("run %s step %d: %w", b.target, st.Seq, err)
		}
		todo = append(todo, decoded{st, s})
		switch s.(type) {
		case *createNotebook, *createLifecycleConfig:
			created[s.resource()] = st.Seq
		}
	}
	done := map[string]bool{} // created resources already removed by this backout
	for i := len(todo) - 1; i >= 0; i-- {
		d := todo[i]
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted before undoing apply step %d: %w", d.Seq, err)
		}
		if cseq, ok := created[d.s.resource()]; ok {
			if done[d.s.resource()] {
				if err := b.mark(context.WithoutCancel(ctx), d, journal.StepUndone,
					fmt.Sprintf("reversed by deleting %s (created by apply step %d)", d.s.resource(), cseq)); err != nil {
					return err
				}
				continue
			}
			done[d.s.resource()] = true
			creator := todo[indexOf(todo, cseq)]
			if err := b.undo(ctx, d, creator.s, true); err != nil {
				return err
			}
			continue
		}
		if err := b.undo(ctx, d, d.s, false); err != nil {
			return err
		}
	}
	return nil
}

func indexOf(todo []decoded, seq int) int {
	for i, d := range todo {
		if d.Seq == seq {
			return i
		}
	}
	return -1
}

// undo reverses one apply step d with the inverse of step inv (d's own step,
// or the step that created d's resource when deleting it reverses d).
func (b *backout) undo(ctx context.Context, d decoded, inv step, deleting bool) error {
	jctx := context.WithoutCancel(ctx)
	a := b.action(d.ActionID)
	if a == nil {
		return fmt.Errorf("run %s step %d: action %s is not in the run's plan", b.target, d.Seq, d.ActionID)
	}
	c, err := b.clients(ctx, a.AccountID, a.Region)
	if err != nil {
		return fmt.Errorf("clients for %s/%s: %w", a.AccountID, a.Region, err)
	}
	r := b.opts.runner(c, b.target, b.seq+1)
	live, err := d.s.observe(ctx, r)
	if err != nil {
		return err
	}
	var before, after State
	if err := unmarshalState(d.Before, &before); err != nil {
		return fmt.Errorf("run %s step %d: %w", b.target, d.Seq, err)
	}
	hasAfter := len(d.After) > 0
	if hasAfter {
		if err := unmarshalState(d.After, &after); err != nil {
			return fmt.Errorf("run %s step %d: %w", b.target, d.Seq, err)
		}
	}
	invBefore := before
	if deleting {
		invBefore = State{Absent: true}
	}

	inFlight := d.Status != journal.StepDone || b.inFlight[d.Seq]
	why := ""
	var foreign []string // changes made since apply, kept when forced
	switch {
	case deleting && live.Absent:
		return b.mark(jctx, d, journal.StepUndone, fmt.Sprintf("%s does not exist: nothing to delete", d.s.resource()))
	case !deleting && len(Diff(before, live)) == 0 && inFlight && d.Status != journal.StepDone:
		return b.mark(jctx, d, journal.StepSkipped, "the call in flight when apply stopped had no effect (live state equals the before-state)")
	case !deleting && len(Diff(before, live)) == 0:
		return b.mark(jctx, d, journal.StepUndone, "already restored (live state equals the before-state)")
	case inFlight:
		why = "in flight when the process ended; live state differs from the before-state, so the call took effect"
	case hasAfter && len(Diff(after, live)) == 0:
		why = "live state is what apply left"
	default:
		diff := []string{"no after-state was recorded"}
		if hasAfter {
			diff = Diff(after, live)
		}
		if !b.opts.Force {
			return &StateChangedError{Resource: d.s.resource(), Seq: d.Seq, Diff: diff}
		}
		why = "forced: live state differs from what apply left: " + joinLines(diff)
		foreign = diff
	}

	b.seq++
	seq := b.seq
	r = b.opts.runner(c, b.target, seq)
	in := undoIntent{Run: b.target, Seq: d.Seq, Step: d.Action, Intent: d.Intent, Why: why}
	if err := b.j.BeginStep(jctx, journal.Step{RunID: b.runID, Seq: seq, ActionID: d.ActionID, Action: "undo-" + inv.kind(),
		Resource: d.s.resource(), Intent: mustJSON(in), Before: mustJSON(live), StartedAt: b.opts.Now().UTC()}); err != nil {
		return err
	}
	b.opts.at(seq, pointIntent)
	undoErr := inv.undo(ctx, r, invBefore)
	b.opts.at(seq, pointCall)
	judge := undoErr != nil && settleAfterError(ctx, r, inv)
	now, obsErr := d.s.observe(jctx, r)
	o := journal.StepOutcome{Status: journal.StepDone, Note: why, At: b.opts.Now().UTC()}
	if obsErr == nil {
		o.After = mustJSON(now)
		if judge && len(Diff(live, now)) > 0 && len(without(Diff(invBefore, now), foreign)) == 0 {
			o.Note, undoErr = why+"; "+inPlaceNote(undoErr), nil
		} else if undoErr == nil {
			if rest := without(Diff(invBefore, now), foreign); len(rest) > 0 {
				undoErr = fmt.Errorf("%s is not back to its state before step %d: %s", d.s.resource(), d.Seq, joinLines(rest))
			}
		}
	} else if undoErr == nil {
		undoErr = obsErr
	}
	if undoErr != nil {
		o.Status, o.Error = journal.StepFailed, undoErr.Error()
	}
	if err := b.j.FinishStep(jctx, b.runID, seq, o); err != nil {
		return errors.Join(undoErr, err)
	}
	b.opts.at(seq, pointResult)
	b.progress(StepResult{Seq: seq, ActionID: d.ActionID, Action: "undo-" + inv.kind(), Resource: d.s.resource(),
		Status: o.Status, Error: o.Error, Note: o.Note, Undoes: d.Seq})
	if undoErr != nil {
		return fmt.Errorf("undoing apply step %d (%s %s): %w", d.Seq, d.Action, d.s.resource(), undoErr)
	}
	return b.j.MarkStep(jctx, b.target, d.Seq, journal.StepUndone, why, b.runID)
}

func (b *backout) mark(ctx context.Context, d decoded, status journal.StepStatus, note string) error {
	if err := b.j.MarkStep(ctx, b.target, d.Seq, status, note, b.runID); err != nil {
		return err
	}
	// Not a step of the backout (it made no call): reported by the apply
	// step it concerns, with no backout number.
	b.progress(StepResult{ActionID: d.ActionID, Action: d.Action, Resource: d.s.resource(), Status: status,
		Note: note, UndoneBy: b.runID, Undoes: d.Seq})
	return nil
}

func (b *backout) action(id string) *Action {
	for i := range b.plan.Actions {
		if b.plan.Actions[i].ID == id {
			return &b.plan.Actions[i]
		}
	}
	return nil
}

func unmarshalState(raw json.RawMessage, s *State) error {
	if len(raw) == 0 {
		return errors.New("no state recorded")
	}
	if err := json.Unmarshal(raw, s); err != nil {
		return fmt.Errorf("recorded state is unreadable: %w", err)
	}
	return nil
}

// without returns the lines of d that are not in drop.
func without(d, drop []string) []string {
	var out []string
	for _, l := range d {
		if !slices.Contains(drop, l) {
			out = append(out, l)
		}
	}
	return out
}
