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
	query := fmt.Sprintf("WorkflowType = '%s'", workflows.WorkflowName)
	if state := r.URL.Query().Get("state"); state != "" {
		if strings.ContainsAny(state, `'"\`) {
			writeProblem(w, problem{Status: http.StatusBadRequest, Detail: "state holds a quote"})
			return
		}
		query += fmt.Sprintf(" AND %s = '%s'", workflows.SearchStatus.GetName(), state)
	}
	ctx, cancel := context.WithTimeout(r.Context(), temporalTimeout)
	defer cancel()
	resp, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: s.cfg.Temporal.Namespace, Query: query, PageSize: maxListed,
	})
	if err != nil {
		s.writeTemporalError(w, "listing incidents", err)
		return
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
	writeJSON(w, http.StatusOK, map[string]any{"incidents": list})
}

func incidentID(r *http.Request) string {
	return IncidentID(r.PathValue("playbook"), r.PathValue("fingerprint"))
}

func (s *Server) showIncident(w http.ResponseWriter, r *http.Request, _ string) {
	id := incidentID(r)
	ctx, cancel := context.WithTimeout(r.Context(), temporalTimeout)
	defer cancel()
	value, err := s.temporal.QueryWorkflow(ctx, id, "", workflows.StatusQuery)
	if err != nil {
		s.writeTemporalError(w, fmt.Sprintf("reading incident %s", id), err)
		return
	}
	var st workflows.Status
	if err := value.Get(&st); err != nil {
		writeProblem(w, problem{Status: http.StatusInternalServerError, Detail: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, &st)
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
	d := workflows.Decision{Step: r.PathValue("step"), Approver: user, Approve: *req.Approve, Reason: req.Reason, Via: req.Via}
	var result workflows.DecisionResult
	if !s.update(w, r, workflows.DecisionUpdate, d, &result) {
		return
	}
	s.logger.Info("decision recorded", "incident", incidentID(r), "step", d.Step, "approver", user, "approve", d.Approve, "outcome", result.Outcome)
	writeJSON(w, http.StatusOK, result)
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
	var st workflows.Status
	if !s.update(w, r, workflows.ResolveUpdate, workflows.Resolution{By: user, Reason: req.Reason}, &st) {
		return
	}
	writeJSON(w, http.StatusOK, &st)
}

// update runs a workflow Update on the incident and decodes its result; it
// writes the error answer and returns false when that fails.
func (s *Server) update(w http.ResponseWriter, r *http.Request, name string, arg, result any) bool {
	id := incidentID(r)
	ctx, cancel := context.WithTimeout(r.Context(), temporalTimeout)
	defer cancel()
	handle, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = handle.Get(ctx, result)
	}
	if err == nil {
		return true
	}
	var notFound *serviceerror.NotFound
	if temporalDown(err) || errors.As(err, &notFound) {
		s.writeTemporalError(w, fmt.Sprintf("incident %s", id), err)
		return false
	}
	// The validator's refusal: the workflow is there, but said no.
	writeProblem(w, problem{Status: http.StatusConflict, Detail: refusal(err)})
	return false
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
