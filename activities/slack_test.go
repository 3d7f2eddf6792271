package activities

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/aisoar/aisoar/internal/slacktest"
)

// slackOptions points the Slack activities at the double.
func slackOptions(srv *slacktest.Server) SlackOptions {
	return SlackOptions{Token: slacktest.DefaultToken, APIURL: srv.URL()}
}

// runActivity runs the activity or action registered under name, as the
// worker registers it, and decodes its result into result.
func runActivity(t *testing.T, opts Options, name string, params, result any) error {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	NewRegistry(opts).Register(env)
	val, err := env.ExecuteActivity(name, params)
	if err != nil {
		return err
	}
	if err := val.Get(result); err != nil {
		t.Fatalf("decoding the result of %s: %v", name, err)
	}
	return nil
}

// approvalRequest is a request with everything an approval message shows.
func approvalRequest() ApprovalRequest {
	return ApprovalRequest{
		Incident: "inc-42",
		Step:     "revoke-key",
		Action:   "http",
		Params: map[string]any{
			"url":     "https://gw.internal/keys/k-1/revoke",
			"api_key": "sk-live-123",
			"key_id":  "k-1",
			"headers": map[string]any{"Authorization": "Bearer abc", "X-Trace": "t-1"},
			"retries": 3,
		},
		AlertTitle: "<!channel> Prompt injection on support-bot",
		Severity:   4,
		Techniques: []string{"AML.T0051", "not <a> technique"},
		Asset:      "support-bot",
		Role:       "soc-lead",
		Approvers:  []string{"U0123ABCD", "W0456EFGH", "alice"},
		TwoPerson:  true,
		Deadline:   time.Date(2024, 4, 5, 19, 34, 0, 0, time.UTC),
		Message:    "Revoke the key if the injection is confirmed. <!here>",
		Channel:    "#ai-approvals",
	}
}

// blockByID returns the block with block_id id, or nil.
func blockByID(blocks []map[string]any, id string) map[string]any {
	for _, b := range blocks {
		if b["block_id"] == id {
			return b
		}
	}
	return nil
}

// texts joins every "text" string found in v, depth first.
func texts(v any) string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if s, ok := v["text"].(string); ok {
				out = append(out, s)
			}
			for k, item := range v {
				if k != "text" {
					walk(item)
				}
			}
			if item, ok := v["text"].(map[string]any); ok {
				walk(item)
			}
		case []any:
			for _, item := range v {
				walk(item)
			}
		}
	}
	walk(v)
	return strings.Join(out, "\n")
}

// blockIDs lists the block ids of a message in order.
func blockIDs(blocks []map[string]any) []string {
	ids := make([]string, len(blocks))
	for i, b := range blocks {
		ids[i], _ = b["block_id"].(string)
	}
	return ids
}

func TestSlackRequestApproval(t *testing.T) {
	srv := slacktest.New(t)
	req := approvalRequest()
	var ref SlackMessageRef
	if err := runActivity(t, Options{Slack: slackOptions(srv)}, SlackRequestApproval, req, &ref); err != nil {
		t.Fatalf("%s: %v", SlackRequestApproval, err)
	}
	posts := srv.Calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("%d posts, want 1", len(posts))
	}
	post := posts[0]
	if want := srv.ChannelID("ai-approvals"); ref.Channel != want || ref.TS == "" || srv.Messages()[ref.TS].Channel != want {
		t.Errorf("ref = %+v, want the message's channel id %s and ts", ref, want)
	}
	if post.Channel != "#ai-approvals" || post.ThreadTS != "" {
		t.Errorf("posted to %q in thread %q, want #ai-approvals outside any thread", post.Channel, post.ThreadTS)
	}
	if post.Args["unfurl_links"] != "false" || post.Args["unfurl_media"] != "false" {
		t.Errorf("unfurl_links %q unfurl_media %q, want previews off", post.Args["unfurl_links"], post.Args["unfurl_media"])
	}
	wantIDs := []string{"aisoar_header", "aisoar_alert", "aisoar_params", "aisoar_who", "aisoar_message", "aisoar_actions"}
	if got := blockIDs(post.Blocks); !reflect.DeepEqual(got, wantIDs) {
		t.Errorf("blocks %v, want %v", got, wantIDs)
	}

	deadline := fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|2024-04-05 19:34 UTC>", req.Deadline.Unix())
	tests := []struct {
		block   string // block id, or "" for the text fallback
		want    []string
		wantNot []string
	}{
		{block: "aisoar_header", want: []string{"Approval needed: revoke-key (http)"}},
		{
			block: "aisoar_alert",
			want: []string{
				"*&lt;!channel&gt; Prompt injection on support-bot*", "*Severity*\nhigh",
				"<https://atlas.mitre.org/techniques/AML.T0051|AML.T0051>", "not &lt;a&gt; technique",
				"*Asset*\nsupport-bot", "*Incident*\ninc-42",
			},
			wantNot: []string{"<!channel>"},
		},
		{
			block: "aisoar_params",
			want: []string{
				"• `api_key`: ••••",
				`• ` + "`headers`" + `: {"Authorization":"••••","X-Trace":"t-1"}`,
				"• `key_id`: k-1",
				"• `retries`: 3",
				"• `url`: https://gw.internal/keys/k-1/revoke",
			},
			wantNot: []string{"sk-live-123", "Bearer abc"},
		},
		{
			block: "aisoar_who",
			want:  []string{"Who may decide: role *soc-lead* (<@U0123ABCD>, <@W0456EFGH>, alice)", "Deadline: " + deadline, "Two-person rule"},
		},
		{block: "aisoar_message", want: []string{"Revoke the key if the injection is confirmed. &lt;!here&gt;"}, wantNot: []string{"<!here>"}},
		{block: "", want: []string{"Approval needed: revoke-key (http) for incident inc-42: &lt;!channel&gt; Prompt injection"}},
	}
	for _, tt := range tests {
		t.Run(cmp.Or(tt.block, "text"), func(t *testing.T) {
			got := post.Text
			if tt.block != "" {
				got = texts(blockByID(post.Blocks, tt.block))
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q does not contain %q", got, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("%q contains %q", got, w)
				}
			}
		})
	}

	t.Run("buttons", func(t *testing.T) {
		actions := blockByID(post.Blocks, "aisoar_actions")
		elements, _ := actions["elements"].([]any)
		if len(elements) != 3 {
			t.Fatalf("actions block %v, want three buttons", actions)
		}
		want := []struct{ actionID, label, style string }{
			{SlackApproveAction, "Approve", "primary"},
			{SlackRejectAction, "Reject", "danger"},
		}
		for i, w := range want {
			b := elements[i].(map[string]any)
			label, _ := b["text"].(map[string]any)
			if b["type"] != "button" || b["action_id"] != w.actionID || b["style"] != w.style || label["text"] != w.label {
				t.Errorf("button %d = %v, want %s %q styled %s", i, b, w.actionID, w.label, w.style)
			}
			if b["value"] != SlackButtonValue("inc-42", "revoke-key") {
				t.Errorf("button %d value %q, want SlackButtonValue(inc-42, revoke-key)", i, b["value"])
			}
		}
		b := elements[2].(map[string]any)
		if label, _ := b["text"].(map[string]any); b["action_id"] != SlackReclassifyAction || b["value"] != "inc-42" || label["text"] != "Reclassify" {
			t.Errorf("button 2 = %v, want %s %q with the incident as its value", b, SlackReclassifyAction, "Reclassify")
		}
		confirm, _ := elements[1].(map[string]any)["confirm"].(map[string]any)
		if !strings.Contains(texts(confirm), "*revoke-key* (http) will be skipped") {
			t.Errorf("reject confirm dialog %v does not say the step will be skipped", confirm)
		}
	})

	t.Run("no secret anywhere", func(t *testing.T) {
		for k, v := range post.Args {
			for _, secret := range []string{"sk-live-123", "Bearer abc"} {
				if strings.Contains(v, secret) {
					t.Errorf("argument %s carries the secret %q", k, secret)
				}
			}
		}
	})
}

func TestSlackRequestApprovalInThread(t *testing.T) {
	tests := []struct {
		name     string
		inThread bool
	}{
		{"new thread", false},
		{"in the incident's thread", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := slacktest.New(t)
			opts := Options{Slack: slackOptions(srv)}
			req := approvalRequest()
			if tt.inThread {
				var parent SlackMessageRef
				if err := runActivity(t, opts, SlackRequestApproval, req, &parent); err != nil {
					t.Fatal(err)
				}
				req.Step, req.Channel, req.ThreadTS = "pause-model", parent.Channel, parent.TS
			}
			var ref SlackMessageRef
			if err := runActivity(t, opts, SlackRequestApproval, req, &ref); err != nil {
				t.Fatal(err)
			}
			posts := srv.Calls("chat.postMessage")
			if got := posts[len(posts)-1].ThreadTS; got != req.ThreadTS {
				t.Errorf("thread_ts = %q, want %q", got, req.ThreadTS)
			}
			if got := srv.Messages()[ref.TS].ThreadTS; got != req.ThreadTS {
				t.Errorf("message is in thread %q, want %q", got, req.ThreadTS)
			}
		})
	}
}

func TestSlackApprovalOutcome(t *testing.T) {
	tests := []struct {
		name        string
		state       string
		final       bool
		wantIDs     []string
		wantState   string
		wantMissing string
	}{
		{
			name:      "first of two approvals keeps the buttons",
			state:     "approved by <@U0123ABCD> at 14:02 UTC, Apr 5, waiting for a second approver",
			wantIDs:   []string{"aisoar_header", "aisoar_alert", "aisoar_params", "aisoar_who", "aisoar_message", "aisoar_state", "aisoar_actions"},
			wantState: "*Status:* approved by <@U0123ABCD> at 14:02 UTC, Apr 5, waiting for a second approver",
		},
		{
			name:        "final outcome removes the buttons",
			state:       "Rejected by <@U0123ABCD> at 14:02 UTC, Apr 5: <!here> false positive",
			final:       true,
			wantIDs:     []string{"aisoar_header", "aisoar_alert", "aisoar_params", "aisoar_who", "aisoar_message", "aisoar_state"},
			wantState:   "*Status:* Rejected by <@U0123ABCD> at 14:02 UTC, Apr 5: &lt;!here&gt; false positive",
			wantMissing: "<!here>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := slacktest.New(t)
			opts := Options{Slack: slackOptions(srv)}
			req := approvalRequest()
			var ref SlackMessageRef
			if err := runActivity(t, opts, SlackRequestApproval, req, &ref); err != nil {
				t.Fatal(err)
			}
			before := srv.Messages()[ref.TS]
			var updated SlackMessageRef
			outcome := ApprovalOutcome{Ref: ref, Request: req, State: tt.state, Final: tt.final}
			if err := runActivity(t, opts, SlackApprovalOutcome, outcome, &updated); err != nil {
				t.Fatalf("%s: %v", SlackApprovalOutcome, err)
			}
			if updated != ref {
				t.Errorf("ref = %+v, want the updated message %+v", updated, ref)
			}
			msg := srv.Messages()[ref.TS]
			if msg.Updates != 1 {
				t.Errorf("message updated %d times, want once", msg.Updates)
			}
			if got := blockIDs(msg.Blocks); !reflect.DeepEqual(got, tt.wantIDs) {
				t.Errorf("blocks %v, want %v", got, tt.wantIDs)
			}
			if got := texts(blockByID(msg.Blocks, "aisoar_state")); got != tt.wantState {
				t.Errorf("state line %q, want %q", got, tt.wantState)
			}
			for _, id := range tt.wantIDs[:5] {
				if !reflect.DeepEqual(blockByID(msg.Blocks, id), blockByID(before.Blocks, id)) {
					t.Errorf("block %s changed: %v, was %v", id, blockByID(msg.Blocks, id), blockByID(before.Blocks, id))
				}
			}
			if !strings.HasPrefix(msg.Text, before.Text+" — ") || !strings.Contains(msg.Text, "<@U0123ABCD>") {
				t.Errorf("text %q, want the request's text and the state", msg.Text)
			}
			if tt.wantMissing != "" && strings.Contains(msg.Text, tt.wantMissing) {
				t.Errorf("text %q contains %q", msg.Text, tt.wantMissing)
			}
		})
	}
}

func TestSlackPostThread(t *testing.T) {
	srv := slacktest.New(t)
	opts := Options{Slack: slackOptions(srv)}
	var parent SlackMessageRef
	if err := runActivity(t, opts, SlackRequestApproval, approvalRequest(), &parent); err != nil {
		t.Fatal(err)
	}
	var ref SlackMessageRef
	post := SlackThreadPost{Ref: parent, Text: "No decision on *revoke-key* in time: escalated to <@U0123ABCD> & soc-lead"}
	if err := runActivity(t, opts, SlackPostThread, post, &ref); err != nil {
		t.Fatalf("%s: %v", SlackPostThread, err)
	}
	msg := srv.Messages()[ref.TS]
	if ref.Channel != parent.Channel || ref.TS == parent.TS || msg.ThreadTS != parent.TS {
		t.Errorf("posted %+v as %+v, want a reply in the thread of %+v", ref, msg, parent)
	}
	if want := "No decision on *revoke-key* in time: escalated to <@U0123ABCD> &amp; soc-lead"; msg.Text != want {
		t.Errorf("text %q, want %q", msg.Text, want)
	}
}

func TestSlackErrors(t *testing.T) {
	outcome := ApprovalOutcome{Ref: SlackMessageRef{Channel: "C000000099", TS: "1712345678.999900"}, Request: approvalRequest(), State: "x", Final: true}
	tests := []struct {
		name     string
		setup    func(srv *slacktest.Server, opts *SlackOptions)
		activity string // default SlackRequestApproval
		params   any
		// what the error must be
		wantRetryable bool
		wantType      string // "" for an error that is not an application error
		wantDelay     time.Duration
		wantMsg       []string
	}{
		{
			name: "rate limited with Retry-After",
			setup: func(srv *slacktest.Server, _ *SlackOptions) {
				srv.FailNext("chat.postMessage", http.StatusTooManyRequests, 7*time.Second)
			},
			wantRetryable: true, wantType: "SlackRateLimited", wantDelay: 7 * time.Second,
			wantMsg: []string{"rate limiting", "7s", "revoke-key"},
		},
		{
			name: "notify rate limited",
			setup: func(srv *slacktest.Server, _ *SlackOptions) {
				srv.FailNext("chat.postMessage", http.StatusTooManyRequests, 30*time.Second)
			},
			activity:      "notify",
			params:        NotifyParams{Channel: "#ai-incidents", Text: "x"},
			wantRetryable: true, wantType: "SlackRateLimited", wantDelay: 30 * time.Second,
		},
		{
			name: "outcome rate limited",
			setup: func(srv *slacktest.Server, _ *SlackOptions) {
				srv.FailNext("chat.update", http.StatusTooManyRequests, 3*time.Second)
			},
			activity:      SlackApprovalOutcome,
			params:        outcome,
			wantRetryable: true, wantType: "SlackRateLimited", wantDelay: 3 * time.Second,
		},
		{
			name: "rate limited without Retry-After",
			setup: func(srv *slacktest.Server, _ *SlackOptions) {
				srv.FailNext("chat.postMessage", http.StatusTooManyRequests, 0)
			},
			wantRetryable: true, wantType: "SlackHTTPStatus",
		},
		{
			name: "Slack unavailable",
			setup: func(srv *slacktest.Server, _ *SlackOptions) {
				srv.FailNext("chat.postMessage", http.StatusServiceUnavailable, 0)
			},
			wantRetryable: true, wantType: "SlackHTTPStatus", wantMsg: []string{"503"},
		},
		{
			name: "bad request",
			setup: func(srv *slacktest.Server, _ *SlackOptions) {
				srv.FailNext("chat.postMessage", http.StatusBadRequest, 0)
			},
			wantType: "SlackHTTPStatus", wantMsg: []string{"400"},
		},
		{
			name:     "invalid_auth",
			setup:    func(_ *slacktest.Server, opts *SlackOptions) { opts.Token = "xoxb-revoked" },
			wantType: "SlackError", wantMsg: []string{"invalid_auth", "slack.bot_token"},
		},
		{
			name: "channel_not_found",
			setup: func(srv *slacktest.Server, _ *SlackOptions) {
				srv.FailNextError("chat.postMessage", "channel_not_found")
			},
			wantType: "SlackError", wantMsg: []string{"channel_not_found", `"#ai-approvals"`, "invite the bot"},
		},
		{
			name:     "not_in_channel",
			setup:    func(srv *slacktest.Server, _ *SlackOptions) { srv.FailNextError("chat.postMessage", "not_in_channel") },
			wantType: "SlackError", wantMsg: []string{"not_in_channel", "invite it"},
		},
		{
			name:          "internal_error",
			setup:         func(srv *slacktest.Server, _ *SlackOptions) { srv.FailNextError("chat.postMessage", "internal_error") },
			wantRetryable: true, wantType: "SlackError", wantMsg: []string{"internal_error"},
		},
		{
			name:     "outcome of a deleted message",
			activity: SlackApprovalOutcome,
			params:   outcome,
			wantType: "SlackError", wantMsg: []string{"message_not_found", "1712345678.999900"},
		},
		{
			name:     "Slack not configured",
			setup:    func(_ *slacktest.Server, opts *SlackOptions) { opts.Token = "" },
			wantType: "SlackNotConfigured", wantMsg: []string{"slack.bot_token"},
		},
		{
			name:          "Slack unreachable",
			setup:         func(srv *slacktest.Server, _ *SlackOptions) { srv.Close() },
			wantRetryable: true, wantMsg: []string{"posting the approval request", "127.0.0.1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := slacktest.New(t)
			opts := slackOptions(srv)
			if tt.setup != nil {
				tt.setup(srv, &opts)
			}
			activity, params := cmp.Or(tt.activity, SlackRequestApproval), tt.params
			if params == nil {
				params = approvalRequest()
			}
			var res any
			err := runActivity(t, Options{Slack: opts}, activity, params, &res)
			if err == nil {
				t.Fatalf("%s succeeded, want an error", activity)
			}
			var appErr *temporal.ApplicationError
			isApp := errors.As(err, &appErr)
			if tt.wantType != "" && (!isApp || appErr.Type() != tt.wantType) {
				t.Fatalf("error %v, want an application error of type %s", err, tt.wantType)
			}
			if retryable := !isApp || !appErr.NonRetryable(); retryable != tt.wantRetryable {
				t.Errorf("error %v: retryable %t, want %t", err, retryable, tt.wantRetryable)
			}
			if isApp && appErr.NextRetryDelay() != tt.wantDelay {
				t.Errorf("NextRetryDelay = %s, want %s", appErr.NextRetryDelay(), tt.wantDelay)
			}
			for _, part := range tt.wantMsg {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not mention %q", err, part)
				}
			}
			if strings.Contains(err.Error(), opts.Token) && opts.Token != "" {
				t.Errorf("error %q carries the token", err)
			}
		})
	}
}

// TestSlackActivitiesAreNotActions checks that playbooks cannot name the
// Slack activities: they are registered, but not in the catalog.
func TestSlackActivitiesAreNotActions(t *testing.T) {
	catalog := NewRegistry(Options{}).Catalog()
	for _, name := range []string{SlackRequestApproval, SlackApprovalOutcome, SlackPostThread} {
		if _, ok := catalog[name]; ok {
			t.Errorf("%s is in the catalog of playbook actions", name)
		}
	}
}

func TestIsSecretKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"token", true},
		{"access_token", true},
		{"client_secret", true},
		{"Password", true},
		{"Authorization", true},
		{"credential", true},
		{"key", true},
		{"api_key", true},
		{"apiKey", true},
		{"X-Api-Key", true},
		{"private_key_pem", true},
		{"key_id", false},
		{"keyId", false},
		{"key_name", false},
		{"url", false},
		{"keyword", false},
		{"model", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := isSecretKey(tt.key); got != tt.want {
				t.Errorf("isSecretKey(%q) = %t, want %t", tt.key, got, tt.want)
			}
		})
	}
}

func TestEscapeKeepingMentions(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain *bold*", "plain *bold*"},
		{"<!channel> & <https://evil|click>", "&lt;!channel&gt; &amp; &lt;https://evil|click&gt;"},
		{"by <@U0123ABCD> and <@W1|bob>", "by <@U0123ABCD> and <@W1|bob>"},
		{"<@U1><!here>", "<@U1>&lt;!here&gt;"},
		{"<@u1> lower case is not a mention", "&lt;@u1&gt; lower case is not a mention"},
	}
	for _, tt := range tests {
		if got := escapeKeepingMentions(tt.in); got != tt.want {
			t.Errorf("escapeKeepingMentions(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSeverityName(t *testing.T) {
	for sev, want := range map[int64]string{1: "info", 2: "low", 3: "medium", 4: "high", 5: "critical", 0: "unknown (0)", 9: "unknown (9)"} {
		if got := severityName(sev); got != want {
			t.Errorf("severityName(%d) = %q, want %q", sev, got, want)
		}
	}
}
