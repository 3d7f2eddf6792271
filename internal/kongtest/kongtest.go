// Package kongtest is a test double of Kong Gateway's Admin API for
// plugins, following Kong's documented endpoints, entity shapes, schema
// validation, status codes and error bodies: plugins are listed (paged,
// with next), retrieved, created (POST), upserted (PUT), updated (PATCH)
// and deleted under /consumers/{username or id}, /routes/{name or id} and
// at /plugins/{id}. It validates the rate-limiting and request-termination
// schemas and tags, allows one plugin of a name per scope, checks Kong
// Enterprise's Kong-Admin-Token when given one, keeps everything in
// memory, records every request and can inject failures and hangs. It is
// the one place tests fake Kong.
package kongtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/aisoar/aisoar/internal/doubletest"
)

// Consumer is a Kong consumer.
type Consumer struct {
	ID       string
	Username string
}

// Route is a Kong route.
type Route struct {
	ID        string
	Name      string
	ServiceID string
}

// Plugin is a plugin as Kong stores it; an empty ConsumerID, RouteID or
// ServiceID means the plugin is not scoped to one.
type Plugin struct {
	ID         string
	Name       string
	ConsumerID string
	RouteID    string
	ServiceID  string
	Config     map[string]any
	Enabled    bool
	Tags       []string
	CreatedAt  int64
	UpdatedAt  int64
}

// Request is one request the double received and what it answered.
type Request = doubletest.Request

// Server is a Kong Admin API double on a loopback httptest server.
type Server struct {
	*httptest.Server
	adminToken string
	mux        *http.ServeMux
	rec        doubletest.Recorder

	mu        sync.Mutex
	consumers []*Consumer
	routes    []*Route
	plugins   []*Plugin // in creation order, which is the order Kong lists them in here
	clock     int64
	pageSize  int
}

// Option configures a Server.
type Option func(*Server)

// WithAdminToken makes the server require Kong Enterprise's
// Kong-Admin-Token header with this value, as RBAC does.
func WithAdminToken(token string) Option { return func(s *Server) { s.adminToken = token } }

// New starts a Kong Admin API double; it is closed when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{mux: http.NewServeMux(), clock: 1700000000, pageSize: 100}
	for _, opt := range opts {
		opt(s)
	}
	for _, prefix := range []string{"/consumers/{parent}", "/routes/{parent}", ""} {
		s.handle("GET "+prefix+"/plugins", s.listPlugins)
		s.handle("POST "+prefix+"/plugins", s.createPlugin)
		s.handle("GET "+prefix+"/plugins/{id}", s.getPlugin)
		s.handle("PUT "+prefix+"/plugins/{id}", s.putPlugin)
		s.handle("PATCH "+prefix+"/plugins/{id}", s.patchPlugin)
		s.handle("DELETE "+prefix+"/plugins/{id}", s.deletePlugin)
	}
	s.Server = s.rec.Start(t, http.HandlerFunc(s.serve))
	return s
}

// SetPageSize sets how many plugins a list answers with when the request
// gives no size; Kong's default is 100.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// AddConsumer creates a consumer.
func (s *Server) AddConsumer(username string) Consumer {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &Consumer{ID: uuid.NewString(), Username: username}
	s.consumers = append(s.consumers, c)
	return *c
}

// AddRoute creates a route, with a service of its own.
func (s *Server) AddRoute(name string) Route {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &Route{ID: uuid.NewString(), Name: name, ServiceID: uuid.NewString()}
	s.routes = append(s.routes, r)
	return *r
}

// AddPlugin stores a plugin as given, without validation, with an id
// when it has none and the schema's defaults for its config.
func (s *Server) AddPlugin(p Plugin) Plugin {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.ID == "" {
		p.ID = uuid.NewString()
	}
	p.Config = withDefaults(p.Name, p.Config)
	p.CreatedAt, p.UpdatedAt = s.tick(), s.clock
	stored := p
	s.plugins = append(s.plugins, &stored)
	return copyPlugin(p)
}

// Plugins returns every plugin, in creation order.
func (s *Server) Plugins() []Plugin {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Plugin, len(s.plugins))
	for i, p := range s.plugins {
		out[i] = copyPlugin(*p)
	}
	return out
}

// Plugin returns the plugin with the id.
func (s *Server) Plugin(id string) (Plugin, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.findPlugin(id); p != nil {
		return copyPlugin(*p), true
	}
	return Plugin{}, false
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request { return s.rec.Requests() }

// FailNext makes the next n requests to path (such as
// "/consumers/acme/plugins") fail with status and Kong's error body,
// before they change anything.
func (s *Server) FailNext(path string, status, n int) { s.rec.FailNext(path, status, n) }

// HangNext makes the next n requests to path hang until the client gives
// up.
func (s *Server) HangNext(path string, n int) { s.rec.HangNext(path, n) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if s.adminToken != "" && r.Header.Get("Kong-Admin-Token") != s.adminToken {
		writeMessage(w, http.StatusUnauthorized, "Invalid credentials. Token or User credentials required")
		return
	}
	if s.rec.Inject(w, r, writeFault, r.URL.Path) {
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		writeMessage(w, http.StatusNotFound, "Not found")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// writeFault answers an injected failure as Kong words its status.
func writeFault(w http.ResponseWriter, f doubletest.Fault) {
	msg := http.StatusText(f.Status)
	if f.Status == http.StatusInternalServerError {
		msg = "An unexpected error occurred"
	}
	writeMessage(w, f.Status, msg)
}

func (s *Server) tick() int64 {
	s.clock++
	return s.clock
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	doubletest.WriteJSON(w, status, map[string]any{"message": msg})
}

// violation is one schema violation: a field path and what is wrong.
type violation struct{ path, msg string }

// writeViolations writes Kong's schema violation error (code 2).
func writeViolations(w http.ResponseWriter, vs []violation) {
	fields := map[string]any{}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.path + ": " + v.msg
		if v.path == "@entity" {
			list, _ := fields["@entity"].([]string)
			fields["@entity"] = append(list, v.msg)
			continue
		}
		m := fields
		segs := strings.Split(v.path, ".")
		for _, seg := range segs[:len(segs)-1] {
			next, ok := m[seg].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[seg] = next
			}
			m = next
		}
		m[segs[len(segs)-1]] = v.msg
	}
	msg := "schema violation (" + parts[0] + ")"
	if len(vs) > 1 {
		msg = fmt.Sprintf("%d schema violations (%s)", len(vs), strings.Join(parts, "; "))
	}
	doubletest.WriteJSON(w, http.StatusBadRequest, map[string]any{"code": 2, "name": "schema violation", "message": msg, "fields": fields})
}

// scope is the consumer or route a nested path names, and its key field.
type scope struct {
	consumerID, routeID string
	nested              bool
}

// handle routes pattern to h, which runs under s.mu with the consumer or
// route a nested path names; it answers 404 when there is no such
// consumer or route.
func (s *Server) handle(pattern string, h func(http.ResponseWriter, *http.Request, scope)) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if sc, ok := s.scopeOf(r); ok {
			h(w, r, sc)
			return
		}
		writeMessage(w, http.StatusNotFound, "Not found")
	})
}

// scopeOf resolves the {parent} of a nested path.
func (s *Server) scopeOf(r *http.Request) (scope, bool) {
	parent := r.PathValue("parent")
	if parent == "" {
		return scope{}, true
	}
	if strings.HasPrefix(r.URL.Path, "/consumers/") {
		for _, c := range s.consumers {
			if c.ID == parent || c.Username == parent {
				return scope{consumerID: c.ID, nested: true}, true
			}
		}
	} else {
		for _, rt := range s.routes {
			if rt.ID == parent || rt.Name == parent {
				return scope{routeID: rt.ID, nested: true}, true
			}
		}
	}
	return scope{}, false
}

// holds reports whether the plugin belongs to the nested path's parent.
func (sc scope) holds(p *Plugin) bool {
	switch {
	case sc.consumerID != "":
		return p.ConsumerID == sc.consumerID
	case sc.routeID != "":
		return p.RouteID == sc.routeID
	}
	return true
}

func (s *Server) findPlugin(id string) *Plugin {
	for _, p := range s.plugins {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// pluginIn returns the plugin with the id when it belongs to sc, nil
// otherwise.
func (s *Server) pluginIn(sc scope, id string) *Plugin {
	if p := s.findPlugin(id); p != nil && sc.holds(p) {
		return p
	}
	return nil
}

func (s *Server) listPlugins(w http.ResponseWriter, r *http.Request, sc scope) {
	size := s.pageSize
	if v := r.URL.Query().Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeMessage(w, http.StatusBadRequest, "size must be an integer between 1 and 1000")
			return
		}
		size = n
	}
	start := 0
	if v := r.URL.Query().Get("offset"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		n, err2 := strconv.Atoi(string(raw))
		if err != nil || err2 != nil {
			writeMessage(w, http.StatusBadRequest, "invalid offset")
			return
		}
		start = n
	}
	tags := r.URL.Query().Get("tags")
	var matched []*Plugin
	for _, p := range s.plugins {
		if sc.holds(p) && (tags == "" || slices.Contains(p.Tags, tags)) {
			matched = append(matched, p)
		}
	}
	data := []any{}
	for i := start; i < len(matched) && i < start+size; i++ {
		data = append(data, pluginJSON(matched[i]))
	}
	out := map[string]any{"data": data, "next": nil}
	if start+size < len(matched) {
		offset := base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(start + size)))
		out["offset"] = offset
		out["next"] = r.URL.Path + "?offset=" + url.QueryEscape(offset)
	}
	doubletest.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) getPlugin(w http.ResponseWriter, r *http.Request, sc scope) {
	p := s.pluginIn(sc, r.PathValue("id"))
	if p == nil {
		writeMessage(w, http.StatusNotFound, "Not found")
		return
	}
	doubletest.WriteJSON(w, http.StatusOK, pluginJSON(p))
}

func (s *Server) createPlugin(w http.ResponseWriter, r *http.Request, sc scope) {
	p, ok := s.decodePlugin(w, r, sc)
	if !ok {
		return
	}
	p.ID = uuid.NewString()
	s.save(w, nil, p, http.StatusCreated)
}

// putPlugin creates or replaces the plugin with the path's id.
func (s *Server) putPlugin(w http.ResponseWriter, r *http.Request, sc scope) {
	id := r.PathValue("id")
	if _, err := uuid.Parse(id); err != nil {
		writeViolations(w, []violation{{"id", "expected a valid UUID"}})
		return
	}
	p, ok := s.decodePlugin(w, r, sc)
	if !ok {
		return
	}
	p.ID = id
	existing := s.findPlugin(id)
	if existing != nil {
		p.CreatedAt = existing.CreatedAt
	}
	s.save(w, existing, p, http.StatusOK)
}

func (s *Server) patchPlugin(w http.ResponseWriter, r *http.Request, sc scope) {
	existing := s.pluginIn(sc, r.PathValue("id"))
	if existing == nil {
		writeMessage(w, http.StatusNotFound, "Not found")
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeMessage(w, http.StatusBadRequest, "Cannot parse JSON body")
		return
	}
	p := copyPlugin(*existing)
	if p.Config == nil {
		p.Config = map[string]any{}
	}
	// PATCH merges: fields left out stay, config fields merge into the config.
	if cfg, ok := body["config"].(map[string]any); ok {
		maps.Copy(p.Config, cfg)
		delete(body, "config")
	} else if _, ok := body["config"]; ok {
		writeViolations(w, []violation{{"config", "expected a record"}})
		return
	}
	if vs := s.applyFields(&p, body, sc); len(vs) > 0 {
		writeViolations(w, vs)
		return
	}
	s.save(w, existing, p, http.StatusOK)
}

func (s *Server) deletePlugin(w http.ResponseWriter, r *http.Request, sc scope) {
	p := s.pluginIn(sc, r.PathValue("id"))
	if p == nil {
		if sc.nested {
			writeMessage(w, http.StatusNotFound, "Not found")
			return
		}
		w.WriteHeader(http.StatusNoContent) // Kong deletes what is not there without complaint
		return
	}
	s.plugins = slices.DeleteFunc(s.plugins, func(q *Plugin) bool { return q == p })
	w.WriteHeader(http.StatusNoContent)
}

// decodePlugin reads a whole plugin (POST, PUT) from the body: config
// fields left out take the schema's defaults.
func (s *Server) decodePlugin(w http.ResponseWriter, r *http.Request, sc scope) (Plugin, bool) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeMessage(w, http.StatusBadRequest, "Cannot parse JSON body")
		return Plugin{}, false
	}
	p := Plugin{Enabled: true, ConsumerID: sc.consumerID, RouteID: sc.routeID, Config: map[string]any{}}
	if cfg, ok := body["config"].(map[string]any); ok {
		p.Config = cfg
	}
	delete(body, "config")
	vs := s.applyFields(&p, body, sc)
	if p.Name == "" {
		vs = append(vs, violation{"name", "required field missing"})
	}
	if len(vs) > 0 {
		writeViolations(w, vs)
		return Plugin{}, false
	}
	p.Config = withDefaults(p.Name, p.Config)
	return p, true
}

// applyFields sets the plugin's top-level fields from a body.
func (s *Server) applyFields(p *Plugin, body map[string]any, sc scope) []violation {
	var vs []violation
	for field, v := range body {
		switch field {
		case "name":
			name, ok := v.(string)
			if !ok {
				vs = append(vs, violation{"name", "expected a string"})
			}
			p.Name = name
		case "enabled":
			enabled, ok := v.(bool)
			if !ok {
				vs = append(vs, violation{"enabled", "expected a boolean"})
			}
			p.Enabled = enabled
		case "tags":
			p.Tags = nil
			if v == nil {
				continue
			}
			list, ok := v.([]any)
			if !ok {
				vs = append(vs, violation{"tags", "expected a set"})
				continue
			}
			for _, t := range list {
				tag, ok := t.(string)
				if !ok || !validTag(tag) {
					vs = append(vs, violation{"tags", fmt.Sprintf("invalid tag '%v': expected printable ascii (except `,` and `/`) or valid utf-8 sequences", t)})
					continue
				}
				if !slices.Contains(p.Tags, tag) {
					p.Tags = append(p.Tags, tag)
				}
			}
		case "consumer", "route", "service":
			// Foreign keys, {"id": …} or null; a nested path fixes its parent's.
			id := ""
			if ref, ok := v.(map[string]any); ok {
				id, _ = ref["id"].(string)
			}
			switch {
			case field == "consumer" && !sc.nested:
				p.ConsumerID = id
			case field == "route" && !sc.nested:
				p.RouteID = id
			case field == "service":
				p.ServiceID = id
			}
		case "id", "created_at", "updated_at", "protocols", "instance_name", "ordering", "consumer_group":
		default:
			vs = append(vs, violation{field, "unknown field"})
		}
	}
	return vs
}

// save validates p and stores it in place of existing (nil for a new one).
func (s *Server) save(w http.ResponseWriter, existing *Plugin, p Plugin, status int) {
	if vs := validate(p); len(vs) > 0 {
		writeViolations(w, vs)
		return
	}
	for _, q := range s.plugins {
		if q != existing && q.Name == p.Name && q.ConsumerID == p.ConsumerID && q.RouteID == p.RouteID && q.ServiceID == p.ServiceID {
			doubletest.WriteJSON(w, http.StatusConflict, map[string]any{
				"code": 5, "name": "unique constraint violation",
				"message": fmt.Sprintf("UNIQUE violation detected on '{consumer=%s,name=%q,route=%s,service=%s}'",
					luaRef(p.ConsumerID), p.Name, luaRef(p.RouteID), luaRef(p.ServiceID)),
				"fields": map[string]any{"consumer": ref(p.ConsumerID), "name": p.Name, "route": ref(p.RouteID), "service": ref(p.ServiceID)},
			})
			return
		}
	}
	if p.CreatedAt == 0 {
		p.CreatedAt = s.tick()
	}
	p.UpdatedAt = s.tick()
	stored := copyPlugin(p)
	if existing != nil {
		*existing = stored
	} else {
		s.plugins = append(s.plugins, &stored)
	}
	doubletest.WriteJSON(w, status, pluginJSON(&stored))
}

// validTag is Kong 3's tag rule: printable ASCII but space, ',' and '/',
// or UTF-8 beyond ASCII.
func validTag(tag string) bool {
	if tag == "" || !utf8.ValidString(tag) {
		return false
	}
	for _, r := range tag {
		if r < utf8.RuneSelf && (r <= ' ' || r == ',' || r == '/' || r == 0x7f) {
			return false
		}
	}
	return true
}

// ratePeriods are rate-limiting's limits, shortest first.
var ratePeriods = []string{"second", "minute", "hour", "day", "month", "year"}

// schemas are the config fields of the plugins the double knows, with
// their defaults.
var schemas = map[string]map[string]any{
	"rate-limiting": {
		"second": nil, "minute": nil, "hour": nil, "day": nil, "month": nil, "year": nil,
		"limit_by": "consumer", "header_name": nil, "path": nil, "policy": "local",
		"fault_tolerant": true, "hide_client_headers": false, "error_code": 429.0,
		"error_message": "API rate limit exceeded", "sync_rate": -1.0,
	},
	"request-termination": {
		"status_code": 503.0, "message": nil, "body": nil, "content_type": nil, "trigger": nil, "echo": false,
	},
	"key-auth": {
		"key_names": []any{"apikey"}, "hide_credentials": false, "anonymous": nil,
		"key_in_header": true, "key_in_query": true, "key_in_body": false, "run_on_preflight": true,
	},
}

func withDefaults(name string, config map[string]any) map[string]any {
	out := maps.Clone(schemas[name])
	if out == nil {
		out = map[string]any{}
	}
	maps.Copy(out, config)
	return out
}

// validate checks a plugin against its schema as Kong does.
func validate(p Plugin) []violation {
	defaults, known := schemas[p.Name]
	if !known {
		return []violation{{"name", fmt.Sprintf("plugin '%s' not enabled; add it to the 'plugins' configuration property", p.Name)}}
	}
	var vs []violation
	for _, field := range slices.Sorted(maps.Keys(p.Config)) {
		if _, ok := defaults[field]; !ok {
			vs = append(vs, violation{"config." + field, "unknown field"})
		}
	}
	switch p.Name {
	case "rate-limiting":
		var set []string
		for i, period := range ratePeriods {
			v, isNum := p.Config[period].(float64)
			switch {
			case p.Config[period] == nil:
				continue
			case !isNum:
				vs = append(vs, violation{"config." + period, "expected a number"})
				continue
			case v <= 0:
				vs = append(vs, violation{"config." + period, "value must be greater than 0"})
				continue
			}
			set = append(set, period)
			for _, upper := range ratePeriods[i+1:] {
				if u, ok := p.Config[upper].(float64); ok && u < v {
					vs = append(vs, violation{"config", fmt.Sprintf("The limit for %s(%.1f) cannot be lower than the limit for %s(%.1f)", upper, u, period, v)})
				}
			}
		}
		if len(set) == 0 {
			vs = append(vs, violation{"@entity", "at least one of these fields must be non-empty: 'config.second', 'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'"})
		}
		if v, _ := p.Config["limit_by"].(string); !slices.Contains([]string{"consumer", "credential", "ip", "service", "header", "path", "consumer-group"}, v) {
			vs = append(vs, violation{"config.limit_by", "expected one of: consumer, credential, ip, service, header, path, consumer-group"})
		}
		if v, _ := p.Config["policy"].(string); !slices.Contains([]string{"local", "cluster", "redis"}, v) {
			vs = append(vs, violation{"config.policy", "expected one of: local, cluster, redis"})
		}
	case "request-termination":
		code, ok := p.Config["status_code"].(float64)
		if !ok || code != float64(int(code)) || code < 100 || code > 599 {
			vs = append(vs, violation{"config.status_code", "value should be between 100 and 599"})
		}
	}
	return vs
}

func pluginJSON(p *Plugin) map[string]any {
	var tags any
	if p.Tags != nil {
		tags = p.Tags
	}
	return map[string]any{
		"id": p.ID, "name": p.Name, "created_at": p.CreatedAt, "updated_at": p.UpdatedAt,
		"consumer": ref(p.ConsumerID), "route": ref(p.RouteID), "service": ref(p.ServiceID),
		"consumer_group": nil, "instance_name": nil, "ordering": nil,
		"config": p.Config, "protocols": []string{"grpc", "grpcs", "http", "https"},
		"enabled": p.Enabled, "tags": tags,
	}
}

// ref is a foreign key as Kong shows it: {"id": …} or null.
func ref(id string) any {
	if id == "" {
		return nil
	}
	return map[string]any{"id": id}
}

// luaRef is a foreign key as Kong's unique violation message prints it.
func luaRef(id string) string {
	if id == "" {
		return "null"
	}
	return fmt.Sprintf("{id=%q}", id)
}

func copyPlugin(p Plugin) Plugin {
	p.Tags = slices.Clone(p.Tags)
	data, _ := json.Marshal(p.Config)
	p.Config = nil
	_ = json.Unmarshal(data, &p.Config)
	return p
}
