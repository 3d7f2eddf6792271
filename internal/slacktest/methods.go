package slacktest

import (
	"fmt"
	"maps"
	"slices"
)

// The Web API methods the double serves. Each runs with s.mu held and
// answers as Slack documents: https://docs.slack.dev/reference/methods.

func (s *Server) authTest() reply {
	return ok(map[string]any{
		"url":     "https://aisoar-test.slack.com/",
		"team":    "aisoar test",
		"user":    "aisoar",
		"team_id": TeamID,
		"user_id": BotUserID,
		"bot_id":  BotID,
	})
}

// postMessage serves chat.postMessage: channel accepts an id or a name,
// and a reply whose thread_ts names no message in the channel is posted
// unthreaded, as Slack does.
func (s *Server) postMessage(c Call) reply {
	if rep, bad := checkMessage(c); bad {
		return rep
	}
	m := Message{Channel: s.channelID(c.Channel), TS: s.nextTS(), Text: c.Text, Blocks: c.Blocks}
	if parent, found := s.messages[c.ThreadTS]; found && parent.Channel == m.Channel {
		m.ThreadTS = c.ThreadTS
	}
	s.messages[m.TS] = m
	return ok(map[string]any{"channel": m.Channel, "ts": m.TS, "message": m.object()})
}

// update serves chat.update: channel must be the id chat.postMessage
// answered, and text or blocks left out keep their previous value.
func (s *Server) update(c Call) reply {
	if !isChannelID(c.Channel) {
		return slackError("channel_not_found")
	}
	m, found := s.messages[c.TS]
	if !found || m.Channel != c.Channel {
		return slackError("message_not_found")
	}
	if raw, sent := c.Args["blocks"]; sent {
		if _, err := parseBlocks(raw); err != nil {
			return slackError("invalid_blocks_format")
		}
		m.Blocks = c.Blocks
	}
	if _, sent := c.Args["text"]; sent {
		m.Text = c.Text
	}
	if m.Text == "" && len(m.Blocks) == 0 {
		return slackError("no_text")
	}
	m.Updates++
	s.messages[m.TS] = m
	return ok(map[string]any{"channel": m.Channel, "ts": m.TS, "text": m.Text, "message": m.object()})
}

// postEphemeral serves chat.postEphemeral; the message is not kept.
func (s *Server) postEphemeral(c Call) reply {
	if c.User == "" {
		return slackError("user_not_in_channel")
	}
	if rep, bad := checkMessage(c); bad {
		return rep
	}
	s.channelID(c.Channel)
	return ok(map[string]any{"message_ts": s.nextTS()})
}

// openView serves views.open; the answer echoes the view with the fields
// Slack adds.
func (s *Server) openView(c Call) reply {
	if c.TriggerID == "" || c.View == nil || c.View["type"] != "modal" {
		return slackError("invalid_arguments")
	}
	view := maps.Clone(c.View)
	view["id"] = fmt.Sprintf("V%09d", s.next())
	view["team_id"] = TeamID
	view["bot_id"] = BotID
	view["state"] = map[string]any{"values": map[string]any{}}
	view["hash"] = fmt.Sprintf("1712345678.%08d", s.seq)
	return ok(map[string]any{"view": view})
}

// checkMessage checks what every message method needs: a channel, blocks
// that parse, and text or blocks.
func checkMessage(c Call) (reply, bool) {
	if c.Channel == "" {
		return slackError("channel_not_found"), true
	}
	if raw, sent := c.Args["blocks"]; sent {
		if _, err := parseBlocks(raw); err != nil {
			return slackError("invalid_blocks_format"), true
		}
	}
	if c.Text == "" && len(c.Blocks) == 0 && c.Args["attachments"] == "" {
		return slackError("no_text"), true
	}
	return reply{}, false
}

// object is the message object Slack returns with a posted or updated
// message.
func (m Message) object() map[string]any {
	o := map[string]any{"type": "message", "text": m.Text, "user": BotUserID, "bot_id": BotID, "team": TeamID, "ts": m.TS}
	if m.Blocks != nil {
		o["blocks"] = m.Blocks
	}
	if m.ThreadTS != "" {
		o["thread_ts"] = m.ThreadTS
	}
	return o
}

// SetUserGroup makes group (an S… id) have these members.
func (s *Server) SetUserGroup(group string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.userGroups == nil {
		s.userGroups = map[string][]string{}
	}
	s.userGroups[group] = slices.Clone(users)
}

// userGroupMembers serves usergroups.users.list; like every method, it
// runs with s.mu held.
func (s *Server) userGroupMembers(c Call) reply {
	users, found := s.userGroups[c.Args["usergroup"]]
	if !found {
		return slackError("no_such_subteam")
	}
	return ok(map[string]any{"users": slices.Clone(users)})
}
