package playbooktest

import (
	"bytes"
	"context"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/playbooks"
	"github.com/aisoar/aisoar/workflows"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func newCompiler(t *testing.T) *playbooks.Compiler {
	t.Helper()
	c, err := playbooks.NewCompiler(playbooks.CompilerOptions{Catalog: activities.Catalog()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func loadPlaybook(t *testing.T, c *playbooks.Compiler, file string) *playbooks.Playbook {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	compiled, diags := c.Load(file, data)
	if diags != nil {
		t.Fatalf("playbook does not load:\n%v", diags)
	}
	return compiled.Playbook
}

func loadSuite(t *testing.T, file string) *Suite {
	t.Helper()
	suite, err := Load(file)
	if err != nil {
		t.Fatalf("scenarios do not load:\n%v", err)
	}
	return suite
}

// golden compares got with the golden file, or rewrites it with -update.
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (rerun with -update to accept):\n--- got\n%s--- want\n%s", file, got, want)
	}
}

func approval(t *testing.T, res Result, step string) *workflows.ApprovalStatus {
	t.Helper()
	for _, st := range allSteps(res.Status) {
		if st.ID == step && st.Approval != nil {
			return st.Approval
		}
	}
	t.Fatalf("step %s has no approval", step)
	return nil
}

func approvers(a *workflows.ApprovalStatus) []string {
	var who []string
	for _, d := range a.Decisions {
		who = append(who, d.Approver)
	}
	return who
}

// TestRun runs every scenario of testdata/containment_test.yaml, which all
// pass, and checks beyond their expectations what the runner did.
func TestRun(t *testing.T) {
	checks := map[string]func(t *testing.T, res Result){
		"main path": func(t *testing.T, res Result) {
			if who := approvers(approval(t, res, "rotate")); !slices.Equal(who, []string{"alice", "bob"}) {
				t.Errorf("rotate approved by %v, want alice and bob", who)
			}
			if who := approvers(approval(t, res, "notify_tenant")); !slices.Equal(who, []string{"alice"}) {
				t.Errorf("notify_tenant approved by %v, want the first soc member", who)
			}
		},
		"rotation rejected": func(t *testing.T, res Result) {
			if a := approval(t, res, "rotate"); a.Outcome != workflows.OutcomeRejected || len(a.Decisions) != 1 {
				t.Errorf("rotate approval = %+v, want one rejection", a)
			}
		},
		"no decision escalates, then denies": func(t *testing.T, res Result) {
			if a := approval(t, res, "rotate"); a.Outcome != workflows.OutcomeExpired || !a.Escalated || a.Role != "soc-lead" {
				t.Errorf("rotate approval = %+v, want expired after escalation to soc-lead", a)
			}
		},
		"the escalation role approves": func(t *testing.T, res Result) {
			a := approval(t, res, "rotate")
			if !a.Escalated || !slices.Equal(approvers(a), []string{"dana", "erin"}) {
				t.Errorf("rotate approval = %+v, want dana and erin after escalation", a)
			}
			if at := a.Decisions[0].At.Sub(startTime); at < 30*time.Minute {
				t.Errorf("dana decided %s after the start, before the escalation at 30m", at)
			}
			if a := approval(t, res, "notify_tenant"); a.Outcome != workflows.OutcomeExpired {
				t.Errorf("notify_tenant approval = %+v, want expired (on_timeout deny)", a)
			}
		},
		"throttle passes on the third attempt": func(t *testing.T, res Result) {
			var attempts []int
			for _, c := range res.Calls["throttle"] {
				attempts = append(attempts, c.Attempt)
			}
			if !slices.Equal(attempts, []int{1, 2, 3}) {
				t.Errorf("throttle attempts %v, want 1, 2, 3", attempts)
			}
		},
		"throttle fails for good": func(t *testing.T, res Result) {
			if f := res.Status.Failure; f == nil || f.Error != "gateway answered 503" {
				t.Errorf("failure = %+v", f)
			}
		},
		"dry run tells every action": func(t *testing.T, res Result) {
			for id, calls := range res.Calls {
				for _, c := range calls {
					if c.Params[activities.DryRunParam] != true {
						t.Errorf("%s called without the dry-run flag: %v", id, c.Params)
					}
				}
			}
			if !res.Status.DryRun {
				t.Error("the incident is not marked dry-run")
			}
		},
		"repeated alerts fold into the incident": func(t *testing.T, res Result) {
			s := res.Status
			if s.AlertCount != 3 || s.Redeliveries != 1 || s.Deliveries != 4 {
				t.Errorf("count %d, redeliveries %d, deliveries %d; want 3, 1, 4", s.AlertCount, s.Redeliveries, s.Deliveries)
			}
		},
		"resolving runs the undo": func(t *testing.T, res Result) {
			if r := res.Status.Resolution; r == nil || r.By != "alice" || r.Reason != "false positive" {
				t.Errorf("resolution = %+v", r)
			}
		},
	}
	c := newCompiler(t)
	pb := loadPlaybook(t, c, "testdata/containment.yaml")
	suite := loadSuite(t, "testdata/containment_test.yaml")
	for _, sc := range suite.Scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			res := Run(context.Background(), c, pb, sc)
			if !res.Passed() {
				t.Fatalf("scenario failed:\n%s", strings.Join(res.Mismatches, "\n"))
			}
			if check := checks[sc.Name]; check != nil {
				check(t, res)
			}
		})
	}
	for name := range checks {
		if !slices.ContainsFunc(suite.Scenarios, func(sc *Scenario) bool { return sc.Name == name }) {
			t.Errorf("no scenario %q for its check", name)
		}
	}
}

// TestFailReport checks the FAIL report of scenarios whose expectations do
// not hold, message by message.
func TestFailReport(t *testing.T) {
	c := newCompiler(t)
	pb := loadPlaybook(t, c, "testdata/containment.yaml")
	var out bytes.Buffer
	for _, sc := range loadSuite(t, "testdata/fail/expectations.yaml").Scenarios {
		res := Run(context.Background(), c, pb, sc)
		if res.Passed() {
			t.Errorf("scenario %q passed", sc.Name)
		}
		res.Report(&out, false)
	}
	golden(t, "testdata/fail/expectations.golden", out.Bytes())
}

// TestVerboseReport checks the step listing of -v.
func TestVerboseReport(t *testing.T) {
	c := newCompiler(t)
	pb := loadPlaybook(t, c, "testdata/containment.yaml")
	suite := loadSuite(t, "testdata/containment_test.yaml")
	i := slices.IndexFunc(suite.Scenarios, func(sc *Scenario) bool { return sc.Name == "throttle fails for good" })
	res := Run(context.Background(), c, pb, suite.Scenarios[i])
	var out bytes.Buffer
	res.Report(&out, true)
	golden(t, "testdata/verbose.golden", out.Bytes())
}

// TestTimedUndoSettles checks that a run without a resolution waits for an
// undo.after to come due before it ends.
func TestTimedUndoSettles(t *testing.T) {
	c := newCompiler(t)
	pb := loadPlaybook(t, c, "testdata/containment.yaml")
	pb.Step("throttle").Undo.After = playbooks.Duration(6 * time.Hour)
	sc := &Scenario{
		Name:  "timed undo",
		Alert: AlertFields{"category": "model_extraction", "severity": 3},
		Expect: Expect{
			State: "contained",
			Steps: map[string]string{"throttle": "done", "undo_throttle": "done", "notify_tenant": "rejected"},
		},
	}
	res := Run(context.Background(), c, pb, sc)
	if !res.Passed() {
		t.Fatalf("scenario failed:\n%s", strings.Join(res.Mismatches, "\n"))
	}
	for _, st := range res.Status.Undo {
		if st.ID == "undo_throttle" && st.Started.Sub(startTime) != 6*time.Hour {
			t.Errorf("undo_throttle started %s after the start, want 6h", st.Started.Sub(startTime))
		}
	}
}

// TestInterrupted checks that a cancelled context stops the run.
func TestInterrupted(t *testing.T) {
	c := newCompiler(t)
	pb := loadPlaybook(t, c, "testdata/containment.yaml")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sc := &Scenario{Name: "interrupted", Alert: AlertFields{"category": "model_extraction", "severity": 4}}
	res := Run(ctx, c, pb, sc)
	if len(res.Mismatches) != 1 || !strings.HasPrefix(res.Mismatches[0], "interrupted:") {
		t.Errorf("mismatches = %q, want the interruption", res.Mismatches)
	}
}
