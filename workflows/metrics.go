package workflows

import (
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/playbooks"
)

// Metrics the workflow records through Temporal's replay-aware metrics
// handler, so a replayed history does not count twice. The metrics package
// declares them for Prometheus with these names and tags.
const (
	MetricIncidents         = "aisoar_incidents_total"
	MetricStepDuration      = "aisoar_step_duration_seconds"
	MetricApprovalWait      = "aisoar_approval_wait_seconds"
	MetricTimeToAcknowledge = "aisoar_time_to_acknowledge_seconds"
	MetricTimeToContain     = "aisoar_time_to_contain_seconds"
)

// Metric tags.
const (
	TagPlaybook = "playbook"
	TagState    = "state"
	TagAction   = "action"
	TagOutcome  = "outcome"
	TagRole     = "role"
	TagSeverity = "severity"
	TagDryRun   = "dry_run"
)

// metrics returns the handler tagged with what every incident metric carries.
func (inc *incident) metrics(ctx workflow.Context, tags map[string]string) client.MetricsHandler {
	base := map[string]string{
		TagPlaybook: inc.input.Playbook.ID,
		TagSeverity: strconv.FormatInt(inc.input.Alert.Severity, 10),
		TagDryRun:   strconv.FormatBool(inc.input.DryRun),
	}
	for k, v := range tags {
		base[k] = v
	}
	return workflow.GetMetricsHandler(ctx).WithTags(base)
}

// recordState counts the incident reaching a state, once per state.
func (inc *incident) recordState(ctx workflow.Context, state string) {
	if inc.reached[state] {
		return
	}
	inc.reached[state] = true
	inc.metrics(ctx, map[string]string{TagState: state}).Counter(MetricIncidents).Inc(1)
}

// recordStep records a finished step's duration, its outcome, and, for the
// first containment action done, the time to contain.
func (inc *incident) recordStep(ctx workflow.Context, s *playbooks.Step, st *StepStatus) {
	inc.metrics(ctx, map[string]string{TagAction: s.Action, TagOutcome: st.State}).
		Timer(MetricStepDuration).Record(st.Ended.Sub(st.Started))
	if st.State == StepDone && activities.IsContainment(s.Action) && inc.status.ContainedAt.IsZero() {
		inc.status.ContainedAt, inc.status.ContainedBy = st.Ended, s.ID
		inc.metrics(ctx, map[string]string{TagAction: s.Action}).
			Timer(MetricTimeToContain).Record(st.Ended.Sub(inc.status.FirstSeen))
	}
}

// recordApproval records how long an approval waited and how it ended,
// and the time to the incident's first human decision.
func (inc *incident) recordApproval(ctx workflow.Context, a *ApprovalStatus, requested time.Time) {
	inc.metrics(ctx, map[string]string{TagRole: a.Role, TagOutcome: a.Outcome}).
		Timer(MetricApprovalWait).Record(workflow.Now(ctx).Sub(requested))
}

// recordDecision notes the incident's first human decision.
func (inc *incident) recordDecision(ctx workflow.Context, at time.Time) {
	if !inc.status.AcknowledgedAt.IsZero() {
		return
	}
	inc.status.AcknowledgedAt = at
	inc.metrics(ctx, nil).Timer(MetricTimeToAcknowledge).Record(at.Sub(inc.status.FirstSeen))
}
