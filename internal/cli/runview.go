package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sagefence/sagefence/internal/journal"
	"github.com/sagefence/sagefence/internal/remediate"
)

// How apply, backout, finalize and journal present a run: the result (the
// table) on stdout, everything about it (the prompt's preview, progress,
// hints, a failure and what it left behind) on stderr, each error once.

// stalePlan is the age past which the apply prompt warns that the account
// has probably changed since the plan's inventory was collected.
const stalePlan = 24 * time.Hour

// applyPreview says what applying p will do before the user confirms: the
// notebooks that stop or are replaced, the security groups and subnets
// that change, and how old the plan's view of the account is.
func applyPreview(w io.Writer, p *remediate.Plan, path string, now time.Time) {
	ready, blocked := p.Counts()
	fmt.Fprintf(w, "%s: %s to apply", path, plural(ready, "action"))
	if blocked > 0 {
		fmt.Fprintf(w, ", %d blocked (not applied)", blocked)
	}
	age, stale := planAge(p.InventoryCollectedAt, now)
	fmt.Fprintf(w, "; %s\n", age)
	for _, a := range p.Actions {
		if a.Blocked == "" {
			fmt.Fprintf(w, "  %s [%s %s]\n", previewLine(a), a.AccountID, a.Region)
		}
	}
	if stale {
		fmt.Fprintf(w, "warning: the plan is older than %s: the account has probably changed since; apply skips "+
			"what no longer matches it (drift), but a fresh scan and plan shows what fails now\n", duration(stalePlan))
	}
}

// planAge says when the plan's inventory was collected, and whether that is
// longer ago than stalePlan.
func planAge(collected, now time.Time) (string, bool) {
	if collected.IsZero() {
		return "when its inventory was collected is not recorded", false
	}
	d := max(now.Sub(collected), 0)
	return fmt.Sprintf("inventory collected %s (%s ago)", collected.UTC().Format(time.RFC3339), duration(d)), d > stalePlan
}

// duration is d rounded for a person: "40s", "12m", "5h", "3d".
func duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 72*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// previewLine is what one ready action will change, in a line.
func previewLine(a remediate.Action) string {
	switch a.Kind {
	case remediate.ActionRecreateNotebook:
		old, repl := a.Before.Notebook, a.Replacement
		if old == nil || repl == nil {
			break
		}
		s := fmt.Sprintf("%s stops and is replaced by %s", old.Name, repl.Name)
		if old.Status != "InService" {
			s = fmt.Sprintf("%s (%s) is replaced by %s", old.Name, old.Status, repl.Name)
		}
		s += fmt.Sprintf(" in %s with %s", orDash(repl.SubnetID), orDash(strings.Join(repl.SecurityGroupIDs, ",")))
		if a.Data != nil && a.Data.Mode == remediate.DataCopiedThroughS3 {
			s += fmt.Sprintf(", after its data is copied to %s (it is started once for that)", a.Data.DataURI)
		}
		return s
	case remediate.ActionRestrictSGEgress:
		name := a.Resource
		if g := a.Before.SecurityGroup; g != nil && g.GroupName != "" {
			name += " (" + g.GroupName + ")"
		}
		s := fmt.Sprintf("security group %s: revoke egress %s", name, rules(a.Revoke))
		if len(a.Authorize) > 0 {
			s += "; authorize " + rules(a.Authorize)
		}
		users := slices.Concat(a.Notebooks, a.BlastRadius.Notebooks)
		s += "; used by " + orDash(strings.Join(users, ", "))
		if n := len(a.BlastRadius.NetworkInterfaces); n > 0 {
			s += fmt.Sprintf(" and %s", plural(n, "other network interface"))
		}
		return s
	case remediate.ActionDisablePublicIP:
		s := fmt.Sprintf("subnet %s: MapPublicIpOnLaunch true -> false (new launches only)", a.Resource)
		if len(a.Notebooks) > 0 {
			s += "; holds " + strings.Join(a.Notebooks, ", ")
		}
		return s
	case remediate.ActionStudioVPCOnly:
		d := a.Before.Domain
		if d == nil {
			break
		}
		return fmt.Sprintf("Studio domain %s: AppNetworkAccessType %s -> VpcOnly; every app of it reaches only VPC %s from its next start",
			a.Resource, d.AppNetworkAccessType, orDash(d.VPCID))
	}
	return fmt.Sprintf("%s %s: %s", a.Kind, a.Resource, a.Summary)
}

// rules lists rules without their descriptions, which the plan review shows.
func rules(rs []remediate.Rule) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.Phrase()
	}
	return strings.Join(s, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printRunTable prints a run's header, message, actions and summary,
// without their errors: a command that has just run reports its error once,
// on stderr, and journal show prints each on the step it happened in. With
// withError, the run's own error is printed when no step holds it (a run
// interrupted between steps, or left running by a process that died).
func printRunTable(w io.Writer, r *remediate.RunResult, withMessage, withError bool) {
	fmt.Fprintf(w, "run %s (%s): %s\n", r.RunID, r.Kind, r.Status)
	if withMessage && r.Message != "" {
		fmt.Fprintf(w, "  %s\n", r.Message)
	}
	if withError && r.Error != "" && !slices.ContainsFunc(r.Steps, func(s remediate.StepResult) bool { return s.Error != "" }) {
		fmt.Fprintf(w, "  error: %s\n", r.Error)
	}
	for _, a := range r.Actions {
		line := fmt.Sprintf("  %-12s %s %s", a.Status, a.Action, a.Resource)
		if a.Replacement != "" {
			line += " -> " + a.Replacement
		}
		fmt.Fprintln(w, line)
		for _, d := range a.Details {
			fmt.Fprintf(w, "      %s\n", d)
		}
	}
	if r.Summary != nil {
		fmt.Fprintln(w, r.Summary)
	}
}

// printApplyStatus writes what a person needs after an apply, on stderr:
// the failure and what it left changed, or the commands that undo and
// finalize the run when it changed something.
func printApplyStatus(w io.Writer, r *remediate.RunResult, failed bool) {
	switch {
	case r.NothingToDo:
		fmt.Fprintln(w, r.Message)
	case failed:
		printApplyFailure(w, r)
	case r.Summary == nil || r.Summary.Done == 0:
		fmt.Fprintf(w, "run %s changed nothing; scan and plan again to see what still fails\n", r.RunID)
	default:
		fmt.Fprintf(w, "undo with: sagefence backout %s\n", r.RunID)
		if old := remediate.ReplacedByRun(r); len(old) > 0 {
			fmt.Fprintf(w, "once the replacements work, delete the notebooks they replace (%s) with: sagefence finalize %s\n",
				strings.Join(old, ", "), r.RunID)
		}
	}
}

// printApplyFailure reports a failed or interrupted apply once: the step,
// the cause, what the run left changed (read after it stopped) and the one
// command that restores it.
func printApplyFailure(w io.Writer, r *remediate.RunResult) {
	switch f := r.Failure; {
	case f != nil:
		fmt.Fprintf(w, "sagefence: apply run %s failed at step %d (%s %s): %s\n", r.RunID, f.Seq, f.Action, f.Resource, f.Error)
	case r.Status == journal.RunInterrupted:
		fmt.Fprintf(w, "sagefence: apply run %s was interrupted\n", r.RunID)
	default:
		fmt.Fprintf(w, "sagefence: apply run %s did not finish: %s\n", r.RunID, oneLine(r.Error))
	}
	if len(r.LeftChanged) == 0 {
		fmt.Fprintln(w, "Nothing the run touched differs from before it: there is nothing to back out.")
		return
	}
	fmt.Fprintln(w, "It left these changed (read after it stopped):")
	for _, c := range r.LeftChanged {
		if c.ReadError != "" {
			fmt.Fprintf(w, "  %s: could not read it: %s\n", c.Resource, oneLine(c.ReadError))
		}
		for _, line := range c.Changes {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	fmt.Fprintf(w, "Restore them with: sagefence backout %s\n", r.RunID)
}

// printFinalizeList names each notebook finalize will delete and what
// became of its data.
func printFinalizeList(w io.Writer, runID string, items []remediate.FinalizeItem) {
	what := "1 notebook and its ML storage volume"
	if len(items) != 1 {
		what = fmt.Sprintf("%d notebooks and their ML storage volumes", len(items))
	}
	fmt.Fprintf(w, "finalize %s deletes %s; this cannot be undone:\n", runID, what)
	for _, it := range items {
		fmt.Fprintf(w, "  %s [%s %s], replaced by %s\n", it.OldName, it.AccountID, it.Region, it.NewName)
		fmt.Fprintf(w, "      %s\n", it.Data)
	}
}

// printFinalizeTable prints a finalize run: what it deleted and what it
// refused to delete, and why.
func printFinalizeTable(w io.Writer, r *remediate.RunResult) {
	fmt.Fprintf(w, "run %s (%s): %s\n", r.RunID, r.Kind, r.Status)
	for _, s := range r.Steps {
		outcome, why := string(s.Status), ""
		switch {
		case s.Status == journal.StepDone:
			outcome = "deleted"
		case s.Status == journal.StepSkipped:
			outcome, why, _ = strings.Cut(s.Note, ": ")
		}
		line := fmt.Sprintf("  %-12s %s", outcome, s.Resource)
		if why != "" {
			line += ": " + why
		}
		fmt.Fprintln(w, line)
	}
	if r.Message != "" {
		fmt.Fprintln(w, r.Message)
	}
}

// progressLine is one step as it finishes, for stderr. A backout's own
// steps are numbered from 1 and name the apply step they undo; an apply
// step a backout found nothing to do for is named "apply step N".
func progressLine(s remediate.StepResult) string {
	switch {
	case s.Seq == 0 && s.Undoes > 0:
		line := fmt.Sprintf("apply step %d %s %s: %s", s.Undoes, s.Action, s.Resource, s.Status)
		if s.Note != "" {
			line += ": " + s.Note
		}
		return line
	case s.Undoes > 0:
		return fmt.Sprintf("step %d %s %s (undoes apply step %d): %s", s.Seq, s.Action, s.Resource, s.Undoes, s.Status)
	}
	return fmt.Sprintf("step %d %s %s: %s", s.Seq, s.Action, s.Resource, s.Status)
}

// printStepsTable lists a run's steps for journal show, errors included:
// the journal is where a past run's errors are read.
func printStepsTable(w io.Writer, steps []remediate.StepResult) {
	for _, s := range steps {
		line := "  " + progressLine(s)
		if s.UndoneBy != "" && s.Undoes == 0 {
			line += " (by " + s.UndoneBy + ")"
		}
		if s.Error != "" {
			line += ": " + s.Error
		}
		fmt.Fprintln(w, line)
	}
}

// printRunList prints journal list: a header and aligned columns on a
// terminal, tab-separated lines without a header when piped.
func printRunList(w io.Writer, runs []remediate.RunSummary, tty bool) error {
	row := func(r remediate.RunSummary) []string {
		target := r.TargetRun
		if target == "" {
			target = "-"
		}
		steps := fmt.Sprintf("%d", total(r.Steps))
		if !tty {
			steps += " steps"
		}
		return []string{r.ID, string(r.Kind), string(r.Status), r.StartedAt.UTC().Format(time.RFC3339), target, steps}
	}
	if !tty {
		for _, r := range runs {
			fmt.Fprintln(w, strings.Join(row(r), "\t"))
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tKIND\tSTATUS\tSTARTED\tTARGET RUN\tSTEPS")
	for _, r := range runs {
		fmt.Fprintln(tw, strings.Join(row(r), "\t"))
	}
	return tw.Flush()
}
