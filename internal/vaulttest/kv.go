package vaulttest

import (
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// kvSecret is a KV v2 secret: its versions (version n is versions[n-1])
// and its metadata.
type kvSecret struct {
	versions       []kvVersion
	oldest         int // versions before it were removed by max_versions
	maxVersions    int
	casRequired    bool
	customMetadata map[string]string
	created        time.Time
	updated        time.Time
}

type kvVersion struct {
	data    map[string]any
	created time.Time
}

// kvDefaultMaxVersions is how many versions Vault keeps when neither the
// mount nor the secret sets max_versions.
const kvDefaultMaxVersions = 10

// Vault's check-and-set errors, answered with 400.
const (
	errCASMismatch = "check-and-set parameter did not match the current version"
	errCASRequired = "check-and-set parameter required for this call"
)

func (s *Server) routeKV() {
	s.mux.HandleFunc("GET /v1/{mount}/data/{path...}", s.kvRead)
	s.mux.HandleFunc("POST /v1/{mount}/data/{path...}", s.kvWrite)
	s.mux.HandleFunc("GET /v1/{mount}/metadata/{path...}", s.kvReadMetadata)
	s.mux.HandleFunc("POST /v1/{mount}/metadata/{path...}", s.kvWriteMetadata)
	s.mux.HandleFunc("DELETE /v1/{mount}/metadata/{path...}", s.kvDeleteMetadata)
}

// Put stores a new version of a KV v2 secret at mount/path, as a write
// without check-and-set does.
func (s *Server) Put(mount, path string, data map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kvMounts[mount] = true
	s.kvSecret(mount+"/"+path, true).put(data)
}

// Versions returns the data of every version of the KV v2 secret at
// mount/path, oldest first; versions max_versions removed are nil.
func (s *Server) Versions(mount, path string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.kv[mount+"/"+path]
	if sec == nil {
		return nil
	}
	out := make([]map[string]any, len(sec.versions))
	for i, v := range sec.versions {
		out[i] = maps.Clone(v.data)
	}
	return out
}

// kvSecret returns the secret at key, creating it when create is set. The
// caller holds s.mu.
func (s *Server) kvSecret(key string, create bool) *kvSecret {
	sec := s.kv[key]
	if sec == nil && create {
		now := time.Now().UTC()
		sec = &kvSecret{oldest: 1, created: now, updated: now}
		s.kv[key] = sec
	}
	return sec
}

func (sec *kvSecret) current() int { return len(sec.versions) }

func (sec *kvSecret) put(data map[string]any) {
	now := time.Now().UTC()
	sec.versions = append(sec.versions, kvVersion{data: maps.Clone(data), created: now})
	sec.updated = now
	limit := sec.maxVersions
	if limit == 0 {
		limit = kvDefaultMaxVersions
	}
	for sec.current()-sec.oldest+1 > limit {
		sec.versions[sec.oldest-1].data = nil
		sec.oldest++
	}
}

// versionMetadata is the metadata block of a version, as reads and writes
// answer it.
func (sec *kvSecret) versionMetadata(n int) map[string]any {
	return map[string]any{
		"created_time": sec.versions[n-1].created.Format(time.RFC3339Nano), "custom_metadata": sec.custom(),
		"deletion_time": "", "destroyed": false, "version": n,
	}
}

// custom is the secret's custom_metadata as Vault answers it: null when
// never set.
func (sec *kvSecret) custom() any {
	if sec.customMetadata == nil {
		return nil
	}
	return maps.Clone(sec.customMetadata)
}

// kvKey is the secret a request names, "mount/path". When the mount is
// not a KV mount it answers 404 as Vault does and returns false.
func (s *Server) kvKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	mount := r.PathValue("mount")
	s.mu.Lock()
	ok := s.kvMounts[mount]
	s.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", strings.TrimPrefix(r.URL.Path, "/v1/")))
	}
	return mount + "/" + r.PathValue("path"), ok
}

// withSecret runs fn under s.mu with the secret the request names,
// answering 404 as Vault does when there is none.
func (s *Server) withSecret(w http.ResponseWriter, r *http.Request, fn func(*kvSecret)) {
	key, ok := s.kvKey(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.kvSecret(key, false)
	if sec == nil {
		writeErrors(w, http.StatusNotFound, "")
		return
	}
	fn(sec)
}

func (s *Server) kvRead(w http.ResponseWriter, r *http.Request) {
	s.withSecret(w, r, func(sec *kvSecret) {
		n := sec.current()
		if n == 0 {
			writeErrors(w, http.StatusNotFound, "")
			return
		}
		if q := r.URL.Query().Get("version"); q != "" && q != "0" {
			v, err := strconv.Atoi(q)
			if err != nil {
				writeErrors(w, http.StatusBadRequest, fmt.Sprintf("error converting input %s for field %q: strconv.ParseInt: parsing %q: invalid syntax", q, "version", q))
				return
			}
			n = v
		}
		if n < sec.oldest || n > sec.current() {
			writeErrors(w, http.StatusNotFound, "")
			return
		}
		writeData(w, map[string]any{"data": maps.Clone(sec.versions[n-1].data), "metadata": sec.versionMetadata(n)})
	})
}

// kvWriteRequest returns the secret a write names, "mount/path", and the
// write's body, answering Vault's error when either is wrong.
func (s *Server) kvWriteRequest(w http.ResponseWriter, r *http.Request) (string, map[string]any, bool) {
	key, ok := s.kvKey(w, r)
	if !ok {
		return "", nil, false
	}
	body, ok := bodyOrError(w, r)
	return key, body, ok
}

func (s *Server) kvWrite(w http.ResponseWriter, r *http.Request) {
	key, body, ok := s.kvWriteRequest(w, r)
	if !ok {
		return
	}
	data, ok := body["data"].(map[string]any)
	if !ok {
		writeErrors(w, http.StatusBadRequest, "no data provided")
		return
	}
	options, _ := body["options"].(map[string]any)
	cas, hasCAS := num(options, "cas")
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.kvSecret(key, false)
	switch {
	case sec != nil && sec.casRequired && !hasCAS:
		writeErrors(w, http.StatusBadRequest, errCASRequired)
		return
	case hasCAS && (sec == nil && cas != 0 || sec != nil && cas != sec.current()):
		writeErrors(w, http.StatusBadRequest, errCASMismatch)
		return
	}
	sec = s.kvSecret(key, true)
	sec.put(data)
	writeData(w, sec.versionMetadata(sec.current()))
}

func (s *Server) kvReadMetadata(w http.ResponseWriter, r *http.Request) {
	s.withSecret(w, r, func(sec *kvSecret) {
		versions := map[string]any{}
		for n := sec.oldest; n <= sec.current(); n++ {
			versions[strconv.Itoa(n)] = map[string]any{
				"created_time": sec.versions[n-1].created.Format(time.RFC3339Nano), "deletion_time": "", "destroyed": false,
			}
		}
		oldest := 0
		if sec.current() > 0 {
			oldest = sec.oldest
		}
		writeData(w, map[string]any{
			"cas_required": sec.casRequired, "created_time": sec.created.Format(time.RFC3339Nano),
			"current_version": sec.current(), "custom_metadata": sec.custom(), "delete_version_after": "0s",
			"max_versions": sec.maxVersions, "oldest_version": oldest,
			"updated_time": sec.updated.Format(time.RFC3339Nano), "versions": versions,
		})
	})
}

// Vault's limits on custom_metadata.
const (
	maxCustomMetadataKeys  = 64
	maxCustomMetadataKey   = 128
	maxCustomMetadataValue = 512
)

func (s *Server) kvWriteMetadata(w http.ResponseWriter, r *http.Request) {
	key, body, ok := s.kvWriteRequest(w, r)
	if !ok {
		return
	}
	var custom map[string]string
	if raw, ok := body["custom_metadata"].(map[string]any); ok {
		custom = map[string]string{}
		for k, v := range raw {
			value, isString := v.(string)
			if !isString || len(k) > maxCustomMetadataKey || len(value) > maxCustomMetadataValue {
				writeErrors(w, http.StatusBadRequest, fmt.Sprintf("custom_metadata validation failed: key %q or its value is not a string within Vault's limits (%d-byte keys, %d-byte values)", k, maxCustomMetadataKey, maxCustomMetadataValue))
				return
			}
			custom[k] = value
		}
		if len(custom) > maxCustomMetadataKeys {
			writeErrors(w, http.StatusBadRequest, fmt.Sprintf("custom_metadata validation failed: payload must contain at most %d keys, provided %d", maxCustomMetadataKeys, len(custom)))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.kvSecret(key, true)
	if n, ok := num(body, "max_versions"); ok {
		sec.maxVersions = n
	}
	if b, ok := body["cas_required"].(bool); ok {
		sec.casRequired = b
	}
	if custom != nil {
		sec.customMetadata = custom
	}
	sec.updated = time.Now().UTC()
	noContent(w)
}

func (s *Server) kvDeleteMetadata(w http.ResponseWriter, r *http.Request) {
	key, ok := s.kvKey(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.kv, key)
	noContent(w)
}
