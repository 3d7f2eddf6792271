package alerts

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// OCSF decodes OCSF Detection Findings (class_uid 2004): one finding object,
// or an array of them, each an Alert. It is safe for concurrent use.
//
//   - ID is finding_info.uid, the same for the Create, Update and Close
//     events of one finding; a finding without one gets an id derived from
//     its own bytes.
//   - Rule is finding_info.analytic.name, or else analytic.uid or the
//     finding's title. Title is finding_info.title, or else message.
//   - Status is resolved for activity_id 3 (Close), status_id 4 or a status
//     of Resolved or Closed, and firing otherwise (New, In Progress,
//     Suppressed...).
//   - Severity maps severity_id 1 Informational to 5 Critical onto the same
//     numbers and 6 Fatal to 5; 0 Unknown is 0, and 99 Other, or another id,
//     falls back to the severity caption when it is a known word.
//   - Time is finding_info.created_time, or else time or
//     finding_info.first_seen_time: epoch milliseconds, or seconds from a
//     producer that sends them (told apart by size).
//   - Techniques are the ATLAS ids (AML.T0000) of the technique and
//     sub_technique of finding_info.attacks and the older top-level attacks.
//     ATT&CK ids and the tactics go to the labels "attack.techniques" and
//     "attack.tactics", comma-separated.
//   - Labels, the first of a name winning, are "ocsf.product", "ocsf.vendor",
//     "ocsf.finding_types", "ocsf.analytic_uid", "ocsf.status", "ocsf.desc"
//     and "ocsf.event_uid" (metadata.uid); metadata.labels and each
//     resource's labels ("key:value", or a bare key with an empty value);
//     each resource as "resource.<type>" = its name (type lowercased, runs of
//     other characters than letters and digits made "_"), and also as
//     "model", "endpoint" or "pipeline" when its type says it is one, so that
//     the asset conventions find it; and unmapped's scalar values as
//     "unmapped.<path>".
//
// A class_uid other than 2004 is a *FieldError naming it; a finding without
// one is taken as a Detection Finding.
type OCSF struct {
	source string
}

var _ Decoder = (*OCSF)(nil)

// NewOCSF returns a decoder for OCSF Detection Findings from source (the
// name in the webhook path, recorded as Alert.Source).
func NewOCSF(source string) *OCSF {
	return &OCSF{source: source}
}

// OCSF ids this decoder acts on.
const (
	ocsfDetectionFinding = 2004
	ocsfActivityClose    = 3
	ocsfStatusResolved   = 4
	ocsfSeverityFatal    = 6
)

var (
	// exactATLASID is an ATLAS technique id and nothing else, in any case.
	exactATLASID = regexp.MustCompile(`(?i)^aml\.t\d{4}(?:\.\d{3})?$`)
	// nonAlnum is a run of characters that a label name made from a resource
	// type does not keep.
	nonAlnum = regexp.MustCompile(`[^a-z0-9]+`)
)

// ocsfResourceAssets are the asset label names a resource's type may name.
var ocsfResourceAssets = []string{"model", "endpoint", "pipeline"}

// Decode decodes body, one finding object or an array of them, into one
// Alert per finding.
func (d *OCSF) Decode(body []byte) ([]Alert, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '[' {
		p, err := decodeObject(body)
		if err != nil {
			return nil, err
		}
		a := d.finding(p)
		if p.err != nil {
			return nil, p.err
		}
		a.Raw = bytes.Clone(body)
		normalize(&a, body)
		return []Alert{a}, nil
	}

	if !json.Valid(body) {
		_, err := decodeObject(body) // for its message saying where the JSON is wrong
		return nil, err
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, &FieldError{Reason: err.Error(), Err: err}
	}
	if len(raws) == 0 {
		return nil, &FieldError{Reason: "an empty array holds no findings (want a Detection Finding object or an array of them)"}
	}
	raw := bytes.Clone(body)
	out := make([]Alert, 0, len(raws))
	for i, item := range raws {
		field := fmt.Sprintf("[%d]", i)
		p, err := decodeObject(item)
		if err != nil {
			return nil, &FieldError{Field: field, Reason: "want a finding object, " + err.(*FieldError).Reason}
		}
		a := d.finding(p)
		if p.err != nil {
			return nil, prefixFieldError(field, p.err)
		}
		a.Raw = raw
		normalize(&a, item)
		out = append(out, a)
	}
	return out, nil
}

// finding reads one Detection Finding; the caller checks p.err.
func (d *OCSF) finding(p *payload) Alert {
	if class, ok := ocsfInt(p, "class_uid"); ok && class != ocsfDetectionFinding {
		p.fail("class_uid", fmt.Sprintf("class %d is not a Detection Finding (want %d)", class, ocsfDetectionFinding))
	}
	activity, _ := ocsfInt(p, "activity_id")
	statusID, _ := ocsfInt(p, "status_id")
	statusCaption := strings.TrimSpace(p.str("status"))
	severityID, hasSeverityID := ocsfInt(p, "severity_id")
	severityCaption := p.str("severity")
	analyticName := p.str("finding_info.analytic.name")
	analyticUID := p.str("finding_info.analytic.uid")
	title := p.str("finding_info.title")
	a := Alert{
		ID:     p.str("finding_info.uid"),
		Source: d.source,
		Rule:   cmp.Or(analyticName, analyticUID, title),
		Title:  cmp.Or(title, p.str("message")),
		Labels: map[string]string{},
	}
	created, at, firstSeen := p.time("finding_info.created_time"), p.time("time"), p.time("finding_info.first_seen_time")
	switch {
	case !created.IsZero():
		a.Time = created
	case !at.IsZero():
		a.Time = at
	default:
		a.Time = firstSeen
	}

	a.Status = string(StatusFiring)
	if activity == ocsfActivityClose || statusID == ocsfStatusResolved ||
		strings.EqualFold(statusCaption, "resolved") || strings.EqualFold(statusCaption, "closed") {
		a.Status = string(StatusResolved)
	}

	switch {
	case hasSeverityID && severityID >= int64(SeverityInfo) && severityID <= int64(SeverityCritical):
		a.Severity = severityID
	case severityID == ocsfSeverityFatal:
		a.Severity = int64(SeverityCritical)
	case hasSeverityID && severityID == 0:
	default:
		a.Severity, _ = parseSeverityString(severityCaption)
	}

	labels := a.Labels
	setIfAbsent(labels, "ocsf.product", p.str("metadata.product.name"))
	setIfAbsent(labels, "ocsf.vendor", p.str("metadata.product.vendor_name"))
	setIfAbsent(labels, "ocsf.finding_types", strings.Join(p.list("finding_info.types"), ","))
	setIfAbsent(labels, "ocsf.analytic_uid", analyticUID)
	setIfAbsent(labels, "ocsf.status", statusCaption)
	setIfAbsent(labels, "ocsf.desc", p.str("finding_info.desc"))
	setIfAbsent(labels, "ocsf.event_uid", p.str("metadata.uid"))

	var attackIDs, tactics []string
	for _, path := range []string{"finding_info.attacks", "attacks"} {
		for i, attack := range objectList(p, path) {
			for _, id := range []string{attack.str("technique.uid"), attack.str("sub_technique.uid")} {
				switch id = strings.TrimSpace(id); {
				case id == "":
				case exactATLASID.MatchString(id):
					a.Techniques = append(a.Techniques, strings.ToUpper(id))
				default:
					attackIDs = append(attackIDs, id)
				}
			}
			tactics = append(tactics, cmp.Or(attack.str("tactic.uid"), attack.str("tactic.name")))
			for j, tactic := range objectList(attack, "tactics") {
				tactics = append(tactics, cmp.Or(tactic.str("uid"), tactic.str("name")))
				adoptError(attack, fmt.Sprintf("tactics[%d]", j), tactic.err)
			}
			adoptError(p, fmt.Sprintf("%s[%d]", path, i), attack.err)
		}
	}
	setIfAbsent(labels, "attack.techniques", joinSet(attackIDs))
	setIfAbsent(labels, "attack.tactics", joinSet(tactics))

	mergeTags(labels, ocsfTags(p, "metadata.labels"))
	resources := objectList(p, "resources")
	for i, r := range resources {
		mergeTags(labels, ocsfTags(r, "labels"))
		adoptError(p, fmt.Sprintf("resources[%d]", i), r.err)
	}
	for i, r := range resources {
		kind := strings.Trim(nonAlnum.ReplaceAllString(strings.ToLower(r.str("type")), "_"), "_")
		name := cmp.Or(r.str("name"), r.str("uid"))
		adoptError(p, fmt.Sprintf("resources[%d]", i), r.err)
		if kind == "" {
			setIfAbsent(labels, "resource", name)
			continue
		}
		setIfAbsent(labels, "resource."+kind, name)
		for _, asset := range ocsfResourceAssets {
			if strings.Contains(kind, asset) {
				setIfAbsent(labels, asset, name)
			}
		}
	}
	if v, ok := p.lookup("unmapped"); ok {
		flattenLabels(labels, "unmapped", v, 0)
	}
	return a
}

// ocsfInt reads an OCSF enum id or class id, an integer given as a number or
// a numeric string; ok is false when the field is absent.
func ocsfInt(p *payload, path string) (n int64, ok bool) {
	s := strings.TrimSpace(p.str(path))
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.fail(path, fmt.Sprintf("want an integer id, got %q", s))
		return 0, false
	}
	return n, true
}

// ocsfTags reads a list of "key:value" tags, as OCSF's labels are, or an
// object of them, as some producers send.
func ocsfTags(p *payload, path string) []string {
	v, ok := p.lookup(path)
	if !ok {
		return nil
	}
	if _, isObject := v.(map[string]any); !isObject {
		return p.list(path)
	}
	obj := p.labels(path)
	tags := make([]string, 0, len(obj))
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		tags = append(tags, k+":"+obj[k])
	}
	return tags
}

// maxFlattenDepth bounds how deep flattenLabels descends into unmapped.
const maxFlattenDepth = 4

// flattenLabels adds the scalar values in v as labels named by their dotted
// path from prefix; an array of scalars becomes one comma-separated value.
// Objects deeper than maxFlattenDepth and arrays of objects are left to Raw.
func flattenLabels(labels map[string]string, prefix string, v any, depth int) {
	switch v := v.(type) {
	case map[string]any:
		if depth >= maxFlattenDepth {
			return
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			flattenLabels(labels, prefix+"."+k, v[k], depth+1)
		}
	case []any:
		var parts []string
		for _, e := range v {
			s, ok := scalarString(e)
			if !ok {
				return
			}
			parts = append(parts, s)
		}
		setIfAbsent(labels, prefix, strings.Join(parts, ","))
	default:
		if s, ok := scalarString(v); ok {
			setIfAbsent(labels, prefix, s)
		}
	}
}

// objectList reads the array of objects at path within p as payloads of
// their own, a null element as an empty object so that indexes still name
// the elements. A value that is not an array, or an element that is not an
// object, fails p.
func objectList(p *payload, path string) []*payload {
	v, ok := p.lookup(path)
	if !ok {
		return nil
	}
	elems, ok := v.([]any)
	if !ok {
		p.fail(path, "want an array of objects, got "+jsonType(v))
		return nil
	}
	out := make([]*payload, 0, len(elems))
	for i, e := range elems {
		switch e := e.(type) {
		case nil:
			out = append(out, &payload{obj: map[string]any{}})
		case map[string]any:
			out = append(out, &payload{obj: e})
		default:
			p.fail(fmt.Sprintf("%s[%d]", path, i), "want an object, got "+jsonType(e))
			return nil
		}
	}
	return out
}

// adoptError records the error of a payload read from the element of p at
// path, naming the field by its whole path.
func adoptError(p *payload, path string, err error) {
	if err != nil && p.err == nil {
		p.err = prefixFieldError(path, err)
	}
}
