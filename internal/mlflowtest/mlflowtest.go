// Package mlflowtest is a test double of the MLflow tracking server's
// REST API: the Model Registry (/api/2.0/mlflow/registered-models/... and
// model-versions/get) with versions, aliases and tags; runs (runs/get) and
// their artifacts, listed with artifacts/list and downloaded through the
// artifacts proxy of a server started with --serve-artifacts
// (/api/2.0/mlflow-artifacts/artifacts/<experiment>/<run>/artifacts/<path>).
// It follows the request and response shapes, status codes and error
// bodies ({"error_code": ..., "message": ...}) MLflow documents, behind
// the basic authentication of MLflow's auth app. It records every request
// and injects failures. It is the one place tests fake MLflow.
package mlflowtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aisoar/aisoar/internal/doubletest"
)

// API is the path prefix of MLflow's REST API.
const API = "/api/2.0/mlflow/"

// ArtifactsAPI is the path prefix of the tracking server's artifacts
// proxy; a run's artifacts are under <experiment>/<run>/artifacts/.
const ArtifactsAPI = "/api/2.0/mlflow-artifacts/artifacts/"

// timestamp is the creation and update time the double reports, in
// milliseconds since the epoch as MLflow does.
const timestamp = 1712345678000

// Server is an MLflow double on a loopback httptest server.
type Server struct {
	*httptest.Server
	username, password string
	rec                doubletest.Recorder

	mu       sync.Mutex
	models   map[string]*model
	runs     map[string]*Run
	pageSize int
}

// Run is a tracking run with its data and artifacts.
type Run struct {
	ID           string
	ExperimentID string
	Name         string
	Metrics      map[string]float64
	Params       map[string]string
	Tags         map[string]string
	// Artifacts are the run's artifact files by path relative to its
	// artifact root ("model/MLmodel"); directories are implied by them.
	Artifacts map[string][]byte
}

type model struct {
	versions []string
	aliases  map[string]string // alias → version
	tags     map[string]string
}

// Request is one request the double received and what it answered.
type Request = doubletest.Request

// New starts an MLflow double that accepts HTTP basic authentication with
// username and password; it is closed when the test ends.
func New(t testing.TB, username, password string) *Server {
	t.Helper()
	s := &Server{username: username, password: password, models: map[string]*model{}, runs: map[string]*Run{}}
	s.Server = s.rec.Start(t, http.HandlerFunc(s.serve))
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

// AddRun records a finished run, served as MLflow serves a run whose
// artifact_uri is mlflow-artifacts:/<experiment>/<run>/artifacts.
func (s *Server) AddRun(r Run) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs[r.ID] = &r
}

// SetArtifactPageSize makes artifacts/list answer at most n entries a
// page, with a next_page_token for the rest; 0 answers all at once.
func (s *Server) SetArtifactPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// Tags returns a registered model's tags.
func (s *Server) Tags(name string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.models[name].tags)
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request { return s.rec.Requests() }

// FailNext answers the next n requests of method to path (such as
// API+"registered-models/alias") with status and an MLflow error body.
func (s *Server) FailNext(method, path string, status, n int) {
	s.rec.FailNext(method+" "+path, status, n)
}

// HangNext leaves the next n requests of method to path unanswered until
// the client gives up, as an overloaded server would.
func (s *Server) HangNext(method, path string, n int) { s.rec.HangNext(method+" "+path, n) }

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
	doubletest.WriteJSON(w, statusOf[code], apiError{ErrorCode: code, Message: message})
}

// writeFault answers an injected failure with MLflow's error body.
func writeFault(w http.ResponseWriter, f doubletest.Fault) {
	code := "INTERNAL_ERROR"
	if f.Status < 500 {
		code = "INVALID_PARAMETER_VALUE"
	}
	doubletest.WriteJSON(w, f.Status, apiError{ErrorCode: code, Message: fmt.Sprintf("injected failure %d", f.Status)})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	// MLflow's auth app checks credentials before anything else.
	if user, pass, ok := r.BasicAuth(); !ok || user != s.username || pass != s.password {
		w.Header().Set("WWW-Authenticate", `Basic realm="mlflow"`)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = fmt.Fprint(w, "You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.")
		return
	}
	if s.rec.Inject(w, r, writeFault, r.Method+" "+r.URL.Path) {
		return
	}
	var body map[string]any
	var decodeErr error
	if r.ContentLength != 0 {
		decodeErr = json.NewDecoder(r.Body).Decode(&body)
	}
	query := r.URL.Query()
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
				vals[i] = query.Get(n)
			} else if v, ok := body[n].(string); ok {
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
	if artifact, ok := strings.CutPrefix(r.URL.Path, ArtifactsAPI); ok && r.Method == http.MethodGet {
		s.downloadArtifact(w, artifact)
		return
	}
	route := r.Method + " " + strings.TrimPrefix(r.URL.Path, API)
	switch route {
	case "GET runs/get":
		a, ok := args("run_id")
		if !ok {
			return
		}
		if run := s.run(w, a[0]); run != nil {
			doubletest.WriteJSON(w, http.StatusOK, map[string]any{"run": run.run()})
		}
	case "GET artifacts/list":
		a, ok := args("run_id")
		if !ok {
			return
		}
		if run := s.run(w, a[0]); run != nil {
			s.listArtifacts(w, run, query.Get("path"), query.Get("page_token"))
		}
	case "GET registered-models/get":
		a, ok := args("name")
		if !ok {
			return
		}
		if m := s.model(w, a[0]); m != nil {
			doubletest.WriteJSON(w, http.StatusOK, map[string]any{"registered_model": m.registeredModel(a[0])})
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
		doubletest.WriteJSON(w, http.StatusOK, map[string]any{"model_version": m.modelVersion(a[0], version)})
	case "POST registered-models/alias":
		a, ok := args("name", "alias", "version")
		if !ok {
			return
		}
		if m := s.modelWithVersion(w, a[0], a[2]); m != nil {
			m.aliases[a[1]] = a[2]
			doubletest.WriteJSON(w, http.StatusOK, map[string]any{})
		}
	case "GET model-versions/get":
		a, ok := args("name", "version")
		if !ok {
			return
		}
		if m := s.modelWithVersion(w, a[0], a[1]); m != nil {
			doubletest.WriteJSON(w, http.StatusOK, map[string]any{"model_version": m.modelVersion(a[0], a[1])})
		}
	case "POST registered-models/set-tag":
		a, ok := args("name", "key")
		if !ok {
			return
		}
		value, isString := body["value"].(string)
		if !isString {
			writeError(w, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'value'. See the API docs for more information about request parameters.")
			return
		}
		if m := s.model(w, a[0]); m != nil {
			m.tags[a[1]] = value
			doubletest.WriteJSON(w, http.StatusOK, map[string]any{})
		}
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprint(w, "<!doctype html><title>404 Not Found</title><h1>Not Found</h1>")
	}
}

// run returns the run with the id, or answers MLflow's not-found error and
// returns nil. The caller holds s.mu.
func (s *Server) run(w http.ResponseWriter, id string) *Run {
	r, ok := s.runs[id]
	if !ok {
		writeError(w, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Run with id=%s not found", id))
		return nil
	}
	return r
}

// artifactURI is where the run's artifacts are, as the tracking server
// with --serve-artifacts records it.
func (r *Run) artifactURI() string {
	return "mlflow-artifacts:/" + r.ExperimentID + "/" + r.ID + "/artifacts"
}

// run is the Run object of MLflow's REST API; empty lists are left out,
// as MLflow's JSON leaves them out.
func (r *Run) run() map[string]any {
	data := map[string]any{}
	if len(r.Metrics) > 0 {
		var metrics []map[string]any
		for _, k := range slices.Sorted(maps.Keys(r.Metrics)) {
			metrics = append(metrics, map[string]any{"key": k, "value": r.Metrics[k], "timestamp": timestamp, "step": 0})
		}
		data["metrics"] = metrics
	}
	for field, kv := range map[string]map[string]string{"params": r.Params, "tags": r.Tags} {
		if len(kv) > 0 {
			var list []map[string]string
			for _, k := range slices.Sorted(maps.Keys(kv)) {
				list = append(list, map[string]string{"key": k, "value": kv[k]})
			}
			data[field] = list
		}
	}
	return map[string]any{
		"info": map[string]any{
			"run_id":          r.ID,
			"run_uuid":        r.ID,
			"run_name":        r.Name,
			"experiment_id":   r.ExperimentID,
			"user_id":         "mlflow",
			"status":          "FINISHED",
			"start_time":      timestamp,
			"end_time":        timestamp,
			"artifact_uri":    r.artifactURI(),
			"lifecycle_stage": "active",
		},
		"data":   data,
		"inputs": map[string]any{},
	}
}

// listArtifacts answers artifacts/list: the files and directories
// directly in dir ("" for the root), by path relative to the artifact
// root, a page at a time. The caller holds s.mu.
func (s *Server) listArtifacts(w http.ResponseWriter, r *Run, dir, pageToken string) {
	if !safePath(dir) {
		writeError(w, "INVALID_PARAMETER_VALUE", "Invalid path")
		return
	}
	dir = strings.Trim(dir, "/")
	entries := map[string]map[string]any{}
	for p, data := range r.Artifacts {
		rest, ok := strings.CutPrefix(p, dir+"/")
		if dir == "" {
			rest, ok = p, true
		}
		if !ok {
			continue
		}
		if first, _, nested := strings.Cut(rest, "/"); nested {
			entries[path.Join(dir, first)] = map[string]any{"path": path.Join(dir, first), "is_dir": true}
		} else {
			entries[p] = map[string]any{"path": p, "is_dir": false, "file_size": len(data)}
		}
	}
	files := make([]map[string]any, 0, len(entries))
	for _, p := range slices.Sorted(maps.Keys(entries)) {
		files = append(files, entries[p])
	}
	start, _ := strconv.Atoi(pageToken)
	if start < 0 || start > len(files) {
		writeError(w, "INVALID_PARAMETER_VALUE", fmt.Sprintf("Invalid page token %q", pageToken))
		return
	}
	files = files[start:]
	answer := map[string]any{"root_uri": r.artifactURI()}
	if s.pageSize > 0 && len(files) > s.pageSize {
		files = files[:s.pageSize]
		answer["next_page_token"] = strconv.Itoa(start + s.pageSize)
	}
	if len(files) > 0 {
		answer["files"] = files
	}
	doubletest.WriteJSON(w, http.StatusOK, answer)
}

// downloadArtifact answers a download through the artifacts proxy of
// <experiment>/<run>/artifacts/<path> with the file, as a streamed
// attachment with the media type its name suggests. The caller holds
// s.mu.
func (s *Server) downloadArtifact(w http.ResponseWriter, artifact string) {
	if !safePath(artifact) {
		writeError(w, "INVALID_PARAMETER_VALUE", "Invalid path")
		return
	}
	parts := strings.SplitN(artifact, "/", 4)
	var data []byte
	found := false
	if len(parts) == 4 && parts[2] == "artifacts" {
		if r, ok := s.runs[parts[1]]; ok && r.ExperimentID == parts[0] {
			data, found = r.Artifacts[parts[3]]
		}
	}
	if !found {
		writeError(w, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("File %s does not exist", artifact))
		return
	}
	contentType := mime.TypeByExtension(path.Ext(artifact))
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", "attachment; filename="+path.Base(artifact))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// safePath reports whether p stays within the artifact root, as MLflow's
// validate_path_is_safe requires.
func safePath(p string) bool {
	return !strings.HasPrefix(p, "/") && !slices.Contains(strings.Split(p, "/"), "..")
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

// modelWithVersion returns the named model when it has the version, or
// answers MLflow's not-found error and returns nil. The caller holds s.mu.
func (s *Server) modelWithVersion(w http.ResponseWriter, name, version string) *model {
	m := s.model(w, name)
	if m != nil && !slices.Contains(m.versions, version) {
		writeError(w, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Model Version (name=%s, version=%s) not found", name, version))
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
