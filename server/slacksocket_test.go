package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/internal/slacktest"
	"github.com/aisoar/aisoar/webhooks"
)

// HandleSocketEvent gives the end-to-end tests (package server_test) the
// Socket Mode event handler, so they drive it with Slack's payloads
// without a WebSocket.
var HandleSocketEvent = (*Server).handleSocketEvent

// newSlackServer builds a server with Slack and no Temporal, for what
// Slack requests do before they reach an incident.
func newSlackServer(t *testing.T, slackCfg config.Slack) *Server {
	t.Helper()
	dir := t.TempDir()
	secret := func(name, value string) config.Secret {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
		return config.Secret{File: path}
	}
	slackCfg.BotToken = secret("bot", slacktest.DefaultToken)
	if !slackCfg.SocketMode {
		slackCfg.SigningSecret = secret("signing", "test-signing-secret")
	}
	slackCfg.AppToken = secret("app", "xapp-1-test")
	cfg := &config.Config{Slack: &slackCfg, Roles: map[string]config.Role{"soc": {Members: []string{"alice"}}}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Config: cfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

func TestSlackRoutes(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Slack
		want int
	}{
		{"over HTTP, unsigned requests are refused", config.Slack{}, http.StatusUnauthorized},
		{"socket mode without a signing secret serves no Slack endpoints", config.Slack{SocketMode: true}, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSlackServer(t, tt.cfg)
			for _, path := range []string{"/v1/slack/interactions", "/v1/slack/commands"} {
				w := httptest.NewRecorder()
				s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, strings.NewReader("payload=%7B%7D")))
				if w.Code != tt.want {
					t.Errorf("POST %s: %d %s, want %d", path, w.Code, w.Body, tt.want)
				}
			}
		})
	}
}

func TestSlackRequestLimits(t *testing.T) {
	s := newSlackServer(t, config.Slack{})
	signer, err := webhooks.NewHMAC("test-signing-secret", webhooks.HMACOptions{
		Header: "X-Slack-Signature", Prefix: "v0=", TimestampHeader: "X-Slack-Request-Timestamp", SignedString: "v0:{timestamp}:{body}",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body string
		want int
	}{
		{"too large", "payload=" + strings.Repeat("x", slackMaxBody), http.StatusRequestEntityTooLarge},
		{"payload is not JSON", "payload=%7Bnope", http.StatusBadRequest},
		{"not a form", "payload=%zz", http.StatusBadRequest},
		{"an interaction aisoar does not take", `payload={"type":"shortcut","callback_id":"x","user":{"id":"U0ALICE"}}`, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/slack/interactions", strings.NewReader(tt.body))
			signer.SetHeaders(r.Header, time.Now(), []byte(tt.body))
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("%d %s, want %d", w.Code, w.Body, tt.want)
			}
		})
	}
}

func TestSlackInteractionsThatNameNoStep(t *testing.T) {
	double := slacktest.New(t)
	s := newSlackServer(t, config.Slack{APIURL: double.URL()})
	reasonState := func(reason string) *slack.ViewState {
		return &slack.ViewState{Values: map[string]map[string]slack.BlockAction{slackReasonBlock: {slackReasonAction: {Value: reason}}}}
	}
	tests := []struct {
		name string
		cb   slack.InteractionCallback
		// wantAck is the acknowledgement as JSON, "null" for none.
		wantAck string
		// wantTold is what the user is told on the response_url, "" for nothing.
		wantTold string
	}{
		{
			name: "a button without its step",
			cb: slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: "U0ALICE"},
				ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: activities.SlackApproveAction, Value: "incident-only"}}}},
			wantAck:  "null",
			wantTold: "does not say which step",
		},
		{
			name: "someone else's button",
			cb: slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: "U0ALICE"},
				ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: "other_app", Value: "x"}}}},
			wantAck: "null",
		},
		{
			name: "a dialog without its step",
			cb: slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: "U0ALICE"},
				View: slack.View{CallbackID: SlackRejectCallback, PrivateMetadata: "junk", State: reasonState("because")}},
			wantAck: `{"response_action":"errors","errors":{"reason":"This dialog does not say which step it rejects; reject from the approval message again."}}`,
		},
		{
			name: "a dialog without a reason",
			cb: slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: "U0ALICE"},
				View: slack.View{CallbackID: SlackRejectCallback, PrivateMetadata: "pb/fp\nblock\nhttps://hooks.slack.invalid/1", State: reasonState(" \n")}},
			wantAck: `{"response_action":"errors","errors":{"reason":"Say why the step is rejected."}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(double.ResponseURLCalls())
			tt.cb.ResponseURL = double.ResponseURL()
			ack, _ := json.Marshal(s.slackInteraction(tt.cb))
			if string(ack) != tt.wantAck {
				t.Errorf("acknowledged with %s, want %s", ack, tt.wantAck)
			}
			s.Wait()
			calls := double.ResponseURLCalls()[before:]
			switch {
			case tt.wantTold == "" && len(calls) != 0:
				t.Errorf("told the user %+v, want nothing", calls)
			case tt.wantTold != "" && (len(calls) != 1 || calls[0].ResponseType != "ephemeral" || !strings.Contains(calls[0].Text, tt.wantTold)):
				t.Errorf("told the user %+v, want an ephemeral saying %q", calls, tt.wantTold)
			}
		})
	}
}

func TestSlackRejectDialogCannotOpen(t *testing.T) {
	double := slacktest.New(t)
	s := newSlackServer(t, config.Slack{APIURL: double.URL()})
	double.FailNextError("views.open", "expired_trigger_id")
	responseURL := double.ResponseURL()
	cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: "U0ALICE"}, TriggerID: "trigger-old", ResponseURL: responseURL,
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: activities.SlackRejectAction, Value: activities.SlackButtonValue("pb/fp", "block")}}}}
	if ack := s.slackInteraction(cb); ack != nil {
		t.Errorf("acknowledged with %v, want nothing", ack)
	}
	s.Wait()
	calls := double.ResponseURLCalls()
	if len(calls) != 1 || calls[0].ResponseType != "ephemeral" || !strings.Contains(calls[0].Text, "expired_trigger_id") {
		t.Errorf("told the user %+v, want an ephemeral saying the dialog could not open", calls)
	}
}

func TestParseButtonValue(t *testing.T) {
	tests := []struct {
		value          string
		incident, step string
		ok             bool
	}{
		{activities.SlackButtonValue("e2e-block-key/0123456789abcdef", "block"), "e2e-block-key/0123456789abcdef", "block", true},
		{"e2e-block-key/0123456789abcdef", "", "", false},
		{"\nblock", "", "", false},
		{"pb/fp\n", "", "", false},
		{"pb/fp\nblock\nextra", "", "", false},
	}
	for _, tt := range tests {
		incident, step, ok := parseButtonValue(tt.value)
		if ok != tt.ok || (ok && (incident != tt.incident || step != tt.step)) {
			t.Errorf("parseButtonValue(%q) = %q, %q, %t; want %q, %q, %t", tt.value, incident, step, ok, tt.incident, tt.step, tt.ok)
		}
	}
}

func TestSlackEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Token spike", "Token spike"},
		{"<!channel> & <https://evil.example|click>", "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"},
	}
	for _, tt := range tests {
		if got := slackEscape(tt.in); got != tt.want {
			t.Errorf("slackEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// fakeSocketMode is Slack's side of Socket Mode: apps.connections.open
// hands out a WebSocket, which sends hello and then each envelope, and
// passes on what the app answers.
type fakeSocketMode struct {
	envelopes []map[string]any
	acks      chan map[string]any
	appTokens chan string
}

func (f *fakeSocketMode) serve(t *testing.T) *httptest.Server {
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/apps.connections.open", func(w http.ResponseWriter, r *http.Request) {
		select {
		case f.appTokens <- strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "):
		default:
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(srv.URL, "http") + "/link"})
	})
	mux.HandleFunc("GET /link", func(w http.ResponseWriter, r *http.Request) {
		// The client says it comes from https://api.slack.com, as a browser would.
		upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer conn.Close()
		_ = conn.WriteJSON(map[string]any{"type": "hello", "num_connections": 1})
		for _, env := range f.envelopes {
			_ = conn.WriteJSON(env)
		}
		for {
			var ack map[string]any
			if err := conn.ReadJSON(&ack); err != nil {
				return
			}
			f.acks <- ack
		}
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestRunSlackSocketMode(t *testing.T) {
	command, _ := json.Marshal(map[string]any{"command": "/aisoar", "text": "help", "user_id": "U0ALICE", "response_url": "https://hooks.slack.invalid/1"})
	fake := &fakeSocketMode{
		envelopes: []map[string]any{
			{"type": "slash_commands", "envelope_id": "env-help", "payload": json.RawMessage(command), "accepts_response_payload": true},
		},
		acks:      make(chan map[string]any, 10),
		appTokens: make(chan string, 10),
	}
	srv := fake.serve(t)
	s := newSlackServer(t, config.Slack{SocketMode: true, APIURL: srv.URL + "/api/"})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.RunSlackSocketMode(ctx) }()

	select {
	case token := <-fake.appTokens:
		if token != "xapp-1-test" {
			t.Errorf("apps.connections.open with token %q, want the app-level token", token)
		}
	case err := <-done:
		t.Fatalf("RunSlackSocketMode returned before connecting: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("RunSlackSocketMode did not open a connection")
	}
	var ack map[string]any
	select {
	case ack = <-fake.acks:
	case err := <-done:
		t.Fatalf("RunSlackSocketMode returned before acknowledging: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("RunSlackSocketMode did not acknowledge the slash command")
	}
	payload, _ := ack["payload"].(map[string]any)
	text, _ := payload["text"].(string)
	if ack["envelope_id"] != "env-help" || payload["response_type"] != "ephemeral" || !strings.Contains(text, "/aisoar incidents") {
		t.Errorf("acknowledged with %v, want the help, ephemeral, for env-help", ack)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RunSlackSocketMode after cancel = %v, want context.Canceled", err)
	}
}

func TestRunSlackSocketModeNeedsIt(t *testing.T) {
	s := newSlackServer(t, config.Slack{})
	if err := s.RunSlackSocketMode(context.Background()); err == nil || !strings.Contains(err.Error(), "socket_mode") {
		t.Errorf("RunSlackSocketMode without socket_mode = %v, want an error naming it", err)
	}
}

func TestSlackAPIOptions(t *testing.T) {
	// slack-go appends method names to the URL, so it must end in a slash.
	for _, in := range []string{"http://127.0.0.1:1/api", "http://127.0.0.1:1/api/"} {
		var got string
		api := slack.New("xoxb-test", append(slackAPIOptions(&config.Slack{APIURL: in}), slack.OptionHTTPClient(urlRecorder{&got}))...)
		_, _ = api.AuthTest()
		if want := "http://127.0.0.1:1/api/auth.test"; got != want {
			t.Errorf("api_url %q: called %q, want %q", in, got, want)
		}
	}
}

// urlRecorder is an HTTP client that records the URL it is asked for and
// sends nothing.
type urlRecorder struct{ got *string }

func (r urlRecorder) Do(req *http.Request) (*http.Response, error) {
	*r.got = req.URL.String()
	return nil, &url.Error{Op: "Post", URL: req.URL.String(), Err: errors.New("not sent")}
}
