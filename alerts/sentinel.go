package alerts

import (
	"bytes"
	"fmt"
	"strings"
)

// Sentinel decodes a Microsoft Sentinel incident as a Logic App or
// automation rule posts it: the incident resource
//
//	{"id": "/subscriptions/.../incidents/<guid>", "name": "<guid>",
//	 "properties": {"title", "description", "severity", "status", ...}}
//
// or the body of the Sentinel incident trigger, which carries that resource
// in "object" beside workspaceInfo and objectEventType. It is safe for
// concurrent use.
//
// ID and GroupKey are the incident's name (its GUID, else the last segment
// of its resource id), so that updates to one Sentinel incident reach one
// aisoar incident. Rule and Title are its title, which is the analytics
// rule's name unless the rule overrides it. Severity is High, Medium, Low or
// Informational; Status is resolved when the incident is Closed and firing
// when it is New or Active. Time is createdTimeUtc, else firstActivityTimeUtc.
//
// Labels are the incident's properties under their own names, nested ones
// joined by dots (incidentNumber, incidentUrl, owner.assignedTo,
// additionalData.alertsCount, classification), "tag.<labelName>" for each of
// its labels, mitre.tactics and mitre.techniques from additionalData (ATLAS
// ids there become Techniques), and the trigger's objectEventType and
// workspaceInfo.* when present.
type Sentinel struct {
	source string
}

var _ Decoder = (*Sentinel)(nil)

// NewSentinel returns a decoder for Microsoft Sentinel incidents received
// from source (the name in the webhook path, recorded as Alert.Source).
func NewSentinel(source string) *Sentinel {
	return &Sentinel{source: source}
}

// Decode decodes body, one incident or one incident trigger body, into one Alert.
func (s *Sentinel) Decode(body []byte) ([]Alert, error) {
	p, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	// The trigger body wraps the incident; its fields are read through
	// the wrapper so that errors name their whole path.
	base := ""
	if _, isIncident := p.obj["properties"]; !isIncident {
		if v, ok := p.lookup("object"); ok {
			if _, isObj := v.(map[string]any); !isObj {
				return nil, &FieldError{Field: "object", Reason: "want the incident (an object), got " + jsonType(v)}
			}
			base = "object."
		}
	}
	props := base + "properties."

	name := p.str(base + "name")
	if name == "" {
		name = azureResourceName(p.str(base + "id"))
	}
	title := p.str(props + "title")
	a := Alert{
		ID:       name,
		Source:   s.source,
		Rule:     title,
		Title:    title,
		Severity: p.severity(props + "severity"),
		Status:   resolvedWhen(p.str(props+"status"), "closed"),
		Time:     p.time(props + "createdTimeUtc"),
		GroupKey: name,
		Labels:   map[string]string{},
		Raw:      bytes.Clone(body),
	}
	if a.Time.IsZero() {
		a.Time = p.time(props + "firstActivityTimeUtc")
	}

	if v, ok := p.lookup(base + "properties"); ok {
		obj, isObj := v.(map[string]any)
		if !isObj {
			return nil, &FieldError{Field: base + "properties", Reason: "want an object, got " + jsonType(v)}
		}
		addLabelTree(a.Labels, "", obj)
		// Read on their own below.
		delete(a.Labels, "additionalData.tactics")
		delete(a.Labels, "additionalData.techniques")
	}
	addTagLabels(&a, sentinelLabels(p, props+"labels"))
	var m mitreIDs
	for _, t := range p.list(props + "additionalData.tactics") {
		m.tactic(t)
	}
	for _, t := range p.list(props + "additionalData.techniques") {
		m.technique(t)
	}
	m.apply(&a)
	if base != "" {
		if v := p.str("objectEventType"); v != "" {
			a.Labels["objectEventType"] = v
		}
		if v, ok := p.lookup("workspaceInfo"); ok {
			if obj, isObj := v.(map[string]any); isObj {
				addLabelTree(a.Labels, "workspaceInfo.", obj)
			}
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	normalize(&a, body)
	return []Alert{a}, nil
}

// sentinelLabels reads the incident's labels, a list of {"labelName": ...,
// "labelType": ...} objects; a bare string is taken as a label name too.
func sentinelLabels(p *payload, path string) []string {
	v, ok := p.lookup(path)
	if !ok {
		return nil
	}
	list, isList := v.([]any)
	if !isList {
		p.fail(path, "want a list of labels, got "+jsonType(v))
		return nil
	}
	var names []string
	for i, e := range list {
		at := fmt.Sprintf("%s[%d]", path, i)
		var name any
		switch e := e.(type) {
		case nil:
			continue
		case string:
			name = e
		case map[string]any:
			name = e["labelName"]
		default:
			p.fail(at, "want a label object with a labelName, got "+jsonType(e))
			return nil
		}
		switch name := name.(type) {
		case nil:
		case string:
			if name = strings.TrimSpace(name); name != "" {
				names = append(names, name)
			}
		default:
			p.fail(at+".labelName", "want a string, got "+jsonType(name))
			return nil
		}
	}
	return names
}

// azureResourceName returns what follows the last slash of an Azure resource id,
// or the id itself when it has none.
func azureResourceName(id string) string {
	id = strings.TrimRight(strings.TrimSpace(id), "/")
	return id[strings.LastIndex(id, "/")+1:]
}
