package alerts

import (
	"testing"
	"time"
)

func TestDatadogDecode(t *testing.T) {
	checkGoldenDir(t, NewDatadog("datadog"), "datadog")
}

// TestDatadogRecoveredSameIncident checks that a monitor's Recovered
// notification reaches the incident its Triggered one opened, as an alert
// of its own (each Datadog event has its own id).
func TestDatadogRecoveredSameIncident(t *testing.T) {
	d := NewDatadog("datadog")
	triggered := decodeFile(t, d, "datadog", "triggered")[0]
	recovered := decodeFile(t, d, "datadog", "recovered")[0]
	checkSameIncident(t, triggered, recovered)
	wantEq(t, "recovered Rule", recovered.Rule, "Completion token spike on LLM gateway")
	wantEq(t, "recovered Severity", recovered.Severity, triggered.Severity)
	if recovered.ID == triggered.ID {
		t.Errorf("two Datadog events share id %q", recovered.ID)
	}
}

func TestDatadogStatus(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"triggered", `{"alert_transition":"Triggered"}`, "firing"},
		{"re-triggered", `{"alert_transition":"Re-Triggered"}`, "firing"},
		{"warn", `{"alert_transition":"Warn"}`, "firing"},
		{"no data", `{"alert_transition":"No Data"}`, "firing"},
		{"renotify", `{"alert_transition":"Renotify"}`, "firing"},
		{"recovered", `{"alert_transition":"Recovered"}`, "resolved"},
		{"recovered any case", `{"alert_transition":" recovered "}`, "resolved"},
		{"transition wins over alert type", `{"alert_transition":"Triggered","alert_type":"success"}`, "firing"},
		{"alert_status holding a transition", `{"alert_status":"Recovered"}`, "resolved"},
		{"alert_status summary is not a status", `{"alert_status":"llm.tokens over model:m was <= 10","title":"[Triggered] x"}`, "firing"},
		{"null transition falls back to the title", `{"alert_transition":"Null","title":"[Recovered] x"}`, "resolved"},
		{"unknown transition falls back to the title", `{"alert_transition":"Snoozed","title":"[P3] [Recovered on {host:a}] x"}`, "resolved"},
		{"title prefix", `{"title":"[Recovered on {model:m}] Token spike"}`, "resolved"},
		{"alert type success", `{"alert_type":"success"}`, "resolved"},
		{"unexpanded transition", `{"alert_transition":"$ALERT_TRANSITION","alert_type":"error"}`, "firing"},
		{"nothing", `{}`, "firing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := decodeOne(t, NewDatadog("dd"), tt.body)
			wantEq(t, "Status", a.Status, tt.want)
		})
	}
}

func TestDatadogSeverity(t *testing.T) {
	tests := []struct {
		name string
		body string
		want int64
	}{
		{"P1", `{"alert_priority":"P1"}`, 5},
		{"P2", `{"alert_priority":"P2"}`, 4},
		{"P3", `{"alert_priority":"P3"}`, 3},
		{"P4", `{"alert_priority":"P4"}`, 2},
		{"P5", `{"alert_priority":"P5"}`, 1},
		{"lower case", `{"alert_priority":"p2"}`, 4},
		{"bare digit is a priority", `{"alert_priority":"1"}`, 5},
		{"number", `{"alert_priority":4}`, 2},
		{"empty priority is none", `{"alert_priority":"","alert_type":"warning"}`, 3},
		{"priority wins over alert type", `{"alert_priority":"P5","alert_type":"error"}`, 1},
		{"priority wins over the title", `{"alert_priority":"P2","title":"[P1] [Triggered] x"}`, 4},
		{"title priority", `{"title":"[P1] [Triggered on {host:a}] x","alert_type":"info"}`, 5},
		{"alert_title priority", `{"title":"[Triggered] x","alert_title":"[P3] [Triggered] x"}`, 3},
		{"error", `{"alert_type":"error"}`, 4},
		{"warning", `{"alert_type":"warning"}`, 3},
		{"info", `{"alert_type":"info"}`, 1},
		{"success says nothing", `{"alert_type":"success"}`, 0},
		{"unknown alert type says nothing", `{"alert_type":"user_update"}`, 0},
		{"unexpanded priority", `{"alert_priority":"$ALERT_PRIORITY","alert_type":"error"}`, 4},
		{"none", `{"title":"x"}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := decodeOne(t, NewDatadog("dd"), tt.body)
			wantEq(t, "Severity", a.Severity, tt.want)
		})
	}
}

func TestSplitDatadogTitle(t *testing.T) {
	tests := []struct {
		title, name, priority, transition string
	}{
		{"[Triggered] Host is Down", "Host is Down", "", "Triggered"},
		{"[Triggered on {host:ip-012345}] Host is Down", "Host is Down", "", "Triggered"},
		{"[P1] [Re-Triggered on {api_key_id:k,model:m}] Token spike", "Token spike", "1", "Re-Triggered"},
		{"[P4] [No Data] Feature store lag", "Feature store lag", "4", "No Data"},
		{"[Re-No Data on {dag:x}] Drift", "Drift", "", "Re-No Data"},
		{"[Warn] [prod] GPU memory", "[prod] GPU memory", "", "Warn"},
		{"[prod] GPU memory", "[prod] GPU memory", "", ""},
		{"  plain title ", "plain title", "", ""},
		{"[P1] no transition", "[P1] no transition", "", ""},
		{"", "", "", ""},
	}
	for _, tt := range tests {
		name, priority, transition := splitDatadogTitle(tt.title)
		if name != tt.name || priority != tt.priority || transition != tt.transition {
			t.Errorf("splitDatadogTitle(%q) = %q, %q, %q; want %q, %q, %q",
				tt.title, name, priority, transition, tt.name, tt.priority, tt.transition)
		}
	}
}

func TestDatadogFields(t *testing.T) {
	tests := []decodedCase{
		{"tags to labels", `{"tags":"env:prod,monitor,url:https://x.internal/a,model:m,model:other"}`,
			func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{
					"env": "prod", "monitor": "", "url": "https://x.internal/a", "model": "m",
				})
				wantEq(t, "Asset.Model", a.Asset.Model, "m")
			}},
		{"tags as a list", `{"tags":["api_key_id:key-1"," team:ml "]}`,
			func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{"api_key_id": "key-1", "team": "ml"})
				wantEq(t, "Asset.KeyID", a.Asset.KeyID, "key-1")
			}},
		{"scope fills what tags lack", `{"tags":"model:a","alert_scope":"model:b, endpoint:e"}`,
			func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{"model": "a", "endpoint": "e"})
			}},
		{"lowercased ATLAS ids in tags", `{"tags":"atlas:aml.t0024,aml.t0051.001,note:not-aml.t00"}`,
			func(t *testing.T, a Alert) {
				wantEq(t, "Techniques", a.Techniques, []string{"AML.T0024", "AML.T0051.001"})
			}},
		{"payload fields win over tags", `{"hostname":"h1","tags":"datadog.hostname:spoofed"}`,
			func(t *testing.T, a Alert) { wantEq(t, "hostname", a.Labels["datadog.hostname"], "h1") }},
		{"host_name as ServiceNow's template names it", `{"host_name":"h2"}`,
			func(t *testing.T, a Alert) { wantEq(t, "hostname", a.Labels["datadog.hostname"], "h2") }},
		{"rule falls back to the monitor id", `{"alert_id":148829302}`,
			func(t *testing.T, a Alert) {
				wantEq(t, "Rule", a.Rule, "148829302")
				wantEq(t, "Title", a.Title, "148829302")
			}},
		{"title falls back to alert_title", `{"alert_title":"[Triggered] x"}`,
			func(t *testing.T, a Alert) {
				wantEq(t, "Title", a.Title, "[Triggered] x")
				wantEq(t, "Rule", a.Rule, "x")
			}},
		{"date in epoch milliseconds", `{"date":"1773480413000","last_updated":"1773480999000"}`,
			func(t *testing.T, a Alert) { wantTime(t, a.Time, time.UnixMilli(1773480413000)) }},
		{"last_updated when no date", `{"date":"$DATE","last_updated":1773480999000}`,
			func(t *testing.T, a Alert) { wantTime(t, a.Time, time.UnixMilli(1773480999000)) }},
		{"unexpanded variables are absent", `{"id":"$ID","aggreg_key":"$AGGREG_KEY","tags":"$TAGS","org":{"name":"$ORG_NAME"},"x":["$Y"]}`,
			func(t *testing.T, a Alert) {
				wantEq(t, "len(ID)", len(a.ID), 32)
				wantEq(t, "GroupKey", a.GroupKey, "")
				wantEq(t, "Labels", a.Labels, map[string]string{})
			}},
		{"a dollar amount is not a variable", `{"title":"$5 of tokens","alert_metric":"$cost"}`,
			func(t *testing.T, a Alert) {
				wantEq(t, "Title", a.Title, "$5 of tokens")
				wantEq(t, "metric", a.Labels["datadog.metric"], "$cost")
			}},
		{"numeric id kept exactly", `{"id":7612598273659821654123}`,
			func(t *testing.T, a Alert) { wantEq(t, "ID", a.ID, "7612598273659821654123") }},
	}
	checkDecoded(t, NewDatadog("dd"), tests)
}

func TestDatadogDecodeErrors(t *testing.T) {
	tests := []refusedBody{
		{name: "not json", body: `title=x`, wantIs: ErrNotObject},
		{name: "form encoded", body: `payload=%7B%22id%22%3A1%7D`, wantIs: ErrNotObject},
		{name: "array", body: `[{"id":"1"}]`, wantIs: ErrNotObject},
		{name: "unknown priority", body: `{"alert_priority":"urgent"}`, wantField: "alert_priority", wantIs: ErrUnknownSeverity,
			wantMsg: `field "alert_priority": not a known severity: "urgent" (want P1 to P5)`},
		{name: "priority out of range", body: `{"alert_priority":"P0"}`, wantField: "alert_priority", wantIs: ErrUnknownSeverity},
		{name: "date word", body: `{"date":"yesterday"}`, wantField: "date"},
		{name: "tags number", body: `{"tags":42}`, wantField: "tags"},
		{name: "org string", body: `{"org":"acme"}`, wantField: "org.id",
			wantMsg: `field "org.id": "org" is a string, not an object`},
		{name: "id object", body: `{"id":{"v":1}}`, wantField: "id"},
		{name: "title list", body: `{"title":["a"]}`, wantField: "title"},
	}
	checkRefused(t, NewDatadog("dd"), tests)
}

func FuzzDatadogDecode(f *testing.F) {
	fuzzDecoder(f, NewDatadog("datadog"), "datadog", "datadog", fuzzOptions{})
}
