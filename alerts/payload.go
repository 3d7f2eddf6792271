package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// payload is one decoded JSON object read by dotted paths. Its getters treat
// an absent or null field as missing (the zero value, no error) and a present
// field of the wrong type as a *FieldError naming the path; the first such
// error is kept in err and later getters do nothing, so a decoder can read
// every field and check err once.
type payload struct {
	obj map[string]any
	err error
}

// skipPath is the mapping path that means "this payload never has the field".
const skipPath = "-"

// decodeObject parses body as one JSON object, keeping numbers as json.Number
// so that large ids and epoch times are not rounded through float64.
func decodeObject(body []byte) (*payload, error) {
	if !json.Valid(body) {
		// Unmarshal again only to get a message that says where it went wrong.
		var v any
		err := json.Unmarshal(body, &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return nil, &FieldError{Reason: err.Error(), Err: err}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &FieldError{Reason: err.Error(), Err: err}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &FieldError{Reason: "got " + jsonType(v)}
	}
	return &payload{obj: obj}, nil
}

// lookup finds path in the object. At each level it first tries the whole
// remaining path as a literal key, since payloads such as Elastic's use flat
// dotted keys ("kibana.alert.rule.name"), and then splits on the first dot and
// descends. A null value is absent. An intermediate value that is present but
// not an object is a *FieldError: the mapping and the payload disagree.
func (p *payload) lookup(path string) (any, bool) {
	if p.err != nil || path == "" || path == skipPath {
		return nil, false
	}
	obj := p.obj
	walked := ""
	for rest := path; ; {
		if v, ok := obj[rest]; ok && v != nil {
			return v, true
		}
		head, tail, ok := strings.Cut(rest, ".")
		if !ok {
			return nil, false
		}
		walked += head
		switch next := obj[head].(type) {
		case map[string]any:
			obj, rest = next, tail
			walked += "."
		case nil:
			return nil, false
		default:
			p.fail(path, fmt.Sprintf("%q is %s, not an object", walked, article(jsonType(next))))
			return nil, false
		}
	}
}

func (p *payload) fail(path, reason string) {
	if p.err == nil {
		p.err = &FieldError{Field: path, Reason: reason}
	}
}

func (p *payload) failErr(path string, err error) {
	if p.err == nil {
		p.err = fieldError(path, err)
	}
}

// str reads a string. Numbers are accepted and kept exactly as written,
// since ids and rule numbers are often numeric.
func (p *payload) str(path string) string {
	v, ok := p.lookup(path)
	if !ok {
		return ""
	}
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	p.fail(path, "want a string, got "+jsonType(v))
	return ""
}

// severity reads a severity with ParseSeverity; 0 means the payload has none.
func (p *payload) severity(path string) int64 {
	v, ok := p.lookup(path)
	if !ok {
		return 0
	}
	switch v.(type) {
	case string, json.Number:
	default:
		p.fail(path, "want a number or a string, got "+jsonType(v))
		return 0
	}
	if s, isString := v.(string); isString && strings.TrimSpace(s) == "" {
		return 0
	}
	n, err := ParseSeverity(v)
	if err != nil {
		p.failErr(path, err)
	}
	return n
}

// status reads a status, mapping senders' words onto firing and resolved.
// A missing status is firing: a sender that does not say is reporting a detection.
func (p *payload) status(path string) string {
	s := p.str(path)
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "firing", "alerting", "open", "triggered":
		return string(StatusFiring)
	case "resolved", "ok", "closed":
		return string(StatusResolved)
	}
	p.fail(path, fmt.Sprintf("not a known status: %q (want firing|alerting|open|triggered or resolved|ok|closed)", s))
	return string(StatusFiring)
}

// timeWant is appended to time errors to say what is accepted.
const timeWant = "(want RFC 3339 like 2006-01-02T15:04:05Z, or unix seconds or milliseconds)"

// maxUnix is the last second of year 9999, the largest time that
// time.Time's JSON encoding accepts.
const maxUnix = 253402300799

// time reads an RFC 3339 string or an epoch number (seconds; milliseconds,
// microseconds or nanoseconds when the number is too large to be seconds),
// as a number or a numeric string. Missing, empty and 0 leave the zero time.
func (p *payload) time(path string) time.Time {
	v, ok := p.lookup(path)
	if !ok {
		return time.Time{}
	}
	var s string
	switch v := v.(type) {
	case string:
		s = strings.TrimSpace(v)
	case json.Number:
		s = v.String()
	default:
		p.fail(path, "want an RFC 3339 string or a unix time number, got "+jsonType(v))
		return time.Time{}
	}
	if s == "" {
		return time.Time{}
	}
	var t time.Time
	if isDecimal(s) {
		secs, err := strconv.ParseFloat(s, 64)
		if err != nil || secs < 0 {
			p.fail(path, fmt.Sprintf("not a time: %q %s", s, timeWant))
			return time.Time{}
		}
		if secs == 0 {
			return time.Time{}
		}
		t = unixTime(s, secs)
	} else {
		parsed, err := time.Parse(time.RFC3339, s)
		if err != nil {
			p.fail(path, fmt.Sprintf("not a time: %q %s", s, timeWant))
			return time.Time{}
		}
		if parsed.IsZero() {
			return time.Time{}
		}
		t = parsed
	}
	t = t.UTC()
	if t.Year() < 1 || t.Unix() > maxUnix {
		p.fail(path, fmt.Sprintf("time %q is out of range (want years 1-9999)", s))
		return time.Time{}
	}
	return t
}

// unixTime converts an epoch number of unknown unit, choosing the unit by
// magnitude: seconds, or milliseconds, microseconds or nanoseconds when n is
// larger than 1e12, 1e15 or 1e18. s is the number as written; plain decimals
// are converted exactly, exponent notation through float64.
func unixTime(s string, n float64) time.Time {
	unit := int64(time.Second)
	switch {
	case n > 1e18:
		unit = int64(time.Nanosecond)
	case n > 1e15:
		unit = int64(time.Microsecond)
	case n > 1e12:
		unit = int64(time.Millisecond)
	}
	tooLate := time.Unix(maxUnix+1, 0)
	if n*float64(unit)/float64(time.Second) > maxUnix {
		return tooLate
	}
	if !strings.ContainsAny(s, "eE") { // keep big.Rat away from 1e999999999
		if r, ok := new(big.Rat).SetString(s); ok {
			nanos := new(big.Int).Mul(r.Num(), big.NewInt(unit))
			nanos.Quo(nanos, r.Denom())
			secs, nsec := nanos.QuoRem(nanos, big.NewInt(int64(time.Second)), new(big.Int))
			return time.Unix(secs.Int64(), nsec.Int64())
		}
	}
	secs := n * float64(unit) / float64(time.Second)
	whole := math.Floor(secs)
	return time.Unix(int64(whole), int64(math.Round((secs-whole)*1e9)))
}

// list reads a list of strings, given either as a JSON array of strings or as
// one comma-separated string. Blank entries are dropped.
func (p *payload) list(path string) []string {
	v, ok := p.lookup(path)
	if !ok {
		return nil
	}
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	switch v := v.(type) {
	case string:
		for s := range strings.SplitSeq(v, ",") {
			add(s)
		}
	case []any:
		for i, e := range v {
			s, ok := e.(string)
			if !ok && e != nil {
				p.fail(path, fmt.Sprintf("want a list of strings, got %s at index %d", jsonType(e), i))
				return nil
			}
			add(s)
		}
	default:
		p.fail(path, "want a list of strings or a comma-separated string, got "+jsonType(v))
	}
	return out
}

// labels reads an object of scalar values, stringifying numbers and booleans
// and dropping nulls. A nested object or array is a *FieldError naming its key.
func (p *payload) labels(path string) map[string]string {
	v, ok := p.lookup(path)
	if !ok {
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		p.fail(path, "want an object of string values, got "+jsonType(v))
		return nil
	}
	out := make(map[string]string, len(obj))
	for k, e := range obj {
		if e == nil {
			continue
		}
		s, ok := scalarString(e)
		if !ok {
			p.fail(path+"."+k, "want a string, number or boolean label value, got "+jsonType(e))
			return nil
		}
		out[k] = s
	}
	return out
}

// jsonType names the JSON type of a value from a UseNumber decoder, for messages.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// scalarString formats a JSON string, number or boolean as a label value;
// it reports false for null, objects and arrays.
func scalarString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

func article(noun string) string {
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}
