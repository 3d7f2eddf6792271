package vaulttest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// appRole is an AppRole role and its secret-ids.
type appRole struct {
	name      string
	roleID    string
	policies  []string
	secretIDs map[string]*secretID // by secret-id
}

type secretID struct {
	id       string
	accessor string
	metadata map[string]string
	created  time.Time
}

func (s *Server) routeAppRole() {
	const role = "/v1/auth/approle/role/{role}"
	s.mux.HandleFunc("POST "+role, s.appRoleWrite)
	s.mux.HandleFunc("GET "+role+"/role-id", s.appRoleRoleID)
	s.mux.HandleFunc("POST "+role+"/secret-id", s.appRoleSecretID)
	s.mux.HandleFunc("LIST "+role+"/secret-id", s.appRoleListSecretIDs)
	s.mux.HandleFunc("POST "+role+"/secret-id/lookup", s.appRoleLookupSecretID)
	s.mux.HandleFunc("POST "+role+"/secret-id-accessor/lookup", s.appRoleLookupAccessor)
	s.mux.HandleFunc("POST "+role+"/secret-id-accessor/destroy", s.appRoleDestroyAccessor)
	s.mux.HandleFunc("DELETE "+role+"/secret-id-accessor/destroy", s.appRoleDestroyAccessor)
	s.mux.HandleFunc("POST /v1/auth/approle/login", s.appRoleLogin)
}

// CreateAppRole creates an AppRole role, as POST
// /v1/auth/approle/role/:role_name does, and returns its role_id.
func (s *Server) CreateAppRole(name string, policies ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar := s.appRole(name, true)
	if len(policies) > 0 {
		ar.policies = policies
	}
	return ar.roleID
}

// SecretIDAccessors returns the accessors of a role's live secret-ids,
// sorted.
func (s *Server) SecretIDAccessors(role string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar := s.appRole(role, false)
	if ar == nil {
		return nil
	}
	var out []string
	for _, sid := range ar.secretIDs {
		out = append(out, sid.accessor)
	}
	slices.Sort(out)
	return out
}

// appRole returns the named role (names are case-insensitive), creating
// it when create is set. The caller holds s.mu.
func (s *Server) appRole(name string, create bool) *appRole {
	key := strings.ToLower(name)
	ar := s.roles[key]
	if ar == nil && create {
		ar = &appRole{name: key, roleID: newID(), policies: []string{"default"}, secretIDs: map[string]*secretID{}}
		s.roles[key] = ar
	}
	return ar
}

func (ar *appRole) byAccessor(accessor string) *secretID {
	for _, sid := range ar.secretIDs {
		if sid.accessor == accessor {
			return sid
		}
	}
	return nil
}

func (sid *secretID) data() map[string]any {
	return map[string]any{
		"secret_id_accessor": sid.accessor, "secret_id_num_uses": 0, "secret_id_ttl": 0,
		"creation_time": sid.created.Format(time.RFC3339Nano), "expiration_time": "0001-01-01T00:00:00Z",
		"last_updated_time": sid.created.Format(time.RFC3339Nano), "metadata": maps.Clone(sid.metadata),
		"cidr_list": []string{}, "token_bound_cidrs": []string{},
	}
}

func (s *Server) appRoleWrite(w http.ResponseWriter, r *http.Request) {
	body, ok := bodyOrError(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ar := s.appRole(r.PathValue("role"), true)
	if raw, ok := body["token_policies"].([]any); ok {
		ar.policies = nil
		for _, p := range raw {
			if p, ok := p.(string); ok {
				ar.policies = append(ar.policies, p)
			}
		}
	}
	noContent(w)
}

// withRole runs fn with the request's role under s.mu, or answers
// missing with Vault's error for the path when there is no such role.
func (s *Server) withRole(w http.ResponseWriter, r *http.Request, missing int, fn func(*appRole)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar := s.appRole(r.PathValue("role"), false)
	if ar == nil {
		writeErrors(w, missing, fmt.Sprintf("role %q does not exist", r.PathValue("role")))
		return
	}
	fn(ar)
}

func (s *Server) appRoleRoleID(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar := s.appRole(r.PathValue("role"), false)
	if ar == nil {
		writeErrors(w, http.StatusNotFound, "")
		return
	}
	writeData(w, map[string]any{"role_id": ar.roleID})
}

func (s *Server) appRoleSecretID(w http.ResponseWriter, r *http.Request) {
	body, ok := bodyOrError(w, r)
	if !ok {
		return
	}
	metadata, err := parseMetadata(str(body, "metadata"))
	if err != nil {
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("failed to parse metadata: %v", err))
		return
	}
	s.withRole(w, r, http.StatusNotFound, func(ar *appRole) {
		sid := &secretID{id: newID(), accessor: newID(), metadata: metadata, created: time.Now().UTC()}
		ar.secretIDs[sid.id] = sid
		writeData(w, map[string]any{
			"secret_id": sid.id, "secret_id_accessor": sid.accessor, "secret_id_ttl": 0, "secret_id_num_uses": 0,
		})
	})
}

// parseMetadata reads a secret-id's metadata: a JSON object of strings,
// or "key=value" pairs separated by commas.
func parseMetadata(raw string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(raw) == "" {
		return out, nil
	}
	if err := json.Unmarshal([]byte(raw), &out); err == nil {
		return out, nil
	}
	for _, pair := range strings.Split(raw, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid key/value pair %q: format must be key=value", pair)
		}
		out[k] = v
	}
	return out, nil
}

func (s *Server) appRoleListSecretIDs(w http.ResponseWriter, r *http.Request) {
	s.withRole(w, r, http.StatusBadRequest, func(ar *appRole) {
		if len(ar.secretIDs) == 0 {
			writeErrors(w, http.StatusNotFound, "")
			return
		}
		var keys []string
		for _, sid := range ar.secretIDs {
			keys = append(keys, sid.accessor)
		}
		slices.Sort(keys)
		writeData(w, map[string]any{"keys": keys})
	})
}

// appRoleLookupSecretID answers 204 for an unknown secret-id, as Vault does.
func (s *Server) appRoleLookupSecretID(w http.ResponseWriter, r *http.Request) {
	id, ok := requiredString(w, r, "secret_id", "secret_id")
	if !ok {
		return
	}
	s.withRole(w, r, http.StatusInternalServerError, func(ar *appRole) {
		sid := ar.secretIDs[id]
		if sid == nil {
			noContent(w)
			return
		}
		writeData(w, sid.data())
	})
}

// withAccessor runs fn under s.mu with the request's role and the
// secret-id its secret_id_accessor names, answering unknown when the role
// has no such secret-id.
func (s *Server) withAccessor(w http.ResponseWriter, r *http.Request, unknown int, fn func(*appRole, *secretID)) {
	accessor, ok := requiredString(w, r, "secret_id_accessor", "secret_id_accessor")
	if !ok {
		return
	}
	s.withRole(w, r, http.StatusInternalServerError, func(ar *appRole) {
		sid := ar.byAccessor(accessor)
		if sid == nil {
			writeErrors(w, unknown, fmt.Sprintf("failed to find accessor entry for secret_id_accessor: %q", accessor))
			return
		}
		fn(ar, sid)
	})
}

func (s *Server) appRoleLookupAccessor(w http.ResponseWriter, r *http.Request) {
	s.withAccessor(w, r, http.StatusNotFound, func(_ *appRole, sid *secretID) {
		writeData(w, sid.data())
	})
}

// appRoleDestroyAccessor answers an unknown accessor with 500, as Vault
// does; callers that must be idempotent look the accessor up first.
func (s *Server) appRoleDestroyAccessor(w http.ResponseWriter, r *http.Request) {
	s.withAccessor(w, r, http.StatusInternalServerError, func(ar *appRole, sid *secretID) {
		delete(ar.secretIDs, sid.id)
		noContent(w)
	})
}

func (s *Server) appRoleLogin(w http.ResponseWriter, r *http.Request) {
	body, ok := bodyOrError(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ar := range s.roles {
		if ar.roleID != str(body, "role_id") {
			continue
		}
		sid := ar.secretIDs[str(body, "secret_id")]
		if sid == nil {
			break
		}
		meta := maps.Clone(sid.metadata)
		meta["role_name"] = ar.name
		writeAuth(w, s.issueToken("", "auth/approle/login", "approle", ar.policies, meta, 2764800).auth())
		return
	}
	writeErrors(w, http.StatusBadRequest, "invalid role or secret ID")
}
