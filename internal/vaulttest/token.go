package vaulttest

import (
	"crypto/rand"
	"net/http"
	"time"
)

// tokenEntry is a token of the token store.
type tokenEntry struct {
	id          string
	accessor    string
	policies    []string
	meta        map[string]string
	displayName string
	parent      string // the token that created it, "" for an orphan
	created     time.Time
	ttl         int // seconds, 0 for none
	path        string
}

func (s *Server) routeToken() {
	s.mux.HandleFunc("POST /v1/auth/token/create", s.tokenCreate)
	s.mux.HandleFunc("POST /v1/auth/token/lookup-accessor", s.tokenLookupAccessor)
	s.mux.HandleFunc("POST /v1/auth/token/revoke-accessor", s.tokenRevokeAccessor)
}

// CreateToken issues a token, as POST /v1/auth/token/create does for the
// root token, and returns it and its accessor.
func (s *Server) CreateToken(policies ...string) (token, accessor string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.issueToken("", "auth/token/create", "token", policies, nil, 0)
	return t.id, t.accessor
}

// TokenValid reports whether a token is known and not revoked.
func (s *Server) TokenValid(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[token] != nil
}

// issueToken adds a token. The caller holds s.mu.
func (s *Server) issueToken(parent, path, displayName string, policies []string, meta map[string]string, ttl int) *tokenEntry {
	if len(policies) == 0 {
		policies = []string{"default"}
	}
	t := &tokenEntry{
		id: "hvs." + randomString(24), accessor: randomString(24), policies: policies, meta: meta,
		displayName: displayName, parent: parent, created: time.Now().UTC(), ttl: ttl, path: path,
	}
	s.tokens[t.id] = t
	return t
}

func (t *tokenEntry) auth() map[string]any {
	return map[string]any{
		"client_token": t.id, "accessor": t.accessor, "policies": t.policies, "token_policies": t.policies,
		"metadata": t.meta, "lease_duration": t.ttl, "renewable": t.ttl > 0, "entity_id": "",
		"token_type": "service", "orphan": t.parent == "", "mfa_requirement": nil, "num_uses": 0,
	}
}

func (s *Server) tokenCreate(w http.ResponseWriter, r *http.Request) {
	body, ok := bodyOrError(w, r)
	if !ok {
		return
	}
	var policies []string
	if raw, ok := body["policies"].([]any); ok {
		for _, p := range raw {
			if p, ok := p.(string); ok {
				policies = append(policies, p)
			}
		}
	}
	meta := map[string]string{}
	if raw, ok := body["meta"].(map[string]any); ok {
		for k, v := range raw {
			meta[k], _ = v.(string)
		}
	}
	displayName := "token"
	if d := str(body, "display_name"); d != "" {
		displayName = "token-" + d
	}
	parent := s.caller(r).id
	if body["no_parent"] == true {
		parent = ""
	}
	ttl, _ := num(body, "ttl")
	s.mu.Lock()
	t := s.issueToken(parent, "auth/token/create", displayName, policies, meta, ttl)
	s.mu.Unlock()
	writeAuth(w, t.auth())
}

// byAccessor finds a live token by its accessor. The caller holds s.mu.
func (s *Server) byAccessor(accessor string) *tokenEntry {
	for _, t := range s.tokens {
		if t.accessor == accessor {
			return t
		}
	}
	return nil
}

// accessorRequest reads the accessor of a lookup-accessor or
// revoke-accessor request and finds its token, answering Vault's 400
// errors when the accessor is missing or unknown.
func (s *Server) accessorRequest(w http.ResponseWriter, r *http.Request) (*tokenEntry, bool) {
	accessor, ok := requiredString(w, r, "accessor", "accessor")
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	t := s.byAccessor(accessor)
	s.mu.Unlock()
	if t == nil {
		writeErrors(w, http.StatusBadRequest, "invalid accessor")
		return nil, false
	}
	return t, true
}

func (s *Server) tokenLookupAccessor(w http.ResponseWriter, r *http.Request) {
	t, ok := s.accessorRequest(w, r)
	if !ok {
		return
	}
	var expire any
	if t.ttl > 0 {
		expire = t.created.Add(time.Duration(t.ttl) * time.Second).Format(time.RFC3339Nano)
	}
	writeData(w, map[string]any{
		"accessor": t.accessor, "creation_time": t.created.Unix(), "creation_ttl": t.ttl,
		"display_name": t.displayName, "entity_id": "", "expire_time": expire, "explicit_max_ttl": 0,
		"id": "", "issue_time": t.created.Format(time.RFC3339Nano), "meta": t.meta, "num_uses": 0,
		"orphan": t.parent == "", "path": t.path, "policies": t.policies, "renewable": t.ttl > 0,
		"ttl": t.ttl, "type": "service",
	})
}

// tokenRevokeAccessor revokes the token and, as Vault does, its children.
func (s *Server) tokenRevokeAccessor(w http.ResponseWriter, r *http.Request) {
	t, ok := s.accessorRequest(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	s.revokeToken(t.id)
	s.mu.Unlock()
	noContent(w)
}

// revokeToken removes a token and its descendants. The caller holds s.mu.
func (s *Server) revokeToken(id string) {
	delete(s.tokens, id)
	for child, t := range s.tokens {
		if t.parent == id {
			s.revokeToken(child)
		}
	}
}

// randomString returns n random letters and digits, the alphabet of
// Vault's tokens and accessors.
func randomString(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
