package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/aisoar/aisoar/playbooks"
	"github.com/aisoar/aisoar/workflows"
)

// reclassifyRequest is the body of a reclassification.
type reclassifyRequest struct {
	Class  string `json:"class"`
	Reason string `json:"reason"`
}

// reclassified is what a reclassification answers: the incident it closed,
// as it ended, and the incidents that continue it.
type reclassified struct {
	Reclassified *workflows.Status `json:"reclassified"`
	Incidents    []startedIncident `json:"incidents"`
}

// conflictError is a reclassification that cannot be made as asked;
// nothing was changed. Its message says why.
type conflictError struct{ detail string }

func (e *conflictError) Error() string { return e.detail }

func (s *Server) reclassifyIncident(w http.ResponseWriter, r *http.Request, user string) {
	var req reclassifyRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if !slices.Contains(playbooks.Classes, req.Class) {
		writeProblem(w, problem{Status: http.StatusBadRequest, Field: "class",
			Detail: fmt.Sprintf("class %q is not a triage class: use %s", req.Class, strings.Join(playbooks.Classes, " or "))})
		return
	}
	id := incidentID(r)
	result, err := s.reclassify(r.Context(), id, req.Class, user, req.Reason)
	var conflict *conflictError
	switch {
	case errors.As(err, &conflict):
		writeProblem(w, problem{Status: http.StatusConflict, Detail: conflict.detail})
	case err != nil:
		s.writeUpdateError(w, id, err)
	default:
		writeJSON(w, http.StatusOK, result)
	}
}

// classOf is an incident's triage class: its origin's, else its playbook's.
func (s *Server) classOf(st *workflows.Status) string {
	if st.Origin.Class != "" {
		return st.Origin.Class
	}
	if pb := s.library.Get(st.Playbook); pb != nil {
		return pb.Playbook.TriageClass()
	}
	return playbooks.ClassAIIncident
}

// reclassify moves an open incident to another triage class: the
// playbooks of that class whose trigger selects the incident's alert open
// its successors (<playbook>/<fingerprint>), and the incident itself
// undoes what it did, as a resolution does, and ends in state
// reclassified. When no playbook of the class answers, nothing changes
// and the error is a *conflictError. Asking again after the successors
// failed to start starts them.
func (s *Server) reclassify(ctx context.Context, id, class, by, reason string) (reclassified, error) {
	readCtx, cancel := context.WithTimeout(ctx, temporalTimeout)
	st, err := s.incidentStatus(readCtx, id)
	cancel()
	if err != nil {
		return reclassified{}, err
	}
	if r := st.Resolution; r != nil && st.ReclassifiedTo == "" {
		return reclassified{}, &conflictError{fmt.Sprintf("incident %s is %s (by %s): only an open incident can be reclassified", id, st.State, r.By)}
	}
	alert := st.Alert
	asset, vars := s.alertVars(&alert)
	matched := s.matchClass(&alert, vars, class)
	if len(matched) == 0 {
		return reclassified{}, &conflictError{s.noPlaybookOfClass(id, class, st)}
	}
	key := strings.TrimPrefix(id, st.Playbook+"/")
	ids := make([]string, len(matched))
	for i, pb := range matched {
		ids[i] = IncidentID(pb.Playbook.ID, key)
	}
	to := strings.Join(ids, ", ")
	switch st.ReclassifiedTo {
	case "":
		updateCtx, cancel := context.WithTimeout(ctx, temporalTimeout)
		var closing workflows.Status
		err := s.deliverUpdate(updateCtx, id, workflows.ReclassifyUpdate, workflows.Reclassification{By: by, Class: class, To: to, Reason: reason}, &closing)
		cancel()
		if err != nil {
			return reclassified{}, err
		}
		st = &closing
	case to:
		// Asked again: start the successors that did not start, if any.
		if matched, err = s.notRunning(ctx, matched, key); err != nil {
			return reclassified{}, err
		}
		if len(matched) == 0 {
			return reclassified{}, &conflictError{fmt.Sprintf("incident %s was already reclassified: it continues as %s", id, st.ReclassifiedTo)}
		}
	default:
		return reclassified{}, &conflictError{fmt.Sprintf("incident %s was already reclassified: it continues as %s", id, st.ReclassifiedTo)}
	}
	s.logger.Info("incident reclassified", "incident", id, "class", class, "to", to, "by", by)
	// The incident undoes its steps before it ends; its successors start
	// once it has, so that one that takes up an earlier incident's id (a
	// second reclassification back) is not folded into it while it closes.
	waitCtx, cancel := context.WithTimeout(ctx, temporalTimeout)
	var final workflows.Status
	if err := s.temporal.GetWorkflow(waitCtx, id, "").Get(waitCtx, &final); err == nil {
		st = &final
	} else {
		s.logger.Warn("the reclassified incident has not ended yet; opening its successors", "incident", id, "error", err)
	}
	cancel()
	origin := workflows.Origin{Class: class, DiscoveredBy: st.Origin.DiscoveredBy, OpenedBy: st.Origin.OpenedBy,
		ReclassifiedFrom: id, Reclassified: st.Origin.Reclassified + 1}
	started, err := s.open(ctx, opening{alert: &alert, asset: asset, origin: origin, requestedBy: st.Origin.OpenedBy, key: key, dryRun: st.DryRun}, matched)
	if err != nil {
		return reclassified{}, fmt.Errorf("incident %s is reclassified, but its successors did not start (ask again to start them): %w", id, err)
	}
	return reclassified{Reclassified: st, Incidents: started}, nil
}

// notRunning returns the playbooks whose incident with the key is not
// running.
func (s *Server) notRunning(ctx context.Context, matched []*playbooks.Compiled, key string) ([]*playbooks.Compiled, error) {
	var out []*playbooks.Compiled
	for _, pb := range matched {
		describeCtx, cancel := context.WithTimeout(ctx, temporalTimeout)
		desc, err := s.temporal.DescribeWorkflowExecution(describeCtx, IncidentID(pb.Playbook.ID, key), "")
		cancel()
		var notFound *serviceerror.NotFound
		switch {
		case errors.As(err, &notFound):
			out = append(out, pb)
		case err != nil:
			return nil, err
		case desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
			out = append(out, pb)
		}
	}
	return out, nil
}

// noPlaybookOfClass says why an incident cannot move to a class.
func (s *Server) noPlaybookOfClass(id, class string, st *workflows.Status) string {
	var of []string
	for _, pb := range s.library.Playbooks() {
		if pb.Playbook.TriageClass() == class {
			of = append(of, fmt.Sprintf("%s (trigger %s)", pb.Playbook.ID, pb.Playbook.Trigger.When))
		}
	}
	list := "there is none"
	if len(of) > 0 {
		list = strings.Join(of, "; ")
	}
	a := &st.Alert
	return fmt.Sprintf("no playbook of class %s answers the alert of incident %s (source %s, category %q, severity %d), so it stays open as it is. "+
		"Playbooks of class %s: %s.", class, id, a.Source, a.Category, a.Severity, class, list)
}
