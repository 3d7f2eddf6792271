package alerts

import (
	"strings"
	"testing"
	"time"
)

func TestOCSFDecode(t *testing.T) {
	checkGoldenDir(t, NewOCSF("ocsf"), "ocsf")
}

func TestOCSFCloseSameFinding(t *testing.T) {
	d := NewOCSF("ocsf")
	created := decodeFile(t, d, "ocsf", "create")[0]
	closed := decodeFile(t, d, "ocsf", "close")[0]
	checkSameEpisode(t, created, closed)
	wantEq(t, "ID", closed.ID, "f-8c2e1d7a-54b9-4e4f-9a1c-3b6f0e2d9a17")
	wantEq(t, "Asset", closed.Asset, Asset{Model: "fraud-scorer", Endpoint: "fraud-scorer-prod", Tenant: "acme", KeyID: "key-7f3a"})
	// Both events are dated by the finding's creation, not the close.
	wantEq(t, "Time", closed.Time, created.Time)
}

func TestOCSFBatch(t *testing.T) {
	got := decodeFile(t, NewOCSF("ocsf"), "ocsf", "batch")
	if len(got) != 2 {
		t.Fatalf("got %d alerts, want 2", len(got))
	}
	if got[0].ID == got[1].ID {
		t.Errorf("findings without a uid share the derived id %q", got[0].ID)
	}
	// Each finding's id is derived from its own bytes, so it does not change
	// when the finding is sent alone.
	body := string(readFile(t, "testdata/ocsf/batch.json"))
	first := strings.TrimSpace(strings.SplitN(strings.TrimPrefix(strings.TrimSpace(body), "["), "\n", 3)[1])
	alone := decodeOne(t, NewOCSF("ocsf"), strings.TrimSuffix(first, ","))
	wantEq(t, "ID alone", alone.ID, got[0].ID)
	wantEq(t, "first Time (seconds)", got[0].Time, time.Unix(1773480500, 0).UTC())
	wantEq(t, "second Time (RFC 3339)", got[1].Time, time.Date(2026, 3, 14, 9, 30, 11, 0, time.UTC))
}

func TestOCSFSeverity(t *testing.T) {
	tests := []struct {
		name string
		body string
		want int64
	}{
		{"unknown", `{"severity_id":0,"severity":"High"}`, 0},
		{"informational", `{"severity_id":1}`, 1},
		{"low", `{"severity_id":2}`, 2},
		{"medium", `{"severity_id":3}`, 3},
		{"high", `{"severity_id":4}`, 4},
		{"critical", `{"severity_id":5}`, 5},
		{"fatal", `{"severity_id":6}`, 5},
		{"id as a string", `{"severity_id":"4"}`, 4},
		{"id wins over caption", `{"severity_id":2,"severity":"Critical"}`, 2},
		{"other with a known caption", `{"severity_id":99,"severity":"Critical"}`, 5},
		{"other with an unknown caption", `{"severity_id":99,"severity":"Sev0"}`, 0},
		{"undefined id with a caption", `{"severity_id":7,"severity":"Low"}`, 2},
		{"caption alone", `{"severity":"Informational"}`, 1},
		{"none", `{}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantEq(t, "Severity", decodeOne(t, NewOCSF("ocsf"), tt.body).Severity, tt.want)
		})
	}
}

func TestOCSFStatus(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"create", `{"activity_id":1,"status_id":1,"status":"New"}`, "firing"},
		{"update in progress", `{"activity_id":2,"status_id":2,"status":"In Progress"}`, "firing"},
		{"suppressed is not resolved", `{"activity_id":2,"status_id":3,"status":"Suppressed"}`, "firing"},
		{"close", `{"activity_id":3}`, "resolved"},
		{"close as a string", `{"activity_id":"3"}`, "resolved"},
		{"resolved status id", `{"activity_id":2,"status_id":4}`, "resolved"},
		{"resolved caption", `{"status_id":99,"status":"resolved"}`, "resolved"},
		{"closed caption", `{"status":"Closed"}`, "resolved"},
		{"nothing", `{}`, "firing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantEq(t, "Status", decodeOne(t, NewOCSF("ocsf"), tt.body).Status, tt.want)
		})
	}
}

func TestOCSFFields(t *testing.T) {
	tests := []decodedCase{
		{"time in milliseconds", `{"time":1773480413118}`,
			func(t *testing.T, a Alert) { wantTime(t, a.Time, time.UnixMilli(1773480413118)) }},
		{"time in seconds", `{"time":1773480413}`,
			func(t *testing.T, a Alert) { wantTime(t, a.Time, time.Unix(1773480413, 0)) }},
		{"created time wins", `{"time":1773480999000,"finding_info":{"created_time":1773480413000,"first_seen_time":1773470000000}}`,
			func(t *testing.T, a Alert) { wantTime(t, a.Time, time.UnixMilli(1773480413000)) }},
		{"first seen as a last resort", `{"finding_info":{"first_seen_time":1773470000000}}`,
			func(t *testing.T, a Alert) { wantTime(t, a.Time, time.UnixMilli(1773470000000)) }},
		{"rule from the analytic uid", `{"finding_info":{"title":"t","analytic":{"uid":"det-1"}}}`,
			func(t *testing.T, a Alert) {
				wantEq(t, "Rule", a.Rule, "det-1")
				wantEq(t, "Title", a.Title, "t")
			}},
		{"rule from the title", `{"finding_info":{"title":"t"}}`,
			func(t *testing.T, a Alert) { wantEq(t, "Rule", a.Rule, "t") }},
		{"title from the message", `{"message":"m"}`,
			func(t *testing.T, a Alert) { wantEq(t, "Title", a.Title, "m") }},
		{"techniques and ATT&CK ids",
			`{"finding_info":{"attacks":[{"technique":{"uid":"AML.T0051"},"sub_technique":{"uid":"AML.T0051.000"},"tactic":{"uid":"AML.TA0005"}},{"technique":{"uid":"T1190"},"tactic":{"name":"Initial Access"}},{"technique":{"name":"no uid"}},null]},` +
				`"attacks":[{"technique":{"uid":"aml.t0024"},"tactics":[{"uid":"AML.TA0010"},{"name":"Exfiltration"}]},{"sub_technique":{"uid":"T1059.001"}}]}`,
			func(t *testing.T, a Alert) {
				wantEq(t, "Techniques", a.Techniques, []string{"AML.T0024", "AML.T0051", "AML.T0051.000"})
				wantEq(t, "attack.techniques", a.Labels["attack.techniques"], "T1059.001,T1190")
				wantEq(t, "attack.tactics", a.Labels["attack.tactics"], "AML.TA0005,AML.TA0010,Exfiltration,Initial Access")
			}},
		{"an ATLAS id only mentioned is not a technique", `{"finding_info":{"attacks":[{"technique":{"uid":"see AML.T0024"}}]}}`,
			func(t *testing.T, a Alert) {
				wantEq(t, "attack.techniques", a.Labels["attack.techniques"], "see AML.T0024")
				// normalize still finds it in the label value, as for every decoder.
				wantEq(t, "Techniques", a.Techniques, []string{"AML.T0024"})
			}},
		{"resources",
			`{"resources":[{"name":"m1","type":"AI Model","labels":["api_key_id:k1","env"]},{"uid":"arn:e","type":"AWS::SageMaker::Endpoint"},{"name":"m2","type":"model"},{"name":"p","type":"Data Pipeline"},{"name":"x"}]}`,
			func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{
					"api_key_id": "k1", "env": "",
					"resource.ai_model": "m1", "resource.aws_sagemaker_endpoint": "arn:e", "resource.model": "m2",
					"resource.data_pipeline": "p", "resource": "x",
					"model": "m1", "endpoint": "arn:e", "pipeline": "p",
				})
				wantEq(t, "Asset", a.Asset, Asset{Model: "m1", Endpoint: "arn:e", Pipeline: "p", KeyID: "k1"})
			}},
		{"metadata labels win over resources'",
			`{"metadata":{"labels":["model:from-metadata"]},"resources":[{"name":"m1","type":"model","labels":["model:from-resource"]}]}`,
			func(t *testing.T, a Alert) { wantEq(t, "Asset.Model", a.Asset.Model, "from-metadata") }},
		{"labels as an object", `{"metadata":{"labels":{"tenant":"acme","n":1}}}`,
			func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{"tenant": "acme", "n": "1"})
			}},
		{"unmapped", `{"unmapped":{"a":1,"b":{"c":true,"d":[1,"x"],"e":[{}]},"f":null,"g":{"h":{"i":{"j":{"k":"deep"}}}}}}`,
			func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{
					"unmapped.a": "1", "unmapped.b.c": "true", "unmapped.b.d": "1,x",
				})
			}},
		{"metadata", `{"status":"New","metadata":{"uid":"e1","product":{"name":"p","vendor_name":"v"}},"finding_info":{"types":["a","b"],"desc":"d","analytic":{"uid":"u"}}}`,
			func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{
					"ocsf.status": "New", "ocsf.event_uid": "e1", "ocsf.product": "p", "ocsf.vendor": "v",
					"ocsf.finding_types": "a,b", "ocsf.desc": "d", "ocsf.analytic_uid": "u",
				})
			}},
		{"class as a string", `{"class_uid":"2004","finding_info":{"uid":"f1"}}`,
			func(t *testing.T, a Alert) { wantEq(t, "ID", a.ID, "f1") }},
		{"no class is a detection finding", `{"finding_info":{"uid":"f1"}}`,
			func(t *testing.T, a Alert) { wantEq(t, "ID", a.ID, "f1") }},
	}
	checkDecoded(t, NewOCSF("ocsf"), tests)
}

func TestOCSFDecodeErrors(t *testing.T) {
	tests := []refusedBody{
		{name: "not json", body: `class_uid=2004`, wantIs: ErrNotObject},
		{name: "empty body", body: ``, wantIs: ErrNotObject},
		{name: "broken array", body: `[{"class_uid":2004},`, wantIs: ErrNotObject},
		{name: "two arrays", body: `[{}] [{}]`, wantIs: ErrNotObject},
		{name: "empty array", body: ` [ ] `, wantIs: ErrNotObject,
			wantMsg: `body is not a JSON object: an empty array holds no findings (want a Detection Finding object or an array of them)`},
		{name: "string", body: `"finding"`, wantIs: ErrNotObject},
		{name: "other class", body: `{"class_uid":2001}`, wantField: "class_uid",
			wantMsg: `field "class_uid": class 2001 is not a Detection Finding (want 2004)`},
		{name: "class word", body: `{"class_uid":"Detection Finding"}`, wantField: "class_uid",
			wantMsg: `field "class_uid": want an integer id, got "Detection Finding"`},
		{name: "other class in a batch", body: `[{"class_uid":2004},{"class_uid":4001}]`, wantField: "[1].class_uid"},
		{name: "batch element not an object", body: `[{},7]`, wantField: "[1]",
			wantMsg: `field "[1]": want a finding object, got number`},
		{name: "batch of arrays", body: `[[{}]]`, wantField: "[0]"},
		{name: "severity id word", body: `{"severity_id":"high"}`, wantField: "severity_id"},
		{name: "severity id fraction", body: `{"severity_id":4.5}`, wantField: "severity_id"},
		{name: "activity id object", body: `{"activity_id":{}}`, wantField: "activity_id"},
		{name: "time word", body: `{"time":"soon"}`, wantField: "time"},
		{name: "finding_info string", body: `{"finding_info":"x"}`, wantField: "finding_info.analytic.name"},
		{name: "attacks object", body: `{"finding_info":{"attacks":{}}}`, wantField: "finding_info.attacks",
			wantMsg: `field "finding_info.attacks": want an array of objects, got object`},
		{name: "attack string", body: `{"attacks":[{},"T1190"]}`, wantField: "attacks[1]"},
		{name: "index past a null attack", body: `{"attacks":[null,{"technique":"T1190"}]}`, wantField: "attacks[1].technique.uid"},
		{name: "technique string", body: `{"finding_info":{"attacks":[{"technique":"AML.T0024"}]}}`,
			wantField: "finding_info.attacks[0].technique.uid",
			wantMsg:   `field "finding_info.attacks[0].technique.uid": "technique" is a string, not an object`},
		{name: "tactics element", body: `{"attacks":[{"tactics":[{"uid":[]}]}]}`, wantField: "attacks[0].tactics[0].uid"},
		{name: "resources object", body: `{"resources":{"name":"m"}}`, wantField: "resources"},
		{name: "resource name object", body: `{"resources":[{},{"name":{}}]}`, wantField: "resources[1].name"},
		{name: "resource labels number", body: `{"resources":[{"labels":3}]}`, wantField: "resources[0].labels"},
		{name: "metadata label object value", body: `{"metadata":{"labels":{"k":{}}}}`, wantField: "metadata.labels.k"},
		{name: "types number", body: `{"finding_info":{"types":4}}`, wantField: "finding_info.types"},
		{name: "error in a batch element", body: `[{},{"finding_info":{"uid":[]}}]`, wantField: "[1].finding_info.uid"},
	}
	checkRefused(t, NewOCSF("ocsf"), tests)
}

func FuzzOCSFDecode(f *testing.F) {
	fuzzDecoder(f, NewOCSF("ocsf"), "ocsf", "ocsf", fuzzOptions{})
}
