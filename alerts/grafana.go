package alerts

// Grafana decodes the payload of a Grafana Alerting webhook contact point
// (version 1) into one Alert per element of its alerts array, each with its
// own status. It is safe for concurrent use.
//
// The payload extends Alertmanager's and is read the same way (see
// Alertmanager): the id is the alert's fingerprint and startsAt, Rule is the
// alertname label (or a rulename annotation), Title the summary annotation,
// Severity comes from the severity or priority label only, Time is startsAt
// and GroupKey the payload's groupKey. Labels are the alert's labels, its
// annotations as "annotation.<name>", and its generatorURL, silenceURL,
// dashboardURL, panelURL and valueString as "grafana.generator_url" and so
// on. The group-wide title, state and message are left to Raw. A missing
// version is accepted; another major version than 1 is a *FieldError.
type Grafana struct {
	source string
}

var _ Decoder = (*Grafana)(nil)

// NewGrafana returns a decoder for Grafana Alerting webhooks from source
// (the name in the webhook path, recorded as Alert.Source).
func NewGrafana(source string) *Grafana {
	return &Grafana{source: source}
}

// Decode decodes body into one Alert per element of its alerts array.
func (d *Grafana) Decode(body []byte) ([]Alert, error) {
	return decodeAlertGroup(body, d.source, alertGroupFormat{
		vendor:  "Grafana",
		prefix:  "grafana.",
		version: "1",
		extra:   grafanaLabels,
	})
}

// grafanaLabels adds the links and values Grafana sends with each alert.
func grafanaLabels(item *payload, labels map[string]string) {
	setIfAbsent(labels, "grafana.silence_url", item.str("silenceURL"))
	setIfAbsent(labels, "grafana.dashboard_url", item.str("dashboardURL"))
	setIfAbsent(labels, "grafana.panel_url", item.str("panelURL"))
	setIfAbsent(labels, "grafana.value_string", item.str("valueString"))
}
