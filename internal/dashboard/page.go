package dashboard

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/history"
	reporthtml "github.com/sagefence/sagefence/internal/report/html"
	"github.com/sagefence/sagefence/internal/report/reportfmt"
)

//go:embed dashboard.tmpl
var pageTemplate string

//go:embed dashboard.css
var dashboardCSS string

// pageCSS is the HTML report's shared style, then the dashboard's own.
var pageCSS = reporthtml.BaseCSS + dashboardCSS

//go:embed dashboard.js
var dashboardJS string

// pageJS is the HTML report's shared script, then the dashboard's own.
var pageJS = reporthtml.CopyJS + dashboardJS

// pageCSP lets the page run its own inline style and script, by hash, and
// nothing else: even a value that escaped html/template's contextual
// escaping could not run code, load anything or be framed.
var pageCSP = "default-src 'none'; style-src '" + hash(pageCSS) + "'; script-src '" + hash(pageJS) +
	"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var pageTmpl = template.Must(template.New("dashboard").Funcs(template.FuncMap{
	"lower": func(s finding.Status) string { return strings.ToLower(string(s)) },
}).Parse(pageTemplate))

// recentLimit is how many of the latest transitions the page lists.
const recentLimit = 50

// maxTimelines is how many notebooks, most urgent first, the page shows
// with their timeline: each is a query of the history, and a fleet of
// thousands would make every page load thousands of queries. The others
// link to their own page, which always has it.
const maxTimelines = 100

// page is what the template renders.
type page struct {
	CSS      template.CSS
	JS       template.JS
	Version  string
	Now      string
	NotReady bool
	// Focus is the notebook a /?notebook= page is about; Missing is set
	// when nothing is stored of it.
	Focus   string
	Missing bool

	Report     *finding.Report
	Scanned    string
	Incomplete string
	Total      int
	Cards      []card
	Trend      trendChart
	Recent     []change
	Notebooks  []notebook
	Timed      int
	Untimed    int
	Statuses   []finding.Status
}

type card struct {
	Status finding.Status
	Label  string
	Count  int
	Hint   string
}

// change is one transition as the page shows it.
type change struct {
	At, Ago      string
	Key          string
	AccountID    string
	Region       string
	Name         string
	From, To     string
	FromClass    string
	ToClass      string
	InternetPath string
	Cause        history.Cause
	CauseLabel   string
}

// notebook is one notebook's entry: its current result (nil for a
// notebook that is gone) and its timeline, newest first.
type notebook struct {
	Key          string
	ID           string
	Result       *finding.Result
	Status       string
	StatusClass  string
	AccountID    string
	Region       string
	Name         string
	ARN          string
	InternetPath string
	Failing      string
	Evidence     []reportfmt.Field
	Reproduce    []string
	Timeline     []change
	HasTimeline  bool
	LastChange   *change
	Open         bool
}

func (h *handler) servePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := h.now()
	p := page{
		CSS:      template.CSS(pageCSS),
		JS:       template.JS(pageJS),
		Version:  h.version,
		Now:      stamp(now),
		Statuses: reportfmt.Statuses(),
	}
	status := http.StatusOK
	var focus key
	if vals, ok := r.URL.Query()["notebook"]; ok {
		k, err := parseKey(vals)
		if err != nil {
			plain(w, http.StatusBadRequest, err.Error())
			return
		}
		focus, p.Focus = k, k.String()
	}

	if !h.src.Ready() {
		p.NotReady = true
		w.Header().Set("Retry-After", "10")
		h.render(w, http.StatusServiceUnavailable, &p)
		return
	}
	rep, err := h.src.Report(ctx)
	if err != nil {
		plain(w, http.StatusInternalServerError, "reading the latest results: "+err.Error())
		return
	}
	if rep == nil {
		rep = &finding.Report{}
	}
	p.Report = rep
	p.Scanned = stamp(rep.FinishedAt)
	p.Incomplete = incomplete(rep)

	if p.Focus != "" {
		nb, found, err := h.focusNotebook(r, rep, focus, now)
		if err != nil {
			plain(w, http.StatusInternalServerError, err.Error())
			return
		}
		if found {
			p.Notebooks = []notebook{nb}
		} else {
			p.Missing = true
			status = http.StatusNotFound
		}
		h.render(w, status, &p)
		return
	}

	p.Total = len(rep.Results)
	p.Cards = cards(rep)
	since := now.Add(-trendWindow)
	pts, err := h.src.Trend(ctx, since)
	if err != nil {
		plain(w, http.StatusInternalServerError, "reading the trend: "+err.Error())
		return
	}
	p.Trend = buildTrend(pts, since, now)
	recent, err := h.src.Recent(ctx, recentLimit)
	if err != nil {
		plain(w, http.StatusInternalServerError, "reading the recent transitions: "+err.Error())
		return
	}
	for _, t := range recent {
		p.Recent = append(p.Recent, newChange(t, now))
	}
	for i, res := range reportfmt.Sorted(rep.Results) {
		nb := newNotebook(res)
		if i < maxTimelines {
			ts, err := h.src.History(ctx, res.AccountID, res.Region, reportfmt.DisplayName(res))
			if err != nil {
				plain(w, http.StatusInternalServerError, "reading the history of "+nb.Key+": "+err.Error())
				return
			}
			nb.setTimeline(ts, now)
			p.Timed++
		} else {
			p.Untimed++
		}
		p.Notebooks = append(p.Notebooks, nb)
	}
	h.render(w, status, &p)
}

// focusNotebook is the one notebook of a /?notebook= page, found among the
// current results or, for a notebook that is gone, in the history alone.
func (h *handler) focusNotebook(r *http.Request, rep *finding.Report, k key, now time.Time) (notebook, bool, error) {
	ts, err := h.src.History(r.Context(), k.account, k.region, k.name)
	if err != nil {
		return notebook{}, false, err
	}
	var nb notebook
	i := slices.IndexFunc(rep.Results, func(res finding.Result) bool {
		return res.AccountID == k.account && res.Region == k.region && reportfmt.DisplayName(&res) == k.name
	})
	switch {
	case i >= 0:
		nb = newNotebook(&rep.Results[i])
	case len(ts) > 0:
		last := ts[len(ts)-1]
		nb = notebook{Key: k.String(), ID: elementID(k.String()), Status: last.To, StatusClass: strings.ToLower(last.To),
			AccountID: k.account, Region: k.region, Name: k.name, ARN: last.ARN, InternetPath: last.InternetPath}
	default:
		return notebook{}, false, nil
	}
	nb.setTimeline(ts, now)
	nb.Open = true
	return nb, true, nil
}

func (h *handler) render(w http.ResponseWriter, status int, p *page) {
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, p); err != nil {
		plain(w, http.StatusInternalServerError, "rendering the dashboard: "+err.Error())
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", pageCSP)
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// key names one notebook as account/region/name.
type key struct{ account, region, name string }

func (k key) String() string { return k.account + "/" + k.region + "/" + k.name }

// parseKey reads the notebook parameter. The name is last and may hold
// anything, so the split is on the first two slashes only.
func parseKey(vals []string) (key, error) {
	const want = "want ?notebook=ACCOUNT/REGION/NAME"
	if len(vals) != 1 {
		return key{}, fmt.Errorf("one notebook parameter only: %s", want)
	}
	parts := strings.SplitN(vals[0], "/", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return key{}, fmt.Errorf("notebook %q: %s", vals[0], want)
	}
	return key{parts[0], parts[1], parts[2]}, nil
}

func newNotebook(res *finding.Result) notebook {
	// The name the history stores the result under: a Studio domain's
	// or user profile's says what it is (studio-domain/NAME).
	name := reportfmt.DisplayName(res)
	k := key{res.AccountID, res.Region, name}.String()
	nb := notebook{
		Key: k, ID: elementID(k), Result: res,
		Status: string(res.Status), StatusClass: strings.ToLower(string(res.Status)),
		AccountID: res.AccountID, Region: res.Region, Name: name, ARN: res.Resource.ARN,
		InternetPath: string(res.InternetPath),
		Evidence:     reportfmt.Evidence(res),
		Reproduce:    res.Reproduce.Strings(),
	}
	var failing []string
	for _, c := range res.Checks {
		if c.Status == finding.StatusFail || c.Status == finding.StatusError || c.Status == finding.StatusReview {
			failing = append(failing, c.ID)
		}
	}
	nb.Failing = strings.Join(failing, ", ")
	return nb
}

// setTimeline sets the notebook's transitions (given oldest first), newest
// first.
func (nb *notebook) setTimeline(ts []history.Transition, now time.Time) {
	nb.HasTimeline = true
	nb.Timeline = make([]change, 0, len(ts))
	for i := len(ts) - 1; i >= 0; i-- {
		nb.Timeline = append(nb.Timeline, newChange(ts[i], now))
	}
	if len(nb.Timeline) > 0 {
		nb.LastChange = &nb.Timeline[0]
	}
}

func newChange(t history.Transition, now time.Time) change {
	c := change{
		At: stamp(t.At), Ago: ago(now.Sub(t.At)),
		Key:       key{t.AccountID, t.Region, t.Name}.String(),
		AccountID: t.AccountID, Region: t.Region, Name: t.Name,
		From: t.From, To: t.To, FromClass: strings.ToLower(t.From), ToClass: strings.ToLower(t.To),
		InternetPath: t.InternetPath,
		Cause:        t.Cause,
	}
	if c.From == "" {
		c.From, c.FromClass = "NEW", "new"
	}
	switch t.Cause.Kind {
	case history.CauseStart:
		c.CauseLabel = "first scan"
	case history.CauseScheduled:
		c.CauseLabel = "scheduled scan"
	case history.CauseEvent:
		c.CauseLabel = "event"
	default:
		c.CauseLabel = t.Cause.Kind
	}
	return c
}

func cards(r *finding.Report) []card {
	counts := map[finding.Status]int{}
	for i := range r.Results {
		counts[r.Results[i].Status]++
	}
	labels := map[finding.Status][2]string{
		finding.StatusError:  {"Errors", "could not be evaluated"},
		finding.StatusFail:   {"Failing", "internet-exposed notebooks"},
		finding.StatusReview: {"Needs review", "egress the scanner cannot see past"},
		finding.StatusMuted:  {"Muted", "covered by an exception"},
		finding.StatusPass:   {"Passing", "no uncontrolled internet access"},
	}
	var out []card
	for _, s := range reportfmt.Statuses() {
		out = append(out, card{Status: s, Label: labels[s][0], Count: counts[s], Hint: labels[s][1]})
	}
	return out
}

func incomplete(r *finding.Report) string {
	var parts []string
	n := 0
	for i := range r.Results {
		if r.Results[i].Status == finding.StatusError {
			n++
		}
	}
	if n > 0 {
		parts = append(parts, plural(n, "notebook could not be evaluated", "notebooks could not be evaluated"))
	}
	if len(r.Errors) > 0 {
		parts = append(parts, plural(len(r.Errors), "call failed while collecting", "calls failed while collecting"))
	}
	if len(parts) == 0 {
		return ""
	}
	return "Incomplete: " + strings.Join(parts, " and ") + ". What could not be read is not assumed compliant."
}

// ago says how long ago something happened, roughly.
func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s ago"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h ago"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d ago"
}

// elementID is a stable HTML id for a notebook that holds nothing of its
// name: names come from AWS.
func elementID(k string) string {
	h := sha256.Sum256([]byte(k))
	return "nb-" + hex.EncodeToString(h[:8])
}

// hash is a CSP source expression for an inline element's exact content.
func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}
