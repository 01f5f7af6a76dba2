// Package browsertest runs the HTML pages' browser tests (the report's and
// the watch dashboard's) in headless Chromium: it finds the browser (a
// missing one skips the test, and fails it under CI=true), opens a tab
// that records what a page must not produce (console errors and warnings,
// exceptions, CSP violations, dialogs) and every request it makes, and
// evaluates expressions in it. Tests only.
package browsertest

import (
	"context"
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

// OutDir is where a test leaves its pages and screenshots for people to
// look at: $SAGEFENCE_TEST_OUT/name when set, else the test's temp dir.
func OutDir(t *testing.T, name string) string {
	t.Helper()
	if d := os.Getenv("SAGEFENCE_TEST_OUT"); d != "" {
		d = filepath.Join(d, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// Options configure the tab.
type Options struct {
	// Headers ride on every request the tab makes (as a reverse proxy in
	// front of a page would add them).
	Headers map[string]any
	// InitScript runs in every document before the page's own scripts,
	// after the one that records dialogs in window.__alerts.
	InitScript string
}

// Tab is a headless Chromium tab. Its Ctx is for chromedp calls.
type Tab struct {
	t   *testing.T
	Ctx context.Context

	mu       sync.Mutex
	problems []string
	requests []string
	dialogs  []string
}

// Start starts Chromium (1440×1000, reduced motion, sRGB) and one tab,
// both ended when t ends.
func Start(t *testing.T, opts Options) *Tab {
	t.Helper()
	browser := chromiumPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
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
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	tab := &Tab{t: t, Ctx: bctx}

	// Start the browser and the tab first so that the listener sees every
	// event of the page load.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", browser, err)
	}
	err := chromedp.Listen(bctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				tab.add(&tab.problems, "console."+string(ev.Type)+": "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			msg := ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
			tab.add(&tab.problems, "exception: "+msg)
		case *cdplog.EventEntryAdded:
			// A CSP violation is reported here (source "security"), as is a
			// resource the page failed to load.
			if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
				tab.add(&tab.problems, "log "+string(ev.Entry.Level)+" ("+string(ev.Entry.Source)+"): "+ev.Entry.Text)
			}
		case *network.EventRequestWillBeSent:
			tab.add(&tab.requests, ev.Request.URL)
		case *page.EventJavascriptDialogOpening:
			tab.add(&tab.dialogs, string(ev.Type)+": "+ev.Message)
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
	if len(opts.Headers) > 0 {
		if _, err := chromedp.Call(bctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: opts.Headers}); err != nil {
			t.Fatal(err)
		}
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
	script := `window.__alerts = []; for (const f of ["alert", "confirm", "prompt"]) { window[f] = (m) => { window.__alerts.push(f + ":" + m); }; }`
	if opts.InitScript != "" {
		script += "\n" + opts.InitScript
	}
	if _, err := chromedp.Call(bctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script}); err != nil {
		t.Fatal(err)
	}
	return tab
}

func (tab *Tab) add(dst *[]string, s string) {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	*dst = append(*dst, s)
}

// Snapshot is what the tab has recorded so far: problems (console errors
// and warnings, exceptions, error and warning log entries), the URLs it
// requested, and the dialogs the page opened.
func (tab *Tab) Snapshot() (problems, requests, dialogs []string) {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]string(nil), tab.problems...), append([]string(nil), tab.requests...), append([]string(nil), tab.dialogs...)
}

// Do runs steps, failing the test with what when one fails.
func (tab *Tab) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	if err := chromedp.Do(tab.Ctx, steps...); err != nil {
		tab.t.Fatalf("%s: %v", what, err)
	}
}

// Eval evaluates a JavaScript expression in the tab.
func Eval[T any](tab *Tab, js string) T {
	tab.t.Helper()
	v, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[T](js))
	if err != nil {
		tab.t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// Screenshot writes a full-page PNG to path.
func (tab *Tab) Screenshot(path string) {
	tab.t.Helper()
	png, err := chromedp.Run(tab.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tab.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tab.t.Fatal(err)
	}
}
