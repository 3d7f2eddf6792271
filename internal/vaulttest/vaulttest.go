// Package vaulttest is a test double of the HashiCorp Vault HTTP API: the
// KV version 2 secrets engine's read and write, with token checks, in the
// request and response shapes Vault documents. It is the one place tests
// fake Vault; real-server tests run when AISOAR_TEST_VAULT_ADDR and
// AISOAR_TEST_VAULT_TOKEN are set.
package vaulttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a Vault double on a loopback httptest server.
type Server struct {
	*httptest.Server
	token string
	mu    sync.Mutex
	// kv holds KV v2 secrets by mount and path ("secret/aisoar/splunk").
	kv map[string][]map[string]any
}

// New starts a Vault double that accepts token and has KV v2 mounted at
// "secret/".
func New(t testing.TB, token string) *Server {
	t.Helper()
	s := &Server{token: token, kv: map[string][]map[string]any{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Put stores a new version of a KV v2 secret at mount/path.
func (s *Server) Put(mount, path string, data map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := mount + "/" + path
	s.kv[key] = append(s.kv[key], data)
}

// errorsBody is Vault's error response shape.
type errorsBody struct {
	Errors []string `json:"errors"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("X-Vault-Token") != s.token {
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(errorsBody{Errors: []string{"permission denied"}})
		return
	}
	// KV v2: /v1/{mount}/data/{path}
	mount, path, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1/"), "/data/")
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(errorsBody{Errors: []string{"no handler for route " + r.URL.Path}})
		return
	}
	key := mount + "/" + path
	switch r.Method {
	case http.MethodGet:
		s.mu.Lock()
		versions := s.kv[key]
		s.mu.Unlock()
		if len(versions) == 0 {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(errorsBody{Errors: []string{}})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"request_id": "00000000-0000-0000-0000-000000000000",
			"lease_id":   "", "renewable": false, "lease_duration": 0,
			"data": map[string]any{
				"data": versions[len(versions)-1],
				"metadata": map[string]any{
					"created_time": time.Now().UTC().Format(time.RFC3339Nano), "deletion_time": "",
					"destroyed": false, "version": len(versions),
				},
			},
		})
	case http.MethodPost, http.MethodPut:
		var body struct {
			Data map[string]any `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Data == nil {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(errorsBody{Errors: []string{"no data provided"}})
			return
		}
		s.Put(mount, path, body.Data)
		s.mu.Lock()
		version := len(s.kv[key])
		s.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"version": version, "destroyed": false}})
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
		_ = json.NewEncoder(w).Encode(errorsBody{Errors: []string{"unsupported operation"}})
	}
}
