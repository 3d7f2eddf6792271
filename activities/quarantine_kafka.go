package activities

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// connectorStatus is Kafka Connect's GET /connectors/{name}/status.
type connectorStatus struct {
	Connector struct {
		State string `json:"state"`
	} `json:"connector"`
	Tasks []struct {
		ID    int    `json:"id"`
		State string `json:"state"`
	} `json:"tasks"`
}

// states lists the connector's state and then its tasks'.
func (s connectorStatus) states() []string {
	states := []string{s.Connector.State}
	for _, task := range s.Tasks {
		states = append(states, task.State)
	}
	return states
}

// summary lists the connector's and its tasks' states, for messages.
func (s connectorStatus) summary() string {
	parts := []string{"connector " + s.Connector.State}
	for _, task := range s.Tasks {
		parts = append(parts, fmt.Sprintf("task %d %s", task.ID, task.State))
	}
	return strings.Join(parts, ", ")
}

// paused says whether a pause has taken effect: the connector and every
// task are paused, or failed (a failed one processes nothing either).
func (s connectorStatus) paused() bool {
	return !slices.ContainsFunc(s.states(), func(state string) bool { return state != "PAUSED" && state != "FAILED" })
}

// resumed says whether a resume has taken effect: nothing is paused.
func (s connectorStatus) resumed() bool {
	return !slices.Contains(s.states(), "PAUSED")
}

// frozenConnector says whether a connector state means it processes no
// records and was left so on purpose: paused, or stopped (Kafka 3.5+).
func frozenConnector(state string) bool {
	return strings.EqualFold(state, "PAUSED") || strings.EqualFold(state, "STOPPED")
}

// quarantineConnector pauses a Kafka Connect connector and its tasks (PUT
// /connectors/{name}/pause), or with resume resumes it unless it was
// paused or stopped before the incident. Kafka Connect applies both
// asynchronously, so the action waits until the status shows them.
func (q *quarantineAction) quarantineConnector(ctx context.Context, t *Target, p QuarantineParams) (QuarantineResult, error) {
	c := t.call("quarantine", p.DryRun.DryRun)
	path := "connectors/" + url.PathEscape(p.Connector)
	res := QuarantineResult{Resource: path}
	if p.Resume {
		res.Previous = p.Previous
		if frozenConnector(p.Previous) {
			res.Skipped = fmt.Sprintf("the connector was %s before the incident, so it stays %s", p.Previous, strings.ToLower(p.Previous))
			return res, nil
		}
		if err := c.do(ctx, http.MethodPut, path+"/resume", nil, nil); err != nil {
			return QuarantineResult{}, err
		}
		res.Plan = c.plan()
		return res, q.settle(ctx, c, path, "resumed", p.Previous, connectorStatus.resumed)
	}
	var status connectorStatus
	if err := c.do(ctx, http.MethodGet, path+"/status", nil, &status); err != nil {
		return QuarantineResult{}, err
	}
	if !c.dryRun {
		res.Previous = priorState(ctx, status.Connector.State)
		if frozenConnector(res.Previous) {
			res.Skipped = fmt.Sprintf("the connector was already %s; undo leaves it so", strings.ToLower(res.Previous))
			return res, nil
		}
	}
	if !frozenConnector(status.Connector.State) {
		if err := c.do(ctx, http.MethodPut, path+"/pause", nil, nil); err != nil {
			return QuarantineResult{}, err
		}
	}
	res.Plan = c.plan()
	return res, q.settle(ctx, c, path, "paused", res.Previous, connectorStatus.paused)
}

// settle polls the connector's status until done says the pause or resume
// took effect, heartbeating with the recorded prior state so a retry
// still finds it. Past the settle timeout it fails retryably: the retry
// asks again and waits again.
func (q *quarantineAction) settle(ctx context.Context, c *targetCall, path, want, prior string, done func(connectorStatus) bool) error {
	if c.dryRun {
		return nil
	}
	deadline := time.Now().Add(q.settleTimeout)
	for {
		var status connectorStatus
		if err := c.do(ctx, http.MethodGet, path+"/status", nil, &status); err != nil {
			return err
		}
		if done(status) {
			return nil
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("quarantine: %s on target %q was not %s after %s (%s); Kafka Connect applies it asynchronously, so the step will be retried",
				path, c.target.Name, want, q.settleTimeout, status.summary())
			return temporal.NewApplicationError(msg, "NotSettled")
		}
		activity.RecordHeartbeat(ctx, prior)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(q.pollInterval):
		}
	}
}
