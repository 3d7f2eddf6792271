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

// The helpers below are shared by the vendor decoders' tests.

// siemInputs lists the payloads in testdata/<dir>: every .json file that
// is not a golden file.
func siemInputs(tb testing.TB, dir string) []string {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	paths = slices.DeleteFunc(paths, func(p string) bool { return strings.HasSuffix(p, ".golden.json") })
	if len(paths) == 0 {
		tb.Fatalf("no payloads in testdata/%s", dir)
	}
	return paths
}

// testSIEMGolden decodes every payload in testdata/<dir> and compares the
// alerts, without Raw, with <name>.golden.json next to it.
func testSIEMGolden(t *testing.T, dir string, d Decoder) {
	for _, path := range siemInputs(t, dir) {
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

// decodeSIEMFile decodes testdata/<dir>/<name>.json, which must succeed.
func decodeSIEMFile(t *testing.T, d Decoder, dir, name string) []Alert {
	t.Helper()
	got, err := d.Decode(readFile(t, filepath.Join("testdata", dir, name+".json")))
	if err != nil {
		t.Fatalf("Decode %s/%s: %v", dir, name, err)
	}
	return got
}

// decodeSIEMOne decodes body, which must give exactly one alert.
func decodeSIEMOne(t *testing.T, d Decoder, body string) Alert {
	t.Helper()
	got, err := d.Decode([]byte(body))
	if err != nil {
		t.Fatalf("Decode(%s): %v", body, err)
	}
	if len(got) != 1 {
		t.Fatalf("Decode(%s) gave %d alerts, want 1", body, len(got))
	}
	return got[0]
}

// siemErrorCase is a body a decoder must refuse with a *FieldError.
type siemErrorCase struct {
	name      string
	body      string
	wantField string
	wantIs    error  // checked with errors.Is when set
	wantMsg   string // the whole message, when set
}

func testSIEMErrors(t *testing.T, d Decoder, tests []siemErrorCase) {
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

// fuzzSIEM fuzzes d, seeded with the payloads in testdata/<dir> and
// extra. Decode must not panic, must fail only with a *FieldError, and must
// otherwise keep every promise of the Decoder interface. emptyOK allows a
// successful decode with no alerts (an empty batch).
func fuzzSIEM(f *testing.F, dir string, d Decoder, source string, emptyOK bool, extra ...string) {
	for _, path := range siemInputs(f, dir) {
		f.Add(readFileF(f, path))
	}
	for _, s := range extra {
		f.Add([]byte(s))
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
		if len(got) == 0 && !emptyOK {
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
			if !a.Received.IsZero() {
				t.Errorf("Received = %s, want zero", a.Received)
			}
			if a.Labels == nil || a.Techniques == nil {
				t.Error("Labels or Techniques is nil")
			}
			if !slices.IsSorted(a.Techniques) || len(slices.Compact(slices.Clone(a.Techniques))) != len(a.Techniques) {
				t.Errorf("Techniques %q not sorted and unique", a.Techniques)
			}
			if len(a.Labels) > MaxLabels || len(a.Techniques) > MaxTechniques {
				t.Errorf("%d labels and %d techniques, over the bounds", len(a.Labels), len(a.Techniques))
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

func TestSplunkDecode(t *testing.T) {
	testSIEMGolden(t, "splunk", NewSplunk("splunk"))
}

func TestSplunkDecodeErrors(t *testing.T) {
	testSIEMErrors(t, NewSplunk("splunk"), []siemErrorCase{
		{name: "not json", body: `sid=x`, wantIs: ErrNotObject},
		{name: "empty body", body: ``, wantIs: ErrNotObject},
		{name: "array", body: `[{"sid":"x"}]`, wantIs: ErrNotObject,
			wantMsg: `body is not a JSON object: got array`},
		{name: "null", body: `null`, wantIs: ErrNotObject},
		{name: "result array", body: `{"sid":"x","result":[{"count":"8"}]}`, wantField: "result",
			wantMsg: `field "result": want an object (the first result row), got array`},
		{name: "result string", body: `{"result":"count=8"}`, wantField: "result"},
		{name: "sid object", body: `{"sid":{"id":"x"}}`, wantField: "sid"},
		{name: "search name list", body: `{"search_name":["a"]}`, wantField: "search_name"},
		{name: "app boolean", body: `{"app":true}`, wantField: "app"},
		{name: "unknown severity word", body: `{"result":{"severity":"urgent"}}`, wantField: "result.severity",
			wantIs: ErrUnknownSeverity},
		{name: "severity object", body: `{"result":{"severity":{"level":"high"}}}`, wantField: "result.severity"},
		{name: "urgency after unknown severity", body: `{"result":{"severity":"unknown","urgency":"p1"}}`,
			wantField: "result.urgency", wantIs: ErrUnknownSeverity},
		{name: "time word", body: `{"result":{"_time":"yesterday"}}`, wantField: "result._time"},
		{name: "multivalue title of objects", body: `{"result":{"title":[{"a":"b"}]}}`, wantField: "result.title"},
	})
}

func TestSplunkSeverity(t *testing.T) {
	tests := []struct {
		result string
		want   int64
	}{
		{`{}`, 0},
		{`{"severity":"informational"}`, 1},
		{`{"severity":"low"}`, 2},
		{`{"severity":"Medium"}`, 3},
		{`{"severity":"high"}`, 4},
		{`{"severity":"critical"}`, 5},
		{`{"severity":"3"}`, 3},
		{`{"urgency":"critical"}`, 5},
		{`{"urgency":"informational"}`, 1},
		{`{"severity":"low","urgency":"critical"}`, 2},
		{`{"severity":"unknown","urgency":"medium"}`, 3},
		{`{"severity":"unknown"}`, 0},
		{`{"severity":" ","urgency":"high"}`, 4},
		{`{"severity":["critical","low"]}`, 5},
		{`{"severity":[],"urgency":"low"}`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.result, func(t *testing.T) {
			a := decodeSIEMOne(t, NewSplunk("splunk"), `{"result":`+tt.result+`}`)
			wantEq(t, "Severity", a.Severity, tt.want)
		})
	}
}

func TestSplunkDecodeFields(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, a Alert)
	}{
		{name: "sid is the id", body: `{"sid":"scheduler__admin__search__W2_at_14232356_132"}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "ID", a.ID, "scheduler__admin__search__W2_at_14232356_132") }},
		{name: "no sid derives the id", body: `{"result":{"a":"b"}}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "ID", a.ID, derivedID([]byte(`{"result":{"a":"b"}}`))) }},
		{name: "search name is rule and group key", body: `{"search_name":"AI - Jailbreak"}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Rule", a.Rule, "AI - Jailbreak")
				wantEq(t, "GroupKey", a.GroupKey, "AI - Jailbreak")
				wantEq(t, "Title", a.Title, "AI - Jailbreak")
			}},
		{name: "title before message", body: `{"result":{"message":"m","title":"t"}}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Title", a.Title, "t") }},
		{name: "message before rule_title", body: `{"result":{"message":"m","rule_title":"r"}}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Title", a.Title, "m") }},
		{name: "multivalue title takes the first value", body: `{"result":{"title":["first","second"]}}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Title", a.Title, "first")
				wantEq(t, "Labels[title]", a.Labels["title"], "first,second")
			}},
		{name: "epoch time with fraction", body: `{"result":{"_time":"1773480413.482"}}`,
			check: func(t *testing.T, a Alert) { wantTime(t, a.Time, time.UnixMilli(1773480413482)) }},
		{name: "iso time in UTC", body: `{"result":{"_time":"2026-03-14T10:40:00.000+01:00"}}`,
			check: func(t *testing.T, a Alert) {
				wantTime(t, a.Time, time.Date(2026, 3, 14, 9, 40, 0, 0, time.UTC))
				wantEq(t, "Time.Location", a.Time.Location(), time.UTC)
			}},
		{name: "no time stays zero", body: `{"sid":"x"}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Time.IsZero", a.Time.IsZero(), true) }},
		{name: "always firing", body: `{"result":{"status":"closed"}}`,
			check: func(t *testing.T, a Alert) { wantEq(t, "Status", a.Status, "firing") }},
		{name: "envelope wins over row fields", body: `{"app":"search","result":{"app":"chatbot","owner":"x"},"owner":"admin"}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{"app": "search", "owner": "admin"})
			}},
		{name: "row values become labels", body: `{"result":{"count":8,"blocked":true,"none":null,"dest":["a",null,"b"],"nested":{"k":"v"},"rows":[{"k":"v"}]}}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Labels", a.Labels, map[string]string{"count": "8", "blocked": "true", "dest": "a,b", "nested.k": "v"})
			}},
		{name: "conventions and atlas ids from row fields", body: `{"result":{"model_name":"m","api_key_id":"k","technique":"AML.T0024"}}`,
			check: func(t *testing.T, a Alert) {
				wantEq(t, "Asset", a.Asset, Asset{Model: "m", KeyID: "k"})
				wantEq(t, "Techniques", a.Techniques, []string{"AML.T0024"})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, decodeSIEMOne(t, NewSplunk("splunk"), tt.body))
		})
	}
}

func FuzzSplunkDecode(f *testing.F) {
	fuzzSIEM(f, "splunk", NewSplunk("splunk"), "splunk", false,
		`{"result":{"severity":"unknown","urgency":["high"],"_time":1e3}}`,
		`{"result":{"a":{"b":[1,{"c":2}]}}}`)
}
