package activities

import (
	"context"
	"log/slog"

	"go.temporal.io/sdk/activity"

	"github.com/aisoar/aisoar/playbooks"
)

var notifySpec = playbooks.ActionSpec{
	Name: "notify",
	Doc:  "Tells people about the incident; it is written to the aisoar log.",
	Params: []playbooks.ParamSpec{
		{Name: "channel", Type: playbooks.TypeString, Doc: "where the message goes, such as #ai-incidents"},
		{Name: "text", Type: playbooks.TypeString, Required: true, Doc: "the message"},
	},
}

// NotifyParams are the notify action's parameters.
type NotifyParams struct {
	Channel string `json:"channel"`
	Text    string `json:"text"`
}

// NotifyResult says where the message went.
type NotifyResult struct {
	Delivered string `json:"delivered"`
}

type notifyAction struct {
	logger *slog.Logger
}

func (n *notifyAction) Run(ctx context.Context, p NotifyParams) (NotifyResult, error) {
	info := activity.GetInfo(ctx)
	n.logger.InfoContext(ctx, "notify", "incident", info.WorkflowExecution.ID, "step", info.ActivityID, "channel", p.Channel, "text", p.Text)
	return NotifyResult{Delivered: "log"}, nil
}
