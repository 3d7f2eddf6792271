package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Role is a team of the operating model: aisoar's examples and reports use
// soc (SOC), mlops (Platform/MLOps), data-science (Data Science) and risk
// (Risk/Governance), but any name works. In the file a role is either the
// list of its members, or a mapping with members, slack_channel and title.
type Role struct {
	// Members are the identities that may approve for the role.
	Members []string `yaml:"members"`
	// SlackChannel is where the role's approval requests are posted: a
	// channel id (C0123ABCD) or #name. It is the same setting as
	// slack.channels.<role>; naming two different channels is an error.
	SlackChannel string `yaml:"slack_channel"`
	// Title is the role's name in reports, such as "Risk/Governance".
	Title string `yaml:"title"`
}

// roleKeys are the keys of a role's mapping form.
var roleKeys = []string{"members", "slack_channel", "title"}

// UnmarshalYAML reads a role from a list of members or from a mapping.
func (r *Role) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.SequenceNode:
		return n.Decode(&r.Members)
	case yaml.MappingNode:
		// A custom unmarshaler's Decode does not check for unknown keys.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if key := n.Content[i]; !slices.Contains(roleKeys, key.Value) {
				return fmt.Errorf("line %d: unknown key %q in a role (it has %s)", key.Line, key.Value, strings.Join(roleKeys, ", "))
			}
		}
		type plain Role
		return n.Decode((*plain)(r))
	}
	return fmt.Errorf("line %d: a role is a list of members, or a mapping with members, slack_channel and title", n.Line)
}

// RoleNames returns the configured roles, sorted.
func (c *Config) RoleNames() []string { return slices.Sorted(maps.Keys(c.Roles)) }

// RoleMembers maps each role to its members.
func (c *Config) RoleMembers() map[string][]string {
	out := make(map[string][]string, len(c.Roles))
	for name, r := range c.Roles {
		out[name] = r.Members
	}
	return out
}

// RoleTitles maps each role to its title, or its name when it has none.
func (c *Config) RoleTitles() map[string]string {
	out := make(map[string]string, len(c.Roles))
	for name, r := range c.Roles {
		out[name] = name
		if r.Title != "" {
			out[name] = r.Title
		}
	}
	return out
}

// SlackChannels maps each role to the channel of its approval requests:
// slack.channels merged with the roles' slack_channel (Validate refuses
// the two naming different channels for one role).
func (c *Config) SlackChannels() map[string]string {
	out := map[string]string{}
	if c.Slack != nil {
		maps.Copy(out, c.Slack.Channels)
	}
	for name, r := range c.Roles {
		if r.SlackChannel != "" {
			out[name] = r.SlackChannel
		}
	}
	return out
}

// validateRoles checks that every role has members and at most one channel.
func (c *Config) validateRoles(add func(string, ...any)) {
	for _, name := range slices.Sorted(maps.Keys(c.Roles)) {
		r := c.Roles[name]
		if len(r.Members) == 0 {
			add("roles.%s: a role needs at least one member", name)
		}
		for i, m := range r.Members {
			if strings.TrimSpace(m) == "" {
				add("roles.%s.members[%d] is empty", name, i)
			}
		}
		if c.Slack == nil || r.SlackChannel == "" {
			continue
		}
		if other := c.Slack.Channels[name]; other != "" && other != r.SlackChannel {
			add("roles.%s.slack_channel %q and slack.channels.%s %q name different channels; keep one", name, r.SlackChannel, name, other)
		}
	}
}
