// Package airflowtest is a test double of Apache Airflow's stable REST
// API: reading a DAG and pausing or unpausing it (GET and PATCH
// dags/{dag_id}), under /api/v1 as Airflow 2 serves it, with its problem
// JSON errors, and under /api/v2 as Airflow 3 serves it, with FastAPI's
// {"detail": ...} errors. It checks authentication, records every
// request and can fail or hang chosen paths. It is the one place tests
// fake Airflow.
package airflowtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aisoar/aisoar/internal/doubletest"
)

// The credentials a Server accepts: basic authentication on /api/v1, as
// Airflow 2's basic_auth backend takes it, and a bearer token (a JWT from
// the API server's /auth/token) on /api/v2, as Airflow 3 takes it.
const (
	Username = "aisoar"
	Password = "airflow-test-password"
	Token    = "airflow-test-jwt"
)

// Server is an Airflow double on a loopback httptest server.
type Server struct {
	*httptest.Server
	rec doubletest.Recorder

	mu   sync.Mutex
	dags map[string]bool // DAG id to is_paused
}

// New starts an Airflow double with the DAGs given as id to is_paused; it
// is closed when the test ends.
func New(t testing.TB, dags map[string]bool) *Server {
	t.Helper()
	s := &Server{dags: map[string]bool{}}
	for id, paused := range dags {
		s.dags[id] = paused
	}
	s.Server = s.rec.Start(t, http.HandlerFunc(s.serve))
	return s
}

// Request is one request the double received and what it answered.
type Request = doubletest.Request

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request { return s.rec.Requests() }

// Paused reports whether a DAG is paused.
func (s *Server) Paused(dagID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dags[dagID]
}

// FailNext answers the next n requests of method on path (such as
// "/api/v1/dags/ingest", without the query) with status.
func (s *Server) FailNext(method, path string, status, n int) {
	s.rec.FailNext(method+" "+path, status, n)
}

// HangNext makes the next request of method on path wait without
// answering until the client gives up.
func (s *Server) HangNext(method, path string) { s.rec.HangNext(method+" "+path, 1) }

// reply is an answer: a status and a JSON body.
type reply struct {
	status int
	body   any
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	version, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/api/"), "/")
	if version != "v1" && version != "v2" {
		doubletest.WriteJSON(w, http.StatusNotFound, map[string]any{"detail": "Not Found"})
		return
	}
	writeFault := func(w http.ResponseWriter, f doubletest.Fault) {
		problem(version, f.Status, http.StatusText(f.Status), "injected failure").write(w, version)
	}
	if s.rec.Inject(w, r, writeFault, r.Method+" "+r.URL.Path) {
		return
	}
	if !authenticated(r, version) {
		problem(version, http.StatusUnauthorized, "Unauthorized", "Not authenticated").write(w, version)
		return
	}
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	rep := s.answer(r, version, rest, body)
	s.mu.Unlock()
	rep.write(w, version)
}

// write answers with the reply; Airflow 2 sends its errors as problem
// JSON.
func (rep reply) write(w http.ResponseWriter, version string) {
	if version == "v1" && rep.status >= 400 {
		w.Header().Set("Content-Type", "application/problem+json")
	}
	doubletest.WriteJSON(w, rep.status, rep.body)
}

func authenticated(r *http.Request, version string) bool {
	if version == "v2" {
		return r.Header.Get("Authorization") == "Bearer "+Token
	}
	user, pass, ok := r.BasicAuth()
	return ok && user == Username && pass == Password
}

// problem is an error answer: Airflow 2's RFC 7807 problem document, or
// Airflow 3's {"detail": ...}.
func problem(version string, status int, title, detail string) reply {
	if version == "v2" {
		return reply{status, map[string]any{"detail": detail}}
	}
	return reply{status, map[string]any{
		"type":   "https://airflow.apache.org/docs/apache-airflow/stable/stable-rest-api-ref.html#section/Errors/" + strings.ReplaceAll(title, " ", ""),
		"title":  title,
		"status": status,
		"detail": detail,
	}}
}

// answer serves an authenticated request; the caller holds s.mu.
func (s *Server) answer(r *http.Request, version, rest string, body []byte) reply {
	dagID, ok := strings.CutPrefix(rest, "dags/")
	if !ok || dagID == "" || strings.Contains(dagID, "/") {
		return problem(version, http.StatusNotFound, "Not Found", "the double serves only dags/{dag_id}")
	}
	paused, exists := s.dags[dagID]
	if !exists {
		detail := fmt.Sprintf("Dag with id: '%s' not found", dagID)
		if version == "v2" {
			detail = fmt.Sprintf("Dag with id: %s was not found", dagID)
		}
		return problem(version, http.StatusNotFound, "DAG not found", detail)
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodPatch:
		if mask := r.URL.Query()["update_mask"]; len(mask) > 0 && !slices.Equal(mask, []string{"is_paused"}) {
			return problem(version, http.StatusBadRequest, "Bad Request", "Only `is_paused` field can be updated through the REST API")
		}
		var patch struct {
			IsPaused *bool `json:"is_paused"`
		}
		if err := json.Unmarshal(body, &patch); err != nil || patch.IsPaused == nil {
			return problem(version, http.StatusBadRequest, "Bad Request", "{'is_paused': ['Missing data for required field.']}")
		}
		paused = *patch.IsPaused
		s.dags[dagID] = paused
	default:
		return problem(version, http.StatusMethodNotAllowed, "Method Not Allowed", "Method Not Allowed")
	}
	return reply{http.StatusOK, dagBody(version, dagID, paused)}
}

// dagBody is the DAG object the API version answers with, in part:
// Airflow 3 replaced is_active with is_stale.
func dagBody(version, id string, paused bool) map[string]any {
	dag := map[string]any{
		"dag_id":      id,
		"is_paused":   paused,
		"fileloc":     "/opt/airflow/dags/" + id + ".py",
		"owners":      []string{"data-eng"},
		"description": nil,
		"tags":        []map[string]string{{"name": "ingest"}},
	}
	if version == "v2" {
		dag["dag_display_name"], dag["is_stale"] = id, false
	} else {
		dag["is_active"] = true
	}
	return dag
}
