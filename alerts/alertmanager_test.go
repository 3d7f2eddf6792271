package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAlertmanagerDecode(t *testing.T) {
	checkVendorGolden(t, "alertmanager", NewAlertmanager("prometheus"))
}

func TestAlertmanagerEpisodeID(t *testing.T) {
	d := NewAlertmanager("prometheus")
	firing := decodeTestdata(t, d, "alertmanager", "firing.json")
	resolved := decodeTestdata(t, d, "alertmanager", "resolved.json")
	mixed := decodeTestdata(t, d, "alertmanager", "mixed.json")
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

// checkSameEpisode checks that the resolved notice of an alert reaches the
// incident and id of its firing notice.
func checkSameEpisode(t *testing.T, firing, resolved Alert) {
	t.Helper()
	wantEq(t, "firing Status", firing.Status, "firing")
	wantEq(t, "resolved Status", resolved.Status, "resolved")
	wantEq(t, "resolved ID", resolved.ID, firing.ID)
	wantEq(t, "resolved Fingerprint", resolved.Fingerprint(), firing.Fingerprint())
	wantEq(t, "resolved Rule", resolved.Rule, firing.Rule)
	wantEq(t, "resolved GroupKey", resolved.GroupKey, firing.GroupKey)
	wantEq(t, "resolved Asset", resolved.Asset, firing.Asset)
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
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, a Alert)
	}{
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
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewAlertmanager("am").Decode([]byte(tt.body))
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

func wantSeverity(want int64) func(t *testing.T, a Alert) {
	return func(t *testing.T, a Alert) {
		t.Helper()
		wantEq(t, "Severity", a.Severity, want)
	}
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
	fuzzDecoder(f, "alertmanager", "prometheus", NewAlertmanager("prometheus"))
}

// The helpers below are shared by the tests of every vendor decoder.

// checkVendorGolden decodes each testdata/<dir>/<name>.json with d and
// compares the alerts with <name>.golden.json, or rewrites it with -update.
func checkVendorGolden(t *testing.T, dir string, d Decoder) {
	t.Helper()
	inputs := goldenInputs(t, dir)
	if len(inputs) == 0 {
		t.Fatalf("no test payloads in testdata/%s", dir)
	}
	for _, path := range inputs {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			body := readFile(t, path)
			got, err := d.Decode(body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			for i := range got {
				if !bytes.Equal(got[i].Raw, body) {
					t.Errorf("alert %d: Raw is not the body", i)
				}
				got[i].Raw = nil // kept out of the golden file to keep it readable
			}
			checkGolden(t, filepath.Join("testdata", dir, name+".golden.json"), got)
		})
	}
}

// goldenInputs lists the payloads in testdata/<dir>, leaving out golden files.
func goldenInputs(tb testing.TB, dir string) []string {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return slices.DeleteFunc(paths, func(p string) bool { return strings.HasSuffix(p, ".golden.json") })
}

// decodeTestdata decodes testdata/<dir>/<name> with d.
func decodeTestdata(t *testing.T, d Decoder, dir, name string) []Alert {
	t.Helper()
	got, err := d.Decode(readFile(t, filepath.Join("testdata", dir, name)))
	if err != nil {
		t.Fatalf("Decode(%s): %v", name, err)
	}
	return got
}

// refusedBody is a body a decoder must refuse with a *FieldError.
type refusedBody struct {
	name      string
	body      string
	wantField string
	wantIs    error  // checked with errors.Is when set
	wantMsg   string // the whole message, when set
}

func checkRefused(t *testing.T, d Decoder, tests []refusedBody) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Decode([]byte(tt.body))
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

// fuzzDecoder fuzzes d, seeded with the payloads in testdata/<dir>, for what
// every decoder promises: no panic, a *FieldError or at least one alert, and
// alerts that are complete, bounded, deterministic and encodable.
func fuzzDecoder(f *testing.F, dir, source string, d Decoder) {
	for _, path := range goldenInputs(f, dir) {
		f.Add(readFileF(f, path))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := d.Decode(body)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a *FieldError", err, err)
			}
			return
		}
		if len(got) == 0 {
			t.Fatal("no error and no alerts")
		}
		for _, a := range got {
			if !bytes.Equal(a.Raw, body) {
				t.Error("Raw is not the body")
			}
			if a.ID == "" || a.Source != source {
				t.Errorf("ID %q, Source %q: want both set", a.ID, a.Source)
			}
			if a.Status != string(StatusFiring) && a.Status != string(StatusResolved) {
				t.Errorf("Status = %q", a.Status)
			}
			if a.Severity < 0 || a.Severity > 5 {
				t.Errorf("Severity = %d", a.Severity)
			}
			if !a.Time.IsZero() && a.Time.Location() != time.UTC {
				t.Errorf("Time %s is not in UTC", a.Time)
			}
			if a.Labels == nil || a.Techniques == nil {
				t.Error("nil Labels or Techniques")
			}
			if len(a.Labels) > MaxLabels || len(a.Techniques) > MaxTechniques {
				t.Errorf("%d labels and %d techniques exceed the bounds", len(a.Labels), len(a.Techniques))
			}
			if !slices.IsSorted(a.Techniques) || len(slices.Compact(slices.Clone(a.Techniques))) != len(a.Techniques) {
				t.Errorf("Techniques %q not sorted and unique", a.Techniques)
			}
			for _, id := range a.Techniques {
				if atlasID.FindString(id) != id {
					t.Errorf("technique %q is not an ATLAS id", id)
				}
			}
			// Alerts travel as JSON (Temporal payloads), so every decoded alert must encode.
			if _, err := json.Marshal(a); err != nil {
				t.Errorf("decoded alert does not marshal: %v", err)
			}
		}
		again, _ := d.Decode(body)
		if !reflect.DeepEqual(got, again) {
			t.Error("decoding the same body twice gave different alerts")
		}
	})
}
