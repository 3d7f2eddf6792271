package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aisoar/aisoar/report"
)

// TestReportCommand fetches the report from the API and renders it in
// each format.
func TestReportCommand(t *testing.T) {
	var asked string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = r.URL.String()
		if r.Header.Get("Authorization") != "Bearer t0k" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		_ = json.NewEncoder(w).Encode(report.Compute(report.Input{Since: at, Until: at.Add(24 * time.Hour), Now: at}))
	}))
	defer api.Close()
	args := []string{"report", "--addr", api.URL, "--token", "t0k", "--data-dir", t.TempDir(), "--since", "7d"}
	tests := []struct {
		format, want string
	}{
		{"table", "INTEGRITY SLA: 0/0 (n/a) days in compliance"},
		{"markdown", "## Escape rate: 0/0 (n/a) AI incidents discovered by the business"},
		{"json", `"asset_visibility": {`},
	}
	for _, tt := range tests {
		out, err := run(t, append(args, "--format", tt.format)...)
		if err != nil || !strings.Contains(out, tt.want) {
			t.Errorf("--format %s: %v\n%s\nwant %q", tt.format, err, out, tt.want)
		}
	}
	if asked != "/v1/report?since=7d" {
		t.Errorf("asked %s", asked)
	}
	if _, err := run(t, append(args, "--format", "pdf")...); err == nil || !strings.Contains(err.Error(), "table, json, markdown") {
		t.Errorf("an unknown format: %v", err)
	}
}
