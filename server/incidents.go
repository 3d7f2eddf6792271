package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/aisoar/aisoar/workflows"
)

// IncidentSummary is one line of the incidents list.
type IncidentSummary struct {
	ID         string    `json:"id"`
	Playbook   string    `json:"playbook"`
	State      string    `json:"state"`
	Source     string    `json:"source"`
	Severity   int64     `json:"severity"`
	Asset      string    `json:"asset,omitempty"`
	Techniques []string  `json:"techniques,omitempty"`
	Started    time.Time `json:"started"`
	Closed     time.Time `json:"closed,omitzero"`
}

// maxListed bounds one incidents list answer.
const maxListed = 200

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request, _ string) {
	filter := ""
	if state := r.URL.Query().Get("state"); state != "" {
		if strings.ContainsAny(state, `'"\`) {
			writeProblem(w, problem{Status: http.StatusBadRequest, Detail: "state holds a quote"})
			return
		}
		filter = fmt.Sprintf("%s = '%s'", workflows.SearchStatus.GetName(), state)
	}
	ctx, cancel := context.WithTimeout(r.Context(), temporalTimeout)
	defer cancel()
	list, err := s.incidents(ctx, filter)
	if err != nil {
		s.writeTemporalError(w, "listing incidents", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": list})
}

// incidents lists up to maxListed incidents, those filter (a visibility
// query, or "" for all) selects. filter must not come unchecked from a
// request.
func (s *Server) incidents(ctx context.Context, filter string) ([]IncidentSummary, error) {
	query := fmt.Sprintf("WorkflowType = '%s'", workflows.WorkflowName)
	if filter != "" {
		query += " AND " + filter
	}
	resp, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: s.cfg.Temporal.Namespace, Query: query, PageSize: maxListed,
	})
	if err != nil {
		return nil, err
	}
	list := make([]IncidentSummary, 0, len(resp.Executions))
	for _, e := range resp.Executions {
		sum := IncidentSummary{ID: e.GetExecution().GetWorkflowId(), Started: e.GetStartTime().AsTime()}
		if e.GetCloseTime() != nil {
			sum.Closed = e.GetCloseTime().AsTime()
		}
		fields := e.GetSearchAttributes().GetIndexedFields()
		decode := func(name string, into any) {
			if p, ok := fields[name]; ok {
				_ = converter.GetDefaultDataConverter().FromPayload(p, into)
			}
		}
		decode(workflows.SearchPlaybook.GetName(), &sum.Playbook)
		decode(workflows.SearchStatus.GetName(), &sum.State)
		decode(workflows.SearchSource.GetName(), &sum.Source)
		decode(workflows.SearchSeverity.GetName(), &sum.Severity)
		decode(workflows.SearchAsset.GetName(), &sum.Asset)
		decode(workflows.SearchTechniques.GetName(), &sum.Techniques)
		list = append(list, sum)
	}
	return list, nil
}

func incidentID(r *http.Request) string {
	return IncidentID(r.PathValue("playbook"), r.PathValue("fingerprint"))
}

func (s *Server) showIncident(w http.ResponseWriter, r *http.Request, _ string) {
	id := incidentID(r)
	ctx, cancel := context.WithTimeout(r.Context(), temporalTimeout)
	defer cancel()
	st, err := s.incidentStatus(ctx, id)
	if err != nil {
		s.writeTemporalError(w, fmt.Sprintf("reading incident %s", id), err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// incidentStatus asks the incident's workflow for its status.
func (s *Server) incidentStatus(ctx context.Context, id string) (*workflows.Status, error) {
	value, err := s.temporal.QueryWorkflow(ctx, id, "", workflows.StatusQuery)
	if err != nil {
		return nil, err
	}
	var st workflows.Status
	if err := value.Get(&st); err != nil {
		return nil, fmt.Errorf("decoding the status: %w", err)
	}
	return &st, nil
}

// decisionRequest is the body of a decision.
type decisionRequest struct {
	Approve *bool  `json:"approve"`
	Reason  string `json:"reason"`
	// Via names the client, such as cli; default api.
	Via string `json:"via"`
}

// decide delivers an approver's decision as the workflow's Update. The
// approver is the API token's user; a decision the workflow's validator
// refuses is answered 409 with its reason, and nothing is recorded.
func (s *Server) decide(w http.ResponseWriter, r *http.Request, user string) {
	var req decisionRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Approve == nil {
		writeProblem(w, problem{Status: http.StatusBadRequest, Field: "approve", Detail: `the body needs "approve": true or false`})
		return
	}
	if req.Via == "" {
		req.Via = "api"
	}
	id := incidentID(r)
	d := workflows.Decision{Step: r.PathValue("step"), Approver: user, Approve: *req.Approve, Reason: req.Reason, Via: req.Via}
	ctx, cancel := context.WithTimeout(r.Context(), temporalTimeout)
	defer cancel()
	result, err := s.deliverDecision(ctx, id, d)
	if err != nil {
		if closed, ok := s.closedIncident(ctx, id, err); ok {
			writeProblem(w, problem{Status: http.StatusConflict, Detail: closed + "; it takes no more decisions"})
			return
		}
		s.writeUpdateError(w, id, err)
		return
	}
	writeJSON(w, http.StatusOK, result)
}

// deliverDecision delivers an approver's decision to the incident as the
// workflow's Update. It is the one path of decisions from the API, Slack
// and Socket Mode. A decision the validator refuses is a *refusedError,
// and nothing is recorded; other errors are Temporal's (see temporalDown),
// a *serviceerror.NotFound when the incident is not open.
func (s *Server) deliverDecision(ctx context.Context, incident string, d workflows.Decision) (workflows.DecisionResult, error) {
	var result workflows.DecisionResult
	if err := s.deliverUpdate(ctx, incident, workflows.DecisionUpdate, d, &result); err != nil {
		return result, err
	}
	s.logger.Info("decision recorded", "incident", incident, "step", d.Step, "approver", d.Approver, "approve", d.Approve, "via", d.Via, "outcome", result.Outcome)
	return result, nil
}

// resolveRequest is the body of a resolve.
type resolveRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) resolve(w http.ResponseWriter, r *http.Request, user string) {
	var req resolveRequest
	if r.ContentLength != 0 && !decodeBody(w, r, &req) {
		return
	}
	id := incidentID(r)
	ctx, cancel := context.WithTimeout(r.Context(), temporalTimeout)
	defer cancel()
	var st workflows.Status
	if err := s.deliverUpdate(ctx, id, workflows.ResolveUpdate, workflows.Resolution{By: user, Reason: req.Reason}, &st); err != nil {
		if closed, ok := s.closedIncident(ctx, id, err); ok {
			writeProblem(w, problem{Status: http.StatusConflict, Detail: closed})
			return
		}
		s.writeUpdateError(w, id, err)
		return
	}
	writeJSON(w, http.StatusOK, &st)
}

// closedIncident says how an incident ended when an Update to it failed
// with Temporal's not found because its workflow is closed, such as
// "incident x is already resolved (at T by Y)"; ok is false when the
// incident is not there, is open, or Temporal cannot tell.
func (s *Server) closedIncident(ctx context.Context, id string, updateErr error) (detail string, ok bool) {
	var notFound *serviceerror.NotFound
	if !errors.As(updateErr, &notFound) {
		return "", false
	}
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return "", false
	}
	info := desc.GetWorkflowExecutionInfo()
	switch status := info.GetStatus(); status {
	case enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "", false
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		var st workflows.Status
		if err := s.temporal.GetWorkflow(ctx, id, info.GetExecution().GetRunId()).Get(ctx, &st); err == nil {
			return closedState(id, &st), true
		}
		fallthrough
	default:
		how, known := workflowEnds[status]
		if !known {
			how = "ended " + status.String()
		}
		return fmt.Sprintf("incident %s is already closed: its workflow %s at %s", id, how, info.GetCloseTime().AsTime().UTC().Format(time.RFC3339)), true
	}
}

// workflowEnds says how a workflow that did not complete ended.
var workflowEnds = map[enumspb.WorkflowExecutionStatus]string{
	enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:  "completed",
	enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:     "failed",
	enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:   "was canceled",
	enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED: "was terminated",
	enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:  "timed out",
}

// closedState says how an incident ended, from its final status.
func closedState(id string, st *workflows.Status) string {
	switch r := st.Resolution; {
	case st.State == workflows.StateReclassified && st.ReclassifiedTo != "":
		return fmt.Sprintf("incident %s is already reclassified; it continues as %s", id, st.ReclassifiedTo)
	case st.State == workflows.StateResolved && r != nil:
		var when []string
		if !r.At.IsZero() {
			when = append(when, "at "+r.At.UTC().Format(time.RFC3339))
		}
		if r.By != "" {
			when = append(when, "by "+r.By)
		}
		if len(when) == 0 {
			return fmt.Sprintf("incident %s is already resolved", id)
		}
		return fmt.Sprintf("incident %s is already resolved (%s)", id, strings.Join(when, " "))
	}
	return fmt.Sprintf("incident %s is already closed (state %s)", id, st.State)
}

// refusedError is an Update validator's refusal: the incident is there,
// but said no, and nothing was recorded. Its message says why.
type refusedError struct{ reason string }

func (e *refusedError) Error() string { return e.reason }

// deliverUpdate runs a workflow Update on the incident and waits for its
// result. A refusal by the Update's validator is a *refusedError; when
// Temporal is down or the incident is not open, the error is Temporal's.
func (s *Server) deliverUpdate(ctx context.Context, id, name string, arg, result any) error {
	handle, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = handle.Get(ctx, result)
	}
	if err == nil {
		return nil
	}
	var notFound *serviceerror.NotFound
	if temporalDown(err) || errors.As(err, &notFound) {
		return err
	}
	// The validator's refusal: the workflow is there, but said no.
	return &refusedError{reason: refusal(err)}
}

// writeUpdateError answers a failed Update: 409 with the validator's
// reason, else as writeTemporalError does.
func (s *Server) writeUpdateError(w http.ResponseWriter, id string, err error) {
	var refused *refusedError
	if errors.As(err, &refused) {
		writeProblem(w, problem{Status: http.StatusConflict, Detail: refused.reason})
		return
	}
	s.writeTemporalError(w, fmt.Sprintf("incident %s", id), err)
}

// refusal strips Temporal's wrapping from a validator's message.
func refusal(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "rpc error") {
		return msg[i+2:]
	}
	return msg
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeProblem(w, problem{Status: http.StatusBadRequest, Detail: "the body is not valid JSON for this call: " + err.Error()})
		return false
	}
	return true
}

// playbookSummary is one line of the playbooks list.
type playbookSummary struct {
	ID      string   `json:"id"`
	Version int      `json:"version"`
	Title   string   `json:"title"`
	ATLAS   []string `json:"atlas"`
	Trigger string   `json:"trigger"`
	File    string   `json:"file"`
	Hash    string   `json:"hash"`
}

func (s *Server) listPlaybooks(w http.ResponseWriter, _ *http.Request, _ string) {
	var list []playbookSummary
	for _, c := range s.library.Playbooks() {
		pb := c.Playbook
		list = append(list, playbookSummary{ID: pb.ID, Version: pb.Version, Title: pb.Title, ATLAS: pb.ATLAS, Trigger: pb.Trigger.When, File: pb.File, Hash: pb.Hash})
	}
	writeJSON(w, http.StatusOK, map[string]any{"playbooks": list})
}

func (s *Server) listSources(w http.ResponseWriter, _ *http.Request, _ string) {
	list := make([]SourceSummary, 0, len(s.sources))
	for _, src := range s.sources {
		list = append(list, src.summary())
	}
	slices.SortFunc(list, func(a, b SourceSummary) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, map[string]any{"sources": list})
}
