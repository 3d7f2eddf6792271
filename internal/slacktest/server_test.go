package slacktest

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func client(s *Server, token string) *slack.Client {
	return slack.New(token, slack.OptionAPIURL(s.URL()))
}

func section(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
}

func TestPostUpdateAndRecord(t *testing.T) {
	s := New(t)
	api := client(s, DefaultToken)
	ctx := context.Background()

	channel, parent, err := api.PostMessageContext(ctx, "#ai-incidents", slack.MsgOptionText("first", false))
	if err != nil {
		t.Fatalf("chat.postMessage: %v", err)
	}
	if want := s.ChannelID("ai-incidents"); channel != want || !strings.HasPrefix(channel, "C") {
		t.Errorf("channel = %q, want the id %q", channel, want)
	}
	_, reply, err := api.PostMessageContext(ctx, channel, slack.MsgOptionText("in thread", false),
		slack.MsgOptionBlocks(section("*hello*")), slack.MsgOptionTS(parent))
	if err != nil {
		t.Fatalf("chat.postMessage in thread: %v", err)
	}
	if reply <= parent {
		t.Errorf("ts %q is not after %q", reply, parent)
	}
	_, _, text, err := api.UpdateMessageContext(ctx, channel, reply, slack.MsgOptionBlocks())
	if err != nil {
		t.Fatalf("chat.update: %v", err)
	}
	if text != "in thread" {
		t.Errorf("chat.update answered text %q, want the kept %q", text, "in thread")
	}

	posts := s.Calls("chat.postMessage")
	if len(posts) != 2 || len(s.Calls("")) != 3 {
		t.Fatalf("recorded %d posts of %d calls, want 2 of 3", len(posts), len(s.Calls("")))
	}
	got := posts[1]
	want := []map[string]any{{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "*hello*"}}}
	if got.Channel != channel || got.Text != "in thread" || got.ThreadTS != parent || !reflect.DeepEqual(got.Blocks, want) {
		t.Errorf("recorded post = %+v, want channel %s, text, thread_ts %s and blocks %v", got, channel, parent, want)
	}
	if _, leaked := got.Args["token"]; leaked {
		t.Error("recorded arguments include the token")
	}
	msg := s.Messages()[reply]
	if msg.ThreadTS != parent || msg.Text != "in thread" || msg.Blocks == nil || len(msg.Blocks) != 0 || msg.Updates != 1 {
		t.Errorf("message after update = %+v, want it threaded, text kept, blocks cleared, one update", msg)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		// call makes one request with a client holding the right token
		// unless token is set.
		token    string
		call     func(ctx context.Context, api *slack.Client) error
		wantCode string
	}{
		{
			name:     "wrong token",
			token:    "xoxb-wrong",
			call:     func(ctx context.Context, api *slack.Client) error { _, err := api.AuthTestContext(ctx); return err },
			wantCode: "invalid_auth",
		},
		{
			name:  "wrong token on a JSON method",
			token: "xoxb-wrong",
			call: func(ctx context.Context, api *slack.Client) error {
				_, err := api.OpenViewContext(ctx, "t-1", slack.ModalViewRequest{Type: slack.VTModal})
				return err
			},
			wantCode: "invalid_auth",
		},
		{
			name: "update of an unknown message",
			call: func(ctx context.Context, api *slack.Client) error {
				_, _, _, err := api.UpdateMessageContext(ctx, "C000000001", "1712345678.999999", slack.MsgOptionText("x", false))
				return err
			},
			wantCode: "message_not_found",
		},
		{
			name: "update by channel name",
			call: func(ctx context.Context, api *slack.Client) error {
				_, ts, err := api.PostMessageContext(ctx, "#soc", slack.MsgOptionText("x", false))
				if err != nil {
					return err
				}
				_, _, _, err = api.UpdateMessageContext(ctx, "#soc", ts, slack.MsgOptionText("y", false))
				return err
			},
			wantCode: "channel_not_found",
		},
		{
			name: "post without text or blocks",
			call: func(ctx context.Context, api *slack.Client) error {
				_, _, err := api.PostMessageContext(ctx, "#soc")
				return err
			},
			wantCode: "no_text",
		},
		{
			name: "ephemeral without user",
			call: func(ctx context.Context, api *slack.Client) error {
				_, err := api.PostEphemeralContext(ctx, "#soc", "", slack.MsgOptionText("x", false))
				return err
			},
			wantCode: "user_not_in_channel",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t)
			token := DefaultToken
			if tt.token != "" {
				token = tt.token
			}
			err := tt.call(context.Background(), client(s, token))
			var slackErr slack.SlackErrorResponse
			if !errors.As(err, &slackErr) || slackErr.Err != tt.wantCode {
				t.Fatalf("error = %v (%T), want Slack error %s", err, err, tt.wantCode)
			}
			calls := s.Calls("")
			if last := calls[len(calls)-1]; last.Error != tt.wantCode || last.Status != http.StatusOK {
				t.Errorf("recorded answer %d %q, want 200 %q", last.Status, last.Error, tt.wantCode)
			}
		})
	}
}

func TestFailNext(t *testing.T) {
	tests := []struct {
		name       string
		fail       func(s *Server)
		wantStatus int
		check      func(t *testing.T, err error)
	}{
		{
			name:       "rate limited with Retry-After",
			fail:       func(s *Server) { s.FailNext("chat.postMessage", http.StatusTooManyRequests, 1500*time.Millisecond) },
			wantStatus: http.StatusTooManyRequests,
			check: func(t *testing.T, err error) {
				var rl *slack.RateLimitedError
				if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
					t.Errorf("error = %v, want a RateLimitedError to retry after 2s", err)
				}
			},
		},
		{
			name:       "rate limited without Retry-After",
			fail:       func(s *Server) { s.FailNext("chat.postMessage", http.StatusTooManyRequests, 0) },
			wantStatus: http.StatusTooManyRequests,
			check: func(t *testing.T, err error) {
				var sc slack.StatusCodeError
				if !errors.As(err, &sc) || sc.Code != http.StatusTooManyRequests {
					t.Errorf("error = %v, want status 429", err)
				}
			},
		},
		{
			name:       "server error",
			fail:       func(s *Server) { s.FailNext("chat.postMessage", http.StatusServiceUnavailable, 0) },
			wantStatus: http.StatusServiceUnavailable,
			check: func(t *testing.T, err error) {
				var sc slack.StatusCodeError
				if !errors.As(err, &sc) || sc.Code != http.StatusServiceUnavailable {
					t.Errorf("error = %v, want status 503", err)
				}
			},
		},
		{
			name:       "Slack error",
			fail:       func(s *Server) { s.FailNextError("chat.postMessage", "not_in_channel") },
			wantStatus: http.StatusOK,
			check: func(t *testing.T, err error) {
				if err == nil || err.Error() != "not_in_channel" {
					t.Errorf("error = %v, want not_in_channel", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t)
			api := client(s, DefaultToken)
			tt.fail(s)
			_, _, err := api.PostMessage("#soc", slack.MsgOptionText("x", false))
			tt.check(t, err)
			if _, _, err := api.PostMessage("#soc", slack.MsgOptionText("x", false)); err != nil {
				t.Errorf("the call after the fault: %v", err)
			}
			calls := s.Calls("chat.postMessage")
			if len(calls) != 2 || calls[0].Status != tt.wantStatus || calls[1].Status != http.StatusOK {
				t.Errorf("recorded %+v, want the fault (%d) then a success", calls, tt.wantStatus)
			}
			if len(s.Messages()) != 1 {
				t.Errorf("%d messages stored, want only the one that succeeded", len(s.Messages()))
			}
		})
	}
}

func TestEphemeralViewAndAuth(t *testing.T) {
	s := New(t, WithToken("xoxb-custom"))
	api := client(s, "xoxb-custom")
	ctx := context.Background()

	auth, err := api.AuthTestContext(ctx)
	if err != nil || auth.UserID != BotUserID || auth.TeamID != TeamID {
		t.Errorf("auth.test = %+v, %v; want the bot %s in %s", auth, err, BotUserID, TeamID)
	}
	ts, err := api.PostEphemeralContext(ctx, "C0123ABCD", "U0123ABCD", slack.MsgOptionText("only you", false))
	if err != nil || ts == "" {
		t.Errorf("chat.postEphemeral = %q, %v; want a message_ts", ts, err)
	}
	if c := s.Calls("chat.postEphemeral"); len(c) != 1 || c[0].User != "U0123ABCD" || c[0].Channel != "C0123ABCD" {
		t.Errorf("recorded %+v, want the user and channel", c)
	}
	if len(s.Messages()) != 0 {
		t.Error("an ephemeral message was kept in the channel history")
	}
	view := slack.ModalViewRequest{
		Type:   slack.VTModal,
		Title:  slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{section("why?")}},
	}
	resp, err := api.OpenViewContext(ctx, "trigger-1", view)
	if err != nil || !strings.HasPrefix(resp.ID, "V") {
		t.Fatalf("views.open = %+v, %v; want a view id", resp, err)
	}
	c := s.Calls("views.open")[0]
	if c.TriggerID != "trigger-1" || c.View["type"] != "modal" || c.View["title"].(map[string]any)["text"] != "Reject" {
		t.Errorf("recorded views.open %+v, want the trigger and the view", c)
	}
}

func TestResponseURL(t *testing.T) {
	s := New(t)
	api := client(s, DefaultToken)
	url := s.ResponseURL()
	if other := s.ResponseURL(); other == url {
		t.Errorf("two response URLs are both %s", url)
	}
	_, _, err := api.PostMessage("", slack.MsgOptionResponseURL(url, slack.ResponseTypeEphemeral), slack.MsgOptionText("Approved", false))
	if err != nil {
		t.Fatalf("posting to the response URL: %v", err)
	}
	_, _, err = api.PostMessage("", slack.MsgOptionResponseURL(strings.Replace(url, "/resp", "/forged", 1), slack.ResponseTypeEphemeral), slack.MsgOptionText("x", false))
	if err == nil {
		t.Error("posting to a response URL the double did not hand out succeeded")
	}
	calls := s.ResponseURLCalls()
	if len(calls) != 2 {
		t.Fatalf("recorded %d response URL calls, want 2", len(calls))
	}
	got := calls[0]
	if got.URL != url || got.ResponseType != "ephemeral" || got.ReplaceOriginal || got.Text != "Approved" || got.Status != http.StatusOK {
		t.Errorf("recorded %+v, want an ephemeral, not replacing, text Approved to %s", got, url)
	}
	if calls[1].Status != http.StatusNotFound {
		t.Errorf("forged URL answered %d, want 404", calls[1].Status)
	}
	if len(s.Calls("")) != 0 {
		t.Error("response URL posts were recorded as Web API calls")
	}
}
