package alerts

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Elastic decodes Elastic Security detection alerts as a Kibana webhook
// connector forwards them. The connector's body is a template, so Decode
// accepts the shapes it is commonly given: one alert document, or a batch
// of them as {"alerts": [...]} or {"context": {"alerts": [...]}}. Fields may
// be flat dotted keys ("kibana.alert.rule.name"), as the alerts index stores
// them, nested objects, as Kibana's action context gives them, or a mix. It
// is safe for concurrent use.
//
// ID is kibana.alert.uuid (or _id), Rule and Title kibana.alert.rule.name,
// and GroupKey kibana.alert.rule.uuid (or rule_id), so that each rule has its
// incidents. Severity is kibana.alert.severity, else kibana.alert.risk_score
// in Elastic's bands: 0-21 low, 22-47 medium, 48-73 high, 74-100 critical.
// Status is resolved when kibana.alert.workflow_status is closed or
// kibana.alert.status is recovered. Time is @timestamp, when the alert was
// created, else kibana.alert.original_time.
//
// Labels are the document's custom labels (labels.*) under their own names,
// a set of ECS fields under their dotted names (host.name, user.name,
// gen_ai.request.model.id and others), "tag.<tag>"
// for each rule tag, and mitre.techniques and mitre.tactics for the ATT&CK
// ids in the rule's threat mapping (kibana.alert.rule.threat) or the event's
// (threat). ATLAS technique ids there or in tags become Techniques. The
// model a gen_ai request named is the asset's model.
type Elastic struct {
	source string
}

var _ Decoder = (*Elastic)(nil)

// NewElastic returns a decoder for Elastic Security alerts received from
// source (the name in the webhook path, recorded as Alert.Source).
func NewElastic(source string) *Elastic {
	return &Elastic{source: source}
}

// Decode decodes body, one alert document or a batch of them, into one
// Alert per document. Every alert of a batch has the whole body as Raw.
// An empty batch decodes to no alerts.
func (e *Elastic) Decode(body []byte) ([]Alert, error) {
	p, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	docs, batchPath, isBatch := elasticBatch(p)
	if p.err != nil {
		return nil, p.err
	}
	raw := bytes.Clone(body)
	if !isBatch {
		a := e.decodeDoc(p)
		if p.err != nil {
			return nil, p.err
		}
		a.Raw = raw
		normalize(&a, body)
		return []Alert{a}, nil
	}
	out := make([]Alert, 0, len(docs))
	for i, doc := range docs {
		at := fmt.Sprintf("%s[%d]", batchPath, i)
		obj, ok := doc.(map[string]any)
		if !ok {
			return nil, &FieldError{Field: at, Reason: "want an alert document (an object), got " + jsonType(doc)}
		}
		dp := &payload{obj: obj}
		a := e.decodeDoc(dp)
		if dp.err != nil {
			return nil, prefixFieldError(at, dp.err)
		}
		a.Raw = raw
		normalize(&a, elasticDocSeed(body, obj, i))
		out = append(out, a)
	}
	return out, nil
}

// elasticBatch returns the list of alert documents when p is a batch.
func elasticBatch(p *payload) (docs []any, path string, ok bool) {
	// Where a templated connector body puts a batch, in the order tried.
	for _, path := range [...]string{"alerts", "context.alerts"} {
		v, found := p.lookup(path)
		if !found {
			continue
		}
		list, isList := v.([]any)
		if !isList {
			p.fail(path, "want a list of alert documents, got "+jsonType(v))
			return nil, "", false
		}
		return list, path, true
	}
	return nil, "", false
}

// decodeDoc reads one alert document; errors are left in p.err.
func (e *Elastic) decodeDoc(p *payload) Alert {
	a := Alert{
		ID:       firstStringOf(p, "kibana.alert.uuid", "_id"),
		Source:   e.source,
		Rule:     p.str("kibana.alert.rule.name"),
		Severity: elasticSeverity(p),
		Status:   elasticStatus(p),
		Time:     p.time("@timestamp"),
		GroupKey: firstStringOf(p, "kibana.alert.rule.uuid", "kibana.alert.rule.rule_id"),
		Labels:   map[string]string{},
	}
	if a.Time.IsZero() {
		a.Time = p.time("kibana.alert.original_time")
	}
	a.Title = a.Rule

	// Custom labels first, so that the fields read below win a clash.
	if v, ok := p.lookup("labels"); ok {
		if obj, isObj := v.(map[string]any); isObj {
			addLabelTree(a.Labels, "", obj)
		} else {
			p.fail("labels", "want an object of custom labels, got "+jsonType(v))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.obj)) {
		if name, ok := strings.CutPrefix(k, "labels."); ok && name != "" {
			if s, ok := labelText(p.obj[k]); ok {
				a.Labels[name] = s
			}
		}
	}
	// ECS and Kibana fields copied under their own names when they hold a
	// scalar or a list of scalars.
	for _, path := range [...]string{
		"kibana.alert.rule.uuid",
		"kibana.alert.rule.rule_id",
		"kibana.alert.rule.type",
		"kibana.alert.reason",
		"kibana.alert.risk_score",
		"kibana.alert.workflow_status",
		"kibana.alert.status",
		"kibana.alert.url",
		"kibana.space_ids",
		"host.name",
		"host.ip",
		"user.name",
		"user.id",
		"user.email",
		"source.ip",
		"destination.ip",
		"url.full",
		"service.name",
		"process.name",
		"cloud.provider",
		"cloud.account.id",
		"cloud.region",
		"event.action",
		"event.dataset",
		"gen_ai.request.model.id",
		"gen_ai.request.model", // OpenTelemetry's name for it
		"gen_ai.system",
	} {
		if v, ok := lookupLenient(p.obj, path); ok {
			if s, ok := labelText(v); ok {
				a.Labels[path] = s
			}
		}
	}
	a.Asset.Model = cmp.Or(a.Labels["gen_ai.request.model.id"], a.Labels["gen_ai.request.model"])

	addTagLabels(&a, p.list("kibana.alert.rule.tags"))
	var m mitreIDs
	m.collectThreat(p, "kibana.alert.rule.threat")
	m.collectThreat(p, "threat")
	m.apply(&a)
	return a
}

// elasticSeverity reads kibana.alert.severity, else maps
// kibana.alert.risk_score onto the scale by Elastic's own bands.
func elasticSeverity(p *payload) int64 {
	if n := p.severity("kibana.alert.severity"); n != 0 || p.err != nil {
		return n
	}
	const path = "kibana.alert.risk_score"
	v, ok := p.lookup(path)
	if !ok {
		return 0
	}
	var text string
	switch v := v.(type) {
	case json.Number:
		text = v.String()
	case string:
		if text = strings.TrimSpace(v); text == "" {
			return 0
		}
	default:
		p.fail(path, "want a number 0-100, got "+jsonType(v))
		return 0
	}
	score, err := strconv.ParseFloat(text, 64)
	if err != nil || !isDecimal(text) || math.IsNaN(score) || score < 0 || score > 100 {
		p.fail(path, fmt.Sprintf("not a risk score: %q (want a number 0-100)", text))
		return 0
	}
	switch {
	case score < 22:
		return int64(SeverityLow)
	case score < 48:
		return int64(SeverityMedium)
	case score < 74:
		return int64(SeverityHigh)
	}
	return int64(SeverityCritical)
}

// elasticStatus is resolved when an analyst closed the alert or the rule
// reported it recovered. Other values (open, acknowledged, active,
// untracked) leave it firing; they are kept in labels.
func elasticStatus(p *payload) string {
	workflow := strings.TrimSpace(p.str("kibana.alert.workflow_status"))
	status := strings.TrimSpace(p.str("kibana.alert.status"))
	if strings.EqualFold(workflow, "closed") || strings.EqualFold(status, "recovered") {
		return string(StatusResolved)
	}
	return string(StatusFiring)
}

// lookupLenient finds path in obj as payload.lookup does, but treats a value
// of the wrong shape on the way as absent rather than as an error. It is for
// fields that are only copied into labels.
func lookupLenient(obj map[string]any, path string) (any, bool) {
	p := payload{obj: obj}
	return p.lookup(path)
}

// elasticDocSeed is the bytes a batch member's derived id is computed from: the
// document re-encoded, which is the same for the same document.
func elasticDocSeed(body []byte, doc map[string]any, i int) []byte {
	seed, err := json.Marshal(doc)
	if err != nil { // not reached: doc came from the JSON decoder
		return fmt.Appendf(bytes.Clone(body), "\x00%d", i)
	}
	return seed
}

// collectThreat collects the technique, sub-technique and tactic ids of an
// ECS threat field at base, in any of the shapes Elastic writes it: the
// rule's list of {framework, tactic: {id}, technique: [{id, subtechnique:
// [{id}]}]}, the event's object of lists (threat.technique.id: [...]), or
// flat dotted keys. An id that is not a string is a *FieldError.
func (m *mitreIDs) collectThreat(p *payload, base string) {
	if v, ok := p.lookup(base); ok {
		if !m.walkThreat(p, v, base, "") {
			return
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.obj)) {
		if rel, ok := strings.CutPrefix(k, base+"."); ok {
			if !m.walkThreat(p, p.obj[k], k, rel) {
				return
			}
		}
	}
}

// walkThreat visits v, found at path, whose keys below base so far are rel
// (list indexes left out), and reports false when it recorded an error.
func (m *mitreIDs) walkThreat(p *payload, v any, path, rel string) bool {
	isTechnique := rel == "technique.id" || strings.HasSuffix(rel, ".technique.id") || strings.HasSuffix(rel, "subtechnique.id")
	isTactic := rel == "tactic.id" || strings.HasSuffix(rel, ".tactic.id")
	switch v := v.(type) {
	case map[string]any:
		if isTechnique || isTactic {
			p.fail(path, "want a string id, got object")
			return false
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			next := k
			if rel != "" {
				next = rel + "." + k
			}
			if !m.walkThreat(p, v[k], path+"."+k, next) {
				return false
			}
		}
	case []any:
		for i, e := range v {
			if !m.walkThreat(p, e, fmt.Sprintf("%s[%d]", path, i), rel) {
				return false
			}
		}
	case string:
		switch {
		case isTechnique:
			m.technique(v)
		case isTactic:
			m.tactic(v)
		}
	case nil:
	default:
		if isTechnique || isTactic {
			p.fail(path, "want a string id, got "+jsonType(v))
			return false
		}
	}
	return true
}
