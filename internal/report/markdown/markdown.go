// Package markdown writes a report as GitHub-flavoured Markdown for pull
// request comments and CI step summaries: a summary table, a findings table,
// and a collapsible details section per notebook that is not passing,
// within GitHub's comment length limit. Every value that comes from AWS is
// escaped so that it renders as text.
package markdown

import (
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/reportfmt"
)

// MaxChars is the most characters Write produces: GitHub's limit on the
// body of a pull-request comment (a CI step summary may hold 1 MiB, so a
// report that fits a comment fits both). A larger report keeps its summary,
// the accounts and regions that could not be read, and as many findings
// and details, most urgent first, as fit, and says what it left out.
const MaxChars = 65536

// Write writes r to w as Markdown of at most MaxChars characters.
func Write(w io.Writer, r *finding.Report) error {
	return WriteLimit(w, r, MaxChars)
}

// WriteLimit is Write with another limit; 0 means none.
func WriteLimit(w io.Writer, r *finding.Report, maxChars int) error {
	if _, err := io.WriteString(w, render(r, maxChars)); err != nil {
		return fmt.Errorf("markdown: %w", err)
	}
	return nil
}

func icon(s finding.Status) string {
	switch s {
	case finding.StatusPass:
		return "✅"
	case finding.StatusFail:
		return "❌"
	case finding.StatusReview:
		return "⚠️"
	case finding.StatusError:
		return "⛔"
	case finding.StatusMuted:
		return "🔕"
	}
	return "➖"
}

// section is a heading and table header followed by n items (rows or
// details blocks), rendered only when needed and kept from the first: a
// report of 100,000 notebooks renders what fits, not everything.
type section struct {
	head, tail string
	n          int
	render     func(i int) string
	items      []string // items[i] rendered so far, in order
	kept       int
}

func (s *section) item(i int) string {
	for len(s.items) <= i {
		s.items = append(s.items, s.render(len(s.items)))
	}
	return s.items[i]
}

func (s *section) String() string {
	if s.kept == 0 {
		return ""
	}
	return s.head + strings.Join(s.items[:s.kept], "") + s.tail
}

// exceeds reports whether the whole section is longer than budget
// characters, rendering items only until it is.
func (s *section) exceeds(budget int) (bool, int) {
	if s.n == 0 {
		return false, budget
	}
	budget -= utf8.RuneCountInString(s.head) + utf8.RuneCountInString(s.tail)
	for i := 0; i < s.n && budget >= 0; i++ {
		budget -= utf8.RuneCountInString(s.item(i))
	}
	return budget < 0, budget
}

// fill keeps as many more of the section's items as fit in budget
// characters (the heading counts once) and returns what is left of it.
func (s *section) fill(budget int) int {
	left := budget
	if s.kept == 0 {
		left -= utf8.RuneCountInString(s.head) + utf8.RuneCountInString(s.tail)
	}
	kept := s.kept
	for ; kept < s.n; kept++ {
		n := utf8.RuneCountInString(s.item(kept))
		if n > left {
			break
		}
		left -= n
	}
	if kept == 0 {
		return budget
	}
	s.kept = kept
	return left
}

// noticeReserve is room kept for the truncation notice.
const noticeReserve = 400

func render(r *finding.Report, maxChars int) string {
	var head strings.Builder
	// A report about notebooks only reads as before; one with Studio
	// results names both controls and calls its rows results.
	subject, nouns, noun, column, controls := "SageMaker notebook", "notebooks", "notebook", "Notebook", "`"+finding.ControlID+"`"
	if !reportfmt.OnlyNotebooks(r.Results) {
		subject, nouns, noun, column = "SageMaker notebook and Studio", "results", "result", "Resource"
		controls = "`" + finding.ControlID + "`, `" + finding.ControlIDStudio + "`"
	}
	head.WriteString("## sagefence: " + subject + " internet exposure\n\n")
	verdict := "**No failing " + nouns + ".**"
	switch {
	case !r.Complete:
		verdict = "**Incomplete:** some " + nouns + " or accounts could not be evaluated; they are not assumed compliant."
	case r.Summary[finding.StatusFail] > 0:
		verdict = fmt.Sprintf("**%d %s(s) fail** the control.", r.Summary[finding.StatusFail], noun)
	}
	fmt.Fprintf(&head, "%s\n\n", verdict)
	fmt.Fprintf(&head, "Control %s · profile `%s` · %s %s · scanned %s (%s)\n\n",
		controls, code(r.Profile), text(r.Tool.Name), text(r.Tool.Version),
		r.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"), r.FinishedAt.Sub(r.StartedAt).Round(1e9))

	head.WriteString("| Status | " + column + "s |\n|---|---:|\n")
	for _, s := range reportfmt.Statuses() {
		fmt.Fprintf(&head, "| %s %s | %d |\n", icon(s), s, r.Summary[s])
	}
	fmt.Fprintf(&head, "| **Total** | **%d** |\n\n", len(r.Results))

	sorted := reportfmt.Sorted(r.Results)
	findings := &section{
		head: "### Findings\n\n| Status | " + column + " | Account | Region | Internet path | Severity | Failing checks |\n|---|---|---|---|---|---|---|\n",
		tail: "\n",
		n:    len(sorted),
		render: func(i int) string {
			res := sorted[i]
			return fmt.Sprintf("| %s %s | %s | %s | %s | %s | %s | %s |\n",
				icon(res.Status), res.Status, ident(reportfmt.DisplayName(res)), ident(res.AccountID), ident(res.Region),
				res.InternetPath, res.Severity, text(strings.Join(failing(res), ", ")))
		},
	}
	var failed []*finding.Result
	for _, res := range sorted {
		if res.Status != finding.StatusPass {
			failed = append(failed, res)
		}
	}
	details := &section{head: "### Details\n\n", n: len(failed), render: func(i int) string {
		var b strings.Builder
		writeDetails(&b, failed[i])
		return b.String()
	}}
	errs := &section{
		head: "### Could not be read\n\n| Account | Region | Operation | Resource | Error |\n|---|---|---|---|---|\n",
		tail: "\n",
		n:    len(r.Errors),
		render: func(i int) string {
			e := r.Errors[i]
			msg := e.Message
			if e.Code != "" {
				msg = e.Code + ": " + msg
			}
			return fmt.Sprintf("| %s | %s | %s | %s | %s |\n", ident(e.AccountID), ident(e.Region), ident(e.Operation), ident(e.Resource), text(msg))
		},
	}
	expired := &section{
		head: "### Expired exceptions (no longer muting)\n\n| Source | Match | Owner | Expired | Reason |\n|---|---|---|---|---|\n",
		tail: "\n",
		n:    len(r.ExpiredExceptions),
		render: func(i int) string {
			x := r.ExpiredExceptions[i]
			return fmt.Sprintf("| %s | %s | %s | %s | %s |\n", text(x.Source), text(x.Match), text(x.Owner), text(x.Expires), text(x.Reason))
		},
	}
	sections := []*section{findings, details, errs, expired}

	over := false
	if maxChars > 0 {
		left := maxChars - utf8.RuneCountInString(head.String())
		for _, s := range sections {
			if over, left = s.exceeds(left); over {
				break
			}
		}
	}
	var notice string
	if !over {
		for _, s := range sections {
			s.fill(math.MaxInt)
		}
	} else {
		// What could not be read decides whether the report is complete:
		// it goes first (expired exceptions, which are few, then errors),
		// in at most half of the room. Then the findings table in at most
		// 60 % of what is left, details in the rest, and the table again
		// if details leave room.
		budget := maxChars - utf8.RuneCountInString(head.String()) - noticeReserve
		half := budget / 2
		left := expired.fill(half)
		left = errs.fill(left)
		budget -= half - left
		tableRoom := budget * 6 / 10
		budget -= tableRoom - findings.fill(tableRoom)
		budget = details.fill(budget)
		findings.fill(budget)
		var shown []string
		for _, s := range []struct {
			what string
			sec  *section
		}{{"findings", findings}, {"details", details}, {"unreadable resources", errs}, {"expired exceptions", expired}} {
			if s.sec.kept < s.sec.n {
				shown = append(shown, fmt.Sprintf("%d of %d %s", s.sec.kept, s.sec.n, s.what))
			}
		}
		notice = fmt.Sprintf("> **Shortened** to GitHub's limit of %d characters: %s shown, most urgent first. "+
			"The whole report: `--format json` or `--format html`.\n\n", maxChars, strings.Join(shown, ", "))
	}

	var b strings.Builder
	b.WriteString(head.String())
	b.WriteString(notice)
	for _, s := range sections {
		b.WriteString(s.String())
	}
	return b.String()
}

func writeDetails(b *strings.Builder, res *finding.Result) {
	// Inside <summary> Markdown is not rendered, so HTML-escape there.
	fmt.Fprintf(b, "<details>\n<summary>%s %s <code>%s</code> (%s, %s): internet path %s</summary>\n\n",
		icon(res.Status), res.Status, html(reportfmt.DisplayName(res)), html(res.AccountID), html(res.Region), res.InternetPath)
	fmt.Fprintf(b, "ARN: %s\n\n", ident(res.Resource.ARN))
	if res.Mute != nil {
		fmt.Fprintf(b, "> **Muted** (would be %s): %s. Owner %s, expires %s.\n\n",
			res.UnmutedStatus, text(res.Mute.Reason), text(res.Mute.Owner), text(res.Mute.Expires))
	}
	if len(res.Checks) > 0 {
		b.WriteString("| Check | Status | Severity | Message |\n|---|---|---|---|\n")
		for _, c := range res.Checks {
			id := c.ID
			if c.Informational {
				id += " (informational)"
			}
			fmt.Fprintf(b, "| %s | %s %s | %s | %s |\n", text(id), icon(c.Status), c.Status, c.Severity, text(c.Message))
		}
		b.WriteString("\n")
	}
	if ev := reportfmt.Evidence(res); len(ev) > 0 {
		b.WriteString("**Evidence**\n\n")
		for _, f := range ev {
			v := ident(f.Value)
			if f.Prose {
				v = text(f.Value)
			}
			fmt.Fprintf(b, "- %s: %s\n", f.Name, v)
		}
		b.WriteString("\n")
	}
	if res.Remediation != "" {
		fmt.Fprintf(b, "**Remediation:** %s\n\n", text(res.Remediation))
	}
	if cmds := res.Reproduce.Strings(); len(cmds) > 0 {
		b.WriteString("**Reproduce**\n\n")
		all := strings.Join(cmds, "\n")
		fence := fenceFor(all)
		fmt.Fprintf(b, "%ssh\n%s\n%s\n\n", fence, all, fence)
	}
	if len(res.Compliance) > 0 {
		var parts []string
		for _, fw := range reportfmt.Frameworks(res.Compliance) {
			parts = append(parts, text(reportfmt.StandardName(fw))+" "+text(strings.Join(res.Compliance[fw], ", ")))
		}
		fmt.Fprintf(b, "**Compliance:** %s\n\n", strings.Join(parts, " · "))
	}
	b.WriteString("</details>\n\n")
}

func failing(res *finding.Result) []string {
	var out []string
	for _, c := range res.Checks {
		if c.Status == finding.StatusFail || c.Status == finding.StatusError || c.Status == finding.StatusReview {
			out = append(out, c.ID)
		}
	}
	return out
}

// text escapes prose for a Markdown table cell or paragraph: HTML is entity
// encoded (GitHub would otherwise render tags), inline Markdown punctuation
// is backslash-escaped, and line breaks become spaces so a cell stays one
// row. Characters that only matter at the start of a line (#, -, +) need no
// escape: text never starts a line.
func text(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		case '\\', '`', '*', '_', '[', ']', '|', '~', '$':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ident renders an AWS-supplied identifier (name, tag, ARN, account) as an
// inline code span: nothing inside is read as Markdown or HTML, and GitHub
// does not turn "@team" inside it into a mention. Pipes stay escaped because
// GFM splits table cells before it parses code spans.
func ident(s string) string {
	if s == "" {
		return ""
	}
	s = strings.NewReplacer("\n", " ", "\r", " ", "|", `\|`).Replace(s)
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// html escapes s for raw HTML (the <summary> line).
func html(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;", "\n", " ", "\r", " ").Replace(s)
}

// code escapes s for use inside an inline code span.
func code(s string) string {
	return strings.ReplaceAll(s, "`", "'")
}

// fenceFor returns a code block fence longer than any backtick run in s.
func fenceFor(s string) string {
	return strings.Repeat("`", max(3, longestRun(s, '`')+1))
}

func longestRun(s string, c rune) int {
	longest, run := 0, 0
	for _, r := range s {
		if r == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}
