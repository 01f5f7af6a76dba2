package html_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sagefence/sagefence/internal/report/html"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

// chromiumPath finds Debian's chromium. Without it the test is skipped,
// except in CI (CI=true), where a missing browser is a broken setup.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; CI installs it with `make chromium` (apt-get install chromium)")
	}
	t.Skip("chromium is not installed (apt-get install chromium); skipping the browser test")
	return ""
}

// outDir is where the test leaves the page and its screenshot for people
// to look at: $SAGEFENCE_TEST_OUT/html when set, else the test's temp dir.
func outDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("SAGEFENCE_TEST_OUT"); d != "" {
		d = filepath.Join(d, "html")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// browserLog collects what the page must not produce.
type browserLog struct {
	mu       sync.Mutex
	problems []string
	requests []string
	dialogs  []string
}

func (l *browserLog) add(dst *[]string, s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*dst = append(*dst, s)
}

func (l *browserLog) snapshot() (problems, requests, dialogs []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.problems...), append([]string(nil), l.requests...), append([]string(nil), l.dialogs...)
}

func TestReportInChromium(t *testing.T) {
	browser := chromiumPath(t)
	dir := outDir(t)

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

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	// Start the browser and the tab first so that the listener sees every
	// event of the page load.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", browser, err)
	}
	var blog browserLog
	err := chromedp.Listen(bctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				blog.add(&blog.problems, "console."+string(ev.Type)+": "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			msg := ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
			blog.add(&blog.problems, "exception: "+msg)
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
				blog.add(&blog.problems, "log "+string(ev.Entry.Level)+" ("+string(ev.Entry.Source)+"): "+ev.Entry.Text)
			}
		case *network.EventRequestWillBeSent:
			blog.add(&blog.requests, ev.Request.URL)
		case *page.EventJavascriptDialogOpening:
			blog.add(&blog.dialogs, string(ev.Type)+": "+ev.Message)
			// A dialog blocks the page; close it from outside the listener.
			go func() { _, _ = chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{}) }()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	// Reduced motion: the page then scrolls instantly, so clicks land where
	// the test aims.
	if _, err := chromedp.Call(bctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	}); err != nil {
		t.Fatal(err)
	}
	// Replace the dialog functions so that a hostile value that ran would
	// be recorded instead of blocking the page.
	if _, err := chromedp.Call(bctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__alerts = []; for (const f of ["alert", "confirm", "prompt"]) { window[f] = (m) => { window.__alerts.push(f + ":" + m); }; }`,
	}); err != nil {
		t.Fatal(err)
	}

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	evalInt := func(js string) int {
		t.Helper()
		n, err := chromedp.Run(bctx, chromedp.Evaluate[int](js))
		if err != nil {
			t.Fatalf("evaluating %s: %v", js, err)
		}
		return n
	}
	evalBool := func(js string) bool {
		t.Helper()
		b, err := chromedp.Run(bctx, chromedp.Evaluate[bool](js))
		if err != nil {
			t.Fatalf("evaluating %s: %v", js, err)
		}
		return b
	}
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
	shown, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID("shown-count")))
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

	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	png := filepath.Join(dir, "report.png")
	if err := os.WriteFile(png, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("page and screenshot in %s", dir)

	// The Copy button of a reproduce command answers (the shared copy.js):
	// "Copied", or "Select + copy" where the browser refuses the clipboard.
	do("copying a reproduce command", chromedp.Click(chromedp.CSS(`details.finding[open] .btn-copy`)), chromedp.Sleep(200*time.Millisecond))
	label, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector("details.finding[open] .btn-copy").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if label != "Copied" && label != "Select + copy" {
		t.Errorf("after a click the Copy button reads %q: the copy script did not run", label)
	}

	problems, requests, dialogs := blog.snapshot()
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
