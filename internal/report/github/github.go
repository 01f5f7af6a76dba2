// Package github writes a report as GitHub Actions workflow commands
// (https://docs.github.com/actions/reference/workflow-commands-for-github-actions),
// one line per result worth a look, so that a workflow step turns them into
// annotations: on the pull request's files for sagefence iac (file and line),
// on the run's summary for a live scan (no file).
//
// FAIL and ERROR are ::error, REVIEW ::warning, MUTED ::notice; PASS writes
// nothing. Failed reads and unparsable sources are ::error (at their file
// and line for iac), expired exceptions ::warning, and a last ::notice
// counts every status. GitHub shows at most 10 annotations of each level per
// step and 50 per job, so results are written most urgent first.
package github

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/reportfmt"
)

// Write renders r as workflow commands.
func Write(w io.Writer, r *finding.Report) error {
	bw := bufio.NewWriter(w)
	for _, res := range reportfmt.Sorted(r.Results) {
		level := levelOf(res.Status)
		if level == "" {
			continue
		}
		props := location(res.Resource.File, res.Resource.Line)
		props = append(props, prop{"title", "sagefence " + string(res.Status) + ": " + name(res)})
		writeCommand(bw, level, props, message(res))
	}
	for _, e := range r.Errors {
		var props []prop
		if file, line, ok := reportfmt.ErrorLocation(e); ok {
			props = location(file, line)
		}
		props = append(props, prop{"title", "sagefence could not evaluate"})
		writeCommand(bw, "error", props, reportfmt.ErrorText(e))
	}
	for _, x := range r.ExpiredExceptions {
		writeCommand(bw, "warning", []prop{{"title", "sagefence expired exception"}},
			fmt.Sprintf("%s (%s) expired %s: it mutes nothing; owner %s, reason: %s", x.Source, x.Match, x.Expires, x.Owner, x.Reason))
	}
	var counts []string
	for _, s := range reportfmt.Statuses() {
		counts = append(counts, strconv.Itoa(r.Summary[s])+" "+string(s))
	}
	writeCommand(bw, "notice", []prop{{"title", "sagefence"}}, strings.Join(counts, ", "))
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write GitHub workflow commands: %w", err)
	}
	return nil
}

func levelOf(s finding.Status) string {
	switch s {
	case finding.StatusFail, finding.StatusError:
		return "error"
	case finding.StatusReview:
		return "warning"
	case finding.StatusMuted:
		return "notice"
	}
	return ""
}

type prop struct{ key, value string }

func location(file string, line int) []prop {
	if file == "" {
		return nil
	}
	props := []prop{{"file", strings.TrimPrefix(file, "./")}}
	if line > 0 {
		props = append(props, prop{"line", strconv.Itoa(line)})
	}
	return props
}

// name is what the result is about: the IaC address, else the resource
// as reportfmt.DisplayName names it (the message says its account and
// region).
func name(res *finding.Result) string {
	if res.Resource.Address != "" {
		return res.Resource.Address
	}
	return reportfmt.DisplayName(res)
}

func message(res *finding.Result) string {
	m := reportfmt.Message(res)
	if res.Resource.File == "" && res.AccountID != "" {
		// A live result has no file to sit on: say where the notebook is.
		m = res.AccountID + " " + res.Region + " " + m
	}
	if res.Remediation != "" {
		m += "\nFix: " + res.Remediation
	}
	return m
}

func writeCommand(w *bufio.Writer, level string, props []prop, data string) {
	w.WriteString("::")
	w.WriteString(level)
	for i, p := range props {
		if i == 0 {
			w.WriteByte(' ')
		} else {
			w.WriteByte(',')
		}
		w.WriteString(p.key)
		w.WriteByte('=')
		w.WriteString(EscapeProperty(p.value))
	}
	w.WriteString("::")
	w.WriteString(EscapeData(data))
	w.WriteByte('\n')
}

// EscapeData escapes a workflow command's message: the runner reads a
// command to the end of its line and unescapes %25, %0D and %0A.
func EscapeData(s string) string { return escape(s, false) }

// EscapeProperty escapes a workflow command's property value, which also
// ends at "," (the next property) and "::" (the message).
func EscapeProperty(s string) string { return escape(s, true) }

func escape(s string, property bool) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%':
			b.WriteString("%25")
		case c == '\r':
			b.WriteString("%0D")
		case c == '\n':
			b.WriteString("%0A")
		case property && c == ':':
			b.WriteString("%3A")
		case property && c == ',':
			b.WriteString("%2C")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
