package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Formats a report renders to.
const (
	FormatTable    = "table"
	FormatJSON     = "json"
	FormatMarkdown = "markdown"
)

// Formats lists the formats, for messages.
var Formats = []string{FormatTable, FormatJSON, FormatMarkdown}

// Write renders the report in a format.
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case FormatTable:
		return r.WriteText(w)
	case FormatJSON:
		return r.WriteJSON(w)
	case FormatMarkdown:
		return r.WriteMarkdown(w)
	}
	return fmt.Errorf("unknown report format %q: use one of %s", format, strings.Join(Formats, ", "))
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// section is one figure as both renderings show it: a headline, its
// definition, lines of detail and tables.
type section struct {
	title, headline, definition string
	lines                       []string
	tables                      []table
}

type table struct {
	header []string
	rows   [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// WriteText writes the report as text tables for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "GOVERNANCE REPORT %s to %s (generated %s)\n", stamp(r.Since), stamp(r.Until), stamp(r.Generated))
	fmt.Fprintln(&b, wrap(r.Scope, "", 100))
	fmt.Fprintln(&b, r.incidentsLine())
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "Note: %s\n", n)
	}
	for _, s := range r.sections() {
		fmt.Fprintf(&b, "\n%s: %s\n", strings.ToUpper(s.title), s.headline)
		fmt.Fprintln(&b, wrap(s.definition, "  ", 100))
		for _, l := range s.lines {
			fmt.Fprintf(&b, "  %s\n", l)
		}
		for _, t := range s.tables {
			if len(t.rows) == 0 {
				continue
			}
			fmt.Fprintln(&b)
			tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "  %s\n", strings.Join(t.header, "\t"))
			for _, row := range t.rows {
				fmt.Fprintf(tw, "  %s\n", strings.Join(row, "\t"))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes the report as Markdown, for Risk/Governance.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Governance report\n\n%s to %s (generated %s)\n\n%s\n\n%s\n", stamp(r.Since), stamp(r.Until), stamp(r.Generated), r.Scope, r.incidentsLine())
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n> Note: %s\n", n)
	}
	for _, s := range r.sections() {
		fmt.Fprintf(&b, "\n## %s: %s\n\n*%s*\n", s.title, s.headline, s.definition)
		if len(s.lines) > 0 {
			fmt.Fprintln(&b)
		}
		for _, l := range s.lines {
			fmt.Fprintf(&b, "- %s\n", l)
		}
		for _, t := range s.tables {
			if len(t.rows) == 0 {
				continue
			}
			fmt.Fprintf(&b, "\n| %s |\n|%s\n", strings.Join(t.header, " | "), strings.Repeat(" --- |", len(t.header)))
			for _, row := range t.rows {
				cells := make([]string, len(row))
				for i, c := range row {
					cells[i] = strings.ReplaceAll(c, "|", `\|`)
				}
				fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) incidentsLine() string {
	c := r.Incidents
	return fmt.Sprintf("Incidents: %d first seen in the window (of %d read): %d counted, %d dry runs left out, %d replaced by a reclassification (counted in triage and approvals only).",
		c.InWindow, c.Given, c.Counted, c.DryRun, c.Replaced)
}

func (r *Report) sections() []section {
	return []section{
		r.visibilitySection(), r.coverageSection(),
		timingSection("Detection speed (MTTA)", r.DetectionSpeed, nil),
		timingSection("Time to acknowledge", r.TimeToAcknowledge, nil),
		timingSection("Containment (MTTR)", r.Containment.Timing, r.Containment.ByAction),
		r.integritySection(), r.escapeSection(), r.triageSection(), r.approvalsSection(),
	}
}

func (r *Report) visibilitySection() section {
	v := r.AssetVisibility
	t := table{header: []string{"MODEL", "OWNER", "DATA SOURCES", "TRAINING RUN", "ORIGIN", "CHECKED BY", "MISSING"}}
	for _, m := range v.Models {
		t.add(m.Model, dash(m.Owner), list(m.DataSources), dash(m.TrainingRun), dash(m.Origin), list(m.Integrity), list(m.Missing))
	}
	return section{title: "Asset visibility", headline: v.Systems.String() + " AI systems documented", definition: v.Definition, tables: []table{t}}
}

func (r *Report) coverageSection() section {
	c := r.Coverage
	t := table{header: []string{"MODEL", "TECHNIQUES", "UNCOVERED", "ALERTS", "HEARTBEATS", "LAST DETECTION", "COVERED"}}
	for _, m := range c.Models {
		t.add(m.Model, list(m.Techniques), list(m.Uncovered), strconv.Itoa(m.Alerts), strconv.Itoa(m.Heartbeats), dash(m.LastDetection), yesNo(m.Covered))
	}
	return section{title: "Coverage", headline: c.Covered.String() + " AI assets covered", definition: c.Definition,
		lines: []string{
			fmt.Sprintf("mapped to ATLAS: %s; every technique covered by a playbook: %s; active detection since %s (window %s): %s",
				c.Mapped, c.PlaybookCovered, c.ActiveSince, c.Window, c.ActiveDetection),
			"ATLAS " + dash(c.ATLASVersion),
		},
		tables: []table{t}}
}

func timingSection(title string, t Timing, byAction []Group) section {
	tab := table{header: []string{"GROUP", "COUNT", "P50", "P90"}}
	row := func(name string, s Stat) {
		tab.add(name, strconv.Itoa(s.Count), seconds(s.P50Seconds), seconds(s.P90Seconds))
	}
	row("all", t.Overall)
	for _, g := range t.ByPlaybook {
		row("playbook "+g.Key, g.Stat)
	}
	for _, g := range t.BySeverity {
		row("severity "+g.Key, g.Stat)
	}
	for _, g := range byAction {
		row("action "+g.Key, g.Stat)
	}
	var excluded []string
	for _, e := range t.Excluded {
		excluded = append(excluded, fmt.Sprintf("%s: %d", e.Reason, e.Count))
	}
	return section{title: title, headline: fmt.Sprintf("p50 %s, p90 %s over %d incidents", seconds(t.Overall.P50Seconds), seconds(t.Overall.P90Seconds), t.Overall.Count),
		definition: t.Definition, lines: []string{"left out: " + list(excluded)}, tables: []table{tab}}
}

func (r *Report) integritySection() section {
	g := r.IntegritySLA
	models := table{header: []string{"MODEL", "COMPLIANT DAYS", "VERIFIED", "MISMATCH", "UNSIGNED", "ERROR", "MISSING"}}
	failures := table{header: []string{"DAY", "MODEL", "VERDICT", "REASON"}}
	for _, m := range g.PerModel {
		if !m.Attested {
			models.add(m.Model, "not attested (no digest or signature)", "-", "-", "-", "-", "-")
			continue
		}
		models.add(m.Model, m.Compliant.String(), strconv.Itoa(m.Verified), strconv.Itoa(m.Mismatch), strconv.Itoa(m.Unsigned), strconv.Itoa(m.Error), strconv.Itoa(m.Missing))
		for _, f := range m.Failures {
			failures.add(f.Day, m.Model, f.Verdict.Verdict, dash(f.Reason))
		}
	}
	sources := table{header: []string{"DATA SOURCE", "APPROVED", "DELIVERY DAYS", "COMPLIANT DAYS", "DELIVERED WITHOUT APPROVAL"}}
	for _, s := range g.PerSource {
		approved := "no"
		switch {
		case !s.InInventory:
			approved = "not in the inventory"
		case s.ApprovedBy != "":
			approved = s.ApprovedBy + " " + s.ApprovedAt
		}
		sources.add(s.Pipeline+"/"+s.Source, approved, strconv.Itoa(s.DeliveryDays), s.Compliant.String(), list(s.Unapproved))
	}
	return section{title: "Integrity SLA", headline: g.Overall.String() + " days in compliance", definition: g.Definition,
		lines:  []string{fmt.Sprintf("days %s to %s; models: %s; data sources: %s", dash(g.FirstDay), dash(g.LastDay), g.Models, g.DataSources)},
		tables: []table{models, failures, sources}}
}

func (r *Report) escapeSection() section {
	e := r.EscapeRate
	by := make([]string, 0, len(e.ByDiscoverer))
	for _, k := range []string{"detection", "soc", "business", "red-team"} {
		by = append(by, fmt.Sprintf("%s %d", k, e.ByDiscoverer[k]))
	}
	return section{title: "Escape rate", headline: e.Rate.String() + " AI incidents discovered by the business", definition: e.Definition,
		lines: []string{"discovered by: " + strings.Join(by, ", "), "by the business: " + list(e.Business)}}
}

func (r *Report) triageSection() section {
	t := r.Triage
	tab := table{header: []string{"INCIDENT", "CLASS", "FROM", "RECLASSIFICATIONS"}}
	for _, rc := range t.Reclassified {
		tab.add(rc.ID, rc.Class, dash(rc.From), strconv.Itoa(rc.Times))
	}
	return section{title: "Triage", headline: fmt.Sprintf("ai_incident %d, performance %d, unclassified %d; %d reclassifications",
		t.ByClass["ai_incident"], t.ByClass["performance"], t.ByClass[classUnclassified], t.Reclassifications),
		definition: t.Definition, tables: []table{tab}}
}

func (r *Report) approvalsSection() section {
	a := r.Approvals
	roles := table{header: []string{"ROLE", "MEMBERS", "APPROVED", "REJECTED", "DECIDE P50", "DECIDE P90"}}
	decisions := 0
	for _, ro := range a.Roles {
		roles.add(ro.Title, list(ro.Members), strconv.Itoa(ro.Approved), strconv.Itoa(ro.Rejected), seconds(ro.TimeToDecide.P50Seconds), seconds(ro.TimeToDecide.P90Seconds))
		decisions += ro.Approved + ro.Rejected
	}
	rows := table{header: []string{"AT", "INCIDENT", "STEP", "ROLE", "APPROVER", "DECISION", "AFTER"}}
	for _, d := range a.Decisions {
		verdict := "rejected"
		if d.Approve {
			verdict = "approved"
		}
		rows.add(stamp(d.At), d.Incident, d.Step+" ("+d.Action+")", d.Role, d.Approver, verdict, seconds(d.AfterSeconds))
	}
	return section{title: "Approvals", headline: fmt.Sprintf("%d decisions", decisions), definition: a.Definition, tables: []table{roles, rows}}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// seconds formats a duration in seconds for people: 1h2m3s, 450ms; "-"
// when there is none.
func seconds(s *float64) string {
	if s == nil {
		return "-"
	}
	d := time.Duration(*s * float64(time.Second))
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func list(items []string) string {
	if len(items) == 0 {
		return "-"
	}
	return strings.Join(items, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// wrap breaks text into lines of at most width, each starting with indent.
func wrap(text, indent string, width int) string {
	var lines []string
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	return strings.Join(append(lines, line), "\n")
}
