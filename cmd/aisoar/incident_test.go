package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// apiStub answers the incident API calls the CLI makes and records their
// bodies by method and path.
type apiStub struct {
	bodies map[string]map[string]any
}

func (s *apiStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer t0k" {
		http.Error(w, `{"title":"Unauthorized","detail":"no token"}`, http.StatusUnauthorized)
		return
	}
	var body map[string]any
	data, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(data, &body)
	s.bodies[r.Method+" "+r.URL.Path] = body
	w.Header().Set("Content-Type", "application/json")
	switch r.Method + " " + r.URL.Path {
	case "POST /v1/incidents":
		_, _ = w.Write([]byte(`{"alert_id":"manual-1","class":"ai_incident","incidents":[{"id":"manual-record/abc","playbook":"manual-record"}]}`))
	case "POST /v1/incidents/pb/abc/reclassify":
		_, _ = w.Write([]byte(`{"reclassified":{"state":"reclassified","undo":[{"id":"undo_block"}]},"incidents":[{"id":"perf/abc","playbook":"perf"}]}`))
	case "POST /v1/incidents/pb/abc/review":
		_, _ = w.Write([]byte(`{"review":{"id":"pb/abc/20250601T100000.000Z","incident":"pb/abc","location":"/ev",` +
			`"markdown":"reviews/pb%2Fabc/20250601T100000.000Z.md","html":"reviews/pb%2Fabc/20250601T100000.000Z.html"},` +
			`"markdown":"# Review","html":"<!DOCTYPE html>"}`))
	default:
		http.NotFound(w, r)
	}
}

func TestIncidentCommands(t *testing.T) {
	stub := &apiStub{bodies: map[string]map[string]any{}}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	outDir := t.TempDir()
	api := []string{"--addr", srv.URL, "--token", "t0k", "--data-dir", t.TempDir()}
	tests := []struct {
		name    string
		args    []string
		wantErr string
		want    string
		call    string
		sent    map[string]any
	}{
		{name: "open", args: []string{"incident", "open", "--discovered-by", "business", "--title", "Approvals jumped", "--severity", "high",
			"--model", "credit-scorer", "--technique", "AML.T0020"},
			want: "opened manual-record/abc (class ai_incident, playbook manual-record)", call: "POST /v1/incidents",
			sent: map[string]any{"discovered_by": "business", "title": "Approvals jumped", "severity": "high"}},
		{name: "open needs who found it", args: []string{"incidents", "open", "--title", "x"}, wantErr: "--discovered-by (soc, business, red-team)"},
		{name: "reclassify", args: []string{"incident", "reclassify", "pb/abc", "--class", "performance", "--reason", "drift"},
			want: "incident pb/abc is reclassified as performance (1 undo step(s)); it continues as perf/abc",
			call: "POST /v1/incidents/pb/abc/reclassify", sent: map[string]any{"class": "performance", "reason": "drift"}},
		{name: "reclassify needs a reason", args: []string{"incident", "reclassify", "pb/abc", "--class", "performance"}, wantErr: "--reason"},
		{name: "review", args: []string{"incident", "review", "pb/abc", "--output", outDir},
			want: "wrote " + filepath.Join(outDir, "pb_abc_20250601T100000.000Z.html"), call: "POST /v1/incidents/pb/abc/review"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, append(tt.args, api...)...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !strings.Contains(out, tt.want) {
				t.Fatalf("output %q, error %v; want %q", out, err, tt.want)
			}
			sent, called := stub.bodies[tt.call]
			if !called {
				t.Fatalf("no %s call", tt.call)
			}
			for k, v := range tt.sent {
				if sent[k] != v {
					t.Errorf("%s sent %s = %v, want %v", tt.call, k, sent[k], v)
				}
			}
		})
	}
	if md, err := os.ReadFile(filepath.Join(outDir, "pb_abc_20250601T100000.000Z.md")); err != nil || string(md) != "# Review" {
		t.Errorf("review --output wrote %q, %v", md, err)
	}
}
