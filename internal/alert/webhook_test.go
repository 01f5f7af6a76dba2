package alert

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func failAlert() Alert {
	return FromTransition(transition("PASS", "FAIL", "nat", eventCause("CreateRoute")))
}

// receiver is a webhook endpoint on loopback answering with status(n) to
// its n-th request (from 1) and keeping what it was sent.
type receiver struct {
	*httptest.Server
	requests atomic.Int32
	bodies   chan []byte
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	t.Helper()
	r := &receiver{bodies: make(chan []byte, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := int(r.requests.Add(1))
		body, _ := io.ReadAll(req.Body)
		code := status(n)
		if code >= 200 && code <= 299 {
			r.bodies <- body
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(r.Close)
	return r
}

func always(code int) func(int) int { return func(int) int { return code } }

// refusedURL is a loopback URL nothing listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/hook"
}

func TestWebhookPostsTheAlertAsJSONWithEveryContractField(t *testing.T) {
	var gotMethod, gotType string
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotMethod, gotType = r.Method, r.Header.Get("Content-Type")
		body, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("the receiver is not on loopback: %s", srv.URL)
	}

	a := failAlert()
	if err := NewWebhook(srv.URL+"/hook", nil).Send(context.Background(), a); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if gotMethod != http.MethodPost || gotType != "application/json" {
		t.Errorf("request is %s with Content-Type %q, want POST application/json", gotMethod, gotType)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, body)
	}
	for _, k := range []string{"at", "account_id", "region", "resource", "arn", "from", "to", "internet_path", "cause", "text"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("body has no %q: %s", k, body)
		}
	}
	var got Alert
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("the receiver decodes a different alert (-sent +received):\n%s", diff)
	}
}

func TestWebhookSaysWhichAnswersAreWorthRetrying(t *testing.T) {
	for _, tc := range []struct {
		status        int
		wantErr       bool
		wantPermanent bool
	}{
		{200, false, false},
		{204, false, false},
		{429, true, false},
		{500, true, false},
		{502, true, false},
		{503, true, false},
		{400, true, true},
		{401, true, true},
		{403, true, true},
		{404, true, true},
		{410, true, true},
		// A POST redirected by 301/302 would arrive as a GET, so no
		// redirect is followed.
		{301, true, true},
		{302, true, true},
		{307, true, true},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			var redirected atomic.Bool
			mux := http.NewServeMux()
			mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
				if tc.status >= 300 && tc.status <= 399 {
					http.Redirect(w, r, "/elsewhere", tc.status)
					return
				}
				w.WriteHeader(tc.status)
			})
			mux.HandleFunc("/elsewhere", func(http.ResponseWriter, *http.Request) { redirected.Store(true) })
			srv := httptest.NewServer(mux)
			defer srv.Close()

			err := NewWebhook(srv.URL+"/hook", nil).Send(context.Background(), failAlert())
			if (err != nil) != tc.wantErr || IsPermanent(err) != tc.wantPermanent {
				t.Errorf("Send = %v (permanent %v), want error %v, permanent %v", err, IsPermanent(err), tc.wantErr, tc.wantPermanent)
			}
			if redirected.Load() {
				t.Errorf("the redirect was followed")
			}
		})
	}
}

func TestWebhookEndpointDownIsRetryable(t *testing.T) {
	err := NewWebhook(refusedURL(t), nil).Send(context.Background(), failAlert())
	if err == nil || IsPermanent(err) {
		t.Fatalf("Send to a closed port = %v, want a retryable error", err)
	}
	if !strings.Contains(err.Error(), "refused") {
		t.Errorf("error does not say the connection was refused: %v", err)
	}
}

func TestWebhookSlowEndpointTimesOutRetryably(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)

	start := time.Now()
	err := NewWebhook(srv.URL, &http.Client{Timeout: 100 * time.Millisecond}).Send(context.Background(), failAlert())
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Send took %v against a 100ms timeout", took)
	}
	if err == nil || IsPermanent(err) {
		t.Fatalf("Send to a slow endpoint = %v, want a retryable timeout", err)
	}
}

func TestWebhookHasATimeoutWhateverTheClient(t *testing.T) {
	// No client: one with the default timeout.
	if got := NewWebhook("https://hooks.example.com/x", nil).(*webhook).client.Timeout; got != DefaultWebhookTimeout {
		t.Errorf("nil client: timeout %v, want %v", got, DefaultWebhookTimeout)
	}
	// A client without a timeout: each request gets a deadline.
	var deadline atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		_, ok := r.Context().Deadline()
		deadline.Store(ok)
		return http.DefaultTransport.RoundTrip(r)
	})}
	if err := NewWebhook(srv.URL, client).Send(context.Background(), failAlert()); err != nil {
		t.Fatal(err)
	}
	if !deadline.Load() {
		t.Errorf("a request through a client without a timeout had no deadline")
	}
	if client.CheckRedirect != nil {
		t.Errorf("NewWebhook changed the caller's client")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Slack's webhook URLs are secrets in their path; others carry tokens in
// the query or userinfo.
func TestWebhookNeverShowsTheURLsSecrets(t *testing.T) {
	notFound := newReceiver(t, always(404))
	hostPort := strings.TrimPrefix(notFound.URL, "http://")
	secret := func(base string) string {
		return strings.Replace(base, "http://", "http://user:SECRETPW@", 1) + "/services/T0/B0/SECRETPATH?token=SECRETQ"
	}

	s := NewWebhook(secret(notFound.URL), nil)
	if want := "webhook " + hostPort; s.Name() != want {
		t.Errorf("Name = %q, want %q", s.Name(), want)
	}
	errs := []error{s.Send(context.Background(), failAlert())}
	down := NewWebhook(secret(strings.TrimSuffix(refusedURL(t), "/hook")), nil)
	errs = append(errs, down.Send(context.Background(), failAlert()))
	bad := NewWebhook("https://hooks.slack.com/services/%zzSECRET", nil)
	errs = append(errs, bad.Send(context.Background(), failAlert()), CheckWebhookURL("https://hooks.slack.com/services/%zzSECRET"))
	for _, err := range errs {
		if err == nil {
			t.Errorf("want an error from every one of these sends")
		} else if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("error shows a secret: %v", err)
		}
	}
	for _, name := range []string{down.Name(), bad.Name()} {
		if strings.Contains(name, "SECRET") {
			t.Errorf("Name shows a secret: %s", name)
		}
	}
	if !IsPermanent(errs[2]) {
		t.Errorf("an invalid URL is not a permanent failure: %v", errs[2])
	}
}

func TestCheckWebhookURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://hooks.slack.com/services/T0/B0/X", true},
		{"http://127.0.0.1:8080/hook", true},
		{"hooks.slack.com/services/T0", false},
		{"ftp://example.com/x", false},
		{"https:///nohost", false},
		{"https://hooks.slack.com/%zz", false},
	} {
		if err := CheckWebhookURL(tc.url); (err == nil) != tc.ok {
			t.Errorf("CheckWebhookURL(%q) = %v, want ok %v", tc.url, err, tc.ok)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{"99999999999999", 24 * time.Hour},
		{"Thu, 03 Dec 2026 09:00:30 GMT", 30 * time.Second},
		{"Thu, 03 Dec 2026 08:00:00 GMT", 0}, // in the past
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestWebhookPassesRetryAfterOn429(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "12")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, "rate_limited")
	}))
	defer srv.Close()
	err := NewWebhook(srv.URL, nil).Send(context.Background(), failAlert())
	if d, ok := retryAfter(err); !ok || d != 12*time.Second {
		t.Errorf("retryAfter(%v) = %v, %v; want 12s", err, d, ok)
	}
	if !strings.Contains(err.Error(), "HTTP 429: rate_limited") {
		t.Errorf("error does not give the status and the answer: %v", err)
	}
}
