// Package metrics is aisoar's Prometheus metrics: what the server counts
// as alerts arrive, and what incident workflows record through Temporal's
// replay-aware metrics handler, exposed at /metrics.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"github.com/aisoar/aisoar/workflows"
)

// Metric names the server records.
const (
	MetricAlerts       = "aisoar_alerts_received_total"
	MetricTimeToDetect = "aisoar_time_to_detect_seconds"
	MetricTriaged      = "aisoar_alerts_triaged_total"
	labelSource        = "source"
	labelClass         = "class"
	labelOutcome       = "outcome"
	labelSeverity      = "severity"
)

// Alert outcomes, as the alerts counter labels them.
const (
	OutcomeAccepted    = "accepted"     // delivered to at least one incident
	OutcomeUnmatched   = "unmatched"    // no playbook matched
	OutcomeDuplicate   = "duplicate"    // a message id seen before
	OutcomePreview     = "preview"      // answered, nothing started
	OutcomeDryRun      = "dry_run"      // opened or joined a dry-run incident
	OutcomeInvalid     = "invalid"      // 400: undecodable or too large
	OutcomeRejected    = "rejected"     // 401: failed verification
	OutcomeRateLimited = "rate_limited" // 429
	OutcomeUnavailable = "unavailable"  // 503: Temporal or a verifier down
)

// Buckets of the response-time histograms: from seconds (automation) to
// days (a human answering over a weekend).
var responseBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400, 259200}

// Buckets of step durations: API calls to long snapshots.
var stepBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900}

// Metrics holds the registry and aisoar's collectors.
type Metrics struct {
	registry     *prometheus.Registry
	alerts       *prometheus.CounterVec
	timeToDetect *prometheus.HistogramVec
	triaged      *prometheus.CounterVec
	// workflow holds the metrics incident workflows record, by name.
	workflow map[string]workflowMetric
	// governance holds the governance report's gauges.
	governance *governanceMetrics
}

// workflowMetric is a metric a workflow records, with its label names.
type workflowMetric struct {
	labels  []string
	counter *prometheus.CounterVec
	timer   *prometheus.HistogramVec
}

// New registers aisoar's metrics and the Go and process collectors.
func New() *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry(), workflow: map[string]workflowMetric{}}
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.alerts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricAlerts, Help: "Alerts received by webhook source and what became of them.",
	}, []string{labelSource, labelOutcome})
	m.timeToDetect = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: MetricTimeToDetect, Help: "Time from the adversarial signal (the event time the SIEM payload carries) to the alert reaching aisoar.",
		Buckets: responseBuckets,
	}, []string{labelSource, labelSeverity})
	m.triaged = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricTriaged, Help: "Alerts and incidents opened by hand, by the triage class they were given (ai_incident or performance).",
	}, []string{labelClass})
	m.registry.MustRegister(m.alerts, m.timeToDetect, m.triaged)

	m.governance = newGovernanceMetrics(m.registry)

	base := []string{workflows.TagPlaybook, workflows.TagSeverity, workflows.TagDryRun}
	m.counter(workflows.MetricIncidents, "Incidents entering each state, by playbook.", append(base, workflows.TagState))
	m.timer(workflows.MetricStepDuration, "Step durations (retries included) by action and outcome (done or failed).", stepBuckets,
		append(base, workflows.TagAction, workflows.TagOutcome))
	m.timer(workflows.MetricApprovalWait, "How long approvals waited, by role and outcome.", responseBuckets,
		append(base, workflows.TagRole, workflows.TagOutcome))
	m.timer(workflows.MetricTimeToAcknowledge, "Time from the alert to the incident's first human decision.", responseBuckets, base)
	m.timer(workflows.MetricTimeToContain, "Time from the alert to the incident's first containment action done (MTTR), by action.", responseBuckets,
		append(base, workflows.TagAction))
	return m
}

func (m *Metrics) counter(name, help string, labels []string) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	m.registry.MustRegister(v)
	m.workflow[name] = workflowMetric{labels: labels, counter: v}
}

func (m *Metrics) timer(name, help string, buckets []float64, labels []string) {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	m.registry.MustRegister(v)
	m.workflow[name] = workflowMetric{labels: labels, timer: v}
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Alert counts an alert from source with its outcome.
func (m *Metrics) Alert(source, outcome string) {
	m.alerts.WithLabelValues(source, outcome).Inc()
}

// Detected records the delay between an alert's event time and its arrival.
func (m *Metrics) Detected(source string, severity int64, delay time.Duration) {
	m.timeToDetect.WithLabelValues(source, strconv.FormatInt(severity, 10)).Observe(delay.Seconds())
}

// Triaged counts an alert, or an incident opened by hand, given a triage class.
func (m *Metrics) Triaged(class string) {
	m.triaged.WithLabelValues(class).Inc()
}

// Temporal is the metrics handler for the Temporal client: it records the
// metrics incident workflows emit, mapping their tags to each metric's
// labels. Other metrics (the SDK's own) are dropped, so that their changing
// tag sets cannot clash with the fixed label sets Prometheus requires.
func (m *Metrics) Temporal() client.MetricsHandler { return &temporalHandler{m: m} }

type temporalHandler struct {
	m    *Metrics
	tags map[string]string
}

func (h *temporalHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &temporalHandler{m: h.m, tags: merged}
}

// values are the metric's label values from the tags; missing tags are "".
func (h *temporalHandler) values(labels []string) []string {
	values := make([]string, len(labels))
	for i, l := range labels {
		values[i] = h.tags[l]
	}
	return values
}

func (h *temporalHandler) Counter(name string) client.MetricsCounter {
	wm, ok := h.m.workflow[name]
	if !ok || wm.counter == nil {
		return client.MetricsNopHandler.Counter(name)
	}
	c := wm.counter.WithLabelValues(h.values(wm.labels)...)
	return counterFunc(func(n int64) { c.Add(float64(n)) })
}

func (h *temporalHandler) Gauge(name string) client.MetricsGauge {
	return client.MetricsNopHandler.Gauge(name)
}

func (h *temporalHandler) Timer(name string) client.MetricsTimer {
	wm, ok := h.m.workflow[name]
	if !ok || wm.timer == nil {
		return client.MetricsNopHandler.Timer(name)
	}
	o := wm.timer.WithLabelValues(h.values(wm.labels)...)
	return timerFunc(func(d time.Duration) { o.Observe(d.Seconds()) })
}

type counterFunc func(int64)

func (f counterFunc) Inc(n int64) { f(n) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }
