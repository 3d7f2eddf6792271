package kongtest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aisoar/aisoar/internal/doubletest"
)

func call(t *testing.T, s *Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	header := http.Header{"Content-Type": {"application/json"}, "Kong-Admin-Token": {"tok"}}
	return doubletest.Call(t, method, s.URL+path, header, body)
}

const pluginID = "5a1e1a3b-7f4e-4c43-9d55-3e1a2f0b9c11"

func TestPlugins(t *testing.T) {
	s := New(t, WithAdminToken("tok"))
	acme := s.AddConsumer("acme")

	status, p := call(t, s, "PUT", "/consumers/acme/plugins/"+pluginID, `{"name":"rate-limiting","config":{"minute":10},"tags":["aisoar"]}`)
	cfg, _ := p["config"].(map[string]any)
	if status != 200 || p["consumer"].(map[string]any)["id"] != acme.ID || cfg["minute"] != 10.0 || cfg["policy"] != "local" || p["enabled"] != true {
		t.Fatalf("PUT: %d %v", status, p)
	}
	status, p = call(t, s, "PATCH", "/consumers/"+acme.ID+"/plugins/"+pluginID, `{"enabled":false,"config":{"hour":600}}`)
	cfg, _ = p["config"].(map[string]any)
	if status != 200 || cfg["minute"] != 10.0 || cfg["hour"] != 600.0 || p["enabled"] != false {
		t.Errorf("PATCH merges config: %d %v", status, p)
	}
	if status, out := call(t, s, "POST", "/consumers/acme/plugins", `{"name":"rate-limiting","config":{"second":1}}`); status != 409 || out["name"] != "unique constraint violation" {
		t.Errorf("second rate-limiting on the consumer: %d %v", status, out)
	}

	violations := []struct{ body, field string }{
		{`{"name":"rate-limiting","config":{"minute":0}}`, "config.minute: value must be greater than 0"},
		{`{"name":"rate-limiting","config":{}}`, "at least one of these fields must be non-empty"},
		{`{"name":"rate-limiting","config":{"minute":100,"hour":10}}`, "cannot be lower than the limit for minute"},
		{`{"name":"rate-limiting","config":{"minute":1},"tags":["a,b"]}`, "invalid tag 'a,b'"},
		{`{"name":"rate-limiting","config":{"minute":1,"burst":2}}`, "config.burst: unknown field"},
		{`{"name":"request-termination","config":{"status_code":42}}`, "value should be between 100 and 599"},
		{`{"name":"ai-magic"}`, "plugin 'ai-magic' not enabled"},
	}
	for _, v := range violations {
		status, out := call(t, s, "POST", "/routes/"+s.AddRoute("r").ID+"/plugins", v.body)
		if msg, _ := out["message"].(string); status != 400 || out["code"] != 2.0 || !strings.Contains(msg, v.field) {
			t.Errorf("POST %s: %d %v, want a schema violation on %q", v.body, status, out, v.field)
		}
	}

	if status, _ := call(t, s, "DELETE", "/consumers/acme/plugins/"+pluginID, ""); status != 204 {
		t.Errorf("DELETE: %d, want 204", status)
	}
	if status, _ := call(t, s, "DELETE", "/consumers/acme/plugins/"+pluginID, ""); status != 404 {
		t.Errorf("nested DELETE of a missing plugin: %d, want 404", status)
	}
	if status, _ := call(t, s, "DELETE", "/plugins/"+pluginID, ""); status != 204 {
		t.Errorf("DELETE /plugins of a missing plugin: %d, want 204", status)
	}
	if status, _ := call(t, s, "GET", "/consumers/nobody/plugins", ""); status != 404 {
		t.Errorf("unknown consumer: %d, want 404", status)
	}
}

func TestListPages(t *testing.T) {
	s := New(t)
	acme := s.AddConsumer("acme")
	for range 3 {
		s.AddPlugin(Plugin{Name: "key-auth", ConsumerID: acme.ID, RouteID: s.AddRoute("r").ID, Enabled: true})
	}
	var ids []string
	next := "/consumers/acme/plugins?size=2"
	for next != "" {
		status, page := call(t, s, "GET", next, "")
		if status != 200 {
			t.Fatalf("GET %s: %d %v", next, status, page)
		}
		for _, p := range page["data"].([]any) {
			ids = append(ids, p.(map[string]any)["id"].(string))
		}
		next, _ = page["next"].(string)
	}
	if len(ids) != 3 {
		t.Errorf("listed %d plugins over the pages, want 3", len(ids))
	}
}

func TestAuthAndFaults(t *testing.T) {
	s := New(t, WithAdminToken("other"))
	if status, out := call(t, s, "GET", "/plugins", ""); status != 401 || !strings.Contains(out["message"].(string), "Invalid credentials") {
		t.Errorf("wrong token: %d %v", status, out)
	}
	s = New(t)
	s.FailNext("/plugins", 500, 1)
	if status, _ := call(t, s, "GET", "/plugins", ""); status != 500 {
		t.Errorf("injected failure: %d, want 500", status)
	}
	if status, _ := call(t, s, "GET", "/plugins", ""); status != 200 {
		t.Errorf("after the failure: %d, want 200", status)
	}
}
