package atlas_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aisoar/aisoar/atlas"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./atlas -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test ./atlas -update if the change is intended)\n--- got\n%s", path, got)
	}
}

func fixtureCatalog(t *testing.T) *atlas.Catalog {
	t.Helper()
	data, err := os.ReadFile("testdata/catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := atlas.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// count is covered/total of a Count, for compact expectations.
type count [2]int

func (c count) of(n atlas.Count) bool { return n.Covered == c[0] && n.Total == c[1] }

func TestCoverage(t *testing.T) {
	c := fixtureCatalog(t)
	tests := []struct {
		name, golden string
		playbooks    []atlas.PlaybookRef
		// techniques and subtechniques are the overall counts.
		techniques, subtechniques count
		percent                   float64
		// tactics are the technique counts per column, in matrix order.
		tactics []count
		covered map[string][]string
	}{
		{
			name: "no playbooks", golden: "none.json",
			techniques: count{0, 5}, subtechniques: count{0, 5},
			tactics: []count{{0, 1}, {0, 2}, {0, 1}, {0, 2}},
		},
		{
			name: "a technique does not cover its sub-techniques", golden: "parent.json",
			playbooks:  []atlas.PlaybookRef{{ID: "extraction", Title: "Contain model extraction", ATLAS: []string{"AML.T0024", "AML.T0040"}}},
			techniques: count{2, 5}, subtechniques: count{0, 5}, percent: 40,
			tactics: []count{{0, 1}, {1, 2}, {1, 1}, {0, 2}},
			covered: map[string][]string{"AML.T0024": {"extraction"}, "AML.T0040": {"extraction"}, "AML.T0024.002": {}},
		},
		{
			name: "a sub-technique does not cover its technique", golden: "sub.json",
			playbooks:  []atlas.PlaybookRef{{ID: "theft", ATLAS: []string{"AML.T0024.002"}}},
			techniques: count{0, 5}, subtechniques: count{1, 5},
			tactics: []count{{0, 1}, {0, 2}, {0, 1}, {0, 2}},
			covered: map[string][]string{"AML.T0024": {}, "AML.T0024.002": {"theft"}},
		},
		{
			name: "a technique of two tactics counts in both columns and once overall", golden: "two-tactics.json",
			playbooks:  []atlas.PlaybookRef{{ID: "evasion", ATLAS: []string{"AML.T0015"}}},
			techniques: count{1, 5}, subtechniques: count{0, 5}, percent: 20,
			tactics: []count{{0, 1}, {1, 2}, {0, 1}, {1, 2}},
		},
		{
			name: "playbooks sharing a technique, repeated and unknown ids", golden: "shared.json",
			playbooks: []atlas.PlaybookRef{
				{ID: "throttle", Title: "Throttle the key", ATLAS: []string{"AML.T0040", "AML.T0040", "AML.T0029", "AML.TA0000", "AML.T9999"}},
				{ID: "extraction", Title: "Contain model extraction", ATLAS: []string{"AML.T0024", "AML.T0024.002", "AML.T0040"}},
				{ID: "untagged"},
			},
			techniques: count{3, 5}, subtechniques: count{1, 5}, percent: 60,
			tactics: []count{{0, 1}, {1, 2}, {1, 1}, {1, 2}},
			covered: map[string][]string{"AML.T0040": {"extraction", "throttle"}, "AML.T0029": {"throttle"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := atlas.Coverage(c, tt.playbooks)
			if !tt.techniques.of(r.Overall.Techniques) || !tt.subtechniques.of(r.Overall.Subtechniques) || r.Overall.Percent != tt.percent {
				t.Errorf("overall: techniques %v, sub-techniques %v, %v%%; want %v, %v, %v%%",
					r.Overall.Techniques, r.Overall.Subtechniques, r.Overall.Percent, tt.techniques, tt.subtechniques, tt.percent)
			}
			if all := (count{tt.techniques[0] + tt.subtechniques[0], tt.techniques[1] + tt.subtechniques[1]}); !all.of(r.Overall.All) {
				t.Errorf("overall.all = %v, want %v", r.Overall.All, all)
			}
			for j, want := range tt.tactics {
				if got := r.Tactics[j]; !want.of(got.Techniques) {
					t.Errorf("tactic %s: %v techniques covered, want %v", got.ID, got.Techniques, want)
				}
			}
			for id, want := range tt.covered {
				got, ok := r.Technique(id)
				if !ok || len(got.Playbooks) != len(want) || !slices.Equal(got.Playbooks, want) {
					t.Errorf("%s answered by %q, want %q", id, got.Playbooks, want)
				}
			}
			var out bytes.Buffer
			if err := r.WriteJSON(&out); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("coverage", tt.golden), out.Bytes())
		})
	}
}

func TestCoverageReportsUnknownIDs(t *testing.T) {
	r := atlas.Coverage(fixtureCatalog(t), []atlas.PlaybookRef{
		{ID: "b", ATLAS: []string{"AML.T9999"}},
		{ID: "a", ATLAS: []string{"AML.TA0000", "AML.T9999"}},
	})
	want := []atlas.UnknownID{{ID: "AML.T9999", Playbooks: []string{"a", "b"}}, {ID: "AML.TA0000", Playbooks: []string{"a"}}}
	got, _ := json.Marshal(r.Unknown)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(got, wantJSON) {
		t.Errorf("unknown = %s, want %s", got, wantJSON)
	}
}

func TestHeatmapHTML(t *testing.T) {
	c := fixtureCatalog(t)
	r := atlas.Coverage(c, []atlas.PlaybookRef{
		{ID: "extraction", Title: "Contain <suspected> model extraction", ATLAS: []string{"AML.T0024", "AML.T0024.002", "AML.T0040"}},
		{ID: "throttle", Title: "Throttle the key", ATLAS: []string{"AML.T0040", "AML.T0029"}},
		{ID: "evasion", ATLAS: []string{"AML.T0015", "AML.T0040", "AML.T0000.001", "AML.T0999"}},
	})
	r.Generated = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	if err := atlas.WriteHTML(&out, c, &r); err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{"<script", "http://", "https://", "<link", "@import"} {
		if bytes.Contains(out.Bytes(), []byte(banned)) {
			t.Errorf("the page is not standalone: it contains %q", banned)
		}
	}
	golden(t, "heatmap.html", out.Bytes())
}
