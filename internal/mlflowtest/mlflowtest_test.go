package mlflowtest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/aisoar/aisoar/internal/doubletest"
)

func do(t *testing.T, s *Server, method, path, contentType, password, body string) (int, map[string]any) {
	t.Helper()
	header := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("u:"+password))}}
	if contentType != "" {
		header.Set("Content-Type", contentType)
	}
	return doubletest.Call(t, method, s.URL+path, header, body)
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

func TestRunsAndArtifacts(t *testing.T) {
	s := New(t, "u", "p")
	s.AddRun(Run{ID: "r1", ExperimentID: "7", Name: "train", Metrics: map[string]float64{"acc": 0.9}, Params: map[string]string{"lr": "0.1"},
		Artifacts: map[string][]byte{"model/MLmodel": []byte("flavors: {}"), "model/data/w.bin": {1, 2}, "notes.txt": []byte("hi")}})
	s.SetArtifactPageSize(1)

	code, body := do(t, s, "GET", API+"runs/get?run_id=r1", "", "p", "")
	run, _ := body["run"].(map[string]any)
	info, _ := run["info"].(map[string]any)
	if code != 200 || info["artifact_uri"] != "mlflow-artifacts:/7/r1/artifacts" || info["experiment_id"] != "7" || run["data"] == nil {
		t.Errorf("runs/get: %d %v", code, body)
	}
	if code, body := do(t, s, "GET", API+"runs/get?run_id=nope", "", "p", ""); code != 404 || body["error_code"] != "RESOURCE_DOES_NOT_EXIST" {
		t.Errorf("runs/get of a missing run: %d %v", code, body)
	}

	// The root lists a directory and a file, a page at a time.
	var listed []any
	token := ""
	for range 5 {
		code, body := do(t, s, "GET", API+"artifacts/list?run_id=r1&page_token="+token, "", "p", "")
		if code != 200 || body["root_uri"] != "mlflow-artifacts:/7/r1/artifacts" {
			t.Fatalf("artifacts/list: %d %v", code, body)
		}
		listed = append(listed, body["files"].([]any)...)
		if token, _ = body["next_page_token"].(string); token == "" {
			break
		}
	}
	want := `[{"is_dir":true,"path":"model"},{"file_size":2,"is_dir":false,"path":"notes.txt"}]`
	if got, _ := json.Marshal(listed); string(got) != want {
		t.Errorf("listed %s, want %s", got, want)
	}
	if code, body := do(t, s, "GET", API+"artifacts/list?run_id=r1&path=../x", "", "p", ""); code != 400 {
		t.Errorf("listing outside the run: %d %v", code, body)
	}

	req, _ := http.NewRequest("GET", s.URL+ArtifactsAPI+"7/r1/artifacts/model/MLmodel", nil)
	req.SetBasicAuth("u", "p")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(data) != "flavors: {}" || resp.Header.Get("Content-Disposition") != "attachment; filename=MLmodel" {
		t.Errorf("download: %d %q %v", resp.StatusCode, data, resp.Header)
	}
	if code, body := do(t, s, "GET", ArtifactsAPI+"8/r1/artifacts/model/MLmodel", "", "p", ""); code != 404 || body["error_code"] != "RESOURCE_DOES_NOT_EXIST" {
		t.Errorf("download from another experiment: %d %v", code, body)
	}
}
