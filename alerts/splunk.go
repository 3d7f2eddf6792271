package alerts

import (
	"bytes"
	"strings"
)

// Splunk decodes the body of Splunk's webhook alert action:
//
//	{"sid": "...", "search_name": "...", "app": "...", "owner": "...",
//	 "results_link": "...", "result": {"field": "value", ...}}
//
// where result is the first row of the triggering search. It is safe for
// concurrent use.
//
// ID is the search id (sid), Rule and GroupKey the saved search's name, and
// Title the row's title, message or rule_title (an Enterprise Security
// notable's title) field, else the search name. Severity is
// the row's severity field, else its urgency (as Splunk Enterprise Security
// writes both: informational to critical, or 1-5); "unknown" counts as none.
// Time is the row's _time, in epoch seconds or RFC 3339. Splunk has no
// resolve notification, so Status is always firing.
//
// Labels are the row's fields under their own names, with a multivalue
// field's values joined by commas, plus app, owner and results_link, which
// win over row fields of the same name. Where a field is read as one value
// (title, severity, _time), a multivalue field gives its first value, as
// Splunk's $result.field$ tokens do.
type Splunk struct {
	source string
}

var _ Decoder = (*Splunk)(nil)

// NewSplunk returns a decoder for Splunk webhook alert actions received
// from source (the name in the webhook path, recorded as Alert.Source).
func NewSplunk(source string) *Splunk {
	return &Splunk{source: source}
}

// Decode decodes body, which must be one JSON object, into one Alert.
func (s *Splunk) Decode(body []byte) ([]Alert, error) {
	p, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	var result map[string]any
	if v, ok := p.lookup("result"); ok {
		if result, ok = v.(map[string]any); !ok {
			return nil, &FieldError{Field: "result", Reason: "want an object (the first result row), got " + jsonType(v)}
		}
	}
	// Read the row's fields by their first value, through a payload of its
	// own, so that errors still name them result.<field>.
	row := &payload{obj: map[string]any{"result": splunkFirstValues(result)}}

	searchName := p.str("search_name")
	a := Alert{
		ID:       p.str("sid"),
		Source:   s.source,
		Rule:     searchName,
		Title:    firstStringOf(row, "result.title", "result.message", "result.rule_title"),
		Severity: splunkSeverity(row),
		Status:   string(StatusFiring),
		Time:     row.time("result._time"),
		GroupKey: searchName,
		Labels:   map[string]string{},
		Raw:      bytes.Clone(body),
	}
	if a.Title == "" {
		a.Title = searchName
	}
	addLabelTree(a.Labels, "", result)
	for _, name := range []string{"app", "owner", "results_link"} {
		if v := p.str(name); v != "" {
			a.Labels[name] = v
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	if row.err != nil {
		return nil, row.err
	}
	normalize(&a, body)
	return []Alert{a}, nil
}

// splunkSeverity reads the row's severity, else its urgency. Splunk
// Enterprise Security's "unknown" severity, like an empty one, is none.
func splunkSeverity(row *payload) int64 {
	for _, path := range []string{"result.severity", "result.urgency"} {
		v, ok := row.lookup(path)
		if !ok {
			continue
		}
		if s, isString := v.(string); isString {
			if s = strings.TrimSpace(s); s == "" || strings.EqualFold(s, "unknown") {
				continue
			}
		}
		return row.severity(path)
	}
	return 0
}

// splunkFirstValues returns a copy of row in which every multivalue field (a JSON
// array) is replaced by its first value, or dropped when it has none.
func splunkFirstValues(row map[string]any) map[string]any {
	out := make(map[string]any, len(row))
	for k, v := range row {
		if list, ok := v.([]any); ok {
			if len(list) == 0 {
				continue
			}
			v = list[0]
		}
		out[k] = v
	}
	return out
}
