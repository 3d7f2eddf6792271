package playbooks_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/playbooks"
)

func compileOne(t *testing.T, with string) *playbooks.Compiled {
	t.Helper()
	src := fmt.Sprintf(`id: render
trigger: {when: "true"}
steps:
  - id: first
    action: set
    with: {values: {n: 1}}
  - id: probe
    action: set
    when: steps.first.ok
    with: {values: %s}
`, with)
	compiled, diags := newCompiler(t).Load("render.yaml", []byte(src))
	if diags != nil {
		t.Fatalf("%v", diags)
	}
	return compiled
}

func TestRender(t *testing.T) {
	a := &alerts.Alert{ID: "a-1", Severity: 4, Title: "Token spike", Techniques: []string{"AML.T0024"},
		Asset: alerts.Asset{KeyID: "key-7f3a"}, Labels: map[string]string{"tenant": "acme"}}
	vars := playbooks.NewVars(a)
	vars.SetStep("first", playbooks.StepState{OK: true, Output: map[string]any{"n": 7.0, "list": []any{"x", "y"}}})
	vars.SetNow(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	vars.SetIncident(playbooks.IncidentInfo{ID: "pb/fp", SlackChannel: "C0SOC", SlackThread: "1712345678.000100"})
	tests := []struct {
		name string
		with string
		want any
	}{
		{"whole expression keeps its type", `{v: "${{ alert.severity }}"}`, int64(4)},
		{"text with expressions is a string", `{v: "key ${{ alert.asset.key_id }} sev ${{ alert.severity }}"}`, "key key-7f3a sev 4"},
		{"plain text stays", `{v: "no templates"}`, "no templates"},
		{"lists come back as lists", `{v: "${{ alert.techniques }}"}`, []any{"AML.T0024"}},
		{"step output", `{v: "${{ steps.first.output.n }}"}`, float64(7)},
		{"labels by key", `{v: "${{ alert.labels.tenant }}"}`, "acme"},
		{"timestamps in text", `{v: "at ${{ now }}"}`, "at 2026-11-25T12:00:00Z"},
		{"nested values render", `{v: {inner: ["${{ alert.id }}", 2]}}`, map[string]any{"inner": []any{"a-1", 2}}},
		{"the incident's Slack thread", `{v: "${{ incident.slack_channel }}/${{ incident.slack_thread }}"}`, "C0SOC/1712345678.000100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := compileOne(t, tt.with)
			got, err := c.RenderParams(c.Playbook.Steps[1].With, vars)
			if err != nil {
				t.Fatal(err)
			}
			if v := got["values"].(map[string]any)["v"]; !reflect.DeepEqual(v, tt.want) {
				t.Errorf("rendered %#v, want %#v", v, tt.want)
			}
		})
	}
}

func TestConditionRuntimeErrors(t *testing.T) {
	c := compileOne(t, `{v: "${{ alert.labels.missing }}"}`)
	vars := playbooks.NewVars(&alerts.Alert{})
	vars.SetStep("first", playbooks.StepState{OK: true})
	_, err := c.RenderParams(c.Playbook.Steps[1].With, vars)
	if err == nil || !strings.Contains(err.Error(), "no such key: missing") {
		t.Fatalf("missing label: %v, want a no such key error", err)
	}
}

// TestCostLimitStopsRunawayExpressions checks that an expression that cannot
// be proven cheap is stopped at the cost limit instead of running on.
func TestCostLimitStopsRunawayExpressions(t *testing.T) {
	src := `id: runaway
trigger:
  when: alert.labels.all(k, alert.labels.all(j, alert.labels.all(i, alert.labels[k] + alert.labels[j] + alert.labels[i] != "")))
steps:
  - {id: a, action: notify, with: {text: x}}
`
	compiled, diags := newCompiler(t).Load("runaway.yaml", []byte(src))
	if diags != nil {
		t.Fatal(diags)
	}
	labels := map[string]string{}
	for i := range 120 {
		labels[fmt.Sprint(i)] = "v"
	}
	a := &alerts.Alert{Labels: labels}
	_, err := compiled.Matches(a, playbooks.NewVars(a))
	if err == nil || !strings.Contains(err.Error(), "cost limit exceeded") {
		t.Fatalf("got %v, want the cost limit to stop it", err)
	}
}

func TestValueBoundCoversTheLargestBody(t *testing.T) {
	if config.MaxBodyBytesCeiling > playbooks.MaxValueBytes {
		t.Fatalf("webhook bodies may be %d bytes but expressions are proven cheap only up to %d", config.MaxBodyBytesCeiling, playbooks.MaxValueBytes)
	}
}
