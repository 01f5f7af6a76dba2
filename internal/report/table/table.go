// Package table writes a report for people: aligned columns with colour and
// a summary on a terminal, plain tab-separated lines when piped. Failed
// calls and expired exceptions follow the results in both.
package table

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/reportfmt"
)

// Options say what the output is attached to.
type Options struct {
	// TTY: aligned columns, a header and a summary.
	TTY bool
	// Color: ANSI colours for statuses (only with TTY).
	Color bool
	// Width is the terminal width; the last column is cut to fit (0: no
	// limit). The JSON report always has the whole text.
	Width int
}

const (
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	grey   = "\x1b[90m"
	bold   = "\x1b[1m"
	reset  = "\x1b[0m"
)

// Write renders the report.
func Write(w io.Writer, r *finding.Report, opts Options) error {
	if !opts.TTY {
		return writePlain(w, r)
	}
	rows := make([]string, len(r.Results))
	statuses := make([]finding.Status, len(r.Results))
	for i := range r.Results {
		res := &r.Results[i]
		statuses[i] = res.Status
		rows[i] = fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", res.Status, res.AccountID, res.Region,
			Clean(reportfmt.DisplayName(res)), res.InternetPath, res.Severity, Clean(shorten(res.Via(), 60)), Clean(reason(res)))
	}
	column, noun := "NOTEBOOK", "notebook(s)"
	if !reportfmt.OnlyNotebooks(r.Results) {
		column, noun = "RESOURCE", "result(s)"
	}
	if err := WriteAligned(w, "STATUS\tACCOUNT\tREGION\t"+column+"\tPATH\tSEVERITY\tVIA\tWHY", rows, statuses, opts); err != nil {
		return err
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "\n%d call(s) failed; the affected notebooks are ERROR:\n", len(r.Errors))
		for _, e := range r.Errors {
			where := strings.TrimSpace(e.AccountID + " " + e.Region)
			res := ""
			if e.Resource != "" {
				res = " " + Clean(e.Resource)
			}
			fmt.Fprintf(w, "  %s %s%s: %s\n", where, e.Operation, res, Clean(e.Message))
		}
	}
	if len(r.ExpiredExceptions) > 0 {
		fmt.Fprintf(w, "\n%d exception(s) expired and mute nothing any more; renew or remove them:\n", len(r.ExpiredExceptions))
		for _, x := range r.ExpiredExceptions {
			fmt.Fprintf(w, "  %s %s (owner %s, expired %s): %s\n", Clean(x.Source), Clean(x.Match), Clean(x.Owner), Clean(x.Expires), Clean(x.Reason))
			if len(x.Resources) > 0 {
				fmt.Fprintf(w, "    would mute: %s\n", Clean(strings.Join(x.Resources, ", ")))
			}
		}
	}
	var parts []string
	for _, s := range []finding.Status{finding.StatusFail, finding.StatusReview, finding.StatusError, finding.StatusMuted, finding.StatusPass} {
		n := r.Summary[s]
		p := fmt.Sprintf("%d %s", n, s)
		if opts.Color && n > 0 {
			p = Colour(s) + p + reset
		}
		parts = append(parts, p)
	}
	complete := "complete"
	if !r.Complete {
		complete = "INCOMPLETE: some notebooks or regions could not be read"
		if opts.Color {
			complete = bold + red + complete + reset
		}
	}
	_, err := fmt.Fprintf(w, "\n%d %s: %s (profile %s, %s)\n", len(r.Results), noun, strings.Join(parts, ", "), r.Profile, complete)
	return err
}

// WriteAligned writes a header and tab-separated rows as aligned columns,
// each row starting with its status, which is coloured with opts.Color.
// Alignment happens before colouring (escape codes would count as width),
// and lines are cut to opts.Width.
func WriteAligned(w io.Writer, header string, rows []string, statuses []finding.Status, opts Options) error {
	var buf strings.Builder
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, row := range rows {
		fmt.Fprintln(tw, row)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	lines := strings.SplitAfter(buf.String(), "\n")
	for i, line := range lines {
		if opts.Width > 0 && utf8.RuneCountInString(line) > opts.Width+1 {
			line = string([]rune(line)[:opts.Width-1]) + "…\n"
		}
		if opts.Color && i > 0 && i <= len(statuses) {
			st := string(statuses[i-1])
			if strings.HasPrefix(line, st) {
				line = Colour(statuses[i-1]) + st + reset + line[len(st):]
			}
		}
		if _, err := io.WriteString(w, line); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
	}
	return nil
}

func writePlain(w io.Writer, r *finding.Report) error {
	var b strings.Builder
	for i := range r.Results {
		res := &r.Results[i]
		// Seven fields, as scripts read them; the path is in the JSON report.
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", res.Status, res.AccountID, res.Region,
			Clean(reportfmt.DisplayName(res)), res.InternetPath, res.Severity, Clean(reason(res)))
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "ERROR-CALL\t%s\t%s\t%s\t%s\t%s\n", e.AccountID, e.Region, e.Operation, Clean(e.Resource), Clean(e.Message))
	}
	for _, x := range r.ExpiredExceptions {
		fmt.Fprintf(&b, "EXPIRED-EXCEPTION\t%s\t%s\t%s\t%s\t%s\t%s\n", Clean(x.Source), Clean(x.Expires), Clean(x.Owner),
			Clean(x.Match), Clean(x.Reason), Clean(strings.Join(x.Resources, ",")))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Colour is the ANSI colour of a status on a terminal.
func Colour(s finding.Status) string {
	switch s {
	case finding.StatusFail, finding.StatusError:
		return red
	case finding.StatusReview:
		return yellow
	case finding.StatusPass:
		return green
	}
	return grey
}

// reason is the message of the check that decided the result.
func reason(res *finding.Result) string {
	if res.Status == finding.StatusMuted && res.Mute != nil {
		return "muted: " + res.Mute.Reason
	}
	want := res.Status
	if want == finding.StatusPass {
		// The path check says why a passing notebook passes.
		for _, c := range res.Checks {
			if c.ID == "internet-egress-path" && c.Status == finding.StatusPass {
				return c.ID + ": " + c.Message
			}
		}
	}
	for _, c := range res.Checks {
		if !c.Informational && c.Status == want {
			return c.ID + ": " + c.Message
		}
	}
	if len(res.Checks) > 0 {
		return res.Checks[0].ID + ": " + res.Checks[0].Message
	}
	return ""
}

// shorten keeps the ends of a long path and elides its middle.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n || n < 5 {
		return s
	}
	half := (n - 1) / 2
	return string(r[:half]) + "…" + string(r[len(r)-(n-1-half):])
}

// Clean removes control characters so a value from AWS or a scanned file
// cannot move the cursor, recolour the terminal or break the columns.
func Clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}
