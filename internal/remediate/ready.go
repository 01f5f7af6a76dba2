package remediate

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sagefence/sagefence/internal/suggest"
)

// NotApplicableError is a plan apply refuses before it journals a run: no
// action in it is ready, so applying it would change nothing and only use
// the plan up.
type NotApplicableError struct {
	// Actions is how many actions the plan has.
	Actions int
	Blocked []BlockedAction
	// Flags are the plan flags the blocked reasons name (--target-subnet,
	// --allow-shared, ...), in plan order without repeats: planning again
	// with them is what would unblock the actions.
	Flags []string
}

// BlockedAction is one blocked action of a plan and why.
type BlockedAction struct {
	Kind     ActionKind
	Resource string
	Reason   string
	// Flags are the plan flags its reason names.
	Flags []string
}

// planFlag matches a command-line flag in a blocked reason; the planner
// names the flag that would unblock an action ("pass --target-subnet").
var planFlag = regexp.MustCompile(`--[a-z][a-z0-9]*(?:-[a-z0-9]+)*`)

func (e *NotApplicableError) Error() string {
	if e.Actions == 0 {
		return "nothing to apply: the plan has no actions (no FAIL result had a fix to plan)"
	}
	parts := make([]string, len(e.Blocked))
	for i, b := range e.Blocked {
		parts[i] = string(b.Kind) + " " + b.Resource
		if len(b.Flags) == 0 {
			parts[i] += ": " + b.Reason
		}
	}
	which := fmt.Sprintf("all %d actions are", len(e.Blocked))
	if len(e.Blocked) == 1 {
		which = "its only action is"
	}
	msg := fmt.Sprintf("nothing to apply: %s blocked (%s)", which, strings.Join(parts, "; "))
	if len(e.Flags) > 0 {
		msg += "; plan again with " + suggest.Join(e.Flags, "or")
	}
	return msg
}

// CheckReady returns a *NotApplicableError when the plan has no action that
// is ready, nil otherwise. Apply's caller checks it first: a plan refused
// here is not journaled and stays applicable.
func (p *Plan) CheckReady() error {
	e := &NotApplicableError{Actions: len(p.Actions)}
	for _, a := range p.Actions {
		if a.Blocked == "" {
			return nil
		}
		b := BlockedAction{Kind: a.Kind, Resource: a.Resource, Reason: a.Blocked}
		for _, f := range planFlag.FindAllString(a.Blocked, -1) {
			if !slices.Contains(b.Flags, f) {
				b.Flags = append(b.Flags, f)
			}
			if !slices.Contains(e.Flags, f) {
				e.Flags = append(e.Flags, f)
			}
		}
		e.Blocked = append(e.Blocked, b)
	}
	return e
}
