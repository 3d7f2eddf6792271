package activities

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
)

// litellmThrottle drives the LiteLLM proxy's management API (the master
// key as bearer token): a virtual key by its token hash through /key/info,
// /key/update, /key/block and /key/unblock, or a team by its team_id
// through the /team/… twins. The new limits and the marker go in one
// update, before the block, so a retry after any of its requests finds
// the marker in the metadata.
type litellmThrottle struct{}

func (litellmThrottle) subjects() []string { return []string{"key", "team"} }

// litellmMarkerField is the metadata field that holds the throttle marker.
const litellmMarkerField = "aisoar_throttle"

// litellmEntity is what /key/info and /team/info report of a key or team.
type litellmEntity struct {
	RPMLimit *int64 `json:"rpm_limit"`
	TPMLimit *int64 `json:"tpm_limit"`
	// Blocked is null on a key never blocked or unblocked.
	Blocked  *bool          `json:"blocked"`
	Metadata map[string]any `json:"metadata"`
}

func (e litellmEntity) state() ThrottleState {
	return ThrottleState{RPM: e.RPMLimit, TPM: e.TPMLimit, Blocked: e.Blocked != nil && *e.Blocked}
}

// marker is the throttle marker in the metadata, if there is one.
func (e litellmEntity) marker() (throttleMarker, bool) {
	raw, ok := e.Metadata[litellmMarkerField]
	if !ok {
		return throttleMarker{}, false
	}
	var m throttleMarker
	data, _ := json.Marshal(raw)
	return m, json.Unmarshal(data, &m) == nil && m.IdempotencyKey != ""
}

// litellmAPI is where a subject kind lives in the management API.
type litellmAPI struct {
	base    string // "key" or "team": /key/info, /team/update, …
	idField string // the id's name in queries and bodies
}

func litellmAPIFor(s throttleSubject) litellmAPI {
	if s.kind == "team" {
		return litellmAPI{base: "team", idField: "team_id"}
	}
	return litellmAPI{base: "key", idField: "key"}
}

func (litellmThrottle) read(ctx context.Context, c *targetCall, s throttleSubject) (litellmEntity, error) {
	api := litellmAPIFor(s)
	var out struct {
		Info     litellmEntity `json:"info"`      // /key/info
		TeamInfo litellmEntity `json:"team_info"` // /team/info
	}
	query := url.Values{api.idField: {s.id}}.Encode()
	if err := c.do(ctx, http.MethodGet, api.base+"/info?"+query, nil, &out); err != nil {
		return litellmEntity{}, err
	}
	if s.kind == "team" {
		return out.TeamInfo, nil
	}
	return out.Info, nil
}

func (d litellmThrottle) throttle(ctx context.Context, c *targetCall, s throttleSubject, ch throttleChange) (ThrottleState, error) {
	cur, err := d.read(ctx, c, s)
	if err != nil {
		return ThrottleState{}, err
	}
	key := IdempotencyKey(ctx)
	prev := cur.state()
	if m, ok := cur.marker(); ok && m.IdempotencyKey == key {
		prev = m.Previous // a retry: the key or team already carries our change
	}
	api := litellmAPIFor(s)
	// LiteLLM replaces the metadata as a whole, so the update carries all of it.
	metadata := maps.Clone(cur.Metadata)
	if metadata == nil {
		metadata = map[string]any{}
	}
	metadata[litellmMarkerField] = throttleMarker{IdempotencyKey: key, Previous: prev}
	update := map[string]any{api.idField: s.id, "metadata": metadata}
	if c.dryRun {
		update["metadata"] = "<the " + s.kind + "'s metadata, with " + litellmMarkerField + ": this step's idempotency key and the limits before the change>"
	}
	if ch.rpm != nil {
		update["rpm_limit"] = *ch.rpm
	}
	if ch.tpm != nil {
		update["tpm_limit"] = *ch.tpm
	}
	if err := c.do(ctx, http.MethodPost, api.base+"/update", update, nil); err != nil {
		return ThrottleState{}, err
	}
	if ch.block {
		if err := c.do(ctx, http.MethodPost, api.base+"/block", map[string]any{api.idField: s.id}, nil); err != nil {
			return ThrottleState{}, err
		}
	}
	return prev, nil
}

func (d litellmThrottle) restore(ctx context.Context, c *targetCall, s throttleSubject, to ThrottleState) error {
	cur, err := d.read(ctx, c, s)
	if err != nil {
		return err
	}
	api := litellmAPIFor(s)
	// A null limit removes it.
	update := map[string]any{api.idField: s.id, "rpm_limit": to.RPM, "tpm_limit": to.TPM}
	switch _, marked := cur.Metadata[litellmMarkerField]; {
	case c.dryRun:
		update["metadata"] = "<the " + s.kind + "'s metadata, without " + litellmMarkerField + ">"
	case marked:
		metadata := maps.Clone(cur.Metadata)
		delete(metadata, litellmMarkerField)
		update["metadata"] = metadata
	}
	if err := c.do(ctx, http.MethodPost, api.base+"/update", update, nil); err != nil {
		return err
	}
	op := "/unblock"
	if to.Blocked {
		op = "/block"
	}
	return c.do(ctx, http.MethodPost, api.base+op, map[string]any{api.idField: s.id}, nil)
}
