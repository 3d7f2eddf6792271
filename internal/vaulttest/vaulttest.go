// Package vaulttest is a test double of the HashiCorp Vault HTTP API,
// following the requests, responses, status codes and error bodies Vault
// documents, for the parts aisoar uses: the KV version 2 secrets engine
// (versions, metadata, check-and-set), the Transit engine's signing keys
// (ed25519 and ecdsa-p256, with real signatures), the token store
// (create, lookup and revoke by accessor), lease revocation by prefix, and
// AppRole secret-ids. It checks tokens, records every request and can
// inject failures and hangs. It is the one place tests fake Vault;
// real-server tests run when AISOAR_TEST_VAULT_ADDR and
// AISOAR_TEST_VAULT_TOKEN are set.
//
// Each engine lives in its own file (kv.go, transit.go, token.go,
// lease.go, approle.go) and registers its routes on the server's mux.
package vaulttest

import (
	"bytes"
	"crypto/rand"
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

// Server is a Vault double on a loopback httptest server. Its engines are
// mounted where Vault's dev server mounts them or where the docs' examples
// do: KV v2 at "secret/", Transit at "transit/", AppRole at "auth/approle/".
type Server struct {
	*httptest.Server
	mux *http.ServeMux
	rec doubletest.Recorder

	mu       sync.Mutex
	kvMounts map[string]bool
	kv       map[string]*kvSecret // by mount and path, "secret/aisoar/splunk"
	transit  map[string]*transitKey
	tokens   map[string]*tokenEntry // by token
	leases   map[string]*lease      // by lease id
	roles    map[string]*appRole    // by lower-case role name
}

// Request is one request the double received and what it answered. Its
// Method is as sent: vault/api sends LIST as GET with list=true; its
// X-Vault-Namespace header is the namespace (Vault Enterprise).
type Request = doubletest.Request

// New starts a Vault double whose root token is token; it is closed when
// the test ends.
func New(t testing.TB, token string) *Server {
	t.Helper()
	s := &Server{
		mux:      http.NewServeMux(),
		kvMounts: map[string]bool{"secret": true},
		kv:       map[string]*kvSecret{},
		transit:  map[string]*transitKey{},
		tokens:   map[string]*tokenEntry{},
		leases:   map[string]*lease{},
		roles:    map[string]*appRole{},
	}
	s.tokens[token] = &tokenEntry{id: token, accessor: newID(), policies: []string{"root"}, displayName: "root"}
	s.routeKV()
	s.routeTransit()
	s.routeToken()
	s.routeLeases()
	s.routeAppRole()
	s.Server = s.rec.Start(t, http.HandlerFunc(s.serve))
	return s
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request { return s.rec.Requests() }

// FailNext makes the next n requests to path fail with status and the
// error body Vault sends with it, before they reach the engine. path is a
// request path ("/v1/secret/data/app") or a method and path ("PUT
// /v1/secret/data/app", the method as sent) to fail only those.
func (s *Server) FailNext(path string, status, n int) { s.rec.FailNext(path, status, n) }

// FailNextWith makes the next request to path (as for FailNext) fail
// with status and {"errors":[message]}, such as a check-and-set conflict
// another writer would cause.
func (s *Server) FailNextWith(path string, status int, message string) {
	s.rec.Queue(path, doubletest.Fault{Status: status, Message: message}, 1)
}

// HangNext makes the next n requests to path (as for FailNext) wait
// without an answer until the client gives up, as a Vault that stopped
// answering does.
func (s *Server) HangNext(path string, n int) { s.rec.HangNext(path, n) }

// unauthenticated lists the paths Vault serves without a token.
var unauthenticated = []string{"/v1/auth/approle/login"}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !slices.Contains(unauthenticated, r.URL.Path) && s.caller(r) == nil {
		writeErrors(w, http.StatusForbidden, "permission denied")
		return
	}
	if s.rec.Inject(w, r, writeFault, r.Method+" "+r.URL.Path, r.URL.Path) {
		return
	}
	// Vault treats PUT as POST, and takes LIST as GET with list=true; the
	// routes use POST and LIST.
	switch {
	case r.Method == http.MethodPut:
		r.Method = http.MethodPost
	case r.Method == http.MethodGet && r.URL.Query().Get("list") == "true":
		r.Method = "LIST"
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", strings.TrimPrefix(r.URL.Path, "/v1/")))
		return
	}
	s.mux.ServeHTTP(w, r)
}

// caller is the token entry of the request's token (X-Vault-Token, or
// "Authorization: Bearer", which Vault also accepts), nil when it is
// missing, unknown or revoked.
func (s *Server) caller(r *http.Request) *tokenEntry {
	token := r.Header.Get("X-Vault-Token")
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && token == "" {
		token = bearer
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[token]
}

// writeFault answers an injected failure with its message or the error
// Vault gives with its status.
func writeFault(w http.ResponseWriter, f doubletest.Fault) {
	if f.Message == "" {
		f.Message = faultMessage(f.Status)
	}
	writeErrors(w, f.Status, f.Message)
}

// faultMessage is the error Vault gives with an injected status.
func faultMessage(status int) string {
	switch status {
	case http.StatusForbidden:
		return "permission denied"
	case http.StatusTooManyRequests:
		return "request path: rate limit quota exceeded"
	case http.StatusServiceUnavailable:
		return "Vault is sealed"
	case http.StatusNotFound:
		return ""
	}
	return fmt.Sprintf("1 error occurred:\n\t* injected failure (%d)\n\n", status)
}

// writeErrors writes Vault's error body, {"errors":[...]}; Vault answers a
// plain 404 with an empty list.
func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	if len(msgs) == 1 && msgs[0] == "" {
		msgs = []string{}
	}
	doubletest.WriteJSON(w, status, map[string]any{"errors": msgs})
}

// writeData writes Vault's response envelope around data.
func writeData(w http.ResponseWriter, data any) {
	doubletest.WriteJSON(w, http.StatusOK, envelope(data, nil))
}

// writeAuth writes Vault's response envelope around an auth block, as
// token creation and logins answer.
func writeAuth(w http.ResponseWriter, auth map[string]any) {
	doubletest.WriteJSON(w, http.StatusOK, envelope(nil, auth))
}

func envelope(data, auth any) map[string]any {
	return map[string]any{
		"request_id": newID(), "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": data, "wrap_info": nil, "warnings": nil, "auth": auth,
	}
}

// noContent is Vault's answer to a write that returns nothing.
func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// decodeBody reads a request's JSON object; an empty body is an empty map.
func decodeBody(r *http.Request) (map[string]any, error) {
	body := map[string]any{}
	raw, err := io.ReadAll(r.Body)
	if err != nil || len(bytes.TrimSpace(raw)) == 0 {
		return body, err
	}
	return body, json.Unmarshal(raw, &body)
}

// bodyOrError decodes the request body, answering 400 when it is not a
// JSON object, as Vault does.
func bodyOrError(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	body, err := decodeBody(r)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "error parsing JSON")
		return nil, false
	}
	return body, true
}

// requiredString returns a string field of the request body, answering
// 400 "missing <what>" as Vault does when it is empty.
func requiredString(w http.ResponseWriter, r *http.Request, field, what string) (string, bool) {
	body, ok := bodyOrError(w, r)
	if !ok {
		return "", false
	}
	v := str(body, field)
	if v == "" {
		writeErrors(w, http.StatusBadRequest, "missing "+what)
		return "", false
	}
	return v, true
}

// str returns a string field of a request body.
func str(body map[string]any, key string) string {
	v, _ := body[key].(string)
	return v
}

// num returns a number field of a request body, which Vault also accepts
// as a string.
func num(body map[string]any, key string) (int, bool) {
	switch v := body[key].(type) {
	case float64:
		return int(v), true
	case string:
		var n int
		if _, err := fmt.Sscan(v, &n); err == nil {
			return n, true
		}
	case json.Number:
		n, err := v.Int64()
		return int(n), err == nil
	}
	return 0, false
}

// newID returns a random UUID, the form of Vault's request ids, accessors
// and secret-ids.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
