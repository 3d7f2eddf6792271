package activities

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/aisoar/aisoar/internal/slacktest"
)

func TestNotify(t *testing.T) {
	tests := []struct {
		name          string
		slack         bool
		channel       string
		wantDelivered string
		wantPosts     int
	}{
		{name: "Slack", slack: true, channel: "#ai-incidents", wantDelivered: "slack", wantPosts: 1},
		{name: "log without Slack", slack: false, channel: "#ai-incidents", wantDelivered: "log"},
		{name: "log without a channel", slack: true, channel: "", wantDelivered: "log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := slacktest.New(t)
			var logs bytes.Buffer
			opts := Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			if tt.slack {
				opts.Slack = slackOptions(srv)
			}
			var res NotifyResult
			params := NotifyParams{Channel: tt.channel, Text: "key k-1 revoked <!channel>"}
			if err := runActivity(t, opts, "notify", params, &res); err != nil {
				t.Fatalf("notify: %v", err)
			}
			if res.Delivered != tt.wantDelivered {
				t.Errorf("Delivered = %q, want %q", res.Delivered, tt.wantDelivered)
			}
			if n := len(srv.Calls("chat.postMessage")); n != tt.wantPosts {
				t.Fatalf("%d posts, want %d", n, tt.wantPosts)
			}
			if !strings.Contains(logs.String(), "key k-1 revoked") {
				t.Errorf("log %q does not have the message", logs.String())
			}
			if tt.wantPosts == 0 {
				if res.Channel != "" || res.TS != "" {
					t.Errorf("result %+v names a Slack message, want none", res)
				}
				return
			}
			msg := srv.Messages()[res.TS]
			if res.Channel != srv.ChannelID("ai-incidents") || msg.Channel != res.Channel {
				t.Errorf("result %+v, want the message in %s", res, srv.ChannelID("ai-incidents"))
			}
			if msg.Text != "key k-1 revoked &lt;!channel&gt;" {
				t.Errorf("posted %q, want the text with <!channel> escaped", msg.Text)
			}
		})
	}
}

func TestNotifyRepliesInThread(t *testing.T) {
	srv := slacktest.New(t)
	opts := Options{Logger: slog.New(slog.DiscardHandler), Slack: slackOptions(srv)}
	var res NotifyResult
	params := NotifyParams{Channel: "#ai-incidents", Text: "update", ThreadTS: "1712345678.000100"}
	if err := runActivity(t, opts, "notify", params, &res); err != nil {
		t.Fatal(err)
	}
	if calls := srv.Calls("chat.postMessage"); len(calls) != 1 || calls[0].ThreadTS != "1712345678.000100" {
		t.Errorf("calls %+v, want one reply in the thread", calls)
	}
}

// TestNotifyReclassifyButton checks that a notification can carry the
// Reclassify button for its incident, posted and in a dry run's plan.
func TestNotifyReclassifyButton(t *testing.T) {
	srv := slacktest.New(t)
	opts := Options{Logger: slog.New(slog.DiscardHandler), Slack: slackOptions(srv)}
	params := NotifyParams{Channel: "#ml-platform", Text: "drift on fraud-scorer", ReclassifyButton: true}
	var res NotifyResult
	if err := runActivity(t, opts, "notify", params, &res); err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls("chat.postMessage")
	if len(calls) != 1 || len(calls[0].Blocks) != 2 || calls[0].Text != "drift on fraud-scorer" {
		t.Fatalf("calls %+v, want one post with the text and two blocks", calls)
	}
	button := calls[0].Blocks[1]["elements"].([]any)[0].(map[string]any)
	if button["action_id"] != SlackReclassifyAction || button["value"] != "default-test-workflow-id" {
		t.Errorf("button %v, want the Reclassify action for the incident", button)
	}

	params.DryRun = DryRun{DryRun: true}
	res = NotifyResult{}
	if err := runActivity(t, opts, "notify", params, &res); err != nil {
		t.Fatal(err)
	}
	if len(srv.Calls("chat.postMessage")) != 1 || len(res.Planned) != 1 || res.Planned[0].Body.(map[string]any)["blocks"] == nil {
		t.Errorf("dry run posted or planned %+v, want the post with its blocks planned only", res.Planned)
	}
}
