// Package workflows is the Temporal workflow that interprets a playbook for
// one incident: its steps, approvals (a workflow Update with a validator),
// the folding of repeated alerts (a signal), the status query, and the undo
// saga when the incident is resolved. Code here is deterministic: no I/O, no
// clock or randomness but the workflow API's.
package workflows

import (
	"time"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/playbooks"
)

// Names by which clients reach the workflow.
const (
	// WorkflowName is the workflow type.
	WorkflowName = "Playbook"
	// AlertSignal delivers a repeated alert to the open incident.
	AlertSignal = "alert"
	// DecisionUpdate carries an approver's Decision on a waiting step.
	DecisionUpdate = "decide"
	// ResolveUpdate closes the incident, running the undo steps first.
	ResolveUpdate = "resolve"
	// ReclassifyUpdate closes an incident opened under the wrong triage
	// class, running the undo steps first; the server opens its successor.
	ReclassifyUpdate = "reclassify"
	// StatusQuery returns the incident's Status.
	StatusQuery = "status"
)

// Input starts an incident.
type Input struct {
	Playbook playbooks.Playbook `json:"playbook"`
	Alert    alerts.Alert       `json:"alert"`
	// Asset is what the asset inventory knows of the systems the alert names.
	Asset assets.Match `json:"asset"`
	// Roles maps each approver role to its members, as configured when the
	// incident opened.
	Roles map[string][]string `json:"roles"`
	// RequestedBy is the person who asked for the incident, if any; under a
	// two-person rule they may not approve.
	RequestedBy string `json:"requested_by,omitempty"`
	// Slack, when set, routes approval requests to Slack channels.
	Slack *SlackRouting `json:"slack,omitempty"`
	// DryRun runs the playbook with every action recording the requests it
	// would make instead of making them: a rehearsal or a playbook trial.
	DryRun bool `json:"dry_run,omitempty"`
	// Origin says how the incident came to be: its triage class, who
	// discovered it, and the incident it replaces after a reclassification.
	Origin Origin `json:"origin,omitzero"`
	// Resumed, when set, continues an open incident in a new run.
	Resumed *Resumed `json:"resumed,omitempty"`
}

// Triage classes: an attack on an AI system, or a model performing badly.
const (
	ClassAIIncident  = playbooks.ClassAIIncident
	ClassPerformance = playbooks.ClassPerformance
)

// Who discovered an incident. Alerts are the SOC's detections; incidents
// opened by hand name their discoverer, for the escape rate.
const (
	DiscoveredByDetection = "detection"
	DiscoveredBySOC       = "soc"
	DiscoveredByBusiness  = "business"
	DiscoveredByRedTeam   = "red-team"
)

// DiscoveredByValues lists who may discover an incident, for messages.
var DiscoveredByValues = []string{DiscoveredByDetection, DiscoveredBySOC, DiscoveredByBusiness, DiscoveredByRedTeam}

// Origin is how an incident came to be.
type Origin struct {
	// Class is the triage class (ClassAIIncident or ClassPerformance);
	// empty when no triage rule applied.
	Class string `json:"class,omitempty"`
	// DiscoveredBy is DiscoveredByDetection for alerts, else who opened it.
	DiscoveredBy string `json:"discovered_by,omitempty"`
	// OpenedBy is the person who opened the incident by hand.
	OpenedBy string `json:"opened_by,omitempty"`
	// ReclassifiedFrom is the incident this one replaces, and Reclassified
	// how many reclassifications led here.
	ReclassifiedFrom string `json:"reclassified_from,omitempty"`
	Reclassified     int    `json:"reclassified,omitempty"`
}

// Resumed carries an open incident into a new run when its history grows
// long (continue-as-new): its status, the steps it completed (in order, for
// undo), the alerts it has seen, and when it resolves itself.
type Resumed struct {
	Status        *Status   `json:"status"`
	Done          []string  `json:"done"`
	Seen          []string  `json:"seen"`
	AutoResolveAt time.Time `json:"auto_resolve_at,omitzero"`
	// Undone lists the steps already undone; UndoAt when each pending
	// undo.after is due.
	Undone []string             `json:"undone,omitempty"`
	UndoAt map[string]time.Time `json:"undo_at,omitempty"`
}

// Decision is an approver's answer to a step waiting for approval.
type Decision struct {
	Step     string `json:"step"`
	Approver string `json:"approver"`
	Approve  bool   `json:"approve"`
	Reason   string `json:"reason,omitempty"`
	// Via names the channel the decision came through (api, cli, slack).
	Via string `json:"via,omitempty"`
	// At is set by the workflow when it records the decision.
	At time.Time `json:"at,omitzero"`
}

// DecisionResult is what the Update answers.
type DecisionResult struct {
	Step string `json:"step"`
	// Outcome is approved, rejected, or waiting when a second approver is needed.
	Outcome   string `json:"outcome"`
	Approvals int    `json:"approvals"`
	Needed    int    `json:"needed"`
}

// Resolution closes an incident.
type Resolution struct {
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at,omitzero"`
}

// Reclassification closes an incident opened under the wrong triage class:
// Class is the right one, To the incidents (comma-separated ids) that
// replace it.
type Reclassification struct {
	By     string `json:"by"`
	Class  string `json:"class"`
	To     string `json:"to"`
	Reason string `json:"reason,omitempty"`
}

// Incident states.
const (
	StateRunning = "running"
	StateWaiting = "waiting-approval"
	// StateContained: the steps are done and something was contained (a
	// containment action, or a step with an undo, succeeded); StateOpen:
	// the steps are done and nothing needed containing. Both stay open,
	// folding repeated alerts, until resolved.
	StateContained = "contained"
	StateOpen      = "open"
	StateFailed    = "failed"
	StateResolving = "resolving"
	StateResolved  = "resolved"
	// StateReclassified ends an incident moved to the other triage class.
	StateReclassified = "reclassified"
)

// Step states.
const (
	StepPending  = "pending"
	StepRunning  = "running"
	StepWaiting  = "waiting-approval"
	StepDone     = "done"
	StepSkipped  = "skipped"
	StepRejected = "rejected"
	StepFailed   = "failed"
)

// Approval outcomes.
const (
	OutcomeApproved = "approved"
	OutcomeRejected = "rejected"
	OutcomeWaiting  = "waiting"
	OutcomeExpired  = "expired"
)

// Status is the incident as the status query and the workflow result show it.
type Status struct {
	ID           string `json:"id"`
	Playbook     string `json:"playbook"`
	Version      int    `json:"version"`
	PlaybookHash string `json:"playbook_hash"`
	State        string `json:"state"`
	// DryRun marks a rehearsal: its actions recorded requests, made none.
	DryRun bool `json:"dry_run,omitempty"`
	// Origin is the input's origin; ReclassifiedTo, when set, is the
	// incident that replaced this one (its state is then reclassified);
	// when several playbooks of the new class answer, their ids
	// comma-separated.
	Origin         Origin       `json:"origin,omitzero"`
	ReclassifiedTo string       `json:"reclassified_to,omitempty"`
	Alert          alerts.Alert `json:"alert"`
	// AlertCount counts distinct alerts folded into the incident;
	// Redeliveries counts the same alert sent again; Deliveries counts both.
	AlertCount   int                `json:"alert_count"`
	Redeliveries int                `json:"redeliveries"`
	Deliveries   int                `json:"deliveries"`
	FirstSeen    time.Time          `json:"first_seen"`
	LastSeen     time.Time          `json:"last_seen"`
	SourceStatus string             `json:"source_status"`
	Steps        []*StepStatus      `json:"steps"`
	OnFailure    []*StepStatus      `json:"on_failure,omitempty"`
	Undo         []*StepStatus      `json:"undo,omitempty"`
	Failure      *playbooks.Failure `json:"failure,omitempty"`
	Resolution   *Resolution        `json:"resolution,omitempty"`
	// AcknowledgedAt is the first human decision on the incident;
	// ContainedAt when its first containment action was done, by the step
	// ContainedBy. Zero until then.
	AcknowledgedAt time.Time `json:"acknowledged_at,omitzero"`
	ContainedAt    time.Time `json:"contained_at,omitzero"`
	ContainedBy    string    `json:"contained_by,omitempty"`
}

// StepStatus is one step's progress.
type StepStatus struct {
	ID     string `json:"id"`
	Action string `json:"action,omitempty"`
	// Group is the id of the parallel group the step belongs to.
	Group    string          `json:"group,omitempty"`
	State    string          `json:"state"`
	Reason   string          `json:"reason,omitempty"`
	Started  time.Time       `json:"started,omitzero"`
	Ended    time.Time       `json:"ended,omitzero"`
	Error    string          `json:"error,omitempty"`
	Output   map[string]any  `json:"output,omitempty"`
	Approval *ApprovalStatus `json:"approval,omitempty"`
}

// ApprovalStatus is the state of a step's approval.
type ApprovalStatus struct {
	Role      string `json:"role"`
	TwoPerson bool   `json:"two_person,omitempty"`
	Message   string `json:"message,omitempty"`
	// Requested is when the approval was asked for.
	Requested time.Time  `json:"requested,omitzero"`
	Deadline  time.Time  `json:"deadline"`
	Escalated bool       `json:"escalated,omitempty"`
	Decisions []Decision `json:"decisions,omitempty"`
	Outcome   string     `json:"outcome"`
	// Slack is the approval's Slack message, or why it could not be posted.
	Slack *SlackMessage `json:"slack,omitempty"`
}
