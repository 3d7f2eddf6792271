package activities

import (
	"context"
	"log/slog"

	"go.temporal.io/sdk/activity"

	"github.com/aisoar/aisoar/playbooks"
)

var notifySpec = playbooks.ActionSpec{
	Name: "notify",
	Doc:  "Tells people about the incident: posts to a Slack channel when aisoar has a Slack bot token, else writes to the aisoar log.",
	Params: []playbooks.ParamSpec{
		{Name: "channel", Type: playbooks.TypeString, Doc: "Slack channel name or id, such as #ai-incidents; without it the message goes to the aisoar log"},
		{Name: "text", Type: playbooks.TypeString, Required: true, Doc: "the message, in Slack mrkdwn; <@U…> user mentions work, <!channel> and <…> links are shown as typed"},
		{Name: "thread_ts", Type: playbooks.TypeString, Doc: "post as a reply in this Slack thread, such as the incident's: ${{ incident.slack_thread }}"},
		{Name: "reclassify_button", Type: playbooks.TypeBool, Doc: "add a Reclassify button to the Slack message, for analysts to move the incident to the other triage class (AI incident or performance issue)"},
	},
}

// NotifyParams are the notify action's parameters.
type NotifyParams struct {
	Channel  string `json:"channel"`
	Text     string `json:"text"`
	ThreadTS string `json:"thread_ts"`
	// ReclassifyButton adds a Reclassify button to the Slack message.
	ReclassifyButton bool `json:"reclassify_button"`
	DryRun
}

// NotifyResult says where the message went.
type NotifyResult struct {
	// Delivered is "slack" or "log".
	Delivered string `json:"delivered"`
	// Channel and TS address the Slack message, when Delivered is "slack".
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
	Plan
}

type notifyAction struct {
	logger *slog.Logger
	// slack delivers the message when it is configured.
	slack *slackActions
}

// Run posts the message to the Slack channel when Slack is configured and
// a channel is given, else logs it. A Slack post is made once per attempt
// (see slackActions).
func (n *notifyAction) Run(ctx context.Context, p NotifyParams) (NotifyResult, error) {
	info := activity.GetInfo(ctx)
	logArgs := []any{"incident", info.WorkflowExecution.ID, "step", info.ActivityID, "channel", p.Channel, "text", p.Text}
	if p.Channel == "" || !n.slack.configured() {
		n.logger.InfoContext(ctx, "notify", logArgs...)
		return NotifyResult{Delivered: "log"}, nil
	}
	msg := slackPost{channel: p.Channel, threadTS: p.ThreadTS, text: p.Text}
	if p.ReclassifyButton {
		msg.reclassify = info.WorkflowExecution.ID
	}
	if p.DryRun.DryRun {
		n.logger.InfoContext(ctx, "notify (dry run, not posted)", logArgs...)
		return NotifyResult{Plan: n.slack.plannedPost(msg)}, nil
	}
	ref, err := n.slack.post(ctx, msg)
	if err != nil {
		return NotifyResult{}, err
	}
	n.logger.InfoContext(ctx, "notify", append(logArgs, "delivered", "slack", "ts", ref.TS)...)
	return NotifyResult{Delivered: "slack", Channel: ref.Channel, TS: ref.TS}, nil
}
