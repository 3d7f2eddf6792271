package server

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/atlas"
	"github.com/aisoar/aisoar/playbooks"
	"github.com/aisoar/aisoar/workflows"
)

// ManualSource is the source, and the rule, of incidents opened by hand.
const ManualSource = "manual"

// manualRecordYAML is the playbook of incidents opened by hand that no
// playbook answers: the incident must exist, for the escape rate and the
// review, even when nothing automates its response.
//
//go:embed manual-record.yaml
var manualRecordYAML []byte

func loadManualRecord(c *playbooks.Compiler) (*playbooks.Compiled, error) {
	pb, diags := c.Load("builtin:manual-record.yaml", manualRecordYAML)
	if len(diags) > 0 {
		return nil, fmt.Errorf("the playbook of incidents opened by hand does not compile:\n%w", diags)
	}
	return pb, nil
}

// openRequest is the body of POST /v1/incidents.
type openRequest struct {
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Category    string       `json:"category"`
	Severity    any          `json:"severity"`
	Asset       alerts.Asset `json:"asset"`
	Techniques  []string     `json:"techniques"`
	// DiscoveredBy is who found the incident: business, soc or red-team.
	DiscoveredBy string `json:"discovered_by"`
}

// manualDiscoverers are who may be named as discovering an incident opened
// by hand; detection is the alerts'.
var manualDiscoverers = slices.DeleteFunc(slices.Clone(workflows.DiscoveredByValues), func(v string) bool { return v == workflows.DiscoveredByDetection })

// defaultManualSeverity is the severity of a report that gives none.
const defaultManualSeverity = 3

// openIncident opens an incident reported by hand: it becomes an alert of
// source manual, is triaged, and opens the playbooks of its class whose
// trigger matches, like a webhook's alert. When none does, it opens the
// manual-record playbook, so the incident is recorded all the same.
func (s *Server) openIncident(w http.ResponseWriter, r *http.Request, user string) {
	var req openRequest
	if !decodeBody(w, r, &req) {
		return
	}
	a, field, err := s.manualAlert(req, user)
	if err != nil {
		writeProblem(w, problem{Status: http.StatusBadRequest, Field: field, Detail: err.Error()})
		return
	}
	asset, vars := s.alertVars(a)
	class := s.classify(a, vars)
	s.metrics.Triaged(class)
	matched := s.matchClass(a, vars, class)
	if len(matched) == 0 {
		matched = []*playbooks.Compiled{s.manualRecord}
	}
	receipt := alertReceipt{AlertID: a.ID, Fingerprint: a.Fingerprint(), Status: a.Status, Class: class}
	origin := workflows.Origin{Class: class, DiscoveredBy: req.DiscoveredBy, OpenedBy: user}
	receipt.Incidents, err = s.open(r.Context(), opening{alert: a, asset: asset, origin: origin, requestedBy: user, key: receipt.Fingerprint}, matched)
	if err != nil {
		s.writeTemporalError(w, "opening the incident", err)
		return
	}
	s.logger.Info("incident opened by hand", "alert", a.ID, "by", user, "discovered_by", req.DiscoveredBy, "class", class)
	writeJSON(w, http.StatusCreated, receipt)
}

// manualAlert turns a report into the alert its incidents carry; an error
// names the field at fault.
func (s *Server) manualAlert(req openRequest, user string) (*alerts.Alert, string, error) {
	if strings.TrimSpace(req.Title) == "" {
		return nil, "title", fmt.Errorf("title is required: say what happened in a line")
	}
	if !slices.Contains(manualDiscoverers, req.DiscoveredBy) {
		return nil, "discovered_by", fmt.Errorf("discovered_by %q: say who found the incident, one of %s", req.DiscoveredBy, strings.Join(manualDiscoverers, ", "))
	}
	severity := int64(defaultManualSeverity)
	if req.Severity != nil {
		var err error
		if severity, err = alerts.ParseSeverity(req.Severity); err != nil {
			return nil, "severity", fmt.Errorf("severity: %w", err)
		}
	}
	if len(req.Techniques) > alerts.MaxTechniques {
		return nil, "techniques", fmt.Errorf("techniques: at most %d", alerts.MaxTechniques)
	}
	catalog := atlas.Default()
	for _, id := range req.Techniques {
		if _, ok := catalog.Technique(id); !ok {
			return nil, "techniques", fmt.Errorf("techniques: %q is not a MITRE ATLAS technique of catalog %s (aisoar atlas techniques lists them)", id, catalog.Version)
		}
	}
	var random [8]byte
	if _, err := rand.Read(random[:]); err != nil {
		return nil, "", err
	}
	id := "manual-" + hex.EncodeToString(random[:])
	now := s.now().UTC()
	techniques := slices.Clone(req.Techniques)
	if techniques == nil {
		techniques = []string{}
	}
	return &alerts.Alert{
		ID: id, Source: ManualSource, Rule: ManualSource, Title: strings.TrimSpace(req.Title), Severity: severity,
		Status: string(alerts.StatusFiring), Time: now, Received: now, Category: req.Category, Techniques: techniques, Asset: req.Asset,
		// Each report is an incident of its own, not folded into another.
		GroupKey: id,
		// Playbooks read who opened it in the labels (origin is not in CEL).
		Labels: map[string]string{"description": req.Description, "discovered_by": req.DiscoveredBy, "opened_by": user},
	}, "", nil
}
