package mlflowtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func do(t *testing.T, s *Server, method, path, contentType, password, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.SetBasicAuth("u", password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestServer(t *testing.T) {
	s := New(t, "u", "p")
	s.AddModel("m", "1", "2")
	s.SetAlias("m", "champion", "2")

	if code, _ := do(t, s, "GET", API+"registered-models/get?name=m", "", "bad", ""); code != 401 {
		t.Errorf("bad password: %d, want 401", code)
	}
	tests := []struct {
		method, path, contentType, body string
		wantStatus                      int
		wantCode                        string
	}{
		{"GET", API + "registered-models/get?name=x", "", "", 404, "RESOURCE_DOES_NOT_EXIST"},
		{"GET", API + "registered-models/alias?name=m&alias=stable", "", "", 400, "INVALID_PARAMETER_VALUE"},
		{"GET", API + "registered-models/alias?name=m", "", "", 400, "INVALID_PARAMETER_VALUE"},
		{"POST", API + "registered-models/alias", "application/json", `{"name":"m","alias":"stable","version":"9"}`, 404, "RESOURCE_DOES_NOT_EXIST"},
		{"POST", API + "registered-models/alias", "text/plain", `{"name":"m","alias":"stable","version":"1"}`, 400, "INVALID_PARAMETER_VALUE"},
		{"POST", API + "registered-models/alias", "application/json", `{"name":"m","alias":"stable","version":"1"}`, 200, ""},
		{"POST", API + "registered-models/set-tag", "application/json", `{"name":"m","key":"k","value":"v"}`, 200, ""},
	}
	for _, tt := range tests {
		code, body := do(t, s, tt.method, tt.path, tt.contentType, "p", tt.body)
		if code != tt.wantStatus || (tt.wantCode != "" && body["error_code"] != tt.wantCode) {
			t.Errorf("%s %s: %d %v, want %d %s", tt.method, tt.path, code, body, tt.wantStatus, tt.wantCode)
		}
	}
	code, body := do(t, s, "GET", API+"registered-models/alias?name=m&alias=stable", "", "p", "")
	if mv, _ := body["model_version"].(map[string]any); code != 200 || mv["version"] != "1" {
		t.Errorf("alias after set: %d %v", code, body)
	}
	code, body = do(t, s, "GET", API+"registered-models/get?name=m", "", "p", "")
	rm, _ := body["registered_model"].(map[string]any)
	if code != 200 || len(rm["aliases"].([]any)) != 2 || len(rm["tags"].([]any)) != 1 {
		t.Errorf("registered model: %d %v", code, body)
	}
}
