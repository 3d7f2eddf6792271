package kservetest

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/aisoar/aisoar/internal/doubletest"
)

func do(t *testing.T, s *Server, method, path, contentType, token, body string) (int, map[string]any) {
	t.Helper()
	header := http.Header{"Authorization": {"Bearer " + token}}
	if contentType != "" {
		header.Set("Content-Type", contentType)
	}
	return doubletest.Call(t, method, s.URL+path, header, body)
}

func TestServer(t *testing.T) {
	s := New(t, "tok")
	s.Put(map[string]any{
		"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
		"metadata": map[string]any{"name": "m", "namespace": "ns", "annotations": map[string]any{"keep": "yes"}},
		"spec":     map[string]any{"predictor": map[string]any{"canaryTrafficPercent": 20}},
		"status": map[string]any{"components": map[string]any{"predictor": map[string]any{
			"latestReadyRevision": "m-3", "latestRolledoutRevision": "m-2", "previousRolledoutRevision": "m-1"}}},
	})
	path := Path("ns", "m")
	merge := "application/merge-patch+json"

	if code, st := do(t, s, "GET", path, "", "bad", ""); code != 401 || st["kind"] != "Status" || st["reason"] != "Unauthorized" {
		t.Errorf("bad token: %d %v, want a 401 Status", code, st)
	}
	if code, st := do(t, s, "GET", Path("ns", "x"), "", "tok", ""); code != 404 || st["reason"] != "NotFound" || st["message"] != `inferenceservices.serving.kserve.io "x" not found` {
		t.Errorf("missing: %d %v, want a 404 Status", code, st)
	}
	if code, st := do(t, s, "PATCH", path, "application/strategic-merge-patch+json", "tok", `{}`); code != 415 {
		t.Errorf("strategic merge patch: %d %v, want 415", code, st)
	}
	if code, st := do(t, s, "PATCH", path, merge, "tok", `{"metadata":{"resourceVersion":"0"}}`); code != 409 || st["reason"] != "Conflict" {
		t.Errorf("stale resourceVersion: %d %v, want a 409 Status", code, st)
	}

	// null deletes, objects merge, the split follows.
	code, obj := do(t, s, "PATCH", path, merge, "tok", `{"metadata":{"resourceVersion":"1","annotations":{"a":"b"}},"spec":{"predictor":{"canaryTrafficPercent":null}}}`)
	if code != 200 {
		t.Fatalf("patch: %d %v", code, obj)
	}
	meta := obj["metadata"].(map[string]any)
	if !reflect.DeepEqual(meta["annotations"], map[string]any{"keep": "yes", "a": "b"}) || meta["resourceVersion"] != "2" || meta["generation"] != float64(2) {
		t.Errorf("metadata after patch = %v", meta)
	}
	pred := obj["status"].(map[string]any)["components"].(map[string]any)["predictor"].(map[string]any)
	want := []any{map[string]any{"revisionName": "m-3", "latestRevision": true, "percent": float64(100)}}
	if !reflect.DeepEqual(pred["traffic"], want) {
		t.Errorf("traffic without canary = %v, want %v", pred["traffic"], want)
	}
	if _, ok := obj["spec"].(map[string]any)["predictor"].(map[string]any)["canaryTrafficPercent"]; ok {
		t.Error("null did not delete canaryTrafficPercent")
	}
	if n := len(s.Requests()); n != 5 {
		t.Errorf("recorded %d requests, want 5", n)
	}
}
