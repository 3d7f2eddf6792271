package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/internal/slacktest"
	"github.com/aisoar/aisoar/workflows"
)

// TestSlackApprovalLoop runs the whole loop on the embedded Temporal
// server: the approval request is posted to the role's channel (after a
// 429 from Slack is retried), a signed click approves it, the step runs,
// and the message is updated to show the decision without buttons.
func TestSlackApprovalLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	e := startSlackE2E(t, func(s *config.Slack) { s.Channels = map[string]string{"soc": "#soc-approvals"} })
	e.slack.FailNext("chat.postMessage", http.StatusTooManyRequests, time.Second)

	id := e.openIncident(t, "key-loop")
	var posted slacktest.Message
	waitUntil(t, "the approval request is posted", func() bool {
		for _, m := range e.slack.Messages() {
			if m.Channel == e.slack.ChannelID("#soc-approvals") && strings.Contains(blocksText(m.Blocks), toJSON(activities.SlackButtonValue(id, "block"))) {
				posted = m
				return true
			}
		}
		return false
	})
	if calls := e.slack.Calls("chat.postMessage"); len(calls) < 2 || calls[0].Status != http.StatusTooManyRequests {
		t.Errorf("chat.postMessage calls %+v, want the 429 first and a retry", calls)
	}
	if !strings.Contains(blocksText(posted.Blocks), "Block key-loop?") {
		t.Errorf("approval message lacks the playbook's question: %s", blocksText(posted.Blocks))
	}

	resp, _ := e.postSlack(t, "/v1/slack/interactions",
		payloadForm(click("U0ALICE", activities.SlackApproveAction, id, "block", "", "")), e.signer, time.Now())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("click answered %d", resp.StatusCode)
	}
	st := e.waitFor(t, id, func(st workflows.Status) bool { return st.State == workflows.StateContained })
	if d := approvalOf(t, st).Decisions[0]; d.Approver != "alice" || d.Via != "slack" {
		t.Errorf("decision %+v, want alice via slack", d)
	}
	waitUntil(t, "the message shows the decision", func() bool {
		m := e.slack.Messages()[posted.TS]
		text := blocksText(m.Blocks)
		return m.Updates > 0 && strings.Contains(text, "Approved by alice") && !strings.Contains(text, activities.SlackApproveAction)
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// blocksText is the Block Kit JSON as text, for looking for what it shows.
func blocksText(blocks []map[string]any) string { return toJSON(blocks) }

// TestSlackUserGroupApprovers checks that the members of a role's Slack
// user group may decide, and that the request mentions the group.
func TestSlackUserGroupApprovers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	e := startSlackE2E(t, func(s *config.Slack) {
		s.Channels = map[string]string{"soc": "#soc-approvals"}
		s.Groups = map[string]string{"soc": "S0SOC"}
		s.Users["U0BOB"] = "bob"
	})
	e.slack.SetUserGroup("S0SOC", "U0BOB")
	id := e.openIncident(t, "key-group")
	waitUntil(t, "the request mentions the group", func() bool {
		for _, m := range e.slack.Messages() {
			if strings.Contains(blocksText(m.Blocks), `\u003c!subteam^S0SOC\u003e`) || strings.Contains(blocksText(m.Blocks), "<!subteam^S0SOC>") {
				return true
			}
		}
		return false
	})
	resp, _ := e.postSlack(t, "/v1/slack/interactions",
		payloadForm(click("U0BOB", activities.SlackApproveAction, id, "block", "", "")), e.signer, time.Now())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("click answered %d", resp.StatusCode)
	}
	st := e.waitFor(t, id, func(st workflows.Status) bool { return st.State == workflows.StateContained })
	if d := approvalOf(t, st).Decisions[0]; d.Approver != "bob" {
		t.Errorf("decision %+v, want bob, a member of the role's user group", d)
	}
}
