package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/internal/slacktest"
	"github.com/aisoar/aisoar/server"
	"github.com/aisoar/aisoar/webhooks"
	"github.com/aisoar/aisoar/workflows"
)

// slackSigningSecret is the Slack app's signing secret in these tests.
const slackSigningSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// slackE2E is aisoar with a Slack app configured, and the Slack double
// its Web API calls reach.
type slackE2E struct {
	*e2e
	slack  *slacktest.Server
	signer *webhooks.HMAC
}

// startSlackE2E starts aisoar with Slack: U0ALICE acts as alice, the one
// member of role soc; U0MALLORY is unmapped.
func startSlackE2E(t *testing.T, mutate ...func(*config.Slack)) *slackE2E {
	t.Helper()
	double := slacktest.New(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "slack-bot.token"), slacktest.DefaultToken)
	writeFile(t, filepath.Join(dir, "slack-signing.secret"), slackSigningSecret)
	e := startE2E(t, func(c *config.Config) {
		c.Slack = &config.Slack{
			BotToken:      config.Secret{File: filepath.Join(dir, "slack-bot.token")},
			SigningSecret: config.Secret{File: filepath.Join(dir, "slack-signing.secret")},
			APIURL:        double.URL(),
			Users:         map[string]string{"U0ALICE": "alice"},
		}
		for _, m := range mutate {
			m(c.Slack)
		}
	})
	// Registered after startE2E's cleanups, so it runs before them: the
	// background work finishes while Temporal is still up.
	t.Cleanup(e.stack.Handler.Wait)
	return &slackE2E{e2e: e, slack: double, signer: slackSigner(t, slackSigningSecret)}
}

func slackSigner(t *testing.T, secret string) *webhooks.HMAC {
	t.Helper()
	signer, err := webhooks.NewHMAC(secret, webhooks.HMACOptions{
		Header: "X-Slack-Signature", Prefix: "v0=", TimestampHeader: "X-Slack-Request-Timestamp",
		SignedString: "v0:{timestamp}:{body}", Encoding: "hex", Algorithm: "sha256",
	})
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// openIncident sends an alert about key and returns the incident once its
// step "block" waits for approval.
func (e *slackE2E) openIncident(t *testing.T, key string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"id": "alert-" + key, "rule": "token-spike", "title": "Token spike", "severity": "high", "category": "model_extraction",
		"asset":  map[string]any{"model": "fraud-scorer", "key_id": key},
		"labels": map[string]any{"gateway": e.gwURL},
	})
	resp, answer := e.post(t, "siem", body, true)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("alert about %s: %d %v", key, resp.StatusCode, answer)
	}
	id, _, _ := strings.Cut(incidentIDs(answer)[0], "@")
	e.waitFor(t, id, func(st workflows.Status) bool { return stepState(st, "block") == workflows.StepWaiting })
	return id
}

// postSlack sends a form to a Slack endpoint as Slack does, signed by
// signer at the time at, and returns the answer and its body.
func (e *slackE2E) postSlack(t *testing.T, path string, form url.Values, signer *webhooks.HMAC, at time.Time) (*http.Response, []byte) {
	t.Helper()
	body := []byte(form.Encode())
	req, _ := http.NewRequest(http.MethodPost, e.api.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	signer.SetHeaders(req.Header, at, body)
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// click is a block_actions payload: user pressed the button actionID of
// the approval message of incident's step.
func click(user, actionID, incident, step, responseURL, triggerID string) []byte {
	payload, _ := json.Marshal(map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": user, "username": strings.ToLower(user), "team_id": slacktest.TeamID},
		"api_app_id":   "A0AISOAR",
		"team":         map[string]any{"id": slacktest.TeamID},
		"container":    map[string]any{"type": "message", "message_ts": "1712345678.000100", "channel_id": "C0SOC"},
		"channel":      map[string]any{"id": "C0SOC", "name": "soc"},
		"trigger_id":   triggerID,
		"response_url": responseURL,
		"actions": []any{map[string]any{
			"type": "button", "action_id": actionID, "block_id": "aisoar_decision",
			"value": activities.SlackButtonValue(incident, step), "action_ts": "1712345679.000200",
		}},
	})
	return payload
}

// submitReason is the view_submission of the reject dialog, whose private
// metadata views.open was given.
func submitReason(user, metadata, reason string) []byte {
	payload, _ := json.Marshal(map[string]any{
		"type":       "view_submission",
		"user":       map[string]any{"id": user, "team_id": slacktest.TeamID},
		"api_app_id": "A0AISOAR",
		"team":       map[string]any{"id": slacktest.TeamID},
		"trigger_id": "trigger-submit",
		"view": map[string]any{
			"id": "V000000001", "type": "modal", "callback_id": server.SlackRejectCallback, "private_metadata": metadata,
			"state": map[string]any{"values": map[string]any{
				"reason": map[string]any{"reason": map[string]any{"type": "plain_text_input", "value": reason}},
			}},
		},
	})
	return payload
}

func payloadForm(payload []byte) url.Values { return url.Values{"payload": {string(payload)}} }

func slashCommand(user, text string) url.Values {
	return url.Values{
		"command": {"/aisoar"}, "text": {text}, "user_id": {user}, "user_name": {strings.ToLower(user)},
		"team_id": {slacktest.TeamID}, "channel_id": {"C0SOC"}, "response_url": {"https://hooks.slack.invalid/commands/1"},
		"trigger_id": {"trigger-command"},
	}
}

// approvalOf returns the approval of the incident's step "block".
func approvalOf(t *testing.T, st workflows.Status) *workflows.ApprovalStatus {
	t.Helper()
	for _, s := range st.Steps {
		if s.ID == "block" && s.Approval != nil {
			return s.Approval
		}
	}
	t.Fatalf("step block has no approval: %+v", st.Steps)
	return nil
}

// responseRecorder is a response_url that holds each post until the test
// releases it, so the test can tell the acknowledgement from the work.
type responseRecorder struct {
	arrived chan struct{}
	release chan struct{}
	mu      sync.Mutex
	bodies  []map[string]any
}

func newResponseRecorder(t *testing.T) (*responseRecorder, string) {
	rr := &responseRecorder{arrived: make(chan struct{}, 10), release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		rr.arrived <- struct{}{}
		<-rr.release
		rr.mu.Lock()
		rr.bodies = append(rr.bodies, body)
		rr.mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return rr, srv.URL + "/actions/T0000AISOAR/1/held"
}

func (rr *responseRecorder) posted() []map[string]any {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return append([]map[string]any(nil), rr.bodies...)
}

func TestSlackInteractions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	e := startSlackE2E(t)
	handler := e.stack.Handler
	const interactions = "/v1/slack/interactions"

	approved := e.openIncident(t, "key-slack-approve")

	t.Run("requests Slack did not sign are refused", func(t *testing.T) {
		responseURL := e.slack.ResponseURL()
		form := payloadForm(click("U0ALICE", activities.SlackApproveAction, approved, "block", responseURL, "trigger-1"))
		tests := []struct {
			name   string
			signer *webhooks.HMAC
			at     time.Time
		}{
			{"bad signature", slackSigner(t, "not-the-signing-secret"), time.Now()},
			{"stale timestamp", e.signer, time.Now().Add(-6 * time.Minute)},
			{"timestamp from the future", e.signer, time.Now().Add(6 * time.Minute)},
		}
		for _, tt := range tests {
			resp, body := e.postSlack(t, interactions, form, tt.signer, tt.at)
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: %d %q %s, want 401 problem+json", tt.name, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		}
		resp, body := e.postSlack(t, "/v1/slack/commands", slashCommand("U0ALICE", "status "+approved), slackSigner(t, "wrong"), time.Now())
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("unsigned slash command: %d %s, want 401", resp.StatusCode, body)
		}
		handler.Wait()
		st := e.waitFor(t, approved, func(workflows.Status) bool { return true })
		if a := approvalOf(t, st); a.Outcome != workflows.OutcomeWaiting || len(a.Decisions) != 0 {
			t.Errorf("after refused requests the approval is %+v, want it waiting with no decision", a)
		}
		if calls := e.slack.ResponseURLCalls(); len(calls) != 0 {
			t.Errorf("refused requests posted to the response_url: %+v", calls)
		}
	})

	t.Run("a non-approver's click is refused to them alone", func(t *testing.T) {
		held, responseURL := newResponseRecorder(t)
		resp, body := e.postSlack(t, interactions, payloadForm(click("U0MALLORY", activities.SlackApproveAction, approved, "block", responseURL, "trigger-2")), e.signer, time.Now())
		// The answer came while the refusal is still held at the
		// response_url: Slack is acknowledged before the work is done.
		if resp.StatusCode != http.StatusOK || len(body) != 0 {
			t.Fatalf("click: %d %q, want 200 with an empty body", resp.StatusCode, body)
		}
		<-held.arrived
		close(held.release)
		handler.Wait()
		posted := held.posted()
		if len(posted) != 1 {
			t.Fatalf("response_url got %d posts, want 1 (was the click acknowledged only once its work gave up?)", len(posted))
		}
		msg := posted[0]
		text, _ := msg["text"].(string)
		if msg["response_type"] != "ephemeral" || msg["replace_original"] != false || !strings.Contains(text, `U0MALLORY is not an approver in role "soc"`) {
			t.Errorf("refusal posted as %v, want an ephemeral saying U0MALLORY is not an approver, leaving the original", msg)
		}
		st := e.waitFor(t, approved, func(workflows.Status) bool { return true })
		if stepState(st, "block") != workflows.StepWaiting || len(e.gateway.seen()) != 0 {
			t.Errorf("after a refused click: step %s, gateway saw %v; want it still waiting", stepState(st, "block"), e.gateway.seen())
		}
		if calls := e.slack.Calls(""); len(calls) != 0 {
			t.Errorf("a refusal called the Web API: %+v", calls)
		}
	})

	t.Run("an approver's click approves", func(t *testing.T) {
		responseURL := e.slack.ResponseURL()
		resp, body := e.postSlack(t, interactions, payloadForm(click("U0ALICE", activities.SlackApproveAction, approved, "block", responseURL, "trigger-3")), e.signer, time.Now())
		if resp.StatusCode != http.StatusOK || len(body) != 0 {
			t.Fatalf("click: %d %q, want 200 with an empty body", resp.StatusCode, body)
		}
		st := e.waitFor(t, approved, func(st workflows.Status) bool { return st.State == workflows.StateContained })
		if got := e.gateway.seen(); len(got) != 1 || got[0] != `/key/block {"key":"key-slack-approve"}` {
			t.Fatalf("gateway saw %v, want one block of key-slack-approve", got)
		}
		if d := approvalOf(t, st).Decisions; len(d) != 1 || d[0].Approver != "alice" || d[0].Via != "slack" || !d[0].Approve {
			t.Errorf("decisions %+v, want alice's approval via slack", d)
		}
		handler.Wait()
		if calls := e.slack.ResponseURLCalls(); len(calls) != 0 {
			t.Errorf("a recorded approval posted to the response_url: %+v", calls)
		}
	})

	rejected := e.openIncident(t, "key-slack-reject")

	t.Run("reject asks for a reason, then rejects with it", func(t *testing.T) {
		responseURL := e.slack.ResponseURL()
		resp, body := e.postSlack(t, interactions, payloadForm(click("U0ALICE", activities.SlackRejectAction, rejected, "block", responseURL, "trigger-reject")), e.signer, time.Now())
		if resp.StatusCode != http.StatusOK || len(body) != 0 {
			t.Fatalf("click: %d %q, want 200 with an empty body", resp.StatusCode, body)
		}
		handler.Wait()
		opened := e.slack.Calls("views.open")
		if len(opened) != 1 || opened[0].Error != "" || opened[0].TriggerID != "trigger-reject" {
			t.Fatalf("views.open calls %+v, want one with the click's trigger", opened)
		}
		view := opened[0].View
		metadata, _ := view["private_metadata"].(string)
		if view["callback_id"] != server.SlackRejectCallback || metadata != rejected+"\nblock\n"+responseURL {
			t.Fatalf("dialog %v, want callback %s and the step and response_url in its metadata", view, server.SlackRejectCallback)
		}
		if !strings.Contains(toJSON(view["blocks"]), `"type":"plain_text_input"`) {
			t.Errorf("dialog blocks %s have no text input for the reason", toJSON(view["blocks"]))
		}
		if st := e.waitFor(t, rejected, func(workflows.Status) bool { return true }); stepState(st, "block") != workflows.StepWaiting {
			t.Fatalf("opening the dialog decided the step: %s", stepState(st, "block"))
		}

		resp, body = e.postSlack(t, interactions, payloadForm(submitReason("U0ALICE", metadata, "  ")), e.signer, time.Now())
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"response_action": "errors"`) {
			t.Errorf("blank reason: %d %s, want the dialog to show an error", resp.StatusCode, body)
		}

		resp, body = e.postSlack(t, interactions, payloadForm(submitReason("U0ALICE", metadata, "false positive: load test")), e.signer, time.Now())
		var ack map[string]any
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &ack) != nil || len(ack) != 1 || ack["response_action"] != "clear" {
			t.Fatalf("submission: %d %s, want 200 {\"response_action\":\"clear\"}", resp.StatusCode, body)
		}
		st := e.waitFor(t, rejected, func(st workflows.Status) bool { return stepState(st, "block") == workflows.StepRejected })
		d := approvalOf(t, st).Decisions
		if len(d) != 1 || d[0].Approver != "alice" || d[0].Approve || d[0].Reason != "false positive: load test" || d[0].Via != "slack" {
			t.Errorf("decisions %+v, want alice's rejection via slack with her reason", d)
		}
		handler.Wait()
		if calls := e.slack.ResponseURLCalls(); len(calls) != 0 {
			t.Errorf("a recorded rejection posted to the response_url: %+v", calls)
		}
	})

	t.Run("a decision on a decided step is refused", func(t *testing.T) {
		responseURL := e.slack.ResponseURL()
		resp, _ := e.postSlack(t, interactions, payloadForm(submitReason("U0ALICE", rejected+"\nblock\n"+responseURL, "again")), e.signer, time.Now())
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("submission: %d, want 200", resp.StatusCode)
		}
		handler.Wait()
		calls := e.slack.ResponseURLCalls()
		if len(calls) != 1 || calls[0].ResponseType != "ephemeral" || calls[0].ReplaceOriginal || !strings.Contains(calls[0].Text, `step "block" was already decided: rejected`) {
			t.Errorf("response_url calls %+v, want one ephemeral saying the step was already decided", calls)
		}
	})

	t.Run("slash commands answer only who asked", func(t *testing.T) {
		tests := []struct {
			name    string
			user    string
			text    string
			want    []string
			notWant []string
		}{
			{name: "status", user: "U0ALICE", text: "status " + approved,
				want: []string{"*" + approved + "* is *contained*", "Alert: Token spike (severity 4, 1 alert)", "• note: done", "• block: done, approval by soc approved; approved by alice via slack"}},
			{name: "status of a rejected step", user: "U0ALICE", text: "status " + rejected,
				want:    []string{"• block: rejected, approval by soc rejected; rejected by alice via slack (false positive: load test)"},
				notWant: []string{"rejected by alice: false positive"}},
			{name: "incidents", user: "U0ALICE", text: "incidents", want: []string{"2 open incidents", "*" + approved + "*: contained", "*" + rejected + "*: open"}},
			{name: "no such incident", user: "U0ALICE", text: "status e2e-block-key/nope", want: []string{"There is no incident e2e-block-key/nope."}},
			{name: "help", user: "U0MALLORY", text: "", want: []string{"/aisoar status &lt;incident&gt;", "/aisoar incidents"}},
			{name: "unknown subcommand", user: "U0ALICE", text: "approve everything", want: []string{"I don't know `/aisoar approve everything`", "/aisoar incidents"}},
			{name: "an unknown user reads nothing", user: "U0MALLORY", text: "incidents", want: []string{"aisoar does not know you", "U0MALLORY"}, notWant: []string{approved}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp, body := e.postSlack(t, "/v1/slack/commands", slashCommand(tt.user, tt.text), e.signer, time.Now())
				var reply map[string]any
				if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &reply) != nil {
					t.Fatalf("%d %s, want 200 JSON", resp.StatusCode, body)
				}
				text, _ := reply["text"].(string)
				if reply["response_type"] != "ephemeral" {
					t.Errorf("response_type %v, want ephemeral", reply["response_type"])
				}
				for _, w := range tt.want {
					if !strings.Contains(text, w) {
						t.Errorf("answer does not say %q:\n%s", w, text)
					}
				}
				for _, w := range tt.notWant {
					if strings.Contains(text, w) {
						t.Errorf("answer says %q:\n%s", w, text)
					}
				}
			})
		}
	})
}

// acker records Socket Mode acknowledgements.
type acker struct {
	mu   sync.Mutex
	acks map[string][]any // payloads by envelope id
}

func (a *acker) Ack(req socketmode.Request, payload ...any) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.acks == nil {
		a.acks = map[string][]any{}
	}
	a.acks[req.EnvelopeID] = append(a.acks[req.EnvelopeID], payload...)
	if len(payload) == 0 {
		a.acks[req.EnvelopeID] = append(a.acks[req.EnvelopeID], nil)
	}
	return nil
}

func (a *acker) ack(envelope string) (payload any, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	got, ok := a.acks[envelope]
	if !ok || len(got) != 1 {
		return nil, false
	}
	return got[0], true
}

// socketEvent is the event the socketmode client makes of a Socket Mode
// request carrying payload.
func socketEvent(t *testing.T, envelope, requestType string, payload []byte) socketmode.Event {
	t.Helper()
	req := &socketmode.Request{Type: requestType, EnvelopeID: envelope, Payload: payload, AcceptsResponsePayload: true}
	switch requestType {
	case socketmode.RequestTypeInteractive:
		var cb slack.InteractionCallback
		if err := json.Unmarshal(payload, &cb); err != nil {
			t.Fatal(err)
		}
		return socketmode.Event{Type: socketmode.EventTypeInteractive, Data: cb, Request: req}
	case socketmode.RequestTypeSlashCommands:
		var cmd slack.SlashCommand
		if err := json.Unmarshal(payload, &cmd); err != nil {
			t.Fatal(err)
		}
		return socketmode.Event{Type: socketmode.EventTypeSlashCommand, Data: cmd, Request: req}
	}
	t.Fatalf("no socket mode request type %q", requestType)
	return socketmode.Event{}
}

func TestSlackSocketModeEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	e := startSlackE2E(t)
	handler := e.stack.Handler
	ctx := context.Background()
	acks := &acker{}
	incident := e.openIncident(t, "key-slack-socket")

	// A non-approver's click: acknowledged empty, refused to them alone.
	refusedURL := e.slack.ResponseURL()
	server.HandleSocketEvent(handler, ctx, acks, socketEvent(t, "env-mallory", socketmode.RequestTypeInteractive,
		click("U0MALLORY", activities.SlackApproveAction, incident, "block", refusedURL, "trigger-m")))
	if payload, ok := acks.ack("env-mallory"); !ok || payload != nil {
		t.Fatalf("click acknowledged with %v (acknowledged %t), want once without a payload", payload, ok)
	}
	handler.Wait()
	calls := e.slack.ResponseURLCalls()
	if len(calls) != 1 || calls[0].URL != refusedURL || calls[0].ResponseType != "ephemeral" || calls[0].ReplaceOriginal ||
		!strings.Contains(calls[0].Text, `U0MALLORY is not an approver in role "soc"`) {
		t.Fatalf("response_url calls %+v, want one ephemeral refusal", calls)
	}
	if st := e.waitFor(t, incident, func(workflows.Status) bool { return true }); stepState(st, "block") != workflows.StepWaiting {
		t.Fatalf("after a refused click the step is %s, want it waiting", stepState(st, "block"))
	}

	// The slash command is answered in the acknowledgement.
	command, _ := json.Marshal(map[string]any{"command": "/aisoar", "text": "status " + incident, "user_id": "U0ALICE", "response_url": e.slack.ResponseURL()})
	server.HandleSocketEvent(handler, ctx, acks, socketEvent(t, "env-status", socketmode.RequestTypeSlashCommands, command))
	payload, ok := acks.ack("env-status")
	if reply := toJSON(payload); !ok || !strings.Contains(reply, `"response_type":"ephemeral"`) || !strings.Contains(reply, "block: waiting-approval, approval by soc waiting") {
		t.Fatalf("status acknowledged with %s, want an ephemeral status", reply)
	}

	// An approver's click approves; the step runs.
	server.HandleSocketEvent(handler, ctx, acks, socketEvent(t, "env-alice", socketmode.RequestTypeInteractive,
		click("U0ALICE", activities.SlackApproveAction, incident, "block", e.slack.ResponseURL(), "trigger-a")))
	if payload, ok := acks.ack("env-alice"); !ok || payload != nil {
		t.Fatalf("click acknowledged with %v (acknowledged %t), want once without a payload", payload, ok)
	}
	st := e.waitFor(t, incident, func(st workflows.Status) bool { return st.State == workflows.StateContained })
	if d := approvalOf(t, st).Decisions; len(d) != 1 || d[0].Approver != "alice" || d[0].Via != "slack" {
		t.Errorf("decisions %+v, want alice's approval via slack", d)
	}
	if got := e.gateway.seen(); len(got) != 1 || got[0] != `/key/block {"key":"key-slack-socket"}` {
		t.Errorf("gateway saw %v, want one block of key-slack-socket", got)
	}

	// A dialog submission is acknowledged with the dialog's closing.
	server.HandleSocketEvent(handler, ctx, acks, socketEvent(t, "env-submit", socketmode.RequestTypeInteractive,
		submitReason("U0ALICE", incident+"\nblock\n"+e.slack.ResponseURL(), "too late")))
	if payload, ok := acks.ack("env-submit"); !ok || toJSON(payload) != `{"response_action":"clear"}` {
		t.Fatalf("submission acknowledged with %s, want {\"response_action\":\"clear\"}", toJSON(payload))
	}
	handler.Wait()
	if calls := e.slack.ResponseURLCalls(); len(calls) != 2 || !strings.Contains(calls[1].Text, "already decided") {
		t.Errorf("response_url calls %+v, want the late rejection refused", calls)
	}
}
