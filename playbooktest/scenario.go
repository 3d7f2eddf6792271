// Package playbooktest loads and runs playbook scenarios: the
// `<stem>_test.yaml` files beside playbooks that script an incident (an
// alert, approval decisions, action results) and say what must come of it.
// Each scenario runs the real interpreter workflow on Temporal's
// time-skipping test environment with every action stubbed.
package playbooktest

import (
	"fmt"

	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/internal/diag"
	"github.com/aisoar/aisoar/playbooks"
)

// Suite is one scenario file.
type Suite struct {
	Scenarios []*Scenario `json:"scenarios" scenario:"required"`
	// File is where the suite was read from.
	File string `json:"-"`
}

// Scenario is one scripted incident and what must come of it.
type Scenario struct {
	Name string `json:"name" scenario:"required"`
	// Alert is the normalized alert (alerts.Alert json names); id, source,
	// status and time default.
	Alert AlertFields `json:"alert"`
	// Asset is what the inventory matched, or Inventory a file (relative
	// to the scenario file) the alert is matched against.
	Asset     *assets.Match `json:"asset"`
	Inventory string        `json:"inventory"`
	// Roles are the approver roles; every role the playbook names that is
	// not given here has the members analyst-1 and analyst-2.
	Roles map[string][]string `json:"roles"`
	// RequestedBy is who asked for the incident (two-person approvals
	// refuse them).
	RequestedBy string `json:"requested_by"`
	DryRun      bool   `json:"dry_run"`
	// Actions are the stubbed results by step id (undo_<id> for undo);
	// a step with none succeeds with an empty output.
	Actions map[string]*ActionStub `json:"actions"`
	// Approvals are the decisions by step id, sent when the step waits.
	Approvals map[string]Decisions `json:"approvals"`
	Signals   []*Signal            `json:"signals"`
	Resolve   *Resolve             `json:"resolve"`
	Expect    Expect               `json:"expect" scenario:"required"`

	// file, pos and where locate the scenario's parts for messages;
	// inventory is the loaded Inventory file.
	file      string
	pos       positions
	where     string
	inventory *assets.Inventory
}

// at returns "file:line:col" of a part of the scenario ("actions.rotate"),
// at its key where it has one.
func (sc *Scenario) at(part string) string {
	where := diag.Join(sc.where, part)
	line, col := sc.pos.at(where)
	if n, ok := sc.pos[where+"#key"]; ok {
		line, col = n.Line, n.Column
	}
	return fmt.Sprintf("%s:%d:%d", sc.file, line, col)
}

// AlertFields are fields of an alerts.Alert by their json names, laid over
// the defaults (or, for a signal, over the scenario's alert).
type AlertFields map[string]any

// ActionStub is what a stubbed action answers.
type ActionStub struct {
	Output map[string]any `json:"output"`
	// Error fails every attempt, or the first FailAttempts ones.
	Error        *StubError `json:"error"`
	FailAttempts int        `json:"fail_attempts"`
}

// StubError is a scripted action failure.
type StubError struct {
	Message string `json:"message" scenario:"required"`
	// Retryable (default true) lets the step's retry policy try again;
	// false fails the step at once, like a 4xx answer.
	Retryable *bool `json:"retryable"`
	// Type is the Temporal error type, as real actions set it (HTTPStatus);
	// with one, the step's error reads "<message> (type: <type>, retryable: <bool>)".
	Type string `json:"type"`
}

// retryable reports whether the error may be retried.
func (e *StubError) retryable() bool { return e == nil || e.Retryable == nil || *e.Retryable }

// Decisions are the decisions for one step, in order: one, or a list for
// a two-person approval. In YAML a single decision may stand alone.
type Decisions []*Decision

// Decision is one approver's scripted answer.
type Decision struct {
	Approve bool `json:"approve" scenario:"required"`
	// By defaults to the first member of the waiting role who has not
	// decided yet.
	By     string `json:"by"`
	Reason string `json:"reason"`
}

// Signal is another alert delivered while the incident is open.
type Signal struct {
	After playbooks.Duration `json:"after" scenario:"required"`
	// Alert is laid over the scenario's alert: give what differs.
	Alert AlertFields `json:"alert"`
}

// Resolve resolves the incident, which runs the undo steps.
type Resolve struct {
	After  playbooks.Duration `json:"after" scenario:"required"`
	By     string             `json:"by"`
	Reason string             `json:"reason"`
}

// Expect is what must come of the scenario. Only what is given is checked.
type Expect struct {
	// State is the incident's final state: contained, failed or resolved.
	State string `json:"state"`
	// Steps maps step ids (undo_<id> included) to their final state: done,
	// failed, skipped or rejected.
	Steps map[string]string `json:"steps"`
	// Calls maps step ids to parameters the action was last called with;
	// only the keys given are compared.
	Calls map[string]map[string]any `json:"calls"`
	// NotCalled lists steps whose action must not have run.
	NotCalled []string `json:"not_called"`
	// Attempts maps step ids to how many times their action was called.
	Attempts map[string]int `json:"attempts"`
	// FailureStep is the step the playbook failed at.
	FailureStep string `json:"failure_step"`
}
