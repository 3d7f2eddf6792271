package alerts

import "testing"

func TestGrafanaDecode(t *testing.T) {
	checkGoldenDir(t, NewGrafana("grafana"), "grafana")
}

func TestGrafanaEpisodeID(t *testing.T) {
	d := NewGrafana("grafana")
	firing := decodeFile(t, d, "grafana", "firing")
	resolved := decodeFile(t, d, "grafana", "resolved")
	if len(firing) != 2 || len(resolved) != 1 {
		t.Fatalf("got %d firing and %d resolved alerts, want 2 and 1", len(firing), len(resolved))
	}
	checkSameEpisode(t, firing[0], resolved[0])
	// The title and values changed between the notices; the id did not.
	wantEq(t, "ID", resolved[0].ID, "e4e39d062f25bfe6@2026-03-14T09:26:50Z")
	if firing[0].ID == firing[1].ID || firing[0].Fingerprint() == firing[1].Fingerprint() {
		t.Errorf("alerts for two models share id %q or incident %q", firing[0].ID, firing[0].Fingerprint())
	}
}

func TestGrafanaFields(t *testing.T) {
	tests := []decodedCase{
		{"severity from labels only",
			`{"alerts":[{"labels":{"severity":"critical"},"annotations":{"severity":"info"}}]}`, wantSeverity(5)},
		{"no severity label", `{"alerts":[{"annotations":{"severity":"critical"}}]}`, wantSeverity(0)},
		{"priority label", `{"alerts":[{"labels":{"priority":"P4"}}]}`, wantSeverity(2)},
		{"each alert its own status",
			`{"status":"firing","alerts":[{"status":"resolved","labels":{"alertname":"a"}}]}`,
			func(t *testing.T, a Alert) { wantEq(t, "Status", a.Status, "resolved") }},
		{"grafana links and value string",
			`{"alerts":[{"generatorURL":"g","silenceURL":"s","dashboardURL":"d","panelURL":"","valueString":"[ var='A' value=1 ]","values":{"A":1}}]}`,
			func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{
					"grafana.generator_url": "g", "grafana.silence_url": "s", "grafana.dashboard_url": "d",
					"grafana.value_string": "[ var='A' value=1 ]",
				})
			}},
		{"a label named like an added one wins",
			`{"alerts":[{"labels":{"grafana.silence_url":"mine"},"silenceURL":"s"}]}`,
			func(t *testing.T, a Alert) { wantEq(t, "silence label", a.Labels["grafana.silence_url"], "mine") }},
		{"summary is the title", `{"alerts":[{"labels":{"alertname":"r"},"annotations":{"summary":"s"}}]}`,
			func(t *testing.T, a Alert) {
				wantEq(t, "Rule", a.Rule, "r")
				wantEq(t, "Title", a.Title, "s")
			}},
		{"group title is not an alert's", `{"title":"[FIRING:1] r","alerts":[{"labels":{"alertname":"r"}}]}`,
			func(t *testing.T, a Alert) { wantEq(t, "Title", a.Title, "r") }},
		{"version 1", `{"version":"1","groupKey":"k","alerts":[{}]}`,
			func(t *testing.T, a Alert) { wantEq(t, "GroupKey", a.GroupKey, "k") }},
	}
	checkDecoded(t, NewGrafana("grafana"), tests)
}

func TestGrafanaDecodeErrors(t *testing.T) {
	tests := []refusedBody{
		{name: "not json", body: `{"alerts":`, wantIs: ErrNotObject},
		{name: "bare string", body: `"firing"`, wantIs: ErrNotObject},
		{name: "legacy alerting payload", body: `{"ruleName":"r","state":"alerting","evalMatches":[]}`, wantField: "alerts",
			wantMsg: `field "alerts": missing or empty: want the Grafana webhook payload's array of alerts`},
		{name: "alertmanager version", body: `{"version":"4","alerts":[{}]}`, wantField: "version",
			wantMsg: `field "version": Grafana webhook version "4" is not supported (want 1)`},
		{name: "panelURL number list", body: `{"alerts":[{"panelURL":[1]}]}`, wantField: "alerts[0].panelURL"},
		{name: "valueString object", body: `{"alerts":[{},{},{"valueString":{}}]}`, wantField: "alerts[2].valueString"},
		{name: "groupKey object", body: `{"groupKey":{},"alerts":[{}]}`, wantField: "groupKey"},
	}
	checkRefused(t, NewGrafana("grafana"), tests)
}

func FuzzGrafanaDecode(f *testing.F) {
	fuzzDecoder(f, NewGrafana("grafana"), "grafana", "grafana", fuzzOptions{})
}
