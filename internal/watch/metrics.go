package watch

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sagefence/sagefence/internal/events"
)

// metrics are the watch's Prometheus series, in its own registry (no
// global default registry).
type metrics struct {
	reg *prometheus.Registry

	notebooks      *prometheus.GaugeVec
	scanSeconds    *prometheus.HistogramVec
	scans          *prometheus.CounterVec
	apiCalls       prometheus.Counter
	throttles      prometheus.Counter
	lastScan       prometheus.Gauge
	alerts         *prometheus.CounterVec
	transitions    *prometheus.CounterVec
	lastScanFailed prometheus.Gauge
	outOfScope     prometheus.Counter
	pushFailures   prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		notebooks: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sagefence_notebooks",
			Help: "Notebooks by status, account and region, as last scanned."}, []string{"status", "account", "region"}),
		scanSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sagefence_scan_duration_seconds",
			Help: "How long scans took, by kind (full, rescan).", Buckets: prometheus.ExponentialBuckets(0.1, 2, 14)}, []string{"kind"}),
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sagefence_scans_total",
			Help: "Scans run, by kind (full, rescan) and outcome (complete, incomplete, failed, abandoned)."}, []string{"kind", "outcome"}),
		apiCalls: prometheus.NewCounter(prometheus.CounterOpts{Name: "sagefence_api_calls_total",
			Help: "AWS API calls made by scans, retries included."}),
		throttles: prometheus.NewCounter(prometheus.CounterOpts{Name: "sagefence_api_throttles_total",
			Help: "AWS API calls throttled."}),
		lastScan: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sagefence_last_successful_scan_timestamp_seconds",
			Help: "When the last complete full scan finished (Unix time)."}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sagefence_alerts_total",
			Help: "Alert deliveries by sink and outcome (sent, failed, dropped)."}, []string{"sink", "outcome"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sagefence_transitions_total",
			Help: "Notebook status transitions recorded, by new status."}, []string{"to"}),
		lastScanFailed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sagefence_last_scan_incomplete",
			Help: "1 when the last full scan, or a rescan since, could not read everything (results may be stale), else 0."}),
		outOfScope: prometheus.NewCounter(prometheus.CounterOpts{Name: "sagefence_event_batches_out_of_scope_total",
			Help: "Event batches ignored because their region is not watched."}),
		pushFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "sagefence_securityhub_push_failures_total",
			Help: "Scans whose Security Hub push failed (in part or whole)."}),
	}
	m.reg.MustRegister(m.notebooks, m.scanSeconds, m.scans, m.apiCalls, m.throttles,
		m.lastScan, m.alerts, m.transitions, m.lastScanFailed, m.outOfScope, m.pushFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// registerEventCounters exposes the event consumer's counters, read at
// each scrape.
func (m *metrics) registerEventCounters(counters func() events.Counters) {
	outcome := func(name string, f func(events.Counters) int) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sagefence_events_total",
			Help:        "Queue messages by outcome (relevant, ignored, malformed).",
			ConstLabels: prometheus.Labels{"outcome": name}}, func() float64 { return float64(f(counters())) })
	}
	m.reg.MustRegister(
		outcome("relevant", func(c events.Counters) int { return c.Relevant }),
		outcome("ignored", func(c events.Counters) int { return c.Ignored }),
		outcome("malformed", func(c events.Counters) int { return c.Malformed }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sagefence_event_receive_errors_total",
			Help: "Failed receives from the event queue."}, func() float64 { return float64(counters().ReceiveErrors) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sagefence_event_lag_seconds",
			Help: "Delay between the last relevant CloudTrail event and its receipt."}, func() float64 { return counters().Lag.Seconds() }),
	)
}
