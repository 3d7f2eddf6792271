package alerts

// Helpers the vendor decoders share: reading fields, labels, tags, MITRE
// ids, priorities and statuses the way more than one SIEM writes them.

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// prefixFieldError returns err, a *FieldError from reading a part of a
// payload, with its Field named from the top of the payload, such as
// "alerts[2]" + "kibana.alert.severity", so a batch names the bad element.
func prefixFieldError(prefix string, err error) error {
	fe, ok := err.(*FieldError)
	if !ok {
		return &FieldError{Field: prefix, Reason: err.Error(), Err: err}
	}
	field := prefix
	if fe.Field != "" {
		field += "." + fe.Field
	}
	return &FieldError{Field: field, Reason: fe.Reason, Err: fe.Err}
}

// firstStringOf returns the first of paths that p has as a non-empty string.
// It stops at the first present field, so only that one can be an error.
func firstStringOf(p *payload, paths ...string) string {
	for _, path := range paths {
		if s := p.str(path); s != "" || p.err != nil {
			return s
		}
	}
	return ""
}

// resolvedWhen maps a vendor's status field that has one word for resolved:
// resolved when s is that word in any case, firing for anything else.
func resolvedWhen(s, word string) string {
	if strings.EqualFold(strings.TrimSpace(s), word) {
		return string(StatusResolved)
	}
	return string(StatusFiring)
}

// labelSeverity reads the conventional severity label (critical, warning,
// info, or 1-5) or, failing that, a priority label (P1 is critical and P5
// info). Labels are free-form, so a value that is neither gives 0 rather
// than failing the whole batch.
func labelSeverity(labels map[string]string) int64 {
	if s, err := ParseSeverity(labels["severity"]); err == nil {
		return s
	}
	if s, ok := priorityLevel(labels["priority"]); ok {
		return s
	}
	return 0
}

// priorityLevel maps a priority such as P1 (or 1) to P5 onto the severity
// scale, P1 being critical; a priority word such as "high" is read with
// ParseSeverity.
func priorityLevel(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "P"), "p")
	if n, err := strconv.Atoi(digits); err == nil && len(digits) == 1 && n >= 1 && n <= 5 {
		return int64(6 - n), true
	}
	if n, err := parseSeverityString(s); err == nil && !isDecimal(s) {
		return n, true
	}
	return 0, false
}

// setIfAbsent sets labels[k] to a non-empty v unless k is already set.
func setIfAbsent(labels map[string]string, k, v string) {
	if _, ok := labels[k]; !ok && v != "" {
		labels[k] = v
	}
}

// addLabelTree copies the values of obj that can be labels into labels under
// prefix: scalars as strings, a list of scalars joined by commas, and the
// values of a nested object under its key and a dot. Anything else, such as
// a list of objects, is left out: labels are for matching, and the raw
// payload keeps everything. Keys are visited in sorted order, so when a flat
// dotted key ("a.b") and a nested object ("a": {"b": ...}) name the same
// label, the flat key wins, as it does in payload.lookup.
func addLabelTree(labels map[string]string, prefix string, obj map[string]any) {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if k == "" {
			continue
		}
		if nested, ok := obj[k].(map[string]any); ok {
			addLabelTree(labels, prefix+k+".", nested)
			continue
		}
		if s, ok := labelText(obj[k]); ok {
			labels[prefix+k] = s
		}
	}
}

// labelText renders a label value: a scalar as scalarString does, or a list
// of scalars joined by commas (nulls in the list are skipped). It reports
// false for null, objects, empty lists and lists holding objects or lists.
func labelText(v any) (string, bool) {
	list, isList := v.([]any)
	if !isList {
		return scalarString(v)
	}
	parts := make([]string, 0, len(list))
	for _, e := range list {
		if e == nil {
			continue
		}
		s, ok := scalarString(e)
		if !ok {
			return "", false
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "", false
	}
	return strings.Join(parts, ","), true
}

// mergeTags adds "key:value" tags to labels, split at the first colon, unless
// the key is already set: a tag with no colon is a key with an empty value.
func mergeTags(labels map[string]string, tags []string) {
	for _, tag := range tags {
		k, v, _ := strings.Cut(tag, ":")
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if _, ok := labels[k]; !ok {
			labels[k] = strings.TrimSpace(v)
		}
	}
}

// tagNameValue matches a tag of the form name:value, such as
// model:fraud-scorer. A space after the colon, as in Elastic's "Domain: LLM",
// makes it a phrase rather than a name and value.
var tagNameValue = regexp.MustCompile(`^([A-Za-z0-9_.-]+):(\S.*)$`)

// addTagLabels records a vendor's tags as "tag.<tag>" labels with the value
// "true", and takes the ATLAS technique ids found in them as techniques. A
// tag of the form name:value also sets the label name, unless the alert has
// it already, so that vendors whose incidents carry only tags can still name
// the asset by the conventional labels (model:fraud-scorer).
func addTagLabels(a *Alert, tags []string) {
	for _, tag := range tags {
		a.Labels["tag."+tag] = "true"
		a.Techniques = append(a.Techniques, atlasID.FindAllString(tag, -1)...)
		if m := tagNameValue.FindStringSubmatch(tag); m != nil {
			setIfAbsent(a.Labels, m[1], strings.TrimSpace(m[2]))
		}
	}
}

// mitreIDs collects MITRE ids from a vendor's threat mapping. ATLAS technique
// ids become the alert's techniques; the others, MITRE ATT&CK technique ids
// such as T1190, and tactics of either framework are kept in the labels
// mitre.techniques and mitre.tactics, sorted and comma-separated.
type mitreIDs struct {
	atlas, techniques, tactics []string
}

// technique records a technique or sub-technique id; blank ids are dropped.
func (m *mitreIDs) technique(id string) {
	switch id = strings.TrimSpace(id); {
	case id == "":
	case atlasID.FindString(id) == id:
		m.atlas = append(m.atlas, id)
	default:
		m.techniques = append(m.techniques, id)
	}
}

// tactic records a tactic id; blank ids are dropped.
func (m *mitreIDs) tactic(id string) {
	if id = strings.TrimSpace(id); id != "" {
		m.tactics = append(m.tactics, id)
	}
}

// apply adds the collected ids to a's techniques and labels.
func (m *mitreIDs) apply(a *Alert) {
	a.Techniques = append(a.Techniques, m.atlas...)
	if len(m.techniques) > 0 {
		a.Labels["mitre.techniques"] = joinSet(m.techniques)
	}
	if len(m.tactics) > 0 {
		a.Labels["mitre.tactics"] = joinSet(m.tactics)
	}
}

// joinSet joins the distinct non-empty strings of s, sorted, with commas.
func joinSet(s []string) string {
	s = slices.DeleteFunc(slices.Clone(s), func(e string) bool { return e == "" })
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ",")
}
