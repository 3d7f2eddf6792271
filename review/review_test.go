package review_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/evidence"
	"github.com/aisoar/aisoar/review"
	"github.com/aisoar/aisoar/workflows"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// t0 is when the fixture incidents' alert reached aisoar.
var t0 = time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// resolvedIncident is a finished extraction incident: evidence, a
// throttle, a two-person approval, an undo, a resolution.
func resolvedIncident() *workflows.Status {
	return &workflows.Status{
		ID: "model-extraction-containment/3f9a1c2b7d4e5f60", Playbook: "model-extraction-containment", Version: 3,
		PlaybookHash: strings.Repeat("ab", 32), State: workflows.StateResolved,
		Origin: workflows.Origin{Class: workflows.ClassAIIncident, DiscoveredBy: workflows.DiscoveredByDetection},
		Alert: alerts.Alert{ID: "a-1", Source: "splunk", Rule: "token-spike", Title: "Token spike | key-7f3a", Severity: 4,
			Time: at(-90 * time.Second), Received: t0, Category: "model_extraction", Techniques: []string{"AML.T0024"},
			Asset: alerts.Asset{Model: "fraud-scorer", Tenant: "acme", KeyID: "key-7f3a"}},
		AlertCount: 2, Redeliveries: 1, Deliveries: 3, FirstSeen: t0, LastSeen: at(4 * time.Minute),
		Steps: []*workflows.StepStatus{
			{ID: "evidence", Action: "snapshot_evidence", State: workflows.StepDone, Started: at(time.Second), Ended: at(3 * time.Second)},
			{ID: "throttle", Action: "throttle", State: workflows.StepDone, Started: at(3 * time.Second), Ended: at(3*time.Second + 400*time.Millisecond)},
			{ID: "rotate", Action: "rotate_secret", State: workflows.StepDone, Started: at(12 * time.Minute), Ended: at(12*time.Minute + 2*time.Second),
				Approval: &workflows.ApprovalStatus{Role: "soc", TwoPerson: true, Message: "Rotate key-7f3a?", Requested: at(3 * time.Minute),
					Deadline: at(33 * time.Minute),
					Outcome:  workflows.OutcomeApproved, Decisions: []workflows.Decision{
						{Step: "rotate", Approver: "alice", Approve: true, Via: "slack", At: at(5 * time.Minute)},
						{Step: "rotate", Approver: "bob", Approve: true, Reason: "confirmed abuse", Via: "cli", At: at(12 * time.Minute)},
					}}},
			{ID: "notify_tenant", Action: "notify", State: workflows.StepSkipped, Reason: "condition is false", Ended: at(12*time.Minute + 2*time.Second)},
		},
		Undo: []*workflows.StepStatus{
			{ID: "undo_throttle", Action: "throttle", State: workflows.StepDone, Started: at(2 * time.Hour), Ended: at(2*time.Hour + time.Second)},
		},
		Resolution:     &workflows.Resolution{By: "alice", Reason: "key rotated, traffic normal", At: at(2 * time.Hour)},
		AcknowledgedAt: at(5 * time.Minute), ContainedAt: at(3*time.Second + 400*time.Millisecond), ContainedBy: "throttle",
	}
}

// evidenceReport is the verification of the resolved incident's snapshot,
// with one item changed after the fact.
func evidenceReport() *evidence.Report {
	sum := func(c string) string { return strings.Repeat(c, 64) }
	return &evidence.Report{Incident: "model-extraction-containment/3f9a1c2b7d4e5f60", Location: "/var/lib/aisoar/evidence",
		Manifests: []evidence.ManifestReport{{ID: "evidence-1", Key: "manifests/model-extraction-containment%2F3f9a1c2b7d4e5f60/evidence-1.json",
			Manifest: evidence.StatusOK, Signature: evidence.StatusOK, KeyID: sum("c"),
			Items: []evidence.ItemReport{
				{Name: "alert", Source: "inline", SHA256: sum("a"), Size: 512, Status: evidence.StatusOK},
				{Name: "gateway-logs", Source: "litellm:/spend/logs", SHA256: sum("b"), Size: 20480, Status: evidence.StatusModified, Actual: sum("d")},
			}}}}
}

// reclassifiedManualIncident is a business report opened by hand, moved
// to the performance class once, and reclassified back.
func reclassifiedManualIncident() *workflows.Status {
	return &workflows.Status{
		ID: "manual-record/9b8a7c6d5e4f3a21", Playbook: "manual-record", Version: 1, PlaybookHash: strings.Repeat("cd", 32),
		State: workflows.StateReclassified, ReclassifiedTo: "model-performance-notify/9b8a7c6d5e4f3a21",
		Origin: workflows.Origin{Class: workflows.ClassAIIncident, DiscoveredBy: workflows.DiscoveredByBusiness, OpenedBy: "carol",
			ReclassifiedFrom: "model-performance-notify/9b8a7c6d5e4f3a21", Reclassified: 2},
		Alert: alerts.Alert{ID: "manual-1", Source: "manual", Rule: "manual", Title: "Loan approvals jumped overnight", Severity: 3,
			Time: t0, Received: t0, Category: "data_poisoning", Techniques: []string{"AML.T0020", "AML.T9999"},
			Asset: alerts.Asset{Model: "credit-scorer"}, Labels: map[string]string{"description": "Branch staff saw approvals for\napplicants the old model refused."}},
		AlertCount: 1, Deliveries: 1, FirstSeen: t0, LastSeen: t0,
		Steps: []*workflows.StepStatus{
			{ID: "notify_soc", Action: "notify", State: workflows.StepDone, Started: at(time.Second), Ended: at(time.Second + 20*time.Millisecond)},
		},
		Resolution: &workflows.Resolution{By: "dana", Reason: "reclassified as performance: drift after a data refresh", At: at(45 * time.Minute)},
	}
}

func TestReviewGolden(t *testing.T) {
	tests := []struct {
		name  string
		input review.Input
	}{
		{"resolved", review.Input{Status: resolvedIncident(), PlaybookATLAS: []string{"AML.T0024", "AML.T0040"}, Evidence: evidenceReport(),
			RoleTitles: map[string]string{"soc": "SOC"}, Generated: at(3 * time.Hour), GeneratedBy: "dana"}},
		{"reclassified-manual", review.Input{Status: reclassifiedManualIncident(), Generated: at(time.Hour), GeneratedBy: "dana",
			EvidenceNote: "No evidence was snapshotted for this incident."}},
	}
	for _, tt := range tests {
		r := review.Build(tt.input)
		md, err := r.Markdown()
		if err != nil {
			t.Fatal(err)
		}
		html, err := r.HTML()
		if err != nil {
			t.Fatal(err)
		}
		for _, out := range []struct {
			ext  string
			data []byte
		}{{".md", md}, {".html", html}} {
			t.Run(tt.name+out.ext, func(t *testing.T) {
				golden := filepath.Join("testdata", tt.name+out.ext)
				if *update {
					if err := os.WriteFile(golden, out.data, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if string(out.data) != string(want) {
					t.Errorf("review differs from %s (go test -update rewrites it)\n--- got\n%s", golden, out.data)
				}
			})
		}
	}
}

func TestArchive(t *testing.T) {
	ctx := context.Background()
	a := review.NewArchive(evidence.Dir{Root: t.TempDir()})
	first, err := a.Save(ctx, "pb/fp1", at(time.Hour), []byte("# one"), []byte("<h1>one</h1>"))
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != "pb/fp1/20250601T100000.000Z" || first.Markdown != "reviews/pb%2Ffp1/20250601T100000.000Z.md" {
		t.Errorf("saved as %+v", first)
	}
	if _, err := a.Save(ctx, "pb/fp1", at(time.Hour), []byte("# again"), nil); !errors.Is(err, evidence.ErrExists) {
		t.Errorf("saving at the same time again: %v, want evidence.ErrExists (reviews are written once)", err)
	}
	if _, err := a.Save(ctx, "pb/fp2", at(2*time.Hour), []byte("# two"), []byte("<h1>two</h1>")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		incident string
		want     []string
	}{
		{"", []string{"pb/fp1/20250601T100000.000Z", "pb/fp2/20250601T110000.000Z"}},
		{"pb/fp2", []string{"pb/fp2/20250601T110000.000Z"}},
		{"pb/none", nil},
	}
	for _, tt := range tests {
		list, err := a.List(ctx, tt.incident)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range list {
			ids = append(ids, s.ID)
		}
		if strings.Join(ids, " ") != strings.Join(tt.want, " ") {
			t.Errorf("List(%q) = %v, want %v", tt.incident, ids, tt.want)
		}
	}
	got, md, html, err := a.Get(ctx, first.ID)
	if err != nil || got != first || string(md) != "# one" || string(html) != "<h1>one</h1>" {
		t.Errorf("Get = %+v %q %q %v", got, md, html, err)
	}
	for _, id := range []string{"pb/fp1", "pb/fp1/20250601T100001.000Z"} {
		if _, _, _, err := a.Get(ctx, id); !errors.Is(err, review.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
		}
	}
}
