package litellmtest

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/aisoar/aisoar/internal/doubletest"
)

const master = "sk-master"

// call sends a request with the master key (or auth, when not "") and
// decodes the JSON answer.
func call(t *testing.T, s *Server, method, path, body, auth string) (int, map[string]any) {
	t.Helper()
	if auth == "" {
		auth = "Bearer " + master
	}
	return doubletest.Call(t, method, s.URL+path, http.Header{"Authorization": {auth}}, body)
}

func errorMessage(out map[string]any) any {
	e, _ := out["error"].(map[string]any)
	return e["message"]
}

func TestKeys(t *testing.T) {
	s := New(t, master)

	if status, out := call(t, s, "GET", "/key/list", "", "Bearer sk-wrong"); status != 401 || out["error"].(map[string]any)["type"] != "auth_error" {
		t.Errorf("wrong master key: %d %v, want 401 auth_error", status, out)
	}

	status, gen := call(t, s, "POST", "/key/generate", `{"key_alias":"svc-a","team_id":"t1","models":["gpt-4o"],"metadata":{"owner":"ml"}}`, "")
	key, _ := gen["key"].(string)
	if status != 200 || len(key) < 10 || key[:3] != "sk-" || gen["token"] != TokenHash(key) || gen["key_alias"] != "svc-a" {
		t.Fatalf("/key/generate: %d %v", status, gen)
	}
	if status, out := call(t, s, "POST", "/key/generate", `{"key_alias":"svc-a"}`, ""); status != 400 || out["error"].(map[string]any)["param"] != "key_alias" {
		t.Errorf("duplicate alias: %d %v, want 400 on key_alias", status, out)
	}

	for _, id := range []string{key, TokenHash(key)} {
		status, info := call(t, s, "GET", "/key/info?key="+id, "", "")
		if status != 200 || info["key"] != id || info["info"].(map[string]any)["team_id"] != "t1" || info["info"].(map[string]any)["token"] != nil {
			t.Errorf("/key/info?key=%s: %d %v", id, status, info)
		}
	}
	if status, out := call(t, s, "GET", "/key/info?key=nope", "", ""); status != 404 || errorMessage(out) != "Key not found in database" {
		t.Errorf("unknown key: %d %v", status, out)
	}

	token := TokenHash(key)
	call(t, s, "POST", "/key/update", `{"key":"`+token+`","rpm_limit":5,"metadata":{"x":1}}`, "")
	call(t, s, "POST", "/key/update", `{"key":"`+key+`","tpm_limit":null}`, "")
	k, _ := s.Key(token)
	if *k.RPMLimit != 5 || k.TPMLimit != nil || !reflect.DeepEqual(k.Metadata, map[string]any{"x": 1.0}) || k.KeyAlias != "svc-a" {
		t.Errorf("after updates: %+v", k)
	}
	if status, _ := call(t, s, "POST", "/key/update", `{"rpm_limit":5}`, ""); status != 422 {
		t.Errorf("update without key: %d, want 422", status)
	}

	call(t, s, "POST", "/key/block", `{"key":"`+token+`"}`, "")
	if len(s.ValidKeys()) != 0 {
		t.Error("a blocked key is valid")
	}
	call(t, s, "POST", "/key/unblock", `{"key":"`+key+`"}`, "")
	if len(s.ValidKeys()) != 1 {
		t.Error("an unblocked key is not valid")
	}

	other := s.AddKey(Key{KeyAlias: "svc-b"})
	status, list := call(t, s, "GET", "/key/list?key_alias=svc-b", "", "")
	if status != 200 || !reflect.DeepEqual(list["keys"], []any{other.Token}) || list["total_count"] != 1.0 {
		t.Errorf("/key/list?key_alias=svc-b: %d %v", status, list)
	}
	_, full := call(t, s, "GET", "/key/list?return_full_object=true&size=1&page=2", "", "")
	if keys := full["keys"].([]any); len(keys) != 1 || keys[0].(map[string]any)["key_alias"] != "svc-a" || full["total_pages"] != 2.0 {
		t.Errorf("second page of full objects: %v", full)
	}

	if status, out := call(t, s, "POST", "/key/delete", `{"key_aliases":["svc-b"]}`, ""); status != 200 || !reflect.DeepEqual(out["deleted_keys"], []any{"svc-b"}) {
		t.Errorf("delete by alias: %d %v", status, out)
	}
	call(t, s, "POST", "/key/delete", `{"keys":["`+key+`"]}`, "")
	if len(s.Keys()) != 0 || len(s.DeletedKeys()) != 2 {
		t.Errorf("after deletes: keys %v deleted %v", s.Keys(), s.DeletedKeys())
	}
}

func TestTeams(t *testing.T) {
	s := New(t, master)
	s.AddTeam(Team{TeamID: "t1", RPMLimit: new(int64)})
	call(t, s, "POST", "/team/update", `{"team_id":"t1","rpm_limit":null,"tpm_limit":100,"metadata":{"a":"b"}}`, "")
	call(t, s, "POST", "/team/block", `{"team_id":"t1"}`, "")
	status, info := call(t, s, "GET", "/team/info?team_id=t1", "", "")
	want := map[string]any{"rpm_limit": nil, "tpm_limit": 100.0, "blocked": true, "metadata": map[string]any{"a": "b"}}
	ti := info["team_info"].(map[string]any)
	for k, v := range want {
		if status != 200 || !reflect.DeepEqual(ti[k], v) {
			t.Errorf("team_info.%s = %v, want %v", k, ti[k], v)
		}
	}
	if status, out := call(t, s, "POST", "/team/update", `{"team_id":"nope"}`, ""); status != 404 || out["detail"] == nil {
		t.Errorf("unknown team: %d %v", status, out)
	}
}

func TestFaults(t *testing.T) {
	s := New(t, master)
	s.AddTeam(Team{TeamID: "t1"})
	s.FailNext("/team/info", 503, 1)
	if status, _ := call(t, s, "GET", "/team/info?team_id=t1", "", ""); status != 503 {
		t.Errorf("first call: %d, want 503", status)
	}
	if status, _ := call(t, s, "GET", "/team/info?team_id=t1", "", ""); status != 200 {
		t.Errorf("second call: %d, want 200", status)
	}
	if got := s.Requests(); len(got) != 2 || got[0].Status != 503 || got[1].Query.Get("team_id") != "t1" {
		t.Errorf("requests = %+v", got)
	}
}
