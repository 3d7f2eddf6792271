// Package report computes the governance report leadership reads: asset
// visibility, ATLAS coverage, detection speed (MTTA) and time to
// acknowledge, containment (MTTR), the integrity SLA, the escape rate,
// triage counts and approvals per role. It is pure computation over plain
// inputs (incidents, the asset inventory, the ATLAS coverage of the
// playbooks, the ledger), so each figure is exact and testable, and it
// renders the result as a table, JSON or Markdown.
package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/atlas"
	"github.com/aisoar/aisoar/workflows"
)

// Scope says what the report counts, in every rendering.
const Scope = "AI systems (and AI assets) are the models of the asset inventory. An incident is one playbook run, " +
	"counted when it was first seen in the window [since, until); dry-run incidents are excluded everywhere. " +
	"Days are UTC days; percentiles are nearest-rank."

// Input is everything the report is computed from.
type Input struct {
	// Since and Until bound the window [Since, Until); Now is when the
	// report is made.
	Since, Until, Now time.Time
	// Incidents are the incidents' statuses; those first seen outside the
	// window are ignored.
	Incidents []workflows.Status
	// Inventory is the asset inventory; nil for none.
	Inventory *assets.Inventory
	// Coverage is the ATLAS coverage of the playbook library.
	Coverage atlas.Report
	// Ledger holds the daily alerts, heartbeats, deliveries and
	// re-attestation verdicts.
	Ledger workflows.Ledger
	// CoverageWindow is how recent an asset's alert or heartbeat must be
	// for its detection to be active.
	CoverageWindow time.Duration
	// Roles maps each approver role to its members; RoleTitles to its
	// name in reports.
	Roles      map[string][]string
	RoleTitles map[string]string
	// Notes are caveats of the data, shown as they are (an incident that
	// could not be read).
	Notes []string
}

// Report is the computed report. Its JSON field names are stable.
type Report struct {
	Since     time.Time `json:"since"`
	Until     time.Time `json:"until"`
	Generated time.Time `json:"generated"`
	Scope     string    `json:"scope"`
	Notes     []string  `json:"notes,omitempty"`
	// Incidents says which incidents the figures count.
	Incidents         IncidentCount   `json:"incidents"`
	AssetVisibility   AssetVisibility `json:"asset_visibility"`
	Coverage          Coverage        `json:"coverage"`
	DetectionSpeed    Timing          `json:"detection_speed"`
	TimeToAcknowledge Timing          `json:"time_to_acknowledge"`
	Containment       Containment     `json:"containment"`
	IntegritySLA      Integrity       `json:"integrity_sla"`
	EscapeRate        EscapeRate      `json:"escape_rate"`
	Triage            Triage          `json:"triage"`
	Approvals         Approvals       `json:"approvals"`
}

// IncidentCount says which of the incidents given the figures count.
type IncidentCount struct {
	// Given is every incident read; InWindow those first seen in the window.
	Given    int `json:"given"`
	InWindow int `json:"in_window"`
	// DryRun are the dry runs among them, left out of everything.
	DryRun int `json:"dry_run"`
	// Replaced are those a reclassification replaced by another incident:
	// counted in triage and approvals, not in the time figures or the
	// escape rate, where their successor counts.
	Replaced int `json:"replaced"`
	// Counted are the rest.
	Counted int `json:"counted"`
}

// Fraction is Count of Of, with its percentage to one decimal; Percent is
// null when Of is 0.
type Fraction struct {
	Count   int      `json:"count"`
	Of      int      `json:"of"`
	Percent *float64 `json:"percent"`
}

func fraction(count, of int) Fraction {
	f := Fraction{Count: count, Of: of}
	if of > 0 {
		p := math.Round(1000*float64(count)/float64(of)) / 10
		f.Percent = &p
	}
	return f
}

// Ratio is Count/Of, NaN when Of is 0.
func (f Fraction) Ratio() float64 {
	if f.Of == 0 {
		return math.NaN()
	}
	return float64(f.Count) / float64(f.Of)
}

// String formats the fraction as "3/4 (75.0%)".
func (f Fraction) String() string {
	if f.Percent == nil {
		return fmt.Sprintf("%d/%d (n/a)", f.Count, f.Of)
	}
	return fmt.Sprintf("%d/%d (%.1f%%)", f.Count, f.Of, *f.Percent)
}

// Compute makes the report.
func Compute(in Input) Report {
	r := Report{Since: in.Since.UTC(), Until: in.Until.UTC(), Generated: in.Now.UTC(), Scope: Scope, Notes: in.Notes}
	r.Incidents.Given = len(in.Incidents)
	var all, counted []*workflows.Status
	for i := range in.Incidents {
		st := &in.Incidents[i]
		if st.FirstSeen.Before(in.Since) || !st.FirstSeen.Before(in.Until) {
			continue
		}
		r.Incidents.InWindow++
		switch {
		case st.DryRun:
			r.Incidents.DryRun++
			continue
		case st.ReclassifiedTo != "":
			r.Incidents.Replaced++
		default:
			counted = append(counted, st)
		}
		all = append(all, st)
	}
	r.Incidents.Counted = len(counted)
	slices.SortFunc(all, byFirstSeen)
	slices.SortFunc(counted, byFirstSeen)

	models := inventoryModels(in.Inventory)
	r.AssetVisibility = assetVisibility(in.Inventory, models)
	r.Coverage = coverage(in, models)
	r.DetectionSpeed = detectionSpeed(counted)
	r.TimeToAcknowledge = timeToAcknowledge(counted)
	r.Containment = containment(counted)
	r.IntegritySLA = integrity(in, models)
	r.EscapeRate = escapeRate(counted)
	r.Triage = triage(all, counted)
	r.Approvals = approvals(in, all)
	return r
}

func byFirstSeen(a, b *workflows.Status) int {
	return cmp.Or(a.FirstSeen.Compare(b.FirstSeen), strings.Compare(a.ID, b.ID))
}

// inventoryModels are the inventory's models sorted by name.
func inventoryModels(inv *assets.Inventory) []assets.Model {
	if inv == nil {
		return nil
	}
	models := make([]assets.Model, 0, len(inv.Models))
	for name, m := range inv.Models {
		m.Name = name
		models = append(models, m)
	}
	slices.SortFunc(models, func(a, b assets.Model) int { return strings.Compare(a.Name, b.Name) })
	return models
}

// days are the whole UTC days inside [since, until), by ledger name.
func days(since, until time.Time) []string {
	var out []string
	start := since.UTC().Truncate(24 * time.Hour)
	if start.Before(since) {
		start = start.Add(24 * time.Hour)
	}
	for d := start; !d.Add(24 * time.Hour).After(until); d = d.Add(24 * time.Hour) {
		out = append(out, workflows.Day(d))
	}
	return out
}

// lastDay is the last UTC day a window ending (excluded) at until touches.
func lastDay(until time.Time) string { return workflows.Day(until.Add(-time.Nanosecond)) }
