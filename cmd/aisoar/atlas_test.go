package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aisoar/aisoar/atlas"
)

func TestAtlasCoverageJSONOnTheBuiltinLibrary(t *testing.T) {
	out, err := run(t, "atlas", "coverage", "--format", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var r atlas.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not a JSON report: %v\n%s", err, out)
	}
	c := atlas.Default()
	if r.ATLASVersion != c.Version || r.Generated.IsZero() || len(r.Tactics) != len(c.Tactics) || len(r.Techniques) != len(c.Techniques) {
		t.Errorf("report of ATLAS %q at %v with %d tactics and %d techniques; want the whole catalog %s, stamped",
			r.ATLASVersion, r.Generated, len(r.Tactics), len(r.Techniques), c.Version)
	}
	if !slices.ContainsFunc(r.Playbooks, func(p atlas.PlaybookRef) bool { return p.ID == "model-extraction-containment" }) {
		t.Errorf("the built-in library is missing from %v", r.Playbooks)
	}
	for _, id := range []string{"AML.T0024", "AML.T0040"} {
		if cov, ok := r.Technique(id); !ok || !slices.Contains(cov.Playbooks, "model-extraction-containment") {
			t.Errorf("%s answered by %v, want model-extraction-containment among them", id, cov.Playbooks)
		}
	}
	o := r.Overall
	if o.Techniques.Covered < 2 || o.Techniques.Total != 97 || o.Percent != o.Techniques.Percent || o.All.Total != 97+58 || len(r.Unknown) != 0 {
		t.Errorf("overall %+v, unknown %v", o, r.Unknown)
	}
}

func TestAtlasCoverage(t *testing.T) {
	html := filepath.Join(t.TempDir(), "coverage.html")
	tests := []struct {
		name    string
		args    []string
		wantErr string
		want    []string
		absent  []string
	}{
		{"table", []string{"atlas", "coverage"}, "", []string{
			"MITRE ATLAS 5.4.0: ", "techniques answered by a playbook",
			"Exfiltration AML.TA0010 1/6 16.7% 0/3", "AML.T0024 Exfiltration via AI Inference API Exfiltration model-extraction-containment"}, nil},
		{"table narrowed", []string{"atlas", "coverage", "--tactic", "exfiltration", "--only-covered"}, "",
			[]string{"AML.T0024 Exfiltration via AI Inference API", "Exfiltration AML.TA0010"}, []string{"AML.T0040", "AML.T0025", "Reconnaissance"}},
		{"without the built-in library", []string{"atlas", "coverage", "--builtin=false", "--format", "json"}, "",
			[]string{`"playbooks": []`}, []string{"model-extraction-containment"}},
		{"html file", []string{"atlas", "coverage", "--format", "html", "--output", html}, "", []string{"wrote " + html + ": MITRE ATLAS 5.4.0"}, nil},
		{"bad format", []string{"atlas", "coverage", "--format", "csv"}, "table, json or html", nil, nil},
		{"filters are for the table", []string{"atlas", "coverage", "--format", "json", "--only-covered"}, "narrow the table", nil, nil},
		{"unknown tactic", []string{"atlas", "coverage", "--tactic", "exfiltraton"}, `did you mean "Exfiltration"`, nil, nil},
		{"lint problems stop it", []string{"atlas", "coverage", "../../playbooks/testdata/lint/atlas.yaml"}, "problem(s)",
			[]string{`atlas.yaml:8:5: "AML.TA0000" is a MITRE ATLAS tactic`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, tt.args...)
			out = squash(out)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q\n%s", err, tt.wantErr, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(out, a) {
					t.Errorf("output has %q:\n%s", a, out)
				}
			}
		})
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"<!DOCTYPE html>", "ATLAS 5.4.0", "Exfiltration via AI Inference API", "model-extraction-containment: Contain suspected model extraction"} {
		if !strings.Contains(string(page), w) {
			t.Errorf("the HTML page lacks %q", w)
		}
	}
}

func TestAtlasTechniques(t *testing.T) {
	out, err := run(t, "atlas", "techniques", "--tactic", "AML.TA0010")
	out = squash(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, w := range []string{"16 tactics, 97 techniques, 58 sub-techniques", "Exfiltration (AML.TA0010)", "AML.T0024.002 Extract AI Model"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "Reconnaissance") {
		t.Errorf("--tactic did not narrow the list:\n%s", out)
	}
	out, err = run(t, "atlas", "techniques", "--format", "json")
	var c struct {
		Version    string
		Techniques []atlas.Technique
	}
	if err != nil || json.Unmarshal([]byte(out), &c) != nil || c.Version != "5.4.0" || len(c.Techniques) != 97+58 {
		t.Errorf("techniques --format json: %v, version %q, %d techniques", err, c.Version, len(c.Techniques))
	}
}

func TestValidateRejectsUnknownATLASTechniques(t *testing.T) {
	out, err := run(t, "playbook", "validate", "../../playbooks/testdata/lint/atlas.yaml")
	if err == nil || !strings.Contains(out, `atlas.yaml:6:5: unknown MITRE ATLAS technique "AML.T0204"`) {
		t.Errorf("error %v, output:\n%s", err, out)
	}
}

// squash turns every run of spaces in each line into one, so expectations
// do not depend on how tabwriter aligns columns.
func squash(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}
