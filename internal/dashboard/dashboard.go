// Package dashboard serves what sagefence watch knows over HTTP: health
// and readiness, Prometheus metrics, the latest results in the report
// contract, a notebook's history, and a dashboard page in the style of
// the HTML report. It is read-only: nothing over HTTP changes AWS.
package dashboard

import (
	"context"
	"net/http"
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

// New returns the handler: /healthz, /readyz, /metrics, /api/v1/results,
// /api/v1/history?account=&region=&name=, and / (the dashboard).
func New(src Source, opts Options) http.Handler { return http.NotFoundHandler() }
