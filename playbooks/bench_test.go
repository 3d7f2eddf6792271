package playbooks_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/playbooks"
)

// benchPlaybook is a realistic playbook: a trigger, conditions that read
// the alert and earlier steps, and templated parameters.
func benchPlaybook(id string) []byte {
	return []byte(strings.ReplaceAll(`id: ID
version: 1
atlas: [AML.T0024]
trigger:
  sources: [splunk, elastic]
  when: alert.category == "model_extraction" && alert.severity >= 3 && "AML.T0024" in alert.techniques
steps:
  - id: evidence
    action: set
    with: {values: {model: "${{ alert.asset.model }}", key: "${{ alert.asset.key_id }}"}}
  - id: block
    action: http
    when: steps.evidence.ok && alert.severity >= 4
    approval: {role: soc, timeout: 30m, on_timeout: escalate, escalate_to: soc-lead, message: "Block ${{ alert.asset.key_id }}?"}
    with: {url: "http://gateway.test/keys/${{ alert.asset.key_id }}/block", body: {tenant: "${{ alert.asset.tenant }}"}}
  - id: tell
    action: notify
    with: {text: "blocked=${{ steps.block.ok }} for ${{ alert.asset.model }}"}
`, "ID", id))
}

func loadBench(b *testing.B, data []byte) *playbooks.Compiled {
	b.Helper()
	compiled, diags := newCompiler(b).Load("bench.yaml", data)
	if diags != nil {
		b.Fatal(diags)
	}
	return compiled
}

func benchAlert() *alerts.Alert {
	return &alerts.Alert{Source: "splunk", Category: "model_extraction", Severity: 4, Techniques: []string{"AML.T0024"},
		Asset: alerts.Asset{Model: "fraud-scorer", KeyID: "key-7f3a", Tenant: "acme"}}
}

// BenchmarkTriggerCEL evaluates a typical trigger condition: compiled once,
// evaluated per alert. BenchmarkTriggerGo is the same test written in Go,
// the baseline to compare it with.
func BenchmarkTriggerCEL(b *testing.B) {
	compiled := loadBench(b, benchPlaybook("bench"))
	a := benchAlert()
	vars := playbooks.NewVars(a)
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := compiled.Matches(a, vars); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkMatchAlert adds the once-per-alert conversion to the trigger
// evaluation: what the webhook pays per alert and playbook.
func BenchmarkMatchAlert(b *testing.B) {
	compiled := loadBench(b, benchPlaybook("bench"))
	a := benchAlert()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := compiled.Matches(a, playbooks.NewVars(a)); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkTriggerGo(b *testing.B) {
	a := benchAlert()
	sources := []string{"splunk", "elastic"}
	b.ReportAllocs()
	for b.Loop() {
		ok := false
		for _, s := range sources {
			ok = ok || s == a.Source
		}
		has := false
		for _, t := range a.Techniques {
			has = has || t == "AML.T0024"
		}
		if !(ok && a.Category == "model_extraction" && a.Severity >= 3 && has) {
			b.Fatal("no match")
		}
	}
}

// BenchmarkStepCondition evaluates a step condition that reads an earlier
// step's result and the alert.
func BenchmarkStepCondition(b *testing.B) {
	compiled := loadBench(b, benchPlaybook("bench"))
	vars := playbooks.NewVars(benchAlert())
	vars.SetStep("evidence", playbooks.StepState{OK: true})
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := compiled.Condition("steps.evidence.ok && alert.severity >= 4", vars); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkValidate100 loads, lints and compiles 100 playbooks, as
// `aisoar playbook validate` and server start do.
func BenchmarkValidate100(b *testing.B) {
	files := make([][]byte, 100)
	for i := range files {
		files[i] = benchPlaybook(fmt.Sprintf("pb-%d", i))
	}
	c := newCompiler(b)
	b.ReportAllocs()
	for b.Loop() {
		for i, data := range files {
			if _, diags := c.Load(fmt.Sprintf("pb-%d.yaml", i), data); diags != nil {
				b.Fatal(diags)
			}
		}
	}
}

// BenchmarkComprehension evaluates a condition with a loop, which cannot be
// proven cheap and so runs with cost tracking.
func BenchmarkComprehension(b *testing.B) {
	data := strings.Replace(string(benchPlaybook("bench")),
		`"AML.T0024" in alert.techniques`, `alert.techniques.exists(t, t.startsWith("AML.T0024"))`, 1)
	compiled := loadBench(b, []byte(data))
	a := benchAlert()
	vars := playbooks.NewVars(a)
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := compiled.Matches(a, vars); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
