package dashboard

import (
	stdhtml "html"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

func getPage(t *testing.T, src Source, target string) (int, string, string) {
	t.Helper()
	rec := do(t, newHandler(src, token), "GET", target, "Bearer "+token)
	return rec.Code, rec.Header().Get("Content-Security-Policy"), rec.Body.String()
}

func focusURL(k key) string { return "/?notebook=" + url.QueryEscape(k.String()) }

func TestPageCSPHashesItsOwnInlineScriptAndStyle(t *testing.T) {
	_, csp, body := getPage(t, newFake(), "/")
	for tag, directive := range map[string]string{"script": "script-src", "style": "style-src"} {
		m := regexp.MustCompile(`(?s)<`+tag+`>(.*?)</`+tag+`>`).FindAllStringSubmatch(body, -1)
		if len(m) != 1 {
			t.Fatalf("want exactly one inline <%s>, got %d", tag, len(m))
		}
		want := directive + " '" + hash(m[0][1]) + "'"
		if !strings.Contains(csp, want+";") {
			t.Errorf("CSP %q does not allow the page's <%s> (want %q)", csp, tag, want)
		}
	}
	if strings.Count(csp, "sha256-") != 2 {
		t.Errorf("CSP %q allows more than the page's one script and one style", csp)
	}
}

func TestPageIsSelfContainedAndHasNoInlineHandlers(t *testing.T) {
	for _, target := range []string{"/", focusURL(xssKey)} {
		_, _, out := getPage(t, newFake(), target)
		tags := regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z:-]+(?:="[^"]*")?)*)\s*/?>`).FindAllStringSubmatch(out, -1)
		attr := regexp.MustCompile(`([a-zA-Z:-]+)(?:="([^"]*)")?`)
		seen := map[string]bool{}
		for _, tag := range tags {
			name := strings.ToLower(tag[1])
			seen[name] = true
			switch name {
			case "img", "link", "iframe", "object", "embed", "video", "audio", "source", "base", "form", "meta":
				if name == "meta" {
					break
				}
				t.Errorf("%s: page contains a <%s> element: %s", target, name, tag[0])
			}
			for _, a := range attr.FindAllStringSubmatch(tag[2], -1) {
				switch n := strings.ToLower(a[1]); {
				case n == "src" || n == "srcset" || n == "action" || n == "xlink:href" || n == "style":
					t.Errorf("%s: <%s> has %s=%q", target, name, n, a[2])
				case n == "href" && !strings.HasPrefix(a[2], "?notebook=") && a[2] != "./" && !strings.HasPrefix(a[2], "#"):
					t.Errorf("%s: <%s> links out: href=%q", target, name, a[2])
				case strings.HasPrefix(n, "on"):
					t.Errorf("%s: <%s> has an inline event handler %s", target, name, n)
				case n == "http-equiv" && a[2] == "refresh":
					t.Errorf("%s: a meta refresh", target)
				}
			}
		}
		if !seen["details"] || !seen["script"] || !seen["a"] {
			t.Errorf("%s: tag scan found %v; the pattern is broken", target, seen)
		}
		for _, css := range []string{"@import", "url("} {
			if strings.Contains(out, css) {
				t.Errorf("%s: page contains %q", target, css)
			}
		}
	}
}

func TestPageEscapesAWSValues(t *testing.T) {
	for _, target := range []string{"/", focusURL(xssKey)} {
		_, _, out := getPage(t, newFake(), target)
		for _, raw := range []string{reporttest.XSSName, `<script>alert(2)</script>`} {
			if strings.Contains(out, raw) {
				t.Errorf("%s: the page holds %q unescaped", target, raw)
			}
		}
		if !strings.Contains(out, stdhtml.EscapeString(reporttest.XSSName)) {
			t.Errorf("%s: the hostile name is not on the page as text", target)
		}
	}
}

// The palette is the report's: the two pages must look like one product.
func TestPaletteIsTheReports(t *testing.T) {
	var report []byte
	for _, f := range []string{"base.css", "report.css"} {
		b, err := os.ReadFile(filepath.Join("..", "report", "html", f))
		if err != nil {
			t.Fatal(err)
		}
		report = append(report, b...)
	}
	root := regexp.MustCompile(`(?s):root \{.*?\}`)
	want, got := root.FindAllString(string(report), -1), root.FindAllString(pageCSS, -1)
	if len(want) == 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the dashboard's :root palette differs from the report's:\n%s\nwant\n%s", got, want)
	}
}

func TestPageShowsPostureTrendAndRecentChanges(t *testing.T) {
	src := newFake()
	code, _, out := getPage(t, src, "/")
	if code != 200 {
		t.Fatalf("GET / = %d", code)
	}
	// Cards by status, from the results.
	for s, n := range map[finding.Status]int{finding.StatusFail: 3, finding.StatusPass: 1, finding.StatusError: 1} {
		re := regexp.MustCompile(`(?s)data-status="` + string(s) + `">.*?<span class="card-count">(\d+)</span>`)
		m := re.FindStringSubmatch(out)
		if m == nil || m[1] != strconv.Itoa(n) {
			t.Errorf("the %s card shows %v, want %d", s, m, n)
		}
	}
	// One point per scan in the 30-day window, with the scan's total.
	if len(src.trendSince) != 1 || !src.trendSince[0].Equal(fixtureNow.Add(-30*24*time.Hour)) {
		t.Errorf("the trend was asked since %v, want 30 days before %v", src.trendSince, fixtureNow)
	}
	pts := regexp.MustCompile(`<circle class="pt"[^>]*data-total="(\d+)"`).FindAllStringSubmatch(out, -1)
	var totals []string
	for _, p := range pts {
		totals = append(totals, p[1])
	}
	if strings.Join(totals, ",") != "8,8,7,7" {
		t.Errorf("trend points total %v, want one per scan in the window: 8,8,7,7", totals)
	}
	// Recent changes with who caused them.
	recent := regexp.MustCompile(`(?s)<section class="panel" id="recent">.*?</section>`).FindString(out)
	for _, want := range []string{"CreateRoute", netops, "DeleteNotebookInstance", alice, "DELETED", "first scan", "3h ago"} {
		if !strings.Contains(recent, stdhtml.EscapeString(want)) {
			t.Errorf("recent changes lack %q", want)
		}
	}
	if strings.Count(recent, `<tr class="change">`) != len(src.recent) {
		t.Errorf("recent changes list %d rows, want %d", strings.Count(recent, `<tr class="change">`), len(src.recent))
	}
}

func TestPageShowsEachNotebookWithTimelineEvidenceHopsAndCommands(t *testing.T) {
	src := newFake()
	_, _, out := getPage(t, src, "/")
	details := regexp.MustCompile(`(?s)<details class="finding".*?</details>`).FindAllString(out, -1)
	if len(details) != len(src.rep.Results) {
		t.Fatalf("%d notebooks on the page, want %d", len(details), len(src.rep.Results))
	}
	find := func(name string) string {
		for _, d := range details {
			if strings.Contains(d, `<span class="nb-name">`+stdhtml.EscapeString(name)+`</span>`) {
				return d
			}
		}
		t.Fatalf("no entry for %q", name)
		return ""
	}
	xss := find(reporttest.XSSName)
	tl := regexp.MustCompile(`(?s)<ol class="timeline">.*?</ol>`).FindString(xss)
	if strings.Count(tl, `<li class="tl">`) != 2 {
		t.Errorf("the hostile notebook's timeline has %d entries, want 2:\n%s", strings.Count(tl, `<li class="tl">`), tl)
	}
	// Newest first: PASS → FAIL by CreateRoute before NEW → PASS.
	if i, j := strings.Index(tl, "CreateRoute"), strings.Index(tl, "first scan"); i < 0 || j < 0 || i > j {
		t.Errorf("the timeline is not newest first with its causes:\n%s", tl)
	}
	for _, want := range []string{"badge-pass\">PASS</span> <span class=\"arrow\">→</span> <span class=\"badge badge-sm badge-fail\">FAIL", "0a1b2c3d-route"} {
		if !strings.Contains(tl, want) {
			t.Errorf("the timeline lacks %q:\n%s", want, tl)
		}
	}
	for _, want := range []string{"Public IP</dt><dd class=\"mono\">203.0.113.10", "aws sagemaker describe-notebook-instance", "sg-0d1 allows tcp/8888"} {
		if !strings.Contains(xss, want) {
			t.Errorf("the hostile notebook's entry lacks %q", want)
		}
	}
	transit := find("transit-notebook")
	if !strings.Contains(transit, `<ol class="hops">`) || !strings.Contains(transit, "tgw-attach-0c1") {
		t.Error("the transit notebook's entry lacks its hops")
	}
	// A notebook without transitions says so rather than showing nothing.
	if !strings.Contains(find("transit-notebook"), "No transition recorded.") {
		t.Error("a notebook without history does not say so")
	}
}

func TestNotebookPage(t *testing.T) {
	src := newFake()
	code, _, out := getPage(t, src, focusURL(xssKey))
	if code != 200 {
		t.Fatalf("GET %s = %d", focusURL(xssKey), code)
	}
	details := regexp.MustCompile(`(?s)<details class="finding"[^>]*>`).FindAllString(out, -1)
	if len(details) != 1 || !strings.HasSuffix(details[0], " open>") {
		t.Errorf("the notebook page shows %v, want its one notebook, open", details)
	}
	if !strings.Contains(out, "CreateRoute") || strings.Contains(out, "data-science-prod") {
		t.Error("the notebook page does not show only its notebook's timeline")
	}
	if len(src.historyCalls) != 1 || src.historyCalls[0] != xssKey {
		t.Errorf("the notebook page read the history of %v, want only %v", src.historyCalls, xssKey)
	}

	// A deleted notebook has no result but still its timeline.
	code, _, out = getPage(t, src, focusURL(deletedKey))
	if code != 200 || !strings.Contains(out, `<span class="badge badge-deleted">DELETED</span>`) || !strings.Contains(out, "DeleteNotebookInstance") {
		t.Errorf("the page of a deleted notebook = %d, without its status or timeline", code)
	}

	code, _, out = getPage(t, src, focusURL(key{acctA, "us-east-1", "never-seen"}))
	if code != 404 || !strings.Contains(out, "Nothing is stored of notebook") {
		t.Errorf("the page of an unknown notebook = %d, want 404 saying so", code)
	}
	for _, bad := range []string{"/?notebook=", "/?notebook=a/b", "/?notebook=a//c", "/?notebook=a/b/c&notebook=a/b/d"} {
		rec := do(t, newHandler(src, token), "GET", bad, "Bearer "+token)
		if rec.Code != 400 || strings.Count(rec.Body.String(), "\n") != 1 {
			t.Errorf("GET %s = %d %q, want 400 on one line", bad, rec.Code, rec.Body)
		}
	}
	// A name may hold slashes: only the first two split.
	if k, err := parseKey([]string{"1/r/a/b"}); err != nil || k.name != "a/b" {
		t.Errorf("parseKey(1/r/a/b) = %+v, %v", k, err)
	}
}

func TestPageBeforeTheFirstScan(t *testing.T) {
	src := newFake()
	src.ready = false
	code, _, out := getPage(t, src, "/")
	if code != 503 || !strings.Contains(out, "Waiting for the first full scan") {
		t.Errorf("GET / before the first scan = %d, want 503 with a banner", code)
	}
	if len(src.historyCalls)+len(src.trendSince)+len(src.recentLimits) != 0 {
		t.Error("the page read the history before the first scan was stored")
	}
}

func TestPageLimitsTimelinesOnALargeFleet(t *testing.T) {
	src := newFake()
	base := src.rep.Results[1]
	for i := range maxTimelines + 20 {
		r := base
		r.Resource.Name = "bulk-" + strconv.Itoa(i)
		src.rep.Results = append(src.rep.Results, r)
	}
	_, _, out := getPage(t, src, "/")
	if len(src.historyCalls) != maxTimelines {
		t.Errorf("the page read %d histories, want at most %d", len(src.historyCalls), maxTimelines)
	}
	// The most urgent notebooks get theirs.
	if src.historyCalls[0].name != "unreadable-notebook" {
		t.Errorf("the first history read is of %v, want the ERROR notebook", src.historyCalls[0])
	}
	if n := strings.Count(out, "for its timeline."); n != len(src.rep.Results)-maxTimelines {
		t.Errorf("%d notebooks link to their timeline, want %d", n, len(src.rep.Results)-maxTimelines)
	}
}

func TestPageFailsWhole(t *testing.T) {
	src := newFake()
	src.err = os.ErrDeadlineExceeded
	code, _, out := getPage(t, src, "/")
	if code != 500 || strings.Contains(out, "<html") {
		t.Errorf("GET / when the store fails = %d; want 500 and no half page", code)
	}
}
