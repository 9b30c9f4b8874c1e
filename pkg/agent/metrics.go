package agent

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// Metrics are the agent's Prometheus instruments. A nil *Metrics records
// nothing.
type Metrics struct {
	snapshots   *prometheus.CounterVec
	findings    *prometheus.GaugeVec
	lastWritten *prometheus.GaugeVec
	throttled   *prometheus.CounterVec
	backlog     prometheus.Gauge
	// standby counts the runs a standby replica collected because the
	// slot's primary had not recorded it by the deadline.
	standby *prometheus.CounterVec
}

// NewMetrics registers the agent's instruments with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		snapshots: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exhibit_snapshots_written_total",
			Help: "Snapshots written to the store, by collector and status.",
		}, []string{"collector", "status"}),
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "exhibit_findings",
			Help: "Findings in each series' latest snapshot, by result.",
		}, []string{"collector", "series", "result"}),
		lastWritten: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "exhibit_last_snapshot_timestamp_seconds",
			Help: "When each series last had a snapshot written, by status.",
		}, []string{"collector", "series", "status"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exhibit_throttled_answers_total",
			Help: "Calls a provider refused for its rate limit (and the SDK retried), by collector, account and service, as written in each snapshot's calls.",
		}, []string{"collector", "account", "service"}),
	}
	m.backlog = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "exhibit_spool_backlog",
		Help: "Snapshots waiting in the local spool for the store to come back.",
	})
	reg.MustRegister(m.snapshots, m.findings, m.lastWritten, m.throttled, m.backlog)
	m.standby = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "exhibit_standby_collections_total",
		Help: "Runs this replica collected as a standby, the slot's primary not having recorded it by the standby deadline.",
	}, []string{"collector"})
	reg.MustRegister(m.standby)
	return m
}

func (m *Metrics) tookOver(collectorID string) {
	if m == nil {
		return
	}
	m.standby.WithLabelValues(collectorID).Inc()
}

func (m *Metrics) observe(collectorID string, s *evidence.Snapshot) {
	if m == nil {
		return
	}
	m.snapshots.WithLabelValues(collectorID, string(s.Status)).Inc()
	m.lastWritten.WithLabelValues(collectorID, s.Series, string(s.Status)).Set(float64(s.FinishedAt.Unix()))
	sum := s.Summary()
	for _, r := range []evidence.Result{evidence.Pass, evidence.Fail, evidence.Error, evidence.NotApplicable} {
		m.findings.WithLabelValues(collectorID, s.Series, string(r)).Set(float64(sum[r]))
	}
	for service, n := range collector.Throttled(s.Calls) {
		m.throttled.WithLabelValues(collectorID, s.Scope.Account, service).Add(float64(n))
	}
}

func (m *Metrics) spooled(backlog int) {
	if m == nil {
		return
	}
	m.backlog.Set(float64(backlog))
}
