package server

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/aisoar/aisoar/atlas"
	"github.com/aisoar/aisoar/metrics"
	"github.com/aisoar/aisoar/report"
	"github.com/aisoar/aisoar/workflows"
)

// Bounds of the report's reading of incidents.
const (
	// maxReportIncidents bounds the incidents one report reads; past it
	// the report says it is truncated.
	maxReportIncidents = 10_000
	// reportReaders is how many incident statuses are read at once.
	reportReaders = 8
	// reportTimeout bounds the making of one report.
	reportTimeout = 2 * time.Minute
)

// The governance gauges on /metrics cover the last gaugeWindowDays whole
// days and today, recomputed every gaugeRefresh.
const (
	gaugeWindowDays = 30
	gaugeRefresh    = 5 * time.Minute
)

// reportContentTypes are the media types of the report's formats.
var reportContentTypes = map[string]string{
	report.FormatJSON:     "application/json",
	report.FormatMarkdown: "text/markdown; charset=utf-8",
	report.FormatTable:    "text/plain; charset=utf-8",
}

// getReport answers GET /v1/report?since=30d[&until=…][&format=json]: the
// governance report as JSON (report.Report), Markdown or a text table.
func (s *Server) getReport(w http.ResponseWriter, r *http.Request, _ string) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = report.FormatJSON
	}
	if !slices.Contains(report.Formats, format) {
		writeProblem(w, problem{Status: http.StatusBadRequest, Field: "format",
			Detail: fmt.Sprintf("format %q is not a report format: use one of %s", format, strings.Join(report.Formats, ", "))})
		return
	}
	now := s.now().UTC()
	since, err := ParseSince(r.URL.Query().Get("since"), now)
	if err != nil {
		writeProblem(w, problem{Status: http.StatusBadRequest, Field: "since", Detail: err.Error()})
		return
	}
	until := now
	if u := r.URL.Query().Get("until"); u != "" {
		if until, err = ParseSince(u, now); err != nil {
			writeProblem(w, problem{Status: http.StatusBadRequest, Field: "until", Detail: err.Error()})
			return
		}
	}
	if !since.Before(until) {
		writeProblem(w, problem{Status: http.StatusBadRequest, Field: "since", Detail: fmt.Sprintf("since (%s) is not before until (%s)", since.Format(time.RFC3339), until.Format(time.RFC3339))})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	rep, err := s.Report(ctx, since, until)
	if err != nil {
		s.writeTemporalError(w, "making the report", err)
		return
	}
	var body bytes.Buffer
	if err := rep.Write(&body, format); err != nil {
		writeProblem(w, problem{Status: http.StatusInternalServerError, Detail: "rendering the report: " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", cmp.Or(reportContentTypes[format], "text/plain; charset=utf-8"))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body.Bytes())
}

// ParseSince reads a report bound: Nd is midnight (UTC) N days before
// today, so 30d is the last 30 whole days and today so far; a Go duration
// (12h) is that long before now; a date (2026-03-01) or an RFC 3339 time
// is that moment. Empty is 30d.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		s = strconv.Itoa(gaugeWindowDays) + "d"
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 {
			return now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -days), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a number of days (30d), a duration (12h), a date (2026-03-01) or an RFC 3339 time", s)
}

// Report computes the governance report for [since, until) from the
// incidents in Temporal visibility, the ledger, the asset inventory and
// the playbook library's ATLAS coverage.
func (s *Server) Report(ctx context.Context, since, until time.Time) (report.Report, error) {
	incidents, notes, err := s.reportIncidents(ctx, since)
	if err != nil {
		return report.Report{}, err
	}
	window := s.cfg.Governance.Window()
	from := min(workflows.Day(since), workflows.Day(until.Add(-window)))
	ledger, err := s.readLedger(ctx, workflows.LedgerRange{From: from, To: workflows.Day(until)})
	if err != nil {
		return report.Report{}, err
	}
	refs := make([]atlas.PlaybookRef, 0, len(s.library.Playbooks()))
	for _, c := range s.library.Playbooks() {
		refs = append(refs, atlas.PlaybookRef{ID: c.Playbook.ID, Title: c.Playbook.Title, ATLAS: c.Playbook.ATLAS})
	}
	return report.Compute(report.Input{
		Since: since, Until: until, Now: s.now(),
		Incidents: incidents, Inventory: s.assets, Coverage: atlas.Coverage(atlas.Default(), refs),
		Ledger: ledger, CoverageWindow: window,
		Roles: s.cfg.RoleMembers(), RoleTitles: s.cfg.RoleTitles(),
		Notes: notes,
	}), nil
}

// reportIncidents reads the status of every incident run started since
// then (a run that continued as new is skipped: its successor carries its
// status). Incidents that cannot be read are named in the notes.
func (s *Server) reportIncidents(ctx context.Context, since time.Time) ([]workflows.Status, []string, error) {
	query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus != 'ContinuedAsNew' AND StartTime >= '%s'",
		workflows.WorkflowName, since.UTC().Format(time.RFC3339Nano))
	var executions []*workflowpb.WorkflowExecutionInfo
	var notes []string
	var token []byte
	for {
		resp, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.cfg.Temporal.Namespace, Query: query, PageSize: maxListed, NextPageToken: token,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("listing incidents: %w", err)
		}
		executions = append(executions, resp.GetExecutions()...)
		token = resp.GetNextPageToken()
		if len(executions) >= maxReportIncidents {
			executions = executions[:maxReportIncidents]
			notes = append(notes, fmt.Sprintf("only the %d most recent incidents were read", maxReportIncidents))
			break
		}
		if len(token) == 0 {
			break
		}
	}
	statuses := make([]*workflows.Status, len(executions))
	failures := make([]string, len(executions))
	sem := make(chan struct{}, reportReaders)
	var wg sync.WaitGroup
	for i, e := range executions {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			st, err := s.runStatus(ctx, e)
			if err != nil {
				failures[i] = fmt.Sprintf("incident %s could not be read: %v", e.GetExecution().GetWorkflowId(), err)
				return
			}
			statuses[i] = st
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("reading incidents: %w", err)
	}
	out := make([]workflows.Status, 0, len(statuses))
	for i, st := range statuses {
		if st != nil {
			out = append(out, *st)
		} else {
			notes = append(notes, failures[i])
		}
	}
	return out, notes, nil
}

// runStatus reads one incident run's status: the result of a completed
// run, else the status query (a closed run's is answered by replaying it).
func (s *Server) runStatus(ctx context.Context, e *workflowpb.WorkflowExecutionInfo) (*workflows.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	id, run := e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId()
	var st workflows.Status
	if e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		if err := s.temporal.GetWorkflow(ctx, id, run).Get(ctx, &st); err != nil {
			return nil, err
		}
		return &st, nil
	}
	value, err := s.temporal.QueryWorkflow(ctx, id, run, workflows.StatusQuery)
	if err != nil {
		return nil, err
	}
	if err := value.Get(&st); err != nil {
		return nil, fmt.Errorf("decoding the status: %w", err)
	}
	return &st, nil
}

// refreshGauges computes the report for the gauges every gaugeRefresh,
// first at once, until ctx is done.
func (s *Server) refreshGauges(ctx context.Context) {
	tick := time.NewTicker(gaugeRefresh)
	defer tick.Stop()
	for {
		s.updateGauges(ctx)
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

func (s *Server) updateGauges(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, reportTimeout)
	defer cancel()
	now := s.now().UTC()
	since, _ := ParseSince("", now)
	r, err := s.Report(ctx, since, now)
	if err != nil {
		if ctx.Err() == nil {
			s.logger.Warn("the governance gauges were not updated", "error", err)
		}
		return
	}
	s.metrics.SetGovernance(metrics.Governance{
		AssetVisibility: r.AssetVisibility.Systems.Ratio(),
		Coverage:        r.Coverage.Covered.Ratio(),
		Integrity: map[string]float64{
			metrics.ScopeOverall:     r.IntegritySLA.Overall.Ratio(),
			metrics.ScopeModels:      r.IntegritySLA.Models.Ratio(),
			metrics.ScopeDataSources: r.IntegritySLA.DataSources.Ratio(),
		},
		EscapeRate: r.EscapeRate.Rate.Ratio(),
		Computed:   r.Generated,
	})
}

// startGovernance starts the ledger's flusher and the gauges' refresher;
// Shutdown stops them.
func (s *Server) startGovernance() {
	s.governance.Go(func() { s.flushLedgerEvery(s.workCtx, ledgerFlushInterval) })
	s.governance.Go(func() { s.refreshGauges(s.workCtx) })
}
