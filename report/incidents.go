package report

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aisoar/aisoar/workflows"
)

// Definitions of the figures over incidents.
const (
	DefineEscapeRate = "Escape rate: the share of AI incidents discovered by the business. AI incidents are the counted " +
		"incidents (not dry runs, not replaced by a reclassification) of class ai_incident or unclassified. " +
		"discovered_by is the incident's origin: detection for alerts (the SOC's detections; incidents from before " +
		"origins were recorded count as detection), else who opened it by hand (soc, business, red-team)."
	DefineTriage = "Triage: the counted incidents by triage class (ai_incident, performance, or unclassified when no " +
		"triage rule applied). reclassifications counts the incidents of the window that a reclassification replaced; " +
		"reclassified lists the counted incidents that are the result of one or more reclassifications."
	DefineApprovals = "Approvals: every decision on the approvals of the window's incidents (not dry runs; replaced " +
		"incidents included), by the approval's role. Time to decide is the decision's time minus the time the " +
		"approval was requested; approvals recorded before aisoar kept the request time are left out of it."
)

// Triage classes as the report names them.
const classUnclassified = "unclassified"

// EscapeRate is the share of AI incidents the business discovered.
type EscapeRate struct {
	Definition string `json:"definition"`
	// Rate is the business-discovered AI incidents over all AI incidents.
	Rate Fraction `json:"rate"`
	// ByDiscoverer counts the AI incidents by who discovered them.
	ByDiscoverer map[string]int `json:"by_discoverer"`
	// Business lists the AI incidents the business discovered.
	Business []string `json:"business"`
}

func escapeRate(incidents []*workflows.Status) EscapeRate {
	e := EscapeRate{Definition: DefineEscapeRate, Business: []string{}, ByDiscoverer: map[string]int{
		workflows.DiscoveredByDetection: 0, workflows.DiscoveredBySOC: 0, workflows.DiscoveredByBusiness: 0, workflows.DiscoveredByRedTeam: 0,
	}}
	ai := 0
	for _, st := range incidents {
		if c := st.Origin.Class; c != "" && c != workflows.ClassAIIncident {
			continue
		}
		ai++
		by := cmp.Or(st.Origin.DiscoveredBy, workflows.DiscoveredByDetection)
		e.ByDiscoverer[by]++
		if by == workflows.DiscoveredByBusiness {
			e.Business = append(e.Business, st.ID)
		}
	}
	e.Rate = fraction(len(e.Business), ai)
	return e
}

// Triage is the incidents by class, and the reclassifications.
type Triage struct {
	Definition        string         `json:"definition"`
	ByClass           map[string]int `json:"by_class"`
	Reclassifications int            `json:"reclassifications"`
	Reclassified      []Reclassified `json:"reclassified"`
}

// Reclassified is an incident that results from reclassifications.
type Reclassified struct {
	ID    string `json:"id"`
	Class string `json:"class"`
	// From is the incident it replaced; Times how many reclassifications
	// led to it.
	From  string `json:"from"`
	Times int    `json:"times"`
}

func triage(all, counted []*workflows.Status) Triage {
	t := Triage{Definition: DefineTriage, Reclassified: []Reclassified{}, ByClass: map[string]int{
		workflows.ClassAIIncident: 0, workflows.ClassPerformance: 0, classUnclassified: 0,
	}}
	for _, st := range all {
		if st.ReclassifiedTo != "" {
			t.Reclassifications++
		}
	}
	for _, st := range counted {
		class := cmp.Or(st.Origin.Class, classUnclassified)
		t.ByClass[class]++
		if st.Origin.Reclassified > 0 {
			t.Reclassified = append(t.Reclassified, Reclassified{ID: st.ID, Class: class, From: st.Origin.ReclassifiedFrom, Times: st.Origin.Reclassified})
		}
	}
	return t
}

// Approvals is who decided what, per role.
type Approvals struct {
	Definition string          `json:"definition"`
	Roles      []RoleApprovals `json:"roles"`
	Decisions  []DecisionRow   `json:"decisions"`
}

// RoleApprovals is one role's decisions.
type RoleApprovals struct {
	Role         string   `json:"role"`
	Title        string   `json:"title"`
	Members      []string `json:"members"`
	Approved     int      `json:"approved"`
	Rejected     int      `json:"rejected"`
	TimeToDecide Stat     `json:"time_to_decide"`
}

// DecisionRow is one decision on one approval.
type DecisionRow struct {
	Incident string    `json:"incident"`
	Step     string    `json:"step"`
	Action   string    `json:"action"`
	Role     string    `json:"role"`
	Approver string    `json:"approver"`
	Approve  bool      `json:"approve"`
	Via      string    `json:"via,omitempty"`
	At       time.Time `json:"at"`
	// AfterSeconds is the time from the request to the decision; null
	// when the request time is not known.
	AfterSeconds *float64 `json:"after_seconds"`
}

func approvals(in Input, incidents []*workflows.Status) Approvals {
	a := Approvals{Definition: DefineApprovals, Decisions: []DecisionRow{}}
	roles := map[string]*RoleApprovals{}
	waits := map[string][]time.Duration{}
	role := func(name string) *RoleApprovals {
		if r, ok := roles[name]; ok {
			return r
		}
		r := &RoleApprovals{Role: name, Title: cmp.Or(in.RoleTitles[name], name), Members: in.Roles[name]}
		if r.Members == nil {
			r.Members = []string{}
		}
		roles[name] = r
		return r
	}
	for name := range in.Roles {
		role(name)
	}
	for _, st := range incidents {
		for _, group := range [][]*workflows.StepStatus{st.Steps, st.OnFailure} {
			for _, s := range group {
				if s.Approval == nil {
					continue
				}
				r := role(s.Approval.Role)
				for _, d := range s.Approval.Decisions {
					row := DecisionRow{Incident: st.ID, Step: s.ID, Action: s.Action, Role: r.Role, Approver: d.Approver, Approve: d.Approve, Via: d.Via, At: d.At.UTC()}
					if req := s.Approval.Requested; !req.IsZero() {
						wait := d.At.Sub(req)
						secs := wait.Seconds()
						row.AfterSeconds = &secs
						waits[r.Role] = append(waits[r.Role], wait)
					}
					if d.Approve {
						r.Approved++
					} else {
						r.Rejected++
					}
					a.Decisions = append(a.Decisions, row)
				}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(roles)) {
		r := roles[name]
		r.TimeToDecide = stat(waits[name])
		a.Roles = append(a.Roles, *r)
	}
	if a.Roles == nil {
		a.Roles = []RoleApprovals{}
	}
	slices.SortStableFunc(a.Decisions, func(x, y DecisionRow) int {
		return cmp.Or(x.At.Compare(y.At), strings.Compare(x.Incident, y.Incident), strings.Compare(x.Step, y.Step))
	})
	return a
}
