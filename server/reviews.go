package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aisoar/aisoar/evidence"
	"github.com/aisoar/aisoar/review"
	"github.com/aisoar/aisoar/workflows"
)

// snapshotAction is the action whose steps keep an incident's evidence.
const snapshotAction = "snapshot_evidence"

// generatedReview is what generating a review answers.
type generatedReview struct {
	Review   review.Stored `json:"review"`
	Markdown string        `json:"markdown"`
	HTML     string        `json:"html"`
}

// generateReview writes the post-incident review of an incident, from its
// status and its evidence, into the evidence store. Each request writes a
// new review; earlier ones are kept as they were.
func (s *Server) generateReview(w http.ResponseWriter, r *http.Request, user string) {
	if s.reviews == nil {
		writeProblem(w, problem{Status: http.StatusNotImplemented, Detail: "this server keeps no reviews: it runs without the evidence store (evidence in the config file)"})
		return
	}
	id := incidentID(r)
	ctx, cancel := context.WithTimeout(r.Context(), temporalTimeout)
	defer cancel()
	st, err := s.incidentStatus(ctx, id)
	if err != nil {
		s.writeTemporalError(w, fmt.Sprintf("reading incident %s", id), err)
		return
	}
	generated, err := s.writeReview(ctx, st, user)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, evidence.ErrExists) {
			status = http.StatusConflict // two requests in the same millisecond
		}
		s.logger.Error("review not written", "incident", id, "error", err)
		writeProblem(w, problem{Status: status, Detail: fmt.Sprintf("writing the review of %s: %v", id, err)})
		return
	}
	s.logger.Info("review generated", "incident", id, "review", generated.Review.ID, "by", user)
	writeJSON(w, http.StatusCreated, generated)
}

// writeReview renders the incident's review and stores it.
func (s *Server) writeReview(ctx context.Context, st *workflows.Status, user string) (generatedReview, error) {
	in := review.Input{Status: st, RoleTitles: s.cfg.RoleTitles(), Generated: s.now().UTC(), GeneratedBy: user}
	if pb := s.library.Get(st.Playbook); pb != nil {
		in.PlaybookATLAS = pb.Playbook.ATLAS
	}
	in.Evidence, in.EvidenceNote = s.verifyEvidence(ctx, st)
	rv := review.Build(in)
	md, err := rv.Markdown()
	if err != nil {
		return generatedReview{}, err
	}
	html, err := rv.HTML()
	if err != nil {
		return generatedReview{}, err
	}
	stored, err := s.reviews.Save(ctx, st.ID, in.Generated, md, html)
	return generatedReview{Review: stored, Markdown: string(md), HTML: string(html)}, err
}

// verifyEvidence verifies the incident's evidence, or says why there is
// nothing to verify.
func (s *Server) verifyEvidence(ctx context.Context, st *workflows.Status) (*evidence.Report, string) {
	if st.DryRun {
		return nil, "A dry run: its snapshot steps recorded what they would keep, and kept nothing."
	}
	snapshots := 0
	for _, list := range [][]*workflows.StepStatus{st.Steps, st.OnFailure} {
		for _, step := range list {
			if step.Action == snapshotAction && step.State == workflows.StepDone {
				snapshots++
			}
		}
	}
	switch {
	case snapshots == 0:
		return nil, "No evidence was snapshotted for this incident."
	case s.evidence == nil:
		return nil, "The incident snapshotted evidence, but this server has no evidence store to verify it in."
	}
	report, err := s.evidence.Verify(ctx, st.ID)
	if err != nil {
		return nil, "The evidence could not be verified: " + err.Error()
	}
	return report, ""
}

func (s *Server) listReviews(w http.ResponseWriter, r *http.Request, _ string) {
	if s.reviews == nil {
		writeJSON(w, http.StatusOK, map[string]any{"reviews": []review.Stored{}})
		return
	}
	list, err := s.reviews.List(r.Context(), r.URL.Query().Get("incident"))
	if err != nil {
		writeProblem(w, problem{Status: http.StatusInternalServerError, Detail: "listing reviews: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"reviews": list})
}

// showReview answers a stored review: as JSON with both renderings, or
// with ?format=markdown or ?format=html, that rendering alone.
func (s *Server) showReview(w http.ResponseWriter, r *http.Request, _ string) {
	id := r.PathValue("id")
	if s.reviews == nil {
		writeProblem(w, problem{Status: http.StatusNotFound, Detail: "this server keeps no reviews"})
		return
	}
	stored, md, html, err := s.reviews.Get(r.Context(), id)
	switch {
	case errors.Is(err, review.ErrNotFound):
		writeProblem(w, problem{Status: http.StatusNotFound, Detail: err.Error()})
		return
	case err != nil:
		writeProblem(w, problem{Status: http.StatusInternalServerError, Detail: fmt.Sprintf("reading review %s: %v", id, err)})
		return
	}
	switch format := r.URL.Query().Get("format"); strings.ToLower(format) {
	case "":
		writeJSON(w, http.StatusOK, generatedReview{Review: stored, Markdown: string(md), HTML: string(html)})
	case "markdown", "md":
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		_, _ = w.Write(md)
	case "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(html)
	default:
		writeProblem(w, problem{Status: http.StatusBadRequest, Field: "format", Detail: fmt.Sprintf("format %q: use markdown or html, or none for JSON", format)})
	}
}
