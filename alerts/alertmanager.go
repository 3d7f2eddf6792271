package alerts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"
)

// Alertmanager decodes the webhook payload of Prometheus Alertmanager
// (version 4) into one Alert per element of its alerts array, firing or
// resolved. It is safe for concurrent use.
//
// Each alert's ID is "<fingerprint>@<startsAt in UTC>", so a repeated
// notification of an alert is a redelivery, a new firing episode is a new
// alert, and the resolved notification has the id of the firing one; a
// sender that leaves the fingerprint out gets it computed from the labels as
// Alertmanager does, and an alert with neither gets an id derived from its
// own bytes. Each alert's own status wins over the group's. Rule is the
// alertname label, Title the summary annotation, Severity comes from the
// severity or priority label (0 when neither is a known level), Time is
// startsAt and GroupKey the payload's groupKey. Labels are the alert's
// labels plus its annotations as "annotation.<name>" and its generatorURL as
// "alertmanager.generator_url". A missing version is accepted; another major
// version than 4 is a *FieldError, since its shape may differ.
type Alertmanager struct {
	source string
}

var _ Decoder = (*Alertmanager)(nil)

// NewAlertmanager returns a decoder for Alertmanager webhooks from source
// (the name in the webhook path, recorded as Alert.Source).
func NewAlertmanager(source string) *Alertmanager {
	return &Alertmanager{source: source}
}

// Decode decodes body into one Alert per element of its alerts array.
func (d *Alertmanager) Decode(body []byte) ([]Alert, error) {
	return decodeAlertGroup(body, d.source, alertGroupFormat{
		vendor:  "Alertmanager",
		prefix:  "alertmanager.",
		version: "4",
	})
}

// alertGroupFormat describes a payload in the shape of Alertmanager's
// webhook, which Grafana's contact point extends.
type alertGroupFormat struct {
	// vendor names the sender in error messages.
	vendor string
	// prefix starts the names of the labels the decoder adds from payload fields.
	prefix string
	// version is the major payload version understood.
	version string
	// extra adds the vendor's own fields of one alert to its labels.
	extra func(item *payload, labels map[string]string)
}

// decodeAlertGroup decodes an Alertmanager-shaped payload: a group of
// alerts with their own status, labels and annotations.
func decodeAlertGroup(body []byte, source string, f alertGroupFormat) ([]Alert, error) {
	p, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	if v := strings.TrimSpace(p.str("version")); v != "" {
		if major, _, _ := strings.Cut(v, "."); major != f.version {
			p.fail("version", fmt.Sprintf("%s webhook version %q is not supported (want %s)", f.vendor, v, f.version))
		}
	}
	groupKey := p.str("groupKey")
	groupStatus := p.status("status")
	if p.err != nil {
		return nil, p.err
	}
	items, seeds, err := objectArray(p, body, "alerts")
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, &FieldError{Field: "alerts", Reason: fmt.Sprintf("missing or empty: want the %s webhook payload's array of alerts", f.vendor)}
	}
	raw := bytes.Clone(body)
	out := make([]Alert, 0, len(items))
	for i, item := range items {
		a := decodeGroupedAlert(item, f)
		if strings.TrimSpace(item.str("status")) == "" {
			a.Status = groupStatus
		}
		if item.err != nil {
			return nil, prefixFieldError(fmt.Sprintf("alerts[%d]", i), item.err)
		}
		a.Source = source
		a.GroupKey = groupKey
		a.Raw = raw
		normalize(&a, seeds[i])
		out = append(out, a)
	}
	return out, nil
}

// decodeGroupedAlert reads one element of an Alertmanager-shaped alerts
// array. The caller checks item.err and fills in what is group-wide.
func decodeGroupedAlert(item *payload, f alertGroupFormat) Alert {
	labels := item.labels("labels")
	annotations := item.labels("annotations")
	startsAt := item.time("startsAt")
	fingerprint := strings.TrimSpace(item.str("fingerprint"))
	generatorURL := item.str("generatorURL")
	a := Alert{
		Status:   item.status("status"),
		Time:     startsAt,
		Severity: labelSeverity(labels),
		Rule:     labels["alertname"],
		Title:    annotations["summary"],
		Labels:   make(map[string]string, len(labels)+len(annotations)+1),
	}
	if a.Rule == "" {
		a.Rule = annotations["rulename"]
	}
	maps.Copy(a.Labels, labels)
	for k, v := range annotations {
		setIfAbsent(a.Labels, "annotation."+k, v)
	}
	setIfAbsent(a.Labels, f.prefix+"generator_url", generatorURL)
	if f.extra != nil {
		f.extra(item, a.Labels)
	}
	// Alertmanager fingerprints an alert by its labels; an older sender that
	// leaves it out gets the same one computed here.
	if fingerprint == "" {
		fingerprint = labelsFingerprint(labels)
	}
	if fingerprint != "" {
		a.ID = fingerprint
		if !startsAt.IsZero() {
			a.ID += "@" + startsAt.Format(time.RFC3339Nano)
		}
	}
	return a
}

// labelsFingerprint is Alertmanager's fingerprint of a label set (FNV-64a
// over the sorted names and values, each followed by the byte 0xff), in 16
// hex digits; "" for no labels.
func labelsFingerprint(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	h := fnv.New64a()
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		h.Write([]byte(k))
		h.Write([]byte{0xff})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0xff})
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// objectArray reads the array of objects under key at the top of p, whose
// bytes are body, as payloads of their own, along with each element's bytes
// exactly as sent, the seed of a derived id. A missing or null key gives no
// elements. A key that is not an array, or an element that is not an
// object, is a *FieldError.
func objectArray(p *payload, body []byte, key string) ([]*payload, [][]byte, error) {
	v, ok := p.obj[key]
	if !ok || v == nil {
		return nil, nil, nil
	}
	elems, ok := v.([]any)
	if !ok {
		return nil, nil, &FieldError{Field: key, Reason: "want an array of objects, got " + jsonType(v)}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, nil, &FieldError{Reason: err.Error(), Err: err}
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(top[key], &raws); err != nil || len(raws) != len(elems) {
		return nil, nil, &FieldError{Field: key, Reason: "want an array of objects"}
	}
	items := make([]*payload, len(elems))
	seeds := make([][]byte, len(elems))
	for i, e := range elems {
		obj, ok := e.(map[string]any)
		if !ok {
			return nil, nil, &FieldError{Field: fmt.Sprintf("%s[%d]", key, i), Reason: "want an object, got " + jsonType(e)}
		}
		items[i] = &payload{obj: obj}
		seeds[i] = raws[i]
	}
	return items, seeds, nil
}
