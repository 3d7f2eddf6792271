package atlas

import (
	_ "embed"
	"html/template"
	"io"
	"strings"
	"time"
)

//go:embed heatmap.html
var heatmapHTML string

var heatmapTemplate = template.Must(template.New("heatmap").Parse(heatmapHTML))

// heatLevels are the shades of the heat map: a cell's level is the number
// of playbooks that answer it, the last level standing for that many or
// more.
var heatLevels = []string{"no playbook", "1 playbook", "2 playbooks", "3 or more playbooks"}

// heatmapView is what heatmap.html renders.
type heatmapView struct {
	Report    *Report
	Generated string
	Legend    []string
	Columns   []heatColumn
	Unknown   []UnknownID
}

type heatColumn struct {
	TacticCoverage
	Cells []heatCell
}

type heatCell struct {
	ID, Name string
	Level    int
	Title    string
	Subs     []heatCell
	// Open unfolds the sub-techniques when one of them is covered.
	Open bool
}

// WriteHTML writes the report as one standalone page laid out like an ATT&CK
// Navigator layer: a column per tactic in matrix order, a cell per
// technique shaded by how many playbooks answer it, sub-techniques folded
// under their technique, the playbooks in each cell's tooltip. The page
// needs no script and loads nothing. An unset r.Generated is shown as
// "not stamped".
func WriteHTML(w io.Writer, c *Catalog, r *Report) error {
	v := heatmapView{Report: r, Legend: heatLevels, Unknown: r.Unknown, Generated: "not stamped"}
	if !r.Generated.IsZero() {
		v.Generated = r.Generated.UTC().Format(time.RFC3339)
	}
	for _, tc := range r.Tactics {
		col := heatColumn{TacticCoverage: tc}
		for _, t := range c.InTactic(tc.ID) {
			cell := heatmapCell(r, t)
			for _, sub := range c.Subtechniques(t.ID) {
				s := heatmapCell(r, sub)
				cell.Subs = append(cell.Subs, s)
				cell.Open = cell.Open || s.Level > 0
			}
			col.Cells = append(col.Cells, cell)
		}
		v.Columns = append(v.Columns, col)
	}
	return heatmapTemplate.Execute(w, v)
}

func heatmapCell(r *Report, t Technique) heatCell {
	cov, _ := r.Technique(t.ID)
	title := []string{t.ID + " " + t.Name}
	if len(cov.Playbooks) == 0 {
		title = append(title, "no playbook")
	}
	for _, id := range cov.Playbooks {
		line := id
		if pb, ok := r.Playbook(id); ok && pb.Title != "" {
			line += ": " + pb.Title
		}
		title = append(title, line)
	}
	return heatCell{ID: t.ID, Name: t.Name, Level: min(len(cov.Playbooks), len(heatLevels)-1),
		Title: strings.Join(title, "\n")}
}
