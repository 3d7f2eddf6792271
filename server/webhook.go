package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/playbooks"
	"github.com/aisoar/aisoar/webhooks"
	"github.com/aisoar/aisoar/workflows"
)

// startedIncident is one incident an alert was delivered to.
type startedIncident struct {
	ID       string `json:"id"`
	Playbook string `json:"playbook"`
	RunID    string `json:"run_id"`
}

// alertReceipt says what happened to one alert of a webhook request.
type alertReceipt struct {
	AlertID     string            `json:"alert_id"`
	Fingerprint string            `json:"fingerprint"`
	Incidents   []startedIncident `json:"incidents"`
}

// receiveAlert verifies, decodes and routes a webhook. It answers 202 only
// after Temporal has accepted every incident start or signal, so a sender
// that gets any other answer still holds the alert and retries.
func (s *Server) receiveAlert(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("source")
	src, ok := s.sources[name]
	if !ok {
		writeProblem(w, problem{Status: http.StatusNotFound, Detail: fmt.Sprintf("no alert source %q is configured", name)})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeProblem(w, problem{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("the body is over the %d byte limit (max_body_bytes)", tooLarge.Limit)})
			return
		}
		writeProblem(w, problem{Status: http.StatusBadRequest, Detail: "reading the body: " + err.Error()})
		return
	}
	if err := src.verifier.Verify(r.Header, body); err != nil {
		s.logger.Warn("alert refused", "source", name, "remote", r.RemoteAddr, "error", err)
		status := http.StatusUnauthorized
		if !errors.Is(err, webhooks.ErrUnauthorized) {
			status = http.StatusInternalServerError
		}
		writeProblem(w, problem{Status: status, Detail: err.Error()})
		return
	}
	decoded, err := src.decoder.Decode(body)
	if err != nil {
		p := problem{Status: http.StatusBadRequest, Detail: err.Error()}
		var fe *alerts.FieldError
		if errors.As(err, &fe) {
			p.Field = fe.Field
		}
		writeProblem(w, p)
		return
	}
	received := s.now().UTC()
	receipts := make([]alertReceipt, 0, len(decoded))
	accepted := false
	for i := range decoded {
		a := &decoded[i]
		a.Received = received
		if a.Time.IsZero() {
			a.Time = received
		}
		receipt, err := s.route(r.Context(), a)
		if err != nil {
			s.writeTemporalError(w, fmt.Sprintf("delivering alert %q", a.ID), err)
			return
		}
		accepted = accepted || len(receipt.Incidents) > 0
		receipts = append(receipts, receipt)
	}
	status := http.StatusAccepted
	if !accepted {
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]any{"alerts": receipts})
}

// route delivers an alert to every playbook whose trigger matches it:
// a new incident, or the open one with the same id.
func (s *Server) route(ctx context.Context, a *alerts.Alert) (alertReceipt, error) {
	receipt := alertReceipt{AlertID: a.ID, Fingerprint: a.Fingerprint(), Incidents: []startedIncident{}}
	matched, matchErr := s.library.Match(a)
	if matchErr != nil {
		s.logger.Warn("a playbook trigger could not be evaluated", "alert", a.ID, "error", matchErr)
	}
	if len(matched) == 0 {
		s.logger.Info("alert matched no playbook", "alert", a.ID, "source", a.Source, "rule", a.Rule, "category", a.Category, "severity", a.Severity)
		return receipt, nil
	}
	for _, pb := range matched {
		run, err := s.start(ctx, pb, a, receipt.Fingerprint)
		if err != nil {
			return receipt, err
		}
		receipt.Incidents = append(receipt.Incidents, startedIncident{ID: run.GetID(), Playbook: pb.Playbook.ID, RunID: run.GetRunID()})
		s.logger.Info("alert delivered", "alert", a.ID, "incident", run.GetID(), "run", run.GetRunID())
	}
	return receipt, nil
}

// start signals the incident's workflow, starting it if it is not running.
func (s *Server) start(ctx context.Context, pb *playbooks.Compiled, a *alerts.Alert, fingerprint string) (client.WorkflowRun, error) {
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	input := workflows.Input{Playbook: *pb.Playbook, Alert: *a, Roles: s.cfg.Roles}
	return s.temporal.SignalWithStartWorkflow(ctx, IncidentID(pb.Playbook.ID, fingerprint), workflows.AlertSignal, a,
		client.StartWorkflowOptions{
			TaskQueue:             s.cfg.Temporal.TaskQueue,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			TypedSearchAttributes: workflows.StartSearchAttributes(&input),
		}, workflows.WorkflowName, input)
}

// IncidentID is the workflow id of the incident a playbook opens for alerts
// with this fingerprint.
func IncidentID(playbook, fingerprint string) string { return playbook + "/" + fingerprint }
