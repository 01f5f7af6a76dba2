package dashboard

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/history"
)

const token = "s3cret-t0ken"

func historyURL(k key) string {
	return "/api/v1/history?" + url.Values{"account": {k.account}, "region": {k.region}, "name": {k.name}}.Encode()
}

// metricsStub stands in for the Prometheus handler.
var metricsStub = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.WriteString(w, "# TYPE sagefence_up gauge\nsagefence_up 1\n")
})

// do serves one request; auth is the Authorization header ("" for none).
func do(t *testing.T, h http.Handler, method, target, auth string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.Host = "127.0.0.1:8484"
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func newHandler(src Source, tok string) http.Handler {
	return New(src, Options{Token: tok, Metrics: metricsStub, Version: "1.2.3-test", Now: func() time.Time { return fixtureNow }})
}

func TestProbesAnswerWithoutTheToken(t *testing.T) {
	for _, tc := range []struct {
		path     string
		ready    bool
		wantCode int
		wantBody string
	}{
		{"/healthz", true, 200, "ok\n"},
		{"/healthz", false, 200, "ok\n"},
		{"/readyz", true, 200, "ready\n"},
		{"/readyz", false, 503, "not ready: the first full scan is not stored yet\n"},
	} {
		src := newFake()
		src.ready = tc.ready
		rec := do(t, newHandler(src, token), "GET", tc.path, "")
		if rec.Code != tc.wantCode || rec.Body.String() != tc.wantBody {
			t.Errorf("GET %s (ready %v) without a token = %d %q, want %d %q", tc.path, tc.ready, rec.Code, rec.Body, tc.wantCode, tc.wantBody)
		}
	}
}

func TestTheTokenGuardsEveryOtherPath(t *testing.T) {
	h := newHandler(newFake(), token)
	paths := []string{"/", "/?notebook=" + url.QueryEscape(xssKey.String()), "/api/v1/results", historyURL(xssKey), "/metrics", "/nonexistent"}
	for _, path := range paths {
		for _, tc := range []struct {
			name, auth string
		}{
			{"missing", ""},
			{"wrong", "Bearer wrong"},
			{"wrong, same length", "Bearer " + strings.Repeat("x", len(token))},
			{"right token, longer", "Bearer " + token + "x"},
			{"prefix of the token", "Bearer " + token[:4]},
			{"another scheme", "Basic " + token},
			{"no scheme", token},
			{"empty bearer", "Bearer "},
		} {
			rec := do(t, h, "GET", path, tc.auth)
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("GET %s with %s token = %d, want 401", path, tc.name, rec.Code)
				continue
			}
			if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("GET %s with %s token: WWW-Authenticate %q, want a Bearer challenge", path, tc.name, got)
			}
			if strings.Contains(rec.Body.String(), "sagemaker") || strings.Contains(rec.Body.String(), acctA) {
				t.Errorf("GET %s with %s token leaks data: %q", path, tc.name, rec.Body)
			}
		}
		want := http.StatusOK
		if path == "/nonexistent" {
			want = http.StatusNotFound
		}
		for _, auth := range []string{"Bearer " + token, "bearer " + token, "  Bearer   " + token + " "} {
			if rec := do(t, h, "GET", path, auth); rec.Code != want {
				t.Errorf("GET %s with %q = %d, want %d: %s", path, auth, rec.Code, want, rec.Body)
			}
		}
	}
}

func TestWithoutATokenNoneIsNeeded(t *testing.T) {
	h := newHandler(newFake(), "")
	for _, path := range []string{"/", "/api/v1/results", historyURL(xssKey), "/metrics"} {
		if rec := do(t, h, "GET", path, ""); rec.Code != http.StatusOK {
			t.Errorf("GET %s without a configured token = %d, want 200: %s", path, rec.Code, rec.Body)
		}
	}
}

// A page on another origin can make a browser resolve its own domain to
// 127.0.0.1 (DNS rebinding) and read a loopback listener as same-origin:
// without a token, only host names that cannot be rebound are served.
func TestWithoutATokenOnlyLoopbackHostNamesAreServed(t *testing.T) {
	h := newHandler(newFake(), "")
	for _, tc := range []struct {
		host string
		path string
		want int
	}{
		{"127.0.0.1:8484", "/api/v1/results", 200},
		{"localhost:8484", "/api/v1/results", 200},
		{"LOCALHOST.", "/", 200},
		{"[::1]:8484", "/api/v1/results", 200},
		{"dash.localhost:8484", "/api/v1/results", 200},
		{"10.0.0.7:8484", "/api/v1/results", 200},
		{"attacker.example:8484", "/api/v1/results", 403},
		{"attacker.example", "/", 403},
		{"localhost.attacker.example", "/metrics", 403},
		{"", "/api/v1/results", 403},
		{"attacker.example:8484", "/healthz", 200},
		{"attacker.example:8484", "/readyz", 200},
	} {
		req := httptest.NewRequest("GET", tc.path, nil)
		req.Host = tc.host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("GET %s with Host %q = %d, want %d", tc.path, tc.host, rec.Code, tc.want)
		}
	}
	// With a token, the host name does not matter.
	req := httptest.NewRequest("GET", "/api/v1/results", nil)
	req.Host = "watch.internal.example:8484"
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	newHandler(newFake(), token).ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("with a token, Host watch.internal.example = %d, want 200", rec.Code)
	}
}

func TestOnlyGetAndHeadAreServed(t *testing.T) {
	h := newHandler(newFake(), token)
	paths := []string{"/healthz", "/readyz", "/", "/api/v1/results", historyURL(xssKey), "/metrics"}
	for _, path := range paths {
		for _, m := range []string{"POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"} {
			rec := do(t, h, m, path, "Bearer "+token)
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s = %d (Allow %q), want 405 with Allow: GET, HEAD", m, path, rec.Code, rec.Header().Get("Allow"))
			}
		}
		if rec := do(t, h, "HEAD", path, "Bearer "+token); rec.Code != http.StatusOK {
			t.Errorf("HEAD %s = %d, want 200", path, rec.Code)
		}
	}
	// Unauthenticated, a protected path says nothing about methods.
	if rec := do(t, h, "POST", "/api/v1/results", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("POST /api/v1/results without the token = %d, want 401", rec.Code)
	}
}

func TestEveryResponseCarriesTheSecurityHeaders(t *testing.T) {
	h := newHandler(newFake(), token)
	for _, tc := range []struct {
		method, path, auth string
	}{
		{"GET", "/healthz", ""},
		{"GET", "/", "Bearer " + token},
		{"GET", "/api/v1/results", "Bearer " + token},
		{"GET", historyURL(xssKey), "Bearer " + token},
		{"GET", "/api/v1/history", "Bearer " + token},
		{"GET", "/metrics", "Bearer " + token},
		{"GET", "/nope", "Bearer " + token},
		{"GET", "/", ""},
		{"POST", "/healthz", ""},
	} {
		rec := do(t, h, tc.method, tc.path, tc.auth)
		hdr := rec.Header()
		for name, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "no-referrer",
			"Cache-Control":          "no-store",
		} {
			if got := hdr.Get(name); got != want {
				t.Errorf("%s %s (%d): %s %q, want %q", tc.method, tc.path, rec.Code, name, got, want)
			}
		}
		csp := hdr.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s %s (%d): CSP %q lacks %s", tc.method, tc.path, rec.Code, csp, want)
			}
		}
		for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:"} {
			if strings.Contains(csp, bad) {
				t.Errorf("%s %s: CSP %q allows %s", tc.method, tc.path, csp, bad)
			}
		}
		if ct := hdr.Get("Content-Type"); ct == "" {
			t.Errorf("%s %s: no Content-Type", tc.method, tc.path)
		}
	}
}

func TestRequestsAreLimited(t *testing.T) {
	h := newHandler(newFake(), token)
	withBody := httptest.NewRequest("GET", "/api/v1/results", strings.NewReader("x"))
	withBody.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, withBody)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("GET with a body = %d, want 413", rec.Code)
	}
	chunked := httptest.NewRequest("GET", "/healthz", strings.NewReader(""))
	chunked.ContentLength = -1
	chunked.TransferEncoding = []string{"chunked"}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, chunked)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("GET with a chunked body = %d, want 413", rec.Code)
	}
	long := historyURL(key{acctA, "us-east-1", strings.Repeat("n", 5000)})
	if rec := do(t, h, "GET", long, "Bearer "+token); rec.Code != http.StatusRequestURITooLong {
		t.Errorf("GET of a %d-byte URI = %d, want 414", len(long), rec.Code)
	}
}

func TestNewServer(t *testing.T) {
	h := newHandler(newFake(), token)
	srv := NewServer("127.0.0.1:0", h)
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Errorf("NewServer leaves a limit unset: %+v", srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	ask := func(raw string) string {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		return strings.TrimSpace(line)
	}
	if got := ask("OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token + "\r\nConnection: close\r\n\r\n"); got != "HTTP/1.1 405 Method Not Allowed" {
		t.Errorf("OPTIONS * = %q, want 405", got)
	}
	if got := ask("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + strings.Repeat("a", 2*MaxHeaderBytes) + "\r\nConnection: close\r\n\r\n"); got != "HTTP/1.1 431 Request Header Fields Too Large" {
		t.Errorf("GET with %d bytes of headers = %q, want 431", 2*MaxHeaderBytes, got)
	}
	if got := ask("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"); got != "HTTP/1.1 200 OK" {
		t.Errorf("GET /healthz = %q, want 200", got)
	}
}

func TestMetrics(t *testing.T) {
	rec := do(t, newHandler(newFake(), token), "GET", "/metrics", "Bearer "+token)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "sagefence_up 1") {
		t.Errorf("GET /metrics = %d %q, want the metrics handler's answer", rec.Code, rec.Body)
	}
	none := New(newFake(), Options{Token: token})
	if rec := do(t, none, "GET", "/metrics", "Bearer "+token); rec.Code != http.StatusNotFound {
		t.Errorf("GET /metrics without a metrics handler = %d, want 404", rec.Code)
	}
}

func TestResultsAreTheReportContract(t *testing.T) {
	src := newFake()
	rec := do(t, newHandler(src, token), "GET", "/api/v1/results", "Bearer "+token)
	if rec.Code != 200 {
		t.Fatalf("GET /api/v1/results = %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var got finding.Report
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("the results do not parse as a finding.Report: %v", err)
	}
	if diff := cmp.Diff(src.rep, &got); diff != "" {
		t.Errorf("the results differ from the source's report (-want +got):\n%s", diff)
	}
}

func TestResultsBeforeTheFirstScanAndOnFailure(t *testing.T) {
	src := newFake()
	src.ready = false
	if rec := do(t, newHandler(src, token), "GET", "/api/v1/results", "Bearer "+token); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /api/v1/results before the first scan = %d, want 503", rec.Code)
	}
	src = newFake()
	src.rep = nil
	if rec := do(t, newHandler(src, token), "GET", "/api/v1/results", "Bearer "+token); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /api/v1/results with no report stored = %d, want 503", rec.Code)
	}
	src = newFake()
	src.err = errors.New("database is locked\nsecond line")
	rec := do(t, newHandler(src, token), "GET", "/api/v1/results", "Bearer "+token)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "database is locked") ||
		strings.Count(rec.Body.String(), "\n") != 1 {
		t.Errorf("GET /api/v1/results when the store fails = %d %q, want 500 with the error on one line", rec.Code, rec.Body)
	}
}

func TestHistoryNeedsEveryParameter(t *testing.T) {
	h := newHandler(newFake(), token)
	for _, tc := range []struct {
		query   string
		missing string
	}{
		{"", "account, region, name"},
		{"account=1&region=us-east-1", "name"},
		{"account=1&name=n", "region"},
		{"region=us-east-1&name=n", "account"},
		{"account=&region=us-east-1&name=n", "account"},
		{"account=1", "region, name"},
	} {
		rec := do(t, h, "GET", "/api/v1/history?"+tc.query, "Bearer "+token)
		body := rec.Body.String()
		if rec.Code != http.StatusBadRequest || !strings.HasPrefix(body, "missing query parameter "+tc.missing+":") ||
			strings.Count(body, "\n") != 1 || !strings.HasSuffix(body, "\n") {
			t.Errorf("GET /api/v1/history?%s = %d %q, want 400 naming %q on one line", tc.query, rec.Code, body, tc.missing)
		}
	}
}

func TestHistoryIsTheNotebooksTransitions(t *testing.T) {
	src := newFake()
	rec := do(t, newHandler(src, token), "GET", historyURL(xssKey), "Bearer "+token)
	if rec.Code != 200 {
		t.Fatalf("GET history = %d: %s", rec.Code, rec.Body)
	}
	// The wire format: the keys a client relies on.
	var raw struct {
		Transitions []map[string]json.RawMessage `json:"transitions"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Transitions) != 2 {
		t.Fatalf("%d transitions, want the notebook's 2: %s", len(raw.Transitions), rec.Body)
	}
	for _, k := range []string{"at", "from", "to", "cause"} {
		if _, ok := raw.Transitions[1][k]; !ok {
			t.Errorf("a transition lacks %q: %s", k, rec.Body)
		}
	}
	var got struct {
		Transitions []history.Transition `json:"transitions"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(src.hist[xssKey], got.Transitions); diff != "" {
		t.Errorf("history differs (-want +got):\n%s", diff)
	}
	if c := got.Transitions[1].Cause; c.EventName != "CreateRoute" || c.Caller != netops {
		t.Errorf("the cause is %+v, want CreateRoute by %s", c, netops)
	}

	rec = do(t, newHandler(src, token), "GET", historyURL(key{acctA, "us-east-1", "never-seen"}), "Bearer "+token)
	if rec.Code != 200 || !bytes.Equal(bytes.Join(bytes.Fields(rec.Body.Bytes()), nil), []byte(`{"transitions":[]}`)) {
		t.Errorf("history of an unknown notebook = %d %q, want an empty list", rec.Code, rec.Body)
	}
}
