package alerts

import (
	"bytes"
	"fmt"
	"strings"
)

// azureCommonSchema is the schemaId of Azure Monitor's common alert schema.
const azureCommonSchema = "azureMonitorCommonAlertSchema"

// AzureMonitor decodes an Azure Monitor alert notification in the common
// alert schema, as an action group's webhook, Logic App or Function posts it:
//
//	{"schemaId": "azureMonitorCommonAlertSchema",
//	 "data": {"essentials": {...}, "alertContext": {...}, "customProperties": {...}}}
//
// It is safe for concurrent use.
//
// ID is essentials.alertId, which a Resolved notification shares with the
// Fired one; Rule is essentials.alertRule. Severity maps Sev0 (critical)
// through Sev4 (info) onto 5 through 1. Status is resolved when
// monitorCondition is Resolved. Time is firedDateTime, also for a Resolved
// notification (resolvedDateTime is kept in labels). Azure Monitor has no
// grouping of its own, so GroupKey is empty.
//
// Labels are, from lowest to highest precedence: the dimensions of every
// criterion in alertContext.condition.allOf (name: value), the labels of a
// Prometheus rule (alertContext.labels), the rule's custom properties
// (alertContext.properties), the action group's customProperties, and the
// essentials under their own names (alertTargetIDs and configurationItems
// joined by commas).
type AzureMonitor struct {
	source string
}

var _ Decoder = (*AzureMonitor)(nil)

// NewAzureMonitor returns a decoder for Azure Monitor common-schema alerts
// received from source (the name in the webhook path, recorded as Alert.Source).
func NewAzureMonitor(source string) *AzureMonitor {
	return &AzureMonitor{source: source}
}

// Decode decodes body, one common-schema notification, into one Alert.
func (d *AzureMonitor) Decode(body []byte) ([]Alert, error) {
	p, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	if id := p.str("schemaId"); id != "" && id != azureCommonSchema {
		return nil, &FieldError{Field: "schemaId", Reason: fmt.Sprintf(
			"%q is not the common alert schema (want %q: turn on the common alert schema in the action group)", id, azureCommonSchema)}
	}
	const essentials = "data.essentials."
	a := Alert{
		ID:       p.str(essentials + "alertId"),
		Source:   d.source,
		Rule:     p.str(essentials + "alertRule"),
		Severity: azureSeverity(p, essentials+"severity"),
		Status:   resolvedWhen(p.str(essentials+"monitorCondition"), "resolved"),
		Time:     p.time(essentials + "firedDateTime"),
		Labels:   map[string]string{},
		Raw:      bytes.Clone(body),
	}
	azureDimensions(p, a.Labels)
	for _, path := range []string{"data.alertContext.labels", "data.alertContext.properties", "data.customProperties", "data.essentials"} {
		v, ok := p.lookup(path)
		if !ok {
			continue
		}
		obj, isObj := v.(map[string]any)
		if !isObj {
			p.fail(path, "want an object, got "+jsonType(v))
			break
		}
		addLabelTree(a.Labels, "", obj)
	}
	if p.err != nil {
		return nil, p.err
	}
	normalize(&a, body)
	return []Alert{a}, nil
}

// azureSeverity reads Sev0 (critical) to Sev4 (informational), or the bare
// number 0-4 of the alert rule's API; empty is none.
func azureSeverity(p *payload, path string) int64 {
	s := strings.TrimSpace(p.str(path))
	if s == "" {
		return 0
	}
	level := s
	if len(level) > 3 && strings.EqualFold(level[:3], "sev") {
		level = level[3:]
	}
	switch level {
	case "0":
		return int64(SeverityCritical)
	case "1":
		return int64(SeverityHigh)
	case "2":
		return int64(SeverityMedium)
	case "3":
		return int64(SeverityLow)
	case "4":
		return int64(SeverityInfo)
	}
	p.failErr(path, fmt.Errorf("%w: %q (want Sev0-Sev4)", ErrUnknownSeverity, s))
	return 0
}

// azureDimensions copies the dimensions of a metric or log search alert's
// criteria, [{"name": ..., "value": ...}], into labels as name: value. When
// two criteria name the same dimension the first one's value is kept.
func azureDimensions(p *payload, labels map[string]string) {
	const path = "data.alertContext.condition.allOf"
	v, ok := p.lookup(path)
	if !ok {
		return
	}
	criteria, isList := v.([]any)
	if !isList {
		p.fail(path, "want a list of criteria, got "+jsonType(v))
		return
	}
	seen := map[string]bool{}
	for i, c := range criteria {
		at := fmt.Sprintf("%s[%d]", path, i)
		criterion, isObj := c.(map[string]any)
		if !isObj {
			if c != nil {
				p.fail(at, "want a criterion object, got "+jsonType(c))
				return
			}
			continue
		}
		var dims []any
		switch v := criterion["dimensions"].(type) {
		case nil:
			continue
		case []any:
			dims = v
		default:
			p.fail(at+".dimensions", "want a list of {name, value} objects, got "+jsonType(v))
			return
		}
		for j, d := range dims {
			dimAt := fmt.Sprintf("%s.dimensions[%d]", at, j)
			dim, isObj := d.(map[string]any)
			if !isObj {
				p.fail(dimAt, "want a {name, value} object, got "+jsonType(d))
				return
			}
			var name string
			switch n := dim["name"].(type) {
			case nil:
				continue
			case string:
				name = n
			default:
				p.fail(dimAt+".name", "want a string, got "+jsonType(n))
				return
			}
			value, ok := labelText(dim["value"])
			if name == "" || !ok || seen[name] {
				continue
			}
			seen[name] = true
			labels[name] = value
		}
	}
}
