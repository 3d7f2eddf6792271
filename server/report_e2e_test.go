package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/report"
)

const reportInventory = `
models:
  fraud-scorer:
    owner: fraud-ml
    atlas: [AML.T0024]
    lineage: {pipelines: [fraud-features]}
pipelines:
  fraud-features:
    orchestrator: {dag: fraud_features_daily}
    sources:
      - {name: card-transactions, approved_by: risk@bank.example, approved_at: 2026-01-01}
      - {name: partner-feed}
teams:
  fraud-ml: {roles: [soc]}
`

// TestGovernanceReport sends a live alert and detection heartbeats, then reads
// them back in the report: the alert counts for the model's coverage, the
// heartbeat naming an unapproved data source breaks that day's integrity.
func TestGovernanceReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	inventory := filepath.Join(t.TempDir(), "assets.yaml")
	writeFile(t, inventory, reportInventory)
	e := startE2E(t, func(c *config.Config) { c.Assets = inventory })

	resp, out := e.post(t, "siem", e.alertBody("gov-1"), true)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("alert: %d %v", resp.StatusCode, out)
	}
	if err := e.stack.Handler.FlushLedger(context.Background()); err != nil {
		t.Fatal(err)
	}

	t.Run("heartbeats", func(t *testing.T) {
		tests := []struct {
			name   string
			body   string
			sign   bool
			status int
			want   string
		}{
			{"a data source delivering", `{"assets": {"pipeline": "fraud_features_daily", "data_source": "partner-feed"}, "rule": "drift", "techniques": ["AML.T0020"]}`, true,
				http.StatusAccepted, `"heartbeats":["fraud-features"],"deliveries":["fraud-features/partner-feed"]`},
			{"a detection alive", `{"assets": {"model": "fraud-scorer"}, "rule": "token-spike"}`, true,
				http.StatusAccepted, `"heartbeats":["fraud-scorer"],"deliveries":[]`},
			{"a source found by name", `{"assets": {"data_source": "card-transactions"}}`, true,
				http.StatusAccepted, `"deliveries":["fraud-features/card-transactions"]`},
			{"unsigned", `{"assets": {"model": "fraud-scorer"}}`, false, http.StatusUnauthorized, ""},
			{"an unknown model", `{"assets": {"model": "nope"}}`, true, http.StatusUnprocessableEntity, `"field":"assets.model"`},
			{"naming nothing", `{"rule": "x"}`, true, http.StatusUnprocessableEntity, `name the model, pipeline or data_source`},
			{"an unknown field", `{"asset": {}}`, true, http.StatusBadRequest, `unknown field`},
		}
		for _, tt := range tests {
			status, body := e.postHeartbeat(t, "", tt.body, tt.sign)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("%s: %d %s, want %d with %s", tt.name, status, body, tt.status, tt.want)
			}
		}
		// A replayed heartbeat is answered, not counted again.
		alive := `{"assets": {"model": "fraud-scorer"}}`
		first, _ := e.postHeartbeat(t, "msg_heartbeat_replay", alive, true)
		second, body := e.postHeartbeat(t, "msg_heartbeat_replay", alive, true)
		if first != http.StatusAccepted || second != http.StatusOK || !strings.Contains(body, `"duplicate":true`) {
			t.Errorf("replay: %d then %d %s, want 202 then 200 duplicate", first, second, body)
		}
	})

	today := time.Now().UTC().Format(time.DateOnly)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	var r report.Report
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, body := e.getRaw(t, "/v1/report?since="+today+"&until="+tomorrow)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("report: %d %s", resp.StatusCode, body)
		}
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		if r.Incidents.Counted == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	measured := r.DetectionSpeed.Overall.Count
	for _, x := range r.DetectionSpeed.Excluded {
		measured += x.Count
	}
	if r.Incidents.Counted != 1 || measured != 1 {
		t.Errorf("incidents %+v, detection speed %+v; want the one alert's incident", r.Incidents, r.DetectionSpeed)
	}
	if m := r.Coverage.Models; len(m) != 1 || m[0].Alerts != 1 || m[0].Heartbeats != 2 || !m[0].Covered {
		t.Errorf("coverage = %+v, want fraud-scorer with one alert and two heartbeats (the replay not counted), covered", m)
	}
	sources := fmt.Sprintf("%+v", r.IntegritySLA.PerSource)
	if len(r.IntegritySLA.PerSource) != 2 || r.IntegritySLA.PerSource[1].Source != "partner-feed" ||
		strings.Join(r.IntegritySLA.PerSource[1].Unapproved, ",") != today || len(r.IntegritySLA.PerSource[0].Unapproved) != 0 {
		t.Errorf("data sources = %s, want partner-feed out of compliance today (it delivered: the alert named no pipeline, the heartbeat did)", sources)
	}
	if resp, _ := e.getRaw(t, "/v1/report?since=tomorrow"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad since: %d, want 400", resp.StatusCode)
	}
	for _, tt := range []struct {
		format      string
		status      int
		contentType string
		want        string
	}{
		{"json", http.StatusOK, "application/json", `"asset_visibility": {`},
		{"markdown", http.StatusOK, "text/markdown; charset=utf-8", "## Escape rate:"},
		{"table", http.StatusOK, "text/plain; charset=utf-8", "INTEGRITY SLA:"},
		{"pdf", http.StatusBadRequest, "application/problem+json", `format \"pdf\" is not a report format: use one of table, json, markdown`},
	} {
		resp, body := e.getRaw(t, "/v1/report?since="+today+"&format="+tt.format)
		if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != tt.contentType || !bytes.Contains(body, []byte(tt.want)) {
			t.Errorf("format=%s: %d %s\n%s\nwant %d %s with %q", tt.format, resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.status, tt.contentType, tt.want)
		}
	}

	// The gauges were computed at start; compute them again on this data.
	e.stack.Handler.UpdateGauges(context.Background())
	resp, metrics := e.getRaw(t, "/metrics")
	for _, want := range []string{
		"aisoar_asset_visibility_ratio 0",                 // fraud-scorer has no artifact: provenance missing
		"aisoar_coverage_ratio 1",                         // mapped, in the playbook's atlas, with an alert and a heartbeat
		"aisoar_escape_rate_ratio 0",                      // the one incident came from detection
		`aisoar_integrity_sla_ratio{scope="overall"} NaN`, // the ledger began today: no whole day yet
		`aisoar_integrity_sla_ratio{scope="models"} NaN`,
		`aisoar_integrity_sla_ratio{scope="data_sources"} NaN`,
		`aisoar_ledger_writes_total{outcome="written"} 1`,
	} {
		if resp.StatusCode != http.StatusOK || !bytes.Contains(metrics, []byte(want+"\n")) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// postHeartbeat posts a heartbeat from the siem source with a Standard
// Webhooks message id (a fresh one when empty).
func (e *e2e) postHeartbeat(t *testing.T, messageID, body string, sign bool) (int, string) {
	t.Helper()
	if messageID == "" {
		messageID = fmt.Sprintf("msg_%d", time.Now().UnixNano())
	}
	req, _ := http.NewRequest(http.MethodPost, e.api.URL+"/v1/heartbeats/siem", strings.NewReader(body))
	e.signer.SetHeaders(req.Header, messageID, time.Now(), []byte(body))
	if !sign {
		req.Header.Set("webhook-signature", "v1,"+strings.Repeat("A", 43)+"=")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var compact bytes.Buffer
	if json.Compact(&compact, data) != nil {
		return resp.StatusCode, string(data)
	}
	return resp.StatusCode, compact.String()
}

// getRaw calls the API with alice's token and returns the raw answer.
func (e *e2e) getRaw(t *testing.T, path string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.api.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}
