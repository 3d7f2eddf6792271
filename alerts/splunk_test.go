package alerts

import (
	"testing"
	"time"
)

func TestSplunkDecode(t *testing.T) {
	checkGoldenDir(t, NewSplunk("splunk"), "splunk")
}

func TestSplunkDecodeErrors(t *testing.T) {
	checkRefused(t, NewSplunk("splunk"), []refusedBody{
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
			a := decodeOne(t, NewSplunk("splunk"), `{"result":`+tt.result+`}`)
			wantEq(t, "Severity", a.Severity, tt.want)
		})
	}
}

func TestSplunkDecodeFields(t *testing.T) {
	tests := []decodedCase{
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
	checkDecoded(t, NewSplunk("splunk"), tests)
}

func FuzzSplunkDecode(f *testing.F) {
	fuzzDecoder(f, NewSplunk("splunk"), "splunk", "splunk", fuzzOptions{seeds: []string{
		`{"result":{"severity":"unknown","urgency":["high"],"_time":1e3}}`,
		`{"result":{"a":{"b":[1,{"c":2}]}}}`,
	}})
}
