package remediate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/smithy-go"

	"github.com/sagefence/sagefence/internal/journal"
)

// What an apply run means to the person who ran it: how many actions came
// out which way, the step a failed run stopped at, and what it left changed.
// The CLI prints these; the JSON result carries them as fields added to its
// contract.

// ActionCounts counts an apply run's actions by outcome.
type ActionCounts struct {
	// Done actions changed what they were planned to change.
	Done int `json:"done"`
	// Skipped actions found the live state no longer as planned (drift).
	Skipped int `json:"skipped"`
	// Blocked actions were marked blocked by the plan.
	Blocked int `json:"blocked"`
	Failed  int `json:"failed"`
	// NotStarted actions were not reached: the run stopped before them.
	NotStarted int `json:"not_started,omitempty"`
	// InFlight actions had a step under way when the process ended.
	InFlight int `json:"in_flight,omitempty"`
	// Undone actions were reversed by a backout.
	Undone int `json:"undone,omitempty"`
}

// CountActions counts actions by status.
func CountActions(actions []ActionResult) ActionCounts {
	var c ActionCounts
	for _, a := range actions {
		switch a.Status {
		case ActionDone:
			c.Done++
		case ActionSkipped:
			c.Skipped++
		case ActionBlocked:
			c.Blocked++
		case ActionFailed:
			c.Failed++
		case ActionNotStarted:
			c.NotStarted++
		case ActionInFlight:
			c.InFlight++
		case ActionUndone:
			c.Undone++
		}
	}
	return c
}

// String is the summary line of a run: "1 changed, 2 skipped (drift),
// 0 failed, 0 blocked", then whatever else is not zero.
func (c ActionCounts) String() string {
	s := fmt.Sprintf("%d changed, %d skipped (drift), %d failed, %d blocked", c.Done, c.Skipped, c.Failed, c.Blocked)
	for _, x := range []struct {
		n    int
		what string
	}{{c.NotStarted, "not started"}, {c.InFlight, "in flight"}, {c.Undone, "undone"}} {
		if x.n > 0 {
			s += fmt.Sprintf(", %d %s", x.n, x.what)
		}
	}
	return s
}

// StepFailure is the step a run stopped at.
type StepFailure struct {
	Seq      int    `json:"seq"`
	Action   string `json:"action"`
	Resource string `json:"resource"`
	// Error is the cause in one line: AWS's error code and message, with
	// the service and operation, when AWS refused the call; otherwise the
	// step's error.
	Error string `json:"error"`
}

// failureOf finds the failed step of a run that cause ended.
func failureOf(steps []StepResult, cause error) *StepFailure {
	for i := len(steps) - 1; i >= 0; i-- {
		s := steps[i]
		if s.Status != journal.StepFailed {
			continue
		}
		f := &StepFailure{Seq: s.Seq, Action: s.Action, Resource: s.Resource, Error: s.Error}
		if m := awsError(cause); m != "" {
			f.Error = m
		}
		return f
	}
	return nil
}

// awsError is AWS's answer in err, as "SageMaker AddTags: AccessDeniedException:
// message", or "" when err holds no AWS error.
func awsError(err error) string {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return ""
	}
	s := ae.ErrorCode()
	if m := ae.ErrorMessage(); m != "" {
		s += ": " + m
	}
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		s = oe.Service() + " " + oe.Operation() + ": " + s
	}
	return s
}

// ResourceChange is a resource a run touched whose live state differs from
// its state before the run.
type ResourceChange struct {
	Resource  string `json:"resource"`
	AccountID string `json:"account_id,omitempty"`
	Region    string `json:"region,omitempty"`
	// Changes say how it differs, one per line ("nb-direct is Stopped, was
	// InService").
	Changes []string `json:"changes,omitempty"`
	// ReadError is set when its live state could not be read: it may differ.
	ReadError string `json:"read_error,omitempty"`
}

// leftChangedTimeout bounds reading back what a stopped run touched; the
// run has already ended, perhaps because the user pressed Ctrl-C.
const leftChangedTimeout = time.Minute

// leftChanged reads the live state of every resource the run's steps
// touched, after the run stopped, and returns those that are not as they
// were before the run, in the order the run first touched them.
func (x *executor) leftChanged(ctx context.Context, plan *Plan, clients ClientsFunc) ([]ResourceChange, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leftChangedTimeout)
	defer cancel()
	steps, err := x.j.Steps(ctx, x.runID)
	if err != nil {
		return nil, err
	}
	actions := map[string]*Action{}
	for i := range plan.Actions {
		actions[plan.Actions[i].ID] = &plan.Actions[i]
	}
	type touched struct {
		s      step
		before State
		action *Action
	}
	var order []string
	first := map[string]touched{}
	for _, st := range steps {
		if st.Status == journal.StepSkipped || (st.Status == journal.StepFailed && !wasAttempted(st.Result)) {
			continue
		}
		s, err := decodeStep(st.Action, st.Intent)
		if err != nil {
			continue // an action's pseudo-step (blocked, drift, error): it touched nothing
		}
		a := actions[st.ActionID]
		var before State
		if a == nil || unmarshalState(st.Before, &before) != nil {
			continue
		}
		key := a.AccountID + "/" + a.Region + "/" + family(s) + "/" + s.resource()
		if _, ok := first[key]; ok {
			continue
		}
		first[key] = touched{s: s, before: before, action: a}
		order = append(order, key)
	}
	var out []ResourceChange
	for _, key := range order {
		t := first[key]
		rc := ResourceChange{Resource: t.s.resource(), AccountID: t.action.AccountID, Region: t.action.Region}
		c, err := clients(ctx, t.action.AccountID, t.action.Region)
		var live State
		if err == nil {
			live, err = t.s.observe(ctx, x.opts.runner(c, x.runID, 0))
		}
		if err != nil {
			rc.ReadError = err.Error()
			out = append(out, rc)
			continue
		}
		if rc.Changes = describeChange(t.s.resource(), t.before, live); len(rc.Changes) > 0 {
			out = append(out, rc)
		}
	}
	return out, nil
}

// family is the kind of resource a step changes: two steps on resources of
// one name but different kinds touch different things.
func family(s step) string {
	switch s.(type) {
	case *authorizeSGEgress, *revokeSGEgress:
		return "security-group"
	case *setSubnetPublicIP:
		return "subnet"
	case *createLifecycleConfig, *deleteLifecycleConfig:
		return "lifecycle-config"
	case *setDomainNetworkAccess:
		return "studio-domain"
	}
	return "notebook"
}

// describeChange says in plain words how live differs from before, one line
// each; nil when it does not.
func describeChange(name string, before, live State) []string {
	switch {
	case before.Absent && live.Absent:
		return nil
	case before.Absent:
		switch {
		case live.Notebook != nil:
			return []string{fmt.Sprintf("%s exists (%s), did not before the run", name, live.Notebook.Status)}
		case live.LifecycleConfig != nil:
			return []string{fmt.Sprintf("lifecycle configuration %s exists, did not before the run", name)}
		}
		return []string{fmt.Sprintf("%s exists, did not before the run", name)}
	case live.Absent:
		return []string{fmt.Sprintf("%s no longer exists", name)}
	}
	var d []string
	switch {
	case before.SecurityGroup != nil && live.SecurityGroup != nil:
		had, has := map[string]Rule{}, map[string]Rule{}
		for _, r := range before.SecurityGroup.Egress {
			had[normRule(r).key()] = normRule(r)
		}
		for _, r := range live.SecurityGroup.Egress {
			has[normRule(r).key()] = normRule(r)
		}
		for _, k := range slices.Sorted(maps.Keys(had)) {
			if _, ok := has[k]; !ok {
				d = append(d, fmt.Sprintf("%s no longer allows egress %s", name, had[k].Phrase()))
			} else if had[k].Description != has[k].Description {
				d = append(d, fmt.Sprintf("%s egress %s is described %q, was %q", name, has[k].Phrase(),
					has[k].Description, had[k].Description))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(has)) {
			if _, ok := had[k]; !ok {
				d = append(d, fmt.Sprintf("%s allows egress %s, did not before the run", name, has[k].Phrase()))
			}
		}
	case before.Subnet != nil && live.Subnet != nil:
		if b, l := before.Subnet.MapPublicIPOnLaunch, live.Subnet.MapPublicIPOnLaunch; b != l {
			d = append(d, fmt.Sprintf("%s has MapPublicIpOnLaunch=%t, was %t", name, l, b))
		}
	case before.Notebook != nil && live.Notebook != nil:
		b, l := before.Notebook, live.Notebook
		compareNotebook(b, l, func(field, was, is string) {
			switch field {
			case "status":
				d = append(d, fmt.Sprintf("%s is %s, was %s", name, is, was))
			default:
				d = append(d, fmt.Sprintf("%s has %s %s, was %s", name, field, orNone(is), orNone(was)))
			}
		})
		for _, k := range slices.Sorted(maps.Keys(l.Tags)) {
			switch old, ok := b.Tags[k]; {
			case !ok:
				d = append(d, fmt.Sprintf("%s has tag %s=%s, did not before the run", name, k, l.Tags[k]))
			case old != l.Tags[k]:
				d = append(d, fmt.Sprintf("%s has tag %s=%s, was %s", name, k, l.Tags[k], old))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(b.Tags)) {
			if _, ok := l.Tags[k]; !ok {
				d = append(d, fmt.Sprintf("%s no longer has tag %s=%s", name, k, b.Tags[k]))
			}
		}
	case before.LifecycleConfig != nil && live.LifecycleConfig != nil:
		if before.LifecycleConfig.OnCreate != live.LifecycleConfig.OnCreate {
			d = append(d, fmt.Sprintf("lifecycle configuration %s has another on-create script than before the run", name))
		}
		if before.LifecycleConfig.OnStart != live.LifecycleConfig.OnStart {
			d = append(d, fmt.Sprintf("lifecycle configuration %s has another on-start script than before the run", name))
		}
	case before.Domain != nil && live.Domain != nil:
		if b, l := before.Domain.AppNetworkAccessType, live.Domain.AppNetworkAccessType; b != l {
			d = append(d, fmt.Sprintf("studio domain %s has AppNetworkAccessType %s, was %s", name, l, b))
		}
	default:
		d = append(d, fmt.Sprintf("%s is not the kind of resource it was before the run", name))
	}
	return d
}

// Phrase says what a rule allows, without its description: "all traffic
// to 0.0.0.0/0", "tcp 443 to 10.0.0.0/16", "udp 1024-2048 to pl-1234".
func (r Rule) Phrase() string {
	r = normRule(r)
	what := "all traffic"
	switch {
	case r.Protocol == "-1":
	case r.Protocol != "tcp" && r.Protocol != "udp":
		what = r.Protocol
	case r.FromPort == r.ToPort:
		what = fmt.Sprintf("%s %d", r.Protocol, r.FromPort)
	default:
		what = fmt.Sprintf("%s %d-%d", r.Protocol, r.FromPort, r.ToPort)
	}
	return what + " to " + r.Destination()
}

// applyMessage is the one-sentence outcome of an apply run, for its JSON
// result: what it did and the command that undoes it, hints only when
// something changed.
func applyMessage(res *RunResult) string {
	c := CountActions(res.Actions)
	if res.Failure != nil || res.Status == journal.RunFailed || res.Status == journal.RunInterrupted {
		where := "was interrupted"
		if f := res.Failure; f != nil {
			where = fmt.Sprintf("stopped at step %d (%s %s)", f.Seq, f.Action, f.Resource)
		}
		if len(res.LeftChanged) == 0 {
			return fmt.Sprintf("run %s %s; nothing it touched differs from before the run", res.RunID, where)
		}
		return fmt.Sprintf("run %s %s; `sagefence backout %s` restores what it changed", res.RunID, where, res.RunID)
	}
	if c.Done == 0 {
		return fmt.Sprintf("run %s changed nothing (%s); scan and plan again", res.RunID, c)
	}
	msg := fmt.Sprintf("run %s completed (%s); `sagefence backout %s` undoes it", res.RunID, c, res.RunID)
	if old := ReplacedByRun(res); len(old) > 0 {
		msg += fmt.Sprintf("; once the replacements work, `sagefence finalize %s` deletes the notebooks they replace (%s)",
			res.RunID, strings.Join(old, ", "))
	}
	return msg
}

// ReplacedByRun lists the old notebooks an apply run replaced (its
// recreate-notebook actions that are done), in plan order.
func ReplacedByRun(res *RunResult) []string {
	var out []string
	for _, a := range res.Actions {
		if a.Action == ActionRecreateNotebook && a.Status == ActionDone {
			out = append(out, a.Resource)
		}
	}
	return out
}
