// Package mlflowtest is a test double of the MLflow Model Registry REST
// API (/api/2.0/mlflow/registered-models/... and model-versions/get):
// registered models with versions, aliases and tags, in the request and
// response shapes, status codes and error bodies ({"error_code": ...,
// "message": ...}) MLflow documents, behind the basic authentication of
// MLflow's auth app. It records every request and injects failures. It is
// the one place tests fake MLflow.
package mlflowtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// API is the path prefix of MLflow's REST API.
const API = "/api/2.0/mlflow/"

// timestamp is the creation and update time the double reports, in
// milliseconds since the epoch as MLflow does.
const timestamp = 1712345678000

// Server is an MLflow double on a loopback httptest server.
type Server struct {
	*httptest.Server
	username, password string

	mu       sync.Mutex
	models   map[string]*model
	requests []Request
	faults   []*fault
}

type model struct {
	versions []string
	aliases  map[string]string // alias → version
	tags     map[string]string
}

// Request is one request the double received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	// Body is the decoded JSON body; nil when there was none.
	Body map[string]any
}

// fault is an answer queued by FailNext or HangNext.
type fault struct {
	method, path string
	status       int // 0 hangs until the client gives up
	left         int
}

// New starts an MLflow double that accepts HTTP basic authentication with
// username and password; it is closed when the test ends.
func New(t testing.TB, username, password string) *Server {
	t.Helper()
	s := &Server{username: username, password: password, models: map[string]*model{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// AddModel registers a model with the given versions ("1", "2", ...).
func (s *Server) AddModel(name string, versions ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.models[name] = &model{versions: versions, aliases: map[string]string{}, tags: map[string]string{}}
}

// SetAlias points a model's alias at a version, as the MLflow UI would.
func (s *Server) SetAlias(name, alias, version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.models[name].aliases[alias] = version
}

// Alias returns the version a model's alias points to, "" when unset.
func (s *Server) Alias(name, alias string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.models[name].aliases[alias]
}

// Tags returns a registered model's tags.
func (s *Server) Tags(name string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.models[name].tags)
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// FailNext answers the next n requests of method to path (such as
// API+"registered-models/alias") with status and an MLflow error body.
func (s *Server) FailNext(method, path string, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, path: path, status: status, left: n})
}

// HangNext leaves the next n requests of method to path unanswered until
// the client gives up, as an overloaded server would.
func (s *Server) HangNext(method, path string, n int) { s.FailNext(method, path, 0, n) }

// takeFault returns the status queued for the request, if any. The caller
// holds s.mu.
func (s *Server) takeFault(method, path string) (int, bool) {
	for _, f := range s.faults {
		if f.left > 0 && f.method == method && f.path == path {
			f.left--
			return f.status, true
		}
	}
	return 0, false
}

// apiError is MLflow's error body.
type apiError struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

// statusOf maps MLflow's error codes to the HTTP statuses its server
// answers with.
var statusOf = map[string]int{
	"INVALID_PARAMETER_VALUE": http.StatusBadRequest,
	"RESOURCE_DOES_NOT_EXIST": http.StatusNotFound,
	"INTERNAL_ERROR":          http.StatusInternalServerError,
	"TEMPORARILY_UNAVAILABLE": http.StatusServiceUnavailable,
}

func writeError(w http.ResponseWriter, code, message string) {
	writeJSON(w, statusOf[code], apiError{ErrorCode: code, Message: message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()}
	var decodeErr error
	if r.ContentLength != 0 {
		decodeErr = json.NewDecoder(r.Body).Decode(&req.Body)
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()

	// MLflow's auth app checks credentials before anything else.
	if user, pass, ok := r.BasicAuth(); !ok || user != s.username || pass != s.password {
		w.Header().Set("WWW-Authenticate", `Basic realm="mlflow"`)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = fmt.Fprint(w, "You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.")
		return
	}
	s.mu.Lock()
	status, faulty := s.takeFault(r.Method, r.URL.Path)
	s.mu.Unlock()
	if faulty {
		if status == 0 {
			<-r.Context().Done()
			return
		}
		code := "INTERNAL_ERROR"
		if status < 500 {
			code = "INVALID_PARAMETER_VALUE"
		}
		writeJSON(w, status, apiError{ErrorCode: code, Message: fmt.Sprintf("injected failure %d", status)})
		return
	}
	if r.Method == http.MethodPost {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			writeError(w, "INVALID_PARAMETER_VALUE", "the MLflow REST API requires content type application/json for POST requests")
			return
		}
		if decodeErr != nil {
			writeError(w, "INVALID_PARAMETER_VALUE", "malformed JSON body: "+decodeErr.Error())
			return
		}
	}
	args := func(names ...string) ([]string, bool) {
		vals := make([]string, len(names))
		for i, n := range names {
			if r.Method == http.MethodGet {
				vals[i] = req.Query.Get(n)
			} else if v, ok := req.Body[n].(string); ok {
				vals[i] = v
			}
			if vals[i] == "" {
				writeError(w, "INVALID_PARAMETER_VALUE", fmt.Sprintf("Missing value for required parameter '%s'. See the API docs for more information about request parameters.", n))
				return nil, false
			}
		}
		return vals, true
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	route := r.Method + " " + strings.TrimPrefix(r.URL.Path, API)
	switch route {
	case "GET registered-models/get":
		a, ok := args("name")
		if !ok {
			return
		}
		if m := s.model(w, a[0]); m != nil {
			writeJSON(w, http.StatusOK, map[string]any{"registered_model": m.registeredModel(a[0])})
		}
	case "GET registered-models/alias":
		a, ok := args("name", "alias")
		if !ok {
			return
		}
		m := s.model(w, a[0])
		if m == nil {
			return
		}
		version, ok := m.aliases[a[1]]
		if !ok {
			// MLflow answers a missing alias with 400, not 404.
			writeError(w, "INVALID_PARAMETER_VALUE", fmt.Sprintf("Registered model alias %s not found.", a[1]))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"model_version": m.modelVersion(a[0], version)})
	case "POST registered-models/alias":
		a, ok := args("name", "alias", "version")
		if !ok {
			return
		}
		m := s.model(w, a[0])
		if m == nil {
			return
		}
		if !slices.Contains(m.versions, a[2]) {
			writeError(w, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Model Version (name=%s, version=%s) not found", a[0], a[2]))
			return
		}
		m.aliases[a[1]] = a[2]
		writeJSON(w, http.StatusOK, map[string]any{})
	case "GET model-versions/get":
		a, ok := args("name", "version")
		if !ok {
			return
		}
		m := s.model(w, a[0])
		if m == nil {
			return
		}
		if !slices.Contains(m.versions, a[1]) {
			writeError(w, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Model Version (name=%s, version=%s) not found", a[0], a[1]))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"model_version": m.modelVersion(a[0], a[1])})
	case "POST registered-models/set-tag":
		a, ok := args("name", "key")
		if !ok {
			return
		}
		value, isString := req.Body["value"].(string)
		if !isString {
			writeError(w, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'value'. See the API docs for more information about request parameters.")
			return
		}
		if m := s.model(w, a[0]); m != nil {
			m.tags[a[1]] = value
			writeJSON(w, http.StatusOK, map[string]any{})
		}
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprint(w, "<!doctype html><title>404 Not Found</title><h1>Not Found</h1>")
	}
}

// model returns the named model, or answers MLflow's not-found error and
// returns nil. The caller holds s.mu.
func (s *Server) model(w http.ResponseWriter, name string) *model {
	m, ok := s.models[name]
	if !ok {
		writeError(w, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Registered Model with name=%s not found", name))
		return nil
	}
	return m
}

// registeredModel is the RegisteredModel object of MLflow's REST API.
func (m *model) registeredModel(name string) map[string]any {
	aliases := []map[string]string{}
	for _, a := range slices.Sorted(maps.Keys(m.aliases)) {
		aliases = append(aliases, map[string]string{"alias": a, "version": m.aliases[a]})
	}
	tags := []map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(m.tags)) {
		tags = append(tags, map[string]string{"key": k, "value": m.tags[k]})
	}
	rm := map[string]any{
		"name":                   name,
		"creation_timestamp":     timestamp,
		"last_updated_timestamp": timestamp,
		"aliases":                aliases,
		"tags":                   tags,
	}
	if n := len(m.versions); n > 0 {
		rm["latest_versions"] = []map[string]any{m.modelVersion(name, m.versions[n-1])}
	}
	return rm
}

// modelVersion is the ModelVersion object of MLflow's REST API.
func (m *model) modelVersion(name, version string) map[string]any {
	aliases := []string{}
	for _, a := range slices.Sorted(maps.Keys(m.aliases)) {
		if m.aliases[a] == version {
			aliases = append(aliases, a)
		}
	}
	return map[string]any{
		"name":                   name,
		"version":                version,
		"creation_timestamp":     timestamp,
		"last_updated_timestamp": timestamp,
		"current_stage":          "None",
		"source":                 fmt.Sprintf("models:/%s/%s", name, version),
		"status":                 "READY",
		"aliases":                aliases,
	}
}
