package preflight

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Exit codes of `sagefence preflight`, in line with every other command:
// 0 all needed permissions granted, 1 at least one denied, 3 none denied
// but at least one could not be verified.
const (
	ExitOK         = 0
	ExitDenied     = 1
	ExitIncomplete = 3
)

// ExitCode is the process exit code the report calls for: 0 only when every
// needed permission is granted. A denial outranks an unverifiable check,
// because it is a certain failure.
func (r Report) ExitCode() int {
	switch {
	case r.count(StatusDenied) > 0:
		return ExitDenied
	case r.count(StatusNotVerifiable) > 0 || len(r.Checks) == 0:
		return ExitIncomplete
	}
	return ExitOK
}

// OK reports whether every needed permission is granted.
func (r Report) OK() bool { return r.ExitCode() == ExitOK }

// Denied returns the denied checks.
func (r Report) Denied() []Check { return r.filter(StatusDenied) }

// NotVerifiable returns the checks that could not be verified.
func (r Report) NotVerifiable() []Check { return r.filter(StatusNotVerifiable) }

func (r Report) count(s Status) int { return len(r.filter(s)) }

func (r Report) filter(s Status) []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == s {
			out = append(out, c)
		}
	}
	return out
}

// JSON writes the report as indented JSON.
func (r Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write preflight report: %w", err)
	}
	return nil
}

// Table writes the report for a terminal: who, where, then one line per
// check, and a closing verdict line.
func (r Report) Table(w io.Writer) error {
	id := r.Identity
	var b strings.Builder
	fmt.Fprintf(&b, "Caller:    %s\n", id.ARN)
	fmt.Fprintf(&b, "Account:   %s (partition %s)\n", id.Account, id.Partition)
	if id.PrincipalARN != "" && id.PrincipalARN != id.ARN {
		fmt.Fprintf(&b, "Simulated: %s\n", id.PrincipalARN)
	}
	mode := string(r.Mode)
	for _, f := range r.Features {
		mode += " +" + string(f)
	}
	fmt.Fprintf(&b, "Mode:      %s\n", mode)
	fmt.Fprintf(&b, "Regions:   %s", strings.Join(r.Regions, ", "))
	if len(r.EnabledRegions) > 0 {
		fmt.Fprintf(&b, " (of %d enabled)", len(r.EnabledRegions))
	}
	b.WriteString("\n\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write preflight table: %w", err)
	}

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tPERMISSION\tREGION\tCHECKED BY\tDETAIL")
	for _, c := range r.Checks {
		region := c.Region
		if region == "" {
			region = "-"
		}
		perm := c.Action
		if c.Feature != "" {
			perm += " (" + string(c.Feature) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", strings.ToUpper(string(c.Status)), perm, region, c.Method, oneLine(c.Detail))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write preflight table: %w", err)
	}

	var verdict string
	switch r.ExitCode() {
	case ExitOK:
		verdict = fmt.Sprintf("OK: all %d permissions needed for %s are granted.", len(r.Checks), r.Mode)
	case ExitDenied:
		verdict = fmt.Sprintf("DENIED: %d of %d permissions needed for %s are denied: %s.",
			r.count(StatusDenied), len(r.Checks), r.Mode, names(r.Denied()))
		if n := r.count(StatusNotVerifiable); n > 0 {
			verdict += fmt.Sprintf(" %d more could not be verified.", n)
		}
	default:
		verdict = fmt.Sprintf("INCOMPLETE: %d of %d permissions needed for %s could not be verified: %s.",
			r.count(StatusNotVerifiable), len(r.Checks), r.Mode, names(r.NotVerifiable()))
	}
	if _, err := fmt.Fprintf(w, "\n%s\n", verdict); err != nil {
		return fmt.Errorf("write preflight table: %w", err)
	}
	return nil
}

// names lists checks as "action@region", de-duplicated in order.
func names(cs []Check) string {
	seen := map[string]bool{}
	var out []string
	for _, c := range cs {
		n := c.Action
		if c.Region != "" {
			n += "@" + c.Region
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
