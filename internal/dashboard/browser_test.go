package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sagefence/sagefence/internal/report/reporttest"
)

// chromiumPath finds Debian's chromium. Without it the test is skipped,
// except in CI (CI=true), where a missing browser is a broken setup; as
// the HTML report's browser test does.
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

// outDir is where the test leaves the pages and their screenshots for
// people to look at: $SAGEFENCE_TEST_OUT/dashboard when set, else the
// test's temp dir.
func outDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("SAGEFENCE_TEST_OUT"); d != "" {
		d = filepath.Join(d, "dashboard")
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

func TestDashboardInChromium(t *testing.T) {
	browser := chromiumPath(t)
	dir := outDir(t)

	src := newFake()
	h := New(src, Options{Token: token, Version: "1.2.3-test", Now: func() time.Time { return fixtureNow }})
	var hitsMu sync.Mutex
	var hits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hitsMu.Lock()
		hits = append(hits, r.URL.RequestURI()+" "+r.Header.Get("Authorization"))
		hitsMu.Unlock()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

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
			// A CSP violation is reported here (source "security"), as is a
			// resource the page failed to load.
			if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
				blog.add(&blog.problems, "log "+string(ev.Entry.Level)+" ("+string(ev.Entry.Source)+"): "+ev.Entry.Text)
			}
		case *network.EventRequestWillBeSent:
			blog.add(&blog.requests, ev.Request.URL)
		case *cdppage.EventJavascriptDialogOpening:
			blog.add(&blog.dialogs, string(ev.Type)+": "+ev.Message)
			go func() {
				_, _ = chromedp.Call(bctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{})
			}()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	// The token rides on every request the tab makes, as a reverse proxy
	// in front of the dashboard would add it.
	if _, err := chromedp.Call(bctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Authorization": "Bearer " + token},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(bctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	}); err != nil {
		t.Fatal(err)
	}
	// Record instead of block: dialogs a hostile value might open, and
	// every CSP violation the page reports to itself.
	if _, err := chromedp.Call(bctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__alerts = []; for (const f of ["alert", "confirm", "prompt"]) { window[f] = (m) => { window.__alerts.push(f + ":" + m); }; }
			window.__csp = []; document.addEventListener("securitypolicyviolation", (e) => { window.__csp.push(e.violatedDirective + " " + e.blockedURI); });`,
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
	evalString := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("evaluating %s: %v", js, err)
		}
		return s
	}
	checkHostile := func(where string) {
		t.Helper()
		if n := evalInt(`document.querySelectorAll("img").length`); n != 0 {
			t.Errorf("%s: %d <img> elements: an AWS value was parsed as HTML", where, n)
		}
		if n := evalInt(`document.querySelectorAll("script").length`); n != 1 {
			t.Errorf("%s: %d <script> elements, want only the page's own", where, n)
		}
		if n := evalInt(`window.__alerts.length`); n != 0 {
			t.Errorf("%s: the page called alert/confirm/prompt %d times", where, n)
		}
		if v := evalString(`window.__csp.join("; ")`); v != "" {
			t.Errorf("%s: CSP violations: %s", where, v)
		}
		if !evalBool(`Array.from(document.querySelectorAll(".nb-name")).some(e => e.textContent === ` + quote(reporttest.XSSName) + ` && e.offsetParent !== null)`) {
			t.Errorf("%s: the hostile name is not shown as text", where)
		}
	}

	// The dashboard.
	do("loading the dashboard", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#notebooks details.finding")))
	checkHostile("dashboard")

	// One point per scan in the window, in order, with its total.
	var want []string
	for _, p := range src.trend {
		if p.At.Before(fixtureNow.Add(-30 * 24 * time.Hour)) {
			continue
		}
		n := 0
		for _, c := range p.Counts {
			n += c
		}
		want = append(want, strconv.Itoa(n))
	}
	got := evalString(`Array.from(document.querySelectorAll("svg.trend circle.pt")).map(c => c.dataset.total).join(",")`)
	if got != strings.Join(want, ",") {
		t.Errorf("the trend's points total %q, want one per scan in the window: %q", got, strings.Join(want, ","))
	}
	if !evalBool(`(() => { const xs = Array.from(document.querySelectorAll("svg.trend circle.pt")).map(c => c.getBoundingClientRect().x);
		return xs.length > 1 && xs.every((x, i) => i === 0 || x > xs[i-1]); })()`) {
		t.Error("the trend's points are not drawn left to right in time")
	}
	if n := evalInt(`document.querySelectorAll("svg.trend path.band").length`); n == 0 {
		t.Error("the trend draws no band")
	}

	// The newest change is the hostile notebook's, with who caused it.
	row := evalString(`document.querySelector("#recent tr.change").innerText`)
	for _, w := range []string{reporttest.XSSName, "PASS → FAIL", "CreateRoute by " + netops} {
		if !strings.Contains(row, w) {
			t.Errorf("the newest change reads %q, lacking %q", row, w)
		}
	}

	// Opening the hostile notebook shows its timeline and evidence.
	id := elementID(xssKey.String())
	do("opening the hostile notebook", chromedp.Click(chromedp.CSS("#"+id+" > summary")))
	timeline := func(where string) {
		t.Helper()
		sel := quote("#" + id + " li.tl")
		if n := evalInt(`Array.from(document.querySelectorAll(` + sel + `)).filter(e => e.offsetParent !== null).length`); n != 2 {
			t.Errorf("%s: %d timeline entries visible, want 2", where, n)
		}
		first := evalString(`document.querySelector(` + sel + `).innerText`)
		for _, w := range []string{"PASS → FAIL", "CreateRoute by " + netops, "0a1b2c3d-route", "3h ago"} {
			if !strings.Contains(first, w) {
				t.Errorf("%s: the latest timeline entry reads %q, lacking %q", where, first, w)
			}
		}
		if !evalBool(`(() => { const d = document.getElementById(` + quote(id) + `);
			return d.open && d.querySelector(".cmd code").offsetParent !== null && d.querySelector("dl.evidence").offsetParent !== null &&
				d.querySelector(".cmd code").textContent.startsWith("aws sagemaker"); })()`) {
			t.Errorf("%s: the open notebook does not show its evidence and reproduce command", where)
		}
	}
	timeline("dashboard")
	do("opening the transit notebook", chromedp.Click(chromedp.CSS("#"+elementID(key{acctA, "eu-west-1", "transit-notebook"}.String())+" > summary")))
	if !evalBool(`Array.from(document.querySelectorAll("ol.hops li")).some(e => e.offsetParent !== null && e.innerText.includes("tgw-attach-0c1"))`) {
		t.Error("the transit notebook's hops are not shown")
	}
	checkHostile("dashboard, notebooks open")
	shot(t, bctx, filepath.Join(dir, "dashboard.png"))

	// Its own page, through the link in the recent changes.
	do("following the notebook's link", chromedp.Click(chromedp.CSS("#recent tr.change a.nb-name")), chromedp.WaitVisible(chromedp.CSS("details.finding[open]")))
	if n := evalInt(`document.querySelectorAll("details.finding").length`); n != 1 {
		t.Errorf("the notebook's page shows %d notebooks, want 1", n)
	}
	if q := evalString(`new URLSearchParams(location.search).get("notebook")`); q != xssKey.String() {
		t.Errorf("the link led to notebook %q, want %q", q, xssKey.String())
	}
	checkHostile("notebook page")
	timeline("notebook page")
	shot(t, bctx, filepath.Join(dir, "notebook.png"))
	t.Logf("screenshots in %s", dir)

	// The Copy button of a reproduce command answers (the shared copy.js):
	// "Copied", or "Select + copy" where the browser refuses the clipboard.
	do("copying a reproduce command", chromedp.Click(chromedp.CSS(`details.finding[open] .btn-copy`)), chromedp.Sleep(200*time.Millisecond))
	if label := evalString(`document.querySelector("details.finding[open] .btn-copy").textContent`); label != "Copied" && label != "Select + copy" {
		t.Errorf("after a click the Copy button reads %q: the copy script did not run", label)
	}

	problems, requests, dialogs := blog.snapshot()
	for _, p := range problems {
		t.Errorf("browser reported: %s", p)
	}
	for _, d := range dialogs {
		t.Errorf("dialog opened: %s", d)
	}
	if len(requests) != 2 {
		t.Errorf("the browser made %d requests, want the two pages: %v", len(requests), requests)
	}
	for _, u := range requests {
		if !strings.HasPrefix(u, srv.URL+"/") || strings.Contains(strings.TrimPrefix(u, srv.URL+"/"), "/") {
			t.Errorf("page fetched %s; it must be self-contained", u)
		}
	}
	hitsMu.Lock()
	defer hitsMu.Unlock()
	for _, hit := range hits {
		if !strings.HasSuffix(hit, " Bearer "+token) {
			t.Errorf("server saw %q without the token", hit)
		}
	}
}

func shot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// quote makes a JavaScript string literal.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "<", `\x3c`)
	return `"` + r.Replace(s) + `"`
}
