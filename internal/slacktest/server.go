// Package slacktest is a test double of the Slack Web API: the methods
// aisoar calls (auth.test, chat.postMessage, chat.update,
// chat.postEphemeral, views.open) and interactivity response URLs,
// following Slack's documented request and response shapes, with token
// checks, a record of every call and fault injection. It is the one place
// tests fake Slack; slack-go's own slacktest lacks chat.update.
package slacktest

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultToken is the bot token a Server accepts unless WithToken says
// otherwise.
const DefaultToken = "xoxb-aisoar-test-token"

// The workspace and bot identity the double answers as.
const (
	TeamID    = "T0000AISOAR"
	BotUserID = "U0000AISOAR"
	BotID     = "B0000AISOAR"
)

// Server is a Slack Web API double on a loopback httptest server.
type Server struct {
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	calls    []Call
	messages map[string]Message // by ts
	channels map[string]string  // channel name (without '#') to id
	faults   map[string][]fault // by API method, in the order they answer
	seq      int                // last ts, channel, view and response URL number handed out

	responseURLs  map[string]bool // paths handed out by ResponseURL
	responseCalls []ResponseURLCall

	userGroups map[string][]string // user group id to member user ids
}

// Option configures a Server.
type Option func(*Server)

// WithToken makes the server accept token instead of DefaultToken.
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// New starts a Slack double; it is closed when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		token:        DefaultToken,
		messages:     map[string]Message{},
		channels:     map[string]string{},
		faults:       map[string][]fault{},
		responseURLs: map[string]bool{},
	}
	for _, opt := range opts {
		opt(s)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the Web API base URL, ending in "/api/", as slack.OptionAPIURL
// wants it.
func (s *Server) URL() string { return s.srv.URL + "/api/" }

// Close shuts the server down, so tests can see how clients cope with a
// Slack they cannot reach.
func (s *Server) Close() { s.srv.Close() }

// Call is one Web API request the double received, with its arguments
// decoded as Slack reads them.
type Call struct {
	Method    string
	Channel   string
	Text      string
	TS        string
	ThreadTS  string
	User      string
	TriggerID string
	// Blocks is the blocks argument parsed from JSON: nil when it was not
	// sent, empty when "[]" was.
	Blocks []map[string]any
	// View is the view argument of views.open parsed from JSON.
	View map[string]any
	// Args holds every argument as sent except the token; in JSON
	// requests, values that are not strings are kept as JSON text.
	Args map[string]string
	// Status and Error are what the double answered: the HTTP status and
	// Slack's error code, "" when the call succeeded.
	Status int
	Error  string
}

// Calls returns the calls received so far of method, such as
// "chat.postMessage", in order; an empty method returns every call.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var calls []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			calls = append(calls, c)
		}
	}
	return calls
}

// Message is a posted message as it stands after any updates.
type Message struct {
	Channel string
	TS      string
	// ThreadTS is the thread's parent when the message was posted in one.
	ThreadTS string
	Text     string
	Blocks   []map[string]any
	// Updates counts the chat.update calls that changed the message.
	Updates int
}

// Messages returns every message posted so far, by ts; ephemeral messages
// are not kept, as they are not in a channel's history.
func (s *Server) Messages() map[string]Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.messages)
}

// ChannelID returns the id the double gives the channel called name (with
// or without its '#'), as chat.postMessage answers it.
func (s *Server) ChannelID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channelID(name)
}

// channelID resolves a channel argument: ids stand for themselves, names
// get an id on first use. The caller holds s.mu.
func (s *Server) channelID(channel string) string {
	if isChannelID(channel) {
		return channel
	}
	name := strings.TrimPrefix(channel, "#")
	id, ok := s.channels[name]
	if !ok {
		id = fmt.Sprintf("C%09d", s.next())
		s.channels[name] = id
	}
	return id
}

// isChannelID says whether a channel argument is an id (C…, G…, D…) rather
// than a name; Slack's names are lower case.
func isChannelID(channel string) bool {
	if len(channel) < 2 || !strings.ContainsRune("CDG", rune(channel[0])) {
		return false
	}
	for _, r := range channel[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// next hands out the next sequence number. The caller holds s.mu.
func (s *Server) next() int {
	s.seq++
	return s.seq
}

// nextTS returns a message timestamp later than every one before it, in
// Slack's "seconds.microseconds" form. The caller holds s.mu.
func (s *Server) nextTS() string {
	micros := int64(s.next()) * 100
	return fmt.Sprintf("%d.%06d", 1712345678+micros/1e6, micros%1e6)
}

// fault is an answer queued by FailNext or FailNextError.
type fault struct {
	status     int
	retryAfter time.Duration
	code       string
}

// FailNext answers the next call of method with the HTTP status instead of
// serving it. A 429 carries Retry-After (whole seconds, rounded up) when
// retryAfter is positive, and Slack's {"ok":false,"error":"ratelimited"}.
func (s *Server) FailNext(method string, status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], fault{status: status, retryAfter: retryAfter})
}

// FailNextError answers the next call of method with HTTP 200 and
// {"ok":false,"error":code}, such as "channel_not_found".
func (s *Server) FailNextError(method, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], fault{status: http.StatusOK, code: code})
}

// reply is an HTTP answer: a status, extra headers and a body, which is
// JSON unless it is a string.
type reply struct {
	status int
	header http.Header
	body   any
}

// ok is a successful Web API answer with fields besides "ok".
func ok(fields map[string]any) reply {
	body := map[string]any{"ok": true}
	maps.Copy(body, fields)
	return reply{status: http.StatusOK, body: body}
}

// slackError is a Web API error: HTTP 200 with ok false and the code.
func slackError(code string) reply {
	return reply{status: http.StatusOK, body: map[string]any{"ok": false, "error": code}}
}

func (f fault) reply() reply {
	if f.code != "" {
		return slackError(f.code)
	}
	if f.status != http.StatusTooManyRequests {
		return reply{status: f.status, body: http.StatusText(f.status)}
	}
	r := reply{status: f.status, header: http.Header{}, body: map[string]any{"ok": false, "error": "ratelimited"}}
	if f.retryAfter > 0 {
		r.header.Set("Retry-After", strconv.Itoa(int(math.Ceil(f.retryAfter.Seconds()))))
	}
	return r
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if path, ok := strings.CutPrefix(r.URL.Path, "/api/"); ok {
		s.write(w, s.serveAPI(path, r))
		return
	}
	if strings.HasPrefix(r.URL.Path, responseURLPrefix) {
		s.write(w, s.serveResponseURL(r))
		return
	}
	s.write(w, reply{status: http.StatusNotFound, body: "404 page not found"})
}

// serveAPI answers one Web API call and records it.
func (s *Server) serveAPI(method string, r *http.Request) reply {
	req, decodeErr := decodeRequest(r)
	call := req.call(method)
	s.mu.Lock()
	defer s.mu.Unlock()
	rep := s.answer(method, req, decodeErr, call)
	call.Status = rep.status
	if body, isMap := rep.body.(map[string]any); isMap && body["ok"] == false {
		call.Error, _ = body["error"].(string)
	}
	s.calls = append(s.calls, call)
	return rep
}

// answer serves a call: a queued fault first, as Slack limits rates before
// it looks at a request, then the token check, then the method. The
// caller holds s.mu.
func (s *Server) answer(method string, req request, decodeErr error, call Call) reply {
	if queued := s.faults[method]; len(queued) > 0 {
		s.faults[method] = queued[1:]
		return queued[0].reply()
	}
	if decodeErr != nil {
		if req.json {
			return slackError("invalid_json")
		}
		return slackError("invalid_form_data")
	}
	switch req.token {
	case "":
		return slackError("not_authed")
	case s.token:
	default:
		return slackError("invalid_auth")
	}
	switch method {
	case "auth.test":
		return s.authTest()
	case "chat.postMessage":
		return s.postMessage(call)
	case "chat.update":
		return s.update(call)
	case "chat.postEphemeral":
		return s.postEphemeral(call)
	case "views.open":
		return s.openView(call)
	case "usergroups.users.list":
		return s.userGroupMembers(call)
	}
	return slackError("unknown_method")
}

func (s *Server) write(w http.ResponseWriter, rep reply) {
	for k, v := range rep.header {
		w.Header()[k] = slices.Clone(v)
	}
	if text, isText := rep.body.(string); isText {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(rep.status)
		_, _ = w.Write([]byte(text))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(rep.status)
	_ = json.NewEncoder(w).Encode(rep.body)
}
