package activities

import "time"

// Activities the workflow calls to keep an approval's Slack message in step
// with the incident. They are not playbook actions.
const (
	SlackRequestApproval = "slack_request_approval"
	SlackApprovalOutcome = "slack_approval_outcome"
	SlackPostThread      = "slack_post_thread"
)

// Slack button action ids; a decision button's value is SlackButtonValue,
// the Reclassify button's the incident's id.
const (
	SlackApproveAction    = "aisoar_approve"
	SlackRejectAction     = "aisoar_reject"
	SlackReclassifyAction = "aisoar_reclassify"
)

// SlackButtonValue is the value of an approval's buttons: the incident and
// the step, which the interactivity endpoint needs to address the Update.
func SlackButtonValue(incident, step string) string { return incident + "\n" + step }

// ApprovalRequest is what an approval message shows: what happened, what
// the step will do, who may decide and by when.
type ApprovalRequest struct {
	Incident   string         `json:"incident"`
	Step       string         `json:"step"`
	Action     string         `json:"action"`
	Params     map[string]any `json:"params,omitempty"`
	AlertTitle string         `json:"alert_title"`
	Severity   int64          `json:"severity"`
	Techniques []string       `json:"techniques,omitempty"`
	Asset      string         `json:"asset,omitempty"`
	Role       string         `json:"role"`
	// Group is the role's Slack user group (S…), mentioned in the request.
	Group string `json:"group,omitempty"`
	// Approvers are the role's members as configured (Slack user ids or
	// identities mapped to them).
	Approvers []string  `json:"approvers,omitempty"`
	TwoPerson bool      `json:"two_person,omitempty"`
	Deadline  time.Time `json:"deadline"`
	Message   string    `json:"message,omitempty"`
	Channel   string    `json:"channel"`
	// ThreadTS, when set, posts the message in the incident's thread.
	ThreadTS string `json:"thread_ts,omitempty"`
}

// SlackMessageRef addresses a posted Slack message.
type SlackMessageRef struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// ApprovalOutcome rewrites an approval message to show where it stands.
type ApprovalOutcome struct {
	Ref     SlackMessageRef `json:"ref"`
	Request ApprovalRequest `json:"request"`
	// State is the line shown instead of (or, when not Final, above) the
	// buttons: "Approved by <@U1> at 14:02 UTC", "Escalated to soc-lead", …
	State string `json:"state"`
	// Final removes the buttons.
	Final bool `json:"final"`
}

// SlackThreadPost posts a follow-up in an incident's thread.
type SlackThreadPost struct {
	Ref  SlackMessageRef `json:"ref"`
	Text string          `json:"text"`
}
