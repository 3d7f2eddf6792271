package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/workflows"
)

// slackCalls records what the workflow asks of Slack, in order.
type slackCalls struct {
	requests []activities.ApprovalRequest
	outcomes []activities.ApprovalOutcome
	threads  []string
	failPost bool
}

func (c *slackCalls) register(h *harness) {
	h.env.RegisterActivityWithOptions(func(_ context.Context, r activities.ApprovalRequest) (activities.SlackMessageRef, error) {
		if c.failPost {
			return activities.SlackMessageRef{}, temporal.NewNonRetryableApplicationError("slack: channel_not_found", "SlackConfig", nil)
		}
		c.requests = append(c.requests, r)
		return activities.SlackMessageRef{Channel: "C0SOC", TS: "1712345678.000100"}, nil
	}, activity.RegisterOptions{Name: activities.SlackRequestApproval, DisableAlreadyRegisteredCheck: true})
	h.env.RegisterActivityWithOptions(func(_ context.Context, o activities.ApprovalOutcome) (activities.SlackMessageRef, error) {
		c.outcomes = append(c.outcomes, o)
		return o.Ref, nil
	}, activity.RegisterOptions{Name: activities.SlackApprovalOutcome, DisableAlreadyRegisteredCheck: true})
	h.env.RegisterActivityWithOptions(func(_ context.Context, p activities.SlackThreadPost) (activities.SlackMessageRef, error) {
		c.threads = append(c.threads, p.Text)
		return p.Ref, nil
	}, activity.RegisterOptions{Name: activities.SlackPostThread, DisableAlreadyRegisteredCheck: true})
}

func TestApprovalsMirroredToSlack(t *testing.T) {
	pb := loadPlaybook(t, "testdata/containment.yaml")
	approve := func(who string) workflows.Decision {
		return workflows.Decision{Step: "rotate", Approver: who, Approve: true, Via: "slack"}
	}
	tests := []struct {
		name         string
		failPost     bool
		script       func(t *testing.T, h *harness)
		wantStates   []string
		wantFinal    bool
		wantThreads  []string
		wantSlackErr string
	}{
		{
			name: "two-person approval shows the first approver, then the outcome",
			script: func(t *testing.T, h *harness) {
				h.at(time.Minute, func() { h.decide(t, approve("alice"), "") })
				h.at(2*time.Minute, func() { h.decide(t, approve("bob"), "") })
			},
			wantStates: []string{"approved by alice at", "Approved by bob at"},
			wantFinal:  true,
		},
		{
			name:        "escalation is posted in the thread and shown, then expiry",
			script:      func(t *testing.T, h *harness) {},
			wantStates:  []string{"Escalated to soc-lead", "Expired: no decision by"},
			wantFinal:   true,
			wantThreads: []string{"escalated to soc-lead", "rotate* expired"},
		},
		{
			name:     "a message Slack refuses is visible in the status; the API still decides",
			failPost: true,
			script: func(t *testing.T, h *harness) {
				h.at(time.Minute, func() { h.decide(t, approve("alice"), "") })
				h.at(2*time.Minute, func() { h.decide(t, approve("bob"), "") })
			},
			wantSlackErr: "channel_not_found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, pb, extractionAlert(4))
			h.in.Slack = &workflows.SlackRouting{Channels: map[string]string{"soc": "C0SOC", "soc-lead": "C0LEAD"}}
			calls := &slackCalls{failPost: tt.failPost}
			calls.register(h)
			tt.script(t, h)
			h.at(3*time.Hour, func() { h.resolve(t, "alice") })
			status := h.run(t)
			approval := step(status, "rotate").Approval
			if tt.wantSlackErr != "" {
				if approval.Slack == nil || !strings.Contains(approval.Slack.Error, tt.wantSlackErr) || approval.Outcome != workflows.OutcomeApproved {
					t.Fatalf("approval %+v slack %+v, want approved with the Slack error recorded", approval, approval.Slack)
				}
				return
			}
			if len(calls.requests) != 1 {
				t.Fatalf("%d approval requests posted, want 1", len(calls.requests))
			}
			req := calls.requests[0]
			if req.Incident != status.ID || req.Step != "rotate" || req.Channel != "C0SOC" || req.Role != "soc" || !req.TwoPerson ||
				req.Message != "Rotate key key-7f3a?" || req.Params["url"] != "http://vault.test/rotate" {
				t.Errorf("request = %+v", req)
			}
			if approval.Slack == nil || approval.Slack.TS != "1712345678.000100" {
				t.Errorf("status keeps Slack message %+v", approval.Slack)
			}
			if len(calls.outcomes) != len(tt.wantStates) {
				t.Fatalf("outcomes %+v, want %d updates", calls.outcomes, len(tt.wantStates))
			}
			for i, want := range tt.wantStates {
				if !strings.Contains(calls.outcomes[i].State, want) {
					t.Errorf("update %d shows %q, want %q", i, calls.outcomes[i].State, want)
				}
			}
			if last := calls.outcomes[len(calls.outcomes)-1]; last.Final != tt.wantFinal {
				t.Errorf("last update final = %v", last.Final)
			}
			if len(calls.threads) != len(tt.wantThreads) {
				t.Fatalf("thread posts %q, want %d", calls.threads, len(tt.wantThreads))
			}
			for i, want := range tt.wantThreads {
				if !strings.Contains(calls.threads[i], want) {
					t.Errorf("thread post %d = %q, want %q", i, calls.threads[i], want)
				}
			}
		})
	}
}
