package remediate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/journal"
)

// Finalize deletes the notebooks an apply run replaced. It is the only code
// that deletes a customer's notebook, and it cannot be undone: the old
// notebook's ML storage volume goes with it. Each old notebook is deleted
// only if it is still Stopped, still tagged as replaced by this run, and its
// replacement exists and is not Failed; anything else is skipped and
// reported. When every replaced notebook is gone the apply run is marked
// finalized and can no longer be backed out.
func Finalize(ctx context.Context, runID string, clients ClientsFunc, j *journal.Journal, opts Options) (*RunResult, error) {
	opts = opts.withDefaults()
	lock, target, err := lockApplyRun(ctx, j, runID, "finalize", "finalized", opts)
	if err != nil {
		return nil, err
	}
	defer func() { _ = lock.Release() }() // the OS drops it with the process anyway
	jctx := context.WithoutCancel(ctx)
	switch target.Status {
	case journal.RunBackedOut:
		return nil, fmt.Errorf("run %s was backed out: there is nothing to finalize", runID)
	case journal.RunFinalized:
		return alreadyDone(jctx, j, runID, "finalized")
	}
	plan, err := storedPlan(jctx, j, runID)
	if err != nil {
		return nil, err
	}
	reps, err := replacementsOf(jctx, j, target, plan)
	if err != nil {
		return nil, err
	}
	if len(reps) == 0 {
		return &RunResult{RunID: runID, Kind: journal.KindApply, PlanHash: target.PlanHash, Status: target.Status,
			StartedAt: target.StartedAt, FinishedAt: target.FinishedAt, NothingToDo: true, Steps: []StepResult{},
			Message: fmt.Sprintf("run %s replaced no notebook: nothing to finalize", runID)}, nil
	}

	run := journal.Run{ID: opts.NewRunID(), Kind: journal.KindFinalize, TargetRun: runID, PlanHash: target.PlanHash,
		Status: journal.RunRunning, StartedAt: opts.Now().UTC(), PID: os.Getpid(), Host: hostname()}
	if err := j.CreateRun(jctx, run); err != nil {
		return nil, err
	}
	x := &executor{j: j, opts: opts, runID: run.ID}
	deleted, runErr := 0, error(nil)
	for _, rp := range reps {
		if err := ctx.Err(); err != nil {
			runErr = fmt.Errorf("interrupted before deleting %s: %w", rp.OldName, err)
			break
		}
		ok, err := x.finalizeOne(ctx, clients, rp)
		if err != nil {
			runErr = err
			break
		}
		if ok {
			deleted++
		}
	}

	status, msg := journal.RunCompleted, ""
	switch {
	case runErr == nil:
	case errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded):
		status, msg = journal.RunInterrupted, runErr.Error()
	default:
		status, msg = journal.RunFailed, runErr.Error()
	}
	if err := j.FinishRun(jctx, run.ID, status, msg, opts.Now().UTC()); err != nil {
		return nil, errors.Join(runErr, err)
	}
	if runErr == nil && deleted == len(reps) {
		if err := j.SetRunStatus(jctx, runID, journal.RunFinalized); err != nil {
			return nil, err
		}
	}
	res, err := ShowRun(jctx, j, run.ID)
	if err != nil {
		return nil, errors.Join(runErr, err)
	}
	res.Message = fmt.Sprintf("deleted %d of %d replaced notebook(s) of run %s", deleted, len(reps), runID)
	if runErr != nil {
		return res, fmt.Errorf("finalize run %s: %w", run.ID, runErr)
	}
	return res, nil
}

func (x *executor) finalizeOne(ctx context.Context, clients ClientsFunc, rp Replacement) (bool, error) {
	c, err := clients(ctx, rp.AccountID, rp.Region)
	if err != nil {
		return false, fmt.Errorf("clients for %s/%s: %w", rp.AccountID, rp.Region, err)
	}
	a := &Action{ID: rp.ActionID, Kind: ActionRecreateNotebook, Resource: rp.OldName}
	old, err := observeNotebook(ctx, c.SageMaker, rp.OldName)
	if err != nil {
		return false, err
	}
	if old.Absent {
		return true, x.record(ctx, a, "absent", []string{fmt.Sprintf("notebook instance %s no longer exists", rp.OldName)}, nil)
	}
	var why []string
	if old.Notebook.Tags[TagReplacedBy] != rp.NewName || old.Notebook.Tags[TagRunID] != rp.RunID {
		why = append(why, fmt.Sprintf("%s is no longer tagged %s=%s, %s=%s", rp.OldName, TagReplacedBy, rp.NewName, TagRunID, rp.RunID))
	}
	if st := old.Notebook.Status; st != statusStopped && st != statusFailed {
		why = append(why, fmt.Sprintf("%s is %s (someone started it since apply)", rp.OldName, st))
	}
	repl, err := observeNotebook(ctx, c.SageMaker, rp.NewName)
	if err != nil {
		return false, err
	}
	switch {
	case repl.Absent:
		why = append(why, fmt.Sprintf("its replacement %s does not exist", rp.NewName))
	case repl.Notebook.Status == statusFailed:
		why = append(why, fmt.Sprintf("its replacement %s is Failed", rp.NewName))
	}
	if len(why) > 0 {
		return false, x.record(ctx, a, "refused", why, nil)
	}
	_, err = x.execute(ctx, c, rp.ActionID, &deleteNotebook{Name: rp.OldName})
	return err == nil, err
}

// Replacement is a notebook an apply run replaced and has not yet deleted.
type Replacement struct {
	OldName   string `json:"old_name"`
	OldARN    string `json:"old_arn"`
	NewName   string `json:"new_name"`
	RunID     string `json:"run_id"`
	ActionID  string `json:"action_id"`
	AccountID string `json:"account_id"`
	Region    string `json:"region"`
}

// ReplacedNotebooks lists, by ARN, the notebooks that apply runs replaced and
// that are pending finalize (not backed out, not finalized), so a scan can
// report them as MUTED instead of FAIL.
func ReplacedNotebooks(ctx context.Context, j *journal.Journal) (map[string]Replacement, error) {
	runs, err := j.Runs(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]Replacement{}
	for _, r := range runs {
		if r.Kind != journal.KindApply || r.Status == journal.RunBackedOut || r.Status == journal.RunFinalized {
			continue
		}
		plan, err := storedPlan(ctx, j, r.ID)
		if err != nil {
			return nil, err
		}
		reps, err := replacementsOf(ctx, j, r, plan)
		if err != nil {
			return nil, err
		}
		for _, rp := range reps {
			if rp.OldARN != "" {
				out[rp.OldARN] = rp
			}
		}
	}
	return out, nil
}

// replacementsOf lists the old notebooks a run tagged as replaced (its
// tag-notebook steps that are done and not undone).
func replacementsOf(ctx context.Context, j *journal.Journal, run journal.Run, plan *Plan) ([]Replacement, error) {
	steps, err := j.Steps(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	var out []Replacement
	for _, st := range steps {
		if st.Action != StepTagNotebook || st.Status != journal.StepDone {
			continue
		}
		var t tagNotebook
		if err := json.Unmarshal(st.Intent, &t); err != nil {
			return nil, fmt.Errorf("run %s step %d: %w", run.ID, st.Seq, err)
		}
		if t.Tags[TagReplacedBy] == "" {
			continue
		}
		rp := Replacement{OldName: t.Name, NewName: t.Tags[TagReplacedBy], RunID: run.ID, ActionID: st.ActionID}
		var before State
		if unmarshalState(st.Before, &before) == nil && before.Notebook != nil {
			rp.OldARN = before.Notebook.ARN
		}
		for _, a := range plan.Actions {
			if a.ID == st.ActionID {
				rp.AccountID, rp.Region = a.AccountID, a.Region
			}
		}
		out = append(out, rp)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].OldARN < out[k].OldARN })
	return out, nil
}

// MuteSource is the Mute.Source of results MuteReplaced mutes.
const MuteSource = "sagefence journal"

// MuteReplaced turns the FAIL or REVIEW result of a stopped notebook that a
// run replaced into MUTED ("replaced by X, pending finalize") and
// recomputes the report's summary. It returns how many results it muted.
func MuteReplaced(rep *finding.Report, replaced map[string]Replacement) int {
	n := 0
	for i := range rep.Results {
		r := &rep.Results[i]
		rp, ok := replaced[r.Resource.ARN]
		if !ok || (r.Status != finding.StatusFail && r.Status != finding.StatusReview) {
			continue
		}
		if r.Evidence.NotebookStatus != statusStopped && r.Evidence.NotebookStatus != statusFailed {
			continue // started again since: it is live, so its findings count
		}
		r.UnmutedStatus = r.Status
		r.Status = finding.StatusMuted
		r.Mute = &finding.Mute{
			Reason: fmt.Sprintf("replaced by %s (run %s), pending finalize", rp.NewName, rp.RunID),
			Source: MuteSource,
		}
		n++
	}
	rep.Summarize()
	return n
}

// FinalizeItem is a notebook Finalize would delete.
type FinalizeItem struct {
	Replacement
	// Data says what became of the data on its ML storage volume, from the
	// run's plan and the run's own check of the copy.
	Data string `json:"data"`
}

// FinalizePreview lists the notebooks Finalize would delete for an apply
// run, with what became of their data, so that the user sees both before
// confirming. It only reads the journal: Finalize checks each notebook
// again before deleting it. A run already backed out or finalized lists
// none (Finalize says why).
func FinalizePreview(ctx context.Context, j *journal.Journal, runID string) ([]FinalizeItem, error) {
	run, err := j.Run(ctx, runID)
	if err != nil {
		return nil, err
	}
	if run.Kind != journal.KindApply || run.Status == journal.RunBackedOut || run.Status == journal.RunFinalized {
		return nil, nil
	}
	plan, err := storedPlan(ctx, j, runID)
	if err != nil {
		return nil, err
	}
	reps, err := replacementsOf(ctx, j, run, plan)
	if err != nil {
		return nil, err
	}
	steps, err := j.Steps(ctx, runID)
	if err != nil {
		return nil, err
	}
	out := make([]FinalizeItem, 0, len(reps))
	for _, rp := range reps {
		var data *DataPlan
		for _, a := range plan.Actions {
			if a.ID == rp.ActionID {
				data = a.Data
			}
		}
		var check *RestoreCheck
		for _, st := range steps {
			var rc RestoreCheck
			if st.Action == StepVerifyRestore && st.ActionID == rp.ActionID && st.Status == journal.StepDone &&
				json.Unmarshal(st.Result, &rc) == nil {
				check = &rc
			}
		}
		out = append(out, FinalizeItem{Replacement: rp, Data: dataStatement(data, rp.NewName, check)})
	}
	return out, nil
}

// dataStatement says what deleting a replaced notebook does to its data.
func dataStatement(d *DataPlan, newName string, check *RestoreCheck) string {
	switch {
	case d == nil:
		return "the run's plan does not say what became of its data: its volume (/home/ec2-user/SageMaker) will be destroyed with it"
	case d.Mode == DataCopiedThroughS3 && check != nil:
		return fmt.Sprintf("data copied to %s and restored on %s (%d files, %s, checked by apply); the copy stays in S3",
			d.DataURI, newName, check.Restore.Files, byteSize(check.Restore.Bytes))
	case d.Mode == DataCopiedThroughS3:
		return fmt.Sprintf("data copied to %s; the run recorded no check of its restore on %s", d.DataURI, newName)
	}
	return fmt.Sprintf("data NOT copied: its volume (/home/ec2-user/SageMaker) will be destroyed with it, and "+
		"whatever you did not copy to %s yourself is lost", newName)
}

// byteSize is n in bytes, KiB, MiB or GiB.
func byteSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	v, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}
