package workflows_test

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/aisoar/aisoar/workflows"
)

// reclassify sends a reclassification and checks the validator's answer.
func (h *harness) reclassify(t *testing.T, r workflows.Reclassification, wantRefusal string) {
	h.env.UpdateWorkflow(workflows.ReclassifyUpdate, "", &testsuite.TestUpdateCallback{
		OnAccept: func() {
			if wantRefusal != "" {
				t.Errorf("reclassification %+v accepted, want refusal %q", r, wantRefusal)
			}
		},
		OnReject: func(err error) {
			if wantRefusal == "" || !strings.Contains(err.Error(), wantRefusal) {
				t.Errorf("reclassification %+v refused with %q, want %q", r, err, wantRefusal)
			}
		},
		OnComplete: func(any, error) {},
	}, r)
}

func TestReclassifyUndoesAndEnds(t *testing.T) {
	h := newHarness(t, loadPlaybook(t, "testdata/containment.yaml"), extractionAlert(3))
	h.in.Origin = workflows.Origin{Class: workflows.ClassAIIncident, DiscoveredBy: workflows.DiscoveredByDetection}
	to := "perf/abc"
	h.at(time.Minute, func() {
		h.reclassify(t, workflows.Reclassification{Class: workflows.ClassPerformance, To: to}, "needs the identity")
		h.reclassify(t, workflows.Reclassification{By: "alice", Class: "drift", To: to}, `"drift" is not a triage class`)
		h.reclassify(t, workflows.Reclassification{By: "alice", Class: workflows.ClassPerformance}, "needs the incidents that replace")
		h.reclassify(t, workflows.Reclassification{By: "alice", Class: workflows.ClassAIIncident, To: to}, "already of class ai_incident")
	})
	h.at(2*time.Minute, func() {
		h.reclassify(t, workflows.Reclassification{By: "alice", Class: workflows.ClassPerformance, To: to, Reason: "drift, not an attack"}, "")
		h.reclassify(t, workflows.Reclassification{By: "bob", Class: workflows.ClassPerformance, To: "other/abc"}, "already reclassified: it continues as perf/abc")
	})
	st := h.run(t)
	if st.State != workflows.StateReclassified || st.ReclassifiedTo != to {
		t.Errorf("state %s, reclassified to %q; want reclassified to %s", st.State, st.ReclassifiedTo, to)
	}
	if got := stepStates(st)["undo_throttle"]; got != workflows.StepDone {
		t.Errorf("undo_throttle is %q, want done: containment under the wrong class is undone", got)
	}
	if r := st.Resolution; r == nil || r.By != "alice" || r.Reason != "reclassified as performance: drift, not an attack" {
		t.Errorf("resolution %+v, want alice's reclassification", r)
	}
	if st.Origin.Class != workflows.ClassAIIncident {
		t.Errorf("origin %+v, want it kept", st.Origin)
	}
}
