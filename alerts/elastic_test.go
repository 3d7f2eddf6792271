package alerts

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

func TestElasticDecode(t *testing.T) {
	checkGoldenDir(t, NewElastic("elastic"), "elastic")
}

// TestElasticFormsAgree checks that one alert given as flat dotted keys,
// nested objects or a mix of both decodes to the same alert.
func TestElasticFormsAgree(t *testing.T) {
	d := NewElastic("elastic")
	decode := func(name string) Alert {
		got := decodeFile(t, d, "elastic", name)
		if len(got) != 1 {
			t.Fatalf("%s: %d alerts, want 1", name, len(got))
		}
		got[0].Raw = nil
		return got[0]
	}
	flat := decode("flat")
	for _, name := range []string{"nested", "mixed"} {
		if got := decode(name); !reflect.DeepEqual(got, flat) {
			t.Errorf("%s decodes differently from flat:\ngot  %+v\nwant %+v", name, got, flat)
		}
	}
}

func TestElasticBatch(t *testing.T) {
	d := NewElastic("elastic")
	got := decodeFile(t, d, "elastic", "batch")
	if len(got) != 2 {
		t.Fatalf("got %d alerts, want 2", len(got))
	}
	wantEq(t, "IDs", []string{got[0].ID, got[1].ID}, []string{
		"b81d2e9f0c4a7365e1f8d0c2b9a4e7f3c6d5b8a1e0f2d9c4b7a6e3f1d0c8b5a2",
		"e3c9a0d17b5f4e2c8a6d1f0b9e7c3a5d2f8b4e6c0a1d9f7b3e5c2a8d6f0b1e4c",
	})
	wantEq(t, "Status", []string{got[0].Status, got[1].Status}, []string{"firing", "resolved"})

	ctx := decodeFile(t, d, "elastic", "context_batch")
	if len(ctx) != 2 {
		t.Fatalf("context batch: got %d alerts, want 2", len(ctx))
	}
	wantEq(t, "ID from _id", ctx[0].ID, "a7c1e5f9b3d2468097e1c3a5b7d9f0e2c4a6b8d0f1e3c5a7b9d2f4e6a8c0b1d3")
	if len(ctx[1].ID) != 32 || ctx[1].ID == ctx[0].ID {
		t.Errorf("second alert's id %q: want a derived id of its own", ctx[1].ID)
	}
	// A derived id depends on the alert document only, not on its batch.
	alone := decodeOne(t, d, `{"alerts":[{"host.name":"mlflow-02","kibana.alert.severity":"medium","kibana.alert.rule.name":"Model registry artifact overwritten outside CI"}]}`)
	wantEq(t, "derived id in another batch", alone.ID, ctx[1].ID)

	empty, err := d.Decode([]byte(`{"alerts":[]}`))
	if err != nil || len(empty) != 0 {
		t.Errorf("empty batch: got %d alerts, error %v; want none and no error", len(empty), err)
	}
}

func TestElasticDecodeErrors(t *testing.T) {
	checkRefused(t, NewElastic("elastic"), []refusedBody{
		{name: "not json", body: `kibana.alert.uuid=x`, wantIs: ErrNotObject},
		{name: "array", body: `[{"kibana.alert.uuid":"x"}]`, wantIs: ErrNotObject,
			wantMsg: `body is not a JSON object: got array`},
		{name: "string", body: `"alert"`, wantIs: ErrNotObject},
		{name: "alerts not a list", body: `{"alerts":"[{}]"}`, wantField: "alerts",
			wantMsg: `field "alerts": want a list of alert documents, got string`},
		{name: "context alerts object", body: `{"context":{"alerts":{"a":{}}}}`, wantField: "context.alerts"},
		{name: "batch member not an object", body: `{"alerts":[{},"x"]}`, wantField: "alerts[1]",
			wantMsg: `field "alerts[1]": want an alert document (an object), got string`},
		{name: "batch member field", body: `{"alerts":[{"kibana.alert.severity":"urgent"}]}`,
			wantField: "alerts[0].kibana.alert.severity", wantIs: ErrUnknownSeverity},
		{name: "context batch member field", body: `{"context":{"alerts":[{"kibana":{"alert":{"uuid":{}}}}]}}`,
			wantField: "context.alerts[0].kibana.alert.uuid"},
		{name: "uuid object", body: `{"kibana.alert.uuid":{"v":1}}`, wantField: "kibana.alert.uuid"},
		{name: "kibana not an object", body: `{"kibana":"x"}`, wantField: "kibana.alert.uuid",
			wantMsg: `field "kibana.alert.uuid": "kibana" is a string, not an object`},
		{name: "rule name list", body: `{"kibana":{"alert":{"rule":{"name":["a"]}}}}`, wantField: "kibana.alert.rule.name"},
		{name: "severity boolean", body: `{"kibana.alert.severity":true}`, wantField: "kibana.alert.severity"},
		{name: "risk score word", body: `{"kibana.alert.risk_score":"high"}`, wantField: "kibana.alert.risk_score",
			wantMsg: `field "kibana.alert.risk_score": not a risk score: "high" (want a number 0-100)`},
		{name: "risk score over 100", body: `{"kibana.alert.risk_score":150}`, wantField: "kibana.alert.risk_score"},
		{name: "risk score negative", body: `{"kibana.alert.risk_score":-1}`, wantField: "kibana.alert.risk_score"},
		{name: "risk score object", body: `{"kibana.alert.risk_score":{"v":1}}`, wantField: "kibana.alert.risk_score"},
		{name: "timestamp word", body: `{"@timestamp":"now"}`, wantField: "@timestamp"},
		{name: "original time word", body: `{"kibana.alert.original_time":"then"}`, wantField: "kibana.alert.original_time"},
		{name: "workflow status object", body: `{"kibana.alert.workflow_status":{}}`, wantField: "kibana.alert.workflow_status"},
		{name: "tags number", body: `{"kibana.alert.rule.tags":5}`, wantField: "kibana.alert.rule.tags"},
		{name: "tags list of numbers", body: `{"kibana.alert.rule.tags":["a",5]}`, wantField: "kibana.alert.rule.tags"},
		{name: "labels list", body: `{"labels":["model:x"]}`, wantField: "labels"},
		{name: "threat technique id number", body: `{"kibana.alert.rule.threat":[{"technique":[{"id":24}]}]}`,
			wantField: "kibana.alert.rule.threat[0].technique[0].id",
			wantMsg:   `field "kibana.alert.rule.threat[0].technique[0].id": want a string id, got number`},
		{name: "event threat tactic id object", body: `{"threat":{"tactic":{"id":{"x":1}}}}`, wantField: "threat.tactic.id"},
		{name: "flat threat id number", body: `{"threat.technique.subtechnique.id":[1]}`, wantField: "threat.technique.subtechnique.id[0]"},
	})
}

func TestElasticSeverity(t *testing.T) {
	tests := []struct {
		fields string
		want   int64
	}{
		{`{}`, 0},
		{`{"kibana.alert.severity":"low"}`, 2},
		{`{"kibana.alert.severity":"medium"}`, 3},
		{`{"kibana.alert.severity":"high"}`, 4},
		{`{"kibana.alert.severity":"critical"}`, 5},
		{`{"kibana.alert.severity":"Critical","kibana.alert.risk_score":10}`, 5},
		{`{"kibana.alert.severity":"","kibana.alert.risk_score":10}`, 2},
		{`{"kibana.alert.risk_score":0}`, 2},
		{`{"kibana.alert.risk_score":21}`, 2},
		{`{"kibana.alert.risk_score":21.9}`, 2},
		{`{"kibana.alert.risk_score":22}`, 3},
		{`{"kibana.alert.risk_score":47}`, 3},
		{`{"kibana.alert.risk_score":48}`, 4},
		{`{"kibana.alert.risk_score":73}`, 4},
		{`{"kibana.alert.risk_score":74}`, 5},
		{`{"kibana.alert.risk_score":99}`, 5},
		{`{"kibana.alert.risk_score":100}`, 5},
		{`{"kibana.alert.risk_score":"47"}`, 3},
		{`{"kibana.alert.risk_score":""}`, 0},
		{`{"kibana":{"alert":{"risk_score":73}}}`, 4},
	}
	for _, tt := range tests {
		t.Run(tt.fields, func(t *testing.T) {
			wantEq(t, "Severity", decodeOne(t, NewElastic("elastic"), tt.fields).Severity, tt.want)
		})
	}
}

func TestElasticStatus(t *testing.T) {
	tests := []struct {
		workflow, status string
		want             string
	}{
		{"", "", "firing"},
		{"open", "active", "firing"},
		{"acknowledged", "active", "firing"},
		{"closed", "active", "resolved"},
		{"Closed", "", "resolved"},
		{"open", "recovered", "resolved"},
		{"", "untracked", "firing"},
	}
	for _, tt := range tests {
		t.Run(tt.workflow+"/"+tt.status, func(t *testing.T) {
			body := fmt.Sprintf(`{"kibana.alert.workflow_status":%q,"kibana.alert.status":%q}`, tt.workflow, tt.status)
			wantEq(t, "Status", decodeOne(t, NewElastic("elastic"), body).Status, tt.want)
		})
	}
}

func TestElasticDecodeFields(t *testing.T) {
	tests := []decodedCase{
		{name: "rule name is rule and title", body: `{"kibana.alert.rule.name":"LLM jailbreak"}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Rule", a.Rule, "LLM jailbreak")
				wantEq(t, "Title", a.Title, "LLM jailbreak")
			}},
		{name: "uuid wins over _id", body: `{"_id":"doc","kibana.alert.uuid":"alert"}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "ID", a.ID, "alert") }},
		{name: "rule uuid is the group key", body: `{"kibana.alert.rule.uuid":"u","kibana.alert.rule.rule_id":"r"}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "GroupKey", a.GroupKey, "u") }},
		{name: "rule_id is the group key without a uuid", body: `{"kibana.alert.rule.rule_id":"r"}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "GroupKey", a.GroupKey, "r") }},
		{name: "timestamp before original time", body: `{"@timestamp":"2026-03-14T10:00:00Z","kibana.alert.original_time":"2026-03-14T09:00:00Z"}`,
			check: func(t *testing.T, a Alert) { wantTime(t, a.Time, time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)) }},
		{name: "original time without a timestamp", body: `{"kibana.alert.original_time":"2026-03-14T09:00:00+01:00"}`,
			check: func(t *testing.T, a Alert) { wantTime(t, a.Time, time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC)) }},
		{name: "no time stays zero", body: `{}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Time.IsZero", a.Time.IsZero(), true) }},
		{name: "tags become labels and atlas ids techniques", body: `{"kibana.alert.rule.tags":["LLM","AML.T0024","model:fraud-scorer"]}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{"tag.LLM": "true", "tag.AML.T0024": "true", "tag.model:fraud-scorer": "true", "model": "fraud-scorer"})
				wantEq(t, "Techniques", a.Techniques, []string{"AML.T0024"})
				wantEq(t, "Asset.Model", a.Asset.Model, "fraud-scorer")
			}},
		{name: "a name:value tag does not replace a label", body: `{"labels":{"model":"from-label"},"kibana.alert.rule.tags":["model:from-tag"]}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Labels[model]", a.Labels["model"], "from-label") }},
		{name: "rule threat splits atlas from attack", body: `{"kibana.alert.rule.threat":[
				{"framework":"MITRE ATLAS","tactic":{"id":"AML.TA0005"},"technique":[{"id":"AML.T0051","subtechnique":[{"id":"AML.T0051.000"}]}]},
				{"framework":"MITRE ATT&CK","tactic":{"id":"TA0001"},"technique":[{"id":"T1190"},{"id":"T1078","subtechnique":[{"id":"T1078.004"}]}]}]}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Techniques", a.Techniques, []string{"AML.T0051", "AML.T0051.000"})
				wantEq(t, "Labels", a.Labels, map[string]string{"mitre.techniques": "T1078,T1078.004,T1190", "mitre.tactics": "AML.TA0005,TA0001"})
			}},
		{name: "empty threat", body: `{"kibana.alert.rule.threat":[],"threat":{}}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Techniques", a.Techniques, []string{})
				wantEq(t, "Labels", a.Labels, map[string]string{})
			}},
		{name: "event threat as flat keys", body: `{"threat.technique.id":["AML.T0054","T1059"],"threat.tactic.id":"TA0002","threat.technique.name":["LLM Jailbreak","x"]}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Techniques", a.Techniques, []string{"AML.T0054"})
				wantEq(t, "Labels", a.Labels, map[string]string{"mitre.techniques": "T1059", "mitre.tactics": "TA0002"})
			}},
		{name: "labels nested and flat, flat wins", body: `{"labels":{"model":"nested","tenant":"t"},"labels.model":"flat"}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{"model": "flat", "tenant": "t"})
				wantEq(t, "Asset", a.Asset, Asset{Model: "flat", Tenant: "t"})
			}},
		{name: "ecs fields become labels, lists joined", body: `{"host":{"name":"gw-1","ip":["10.0.0.1","10.0.0.2"]},"user.name":"jdoe","process":"not an object"}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{"host.name": "gw-1", "host.ip": "10.0.0.1,10.0.0.2", "user.name": "jdoe"})
			}},
		{name: "gen_ai model is the asset's model", body: `{"gen_ai":{"request":{"model":{"id":"gpt-4o"}}},"labels":{"model":"label"}}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Asset.Model", a.Asset.Model, "gpt-4o") }},
		{name: "opentelemetry gen_ai model", body: `{"gen_ai.request.model":"llama-3-70b"}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Asset.Model", a.Asset.Model, "llama-3-70b") }},
	}
	checkDecoded(t, NewElastic("elastic"), tests)
}

func FuzzElasticDecode(f *testing.F) {
	fuzzDecoder(f, NewElastic("elastic"), "elastic", "elastic", fuzzOptions{emptyOK: true, seeds: []string{
		`{"alerts":[{"kibana.alert.risk_score":"74"},{}]}`,
		`{"threat.technique.id":["AML.T0054"],"threat":[{"technique":[{"id":"T1"}]}]}`,
	}})
}
