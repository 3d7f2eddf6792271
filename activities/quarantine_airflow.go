package activities

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// DAG states in the quarantine action's previous output.
const (
	dagActive = "active"
	dagPaused = "paused"
)

// quarantineDAG pauses an Airflow DAG through the stable REST API (GET and
// PATCH dags/{dag_id}), or with resume unpauses it unless it was paused
// before the incident. A paused DAG schedules no new runs; runs already
// going finish.
func quarantineDAG(ctx context.Context, t *Target, p QuarantineParams) (QuarantineResult, error) {
	c := t.call("quarantine", p.DryRun.DryRun)
	path := airflowAPIRoot(t) + "dags/" + url.PathEscape(p.DAG)
	res := QuarantineResult{Resource: "dags/" + p.DAG}
	if p.Resume {
		res.Previous = p.Previous
		if strings.EqualFold(p.Previous, dagPaused) {
			res.Skipped = "the DAG was paused before the incident, so it stays paused"
			return res, nil
		}
		err := setDAGPaused(ctx, c, path, false)
		res.Plan = c.plan()
		return res, err
	}
	var dag struct {
		IsPaused bool `json:"is_paused"`
	}
	if err := c.do(ctx, http.MethodGet, path, nil, &dag); err != nil {
		return QuarantineResult{}, err
	}
	if !c.dryRun {
		state := dagActive
		if dag.IsPaused {
			state = dagPaused
		}
		res.Previous = priorState(ctx, state)
		if res.Previous == dagPaused {
			res.Skipped = "the DAG was already paused; undo leaves it paused"
		}
	}
	if !dag.IsPaused {
		if err := setDAGPaused(ctx, c, path, true); err != nil {
			return QuarantineResult{}, err
		}
	}
	res.Plan = c.plan()
	return res, nil
}

// setDAGPaused pauses or unpauses a DAG; update_mask limits the PATCH to
// is_paused, the one field Airflow lets the API change.
func setDAGPaused(ctx context.Context, c *targetCall, path string, paused bool) error {
	return c.do(ctx, http.MethodPatch, path+"?update_mask=is_paused", map[string]bool{"is_paused": paused}, nil)
}

// airflowAPIRoot is the API's path under an airflow target's URL. The URL
// is the webserver's (Airflow 2, whose stable API is at api/v1) or an API
// root ending in /api/v1 or /api/v2: Airflow 3 moved the API to /api/v2,
// with the same DAG paths and bodies, and takes a bearer token.
func airflowAPIRoot(t *Target) string {
	p := strings.TrimSuffix(t.URL.Path, "/")
	if strings.HasSuffix(p, "/api/v1") || strings.HasSuffix(p, "/api/v2") {
		return ""
	}
	return "api/v1/"
}
