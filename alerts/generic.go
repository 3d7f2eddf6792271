package alerts

import "bytes"

// GenericMapping says where in a JSON payload each Alert field is found, as a
// dotted path ("rule.name", "labels.severity"). An empty path means the
// field's own name in the normalized alert ("severity", "asset.model",
// "group_key"), so a payload that already is a normalized Alert in JSON
// decodes as is. The path "-" means the payload never has the field.
//
// At each level of a path the whole remaining path is first tried as a
// literal key, so flat dotted keys such as Elastic's "kibana.alert.rule.name"
// are found as well as nested objects.
type GenericMapping struct {
	ID, Rule, Title, Severity, Status, Time, Category, Techniques, GroupKey string

	AssetModel, AssetEndpoint, AssetPipeline, AssetTenant, AssetKeyID string

	// Labels is the path to an object of string (or scalar) values.
	Labels string
}

// withDefaults returns m with every empty path replaced by the field's json name.
func (m GenericMapping) withDefaults() GenericMapping {
	def := func(path *string, name string) {
		if *path == "" {
			*path = name
		}
	}
	def(&m.ID, "id")
	def(&m.Rule, "rule")
	def(&m.Title, "title")
	def(&m.Severity, "severity")
	def(&m.Status, "status")
	def(&m.Time, "time")
	def(&m.Category, "category")
	def(&m.Techniques, "techniques")
	def(&m.GroupKey, "group_key")
	def(&m.AssetModel, "asset.model")
	def(&m.AssetEndpoint, "asset.endpoint")
	def(&m.AssetPipeline, "asset.pipeline")
	def(&m.AssetTenant, "asset.tenant")
	def(&m.AssetKeyID, "asset.key_id")
	def(&m.Labels, "labels")
	return m
}

// Generic decodes one JSON object into one Alert by a GenericMapping, for
// senders whose payload can be configured or that have no decoder of their
// own. It is safe for concurrent use.
//
// String fields also take numbers, kept exactly as written (large ids are
// not rounded). Severity is read with ParseSeverity and is 0 when the payload
// has none. Time is an RFC 3339 string or an epoch number, bare or in a
// string: seconds, or milliseconds when larger than 1e12 (microseconds and
// nanoseconds past 1e15 and 1e18); it is kept in UTC, and a missing time, or
// 0, stays zero. Status accepts firing, alerting, open and triggered, or
// resolved, ok and closed, in any case. Techniques is a list of strings or a
// comma-separated string, and also gains every ATLAS id (AML.T0000 or
// AML.T0000.000) found in the label values or the title; the result is
// sorted and free of duplicates. Label values that are numbers or booleans
// are stringified and nulls dropped. Techniques and Labels are never nil, so
// that playbook conditions can test membership without a null check.
type Generic struct {
	source  string
	mapping GenericMapping
}

var _ Decoder = (*Generic)(nil)

// NewGeneric returns a decoder that reads payloads from source (the name in
// the webhook path, recorded as Alert.Source) according to m.
func NewGeneric(source string, m GenericMapping) *Generic {
	return &Generic{source: source, mapping: m.withDefaults()}
}

// Decode decodes body, which must be one JSON object, into one Alert.
// A body that is not a JSON object, or a present field of the wrong type, is
// a *FieldError naming the mapped path; a missing field is never an error.
func (g *Generic) Decode(body []byte) ([]Alert, error) {
	p, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	m := g.mapping
	a := Alert{
		ID:         p.str(m.ID),
		Source:     g.source,
		Rule:       p.str(m.Rule),
		Title:      p.str(m.Title),
		Severity:   p.severity(m.Severity),
		Status:     p.status(m.Status),
		Time:       p.time(m.Time),
		Category:   p.str(m.Category),
		Techniques: p.list(m.Techniques),
		Asset: Asset{
			Model:    p.str(m.AssetModel),
			Endpoint: p.str(m.AssetEndpoint),
			Pipeline: p.str(m.AssetPipeline),
			Tenant:   p.str(m.AssetTenant),
			KeyID:    p.str(m.AssetKeyID),
		},
		Labels:   p.labels(m.Labels),
		GroupKey: p.str(m.GroupKey),
		Raw:      bytes.Clone(body),
	}
	if p.err != nil {
		return nil, p.err
	}
	normalize(&a, body)
	return []Alert{a}, nil
}
