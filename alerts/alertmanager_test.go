package alerts

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"
)

func TestAlertmanagerDecode(t *testing.T) {
	checkGoldenDir(t, NewAlertmanager("prometheus"), "alertmanager")
}

func TestAlertmanagerEpisodeID(t *testing.T) {
	d := NewAlertmanager("prometheus")
	firing := decodeFile(t, d, "alertmanager", "firing")
	resolved := decodeFile(t, d, "alertmanager", "resolved")
	mixed := decodeFile(t, d, "alertmanager", "mixed")
	checkSameEpisode(t, firing[0], resolved[0])
	checkSameEpisode(t, firing[0], mixed[0])
	wantEq(t, "ID", firing[0].ID, "4f6ed6e4f84f5634@2026-03-14T09:26:53.118Z")
	if firing[0].ID == firing[1].ID {
		t.Errorf("two alerts of one group share id %q", firing[0].ID)
	}

	// The same alert firing again after it resolved is a new episode: a new
	// id, but the same incident fingerprint.
	again := bytes.ReplaceAll(readFile(t, filepath.Join("testdata", "alertmanager", "firing.json")),
		[]byte("2026-03-14T09:26:53.118Z"), []byte("2026-03-14T11:40:00Z"))
	next, err := d.Decode(again)
	if err != nil {
		t.Fatal(err)
	}
	if next[0].ID == firing[0].ID {
		t.Errorf("a new firing episode kept id %q", next[0].ID)
	}
	wantEq(t, "Fingerprint of a new episode", next[0].Fingerprint(), firing[0].Fingerprint())
}

// TestLabelsFingerprint pins the fingerprint to Alertmanager's own, computed
// with github.com/prometheus/common/model.LabelSet.Fingerprint.
func TestLabelsFingerprint(t *testing.T) {
	tests := []struct {
		labels map[string]string
		want   string
	}{
		{nil, ""},
		{map[string]string{"alertname": "TrainingDataDrift", "dag_id": "nightly_finetune"}, "20e83acc13865c17"},
		{map[string]string{
			"alertname": "LLMTokenExfiltration", "severity": "critical", "model": "fraud-scorer", "api_key_id": "key-7f3a",
			"tenant": "acme", "atlas_technique": "AML.T0024", "job": "llm-gateway", "instance": "llm-gw-1:9102",
		}, "4f6ed6e4f84f5634"},
	}
	for _, tt := range tests {
		if got := labelsFingerprint(tt.labels); got != tt.want {
			t.Errorf("labelsFingerprint(%v) = %q, want %q", tt.labels, got, tt.want)
		}
	}
}

func TestAlertmanagerFields(t *testing.T) {
	// item wraps one alert's fields in a version 4 payload.
	item := func(fields string) string {
		return `{"version":"4","groupKey":"g","status":"firing","alerts":[{` + fields + `}]}`
	}
	tests := []decodedCase{
		{"severity critical", item(`"labels":{"severity":"critical"}`), wantSeverity(5)},
		{"severity warning", item(`"labels":{"severity":"warning"}`), wantSeverity(3)},
		{"severity info", item(`"labels":{"severity":"info"}`), wantSeverity(1)},
		{"severity number", item(`"labels":{"severity":"2"}`), wantSeverity(2)},
		{"severity word unknown is none", item(`"labels":{"severity":"page"}`), wantSeverity(0)},
		{"priority P1", item(`"labels":{"priority":"P1"}`), wantSeverity(5)},
		{"priority p5", item(`"labels":{"priority":"p5"}`), wantSeverity(1)},
		{"priority digit", item(`"labels":{"priority":"2"}`), wantSeverity(4)},
		{"priority word", item(`"labels":{"priority":"high"}`), wantSeverity(4)},
		{"priority unknown is none", item(`"labels":{"priority":"P9"}`), wantSeverity(0)},
		{"severity wins over priority", item(`"labels":{"severity":"info","priority":"P1"}`), wantSeverity(1)},
		{"unknown severity falls back to priority", item(`"labels":{"severity":"page","priority":"P2"}`), wantSeverity(4)},
		{"no labels", item(`"status":"firing"`), wantSeverity(0)},
		{"status resolved", item(`"status":"resolved"`),
			func(t *testing.T, a Alert) { wantEq(t, "Status", a.Status, "resolved") }},
		{"missing item status is the group's",
			`{"status":"resolved","alerts":[{"labels":{"alertname":"x"}}]}`,
			func(t *testing.T, a Alert) { wantEq(t, "Status", a.Status, "resolved") }},
		{"empty item status is the group's",
			`{"status":"resolved","alerts":[{"status":" "}]}`,
			func(t *testing.T, a Alert) { wantEq(t, "Status", a.Status, "resolved") }},
		{"item status wins over the group's",
			`{"status":"resolved","alerts":[{"status":"firing"}]}`,
			func(t *testing.T, a Alert) { wantEq(t, "Status", a.Status, "firing") }},
		{"no status at all is firing", `{"alerts":[{}]}`,
			func(t *testing.T, a Alert) { wantEq(t, "Status", a.Status, "firing") }},
		{"version missing", `{"alerts":[{"labels":{"alertname":"x"}}]}`,
			func(t *testing.T, a Alert) { wantEq(t, "Rule", a.Rule, "x") }},
		{"version minor", `{"version":"4.1","alerts":[{"labels":{"alertname":"x"}}]}`,
			func(t *testing.T, a Alert) { wantEq(t, "Rule", a.Rule, "x") }},
		{"version number", `{"version":4,"alerts":[{"labels":{"alertname":"x"}}]}`,
			func(t *testing.T, a Alert) { wantEq(t, "Rule", a.Rule, "x") }},
		{"id is fingerprint and startsAt in UTC", item(`"fingerprint":"abc","startsAt":"2026-03-14T10:00:00.5+01:00"`),
			func(t *testing.T, a Alert) {
				wantEq(t, "ID", a.ID, "abc@2026-03-14T09:00:00.5Z")
				wantTime(t, a.Time, time.Date(2026, 3, 14, 9, 0, 0, 5e8, time.UTC))
			}},
		{"zero startsAt leaves the fingerprint", item(`"fingerprint":"abc","startsAt":"0001-01-01T00:00:00Z"`),
			func(t *testing.T, a Alert) {
				wantEq(t, "ID", a.ID, "abc")
				wantEq(t, "Time.IsZero", a.Time.IsZero(), true)
			}},
		{"title is the summary, else the alertname", item(`"labels":{"alertname":"Drift"}`),
			func(t *testing.T, a Alert) { wantEq(t, "Title", a.Title, "Drift") }},
		{"rule from a rulename annotation", item(`"annotations":{"rulename":"drift-rule"}`),
			func(t *testing.T, a Alert) { wantEq(t, "Rule", a.Rule, "drift-rule") }},
		{"labels, annotations and link", item(`"labels":{"model":"m","n":3},"annotations":{"model":"other","atlas":"see AML.T0043"},"generatorURL":"http://p/g"`),
			func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{
					"model": "m", "n": "3", "annotation.model": "other", "annotation.atlas": "see AML.T0043",
					"alertmanager.generator_url": "http://p/g",
				})
				wantEq(t, "Asset.Model", a.Asset.Model, "m")
				wantEq(t, "Techniques", a.Techniques, []string{"AML.T0043"})
			}},
		{"group key", item(`"status":"firing"`),
			func(t *testing.T, a Alert) { wantEq(t, "GroupKey", a.GroupKey, "g") }},
	}
	checkDecoded(t, NewAlertmanager("am"), tests)
}

func TestAlertmanagerDecodeErrors(t *testing.T) {
	tests := []refusedBody{
		{name: "not json", body: `alertname=x`, wantIs: ErrNotObject},
		{name: "array", body: `[{"alerts":[]}]`, wantIs: ErrNotObject},
		{name: "trailing data", body: `{"alerts":[{}]} {}`, wantIs: ErrNotObject},
		{name: "no alerts", body: `{"version":"4","status":"firing"}`, wantField: "alerts",
			wantMsg: `field "alerts": missing or empty: want the Alertmanager webhook payload's array of alerts`},
		{name: "empty alerts", body: `{"alerts":[]}`, wantField: "alerts"},
		{name: "alerts object", body: `{"alerts":{"a":{}}}`, wantField: "alerts",
			wantMsg: `field "alerts": want an array of objects, got object`},
		{name: "alert not an object", body: `{"alerts":[{},"x"]}`, wantField: "alerts[1]",
			wantMsg: `field "alerts[1]": want an object, got string`},
		{name: "unknown version", body: `{"version":"5","alerts":[{}]}`, wantField: "version",
			wantMsg: `field "version": Alertmanager webhook version "5" is not supported (want 4)`},
		{name: "grafana version", body: `{"version":"1","alerts":[{}]}`, wantField: "version"},
		{name: "version object", body: `{"version":{},"alerts":[{}]}`, wantField: "version"},
		{name: "group status unknown", body: `{"status":"pending","alerts":[{}]}`, wantField: "status"},
		{name: "labels array", body: `{"alerts":[{"labels":["a"]}]}`, wantField: "alerts[0].labels"},
		{name: "label value object", body: `{"alerts":[{},{"labels":{"k":{"v":1}}}]}`, wantField: "alerts[1].labels.k",
			wantMsg: `field "alerts[1].labels.k": want a string, number or boolean label value, got object`},
		{name: "annotations string", body: `{"alerts":[{"annotations":"x"}]}`, wantField: "alerts[0].annotations"},
		{name: "startsAt word", body: `{"alerts":[{"startsAt":"now"}]}`, wantField: "alerts[0].startsAt"},
		{name: "status unknown", body: `{"alerts":[{"status":"pending"}]}`, wantField: "alerts[0].status"},
		{name: "fingerprint object", body: `{"alerts":[{"fingerprint":{}}]}`, wantField: "alerts[0].fingerprint"},
	}
	checkRefused(t, NewAlertmanager("am"), tests)
}

func FuzzAlertmanagerDecode(f *testing.F) {
	fuzzDecoder(f, NewAlertmanager("prometheus"), "prometheus", "alertmanager", fuzzOptions{})
}
