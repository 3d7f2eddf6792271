package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/atlas"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fixture is the report's input from testdata: a week of incidents, the
// inventory and the ledger.
func fixture(t *testing.T) Input {
	t.Helper()
	inv, err := assets.Load(filepath.Join("testdata", "inventory.yaml"), assets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := Input{
		Since:          time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Until:          time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC),
		Now:            time.Date(2026, 3, 8, 6, 0, 0, 0, time.UTC),
		Inventory:      inv,
		CoverageWindow: 7 * 24 * time.Hour,
		Coverage: atlas.Coverage(atlas.Default(), []atlas.PlaybookRef{
			{ID: "model-extraction-containment", ATLAS: []string{"AML.T0024"}},
			{ID: "data-poisoning-containment", ATLAS: []string{"AML.T0020"}},
		}),
		Roles:      map[string][]string{"soc": {"alice"}, "mlops": {"bob", "carol"}, "data-science": {"dave"}, "risk": {"frank"}},
		RoleTitles: map[string]string{"soc": "SOC", "mlops": "Platform/MLOps", "data-science": "Data Science", "risk": "Risk/Governance"},
	}
	readJSON(t, "incidents.json", &in.Incidents)
	readJSON(t, "ledger.json", &in.Ledger)
	return in
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestGolden(t *testing.T) {
	r := Compute(fixture(t))
	for _, tt := range []struct{ format, file string }{
		{FormatTable, "report.txt"},
		{FormatJSON, "report.json"},
		{FormatMarkdown, "report.md"},
	} {
		t.Run(tt.format, func(t *testing.T) {
			var b bytes.Buffer
			if err := r.Write(&b, tt.format); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%s differs from the report; run go test ./report -update and review the diff\n%s", path, b.String())
			}
		})
	}
}

// TestFigures pins the fixture's figures, worked out by hand, so the
// goldens are not their only check.
func TestFigures(t *testing.T) {
	r := Compute(fixture(t))
	secs := func(f *float64) float64 {
		if f == nil {
			return math.NaN()
		}
		return *f
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"incidents", r.Incidents, IncidentCount{Given: 11, InWindow: 10, DryRun: 1, Replaced: 2, Counted: 7}},
		// support-bot has no owner and no data sources; churn-model has
		// nothing but an owner.
		{"asset visibility", r.AssetVisibility.Systems.String(), "1/3 (33.3%)"},
		{"support-bot missing", r.AssetVisibility.Models[2].Missing, []string{FieldOwner, FieldDataSources}},
		{"churn-model missing", r.AssetVisibility.Models[0].Missing, []string{FieldDataSources, FieldTrainingRunOrPipeline, FieldOrigin, FieldSignatureOrDigest}},
		// churn-model's alert of 2026-02-20 is outside the 7-day window;
		// support-bot's AML.T0051 has no playbook.
		{"coverage", []string{r.Coverage.Mapped.String(), r.Coverage.PlaybookCovered.String(), r.Coverage.ActiveDetection.String(), r.Coverage.Covered.String()},
			[]string{"2/3 (66.7%)", "1/3 (33.3%)", "2/3 (66.7%)", "1/3 (33.3%)"}},
		// 2 s, 30 s, 60 s, 120 s: rank ceil(0.5×4) = 2 and ceil(0.9×4) = 4.
		{"MTTA", []float64{float64(r.DetectionSpeed.Overall.Count), secs(r.DetectionSpeed.Overall.P50Seconds), secs(r.DetectionSpeed.Overall.P90Seconds)}, []float64{4, 30, 120}},
		{"MTTA left out", r.DetectionSpeed.Excluded, []Exclusion{{"no event time in the payload", 1}, {"opened by hand", 2}}},
		// 48 s, 5 m, 10 m, 15 m.
		{"time to acknowledge", []float64{secs(r.TimeToAcknowledge.Overall.P50Seconds), secs(r.TimeToAcknowledge.Overall.P90Seconds)}, []float64{300, 900}},
		// throttle 10 s and 5 m 30 s; rollback 60 s and 46 m; revoke 20 m.
		{"MTTR by action", r.Containment.ByAction, []Group{
			{Key: "revoke", Stat: stat([]time.Duration{20 * time.Minute})},
			{Key: "rollback", Stat: stat([]time.Duration{time.Minute, 46 * time.Minute})},
			{Key: "throttle", Stat: stat([]time.Duration{10 * time.Second, 330 * time.Second})},
		}},
		// fraud-scorer: mismatch on 03-03, no verdict on 03-05;
		// support-bot (digest only: unsigned is its verified): error on 03-07.
		{"integrity per model", []string{r.IntegritySLA.PerModel[1].Compliant.String(), r.IntegritySLA.PerModel[2].Compliant.String()}, []string{"5/7 (71.4%)", "6/7 (85.7%)"}},
		{"models compliant", r.IntegritySLA.Models.String(), "4/7 (57.1%)"},
		// partner-feed (never approved) and geo-feed (approved 03-04)
		// delivered on 03-02; shadow-etl/raw-scrape, unknown, on 03-06.
		{"data sources compliant", r.IntegritySLA.DataSources.String(), "5/7 (71.4%)"},
		{"overall", r.IntegritySLA.Overall.String(), "2/7 (28.6%)"},
		{"escape rate", r.EscapeRate.Rate.String(), "1/6 (16.7%)"},
		{"by discoverer", r.EscapeRate.ByDiscoverer, map[string]int{"detection": 4, "soc": 0, "business": 1, "red-team": 1}},
		{"triage", r.Triage.ByClass, map[string]int{"ai_incident": 5, "performance": 1, "unclassified": 1}},
		{"reclassified twice", r.Triage.Reclassified, []Reclassified{{ID: "model-performance-notify/fp5-r2", Class: "performance", From: "adversarial-evasion-response/fp5", Times: 2}}},
		{"reclassifications", r.Triage.Reclassifications, 2},
		{"mlops decisions", []int{r.Approvals.Roles[1].Approved, r.Approvals.Roles[1].Rejected, r.Approvals.Roles[1].TimeToDecide.Count}, []int{3, 0, 2}},
		{"decisions", len(r.Approvals.Decisions), 7},
	}
	for _, tt := range tests {
		got, _ := json.Marshal(tt.got)
		want, _ := json.Marshal(tt.want)
		if !bytes.Equal(got, want) {
			t.Errorf("%s = %s, want %s", tt.name, got, want)
		}
	}
}

func TestPercentile(t *testing.T) {
	seq := func(n int) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = time.Duration(i+1) * time.Second
		}
		return out
	}
	tests := []struct {
		values   []time.Duration
		p        int
		want     time.Duration
		describe string
	}{
		{seq(1), 50, 1 * time.Second, "one value is every percentile"},
		{seq(1), 90, 1 * time.Second, "one value is every percentile"},
		{seq(2), 50, 1 * time.Second, "rank ceil(1) = 1"},
		{seq(2), 90, 2 * time.Second, "rank ceil(1.8) = 2"},
		{seq(10), 50, 5 * time.Second, "rank 5 exactly"},
		{seq(10), 90, 9 * time.Second, "rank 9 exactly, not interpolated"},
		{seq(11), 50, 6 * time.Second, "rank ceil(5.5) = 6"},
		{seq(11), 90, 10 * time.Second, "rank ceil(9.9) = 10"},
		{seq(20), 90, 18 * time.Second, "rank 18"},
		{seq(3), 100, 3 * time.Second, "p100 is the largest"},
	}
	for _, tt := range tests {
		if got := Percentile(tt.values, tt.p); got != tt.want {
			t.Errorf("p%d of %d values = %s, want %s (%s)", tt.p, len(tt.values), got, tt.want, tt.describe)
		}
	}
}

func TestDays(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	tests := []struct {
		since, until string
		want         []string
	}{
		{"2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z", []string{"2026-03-01", "2026-03-02"}},
		// Partial days at either end are not counted.
		{"2026-03-01T12:00:00Z", "2026-03-03T18:00:00Z", []string{"2026-03-02"}},
		{"2026-03-01T12:00:00Z", "2026-03-02T06:00:00Z", nil},
		// Days are UTC days whatever the zone of the bounds.
		{"2026-03-01T01:00:00+01:00", "2026-03-02T01:00:00+01:00", []string{"2026-03-01"}},
	}
	for _, tt := range tests {
		if got := days(at(tt.since), at(tt.until)); !slices.Equal(got, tt.want) {
			t.Errorf("days(%s, %s) = %v, want %v", tt.since, tt.until, got, tt.want)
		}
	}
}

// TestEmpty: nothing to count gives undefined percentages, not zeros.
func TestEmpty(t *testing.T) {
	r := Compute(Input{Since: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)})
	if r.AssetVisibility.Systems.Percent != nil || r.EscapeRate.Rate.Percent != nil || !math.IsNaN(r.Coverage.Covered.Ratio()) {
		t.Errorf("empty report has defined figures: %+v %+v", r.AssetVisibility.Systems, r.EscapeRate.Rate)
	}
	if r.IntegritySLA.Overall.String() != "0/0 (n/a)" {
		t.Errorf("a window with no ledger = %s, want nothing measured", r.IntegritySLA.Overall)
	}
	var b bytes.Buffer
	for _, f := range Formats {
		if err := r.Write(&b, f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
