package iac

import (
	"fmt"
	"io"
	"strings"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/table"
)

// WriteTable renders an IaC report for people: where each notebook is
// declared instead of the live table's account and region. On a terminal
// it aligns columns, colours statuses and ends with a summary; piped, it
// writes one tab-separated line per result (STATUS FILE:LINE ADDRESS PATH
// SEVERITY WHY) and one per error.
func WriteTable(w io.Writer, r *finding.Report, tty, color bool) error {
	if !tty {
		var b strings.Builder
		for i := range r.Results {
			res := &r.Results[i]
			fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%s\n", res.Status, location(res), clean(res.Resource.Address),
				res.InternetPath, res.Severity, clean(why(res)))
		}
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "ERROR\t%s\t\t\t\t%s\n", clean(e.Resource), clean(e.Message))
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	rows := make([]string, len(r.Results))
	statuses := make([]finding.Status, len(r.Results))
	for i := range r.Results {
		res := &r.Results[i]
		statuses[i] = res.Status
		rows[i] = fmt.Sprintf("%s\t%s\t%s\t%s\t%s", res.Status, location(res), clean(res.Resource.Address), res.InternetPath, clean(why(res)))
	}
	if err := table.WriteAligned(w, "STATUS\tLOCATION\tRESOURCE\tPATH\tWHY", rows, statuses, table.Options{TTY: true, Color: color}); err != nil {
		return err
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "\n%d source(s) could not be evaluated:\n", len(r.Errors))
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  %s\n", clean(e.Message))
		}
	}
	var parts []string
	for _, s := range []finding.Status{finding.StatusFail, finding.StatusReview, finding.StatusMuted, finding.StatusPass} {
		parts = append(parts, fmt.Sprintf("%d %s", r.Summary[s], s))
	}
	done := "complete"
	if !r.Complete {
		done = "INCOMPLETE: some sources could not be evaluated"
	}
	_, err := fmt.Fprintf(w, "\n%d resource(s) declared (notebook instances and Studio domains): %s (%s)\n", len(r.Results), strings.Join(parts, ", "), done)
	return err
}

func location(res *finding.Result) string {
	if res.Resource.Line > 0 {
		return fmt.Sprintf("%s:%d", clean(res.Resource.File), res.Resource.Line)
	}
	return clean(res.Resource.File)
}

func why(res *finding.Result) string {
	if res.Status == finding.StatusMuted && res.Mute != nil {
		return "muted: " + res.Mute.Reason
	}
	if len(res.Checks) > 0 {
		return res.Checks[0].Message
	}
	return ""
}

// clean keeps file content (names, reasons) from injecting terminal
// escapes or breaking the line format.
func clean(s string) string { return table.Clean(s) }
