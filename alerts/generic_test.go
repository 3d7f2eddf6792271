package alerts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

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
			body := readFile(t, filepath.Join("testdata", "generic", tc.name+".json"))
			got, err := NewGeneric(tc.source, tc.mapping).Decode(body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			for i := range got {
				if !bytes.Equal(got[i].Raw, body) {
					t.Errorf("alert %d: Raw is not the body", i)
				}
				got[i].Raw = nil // kept out of the golden file to keep it readable
			}
			checkGolden(t, filepath.Join("testdata", "generic", tc.name+".golden.json"), got)
		})
	}
}

// checkGolden compares v, as indented JSON, with the golden file, or rewrites
// the file when the test runs with -update.
func checkGolden(t *testing.T, path string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("marshal result: %v", err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("update golden file: %v", err)
		}
		return
	}
	want := readFile(t, path)
	if !bytes.Equal(got, want) {
		t.Errorf("result differs from %s (rerun with -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read test data: %v", err)
	}
	return b
}

func TestGenericDecodeErrors(t *testing.T) {
	tests := []struct {
		name      string
		mapping   GenericMapping
		body      string
		wantField string
		wantIs    error  // checked with errors.Is when set
		wantMsg   string // the whole message, when set
	}{
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
		{name: "mapped severity", mapping: GenericMapping{Severity: "labels.severity"},
			body: `{"labels":{"severity":"sev1"}}`, wantField: "labels.severity", wantIs: ErrUnknownSeverity},
		{name: "unknown status", body: `{"status":"pending"}`, wantField: "status"},
		{name: "status number", body: `{"status":1}`, wantField: "status"},
		{name: "time word", body: `{"time":"yesterday"}`, wantField: "time"},
		{name: "time negative", body: `{"time":-5}`, wantField: "time"},
		{name: "time beyond year 9999", body: `{"time":900000000000}`, wantField: "time"},
		{name: "time before year 1", body: `{"time":"0000-01-01T00:00:00+01:00"}`, wantField: "time"},
		{name: "time object", body: `{"time":{"sec":1}}`, wantField: "time"},
		{name: "id object", body: `{"id":{"value":"a-1"}}`, wantField: "id"},
		{name: "mapped id array", mapping: GenericMapping{ID: "alert.id"},
			body: `{"alert":{"id":["a","b"]}}`, wantField: "alert.id"},
		{name: "intermediate not an object", body: `{"asset":"fraud-scorer"}`, wantField: "asset.model",
			wantMsg: `field "asset.model": "asset" is a string, not an object`},
		{name: "techniques number", body: `{"techniques":24}`, wantField: "techniques"},
		{name: "techniques list of numbers", body: `{"techniques":["AML.T0024",24]}`, wantField: "techniques"},
		{name: "labels array", body: `{"labels":["a"]}`, wantField: "labels"},
		{name: "label value object", body: `{"labels":{"k":{"nested":1}}}`, wantField: "labels.k"},
		{name: "first error wins", body: `{"id":[],"severity":"urgent"}`, wantField: "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewGeneric("generic", tt.mapping).Decode([]byte(tt.body))
			if err == nil {
				t.Fatalf("Decode succeeded with %+v, want an error", got)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a *FieldError", err, err)
			}
			if fe.Field != tt.wantField {
				t.Errorf("Field = %q, want %q (error: %v)", fe.Field, tt.wantField, err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("message:\ngot  %s\nwant %s", err, tt.wantMsg)
			}
		})
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
			got, err := NewGeneric("generic", tt.mapping).Decode([]byte(tt.body))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(got) != 1 {
				t.Fatalf("got %d alerts, want 1", len(got))
			}
			tt.check(t, got[0])
		})
	}
}

func wantEq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func wantTime(t *testing.T, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("Time = %s, want %s", got, want)
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
		got, err := g.Decode([]byte(body))
		if err != nil {
			t.Fatalf("Decode(%s): %v", body, err)
		}
		return got[0]
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
	inputs, err := filepath.Glob(filepath.Join("testdata", "generic", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range inputs {
		if !strings.HasSuffix(path, ".golden.json") {
			f.Add(readFileF(f, path))
		}
	}
	decoders := []*Generic{NewGeneric("generic", GenericMapping{})}
	for _, tc := range genericCases() {
		decoders = append(decoders, NewGeneric(tc.source, tc.mapping))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, g := range decoders {
			got, err := g.Decode(body)
			if err != nil {
				var fe *FieldError
				if !errors.As(err, &fe) {
					t.Fatalf("error %v (%T) is not a *FieldError", err, err)
				}
				continue
			}
			if len(got) == 0 {
				t.Fatal("no error and no alerts")
			}
			for _, a := range got {
				if !bytes.Equal(a.Raw, body) {
					t.Error("Raw is not the body")
				}
				if a.ID == "" || a.Source != g.source {
					t.Errorf("ID %q, Source %q: want both set", a.ID, a.Source)
				}
				if a.Status != string(StatusFiring) && a.Status != string(StatusResolved) {
					t.Errorf("Status = %q", a.Status)
				}
				if a.Severity < 0 || a.Severity > 5 {
					t.Errorf("Severity = %d", a.Severity)
				}
				if !slices.IsSorted(a.Techniques) || len(slices.Compact(slices.Clone(a.Techniques))) != len(a.Techniques) {
					t.Errorf("Techniques %q not sorted and unique", a.Techniques)
				}
				// Alerts travel as JSON (Temporal payloads), so every decoded alert must encode.
				if _, err := json.Marshal(a); err != nil {
					t.Errorf("decoded alert does not marshal: %v", err)
				}
			}
			again, _ := g.Decode(body)
			if !reflect.DeepEqual(got, again) {
				t.Error("decoding the same body twice gave different alerts")
			}
		}
	})
}

func readFileF(f *testing.F, path string) []byte {
	f.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatalf("read seed: %v", err)
	}
	return b
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
