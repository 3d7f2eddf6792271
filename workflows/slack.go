package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/playbooks"
)

// SlackRouting says where an incident's approval requests go in Slack.
type SlackRouting struct {
	// Channels maps an approver role to its channel.
	Channels map[string]string `json:"channels"`
	// Groups maps an approver role to the Slack user group mentioned in
	// its requests.
	Groups map[string]string `json:"groups,omitempty"`
}

// SlackMessage is an approval's message in Slack, or why it could not be posted.
type SlackMessage struct {
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
	Error   string `json:"error,omitempty"`
}

// slackActivityOptions retry Slack for a while: approvals work through the
// API meanwhile, and the message catches up when Slack answers again.
func slackActivityOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    10,
		},
	}
}

// mirrorToSlack posts the approval request to its role's channel and keeps
// the message in step with the approval until it is decided: the first of
// two approvals, an escalation, the outcome. It runs beside the step's wait,
// so a slow or unreachable Slack never holds the incident up.
func (inc *incident) mirrorToSlack(ctx workflow.Context, s *playbooks.Step, approval *ApprovalStatus) {
	routing := inc.input.Slack
	if routing == nil || routing.Channels[approval.Role] == "" {
		return
	}
	req := inc.approvalRequest(s, approval, routing.Channels[approval.Role])
	inc.slackPending++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { inc.slackPending-- }()
		ctx = workflow.WithActivityOptions(ctx, slackActivityOptions())
		var ref activities.SlackMessageRef
		if err := workflow.ExecuteActivity(ctx, activities.SlackRequestApproval, req).Get(ctx, &ref); err != nil {
			approval.Slack = &SlackMessage{Error: errorMessage(err)}
			workflow.GetLogger(ctx).Warn("approval request could not be posted to Slack", "step", s.ID, "error", approval.Slack.Error)
			return
		}
		approval.Slack = &SlackMessage{Channel: ref.Channel, TS: ref.TS}
		if inc.slackThread == nil {
			// Slack answers with the channel's id; routing may name it #name.
			inc.slackThread, inc.slackThreadRoute = &ref, req.Channel
		}
		shown, escalated := "", false
		for {
			if workflow.Await(ctx, func() bool { return slackState(approval) != shown }) != nil {
				return
			}
			shown = slackState(approval)
			if approval.Escalated && !escalated {
				escalated = true
				req.Role, req.Deadline, req.Approvers = approval.Role, approval.Deadline, inc.input.Roles[approval.Role]
				req.Group = routing.Groups[approval.Role]
				inc.postInThread(ctx, ref, fmt.Sprintf("No decision on *%s* in time: escalated to %s, who have until %s.",
					s.ID, approval.Role, approval.Deadline.UTC().Format(time.RFC1123)))
			}
			final := approval.Outcome != OutcomeWaiting
			if final && approval.Outcome == OutcomeExpired {
				inc.postInThread(ctx, ref, fmt.Sprintf("*%s* expired: %s", s.ID, shown))
			}
			outcome := activities.ApprovalOutcome{Ref: ref, Request: req, State: shown, Final: final}
			if err := workflow.ExecuteActivity(ctx, activities.SlackApprovalOutcome, outcome).Get(ctx, nil); err != nil {
				approval.Slack.Error = errorMessage(err)
			}
			if final {
				return
			}
		}
	})
}

// postInThread posts a follow-up under the approval message; a failure is
// logged, since the message itself shows the state.
func (inc *incident) postInThread(ctx workflow.Context, ref activities.SlackMessageRef, text string) {
	post := activities.SlackThreadPost{Ref: ref, Text: text}
	if err := workflow.ExecuteActivity(ctx, activities.SlackPostThread, post).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("could not post in the incident's Slack thread", "error", err)
	}
}

// approvalRequest describes the step for the approvers.
func (inc *incident) approvalRequest(s *playbooks.Step, approval *ApprovalStatus, channel string) activities.ApprovalRequest {
	a := &inc.input.Alert
	params, err := inc.compiled.RenderParams(s.With, inc.vars)
	if err != nil {
		params = s.With
	}
	req := activities.ApprovalRequest{
		Incident: inc.status.ID, Step: s.ID, Action: s.Action, Params: params,
		AlertTitle: a.Title, Severity: a.Severity, Techniques: a.Techniques, Asset: assetName(&a.Asset),
		Role: approval.Role, Group: inc.input.Slack.Groups[approval.Role], Approvers: inc.input.Roles[approval.Role], TwoPerson: approval.TwoPerson,
		Deadline: approval.Deadline, Message: approval.Message, Channel: channel,
	}
	if t := inc.slackThread; t != nil && inc.slackThreadRoute == channel {
		req.ThreadTS = t.TS
	}
	return req
}

// slackState is the line an approval message shows; it changes exactly
// when the message needs an update.
func slackState(a *ApprovalStatus) string {
	var last Decision
	if len(a.Decisions) > 0 {
		last = a.Decisions[len(a.Decisions)-1]
	}
	at := func(d Decision) string { return d.At.UTC().Format("15:04 MST, Jan 2") }
	switch a.Outcome {
	case OutcomeApproved:
		if len(a.Decisions) == 0 {
			return "Approved: no decision in time, and this step may go ahead on its own"
		}
		return fmt.Sprintf("Approved by %s at %s", last.Approver, at(last))
	case OutcomeRejected:
		state := fmt.Sprintf("Rejected by %s at %s", last.Approver, at(last))
		if last.Reason != "" {
			state += ": " + last.Reason
		}
		return state
	case OutcomeExpired:
		return fmt.Sprintf("Expired: no decision by %s", a.Deadline.UTC().Format(time.RFC1123))
	}
	var state string
	if a.Escalated {
		state = "Escalated to " + a.Role
	}
	if len(a.Decisions) > 0 {
		if state != "" {
			state += "; "
		}
		state += fmt.Sprintf("approved by %s at %s, waiting for a second approver", last.Approver, at(last))
	}
	return state
}
