package alerts

import (
	"bytes"
	"cmp"
	"fmt"
	"regexp"
	"strings"
)

// Datadog decodes the body of a Datadog webhook integration: its default
// payload (id, last_updated, event_type, title, date, org, body) with any of
// the commonly added variables, each under the key named for it below. It
// is safe for concurrent use.
//
// A value that is still a variable's name ("$ALERT_PRIORITY", which Datadog
// leaves when the variable is empty for the event) counts as absent.
//
//   - ID is id ($ID), the event's id, so each notification is an alert of
//     its own and a retried delivery keeps its id.
//   - Rule is the monitor's name: title ($EVENT_TITLE) or alert_title
//     ($ALERT_TITLE) without the "[P1] [Triggered on {scope}]" prefix, so
//     that the Triggered and Recovered notifications share it, or else
//     alert_id ($ALERT_ID). Title is title, or else alert_title, as sent.
//   - Status is resolved for the Recovered transition, read from
//     alert_transition ($ALERT_TRANSITION), alert_status when it holds a
//     transition, or the title's prefix, and for alert_type success.
//   - Severity is alert_priority ($ALERT_PRIORITY) or the title's [P1] to
//     [P5], P1 being critical (5) and P5 info (1), or else alert_type
//     ($ALERT_TYPE): error is high, warning medium, info info; success, the
//     recovery, says nothing of severity and gives 0.
//   - Time is date ($DATE, epoch milliseconds), or else last_updated.
//   - GroupKey is aggreg_key ($AGGREG_KEY).
//   - Labels are the tags ($TAGS, "key:value,key2:value2") and alert_scope
//     ($ALERT_SCOPE) as labels[key] = value; a tag with no colon is a label
//     with an empty value, so `"env" in alert.labels` can test for it. The
//     payload's own fields are added as "datadog.<name>" (monitor_id,
//     alert_cycle_key, hostname, link, query, metric, transition, priority,
//     alert_type, event_type, org_id, org_name) and win over a tag of that
//     name.
//   - Techniques are the ATLAS ids in the tags, in any case, since Datadog
//     lowercases tags ("atlas:aml.t0024" is AML.T0024).
type Datadog struct {
	source string
}

var _ Decoder = (*Datadog)(nil)

// NewDatadog returns a decoder for Datadog webhooks from source (the name
// in the webhook path, recorded as Alert.Source).
func NewDatadog(source string) *Datadog {
	return &Datadog{source: source}
}

var (
	// datadogVariable is a template variable Datadog left unexpanded.
	datadogVariable = regexp.MustCompile(`^\$[A-Z][A-Z0-9_]*$`)
	// datadogTitle is the prefix Datadog puts on a monitor notification's
	// title: an optional priority, then the transition and its scope, as in
	// "[P1] [Triggered on {host:a,model:b}] Token spike".
	datadogTitle = regexp.MustCompile(`^\s*(?:\[[Pp]([1-5])\]\s*)?\[((?i:re-triggered|triggered|recovered|re-warn|warn|re-no data|no data|renotify))(?: on \{[^}]*\})?\]\s*`)
	// atlasIDFold matches an ATLAS technique id in any case.
	atlasIDFold = regexp.MustCompile(`(?i)\baml\.t\d{4}(?:\.\d{3})?`)
)

// datadogTransitions maps $ALERT_TRANSITION's values onto Status.
var datadogTransitions = map[string]Status{
	"triggered":    StatusFiring,
	"re-triggered": StatusFiring,
	"warn":         StatusFiring,
	"re-warn":      StatusFiring,
	"no data":      StatusFiring,
	"re-no data":   StatusFiring,
	"renotify":     StatusFiring,
	"recovered":    StatusResolved,
}

// datadogAlertTypes maps $ALERT_TYPE's values onto the severity scale.
var datadogAlertTypes = map[string]Severity{
	"error":   SeverityHigh,
	"warning": SeverityMedium,
	"info":    SeverityInfo,
	"success": 0,
}

// Decode decodes body, which must be one JSON object, into one Alert.
func (d *Datadog) Decode(body []byte) ([]Alert, error) {
	p, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	dropUnexpanded(p.obj)

	title := p.str("title")
	alertTitle := p.str("alert_title")
	transition := p.str("alert_transition")
	alertStatus := p.str("alert_status")
	priority := strings.TrimSpace(p.str("alert_priority"))
	alertType := p.str("alert_type")
	monitorID := p.str("alert_id")
	tags := p.list("tags")
	scope := p.list("alert_scope")
	a := Alert{
		ID:       p.str("id"),
		Source:   d.source,
		Title:    title,
		Time:     p.time("date"),
		GroupKey: p.str("aggreg_key"),
		Labels:   map[string]string{},
		Raw:      bytes.Clone(body),
	}
	if a.Time.IsZero() {
		a.Time = p.time("last_updated")
	}
	if a.Title == "" {
		a.Title = alertTitle
	}
	fields := map[string]string{
		"monitor_id":      monitorID,
		"alert_cycle_key": p.str("alert_cycle_key"),
		"hostname":        p.str("hostname"),
		"link":            p.str("link"),
		"query":           p.str("alert_query"),
		"metric":          p.str("alert_metric"),
		"transition":      transition,
		"priority":        priority,
		"alert_type":      alertType,
		"event_type":      p.str("event_type"),
		"org_id":          p.str("org.id"),
		"org_name":        p.str("org.name"),
	}
	if fields["hostname"] == "" {
		fields["hostname"] = p.str("host_name")
	}
	if p.err != nil {
		return nil, p.err
	}

	// The title's prefix carries the priority and transition even in the
	// default payload, which has neither variable.
	name, titlePriority, titleTransition := splitDatadogTitle(title)
	altName, altPriority, altTransition := splitDatadogTitle(alertTitle)
	a.Rule = cmp.Or(name, altName, monitorID)
	titlePriority = cmp.Or(titlePriority, altPriority)
	titleTransition = cmp.Or(titleTransition, altTransition)

	switch {
	case priority != "":
		sev, ok := priorityLevel(priority)
		if !ok {
			return nil, &FieldError{Field: "alert_priority", Err: ErrUnknownSeverity,
				Reason: fmt.Sprintf("%v: %q (want P1 to P5)", ErrUnknownSeverity, priority)}
		}
		a.Severity = sev
	case titlePriority != "":
		a.Severity, _ = priorityLevel(titlePriority)
	default:
		a.Severity = int64(datadogAlertTypes[strings.ToLower(strings.TrimSpace(alertType))])
	}

	a.Status = string(StatusFiring)
	status, ok := datadogTransitions[strings.ToLower(strings.TrimSpace(transition))]
	if !ok {
		status, ok = datadogTransitions[strings.ToLower(strings.TrimSpace(alertStatus))]
	}
	if !ok {
		status, ok = datadogTransitions[strings.ToLower(titleTransition)]
	}
	switch {
	case ok:
		a.Status = string(status)
	case strings.EqualFold(strings.TrimSpace(alertType), "success"):
		a.Status = string(StatusResolved)
	}

	for k, v := range fields {
		if v != "" {
			a.Labels["datadog."+k] = v
		}
	}
	tags = append(tags, scope...)
	mergeTags(a.Labels, tags)
	for _, tag := range tags {
		for _, id := range atlasIDFold.FindAllString(tag, -1) {
			a.Techniques = append(a.Techniques, strings.ToUpper(id))
		}
	}
	normalize(&a, body)
	return []Alert{a}, nil
}

// splitDatadogTitle splits a notification title into the monitor's name,
// the priority digit and the transition of its prefix. A title without the
// prefix is all name.
func splitDatadogTitle(title string) (name, priority, transition string) {
	m := datadogTitle.FindStringSubmatchIndex(title)
	if m == nil {
		return strings.TrimSpace(title), "", ""
	}
	if m[2] >= 0 {
		priority = title[m[2]:m[3]]
	}
	return strings.TrimSpace(title[m[1]:]), priority, title[m[4]:m[5]]
}

// dropUnexpanded removes, at any depth, the string values that are still a
// template variable's name, so that getters see them as absent.
func dropUnexpanded(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && datadogVariable.MatchString(strings.TrimSpace(s)) {
				delete(v, k)
				continue
			}
			dropUnexpanded(e)
		}
	case []any:
		for i, e := range v {
			if s, ok := e.(string); ok && datadogVariable.MatchString(strings.TrimSpace(s)) {
				v[i] = nil
				continue
			}
			dropUnexpanded(e)
		}
	}
}
