package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Governance figures the server computes from the governance report and
// keeps as gauges; a ratio is NaN while it is undefined (nothing to count).
// Detection speed, time to acknowledge and MTTR are the histograms
// aisoar_time_to_detect_seconds, aisoar_time_to_acknowledge_seconds and
// aisoar_time_to_contain_seconds.
const (
	MetricAssetVisibility = "aisoar_asset_visibility_ratio"
	MetricCoverage        = "aisoar_coverage_ratio"
	MetricIntegritySLA    = "aisoar_integrity_sla_ratio"
	MetricEscapeRate      = "aisoar_escape_rate_ratio"
	MetricReportTimestamp = "aisoar_governance_report_timestamp_seconds"
	MetricLedgerWrites    = "aisoar_ledger_writes_total"
	labelScope            = "scope"
)

// Integrity SLA scopes, as the gauge labels them.
const (
	ScopeOverall     = "overall"
	ScopeModels      = "models"
	ScopeDataSources = "data_sources"
)

// Ledger write outcomes.
const (
	OutcomeWritten = "written"
	OutcomeFailed  = "failed"
)

// Governance is the report's figures for the gauges.
type Governance struct {
	AssetVisibility float64
	Coverage        float64
	// Integrity is the integrity SLA by scope (ScopeOverall, ScopeModels,
	// ScopeDataSources).
	Integrity  map[string]float64
	EscapeRate float64
	// Computed is when the report was made.
	Computed time.Time
}

type governanceMetrics struct {
	assetVisibility, coverage, escapeRate, computed prometheus.Gauge
	integrity                                       *prometheus.GaugeVec
	ledgerWrites                                    *prometheus.CounterVec
}

func newGovernanceMetrics(r *prometheus.Registry) *governanceMetrics {
	window := " Over the last 30 days, recomputed every 5 minutes; see the README's Governance report."
	g := &governanceMetrics{
		assetVisibility: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricAssetVisibility,
			Help: "Share of inventory AI systems whose owner, lineage and provenance are documented." + window}),
		coverage: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricCoverage,
			Help: "Share of AI assets mapped to ATLAS techniques, each covered by a playbook, with an alert or detection heartbeat in the coverage window." + window}),
		escapeRate: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricEscapeRate,
			Help: "Share of AI incidents discovered by the business." + window}),
		computed: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricReportTimestamp,
			Help: "When the governance gauges were last computed (Unix seconds)."}),
		integrity: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricIntegritySLA,
			Help: "Share of days in compliance: every re-attested model verified (models), no data source delivering without approval (data_sources), both (overall)." + window},
			[]string{labelScope}),
		ledgerWrites: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricLedgerWrites,
			Help: "Writes of what live alerts tell the governance ledger, by outcome; a failed write is retried at the next flush."},
			[]string{labelOutcome}),
	}
	r.MustRegister(g.assetVisibility, g.coverage, g.escapeRate, g.computed, g.integrity, g.ledgerWrites)
	return g
}

// SetGovernance sets the governance gauges.
func (m *Metrics) SetGovernance(g Governance) {
	m.governance.assetVisibility.Set(g.AssetVisibility)
	m.governance.coverage.Set(g.Coverage)
	m.governance.escapeRate.Set(g.EscapeRate)
	for scope, v := range g.Integrity {
		m.governance.integrity.WithLabelValues(scope).Set(v)
	}
	m.governance.computed.Set(float64(g.Computed.UnixNano()) / 1e9)
}

// LedgerWrite counts a write to the governance ledger with its outcome.
func (m *Metrics) LedgerWrite(outcome string) {
	m.governance.ledgerWrites.WithLabelValues(outcome).Inc()
}
