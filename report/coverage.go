package report

import (
	"slices"

	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/workflows"
)

// DefineCoverage is the coverage figure's definition.
const DefineCoverage = "Coverage: the share of AI assets (inventory models) mapped to ATLAS techniques with active detections. " +
	"mapped: the model's atlas: names at least one technique. playbook_covered: mapped, and every technique it names is in " +
	"some playbook's atlas: (exact ids, as in aisoar atlas coverage). active_detection: the ledger recorded a live alert or a " +
	"detection heartbeat naming the model on a UTC day from active_since (the day coverage_window before until) to the day of until. An asset counts " +
	"when all three hold; each sub-count is over all models."

// Coverage is the coverage figure, its three sub-counts, and each model's part.
type Coverage struct {
	Definition string `json:"definition"`
	// Window is the coverage window; ActiveSince the first day it counts.
	Window       string `json:"window"`
	ActiveSince  string `json:"active_since"`
	ATLASVersion string `json:"atlas_version"`
	// Covered counts the models meeting all three conditions.
	Covered         Fraction        `json:"covered"`
	Mapped          Fraction        `json:"mapped"`
	PlaybookCovered Fraction        `json:"playbook_covered"`
	ActiveDetection Fraction        `json:"active_detection"`
	Models          []ModelCoverage `json:"models"`
}

// ModelCoverage is one model's part in the coverage figure.
type ModelCoverage struct {
	Model      string   `json:"model"`
	Techniques []string `json:"techniques"`
	// Uncovered are its techniques no playbook names.
	Uncovered []string `json:"uncovered"`
	// Alerts and Heartbeats count what the ledger holds for the model in
	// the window; LastDetection is the last day with either.
	Alerts          int    `json:"alerts"`
	Heartbeats      int    `json:"heartbeats"`
	LastDetection   string `json:"last_detection,omitempty"`
	Mapped          bool   `json:"mapped"`
	PlaybookCovered bool   `json:"playbook_covered"`
	ActiveDetection bool   `json:"active_detection"`
	Covered         bool   `json:"covered"`
}

func coverage(in Input, models []assets.Model) Coverage {
	activeSince := workflows.Day(in.Until.Add(-in.CoverageWindow))
	c := Coverage{Definition: DefineCoverage, Window: in.CoverageWindow.String(), ActiveSince: activeSince,
		ATLASVersion: in.Coverage.ATLASVersion, Models: []ModelCoverage{}}
	window := in.Ledger.Range(workflows.LedgerRange{From: activeSince, To: lastDay(in.Until)})
	var mapped, covered, active, all int
	for _, m := range models {
		mc := ModelCoverage{Model: m.Name, Techniques: slices.Clone(m.ATLAS), Uncovered: []string{}}
		if mc.Techniques == nil {
			mc.Techniques = []string{}
		}
		for _, id := range m.ATLAS {
			if t, ok := in.Coverage.Technique(id); !ok || !t.Covered() {
				mc.Uncovered = append(mc.Uncovered, id)
			}
		}
		for _, d := range window.Days {
			mc.Alerts += d.Alerts[m.Name]
			mc.Heartbeats += d.Heartbeats[m.Name]
			if d.Alerts[m.Name]+d.Heartbeats[m.Name] > 0 {
				mc.LastDetection = d.Day
			}
		}
		mc.Mapped = len(m.ATLAS) > 0
		mc.PlaybookCovered = mc.Mapped && len(mc.Uncovered) == 0
		mc.ActiveDetection = mc.LastDetection != ""
		mc.Covered = mc.PlaybookCovered && mc.ActiveDetection
		mapped += count(mc.Mapped)
		covered += count(mc.PlaybookCovered)
		active += count(mc.ActiveDetection)
		all += count(mc.Covered)
		c.Models = append(c.Models, mc)
	}
	c.Mapped, c.PlaybookCovered = fraction(mapped, len(models)), fraction(covered, len(models))
	c.ActiveDetection, c.Covered = fraction(active, len(models)), fraction(all, len(models))
	return c
}

func count(b bool) int {
	if b {
		return 1
	}
	return 0
}
