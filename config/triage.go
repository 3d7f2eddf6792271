package config

import (
	"fmt"
	"slices"
	"strings"
)

// Triage classes, as playbooks name them in their class: key.
const (
	ClassAIIncident  = "ai_incident"
	ClassPerformance = "performance"
)

// Classes lists the triage classes.
var Classes = []string{ClassAIIncident, ClassPerformance}

// Triage is the rule set that classifies each alert before playbooks are
// matched: an attack on an AI system (ai_incident) goes to the security
// playbooks, a model performance issue (performance) to the playbooks of
// class performance, such as the notify-only Data Science one.
type Triage struct {
	// Rules are tried in order; the first whose condition holds decides.
	Rules []TriageRule `yaml:"rules"`
	// Default is the class of an alert no rule selects; default ai_incident.
	Default string `yaml:"default"`
}

// TriageRule gives alerts its condition selects a class.
type TriageRule struct {
	// Name identifies the rule in logs and errors.
	Name string `yaml:"name"`
	// When is a CEL condition over alert (the normalized alert) and asset
	// (what the inventory knows of it), as in playbooks.
	When  string `yaml:"when"`
	Class string `yaml:"class"`
}

// DefaultTriage is the triage of a config that sets none: alerts of
// category model_performance are performance issues, all others AI incidents.
func DefaultTriage() *Triage {
	return &Triage{
		Rules:   []TriageRule{{Name: "model-performance", When: `alert.category == "model_performance"`, Class: ClassPerformance}},
		Default: ClassAIIncident,
	}
}

// TriageInForce is the configured triage, or DefaultTriage.
func (c *Config) TriageInForce() *Triage {
	if c.Triage == nil {
		return DefaultTriage()
	}
	return c.Triage
}

// validateTriage checks the rules' form; their CEL is compiled when the
// server starts, with the playbooks' environment.
func (c *Config) validateTriage(add func(string, ...any)) {
	t := c.Triage
	if t == nil {
		return
	}
	names := map[string]int{}
	for i, r := range t.Rules {
		at := fmt.Sprintf("triage.rules[%d]", i)
		switch first, dup := names[r.Name]; {
		case r.Name == "":
			add("%s.name is required (it names the rule in logs)", at)
		case dup:
			add("%s.name %q is also the name of triage.rules[%d]", at, r.Name, first)
		default:
			names[r.Name] = i
		}
		if strings.TrimSpace(r.When) == "" {
			add("%s.when is required: a CEL condition over alert and asset", at)
		}
		if !slices.Contains(Classes, r.Class) {
			add("%s.class %q is not a triage class: use %s", at, r.Class, strings.Join(Classes, " or "))
		}
	}
	if !slices.Contains(Classes, t.Default) {
		add("triage.default %q is not a triage class: use %s", t.Default, strings.Join(Classes, " or "))
	}
}
