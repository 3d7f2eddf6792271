package slacktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// responseURLPrefix starts response URL paths, as on hooks.slack.com.
const responseURLPrefix = "/actions/"

// ResponseURLCall is one POST to a response URL, its JSON body decoded.
type ResponseURLCall struct {
	URL string
	// ResponseType is "ephemeral" or "in_channel".
	ResponseType    string
	ReplaceOriginal bool
	DeleteOriginal  bool
	Text            string
	ThreadTS        string
	Blocks          []map[string]any
	// Body is the whole JSON body.
	Body map[string]any
	// Status is the HTTP status the double answered.
	Status int
}

// ResponseURL hands out a new interactivity response URL on the double,
// like the response_url of a block_actions payload; what is posted to it
// is recorded for ResponseURLCalls.
func (s *Server) ResponseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.next()
	path := fmt.Sprintf("%s%s/%d/resp%020d", responseURLPrefix, TeamID, n, n)
	s.responseURLs[path] = true
	return s.srv.URL + path
}

// ResponseURLCalls returns the POSTs to response URLs so far, in order.
func (s *Server) ResponseURLCalls() []ResponseURLCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.responseCalls)
}

// serveResponseURL answers a POST to a response URL: a JSON message
// object, to a URL the double handed out.
func (s *Server) serveResponseURL(r *http.Request) reply {
	call := ResponseURLCall{URL: s.srv.URL + r.URL.Path}
	var fields struct {
		ResponseType    string           `json:"response_type"`
		ReplaceOriginal bool             `json:"replace_original"`
		DeleteOriginal  bool             `json:"delete_original"`
		Text            string           `json:"text"`
		ThreadTS        string           `json:"thread_ts"`
		Blocks          []map[string]any `json:"blocks"`
	}
	var rep reply
	raw, err := readJSON(r, &call.Body)
	switch {
	case r.Method != http.MethodPost:
		rep = reply{status: http.StatusMethodNotAllowed, body: "method_not_allowed"}
	case err != nil || json.Unmarshal(raw, &fields) != nil:
		rep = reply{status: http.StatusBadRequest, body: "invalid_payload"}
	default:
		rep = reply{status: http.StatusOK, body: map[string]any{"ok": true}}
	}
	call.ResponseType, call.ReplaceOriginal, call.DeleteOriginal = fields.ResponseType, fields.ReplaceOriginal, fields.DeleteOriginal
	call.Text, call.ThreadTS, call.Blocks = fields.Text, fields.ThreadTS, fields.Blocks
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.responseURLs[r.URL.Path] {
		rep = reply{status: http.StatusNotFound, body: "no_such_url"}
	}
	call.Status = rep.status
	s.responseCalls = append(s.responseCalls, call)
	return rep
}

// readJSON reads a request body that must be a JSON object into dst and
// returns the body.
func readJSON(r *http.Request, dst *map[string]any) ([]byte, error) {
	var raw json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		return nil, err
	}
	return raw, json.Unmarshal(raw, dst)
}
