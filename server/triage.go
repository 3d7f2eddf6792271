package server

import (
	"errors"
	"fmt"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/playbooks"
)

// triage classifies alerts by the config's rules, compiled once.
type triage struct {
	rules    []triageRule
	fallback string
}

type triageRule struct {
	name, class string
	when        *playbooks.Condition
}

// newTriage compiles the rules; an error names each rule that does not
// compile, as triage.rules[i].when, and the column of the problem.
func newTriage(c *playbooks.Compiler, cfg *config.Triage) (*triage, error) {
	t := &triage{fallback: cfg.Default}
	var errs []error
	for i, r := range cfg.Rules {
		when, err := c.CompileCondition(r.When)
		if err != nil {
			errs = append(errs, fmt.Errorf("triage.rules[%d].when (rule %s): %w", i, r.Name, err))
			continue
		}
		t.rules = append(t.rules, triageRule{name: r.Name, class: r.Class, when: when})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("the triage rules do not compile:\n%w", err)
	}
	return t, nil
}

// classify returns the class of the first rule whose condition holds, or
// the default. A rule that cannot be evaluated (a label the alert lacks)
// does not hold; its error is returned beside the class, to be logged.
func (t *triage) classify(vars *playbooks.Vars) (string, error) {
	var errs []error
	for _, r := range t.rules {
		ok, err := r.when.Eval(vars)
		if err != nil {
			errs = append(errs, fmt.Errorf("triage rule %s: %w", r.name, err))
			continue
		}
		if ok {
			return r.class, errors.Join(errs...)
		}
	}
	return t.fallback, errors.Join(errs...)
}

// alertVars matches an alert to the inventory and converts both for CEL,
// once for triage and every playbook trigger.
func (s *Server) alertVars(a *alerts.Alert) (assets.Match, *playbooks.Vars) {
	asset := s.assets.Match(&a.Asset)
	vars := playbooks.NewVars(a)
	vars.SetAsset(asset)
	return asset, vars
}

// classify gives an alert its triage class, logging the rules that could
// not be evaluated.
func (s *Server) classify(a *alerts.Alert, vars *playbooks.Vars) string {
	class, err := s.triage.classify(vars)
	if err != nil {
		s.logger.Warn("a triage rule could not be evaluated", "alert", a.ID, "error", err)
	}
	return class
}

// matchClass returns the playbooks of the class whose trigger selects the
// alert.
func (s *Server) matchClass(a *alerts.Alert, vars *playbooks.Vars, class string) []*playbooks.Compiled {
	matched, err := s.library.Match(a, vars, class)
	if err != nil {
		s.logger.Warn("a playbook trigger could not be evaluated", "alert", a.ID, "error", err)
	}
	return matched
}
