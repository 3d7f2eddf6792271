package alerts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// genericCase is one payload in testdata/generic: name.json is decoded with
// the mapping and compared with name.golden.json.
type genericCase struct {
	name    string
	source  string
	mapping GenericMapping
}

func genericCases() []genericCase {
	// An Elastic Security alert, whose keys are flat and dotted.
	elastic := GenericMapping{
		ID:            "kibana.alert.uuid",
		Rule:          "kibana.alert.rule.name",
		Title:         "kibana.alert.reason",
		Severity:      "kibana.alert.severity",
		Status:        "kibana.alert.workflow_status",
		Time:          "@timestamp",
		Category:      "labels.category",
		Techniques:    "threat.technique.id",
		GroupKey:      "kibana.alert.rule.rule_id",
		AssetModel:    "labels.model",
		AssetEndpoint: "url.full",
		AssetPipeline: "service.name",
		AssetTenant:   "labels.tenant",
		Labels:        "labels",
	}
	// A metrics monitor's templated webhook, nested, with numbers and no techniques.
	monitor := GenericMapping{
		ID:          "alert_id",
		Rule:        "monitor.name",
		Severity:    "priority",
		Status:      "state",
		Time:        "last_updated",
		Category:    "-",
		Techniques:  "-",
		GroupKey:    "monitor.id",
		AssetModel:  "meta.model",
		AssetTenant: "meta.tenant",
		AssetKeyID:  "meta.api_key",
		Labels:      "meta",
	}
	return []genericCase{
		{name: "model_extraction", source: "generic"},
		{name: "minimal", source: "generic"},
		{name: "resolved_epoch", source: "generic"},
		{name: "elastic", source: "elastic", mapping: elastic},
		{name: "monitor_recovered", source: "monitor", mapping: monitor},
	}
}

func TestGenericDecode(t *testing.T) {
	for _, tc := range genericCases() {
		t.Run(tc.name, func(t *testing.T) {
			checkGoldenFile(t, NewGeneric(tc.source, tc.mapping), "generic", tc.name)
		})
	}
}

func TestGenericDecodeErrors(t *testing.T) {
	checkRefused(t, NewGeneric("generic", GenericMapping{}), []refusedBody{
		{name: "not json", body: `rule=x`, wantIs: ErrNotObject},
		{name: "empty body", body: ``, wantIs: ErrNotObject},
		{name: "array", body: `[{"rule":"x"}]`, wantIs: ErrNotObject,
			wantMsg: `body is not a JSON object: got array`},
		{name: "string", body: `"x"`, wantIs: ErrNotObject},
		{name: "null", body: `null`, wantIs: ErrNotObject},
		{name: "trailing data", body: `{"rule":"x"} {"rule":"y"}`, wantIs: ErrNotObject},
		{name: "unknown severity word", body: `{"severity":"urgent"}`, wantField: "severity", wantIs: ErrUnknownSeverity,
			wantMsg: `field "severity": not a known severity: "urgent" (want 1-5 or info|low|medium|high|critical)`},
		{name: "severity out of range", body: `{"severity":7}`, wantField: "severity", wantIs: ErrUnknownSeverity,
			wantMsg: `field "severity": not a known severity: 7 (want 1-5 or info|low|medium|high|critical)`},
		{name: "severity object", body: `{"severity":{"level":3}}`, wantField: "severity",
			wantMsg: `field "severity": want a number or a string, got object`},
		{name: "severity boolean", body: `{"severity":true}`, wantField: "severity"},
		{name: "unknown status", body: `{"status":"pending"}`, wantField: "status"},
		{name: "status number", body: `{"status":1}`, wantField: "status"},
		{name: "time word", body: `{"time":"yesterday"}`, wantField: "time"},
		{name: "time negative", body: `{"time":-5}`, wantField: "time"},
		{name: "time beyond year 9999", body: `{"time":900000000000}`, wantField: "time"},
		{name: "time before year 1", body: `{"time":"0000-01-01T00:00:00+01:00"}`, wantField: "time"},
		{name: "time object", body: `{"time":{"sec":1}}`, wantField: "time"},
		{name: "id object", body: `{"id":{"value":"a-1"}}`, wantField: "id"},
		{name: "intermediate not an object", body: `{"asset":"fraud-scorer"}`, wantField: "asset.model",
			wantMsg: `field "asset.model": "asset" is a string, not an object`},
		{name: "techniques number", body: `{"techniques":24}`, wantField: "techniques"},
		{name: "techniques list of numbers", body: `{"techniques":["AML.T0024",24]}`, wantField: "techniques"},
		{name: "labels array", body: `{"labels":["a"]}`, wantField: "labels"},
		{name: "label value object", body: `{"labels":{"k":{"nested":1}}}`, wantField: "labels.k"},
		{name: "first error wins", body: `{"id":[],"severity":"urgent"}`, wantField: "id"},
	})
	// A field read by a mapped path is named by that path.
	mapped := []struct {
		mapping GenericMapping
		refused refusedBody
	}{
		{GenericMapping{Severity: "labels.severity"}, refusedBody{name: "mapped severity",
			body: `{"labels":{"severity":"sev1"}}`, wantField: "labels.severity", wantIs: ErrUnknownSeverity}},
		{GenericMapping{ID: "alert.id"}, refusedBody{name: "mapped id array",
			body: `{"alert":{"id":["a","b"]}}`, wantField: "alert.id"}},
	}
	for _, tt := range mapped {
		t.Run(tt.refused.name, func(t *testing.T) { tt.refused.check(t, NewGeneric("generic", tt.mapping)) })
	}
}

func TestGenericDecodeFields(t *testing.T) {
	tests := []struct {
		name    string
		mapping GenericMapping
		body    string
		check   func(t *testing.T, a Alert)
	}{
		{name: "large numeric id kept exactly", body: `{"id":12345678901234567890123}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "ID", a.ID, "12345678901234567890123") }},
		{name: "title falls back to rule", body: `{"rule":"r-1","title":""}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Title", a.Title, "r-1") }},
		{name: "no time stays zero", body: `{"rule":"r"}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Time.IsZero", a.Time.IsZero(), true) }},
		{name: "epoch zero stays zero", body: `{"time":0}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Time.IsZero", a.Time.IsZero(), true) }},
		{name: "epoch seconds", body: `{"time":1773480413}`,
			check: func(t *testing.T, a Alert) { wantTime(t, a.Time, time.Unix(1773480413, 0)) }},
		{name: "epoch seconds as string", body: `{"time":"1773480413"}`,
			check: func(t *testing.T, a Alert) { wantTime(t, a.Time, time.Unix(1773480413, 0)) }},
		{name: "epoch fractional seconds", body: `{"time":1773480413.25}`,
			check: func(t *testing.T, a Alert) { wantTime(t, a.Time, time.Unix(1773480413, 250e6)) }},
		{name: "epoch milliseconds", body: `{"time":1773480413123}`,
			check: func(t *testing.T, a Alert) { wantTime(t, a.Time, time.UnixMilli(1773480413123)) }},
		{name: "epoch microseconds", body: `{"time":1773480413123456}`,
			check: func(t *testing.T, a Alert) { wantTime(t, a.Time, time.UnixMicro(1773480413123456)) }},
		{name: "epoch nanoseconds", body: `{"time":1773480413123456789}`,
			check: func(t *testing.T, a Alert) { wantTime(t, a.Time, time.Unix(0, 1773480413123456789)) }},
		{name: "rfc3339 with offset becomes UTC", body: `{"time":"2026-03-14T10:26:53.5+01:00"}`,
			check: func(t *testing.T, a Alert) {
				wantTime(t, a.Time, time.Date(2026, 3, 14, 9, 26, 53, 5e8, time.UTC))
				wantEq(t, "Time.Location", a.Time.Location(), time.UTC)
			}},
		{name: "received is the server's, never the payload's", body: `{"received":"2026-01-01T00:00:00Z"}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Received.IsZero", a.Received.IsZero(), true) }},
		{name: "status words", body: `{"status":"Alerting"}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Status", a.Status, "firing") }},
		{name: "status closed", body: `{"status":"closed"}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Status", a.Status, "resolved") }},
		{name: "null fields are missing", body: `{"id":null,"severity":null,"status":null,"time":null,"labels":null,"asset":null}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Severity", a.Severity, int64(0))
				wantEq(t, "Status", a.Status, "firing")
				wantEq(t, "len(ID)", len(a.ID), 32)
			}},
		{name: "empty severity is missing", body: `{"severity":" "}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Severity", a.Severity, int64(0)) }},
		{name: "flat dotted key preferred", mapping: GenericMapping{Rule: "rule.name"},
			body:  `{"rule.name":"flat","rule":{"name":"nested"}}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Rule", a.Rule, "flat") }},
		{name: "flat key inside nested object", mapping: GenericMapping{Rule: "kibana.alert.rule.name"},
			body:  `{"kibana":{"alert.rule.name":"mixed"}}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Rule", a.Rule, "mixed") }},
		{name: "skipped field is not read", mapping: GenericMapping{Severity: "-"},
			body:  `{"severity":{"not":"a severity"}}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Severity", a.Severity, int64(0)) }},
		{name: "techniques from labels and title, sorted and deduplicated",
			body: `{"title":"AML.T0051.001 then AML.T0024","techniques":["AML.T0051.001"],"labels":{"a":"x AML.T0024 y","b":"AML.T0040"}}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Techniques", a.Techniques, []string{"AML.T0024", "AML.T0040", "AML.T0051.001"})
			}},
		{name: "no techniques is an empty list", body: `{}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Techniques", a.Techniques, []string{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, decodeOne(t, NewGeneric("generic", tt.mapping), tt.body))
		})
	}
}

// TestGenericRoundTrip checks that an Alert marshaled to JSON decodes as is
// with the zero mapping, which is what `aisoar alert send` relies on.
func TestGenericRoundTrip(t *testing.T) {
	want := Alert{
		ID:         "a-9",
		Source:     "generic",
		Rule:       "rag-exfil",
		Title:      "Sensitive data in completions",
		Severity:   int64(SeverityCritical),
		Status:     string(StatusResolved),
		Time:       time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Category:   "data_exfiltration",
		Techniques: []string{"AML.T0024", "AML.T0057"},
		Asset:      Asset{Model: "m", Endpoint: "e", Pipeline: "p", Tenant: "t", KeyID: "k"},
		Labels:     map[string]string{"a": "b"},
		GroupKey:   "g",
	}
	body, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := NewGeneric("generic", GenericMapping{}).Decode(body)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want.Raw = body
	if !reflect.DeepEqual(got, []Alert{want}) {
		t.Errorf("round trip:\ngot  %+v\nwant %+v", got[0], want)
	}
}

func TestGenericDerivedID(t *testing.T) {
	g := NewGeneric("generic", GenericMapping{})
	decode := func(body string) Alert {
		t.Helper()
		return decodeOne(t, g, body)
	}
	first, again := decode(`{"rule":"r"}`), decode(`{"rule":"r"}`)
	if first.ID != again.ID {
		t.Errorf("redelivered body got id %q, first delivery %q", again.ID, first.ID)
	}
	// The id is of the exact bytes: the same alert spelled differently is a different delivery.
	if other := decode(`{"rule": "r"}`); other.ID == first.ID {
		t.Errorf("different bodies share id %q", first.ID)
	}
	sum := sha256.Sum256([]byte(`{"rule":"r"}`))
	if want := hex.EncodeToString(sum[:16]); first.ID != want {
		t.Errorf("derived id = %q, want %q (hex of the first 16 bytes of the body's SHA-256)", first.ID, want)
	}
}

func TestGenericRawIsACopy(t *testing.T) {
	body := []byte(`{"rule":"r"}`)
	got, err := NewGeneric("generic", GenericMapping{}).Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	body[2] = 'X'
	if string(got[0].Raw) != `{"rule":"r"}` {
		t.Errorf("Raw changed with the caller's buffer: %s", got[0].Raw)
	}
}

func FuzzGenericDecode(f *testing.F) {
	addSeeds(f, "generic")
	decoders := []*Generic{NewGeneric("generic", GenericMapping{})}
	for _, tc := range genericCases() {
		decoders = append(decoders, NewGeneric(tc.source, tc.mapping))
	}
	// Techniques are read from the payload as they are written.
	opts := fuzzOptions{anyTechnique: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, g := range decoders {
			checkPromises(t, g, g.source, body, opts)
		}
	})
}

func TestGenericBoundsLabelsAndTechniques(t *testing.T) {
	labels := map[string]any{}
	var techniques []string
	for i := range MaxLabels + 10 {
		labels[fmt.Sprintf("k%04d", i)] = "v"
	}
	for i := range MaxTechniques + 10 {
		techniques = append(techniques, fmt.Sprintf("AML.T%04d", i))
	}
	body, err := json.Marshal(map[string]any{"labels": labels, "techniques": techniques})
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := NewGeneric("src", GenericMapping{}).Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	a := decoded[0]
	if len(a.Labels) != MaxLabels || len(a.Techniques) != MaxTechniques {
		t.Errorf("kept %d labels and %d techniques, want %d and %d", len(a.Labels), len(a.Techniques), MaxLabels, MaxTechniques)
	}
	if _, ok := a.Labels["k0000"]; !ok || a.Techniques[0] != "AML.T0000" {
		t.Errorf("the first labels and techniques in order must be kept")
	}
	if len(a.Raw) != len(body) {
		t.Errorf("raw payload must keep everything")
	}
}
