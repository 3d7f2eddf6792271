// Package kafkaconnecttest is a test double of the Kafka Connect REST
// API: a connector's status (GET /connectors/{name}/status) and pausing
// and resuming it (PUT /connectors/{name}/pause and /resume, 202
// Accepted), with Connect's {"error_code", "message"} errors. As in
// Connect, a pause or resume takes effect asynchronously: the status can
// be made to lag behind it. The double checks basic authentication (the
// BasicAuthSecurityRestExtension), records every request and can fail or
// hang chosen paths. It is the one place tests fake Kafka Connect.
package kafkaconnecttest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aisoar/aisoar/internal/doubletest"
)

// The basic-auth credentials a Server accepts.
const (
	Username = "aisoar"
	Password = "connect-test-password"
)

// Connector states, as the status answers them.
const (
	Running    = "RUNNING"
	Paused     = "PAUSED"
	Stopped    = "STOPPED"
	Failed     = "FAILED"
	Unassigned = "UNASSIGNED"
)

// Server is a Kafka Connect double on a loopback httptest server.
type Server struct {
	*httptest.Server
	rec doubletest.Recorder

	mu         sync.Mutex
	connectors map[string]*connector
	lag        int
}

// connector is a connector's status; pending is a pause or resume the
// status does not show yet, for lag more status reads.
type connector struct {
	state   string
	tasks   []string
	pending string
	lag     int
}

// New starts a Kafka Connect double; it is closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{connectors: map[string]*connector{}}
	s.Server = s.rec.Start(t, http.HandlerFunc(s.serve))
	return s
}

// AddConnector adds a connector in state with tasks in the given states.
func (s *Server) AddConnector(name, state string, tasks ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connectors[name] = &connector{state: state, tasks: tasks}
}

// SetLag makes the status show a pause or resume only after n more
// status reads; a large n makes it never settle within a test.
func (s *Server) SetLag(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lag = n
}

// State returns a connector's state and its tasks' as the status shows
// them now.
func (s *Server) State(name string) (string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.connectors[name]
	return c.state, slices.Clone(c.tasks)
}

// Request is one request the double received and what it answered.
type Request = doubletest.Request

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request { return s.rec.Requests() }

// Writes returns the PUT requests received so far, in order.
func (s *Server) Writes() []Request {
	var writes []Request
	for _, r := range s.Requests() {
		if r.Method == http.MethodPut {
			writes = append(writes, r)
		}
	}
	return writes
}

// FailNext answers the next n requests for path (such as
// "/connectors/docs-sink/pause") with status.
func (s *Server) FailNext(path string, status, n int) { s.rec.FailNext(path, status, n) }

// HangNext makes the next request for path wait without answering until
// the client gives up.
func (s *Server) HangNext(path string) { s.rec.HangNext(path, 1) }

// reply is an answer: a status and a JSON body, none when nil.
type reply struct {
	status int
	body   any
}

// connectError is Connect's error body.
func connectError(status int, format string, args ...any) reply {
	return reply{status, map[string]any{"error_code": status, "message": fmt.Sprintf(format, args...)}}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.rec.Inject(w, r, writeFault, r.URL.Path) {
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != Username || pass != Password {
		connectError(http.StatusUnauthorized, "User cannot access the resource.").write(w)
		return
	}
	s.mu.Lock()
	rep := s.answer(r)
	s.mu.Unlock()
	rep.write(w)
}

// writeFault answers an injected failure with Connect's error body.
func writeFault(w http.ResponseWriter, f doubletest.Fault) {
	connectError(f.Status, "injected failure").write(w)
}

func (rep reply) write(w http.ResponseWriter) {
	if rep.body == nil {
		w.WriteHeader(rep.status)
		return
	}
	doubletest.WriteJSON(w, rep.status, rep.body)
}

// answer serves an authenticated request; the caller holds s.mu.
func (s *Server) answer(r *http.Request) reply {
	rest, ok := strings.CutPrefix(r.URL.Path, "/connectors/")
	name, op, _ := strings.Cut(rest, "/")
	if !ok || name == "" {
		return connectError(http.StatusNotFound, "HTTP 404 Not Found")
	}
	c, exists := s.connectors[name]
	switch {
	case op == "status" && r.Method == http.MethodGet:
		if !exists {
			return connectError(http.StatusNotFound, "No status found for connector %s", name)
		}
		return reply{http.StatusOK, s.status(name, c)}
	case (op == "pause" || op == "resume") && r.Method == http.MethodPut:
		if !exists {
			return connectError(http.StatusNotFound, "Connector %s not found", name)
		}
		c.pending, c.lag = op, s.lag
		if c.lag == 0 {
			c.apply()
		}
		return reply{http.StatusAccepted, nil}
	}
	return connectError(http.StatusNotFound, "HTTP 404 Not Found")
}

// status answers a status read, applying a pending change once its lag
// has passed.
func (s *Server) status(name string, c *connector) map[string]any {
	if c.pending != "" {
		if c.lag--; c.lag < 0 {
			c.apply()
		}
	}
	tasks := []map[string]any{}
	for i, state := range c.tasks {
		tasks = append(tasks, map[string]any{"id": i, "state": state, "worker_id": "connect-0:8083"})
	}
	return map[string]any{
		"name":      name,
		"connector": map[string]any{"state": c.state, "worker_id": "connect-0:8083"},
		"tasks":     tasks,
		"type":      "sink",
	}
}

// apply makes a pending pause or resume show in the status. A failed
// connector or task stays failed, as in Connect.
func (c *connector) apply() {
	from, to := Running, Paused
	if c.pending == "resume" {
		from, to = Paused, Running
	}
	if c.state == from || (to == Paused && c.state == Stopped) {
		c.state = to
	}
	for i, state := range c.tasks {
		if state == from {
			c.tasks[i] = to
		}
	}
	c.pending = ""
}
