package vaulttest

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// lease is a lease a secrets engine handed out, such as dynamic database
// credentials ("database/creds/app/<id>").
type lease struct {
	id     string
	issued time.Time
	ttl    time.Duration
}

func (s *Server) routeLeases() {
	s.mux.HandleFunc("POST /v1/sys/leases/revoke-prefix/{prefix...}", s.leaseRevokePrefix)
	s.mux.HandleFunc("POST /v1/sys/leases/lookup", s.leaseLookup)
	s.mux.HandleFunc("LIST /v1/sys/leases/lookup/{prefix...}", s.leaseList)
}

// AddLease records a lease as if a secrets engine had issued it, so tests
// can revoke it; id is the full lease id, like "database/creds/app/x1".
func (s *Server) AddLease(id string, ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leases[id] = &lease{id: id, issued: time.Now().UTC(), ttl: ttl}
}

// Leases returns the ids of the live leases, sorted.
func (s *Server) Leases() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.leases))
}

// leaseRevokePrefix revokes every lease under the prefix, taken as a path
// ("database/creds/app" means "database/creds/app/…"), or the one lease it
// names exactly, as Vault does; a prefix with no leases is not an error.
func (s *Server) leaseRevokePrefix(w http.ResponseWriter, r *http.Request) {
	prefix := r.PathValue("prefix")
	s.mu.Lock()
	if _, exact := s.leases[prefix]; exact {
		delete(s.leases, prefix)
	} else {
		if !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		for id := range s.leases {
			if strings.HasPrefix(id, prefix) {
				delete(s.leases, id)
			}
		}
	}
	s.mu.Unlock()
	noContent(w)
}

func (s *Server) leaseLookup(w http.ResponseWriter, r *http.Request) {
	id, ok := requiredString(w, r, "lease_id", "lease id")
	if !ok {
		return
	}
	s.mu.Lock()
	l := s.leases[id]
	s.mu.Unlock()
	if l == nil {
		writeErrors(w, http.StatusBadRequest, "invalid lease")
		return
	}
	remaining := time.Until(l.issued.Add(l.ttl))
	writeData(w, map[string]any{
		"id": l.id, "issue_time": l.issued.Format(time.RFC3339Nano),
		"expire_time": l.issued.Add(l.ttl).Format(time.RFC3339Nano), "last_renewal": nil,
		"renewable": true, "ttl": int(remaining.Seconds()),
	})
}

// leaseList lists one level under a prefix, directories ending in "/".
func (s *Server) leaseList(w http.ResponseWriter, r *http.Request) {
	prefix := r.PathValue("prefix")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	s.mu.Lock()
	seen := map[string]bool{}
	for id := range s.leases {
		if rest, ok := strings.CutPrefix(id, prefix); ok {
			if dir, _, isDir := strings.Cut(rest, "/"); isDir {
				rest = dir + "/"
			}
			seen[rest] = true
		}
	}
	s.mu.Unlock()
	if len(seen) == 0 {
		writeErrors(w, http.StatusNotFound, "")
		return
	}
	writeData(w, map[string]any{"keys": slices.Sorted(maps.Keys(seen))})
}
