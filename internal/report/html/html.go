// Package html writes a report as one self-contained HTML page for auditors:
// summary cards, charts of results by status and by account/region (inline
// SVG computed here), a filterable findings table whose rows expand to their
// sub-checks, evidence, reproducing AWS CLI commands and remediation.
//
// The page loads nothing from the network. Its Content-Security-Policy
// allows only its own inline style and script (by hash), so even a value
// that escaped html/template's contextual escaping could not run code.
package html

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/reportfmt"
)

//go:embed report.tmpl
var pageTemplate string

// BaseCSS is the style the HTML report shares with the watch dashboard:
// the palette (light and dark), type, header, cards, badges, findings and
// their details. Each page adds its own after it.
//
//go:embed base.css
var BaseCSS string

//go:embed report.css
var reportCSS string

// pageCSS is the report's whole style sheet.
var pageCSS = BaseCSS + reportCSS

// CopyJS is the script the report shares with the watch dashboard: the
// Copy buttons of reproduce commands.
//
//go:embed copy.js
var CopyJS string

//go:embed report.js
var reportJS string

// pageJS is the report's whole script.
var pageJS = CopyJS + reportJS

// maxGroups caps the account/region chart; the rest are summed in a note.
const maxGroups = 12

// Write writes r to w as a self-contained HTML page.
func Write(w io.Writer, r *finding.Report) error {
	t, err := template.New("report").Funcs(template.FuncMap{
		"lower": func(s finding.Status) string { return strings.ToLower(string(s)) },
	}).Parse(pageTemplate)
	if err != nil {
		return fmt.Errorf("html: parsing template: %w", err)
	}
	if err := t.Execute(w, newPage(r)); err != nil {
		return fmt.Errorf("html: %w", err)
	}
	return nil
}

type page struct {
	Report     *finding.Report
	Control    string
	Started    string
	Finished   string
	Duration   string
	CSP        string
	CSS        template.CSS
	JS         template.JS
	Total      int
	Cards      []card
	Donut      []arc
	PassRate   string
	Groups     []group
	MoreGroup  string
	Rows       []row
	Accounts   []string
	Regions    []string
	Statuses   []finding.Status
	Incomplete string
	// Noun is what the rows are: "notebooks", or "results" when they are
	// about more than one resource type.
	Noun string
}

type card struct {
	Status finding.Status
	Label  string
	Count  int
	Hint   string
}

// arc is one status's segment of the donut: a circle of circumference 100
// whose dash covers Len and starts at Offset.
type arc struct {
	Status finding.Status
	Count  int
	Dash   string
	Offset string
}

type group struct {
	Label string
	Total int
	Bars  []bar
	Title string
}

// bar is one status's segment of a stacked bar, in percent of the widest
// group.
type bar struct {
	Status finding.Status
	X, W   string
	Count  int
}

type row struct {
	*finding.Result
	ID        string
	Search    string
	Failing   string
	Evidence  []reportfmt.Field
	Tags      []reportfmt.Field
	Compl     []reportfmt.Field
	Partition string
	// Reproduce are the result's commands, rendered.
	Reproduce []string
	// Path is the deciding path, hop by hop.
	Path []finding.Hop
	// TypeHeading starts a group of rows about one resource type (only in
	// a report about more than one): "SageMaker Studio domains (2)".
	TypeHeading string
}

func newPage(r *finding.Report) page {
	p := page{
		Report:   r,
		Control:  finding.ControlID,
		Started:  r.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"),
		Finished: r.FinishedAt.UTC().Format("2006-01-02 15:04:05 UTC"),
		Duration: r.FinishedAt.Sub(r.StartedAt).Round(1e9).String(),
		CSS:      template.CSS(pageCSS),
		JS:       template.JS(pageJS),
		Total:    len(r.Results),
		Statuses: reportfmt.Statuses(),
	}
	p.CSP = "default-src 'none'; style-src '" + hash(pageCSS) + "'; script-src '" + hash(pageJS) +
		"'; img-src data:; base-uri 'none'; form-action 'none'"

	count := func(s finding.Status) int { return r.Summary[s] }
	if r.Summary == nil {
		counts := map[finding.Status]int{}
		for i := range r.Results {
			counts[r.Results[i].Status]++
		}
		count = func(s finding.Status) int { return counts[s] }
	}
	hints := map[finding.Status]string{
		finding.StatusFail:   "internet-exposed notebooks",
		finding.StatusError:  "could not be evaluated",
		finding.StatusReview: "egress the scanner cannot see past",
		finding.StatusMuted:  "covered by an exception",
		finding.StatusPass:   "no uncontrolled internet access",
	}
	labels := map[finding.Status]string{
		finding.StatusFail: "Failing", finding.StatusError: "Errors", finding.StatusReview: "Needs review",
		finding.StatusMuted: "Muted", finding.StatusPass: "Passing",
	}
	for _, s := range p.Statuses {
		p.Cards = append(p.Cards, card{Status: s, Label: labels[s], Count: count(s), Hint: hints[s]})
	}

	// Donut: segments in display order, starting at 12 o'clock.
	if p.Total > 0 {
		start := 0.0
		for _, s := range p.Statuses {
			n := count(s)
			if n == 0 {
				continue
			}
			pct := 100 * float64(n) / float64(p.Total)
			p.Donut = append(p.Donut, arc{Status: s, Count: n, Dash: num(pct) + " " + num(100-pct), Offset: num(25 - start)})
			start += pct
		}
		evaluated := p.Total - count(finding.StatusError)
		if evaluated > 0 {
			p.PassRate = strconv.Itoa(int(math.Floor(100*float64(count(finding.StatusPass)+count(finding.StatusMuted))/float64(evaluated)))) + "%"
		}
	}

	p.Groups, p.MoreGroup = groups(r)

	accounts, regions := map[string]bool{}, map[string]bool{}
	sorted := reportfmt.Sorted(r.Results)
	headings := typeHeadings(sorted)
	p.Noun = "notebooks"
	if headings != nil {
		p.Noun = "results"
	}
	for i, res := range sorted {
		accounts[res.AccountID] = true
		regions[res.Region] = true
		rw := row{
			Result: res,
			ID:     "f-" + reportfmt.FindingID(res)[len(reportfmt.FindingID(res))-32:],
			// Tags get their own chips below; leave them out of the evidence.
			Evidence:  slices.DeleteFunc(reportfmt.Evidence(res), func(f reportfmt.Field) bool { return f.Name == "Tags" }),
			Partition: reportfmt.Partition(res),
			Reproduce: res.Reproduce.Strings(),
			Path:      res.Hops,
		}
		if headings != nil {
			rw.TypeHeading = headings[i]
		}
		var failing []string
		for _, c := range res.Checks {
			if c.Status == finding.StatusFail || c.Status == finding.StatusError || c.Status == finding.StatusReview {
				failing = append(failing, c.ID)
			}
		}
		rw.Failing = strings.Join(failing, ", ")
		for _, k := range slices.Sorted(maps.Keys(res.Resource.Tags)) {
			rw.Tags = append(rw.Tags, reportfmt.Field{Name: k, Value: res.Resource.Tags[k]})
		}
		for _, k := range reportfmt.Frameworks(res.Compliance) {
			rw.Compl = append(rw.Compl, reportfmt.Field{Name: reportfmt.StandardName(k), Value: strings.Join(res.Compliance[k], ", ")})
		}
		search := []string{res.Resource.Name, res.Resource.ARN, res.AccountID, res.Region, string(res.Status),
			string(res.InternetPath), string(res.Severity), rw.Failing}
		for _, t := range rw.Tags {
			search = append(search, t.Name+"="+t.Value)
		}
		rw.Search = strings.ToLower(strings.Join(search, " "))
		p.Rows = append(p.Rows, rw)
	}
	p.Accounts = slices.Sorted(maps.Keys(accounts))
	p.Regions = slices.Sorted(maps.Keys(regions))

	if !r.Complete {
		var parts []string
		if n := count(finding.StatusError); n > 0 {
			parts = append(parts, plural(n, strings.TrimSuffix(p.Noun, "s")+" could not be evaluated", p.Noun+" could not be evaluated"))
		}
		if n := len(r.Errors); n > 0 {
			parts = append(parts, plural(n, "call failed while collecting", "calls failed while collecting"))
		}
		p.Incomplete = "Incomplete scan: " + strings.Join(parts, " and ") + ". What could not be read is not assumed compliant."
	}
	return p
}

// typeHeadings groups sorted by resource type (notebook instances, Studio
// domains, Studio user profiles; each group keeps its order) and returns
// the heading that starts each group, by index; nil when every result is
// of one type, whose rows need no heading.
func typeHeadings(sorted []*finding.Result) []string {
	count := map[string]int{}
	for _, res := range sorted {
		count[typeOf(res)]++
	}
	if len(count) < 2 {
		return nil
	}
	order := finding.ResourceTypes()
	slices.SortStableFunc(sorted, func(a, b *finding.Result) int {
		return slices.Index(order, typeOf(a)) - slices.Index(order, typeOf(b))
	})
	out := make([]string, len(sorted))
	for i, res := range sorted {
		if i == 0 || typeOf(sorted[i-1]) != typeOf(res) {
			out[i] = fmt.Sprintf("%ss (%d)", reportfmt.Noun(res), count[typeOf(res)])
		}
	}
	return out
}

// typeOf is a result's resource type; a result without one (read from an
// older report) is a notebook instance's.
func typeOf(res *finding.Result) string {
	if slices.Contains(finding.ResourceTypes(), res.Resource.Type) {
		return res.Resource.Type
	}
	return finding.ResourceType
}

func groups(r *finding.Report) ([]group, string) {
	type key struct{ account, region string }
	counts := map[key]map[finding.Status]int{}
	for i := range r.Results {
		res := &r.Results[i]
		k := key{res.AccountID, res.Region}
		if counts[k] == nil {
			counts[k] = map[finding.Status]int{}
		}
		counts[k][res.Status]++
	}
	keys := slices.Collect(maps.Keys(counts))
	bad := func(k key) int {
		c := counts[k]
		return c[finding.StatusFail] + c[finding.StatusError] + c[finding.StatusReview]
	}
	total := func(k key) int {
		n := 0
		for _, v := range counts[k] {
			n += v
		}
		return n
	}
	slices.SortFunc(keys, func(a, b key) int {
		if d := bad(b) - bad(a); d != 0 {
			return d
		}
		if d := total(b) - total(a); d != 0 {
			return d
		}
		return strings.Compare(a.account+"/"+a.region, b.account+"/"+b.region)
	})
	more := ""
	if len(keys) > maxGroups {
		rest := 0
		for _, k := range keys[maxGroups:] {
			rest += total(k)
		}
		more = fmt.Sprintf("and %d more account/region pairs with %s", len(keys)-maxGroups, plural(rest, "notebook", "notebooks"))
		keys = keys[:maxGroups]
	}
	widest := 0
	for _, k := range keys {
		widest = max(widest, total(k))
	}
	var out []group
	for _, k := range keys {
		g := group{Label: k.account + " · " + k.region, Total: total(k)}
		x := 0.0
		var title []string
		for _, s := range reportfmt.Statuses() {
			n := counts[k][s]
			if n == 0 {
				continue
			}
			w := 100 * float64(n) / float64(widest)
			g.Bars = append(g.Bars, bar{Status: s, X: num(x), W: num(w), Count: n})
			title = append(title, fmt.Sprintf("%d %s", n, s))
			x += w
		}
		g.Title = g.Label + ": " + strings.Join(title, ", ")
		out = append(out, g)
	}
	return out, more
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// hash is a CSP source expression for an inline element's exact content.
func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}
