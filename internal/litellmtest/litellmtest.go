// Package litellmtest is a test double of the LiteLLM proxy's management
// API, following its documented endpoints, request fields, response
// shapes, status codes and error bodies for virtual keys (/key/generate,
// /key/info, /key/update, /key/block, /key/unblock, /key/delete,
// /key/list) and teams (/team/info, /team/update, /team/block,
// /team/unblock). It keeps keys and teams in memory, checks the master
// key, records every request and can inject failures and hangs. It is
// the one place tests fake LiteLLM.
package litellmtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aisoar/aisoar/internal/doubletest"
)

// Key is a virtual key as the proxy stores it.
type Key struct {
	// Key is the secret sk-… value; the proxy stores only its Token.
	Key string
	// Token is the sha256 hex of Key, the key's id in the API.
	Token    string
	KeyAlias string
	TeamID   string
	UserID   string
	Models   []string
	Metadata map[string]any
	RPMLimit *int64
	TPMLimit *int64
	// Blocked is nil on a key never blocked or unblocked, as in LiteLLM.
	Blocked *bool
}

// IsBlocked reports whether the key is blocked.
func (k Key) IsBlocked() bool { return k.Blocked != nil && *k.Blocked }

// Team is a team (tenant) as the proxy stores it.
type Team struct {
	TeamID    string
	TeamAlias string
	Metadata  map[string]any
	RPMLimit  *int64
	TPMLimit  *int64
	Blocked   bool
}

// Request is one request the double received and what it answered.
type Request = doubletest.Request

// Server is a LiteLLM proxy double on a loopback httptest server.
type Server struct {
	*httptest.Server
	masterKey string
	mux       *http.ServeMux
	rec       doubletest.Recorder

	mu      sync.Mutex
	keys    []*Key // in creation order
	deleted []Key
	teams   map[string]*Team
}

// New starts a LiteLLM double that accepts masterKey as the bearer token;
// it is closed when the test ends.
func New(t testing.TB, masterKey string) *Server {
	t.Helper()
	s := &Server{masterKey: masterKey, mux: http.NewServeMux(), teams: map[string]*Team{}}
	s.mux.HandleFunc("POST /key/generate", s.generateKey)
	s.mux.HandleFunc("GET /key/info", s.keyInfo)
	s.mux.HandleFunc("POST /key/update", s.updateKey)
	s.mux.HandleFunc("POST /key/block", s.blockKey(true))
	s.mux.HandleFunc("POST /key/unblock", s.blockKey(false))
	s.mux.HandleFunc("POST /key/delete", s.deleteKeys)
	s.mux.HandleFunc("GET /key/list", s.listKeys)
	s.mux.HandleFunc("GET /team/info", s.teamInfo)
	s.mux.HandleFunc("POST /team/update", s.updateTeam)
	s.mux.HandleFunc("POST /team/block", s.blockTeam(true))
	s.mux.HandleFunc("POST /team/unblock", s.blockTeam(false))
	s.Server = s.rec.Start(t, http.HandlerFunc(s.serve))
	return s
}

// TokenHash is the key's id as LiteLLM stores it: the sha256 hex of the key.
func TokenHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// AddKey stores a key, generating its sk-… value when k.Key is empty, and
// returns it with its Token.
func (s *Server) AddKey(k Key) Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addKey(k)
}

func (s *Server) addKey(k Key) Key {
	if k.Key == "" {
		k.Key = newKeyValue()
	}
	k.Token = TokenHash(k.Key)
	k.Metadata = cloneMap(k.Metadata)
	stored := k
	s.keys = append(s.keys, &stored)
	return k
}

// AddTeam stores a team.
func (s *Server) AddTeam(t Team) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Metadata = cloneMap(t.Metadata)
	s.teams[t.TeamID] = &t
}

// Keys returns the keys that exist, in creation order.
func (s *Server) Keys() []Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Key, len(s.keys))
	for i, k := range s.keys {
		out[i] = copyKey(*k)
	}
	return out
}

// ValidKeys returns the keys that would be accepted: not blocked, not
// deleted.
func (s *Server) ValidKeys() []Key {
	var valid []Key
	for _, k := range s.Keys() {
		if !k.IsBlocked() {
			valid = append(valid, k)
		}
	}
	return valid
}

// DeletedKeys returns the keys deleted through /key/delete, in order.
func (s *Server) DeletedKeys() []Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deleted)
}

// Key returns the key with the given value or token.
func (s *Server) Key(keyOrToken string) (Key, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.findKey(keyOrToken); k != nil {
		return copyKey(*k), true
	}
	return Key{}, false
}

// Team returns the team with the given id.
func (s *Server) Team(id string) (Team, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.teams[id]
	if !ok {
		return Team{}, false
	}
	out := *t
	out.Metadata = cloneMap(t.Metadata)
	return out, true
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request { return s.rec.Requests() }

// FailNext makes the next n requests to path (such as "/key/update") fail
// with status and LiteLLM's error body, before they change anything.
func (s *Server) FailNext(path string, status, n int) { s.rec.FailNext(path, status, n) }

// HangNext makes the next n requests to path hang until the client gives
// up, as a proxy that stopped answering does.
func (s *Server) HangNext(path string, n int) { s.rec.HangNext(path, n) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer "+s.masterKey {
		writeProxyError(w, http.StatusUnauthorized, "auth_error", "None",
			"Authentication Error, Invalid proxy server token passed. Received API Key = "+redact(r.Header.Get("Authorization"))+", Key Hash (Token) = … Unable to find token in cache or `LiteLLM_VerificationTokenTable`")
		return
	}
	if s.rec.Inject(w, r, writeFault, r.URL.Path) {
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		writeDetail(w, http.StatusNotFound, "Not Found")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// writeFault answers an injected failure as a ProxyException.
func writeFault(w http.ResponseWriter, f doubletest.Fault) {
	writeProxyError(w, f.Status, "internal_server_error", "None", fmt.Sprintf("injected failure (%d)", f.Status))
}

// redact shortens a credential for an error message, as LiteLLM does.
func redact(authorization string) string {
	v := strings.TrimPrefix(authorization, "Bearer ")
	if len(v) <= 6 {
		return "***"
	}
	return v[:3] + "****" + v[len(v)-3:]
}

// writeProxyError writes a ProxyException as the proxy renders it.
func writeProxyError(w http.ResponseWriter, status int, typ, param, msg string) {
	doubletest.WriteJSON(w, status, map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": param, "code": strconv.Itoa(status),
	}})
}

// writeDetail writes a FastAPI HTTPException, which some team endpoints
// raise without converting it to a ProxyException.
func writeDetail(w http.ResponseWriter, status int, detail any) {
	doubletest.WriteJSON(w, status, map[string]any{"detail": detail})
}

// decodeBody decodes a JSON body into a map, answering 422 as FastAPI
// does when it is not an object or lacks a required field.
func decodeBody(w http.ResponseWriter, r *http.Request, required string) (map[string]any, bool) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body == nil {
		writeDetail(w, http.StatusUnprocessableEntity, []map[string]any{{"type": "model_attributes_type", "loc": []string{"body"}, "msg": "Input should be a valid dictionary or object to extract fields from"}})
		return nil, false
	}
	if v, ok := body[required].(string); required != "" && (!ok || v == "") {
		writeDetail(w, http.StatusUnprocessableEntity, []map[string]any{{"type": "missing", "loc": []string{"body", required}, "msg": "Field required"}})
		return nil, false
	}
	return body, true
}

// hashIfNeeded is LiteLLM's _hash_token_if_needed: keys (sk-…) are hashed,
// anything else is taken as a token already.
func hashIfNeeded(keyOrToken string) string {
	if strings.HasPrefix(keyOrToken, "sk-") {
		return TokenHash(keyOrToken)
	}
	return keyOrToken
}

func (s *Server) findKey(keyOrToken string) *Key {
	token := hashIfNeeded(keyOrToken)
	for _, k := range s.keys {
		if k.Token == token {
			return k
		}
	}
	return nil
}

// keyJSON is a key as /key/info and /key/update show it; withToken adds
// the hash, as /key/block and /key/list do.
func keyJSON(k *Key, withToken bool) map[string]any {
	out := map[string]any{
		"key_name":  keyName(k.Key),
		"key_alias": nullIfEmpty(k.KeyAlias),
		"team_id":   nullIfEmpty(k.TeamID),
		"user_id":   nullIfEmpty(k.UserID),
		"models":    orEmpty(k.Models),
		"metadata":  orEmptyMap(k.Metadata),
		"rpm_limit": k.RPMLimit,
		"tpm_limit": k.TPMLimit,
		"blocked":   k.Blocked,
		"spend":     0.0,
		"expires":   nil,
	}
	if withToken {
		out["token"] = k.Token
	}
	return out
}

// keyName is the abbreviated key LiteLLM keeps for display.
func keyName(key string) string {
	if len(key) < 4 {
		return key
	}
	return "sk-..." + key[len(key)-4:]
}

func (s *Server) generateKey(w http.ResponseWriter, r *http.Request) {
	body, ok := decodeBody(w, r, "")
	if !ok {
		return
	}
	var req struct {
		Key      string         `json:"key"`
		KeyAlias string         `json:"key_alias"`
		TeamID   string         `json:"team_id"`
		UserID   string         `json:"user_id"`
		Models   []string       `json:"models"`
		Metadata map[string]any `json:"metadata"`
		RPMLimit *int64         `json:"rpm_limit"`
		TPMLimit *int64         `json:"tpm_limit"`
	}
	if !remarshal(w, body, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.KeyAlias != "" && s.aliasTaken(req.KeyAlias, "") {
		writeAliasTaken(w, req.KeyAlias)
		return
	}
	k := s.addKey(Key{Key: req.Key, KeyAlias: req.KeyAlias, TeamID: req.TeamID, UserID: req.UserID,
		Models: req.Models, Metadata: req.Metadata, RPMLimit: req.RPMLimit, TPMLimit: req.TPMLimit})
	out := keyJSON(&k, true)
	out["key"] = k.Key
	out["token_id"] = k.Token
	doubletest.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) aliasTaken(alias, exceptToken string) bool {
	for _, k := range s.keys {
		if k.KeyAlias == alias && k.Token != exceptToken {
			return true
		}
	}
	return false
}

// writeAliasTaken answers a key alias another key has.
func writeAliasTaken(w http.ResponseWriter, alias string) {
	writeProxyError(w, http.StatusBadRequest, "bad_request_error", "key_alias",
		fmt.Sprintf("Key with alias '%s' already exists. Unique key aliases across all keys are required.", alias))
}

func (s *Server) keyInfo(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.findKey(key)
	if key == "" || k == nil {
		writeProxyError(w, http.StatusNotFound, "not_found_error", "key", "Key not found in database")
		return
	}
	doubletest.WriteJSON(w, http.StatusOK, map[string]any{"key": key, "info": keyJSON(k, false)})
}

func (s *Server) updateKey(w http.ResponseWriter, r *http.Request) {
	body, ok := decodeBody(w, r, "key")
	if !ok {
		return
	}
	key := body["key"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.findKey(key)
	if k == nil {
		// LiteLLM's /key/update words a missing key this way.
		writeProxyError(w, http.StatusNotFound, "auth_error", "None", "{'error': 'Team not found, passed team_id=None'}")
		return
	}
	if alias, ok := body["key_alias"].(string); ok && s.aliasTaken(alias, k.Token) {
		writeAliasTaken(w, alias)
		return
	}
	var req struct {
		KeyAlias *string        `json:"key_alias"`
		TeamID   *string        `json:"team_id"`
		UserID   *string        `json:"user_id"`
		Models   []string       `json:"models"`
		Metadata map[string]any `json:"metadata"`
		RPMLimit *int64         `json:"rpm_limit"`
		TPMLimit *int64         `json:"tpm_limit"`
		Blocked  *bool          `json:"blocked"`
	}
	if !remarshal(w, body, &req) {
		return
	}
	// Fields sent are set, null included; fields left out stay as they are.
	set(body, "key_alias", &k.KeyAlias, deref(req.KeyAlias))
	set(body, "team_id", &k.TeamID, deref(req.TeamID))
	set(body, "user_id", &k.UserID, deref(req.UserID))
	set(body, "models", &k.Models, req.Models)
	set(body, "metadata", &k.Metadata, cloneMap(req.Metadata)) // replaced as a whole
	set(body, "rpm_limit", &k.RPMLimit, req.RPMLimit)
	set(body, "tpm_limit", &k.TPMLimit, req.TPMLimit)
	set(body, "blocked", &k.Blocked, req.Blocked)
	out := keyJSON(k, false)
	out["key"] = key
	doubletest.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) blockKey(blocked bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := decodeBody(w, r, "key")
		if !ok {
			return
		}
		key := body["key"].(string)
		s.mu.Lock()
		defer s.mu.Unlock()
		k := s.findKey(key)
		if k == nil {
			writeProxyError(w, http.StatusNotFound, "bad_request_error", "key", fmt.Sprintf("Key %s not found", key))
			return
		}
		k.Blocked = &blocked
		doubletest.WriteJSON(w, http.StatusOK, keyJSON(k, true))
	}
}

func (s *Server) deleteKeys(w http.ResponseWriter, r *http.Request) {
	body, ok := decodeBody(w, r, "")
	if !ok {
		return
	}
	var req struct {
		Keys       []string `json:"keys"`
		KeyAliases []string `json:"key_aliases"`
	}
	if !remarshal(w, body, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone func(*Key) bool
	deleted := req.Keys
	switch {
	case len(req.Keys) > 0:
		tokens := make([]string, len(req.Keys))
		for i, k := range req.Keys {
			tokens[i] = hashIfNeeded(k)
		}
		gone = func(k *Key) bool { return slices.Contains(tokens, k.Token) }
	case len(req.KeyAliases) > 0:
		deleted = req.KeyAliases
		gone = func(k *Key) bool { return slices.Contains(req.KeyAliases, k.KeyAlias) }
	default:
		writeProxyError(w, http.StatusInternalServerError, "internal_server_error", "None", "Internal Server Error, Invalid request type")
		return
	}
	// As for a proxy admin, keys that do not exist are skipped, not refused.
	s.keys = slices.DeleteFunc(s.keys, func(k *Key) bool {
		if gone(k) {
			s.deleted = append(s.deleted, copyKey(*k))
			return true
		}
		return false
	})
	doubletest.WriteJSON(w, http.StatusOK, map[string]any{"deleted_keys": deleted})
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, size := 1, 10
	if v := q.Get("page"); v != "" {
		page, _ = strconv.Atoi(v)
	}
	if v := q.Get("size"); v != "" {
		size, _ = strconv.Atoi(v)
	}
	if page < 1 || size < 1 || size > 100 {
		writeDetail(w, http.StatusUnprocessableEntity, []map[string]any{{"type": "value_error", "loc": []string{"query", "page/size"}, "msg": "page must be >= 1 and size between 1 and 100"}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []*Key
	// Newest first, as LiteLLM orders by created_at desc.
	for _, k := range slices.Backward(s.keys) {
		if (q.Get("key_alias") == "" || k.KeyAlias == q.Get("key_alias")) &&
			(q.Get("team_id") == "" || k.TeamID == q.Get("team_id")) &&
			(q.Get("user_id") == "" || k.UserID == q.Get("user_id")) &&
			(q.Get("key_hash") == "" || k.Token == q.Get("key_hash")) {
			matched = append(matched, k)
		}
	}
	keys := []any{}
	for i := (page - 1) * size; i < len(matched) && i < page*size; i++ {
		if q.Get("return_full_object") == "true" {
			keys = append(keys, keyJSON(matched[i], true))
		} else {
			keys = append(keys, matched[i].Token)
		}
	}
	doubletest.WriteJSON(w, http.StatusOK, map[string]any{
		"keys": keys, "total_count": len(matched), "current_page": page, "total_pages": (len(matched) + size - 1) / size,
	})
}

func teamJSON(t *Team) map[string]any {
	return map[string]any{
		"team_id":    t.TeamID,
		"team_alias": nullIfEmpty(t.TeamAlias),
		"metadata":   orEmptyMap(t.Metadata),
		"rpm_limit":  t.RPMLimit,
		"tpm_limit":  t.TPMLimit,
		"blocked":    t.Blocked,
		"models":     []string{},
		"spend":      0.0,
		"max_budget": nil,
	}
}

func (s *Server) teamInfo(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("team_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.teams[id]
	if !ok {
		writeProxyError(w, http.StatusNotFound, "auth_error", "None", fmt.Sprintf("{'message': 'Team not found, passed team id: %s.'}", id))
		return
	}
	keys := []any{}
	for _, k := range s.keys {
		if k.TeamID == id {
			keys = append(keys, keyJSON(k, false))
		}
	}
	doubletest.WriteJSON(w, http.StatusOK, map[string]any{"team_id": id, "team_info": teamJSON(t), "keys": keys, "team_memberships": []any{}})
}

// withTeam runs fn under s.mu with the team the body's team_id names,
// answering 404 as FastAPI does when there is none.
func (s *Server) withTeam(w http.ResponseWriter, r *http.Request, fn func(body map[string]any, t *Team)) {
	body, ok := decodeBody(w, r, "team_id")
	if !ok {
		return
	}
	id := body["team_id"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.teams[id]
	if !ok {
		writeDetail(w, http.StatusNotFound, map[string]any{"error": "Team not found, passed team_id=" + id})
		return
	}
	fn(body, t)
}

func (s *Server) updateTeam(w http.ResponseWriter, r *http.Request) {
	s.withTeam(w, r, func(body map[string]any, t *Team) {
		var req struct {
			TeamAlias *string        `json:"team_alias"`
			Metadata  map[string]any `json:"metadata"`
			RPMLimit  *int64         `json:"rpm_limit"`
			TPMLimit  *int64         `json:"tpm_limit"`
			Blocked   *bool          `json:"blocked"`
		}
		if !remarshal(w, body, &req) {
			return
		}
		set(body, "team_alias", &t.TeamAlias, deref(req.TeamAlias))
		set(body, "metadata", &t.Metadata, cloneMap(req.Metadata))
		set(body, "rpm_limit", &t.RPMLimit, req.RPMLimit)
		set(body, "tpm_limit", &t.TPMLimit, req.TPMLimit)
		if req.Blocked != nil {
			t.Blocked = *req.Blocked
		}
		doubletest.WriteJSON(w, http.StatusOK, map[string]any{"team_id": t.TeamID, "data": teamJSON(t)})
	})
}

func (s *Server) blockTeam(blocked bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.withTeam(w, r, func(_ map[string]any, t *Team) {
			t.Blocked = blocked
			doubletest.WriteJSON(w, http.StatusOK, teamJSON(t))
		})
	}
}

// remarshal decodes a body map into a typed request, answering 422 when a
// field has the wrong type.
func remarshal(w http.ResponseWriter, body map[string]any, into any) bool {
	data, _ := json.Marshal(body)
	if err := json.Unmarshal(data, into); err != nil {
		writeDetail(w, http.StatusUnprocessableEntity, []map[string]any{{"type": "value_error", "loc": []string{"body"}, "msg": err.Error()}})
		return false
	}
	return true
}

func newKeyValue() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "sk-" + base64.RawURLEncoding.EncodeToString(b)
}

func copyKey(k Key) Key {
	k.Models = slices.Clone(k.Models)
	k.Metadata = cloneMap(k.Metadata)
	return k
}

// cloneMap copies a JSON object deeply enough that callers cannot change
// the stored one.
func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	data, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return out
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orEmptyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return maps.Clone(m)
}

// set assigns v to *field when the body has name, null included; fields
// an update leaves out stay as they are.
func set[T any](body map[string]any, name string, field *T, v T) {
	if _, ok := body[name]; ok {
		*field = v
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
