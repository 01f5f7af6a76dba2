package remediate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/journal"
)

// Apply executes a plan once. It takes the journal's lock (a second apply or
// backout is refused), refuses nothing else: a plan already applied is
// reported with NothingToDo and no AWS call is made.
//
// For every action, in plan order, it re-reads the live state and compares
// it with the plan's before-state: on drift the action is skipped and
// reported and the run goes on. Otherwise it carries the action out step by
// step; each step's intent and the live state it found are committed to the
// journal before the AWS call, and its result after. The run stops at the
// first failed step, and between steps when ctx is cancelled.
//
// The returned RunResult describes the run whenever one was started; the
// error is non-nil when the run did not complete (a step failed, ctx was
// cancelled) or could not start (lock held, invalid plan, journal error).
// A run that did not complete also reports the step it failed at and, read
// live after it stopped, every resource it left changed.
//
// Apply journals a run even for a plan with no ready action; callers that
// should not use such a plan up check Plan.CheckReady first.
func Apply(ctx context.Context, plan *Plan, clients ClientsFunc, j *journal.Journal, opts Options) (*RunResult, error) {
	opts = opts.withDefaults()
	if err := plan.Validate(); err != nil {
		return nil, err
	}
	lock, err := j.Lock("apply of plan " + short(plan.Hash))
	if err != nil {
		return nil, err
	}
	defer func() { _ = lock.Release() }() // the OS drops it with the process anyway
	jctx := context.WithoutCancel(ctx)    // journal writes must land even after a cancel
	if err := reap(jctx, j, opts.Now()); err != nil {
		return nil, err
	}

	if res, err := AppliedBefore(jctx, j, plan); res != nil || err != nil {
		return res, err
	}

	raw, err := json.Marshal(plan)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", short(plan.Hash), err)
	}
	run := journal.Run{ID: opts.NewRunID(), Kind: journal.KindApply, PlanHash: plan.Hash, Status: journal.RunRunning,
		StartedAt: opts.Now().UTC(), PID: os.Getpid(), Host: hostname(), Plan: raw}
	if err := j.CreateRun(jctx, run); err != nil {
		return nil, err
	}
	x := &executor{j: j, opts: opts, runID: run.ID}
	runErr := x.applyPlan(ctx, plan, clients)

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
	res, err := ShowRun(jctx, j, run.ID)
	if err != nil {
		return nil, errors.Join(runErr, err)
	}
	if runErr != nil {
		res.Failure = failureOf(res.Steps, runErr)
		left, err := x.leftChanged(ctx, plan, clients)
		if err != nil {
			// What the run touched is unknown: say so where the
			// resources would have been listed.
			left = []ResourceChange{{Resource: "run " + run.ID, ReadError: "reading its steps: " + err.Error()}}
		}
		res.LeftChanged = left
		res.Message = applyMessage(res)
		return res, fmt.Errorf("apply run %s: %w", run.ID, runErr)
	}
	res.Message = applyMessage(res)
	return res, nil
}

// AppliedBefore returns the run that applied plan, marked NothingToDo, or
// nil when the journal has none: a plan is used once.
func AppliedBefore(ctx context.Context, j *journal.Journal, plan *Plan) (*RunResult, error) {
	prior, err := j.RunsByPlanHash(ctx, journal.KindApply, plan.Hash)
	if err != nil || len(prior) == 0 {
		return nil, err
	}
	res, err := ShowRun(ctx, j, prior[0].ID)
	if err != nil {
		return nil, err
	}
	res.NothingToDo = true
	res.Message = fmt.Sprintf("plan %s was already applied in run %s (%s); nothing changed. A plan is used once: "+
		"scan and plan again to remediate what is still failing", short(plan.Hash), prior[0].ID, prior[0].Status)
	return res, nil
}

// executor runs steps for one run and journals them.
type executor struct {
	j     *journal.Journal
	opts  Options
	runID string
	seq   int
}

func (x *executor) applyPlan(ctx context.Context, plan *Plan, clients ClientsFunc) error {
	for i := range plan.Actions {
		a := &plan.Actions[i]
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted before action %s: %w", a.ID, err)
		}
		if a.Blocked != "" {
			if err := x.record(ctx, a, "blocked", []string{a.Blocked}, nil); err != nil {
				return err
			}
			continue
		}
		c, err := clients(ctx, a.AccountID, a.Region)
		if err != nil {
			err = fmt.Errorf("clients for %s/%s: %w", a.AccountID, a.Region, err)
			return errors.Join(err, x.record(ctx, a, "error", nil, err))
		}
		r := x.opts.runner(c, x.runID, x.seq+1)
		drift, err := checkDrift(ctx, r, a)
		if err != nil {
			return errors.Join(err, x.record(ctx, a, "error", nil, err))
		}
		if len(drift) > 0 {
			if err := x.record(ctx, a, "drift", drift, nil); err != nil {
				return err
			}
			continue
		}
		steps, err := expand(ctx, r, a, x.runID)
		if err != nil {
			return errors.Join(err, x.record(ctx, a, "error", nil, err))
		}
		for _, s := range steps {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("interrupted within action %s: %w", a.ID, err)
			}
			if _, err := x.execute(ctx, c, a.ID, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// record journals an action that was not carried out as one skipped (or,
// with cause, failed) pseudo-step named after the action.
func (x *executor) record(ctx context.Context, a *Action, reason string, details []string, cause error) error {
	jctx := context.WithoutCancel(ctx)
	x.seq++
	now := x.opts.Now().UTC()
	rec := skipRecord{ActionID: a.ID, Reason: reason, Details: details}
	if err := x.j.BeginStep(jctx, journal.Step{RunID: x.runID, Seq: x.seq, ActionID: a.ID, Action: string(a.Kind),
		Resource: a.Resource, Intent: mustJSON(rec), Before: mustJSON(a.Before), StartedAt: now}); err != nil {
		return err
	}
	o := journal.StepOutcome{Status: journal.StepSkipped, Note: reason + ": " + joinLines(details), At: now}
	if cause != nil {
		o.Status, o.Note, o.Error = journal.StepFailed, "", cause.Error()
	}
	if err := x.j.FinishStep(jctx, x.runID, x.seq, o); err != nil {
		return err
	}
	x.progress(StepResult{Seq: x.seq, ActionID: a.ID, Action: string(a.Kind), Resource: a.Resource, Status: o.Status,
		Note: o.Note, Error: o.Error})
	return nil
}

func (x *executor) progress(s StepResult) {
	if x.opts.OnStep != nil {
		x.opts.OnStep(s)
	}
}

// execute runs one step: observe, check the precondition, journal the
// intent and before-state, act, observe again, journal the outcome.
func (x *executor) execute(ctx context.Context, c Clients, actionID string, s step) (after State, err error) {
	jctx := context.WithoutCancel(ctx)
	x.seq++
	seq := x.seq
	r := x.opts.runner(c, x.runID, seq)
	begin := journal.Step{RunID: x.runID, Seq: seq, ActionID: actionID, Action: s.kind(), Resource: s.resource(),
		Intent: mustJSON(s), StartedAt: x.opts.Now().UTC()}
	fail := func(err error) (State, error) {
		if jerr := x.j.BeginStep(jctx, begin); jerr != nil {
			return State{}, errors.Join(err, jerr)
		}
		o := journal.StepOutcome{Status: journal.StepFailed, Error: err.Error(), Result: mustJSON(notAttempted{}),
			At: x.opts.Now().UTC()}
		if jerr := x.j.FinishStep(jctx, x.runID, seq, o); jerr != nil {
			return State{}, errors.Join(err, jerr)
		}
		x.progress(StepResult{Seq: seq, ActionID: actionID, Action: s.kind(), Resource: s.resource(), Status: o.Status, Error: o.Error})
		return State{}, err
	}

	before, err := s.observe(ctx, r)
	if err != nil {
		return fail(err)
	}
	begin.Before = mustJSON(before)
	if err := s.check(before); err != nil {
		return fail(fmt.Errorf("precondition: %w", err))
	}
	if err := x.j.BeginStep(jctx, begin); err != nil {
		return State{}, err
	}
	x.opts.at(seq, pointIntent)

	result, doErr := s.do(ctx, r, before)
	judge := doErr != nil && settleAfterError(ctx, r, s)
	after, obsErr := s.observe(jctx, r)
	o := journal.StepOutcome{Status: journal.StepDone, Result: mustJSON(result), At: x.opts.Now().UTC()}
	if obsErr == nil {
		o.After = mustJSON(after)
		if judge && len(Diff(before, after)) > 0 && len(Diff(s.expect(before), after)) == 0 {
			o.Note, doErr = inPlaceNote(doErr), nil
		} else if doErr == nil {
			if d := Diff(s.expect(before), after); len(d) > 0 {
				o.Note = "after-state differs from the expected one: " + joinLines(d)
			}
		}
	}
	if doErr != nil {
		o.Status, o.Error = journal.StepFailed, doErr.Error()
	} else if obsErr != nil {
		o.Note = "could not read the after-state: " + obsErr.Error()
	}
	if err := x.j.FinishStep(jctx, x.runID, seq, o); err != nil {
		return State{}, errors.Join(doErr, err)
	}
	x.opts.at(seq, pointResult)
	x.progress(StepResult{Seq: seq, ActionID: actionID, Action: s.kind(), Resource: s.resource(), Status: o.Status,
		Error: o.Error, Note: o.Note, Result: o.Result})
	if doErr != nil {
		return after, fmt.Errorf("step %d (%s %s): %w", seq, s.kind(), s.resource(), doErr)
	}
	return after, nil
}

// notAttempted is the result of a step that failed before its AWS call
// (the live state could not be read or the precondition did not hold):
// backout has nothing to undo for it.
type notAttempted struct {
	Attempted bool `json:"attempted"`
}

func wasAttempted(result json.RawMessage) bool {
	var n struct {
		Attempted *bool `json:"attempted"`
	}
	if json.Unmarshal(result, &n) != nil || n.Attempted == nil {
		return true
	}
	return *n.Attempted
}

// checkDrift compares the live state of an action's resource with the
// plan's before-state and lists every difference.
func checkDrift(ctx context.Context, r *runner, a *Action) ([]string, error) {
	switch a.Kind {
	case ActionRestrictSGEgress:
		g := a.Before.SecurityGroup
		live, err := observeSG(ctx, r.c.EC2, g.GroupID)
		if err != nil {
			return nil, err
		}
		if live.Absent {
			return []string{fmt.Sprintf("security group %s no longer exists", g.GroupID)}, nil
		}
		d := driftRules(g.Egress, live.SecurityGroup.Egress)
		enis, err := listInterfaces(ctx, r.c.EC2, "group-id", g.GroupID)
		if err != nil {
			return nil, err
		}
		known := map[string]bool{}
		for _, e := range a.BlastRadius.NetworkInterfaces {
			known[e.ID] = true
		}
		for _, id := range a.BlastRadius.OwnInterfaces {
			known[id] = true
		}
		for _, e := range enis {
			if !known[e.ID] {
				d = append(d, fmt.Sprintf("network interface %s (%s) uses %s since the plan was made", e.ID, e.Description, g.GroupID))
			}
		}
		return d, nil
	case ActionDisablePublicIP:
		live, err := observeSubnet(ctx, r.c.EC2, a.Before.Subnet.SubnetID)
		if err != nil {
			return nil, err
		}
		return Diff(a.Before, live), nil
	case ActionRecreateNotebook:
		live, err := observeNotebook(ctx, r.c.SageMaker, a.Before.Notebook.Name)
		if err != nil {
			return nil, err
		}
		d := Diff(a.Before, live)
		repl, err := observeNotebook(ctx, r.c.SageMaker, a.Replacement.Name)
		if err != nil {
			return nil, err
		}
		if !repl.Absent {
			d = append(d, fmt.Sprintf("a notebook instance named %s exists now", a.Replacement.Name))
		}
		if a.Data != nil && a.Data.Mode == DataCopiedThroughS3 {
			if err := headBucket(ctx, r.c.S3, a.Data.Bucket); err != nil {
				return nil, err
			}
		}
		return d, nil
	case ActionStudioVPCOnly:
		live, err := observeDomain(ctx, r.c.SageMaker, a.Resource)
		if err != nil {
			return nil, err
		}
		if live.Absent {
			return []string{fmt.Sprintf("studio domain %s no longer exists", a.Resource)}, nil
		}
		d := Diff(a.Before, live)
		for _, app := range live.Domain.ActiveApps {
			d = append(d, fmt.Sprintf("%s: UpdateDomain refuses while it runs; stop it (%s) and plan again",
				app, app.DeleteCommand(a.Resource, a.Region)))
		}
		return d, nil
	}
	return nil, fmt.Errorf("action %s: unknown kind %q", a.ID, a.Kind)
}

// driftRules compares egress semantically: the same rules must be there;
// a description counts where the plan recorded one.
func driftRules(plan, live []Rule) []string {
	d := diffRules(plan, live, false)
	liveBy := map[string]Rule{}
	for _, r := range live {
		liveBy[normRule(r).key()] = r
	}
	for _, r := range plan {
		if l, ok := liveBy[normRule(r).key()]; ok && r.Description != "" && l.Description != r.Description {
			d = append(d, fmt.Sprintf("egress rule %s: description is %q, the plan saw %q", normRule(r), l.Description, r.Description))
		}
	}
	return d
}

// expand turns an action into its steps, given the live state (which
// checkDrift found equal to the plan's before-state).
func expand(ctx context.Context, r *runner, a *Action, runID string) ([]step, error) {
	switch a.Kind {
	case ActionRestrictSGEgress:
		var steps []step
		if len(a.Authorize) > 0 {
			steps = append(steps, &authorizeSGEgress{GroupID: a.Resource, Rules: a.Authorize})
		}
		if len(a.Revoke) > 0 {
			steps = append(steps, &revokeSGEgress{GroupID: a.Resource, Rules: a.Revoke})
		}
		return steps, nil
	case ActionDisablePublicIP:
		return []step{&setSubnetPublicIP{SubnetID: a.Resource, MapPublicIPOnLaunch: false}}, nil
	case ActionRecreateNotebook:
		return expandRecreate(ctx, r, a, runID)
	case ActionStudioVPCOnly:
		return []step{&setDomainNetworkAccess{DomainID: a.Resource, Region: a.Region,
			AppNetworkAccessType: inventory.AppNetworkAccessVpcOnly}}, nil
	}
	return nil, fmt.Errorf("action %s: unknown kind %q", a.ID, a.Kind)
}

func expandRecreate(ctx context.Context, r *runner, a *Action, runID string) ([]step, error) {
	old := a.Before.Notebook
	spec := *a.Replacement
	spec.Tags = tagsWith(a.Replacement.Tags, map[string]string{TagRunID: runID})
	oldTags := map[string]string{TagReplacedBy: spec.Name, TagRunID: runID}
	finalStatus := old.Status

	if a.Data == nil || a.Data.Mode != DataCopiedThroughS3 {
		steps := []step{&createNotebook{Spec: spec}}
		if old.Status == statusInService {
			steps = append(steps, &stopNotebook{Name: old.Name})
		}
		steps = append(steps, &tagNotebook{Name: old.Name, Tags: oldTags})
		if finalStatus == statusStopped {
			// The replacement mirrors the old notebook: it was not running.
			steps = append(steps, &stopNotebook{Name: spec.Name})
		}
		return steps, nil
	}

	var orig LifecycleConfigState
	if old.LifecycleConfigName != "" {
		s, err := observeLifecycleConfig(ctx, r.c.SageMaker, old.LifecycleConfigName)
		if err != nil {
			return nil, err
		}
		if s.Absent {
			return nil, fmt.Errorf("notebook instance %s: its lifecycle configuration %s does not exist", old.Name, old.LifecycleConfigName)
		}
		orig = *s.LifecycleConfig
	}
	backup, err := backupScript(runID, *a.Data)
	if err != nil {
		return nil, err
	}
	restore, err := restoreScript(runID, *a.Data, orig.OnCreate)
	if err != nil {
		return nil, fmt.Errorf("notebook instance %s: %w", old.Name, err)
	}
	bk, rs := lifecycleName("bk", runID, old.Name), lifecycleName("rs", runID, old.Name)
	spec.LifecycleConfigName = rs
	return []step{
		&createLifecycleConfig{Name: bk, OnStart: backup},
		&backupNotebookData{Name: old.Name, BackupConfig: bk, OriginalConfig: old.LifecycleConfigName, Data: *a.Data},
		&createLifecycleConfig{Name: rs, OnCreate: restore, OnStart: orig.OnStart},
		&createNotebook{Spec: spec},
		&verifyRestore{Name: spec.Name, Data: *a.Data},
		&setNotebookLifecycle{Name: spec.Name, Config: old.LifecycleConfigName, Status: finalStatus},
		&tagNotebook{Name: old.Name, Tags: oldTags},
		&deleteLifecycleConfig{Name: rs},
		&deleteLifecycleConfig{Name: bk},
	}, nil
}

// lifecycleName names a run's temporary lifecycle configuration for one
// notebook: unique per run and notebook, within SageMaker's 63 characters.
func lifecycleName(phase, runID, notebook string) string {
	sum := sha256.Sum256([]byte(runID + "/" + notebook))
	return "sagefence-" + phase + "-" + hex.EncodeToString(sum[:6])
}
