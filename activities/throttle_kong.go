package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
)

// kongThrottle drives Kong's Admin API. A limit is the rate-limiting
// plugin's per-minute limit on the consumer or route (on a route, counted
// for all its traffic together), a cut-off the request-termination plugin
// answering 403. Kong's rate-limiting counts requests, not tokens.
//
// Kong allows one plugin of a name on a consumer or route, so a plugin
// already there is changed in place (PATCH; a disabled one is enabled
// with the other limits it has), and a missing one is created under an id
// derived from the step's idempotency key (PUT upserts it).
// Plugins have no metadata, so the marker is a tag, aisoar-step-<hash of
// the key>, beside aisoar-was-… tags recording how the plugin was, which
// a retry reads back instead of its own change.
type kongThrottle struct{}

func (kongThrottle) subjects() []string { return []string{"consumer", "route"} }

const (
	kongRateLimiting = "rate-limiting"
	kongTermination  = "request-termination"
	// kongTag is the tag, and the prefix of the tags, the throttle adds; a
	// restore removes them. Kong tags allow letters, digits and . - _ ~.
	kongTag = "aisoar"
	// kongBlockStatus is what request-termination answers a cut-off subject.
	kongBlockStatus = http.StatusForbidden
)

type kongRef struct {
	ID string `json:"id"`
}

// kongPlugin is a plugin as the Admin API shows it.
type kongPlugin struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Enabled       bool           `json:"enabled"`
	Config        map[string]any `json:"config"`
	Tags          []string       `json:"tags"`
	Route         *kongRef       `json:"route"`
	Service       *kongRef       `json:"service"`
	Consumer      *kongRef       `json:"consumer"`
	ConsumerGroup *kongRef       `json:"consumer_group"`
}

// kongPluginsPath is the subject's plugins collection, or one plugin in it.
func kongPluginsPath(s throttleSubject, id ...string) string {
	p := s.kind + "s/" + url.PathEscape(s.id) + "/plugins"
	for _, part := range id {
		p += "/" + url.PathEscape(part)
	}
	return p
}

// plugins returns the plugins on the subject alone, by name; a plugin on
// the consumer and a route, say, applies to that pair only.
func (kongThrottle) plugins(ctx context.Context, c *targetCall, s throttleSubject) (map[string]kongPlugin, error) {
	found := map[string]kongPlugin{}
	for next := kongPluginsPath(s); next != ""; {
		var page struct {
			Data []kongPlugin `json:"data"`
			Next *string      `json:"next"` // the next page's path, with its offset
		}
		if err := c.do(ctx, http.MethodGet, next, nil, &page); err != nil {
			return nil, err
		}
		for _, p := range page.Data {
			other := p.Route
			if s.kind == "route" {
				other = p.Consumer
			}
			if other == nil && p.Service == nil && p.ConsumerGroup == nil {
				found[p.Name] = p
			}
		}
		next = ""
		if page.Next != nil {
			next = *page.Next
		}
		activity.RecordHeartbeat(ctx, next)
	}
	return found, nil
}

func (d kongThrottle) throttle(ctx context.Context, c *targetCall, s throttleSubject, ch throttleChange) (ThrottleState, error) {
	if ch.tpm != nil {
		return ThrottleState{}, badParams("throttle", "Kong's rate-limiting plugin counts requests, not tokens: give rpm or block for a kong target")
	}
	current, err := d.plugins(ctx, c, s)
	if err != nil {
		return ThrottleState{}, err
	}
	key := IdempotencyKey(ctx)
	step := kongStepTag(key)
	var prev ThrottleState
	for _, name := range []string{kongRateLimiting, kongTermination} {
		if name == kongRateLimiting && ch.rpm == nil || name == kongTermination && !ch.block {
			continue
		}
		p, exists := current[name]
		var was ThrottleKongPlugin
		switch {
		case !exists:
			was = ThrottleKongPlugin{Name: name, ID: kongPluginID(key, name)}
		case slices.Contains(p.Tags, step):
			was = kongRecorded(p) // a retry: the plugin already carries our change
		default:
			was = kongPluginState(p)
		}
		prev.KongPlugins = append(prev.KongPlugins, was)
		if err := d.write(ctx, c, s, was, ch, step); err != nil {
			return ThrottleState{}, err
		}
	}
	// The limits before: the plugins changed as they were, the others as they are.
	before := func(name string) ThrottleKongPlugin {
		for _, was := range prev.KongPlugins {
			if was.Name == name {
				return was
			}
		}
		if p, ok := current[name]; ok {
			return kongPluginState(p)
		}
		return ThrottleKongPlugin{}
	}
	if rl := before(kongRateLimiting); rl.Existed && rl.Enabled && rl.Minute != nil {
		rpm := int64(*rl.Minute)
		prev.RPM = &rpm
	}
	rt := before(kongTermination)
	prev.Blocked = rt.Existed && rt.Enabled
	return prev, nil
}

// kongStepTag is the tag that marks a plugin changed by the step with the
// idempotency key.
func kongStepTag(key string) string {
	sum := sha256.Sum256([]byte(key))
	return kongTag + "-step-" + hex.EncodeToString(sum[:10])
}

// kongPluginID is the id of the plugin the step with the idempotency key
// creates, the same on every retry.
func kongPluginID(key, name string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:aisoar:throttle:"+key+":"+name)).String()
}

// write applies the change to one plugin: creates it, or enables and
// updates the one there, tagged with the step and how it was.
func (kongThrottle) write(ctx context.Context, c *targetCall, s throttleSubject, was ThrottleKongPlugin, ch throttleChange, step string) error {
	tags := append(slices.Clone(was.Tags), kongTag, step)
	path := kongPluginsPath(s, was.ID)
	if !was.Existed {
		config := map[string]any{"status_code": kongBlockStatus, "message": "Access suspended by incident response"}
		if was.Name == kongRateLimiting {
			config = map[string]any{"minute": *ch.rpm}
			if s.kind == "route" {
				config["limit_by"] = "service" // count the route's traffic together, not per consumer
			}
		}
		body := map[string]any{"name": was.Name, "config": config, "tags": append(tags, kongTag+"-was-absent")}
		return c.do(ctx, http.MethodPut, path, body, nil)
	}
	if was.Enabled {
		tags = append(tags, kongTag+"-was-enabled")
	} else {
		tags = append(tags, kongTag+"-was-disabled")
	}
	body := map[string]any{"enabled": true}
	if was.Name == kongRateLimiting {
		minute := "none"
		if was.Minute != nil {
			minute = strconv.FormatFloat(*was.Minute, 'f', -1, 64)
		}
		tags = append(tags, kongTag+"-was-minute-"+minute)
		body["config"] = map[string]any{"minute": *ch.rpm}
	}
	body["tags"] = tags
	return c.do(ctx, http.MethodPatch, path, body, nil)
}

// kongPluginState is a plugin as it is, without the throttle's tags.
func kongPluginState(p kongPlugin) ThrottleKongPlugin {
	st := ThrottleKongPlugin{Name: p.Name, ID: p.ID, Existed: true, Enabled: p.Enabled}
	for _, t := range p.Tags {
		if t != kongTag && !strings.HasPrefix(t, kongTag+"-") {
			st.Tags = append(st.Tags, t)
		}
	}
	if m, ok := p.Config["minute"].(float64); ok && p.Name == kongRateLimiting {
		st.Minute = &m
	}
	return st
}

// kongRecorded is a plugin as it was before the step that tagged it.
func kongRecorded(p kongPlugin) ThrottleKongPlugin {
	st := kongPluginState(p)
	st.Existed = !slices.Contains(p.Tags, kongTag+"-was-absent")
	st.Enabled = st.Existed && slices.Contains(p.Tags, kongTag+"-was-enabled")
	st.Minute = nil
	for _, t := range p.Tags {
		if v, ok := strings.CutPrefix(t, kongTag+"-was-minute-"); ok && st.Existed {
			if m, err := strconv.ParseFloat(v, 64); err == nil {
				st.Minute = &m
			}
		}
	}
	if !st.Existed {
		st.Tags = nil
	}
	return st
}

func (kongThrottle) restore(ctx context.Context, c *targetCall, s throttleSubject, to ThrottleState) error {
	for _, was := range to.KongPlugins {
		if was.Name != kongRateLimiting && was.Name != kongTermination || was.ID == "" {
			return badParams("throttle", "restore holds Kong plugin %q (id %q); a throttle records only %s and %s plugins with their ids",
				was.Name, was.ID, kongRateLimiting, kongTermination)
		}
	}
	for _, was := range to.KongPlugins {
		path := kongPluginsPath(s, was.ID)
		if !was.Existed {
			if err := c.do(ctx, http.MethodDelete, path, nil, nil); err != nil && !IsStatus(err, http.StatusNotFound) {
				return err
			}
			continue
		}
		body := map[string]any{"enabled": was.Enabled, "tags": was.Tags}
		if was.Name == kongRateLimiting {
			body["config"] = map[string]any{"minute": was.Minute}
		}
		if err := c.do(ctx, http.MethodPatch, path, body, nil); err != nil {
			return err
		}
	}
	return nil
}
