package server

import (
	"context"
	"slices"
	"sync"
	"time"
)

// groupMembersTTL is how long a Slack user group's members are reused
// before they are asked for again.
const groupMembersTTL = 5 * time.Minute

// groupMembers caches Slack user groups' members, by group id.
type groupMembers struct {
	mu      sync.Mutex
	members map[string][]string
	fetched map[string]time.Time
}

// roleMembers adds to the configured roles the identities of the members
// of each role's Slack user group, for the incident about to open. A group
// that cannot be read is logged and left out: the configured members still
// decide, and the alert is not held up.
func (s *Server) roleMembers(ctx context.Context) map[string][]string {
	roles := s.cfg.RoleMembers()
	app := s.slack
	if app == nil || len(app.cfg.Groups) == 0 {
		return roles
	}
	for role, group := range app.cfg.Groups {
		users, err := app.groupUsers(ctx, group, s.now())
		if err != nil {
			s.logger.Warn("could not read a Slack user group; its members are not approvers of this incident",
				"role", role, "group", group, "error", err)
			continue
		}
		members := slices.Clone(roles[role])
		for _, u := range users {
			if id := app.cfg.Identity(u); !slices.Contains(members, id) {
				members = append(members, id)
			}
		}
		roles[role] = members
	}
	return roles
}

// groupUsers returns a user group's member ids, from the cache when fresh.
func (a *slackApp) groupUsers(ctx context.Context, group string, now time.Time) ([]string, error) {
	a.groups.mu.Lock()
	defer a.groups.mu.Unlock()
	if at, ok := a.groups.fetched[group]; ok && now.Sub(at) < groupMembersTTL {
		return a.groups.members[group], nil
	}
	ctx, cancel := context.WithTimeout(ctx, slackResponseTimeout)
	defer cancel()
	users, err := a.api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		return nil, err
	}
	if a.groups.members == nil {
		a.groups.members, a.groups.fetched = map[string][]string{}, map[string]time.Time{}
	}
	a.groups.members[group], a.groups.fetched[group] = users, now
	return users, nil
}
