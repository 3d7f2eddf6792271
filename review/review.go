// Package review writes the post-incident review Risk/Governance reads:
// the incident's timeline (alert, steps, approvals, containment, undo,
// resolution), its evidence and whether it still verifies, its ATLAS
// techniques, its own time to detect, acknowledge and contain, and the
// sections people fill in (root cause, regulatory impact, follow-ups). It
// renders Markdown and standalone HTML from what it is given, and keeps the
// results beside the evidence (Archive).
package review

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/atlas"
	"github.com/aisoar/aisoar/evidence"
	"github.com/aisoar/aisoar/workflows"
)

// Input is what a review is made of.
type Input struct {
	// Status is the incident as its status query answers.
	Status *workflows.Status
	// PlaybookATLAS are the techniques the incident's playbook answers.
	PlaybookATLAS []string
	// Catalog names the ATLAS techniques; default atlas.Default().
	Catalog *atlas.Catalog
	// Evidence is the verification of the incident's evidence; when nil,
	// EvidenceNote says why there is none.
	Evidence     *evidence.Report
	EvidenceNote string
	// RoleTitles names the approver roles (config.RoleTitles).
	RoleTitles map[string]string
	// Generated is when the review is made, and GeneratedBy who asked.
	Generated   time.Time
	GeneratedBy string
}

// Review is an incident's review, laid out for the templates.
type Review struct {
	Incident    string
	Title       string
	Generated   string
	GeneratedBy string
	// Facts describe the incident; Figures are its own response times.
	Facts      []Fact
	Figures    []Fact
	Timeline   []Event
	Steps      []Step
	Approvals  []Approval
	Evidence   Evidence
	Techniques []Technique
}

// Fact is one labelled value.
type Fact struct{ Label, Value string }

// Event is one line of the timeline; Offset is the time since the alert.
type Event struct{ At, Offset, What string }

// Step is one step or undo step.
type Step struct{ ID, Action, State, Started, Ended, Took, Detail string }

// Approval is a step's approval and its decisions.
type Approval struct {
	Step, Role, Outcome, Requested, Deadline string
	Decisions                                []Decision
}

// Decision is one approver's answer; After is the time since the request.
type Decision struct{ Who, At, After, Via, Verdict, Reason string }

// Evidence is the incident's evidence and its verification.
type Evidence struct {
	// Note, when set, says why there is no report.
	Note     string
	Location string
	Verified bool
	Problems []string
	Sealed   []Manifest
}

// Manifest is one signed manifest and its items.
type Manifest struct {
	ID, Key, Manifest, Signature, KeyID, Problem string
	Items                                        []Item
}

// Item is one piece of evidence.
type Item struct{ Name, Source, SHA256, Size, Status string }

// Technique is an ATLAS technique with its name and page.
type Technique struct{ ID, Name, URL string }

// timeLayout is how absolute times are shown.
const timeLayout = "2006-01-02 15:04:05 UTC"

// Build lays out the review of in.Status.
func Build(in Input) *Review {
	st := in.Status
	r := &Review{
		Incident:    st.ID,
		Title:       cmp.Or(st.Alert.Title, st.Alert.Rule, st.ID),
		Generated:   stamp(in.Generated),
		GeneratedBy: in.GeneratedBy,
	}
	r.Facts = facts(st)
	r.Figures = figures(st)
	r.Timeline = timeline(st)
	r.Steps = steps(st)
	r.Approvals = approvals(st, in.RoleTitles)
	r.Evidence = evidenceOf(in.Evidence, in.EvidenceNote)
	r.Techniques = techniques(cmp.Or(in.Catalog, atlas.Default()), append(slices.Clone(st.Alert.Techniques), in.PlaybookATLAS...))
	return r
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(timeLayout)
}

// span shows a duration: to the millisecond under a second, else to the
// second, without trailing zero units ("5m", "2h", "2h0m1s").
func span(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// opened is whether the incident was opened by hand rather than by an alert.
func opened(st *workflows.Status) bool { return st.Origin.OpenedBy != "" }

func facts(st *workflows.Status) []Fact {
	a := &st.Alert
	out := []Fact{
		{"Incident", st.ID},
		{"Playbook", fmt.Sprintf("%s v%d (sha256 %.12s)", st.Playbook, st.Version, st.PlaybookHash)},
		{"State", st.State},
	}
	if st.DryRun {
		out = append(out, Fact{"Dry run", "yes: its actions recorded requests and made none"})
	}
	out = append(out, Fact{"Triage class", cmp.Or(st.Origin.Class, workflows.ClassAIIncident)})
	discovered := cmp.Or(st.Origin.DiscoveredBy, workflows.DiscoveredByDetection)
	if opened(st) {
		discovered += ", opened by hand by " + st.Origin.OpenedBy
	}
	out = append(out, Fact{"Discovered by", discovered})
	if o := st.Origin; o.ReclassifiedFrom != "" {
		out = append(out, Fact{"Reclassified from", fmt.Sprintf("%s (reclassification %d)", o.ReclassifiedFrom, o.Reclassified)})
	}
	if st.ReclassifiedTo != "" {
		out = append(out, Fact{"Reclassified to", st.ReclassifiedTo})
	}
	out = append(out,
		Fact{"Alert", fmt.Sprintf("%s (source %s, rule %s, category %s)", cmp.Or(a.Title, "untitled"), a.Source, a.Rule, cmp.Or(a.Category, "none"))},
		Fact{"Severity", severity(a.Severity)},
	)
	if asset := assetText(&a.Asset); asset != "" {
		out = append(out, Fact{"Asset", asset})
	}
	if d := a.Labels["description"]; d != "" && opened(st) {
		out = append(out, Fact{"Description", d})
	}
	return append(out, Fact{"Alerts", fmt.Sprintf("%d (%d redelivered), first %s, last %s", st.AlertCount, st.Redeliveries, stamp(st.FirstSeen), stamp(st.LastSeen))})
}

func severity(s int64) string {
	names := []string{1: "info", 2: "low", 3: "medium", 4: "high", 5: "critical"}
	if s >= 1 && s <= 5 {
		return fmt.Sprintf("%d (%s)", s, names[s])
	}
	return fmt.Sprint(s)
}

func assetText(a *alerts.Asset) string {
	var parts []string
	for _, f := range []struct{ name, value string }{{"model", a.Model}, {"endpoint", a.Endpoint}, {"pipeline", a.Pipeline}, {"tenant", a.Tenant}, {"key", a.KeyID}} {
		if f.value != "" {
			parts = append(parts, f.name+" "+f.value)
		}
	}
	return strings.Join(parts, ", ")
}

// figures are the incident's own response times, as the governance
// metrics define them.
func figures(st *workflows.Status) []Fact {
	detect := "—"
	switch a := &st.Alert; {
	case opened(st):
		detect = "— (opened by hand)"
	case !a.Time.IsZero() && !a.Time.After(st.FirstSeen):
		detect = span(st.FirstSeen.Sub(a.Time))
	}
	ack := "no human decision"
	if !st.AcknowledgedAt.IsZero() {
		ack = span(st.AcknowledgedAt.Sub(st.FirstSeen))
	}
	contain := "not contained"
	if !st.ContainedAt.IsZero() {
		contain = fmt.Sprintf("%s (step %s)", span(st.ContainedAt.Sub(st.FirstSeen)), st.ContainedBy)
	}
	open := "still open"
	if r := st.Resolution; r != nil && !r.At.IsZero() {
		open = span(r.At.Sub(st.FirstSeen))
	}
	return []Fact{
		{"Time to detect (MTTA: adversarial signal → alert)", detect},
		{"Time to acknowledge (alert → first human decision)", ack},
		{"Time to contain (MTTR: alert → first containment done)", contain},
		{"Open for (alert → resolution)", open},
	}
}

// timeline is everything that happened, in order of time.
func timeline(st *workflows.Status) []Event {
	type event struct {
		at   time.Time
		what string
	}
	var events []event
	add := func(at time.Time, format string, args ...any) {
		if !at.IsZero() {
			events = append(events, event{at, fmt.Sprintf(format, args...)})
		}
	}
	a := &st.Alert
	if opened(st) {
		add(st.FirstSeen, "Incident opened by hand by %s (discovered by %s): %s", st.Origin.OpenedBy, st.Origin.DiscoveredBy, cmp.Or(a.Title, "untitled"))
	} else {
		if a.Time.Before(st.FirstSeen) {
			add(a.Time, "Adversarial signal (the event time the alert carries)")
		}
		add(st.FirstSeen, "Alert received from %s (rule %s): %s, severity %d", a.Source, a.Rule, cmp.Or(a.Title, "untitled"), a.Severity)
	}
	if o := st.Origin; o.ReclassifiedFrom != "" {
		add(st.FirstSeen, "Opened as %s, reclassified from %s", o.Class, o.ReclassifiedFrom)
	}
	stepEvents := func(label string, list []*workflows.StepStatus) {
		for _, s := range list {
			if s.Approval != nil {
				add(s.Approval.Requested, "Approval of step %s asked of role %s", s.ID, s.Approval.Role)
				for _, d := range s.Approval.Decisions {
					add(d.At, "%s %s step %s (role %s) via %s%s", d.Approver, verdict(d), s.ID, s.Approval.Role, cmp.Or(d.Via, "api"), reasonSuffix(d.Reason))
				}
			}
			if s.Action == "" {
				continue // a parallel group: its members are listed
			}
			switch s.State {
			case workflows.StepDone, workflows.StepFailed:
				if !s.Started.Equal(s.Ended) {
					add(s.Started, "%s %s (%s) started", label, s.ID, s.Action)
				}
				add(s.Ended, "%s %s (%s) %s after %s%s", label, s.ID, s.Action, s.State, span(s.Ended.Sub(s.Started)), reasonSuffix(s.Error))
			case workflows.StepSkipped, workflows.StepRejected:
				add(s.Ended, "%s %s %s%s", label, s.ID, s.State, reasonSuffix(s.Reason))
			}
		}
	}
	stepEvents("Step", st.Steps)
	stepEvents("On-failure step", st.OnFailure)
	add(st.ContainedAt, "First containment done, by step %s", st.ContainedBy)
	// The resolution is asked for first, then its undo steps run.
	if r := st.Resolution; r != nil {
		if st.ReclassifiedTo != "" {
			add(r.At, "Closed by %s, %s; the incident continues as %s", r.By, r.Reason, st.ReclassifiedTo)
		} else {
			add(r.At, "Resolved by %s%s", r.By, reasonSuffix(r.Reason))
		}
	}
	stepEvents("Undo", st.Undo)
	slices.SortStableFunc(events, func(x, y event) int { return x.at.Compare(y.at) })
	out := make([]Event, len(events))
	for i, e := range events {
		offset := e.at.Sub(st.FirstSeen)
		sign := "+"
		if offset < 0 {
			sign, offset = "−", -offset
		}
		out[i] = Event{At: stamp(e.at), Offset: sign + span(offset), What: e.what}
	}
	return out
}

func verdict(d workflows.Decision) string {
	if d.Approve {
		return "approved"
	}
	return "rejected"
}

func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

func steps(st *workflows.Status) []Step {
	var out []Step
	for _, list := range [][]*workflows.StepStatus{st.Steps, st.OnFailure, st.Undo} {
		for _, s := range list {
			row := Step{ID: s.ID, Action: cmp.Or(s.Action, "parallel"), State: s.State, Started: "—", Ended: "—", Took: "—",
				Detail: cmp.Or(s.Error, s.Reason)}
			if s.Group != "" {
				row.ID = s.Group + " › " + s.ID
			}
			if !s.Started.IsZero() {
				row.Started = stamp(s.Started)
			}
			if !s.Ended.IsZero() {
				row.Ended = stamp(s.Ended)
				if !s.Started.IsZero() {
					row.Took = span(s.Ended.Sub(s.Started))
				}
			}
			out = append(out, row)
		}
	}
	return out
}

func approvals(st *workflows.Status, titles map[string]string) []Approval {
	var out []Approval
	for _, s := range st.Steps {
		a := s.Approval
		if a == nil {
			continue
		}
		role := a.Role
		if t := titles[role]; t != "" && t != role {
			role += " (" + t + ")"
		}
		if a.Escalated {
			role += ", escalated"
		}
		if a.TwoPerson {
			role += ", two-person"
		}
		ap := Approval{Step: s.ID, Role: role, Outcome: a.Outcome, Requested: stamp(a.Requested), Deadline: stamp(a.Deadline)}
		for _, d := range a.Decisions {
			after := "—"
			if !a.Requested.IsZero() {
				after = span(d.At.Sub(a.Requested))
			}
			ap.Decisions = append(ap.Decisions, Decision{Who: d.Approver, At: stamp(d.At), After: after, Via: cmp.Or(d.Via, "api"),
				Verdict: verdict(d), Reason: d.Reason})
		}
		out = append(out, ap)
	}
	return out
}

func evidenceOf(report *evidence.Report, note string) Evidence {
	if report == nil {
		return Evidence{Note: cmp.Or(note, "No evidence was snapshotted for this incident.")}
	}
	e := Evidence{Location: report.Location, Verified: report.Err() == nil}
	if err := report.Err(); err != nil {
		// Err says "evidence of incident … does not verify:" and then one
		// indented line per problem.
		for _, line := range strings.Split(err.Error(), "\n")[1:] {
			e.Problems = append(e.Problems, strings.TrimSpace(line))
		}
	}
	for _, m := range report.Manifests {
		mf := Manifest{ID: m.ID, Key: m.Key, Manifest: m.Manifest, Signature: m.Signature, KeyID: m.KeyID, Problem: m.Problem}
		for _, it := range m.Items {
			mf.Items = append(mf.Items, Item{Name: it.Name, Source: it.Source, SHA256: it.SHA256, Size: fmt.Sprintf("%d B", it.Size), Status: it.Status})
		}
		e.Sealed = append(e.Sealed, mf)
	}
	return e
}

// techniques lists each technique once, in the order given, with its name.
func techniques(catalog *atlas.Catalog, ids []string) []Technique {
	var out []Technique
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		name, ok := catalog.Lookup(id)
		if !ok {
			name = "not in the ATLAS catalog " + catalog.Version
		}
		out = append(out, Technique{ID: id, Name: name, URL: "https://atlas.mitre.org/techniques/" + id})
	}
	return out
}
