// Package kservetest is a test double of the Kubernetes API server for
// KServe InferenceServices (serving.kserve.io/v1beta1): GET and JSON merge
// PATCH (RFC 7386) of
// /apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices/{name},
// with resourceVersion preconditions, errors as Kubernetes Status objects
// and bearer-token authentication. After every change it sets
// status.components.predictor.traffic as KServe's Knative reconciler
// splits traffic: canaryTrafficPercent to the latest ready revision, the
// rest to the last rolled-out one. It records every request and injects
// failures. It is the one place tests fake KServe.
package kservetest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aisoar/aisoar/internal/doubletest"
)

// Server is a Kubernetes API double on a loopback httptest server.
type Server struct {
	*httptest.Server
	token string
	rec   doubletest.Recorder

	mu      sync.Mutex
	objects map[string]map[string]any // by "namespace/name"
	version int                       // last resourceVersion handed out
}

// Request is one request the double received and what it answered.
type Request = doubletest.Request

// New starts a Kubernetes API double that accepts the bearer token (a
// service account's); it is closed when the test ends.
func New(t testing.TB, token string) *Server {
	t.Helper()
	s := &Server{token: token, objects: map[string]map[string]any{}}
	s.Server = s.rec.Start(t, http.HandlerFunc(s.serve))
	return s
}

// Path is the API path of an InferenceService.
func Path(namespace, name string) string {
	return fmt.Sprintf("/apis/serving.kserve.io/v1beta1/namespaces/%s/inferenceservices/%s", namespace, name)
}

// Put stores an InferenceService as given (apiVersion, kind, metadata with
// name and namespace, spec, status), as if applied and reconciled.
func (s *Server) Put(obj map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj = clone(obj)
	meta := object(obj, "metadata")
	s.version++
	meta["resourceVersion"] = strconv.Itoa(s.version)
	meta["generation"] = 1
	reconcile(obj)
	s.objects[meta["namespace"].(string)+"/"+meta["name"].(string)] = obj
}

// Get returns an InferenceService as stored, nil when there is none.
func (s *Server) Get(namespace, name string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, ok := s.objects[namespace+"/"+name]
	if !ok {
		return nil
	}
	return clone(obj)
}

// Annotations returns an InferenceService's annotations.
func (s *Server) Annotations(namespace, name string) map[string]string {
	obj := s.Get(namespace, name)
	out := map[string]string{}
	if meta, ok := obj["metadata"].(map[string]any); ok {
		if ann, ok := meta["annotations"].(map[string]any); ok {
			for k, v := range ann {
				out[k], _ = v.(string)
			}
		}
	}
	return out
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request { return s.rec.Requests() }

// FailNext answers the next n requests of method with status and a
// Kubernetes Status body.
func (s *Server) FailNext(method string, status, n int) { s.rec.FailNext(method, status, n) }

// HangNext leaves the next n requests of method unanswered until the
// client gives up.
func (s *Server) HangNext(method string, n int) { s.rec.HangNext(method, n) }

// reasons are the Status reasons the API server gives for statuses.
var reasons = map[int]string{
	http.StatusBadRequest:           "BadRequest",
	http.StatusUnauthorized:         "Unauthorized",
	http.StatusForbidden:            "Forbidden",
	http.StatusNotFound:             "NotFound",
	http.StatusMethodNotAllowed:     "MethodNotAllowed",
	http.StatusConflict:             "Conflict",
	http.StatusUnsupportedMediaType: "UnsupportedMediaType",
	http.StatusUnprocessableEntity:  "Invalid",
	http.StatusTooManyRequests:      "TooManyRequests",
	http.StatusInternalServerError:  "InternalError",
	http.StatusServiceUnavailable:   "ServiceUnavailable",
	http.StatusGatewayTimeout:       "Timeout",
}

// writeStatus answers with a Kubernetes Status object.
func writeStatus(w http.ResponseWriter, code int, message string, details map[string]any) {
	st := map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": message, "reason": reasons[code], "code": code,
	}
	if details != nil {
		st["details"] = details
	}
	doubletest.WriteJSON(w, code, st)
}

// writeFault answers an injected failure with a Status object.
func writeFault(w http.ResponseWriter, f doubletest.Fault) {
	writeStatus(w, f.Status, fmt.Sprintf("injected failure %d", f.Status), nil)
}

const resource = "inferenceservices.serving.kserve.io"

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		writeStatus(w, http.StatusUnauthorized, "Unauthorized", nil)
		return
	}
	if s.rec.Inject(w, r, writeFault, r.Method) {
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/apis/serving.kserve.io/v1beta1/namespaces/")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 3 || parts[1] != "inferenceservices" || parts[0] == "" || parts[2] == "" {
		writeStatus(w, http.StatusNotFound, "the server could not find the requested resource", nil)
		return
	}
	namespace, name := parts[0], parts[2]
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, exists := s.objects[namespace+"/"+name]
	notFound := func() {
		writeStatus(w, http.StatusNotFound, fmt.Sprintf("%s %q not found", resource, name),
			map[string]any{"name": name, "group": "serving.kserve.io", "kind": "inferenceservices"})
	}
	switch r.Method {
	case http.MethodGet:
		if !exists {
			notFound()
			return
		}
		doubletest.WriteJSON(w, http.StatusOK, obj)
	case http.MethodPatch:
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/merge-patch+json" {
			// Custom resources take no strategic merge patch; this
			// double speaks only JSON merge patch.
			writeStatus(w, http.StatusUnsupportedMediaType, "the body of the request was in an unknown format - accepted media types include: application/merge-patch+json", nil)
			return
		}
		var patch map[string]any
		if err := json.NewDecoder(r.Body).Decode(&patch); err != nil || patch == nil {
			writeStatus(w, http.StatusBadRequest, "error decoding patch: body is not a JSON object", nil)
			return
		}
		if !exists {
			notFound()
			return
		}
		meta := object(obj, "metadata")
		if pm, ok := patch["metadata"].(map[string]any); ok {
			if rv, ok := pm["resourceVersion"]; ok && rv != meta["resourceVersion"] {
				writeStatus(w, http.StatusConflict, fmt.Sprintf("Operation cannot be fulfilled on %s %q: the object has been modified; please apply your changes to the latest version and try again", resource, name),
					map[string]any{"name": name, "group": "serving.kserve.io", "kind": "inferenceservices"})
				return
			}
		}
		patched := merge(clone(obj), patch).(map[string]any)
		meta = object(patched, "metadata")
		s.version++
		meta["resourceVersion"] = strconv.Itoa(s.version)
		if !equalJSON(patched["spec"], obj["spec"]) {
			meta["generation"] = toInt(meta["generation"]) + 1
		}
		reconcile(patched)
		s.objects[namespace+"/"+name] = patched
		doubletest.WriteJSON(w, http.StatusOK, patched)
	default:
		writeStatus(w, http.StatusMethodNotAllowed, fmt.Sprintf("the server does not allow this method on the requested resource (%s)", r.Method), nil)
	}
}

// merge applies a JSON merge patch (RFC 7386): objects merge member by
// member, null deletes, anything else replaces.
func merge(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = merge(t[k], v)
	}
	return t
}

// reconcile sets the predictor's traffic as KServe's Knative reconciler
// does: with canaryTrafficPercent set and a rolled-out revision to keep,
// the latest ready revision gets the canary share and the last rolled-out
// revision the rest; when the latest revision is itself the rolled-out
// one, "the rest" goes to the revision rolled out before it, which is how
// canaryTrafficPercent: 0 rolls back. Without canaryTrafficPercent the
// latest revision gets everything.
func reconcile(obj map[string]any) {
	pred := object(object(object(obj, "status"), "components"), "predictor")
	latest, _ := pred["latestReadyRevision"].(string)
	rolled, _ := pred["latestRolledoutRevision"].(string)
	previous, _ := pred["previousRolledoutRevision"].(string)
	spec, _ := object(obj, "spec")["predictor"].(map[string]any)
	canary, hasCanary := spec["canaryTrafficPercent"]
	if hasCanary && rolled == latest && toInt(canary) < 100 {
		rolled = previous
	}
	if !hasCanary || rolled == "" {
		pred["traffic"] = []any{map[string]any{"revisionName": latest, "latestRevision": true, "percent": 100}}
		return
	}
	pct := toInt(canary)
	traffic := []any{map[string]any{"revisionName": latest, "latestRevision": true, "percent": pct}}
	if pct < 100 {
		traffic = append(traffic, map[string]any{"revisionName": rolled, "latestRevision": false, "percent": 100 - pct, "tag": "prev"})
	}
	pred["traffic"] = traffic
}

// object returns m[key] as an object, creating it when missing.
func object(m map[string]any, key string) map[string]any {
	o, ok := m[key].(map[string]any)
	if !ok {
		o = map[string]any{}
		m[key] = o
	}
	return o
}

func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int(n)
	}
	return 0
}

// clone deep-copies a JSON value through its encoding, so stored objects
// hold only JSON types.
func clone(obj map[string]any) map[string]any {
	data, _ := json.Marshal(obj)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return out
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
