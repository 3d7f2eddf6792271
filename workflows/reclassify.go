package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/aisoar/aisoar/playbooks"
)

// class is the incident's triage class: its origin's, else its playbook's.
func (inc *incident) class() string {
	if c := inc.status.Origin.Class; c != "" {
		return c
	}
	return inc.input.Playbook.TriageClass()
}

// validateReclassify refuses, before anything is written to history, a
// reclassification of an incident that is not open or already of the class.
func (inc *incident) validateReclassify(r Reclassification) error {
	switch {
	case r.By == "":
		return errors.New("reclassifying needs the identity of who reclassifies")
	case !slices.Contains(playbooks.Classes, r.Class):
		return fmt.Errorf("%q is not a triage class: use %s", r.Class, strings.Join(playbooks.Classes, " or "))
	case r.To == "":
		return errors.New("reclassifying needs the incidents that replace this one")
	case inc.status.ReclassifiedTo != "":
		return fmt.Errorf("incident was already reclassified: it continues as %s", inc.status.ReclassifiedTo)
	case inc.resolution != nil:
		return fmt.Errorf("incident is already resolved by %s", inc.resolution.By)
	case r.Class == inc.class():
		return fmt.Errorf("incident is already of class %s", r.Class)
	}
	return nil
}

// reclassify closes the incident as resolve does, running the undo steps
// of what it did under the wrong class, and ends it in state reclassified.
func (inc *incident) reclassify(ctx workflow.Context, r Reclassification) (*Status, error) {
	inc.status.ReclassifiedTo = r.To
	reason := "reclassified as " + r.Class
	if r.Reason != "" {
		reason += ": " + r.Reason
	}
	workflow.GetLogger(ctx).Info("incident reclassified", "class", r.Class, "to", r.To, "by", r.By)
	return inc.requestResolve(ctx, Resolution{By: r.By, Reason: reason})
}
