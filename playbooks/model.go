// Package playbooks is the playbook language: the Go model of a playbook,
// YAML loading that keeps line:column positions, the linter, the CEL
// environment with conditions compiled once at load, and the built-in
// library.
package playbooks

import (
	"encoding/json"
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Playbook is one analyst-authored response procedure. It is passed to the
// workflow as input, so a running incident keeps the exact version it
// started with.
type Playbook struct {
	ID          string   `json:"id"`
	Version     int      `json:"version"`
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	ATLAS       []string `json:"atlas,omitempty"`
	// Class is the triage class of the alerts the playbook answers
	// (ClassAIIncident or ClassPerformance); empty means ClassAIIncident.
	Class   string  `json:"class,omitempty"`
	Trigger Trigger `json:"trigger"`
	Steps   []Step  `json:"steps"`
	// OnFailure runs when a step fails for good; its CEL sees `failure`.
	OnFailure []Step `json:"on_failure,omitempty"`
	// AutoResolveAfter resolves the incident (running the undo steps) this long
	// after its steps finished; zero keeps it open until an analyst resolves it.
	AutoResolveAfter Duration `json:"auto_resolve_after,omitempty"`
	// File is where the playbook was loaded from; Source is its text and
	// Hash the SHA-256 of it, so evidence can keep the exact playbook run.
	File   string `json:"file,omitempty"`
	Hash   string `json:"hash"`
	Source string `json:"source,omitempty"`

	// nodes maps a path such as "steps[1].when" to its YAML node, for
	// diagnostics that point at line and column. Not part of the JSON form.
	nodes map[string]*yaml.Node
}

// Triage classes: an attack on an AI system, or a model performing badly.
// The server matches an alert only against the playbooks of its class.
const (
	ClassAIIncident  = "ai_incident"
	ClassPerformance = "performance"
)

// Classes lists the triage classes.
var Classes = []string{ClassAIIncident, ClassPerformance}

// TriageClass is the class of the alerts the playbook answers.
func (p *Playbook) TriageClass() string {
	if p.Class == "" {
		return ClassAIIncident
	}
	return p.Class
}

// Trigger selects the alerts a playbook answers.
type Trigger struct {
	// Sources limits the trigger to these webhook sources; empty means any.
	Sources []string `json:"sources,omitempty"`
	// When is a CEL condition over `alert`.
	When string `json:"when"`
}

// Step is one unit of work: an action, or a group of steps run in parallel.
type Step struct {
	ID     string         `json:"id"`
	Action string         `json:"action,omitempty"`
	With   map[string]any `json:"with,omitempty"`
	// When is a CEL condition; a step whose condition is false is skipped.
	When     string    `json:"when,omitempty"`
	Timeout  Duration  `json:"timeout,omitempty"`
	Retry    *Retry    `json:"retry,omitempty"`
	Approval *Approval `json:"approval,omitempty"`
	// Undo reverses the step when the incident is resolved.
	Undo *Action `json:"undo,omitempty"`
	// Parallel holds the steps of a parallel group; such a step has no action.
	Parallel []Step `json:"parallel,omitempty"`
	// ContinueOnError lets the playbook go on after this step fails.
	ContinueOnError bool `json:"continue_on_error,omitempty"`
}

// Action is an action with its parameters, as used by undo.
type Action struct {
	Action string         `json:"action"`
	With   map[string]any `json:"with,omitempty"`
	// After, on an undo, runs it this long after the step finished rather
	// than at resolution: a throttle or a quarantine that lifts itself.
	After Duration `json:"after,omitempty"`
}

// Retry is a step's retry policy; zero fields take Temporal's defaults.
type Retry struct {
	MaxAttempts        int      `json:"max_attempts,omitempty"`
	InitialInterval    Duration `json:"initial_interval,omitempty"`
	MaxInterval        Duration `json:"max_interval,omitempty"`
	BackoffCoefficient float64  `json:"backoff_coefficient,omitempty"`
}

// What an approval does when nobody decides in time.
const (
	OnTimeoutDeny     = "deny"
	OnTimeoutApprove  = "approve"
	OnTimeoutEscalate = "escalate"
)

// Approval makes a step wait for an analyst's decision before it runs.
type Approval struct {
	Role string `json:"role"`
	// TwoPerson requires two different approvers, neither the incident's requester.
	TwoPerson bool     `json:"two_person,omitempty"`
	Timeout   Duration `json:"timeout,omitempty"`
	OnTimeout string   `json:"on_timeout,omitempty"`
	// EscalateTo is the role asked next when OnTimeout is escalate; it gets
	// EscalationTimeout (default: Timeout) and is denied after that.
	EscalateTo        string   `json:"escalate_to,omitempty"`
	EscalationTimeout Duration `json:"escalation_timeout,omitempty"`
	// Message is shown to approvers; it may hold ${{ }} expressions.
	Message string `json:"message,omitempty"`
}

// DefaultApprovalTimeout applies to approvals that do not set one.
const DefaultApprovalTimeout = Duration(time.Hour)

// Duration is a time.Duration written as "30s" or "1h30m" in YAML and JSON.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Walk calls fn for every step of the playbook, depth first, including the
// members of parallel groups and the on_failure steps.
func (p *Playbook) Walk(fn func(path string, s *Step)) {
	walkSteps("steps", p.Steps, fn)
	walkSteps("on_failure", p.OnFailure, fn)
}

func walkSteps(prefix string, steps []Step, fn func(path string, s *Step)) {
	for i := range steps {
		path := fmt.Sprintf("%s[%d]", prefix, i)
		fn(path, &steps[i])
		walkSteps(path+".parallel", steps[i].Parallel, fn)
	}
}

// Step returns the step with the given id, searching parallel groups too.
func (p *Playbook) Step(id string) *Step {
	var found *Step
	p.Walk(func(_ string, s *Step) {
		if s.ID == id && found == nil {
			found = s
		}
	})
	return found
}
