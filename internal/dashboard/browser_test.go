package dashboard

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sagefence/sagefence/internal/browsertest"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

func TestDashboardInChromium(t *testing.T) {
	// The token rides on every request the tab makes, as a reverse proxy
	// in front of the dashboard would add it. Every CSP violation the page
	// reports to itself is recorded too.
	tab := browsertest.Start(t, browsertest.Options{
		Headers:    map[string]any{"Authorization": "Bearer " + token},
		InitScript: `window.__csp = []; document.addEventListener("securitypolicyviolation", (e) => { window.__csp.push(e.violatedDirective + " " + e.blockedURI); });`,
	})
	dir := browsertest.OutDir(t, "dashboard")

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

	do := tab.Do
	evalInt := func(js string) int { t.Helper(); return browsertest.Eval[int](tab, js) }
	evalBool := func(js string) bool { t.Helper(); return browsertest.Eval[bool](tab, js) }
	evalString := func(js string) string { t.Helper(); return browsertest.Eval[string](tab, js) }
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
	tab.Screenshot(filepath.Join(dir, "dashboard.png"))

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
	tab.Screenshot(filepath.Join(dir, "notebook.png"))
	t.Logf("screenshots in %s", dir)

	// The Copy button of a reproduce command answers (the shared copy.js):
	// "Copied", or "Select + copy" where the browser refuses the clipboard.
	do("copying a reproduce command", chromedp.Click(chromedp.CSS(`details.finding[open] .btn-copy`)), chromedp.Sleep(200*time.Millisecond))
	if label := evalString(`document.querySelector("details.finding[open] .btn-copy").textContent`); label != "Copied" && label != "Select + copy" {
		t.Errorf("after a click the Copy button reads %q: the copy script did not run", label)
	}

	problems, requests, dialogs := tab.Snapshot()
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

// quote makes a JavaScript string literal.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "<", `\x3c`)
	return `"` + r.Replace(s) + `"`
}
