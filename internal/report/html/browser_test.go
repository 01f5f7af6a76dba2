package html_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sagefence/sagefence/internal/browsertest"
	"github.com/sagefence/sagefence/internal/report/html"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

func TestReportInChromium(t *testing.T) {
	tab := browsertest.Start(t, browsertest.Options{})
	dir := browsertest.OutDir(t, "html")

	var buf bytes.Buffer
	if err := html.Write(&buf, reporttest.Report()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.html"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var hitsMu sync.Mutex
	var hits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hitsMu.Lock()
		hits = append(hits, r.URL.Path)
		hitsMu.Unlock()
		if r.URL.Path != "/report.html" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(buf.Bytes())
	}))
	defer srv.Close()
	pageURL := srv.URL + "/report.html"

	do := tab.Do
	evalInt := func(js string) int { t.Helper(); return browsertest.Eval[int](tab, js) }
	evalBool := func(js string) bool { t.Helper(); return browsertest.Eval[bool](tab, js) }
	const visibleRows = `Array.from(document.querySelectorAll("details.finding")).filter(e => e.offsetParent !== null).length`
	set := func(sel, value string) {
		t.Helper()
		evalBool(`(() => { const el = document.querySelector(` + quote(sel) + `); el.value = ` + quote(value) + `;
			el.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`)
	}

	r := reporttest.Report()
	do("loading the report", chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.CSS("#finding-list details.finding")))
	if n := evalInt(visibleRows); n != len(r.Results) {
		t.Errorf("%d rows visible on load, want %d", n, len(r.Results))
	}

	// Text filter: typed into the box like a user.
	do("typing a filter", chromedp.SendKeys(chromedp.ID("filter-text"), "data-science"))
	shown, err := chromedp.Run(tab.Ctx, chromedp.Text(chromedp.ID("shown-count")))
	if err != nil {
		t.Fatal(err)
	}
	if n := evalInt(visibleRows); n != 1 || shown != "1" {
		t.Errorf("typing data-science shows %d rows (counter %q), want 1", n, shown)
	}
	set("#filter-text", "")

	// Status filter through the summary card, and off again.
	do("clicking the FAIL card", chromedp.Click(chromedp.CSS(`button[data-filter-status="FAIL"]`)))
	if n := evalInt(visibleRows); n != r.Summary["FAIL"] {
		t.Errorf("the FAIL card shows %d rows, want %d", n, r.Summary["FAIL"])
	}
	if got := evalInt(`Array.from(document.querySelectorAll("details.finding")).filter(e => e.offsetParent !== null && e.dataset.status !== "FAIL").length`); got != 0 {
		t.Errorf("the FAIL card leaves %d other rows visible", got)
	}
	do("clicking the FAIL card again", chromedp.Click(chromedp.CSS(`button[data-filter-status="FAIL"]`)))
	if n := evalInt(visibleRows); n != len(r.Results) {
		t.Errorf("clicking the FAIL card again shows %d rows, want all %d", n, len(r.Results))
	}

	// Region and status drop-downs.
	set("#filter-region", "eu-west-1")
	if n := evalInt(visibleRows); n != 2 {
		t.Errorf("region eu-west-1 shows %d rows, want 2", n)
	}
	set("#filter-status", "MUTED")
	if n := evalInt(visibleRows); n != 1 {
		t.Errorf("region eu-west-1 and MUTED show %d rows, want 1", n)
	}
	set("#filter-status", "PASS")
	if n := evalInt(visibleRows); n != 0 || !evalBool(`!document.getElementById("no-match").hidden`) {
		t.Errorf("an empty filter result shows %d rows and no 'no match' note", n)
	}
	set("#filter-status", "")
	set("#filter-region", "")

	// The hostile name is searchable as the text it is.
	do("typing the hostile name", chromedp.SendKeys(chromedp.ID("filter-text"), "onerror=alert"))
	if n := evalInt(visibleRows); n != 1 {
		t.Errorf("searching the hostile name shows %d rows, want 1", n)
	}
	set("#filter-text", "")

	// Nothing hostile ran or was created, and the name reads as text.
	if n := evalInt(`document.querySelectorAll("img").length`); n != 0 {
		t.Errorf("%d <img> elements in the page: an AWS value was parsed as HTML", n)
	}
	if n := evalInt(`document.querySelectorAll("script").length`); n != 1 {
		t.Errorf("%d <script> elements, want only the page's own", n)
	}
	if n := evalInt(`window.__alerts.length`); n != 0 {
		t.Errorf("the page called alert/confirm/prompt %d times", n)
	}
	if !evalBool(`Array.from(document.querySelectorAll(".nb-name")).some(e => e.textContent === ` + quote(reporttest.XSSName) + ` && e.offsetParent !== null)`) {
		t.Error("the hostile name is not shown as text in its row")
	}

	// Expanding a finding shows its sub-checks, evidence and commands.
	do("expanding a finding", chromedp.Click(chromedp.CSS(`details.finding[data-status="FAIL"] > summary`)))
	if !evalBool(`(() => { const d = document.querySelector('details.finding[data-status="FAIL"]');
		const c = d.querySelector(".cmd code");
		return d.open && c.offsetParent !== null && c.textContent.startsWith("aws sagemaker") &&
			d.querySelector("table.checks").offsetParent !== null && d.querySelector("dl.evidence").offsetParent !== null; })()`) {
		t.Error("expanding a finding does not show its checks, evidence and reproduce command")
	}
	// Also open the hostile one so that the screenshot shows it escaped.
	do("expanding the hostile finding", chromedp.Click(chromedp.CSS(`details.finding[data-search*="onerror"] > summary`)))
	if !evalBool(`document.body.innerText.includes(` + quote(`"><script>alert(2)</script>`) + `)`) {
		t.Error("a hostile tag value is not visible as text")
	}

	tab.Screenshot(filepath.Join(dir, "report.png"))
	t.Logf("page and screenshot in %s", dir)

	// The Copy button of a reproduce command answers (the shared copy.js):
	// "Copied", or "Select + copy" where the browser refuses the clipboard.
	do("copying a reproduce command", chromedp.Click(chromedp.CSS(`details.finding[open] .btn-copy`)), chromedp.Sleep(200*time.Millisecond))
	if label := browsertest.Eval[string](tab, `document.querySelector("details.finding[open] .btn-copy").textContent`); label != "Copied" && label != "Select + copy" {
		t.Errorf("after a click the Copy button reads %q: the copy script did not run", label)
	}

	problems, requests, dialogs := tab.Snapshot()
	for _, p := range problems {
		t.Errorf("browser reported: %s", p)
	}
	for _, d := range dialogs {
		t.Errorf("dialog opened: %s", d)
	}
	if len(requests) == 0 {
		t.Error("saw no network request at all: the listener is not working")
	}
	for _, u := range requests {
		if u != pageURL {
			t.Errorf("page fetched %s; it must be self-contained", u)
		}
	}
	hitsMu.Lock()
	defer hitsMu.Unlock()
	for _, h := range hits {
		if h != "/report.html" && h != "/favicon.ico" {
			t.Errorf("server saw a request for %s", h)
		}
	}
}

// quote makes a JavaScript string literal.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "<", `\x3c`)
	return `"` + r.Replace(s) + `"`
}
