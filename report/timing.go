package report

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aisoar/aisoar/workflows"
)

// Definitions of the time figures.
const (
	DefineDetectionSpeed = "Detection speed (MTTA): time from the adversarial signal (the event time the SIEM payload " +
		"carries, alert.time) to the alert reaching aisoar (alert.received), for the first alert of each incident. An " +
		"incident whose payload carried no event time (alert.time equal to alert.received), or an event time after the " +
		"arrival, is left out and counted; so are incidents opened by hand."
	DefineTimeToAcknowledge = "Time to acknowledge: time from the alert reaching aisoar (first_seen) to the incident's " +
		"first human decision on an approval (acknowledged_at). Incidents without a decision are left out and counted."
	DefineContainment = "Containment (MTTR): time from the alert reaching aisoar (first_seen) to the first containment " +
		"action done (contained_at): throttle, quarantine, rollback, or rotate_secret (revoke). By action, the kind of that " +
		"first containment step. Incidents not contained are left out and counted."
)

// Containment action kinds, as the report names the containment actions.
var actionKinds = map[string]string{"throttle": "throttle", "quarantine": "quarantine", "rollback": "rollback", "rotate_secret": "revoke"}

// Stat is the count and nearest-rank percentiles of a set of durations, in
// seconds; the percentiles are null for an empty set.
type Stat struct {
	Count      int      `json:"count"`
	P50Seconds *float64 `json:"p50_seconds"`
	P90Seconds *float64 `json:"p90_seconds"`
}

// Group is the Stat of the incidents sharing a Key (a playbook, a severity,
// an action kind).
type Group struct {
	Key string `json:"key"`
	Stat
}

// Exclusion counts the incidents a figure leaves out, and why.
type Exclusion struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// Timing is a time figure overall, per playbook and per severity.
type Timing struct {
	Definition string      `json:"definition"`
	Overall    Stat        `json:"overall"`
	ByPlaybook []Group     `json:"by_playbook"`
	BySeverity []Group     `json:"by_severity"`
	Excluded   []Exclusion `json:"excluded"`
}

// Containment is MTTR, also per containment action kind.
type Containment struct {
	Timing
	ByAction []Group `json:"by_action"`
}

// sample is one incident's duration for a figure.
type sample struct {
	playbook, severity, action string
	d                          time.Duration
}

func newSample(st *workflows.Status, d time.Duration) sample {
	return sample{playbook: st.Playbook, severity: strconv.FormatInt(st.Alert.Severity, 10), d: d}
}

// Percentile is the nearest-rank p-th percentile of sorted durations: the
// smallest value with at least p% of the values at or below it, the
// value at rank ceil(p/100 × n).
func Percentile(sorted []time.Duration, p int) time.Duration {
	rank := max(1, (p*len(sorted)+99)/100)
	return sorted[rank-1]
}

func stat(ds []time.Duration) Stat {
	s := Stat{Count: len(ds)}
	if len(ds) == 0 {
		return s
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	p50, p90 := Percentile(sorted, 50).Seconds(), Percentile(sorted, 90).Seconds()
	s.P50Seconds, s.P90Seconds = &p50, &p90
	return s
}

// groups is the Stat of the samples per key, sorted by key (severities
// numerically).
func groups(samples []sample, key func(sample) string) []Group {
	by := map[string][]time.Duration{}
	for _, s := range samples {
		by[key(s)] = append(by[key(s)], s.d)
	}
	out := make([]Group, 0, len(by))
	for k, ds := range by {
		out = append(out, Group{Key: k, Stat: stat(ds)})
	}
	slices.SortFunc(out, func(a, b Group) int {
		an, aErr := strconv.Atoi(a.Key)
		bn, bErr := strconv.Atoi(b.Key)
		if aErr == nil && bErr == nil {
			return cmp.Compare(an, bn)
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

func timing(definition string, samples []sample, excluded []Exclusion) Timing {
	ds := make([]time.Duration, len(samples))
	for i, s := range samples {
		ds[i] = s.d
	}
	return Timing{
		Definition: definition,
		Overall:    stat(ds),
		ByPlaybook: groups(samples, func(s sample) string { return s.playbook }),
		BySeverity: groups(samples, func(s sample) string { return s.severity }),
		Excluded:   excluded,
	}
}

// openedByHand reports whether an incident was opened by a person rather
// than by an alert.
func openedByHand(st *workflows.Status) bool {
	o := st.Origin
	return o.OpenedBy != "" || (o.DiscoveredBy != "" && o.DiscoveredBy != workflows.DiscoveredByDetection)
}

func detectionSpeed(incidents []*workflows.Status) Timing {
	var samples []sample
	manual, unknown := 0, 0
	for _, st := range incidents {
		a := &st.Alert
		switch {
		case openedByHand(st):
			manual++
		case !a.Time.Before(a.Received):
			unknown++
		default:
			samples = append(samples, newSample(st, a.Received.Sub(a.Time)))
		}
	}
	return timing(DefineDetectionSpeed, samples, []Exclusion{
		{Reason: "no event time in the payload", Count: unknown},
		{Reason: "opened by hand", Count: manual},
	})
}

func timeToAcknowledge(incidents []*workflows.Status) Timing {
	var samples []sample
	pending := 0
	for _, st := range incidents {
		if st.AcknowledgedAt.IsZero() {
			pending++
			continue
		}
		samples = append(samples, newSample(st, st.AcknowledgedAt.Sub(st.FirstSeen)))
	}
	return timing(DefineTimeToAcknowledge, samples, []Exclusion{{Reason: "no human decision", Count: pending}})
}

func containment(incidents []*workflows.Status) Containment {
	var samples []sample
	open := 0
	for _, st := range incidents {
		if st.ContainedAt.IsZero() {
			open++
			continue
		}
		s := newSample(st, st.ContainedAt.Sub(st.FirstSeen))
		s.action = containmentKind(st)
		samples = append(samples, s)
	}
	c := Containment{Timing: timing(DefineContainment, samples, []Exclusion{{Reason: "not contained", Count: open}})}
	c.ByAction = groups(samples, func(s sample) string { return s.action })
	return c
}

// containmentKind is the kind of the step that contained the incident.
func containmentKind(st *workflows.Status) string {
	for _, group := range [][]*workflows.StepStatus{st.Steps, st.OnFailure} {
		for _, s := range group {
			if s.ID == st.ContainedBy {
				if kind, ok := actionKinds[s.Action]; ok {
					return kind
				}
				return s.Action
			}
		}
	}
	return "unknown"
}
