// Package dashboard serves what sagefence watch knows over HTTP: health
// and readiness, Prometheus metrics, the latest results in the report
// contract, a notebook's history, and a dashboard page in the style of
// the HTML report. It is read-only: nothing over HTTP changes AWS.
//
// The handler holds no state of its own: every answer is read from the
// Source when it is asked for. Every response carries a strict
// Content-Security-Policy and the headers that keep it out of frames and
// referrers; only GET and HEAD are served, requests carry no body, and with
// a token every path but the probes needs it.
package dashboard

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/history"
)

// Source is what the dashboard reads.
type Source interface {
	// Ready is true once the first full scan is stored.
	Ready() bool
	// Report is the latest state in the scan's JSON report contract.
	Report(ctx context.Context) (*finding.Report, error)
	History(ctx context.Context, account, region, name string) ([]history.Transition, error)
	Recent(ctx context.Context, limit int) ([]history.Transition, error)
	Trend(ctx context.Context, since time.Time) ([]history.TrendPoint, error)
}

// Options configure the handler.
type Options struct {
	// Token, when set, is required as "Authorization: Bearer <token>" on
	// every path but /healthz and /readyz (constant-time comparison).
	Token string
	// Metrics serves /metrics (the Prometheus handler of the watch's
	// registry); nil answers 404.
	Metrics http.Handler
	// Version is the tool's version, shown on the page.
	Version string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Limits on what a request may carry. Nothing the dashboard serves needs
// more than a notebook's account, region and name in the query.
const (
	maxURI = 4096
	// MaxHeaderBytes is what NewServer lets a request's headers take.
	MaxHeaderBytes = 16 << 10
)

// The paths served. The probes, /healthz and /readyz, answer without the
// token: a liveness or readiness probe must not need a secret.
const (
	pathHealth  = "/healthz"
	pathReady   = "/readyz"
	pathMetrics = "/metrics"
	pathResults = "/api/v1/results"
	pathHistory = "/api/v1/history"
	pathPage    = "/"
)

// apiCSP is the policy of every response but the page: nothing may load
// and nothing may frame it.
const apiCSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

type handler struct {
	src     Source
	metrics http.Handler
	version string
	now     func() time.Time
	// tokenSum is the SHA-256 of the token, nil without one: comparing
	// digests of equal length keeps the comparison constant-time whatever
	// the length of what a client sends.
	tokenSum []byte
}

// New returns the handler: /healthz, /readyz, /metrics, /api/v1/results,
// /api/v1/history?account=&region=&name=, and / (the dashboard).
func New(src Source, opts Options) http.Handler {
	h := &handler{src: src, metrics: opts.Metrics, version: opts.Version, now: opts.Now}
	if h.now == nil {
		h.now = time.Now
	}
	if opts.Token != "" {
		sum := sha256.Sum256([]byte(opts.Token))
		h.tokenSum = sum[:]
	}
	return h
}

// NewServer returns an http.Server for h on addr with timeouts that keep a
// slow or idle client from holding a connection: headers within 5 s, the
// whole request within 10 s, the response within 2 min (the results of a
// large fleet are hundreds of megabytes), idle connections closed after
// 2 min, and headers of at most MaxHeaderBytes. "OPTIONS *" goes to h like
// any request (and is refused there), not to net/http's built-in answer.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:                         addr,
		Handler:                      h,
		DisableGeneralOptionsHandler: true,
		ReadHeaderTimeout:            5 * time.Second,
		ReadTimeout:                  10 * time.Second,
		WriteTimeout:                 2 * time.Minute,
		IdleTimeout:                  2 * time.Minute,
		MaxHeaderBytes:               MaxHeaderBytes,
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", apiCSP)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cross-Origin-Resource-Policy", "same-origin")
	// What the dashboard shows is the account's exposure: no cache keeps it.
	hdr.Set("Cache-Control", "no-store")

	// Nothing served takes a body; refusing one outright is the simplest
	// size limit there is.
	if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
		plain(w, http.StatusRequestEntityTooLarge, "request body not allowed")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 0)
	if len(r.RequestURI) > maxURI || len(r.URL.RawQuery) > maxURI {
		plain(w, http.StatusRequestURITooLong, "request URI too long")
		return
	}

	public := r.URL.Path == pathHealth || r.URL.Path == pathReady
	if !public {
		if h.tokenSum == nil {
			if !loopbackHost(r.Host) {
				// Without a token the listener is loopback, so a name other
				// than localhost can only come from DNS rebinding: a web page
				// whose domain now resolves to 127.0.0.1 reading the results.
				plain(w, http.StatusForbidden, "forbidden: without a token only localhost and IP addresses are served as host names")
				return
			}
		} else if !h.authorized(r) {
			hdr.Set("WWW-Authenticate", `Bearer realm="sagefence"`)
			plain(w, http.StatusUnauthorized, "unauthorized: send Authorization: Bearer <token>")
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		plain(w, http.StatusMethodNotAllowed, "method not allowed: only GET and HEAD")
		return
	}

	switch r.URL.Path {
	case pathHealth:
		plain(w, http.StatusOK, "ok")
	case pathReady:
		if !h.src.Ready() {
			plain(w, http.StatusServiceUnavailable, "not ready: the first full scan is not stored yet")
			return
		}
		plain(w, http.StatusOK, "ready")
	case pathMetrics:
		if h.metrics == nil {
			plain(w, http.StatusNotFound, "not found: metrics are not enabled")
			return
		}
		h.metrics.ServeHTTP(w, r)
	case pathResults:
		h.serveResults(w, r)
	case pathHistory:
		h.serveHistory(w, r)
	case pathPage:
		h.servePage(w, r)
	default:
		plain(w, http.StatusNotFound, "not found")
	}
}

// authorized reports whether r carries the token as a bearer credential.
// The scheme is case-insensitive (RFC 9110, section 11.1).
func (h *handler) authorized(r *http.Request) bool {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(cred)))
	return subtle.ConstantTimeCompare(sum[:], h.tokenSum) == 1
}

// loopbackHost reports whether a request's Host names the machine itself
// or is an address, never a name that DNS could point anywhere.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	return net.ParseIP(host) != nil
}

// plain writes one line of text with a status. A line may quote what a
// client sent or an error from the store: its line breaks are folded so
// that it stays one line.
func plain(w http.ResponseWriter, status int, line string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(strings.Join(strings.Fields(line), " ") + "\n"))
}
