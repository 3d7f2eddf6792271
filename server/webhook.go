package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"

	"go.temporal.io/api/serviceerror"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/metrics"
	"github.com/aisoar/aisoar/playbooks"
	"github.com/aisoar/aisoar/webhooks"
	"github.com/aisoar/aisoar/workflows"
)

// startedIncident is one incident an alert was delivered to (or, in a dry
// run, would be).
type startedIncident struct {
	ID       string `json:"id"`
	Playbook string `json:"playbook"`
	RunID    string `json:"run_id,omitempty"`
}

// alertReceipt says what happened to one alert of a webhook request.
type alertReceipt struct {
	AlertID     string `json:"alert_id"`
	Fingerprint string `json:"fingerprint"`
	Status      string `json:"status"`
	// Class is the triage class the alert was given; empty for a resolved
	// notice, which only reaches open incidents.
	Class     string            `json:"class,omitempty"`
	Incidents []startedIncident `json:"incidents"`
	// Alert is the normalized alert, and Asset what the inventory knows of
	// it, shown in previews.
	Alert *alerts.Alert `json:"alert,omitempty"`
	Asset *assets.Match `json:"asset,omitempty"`
}

// delivery is how a webhook's alerts are handled.
type delivery int

const (
	// deliverLive opens and updates incidents whose actions act.
	deliverLive delivery = iota
	// deliverDryRun opens dry-run incidents: the playbooks run, approvals
	// are asked, and every action records the requests it would make
	// instead of making them. Their ids keep them apart from live ones.
	deliverDryRun
	// deliverPreview decodes and matches, and answers with what would
	// happen; nothing starts.
	deliverPreview
)

// admitted is a source's request that passed admission: its body, read
// and verified, and its message id, to record once it is handled.
type admitted struct {
	name      string
	src       *source
	body      []byte
	messageID string
}

// admit checks a request to a source's endpoint (alerts or heartbeats)
// before anything is done with it: the source exists, is within its rate
// limit, the body fits and is signed as the source signs, and it is not a
// message already handled. Otherwise it answers and returns false;
// outcome counts each refusal, as what the request was sent for.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, what string, outcome func(source, outcome string)) (admitted, bool) {
	name := r.PathValue("source")
	src, ok := s.sources[name]
	if !ok {
		writeProblem(w, problem{Status: http.StatusNotFound, Detail: fmt.Sprintf("no alert source %q is configured", name)})
		return admitted{}, false
	}
	if src.limiter != nil && !src.limiter.Allow() {
		outcome(name, metrics.OutcomeRateLimited)
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(1/float64(src.limiter.Limit()))))))
		writeProblem(w, problem{Status: http.StatusTooManyRequests, Detail: fmt.Sprintf("source %q is over its rate limit (rate_limit in the config)", name)})
		return admitted{}, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		outcome(name, metrics.OutcomeInvalid)
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeProblem(w, problem{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("the body is over the %d byte limit (max_body_bytes)", tooLarge.Limit)})
			return admitted{}, false
		}
		writeProblem(w, problem{Status: http.StatusBadRequest, Detail: "reading the body: " + err.Error()})
		return admitted{}, false
	}
	if err := src.verifier.Verify(r, body); err != nil {
		s.logger.Warn(what+" refused", "source", name, "remote", r.RemoteAddr, "url", webhooks.RedactQuery(r.URL, src.secretParams...), "error", err)
		if !errors.Is(err, webhooks.ErrUnauthorized) {
			// The verifier could not decide (an identity provider's keys
			// could not be fetched): the sender should retry.
			outcome(name, metrics.OutcomeUnavailable)
			writeUnavailable(w, "cannot verify the request now: "+err.Error())
			return admitted{}, false
		}
		outcome(name, metrics.OutcomeRejected)
		writeProblem(w, problem{Status: http.StatusUnauthorized, Detail: err.Error()})
		return admitted{}, false
	}
	messageID := r.Header.Get(webhooks.HeaderWebhookID)
	if messageID != "" && s.seen.Check(what+"/"+name, messageID) {
		// A replay, or a retry of a request already handled: do nothing twice.
		outcome(name, metrics.OutcomeDuplicate)
		writeJSON(w, http.StatusOK, map[string]any{"duplicate": true, "message_id": messageID})
		return admitted{}, false
	}
	return admitted{name: name, src: src, body: body, messageID: messageID}, true
}

// handled records the request's message id, so a replay of it is refused.
func (s *Server) handled(what string, req admitted) {
	if req.messageID != "" {
		s.seen.Record(what+"/"+req.name, req.messageID)
	}
}

// receiveAlert verifies, decodes and routes a webhook. It answers 202 only
// after Temporal has accepted every incident start or signal, so a sender
// that gets any other answer still holds the alert and retries.
func (s *Server) receiveAlert(w http.ResponseWriter, r *http.Request) {
	req, ok := s.admit(w, r, "alert", s.metrics.Alert)
	if !ok {
		return
	}
	name, src := req.name, req.src
	decoded, err := s.decode(src, req.body)
	if err != nil {
		s.metrics.Alert(name, metrics.OutcomeInvalid)
		p := problem{Status: http.StatusBadRequest, Detail: err.Error()}
		var fe *alerts.FieldError
		if errors.As(err, &fe) {
			p.Field = fe.Field
		}
		writeProblem(w, p)
		return
	}
	mode := deliverLive
	switch {
	case r.URL.Query().Get("preview") == "true":
		mode = deliverPreview
	case src.dryRun || r.URL.Query().Get("dry_run") == "true":
		mode = deliverDryRun
	}
	received := s.now().UTC()
	receipts := make([]alertReceipt, 0, len(decoded))
	accepted := false
	for i := range decoded {
		a := &decoded[i]
		a.Received = received
		if a.Time.IsZero() {
			a.Time = received
		} else if mode == deliverLive && a.Time.Before(received) {
			s.metrics.Detected(name, a.Severity, received.Sub(a.Time))
		}
		receipt, err := s.route(r.Context(), a, mode)
		if err != nil {
			s.metrics.Alert(name, metrics.OutcomeUnavailable)
			s.writeTemporalError(w, fmt.Sprintf("delivering alert %q", a.ID), err)
			return
		}
		s.metrics.Alert(name, alertOutcome(mode, receipt))
		accepted = accepted || len(receipt.Incidents) > 0
		receipts = append(receipts, receipt)
	}
	if mode == deliverLive {
		for i := range decoded {
			s.recordAlert(&decoded[i])
		}
	}
	if mode != deliverPreview {
		src.lastSeen.Store(received.UnixNano())
	}
	if mode == deliverPreview {
		writeJSON(w, http.StatusOK, map[string]any{"preview": true, "alerts": receipts})
		return
	}
	s.handled("alert", req)
	status := http.StatusAccepted
	if !accepted {
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]any{"dry_run": mode == deliverDryRun, "alerts": receipts})
}

// alertOutcome is what became of a routed alert, for the alerts counter.
func alertOutcome(mode delivery, receipt alertReceipt) string {
	switch {
	case mode == deliverPreview:
		return metrics.OutcomePreview
	case mode == deliverDryRun:
		return metrics.OutcomeDryRun
	case len(receipt.Incidents) == 0:
		return metrics.OutcomeUnmatched
	}
	return metrics.OutcomeAccepted
}

// decode decodes a body and applies the source's CEL mapping.
func (s *Server) decode(src *source, body []byte) ([]alerts.Alert, error) {
	decoded, err := src.decoder.Decode(body)
	if err != nil {
		return nil, err
	}
	for i := range decoded {
		if err := src.mapping.Apply(&decoded[i]); err != nil {
			return nil, err
		}
	}
	return decoded, nil
}

// route triages an alert and delivers it to every playbook of its class
// whose trigger matches it: a new incident, or the open one with the same
// id. A resolved alert only reaches an open incident; it never opens one.
// A preview starts nothing and reports where the alert would go.
func (s *Server) route(ctx context.Context, a *alerts.Alert, mode delivery) (alertReceipt, error) {
	receipt := alertReceipt{AlertID: a.ID, Fingerprint: a.Fingerprint(), Status: a.Status, Incidents: []startedIncident{}}
	key := incidentKey(receipt.Fingerprint, mode)
	if a.Status == string(alerts.StatusResolved) && mode != deliverPreview {
		return s.deliverResolved(ctx, a, key, receipt)
	}
	asset, vars := s.alertVars(a)
	receipt.Class = s.classify(a, vars)
	if mode == deliverLive {
		s.metrics.Triaged(receipt.Class)
	}
	matched := s.matchClass(a, vars, receipt.Class)
	if mode == deliverPreview {
		receipt.Alert, receipt.Asset = a, &asset
		for _, pb := range matched {
			receipt.Incidents = append(receipt.Incidents, startedIncident{ID: IncidentID(pb.Playbook.ID, key), Playbook: pb.Playbook.ID})
		}
		return receipt, nil
	}
	if len(matched) == 0 {
		s.logger.Info("alert matched no playbook", "alert", a.ID, "source", a.Source, "rule", a.Rule, "category", a.Category,
			"severity", a.Severity, "class", receipt.Class)
		return receipt, nil
	}
	origin := workflows.Origin{Class: receipt.Class, DiscoveredBy: workflows.DiscoveredByDetection}
	var err error
	receipt.Incidents, err = s.open(ctx, opening{alert: a, asset: asset, origin: origin, key: key, dryRun: mode == deliverDryRun}, matched)
	return receipt, err
}

// opening is what the incidents one alert opens share.
type opening struct {
	alert  *alerts.Alert
	asset  assets.Match
	origin workflows.Origin
	// requestedBy is who asked for the incidents, for the two-person rule.
	requestedBy string
	key         string
	dryRun      bool
}

// open delivers the alert to the incident of each playbook: a new one, or
// the open one with the same id.
func (s *Server) open(ctx context.Context, o opening, matched []*playbooks.Compiled) ([]startedIncident, error) {
	roles := s.roleMembers(ctx)
	started := []startedIncident{}
	for _, pb := range matched {
		input := workflows.Input{Playbook: *pb.Playbook, Alert: *o.alert, Asset: o.asset, Roles: roles, RequestedBy: o.requestedBy,
			DryRun: o.dryRun, Origin: o.origin}
		run, err := s.start(ctx, input, o.key)
		if err != nil {
			return started, err
		}
		started = append(started, startedIncident{ID: run.GetID(), Playbook: pb.Playbook.ID, RunID: run.GetRunID()})
		s.logger.Info("alert delivered", "alert", o.alert.ID, "incident", run.GetID(), "run", run.GetRunID(), "class", o.origin.Class)
	}
	return started, nil
}

// deliverResolved brings a resolved notice to every open incident with its
// fingerprint, whatever the trigger says of it now (a recovery often has no
// severity); it never opens an incident.
func (s *Server) deliverResolved(ctx context.Context, a *alerts.Alert, key string, receipt alertReceipt) (alertReceipt, error) {
	for _, pb := range s.library.Playbooks() {
		if !pb.AcceptsSource(a.Source) {
			continue
		}
		id := IncidentID(pb.Playbook.ID, key)
		delivered, err := s.signalOpen(ctx, id, a)
		if err != nil {
			return receipt, err
		}
		if delivered {
			receipt.Incidents = append(receipt.Incidents, startedIncident{ID: id, Playbook: pb.Playbook.ID})
		}
	}
	if len(receipt.Incidents) == 0 {
		s.logger.Info("resolved alert has no open incident", "alert", a.ID, "source", a.Source, "rule", a.Rule)
	}
	return receipt, nil
}

// signalOpen delivers an alert to the incident if it is open, and reports
// whether it was.
func (s *Server) signalOpen(ctx context.Context, id string, a *alerts.Alert) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	err := s.temporal.SignalWorkflow(ctx, id, "", workflows.AlertSignal, a)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return false, nil
	}
	return err == nil, err
}

// start signals the incident's workflow, starting it if it is not running.
func (s *Server) start(ctx context.Context, input workflows.Input, key string) (client.WorkflowRun, error) {
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	if s.cfg.Slack != nil && len(s.slackChannels) > 0 {
		input.Slack = &workflows.SlackRouting{Channels: s.slackChannels, Groups: s.cfg.Slack.Groups}
	}
	return s.temporal.SignalWithStartWorkflow(ctx, IncidentID(input.Playbook.ID, key), workflows.AlertSignal, &input.Alert,
		client.StartWorkflowOptions{
			TaskQueue:             s.cfg.Temporal.TaskQueue,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			TypedSearchAttributes: workflows.StartSearchAttributes(&input),
		}, workflows.WorkflowName, input)
}

// IncidentID is the workflow id of the incident a playbook opens for alerts
// with this key (the fingerprint, marked for dry runs).
func IncidentID(playbook, key string) string { return playbook + "/" + key }

// dryRunPrefix marks the incident key of a dry run, so a rehearsal never
// folds into, or resolves, a live incident.
const dryRunPrefix = "dry-run-"

// incidentKey is the part of an incident id that identifies its alerts.
func incidentKey(fingerprint string, mode delivery) string {
	if mode == deliverDryRun {
		return dryRunPrefix + fingerprint
	}
	return fingerprint
}
