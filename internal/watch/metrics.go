package watch

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
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
	events         *prometheus.CounterVec
	eventLag       prometheus.Gauge
	lastScan       prometheus.Gauge
	alerts         *prometheus.CounterVec
	transitions    *prometheus.CounterVec
	lastScanFailed prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		notebooks: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sagefence_notebooks",
			Help: "Notebooks by status, account and region, as last scanned."}, []string{"status", "account", "region"}),
		scanSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sagefence_scan_duration_seconds",
			Help: "How long scans took, by kind (full, rescan).", Buckets: prometheus.ExponentialBuckets(0.1, 2, 14)}, []string{"kind"}),
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sagefence_scans_total",
			Help: "Scans run, by kind (full, rescan) and outcome (complete, incomplete, failed)."}, []string{"kind", "outcome"}),
		apiCalls: prometheus.NewCounter(prometheus.CounterOpts{Name: "sagefence_api_calls_total",
			Help: "AWS API calls made by scans, retries included."}),
		throttles: prometheus.NewCounter(prometheus.CounterOpts{Name: "sagefence_api_throttles_total",
			Help: "AWS API calls throttled."}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sagefence_events_total",
			Help: "Queue messages by outcome (relevant, ignored, malformed)."}, []string{"outcome"}),
		eventLag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sagefence_event_lag_seconds",
			Help: "Delay between the last relevant CloudTrail event and its receipt."}),
		lastScan: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sagefence_last_successful_scan_timestamp_seconds",
			Help: "When the last complete scan finished (Unix time)."}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sagefence_alerts_total",
			Help: "Alert deliveries by sink and outcome (sent, failed, dropped)."}, []string{"sink", "outcome"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sagefence_transitions_total",
			Help: "Notebook status transitions recorded, by new status."}, []string{"to"}),
		lastScanFailed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sagefence_last_scan_incomplete",
			Help: "1 when the last scan could not read everything, else 0."}),
	}
	m.reg.MustRegister(m.notebooks, m.scanSeconds, m.scans, m.apiCalls, m.throttles, m.events, m.eventLag,
		m.lastScan, m.alerts, m.transitions, m.lastScanFailed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
