package activities

import (
	"context"
	"net/http"
	"net/url"
)

// httpThrottle drives any gateway that follows aisoar's limits contract,
// so an operator can put a small adapter in front of a gateway aisoar has
// no driver for:
//
//	GET   {url}/limits/{keys|teams|consumers|routes}/{id}
//	      200 {"rpm": 100, "tpm": null, "blocked": false, "aisoar": {…}}
//	PATCH {url}/limits/{keys|teams|consumers|routes}/{id}
//	      Content-Type: application/merge-patch+json, Idempotency-Key: …
//	      {"rpm": 10, "blocked": true, "aisoar": {…}}
//
// rpm and tpm are per-minute limits, null for none; blocked cuts the
// subject off. PATCH is a JSON merge patch (RFC 7396) of that record: a
// member left out stays as it is, null removes it. The gateway keeps the
// aisoar member as given and returns it on GET: it holds the step's
// idempotency key and the limits before the change, so a retried step
// reports those rather than its own change. Errors are 4xx or 5xx.
type httpThrottle struct{}

func (httpThrottle) subjects() []string { return []string{"key", "team", "consumer", "route"} }

// httpLimits is the contract's record.
type httpLimits struct {
	RPM     *int64          `json:"rpm"`
	TPM     *int64          `json:"tpm"`
	Blocked bool            `json:"blocked"`
	Aisoar  *throttleMarker `json:"aisoar"`
}

func httpLimitsPath(s throttleSubject) string {
	return "limits/" + s.kind + "s/" + url.PathEscape(s.id)
}

// patch sends a merge patch of the subject's record.
func (httpThrottle) patch(ctx context.Context, c *targetCall, s throttleSubject, patch map[string]any) error {
	return c.doAs(ctx, http.MethodPatch, httpLimitsPath(s), "application/merge-patch+json", patch, nil)
}

func (d httpThrottle) throttle(ctx context.Context, c *targetCall, s throttleSubject, ch throttleChange) (ThrottleState, error) {
	var cur httpLimits
	if err := c.do(ctx, http.MethodGet, httpLimitsPath(s), nil, &cur); err != nil {
		return ThrottleState{}, err
	}
	key := IdempotencyKey(ctx)
	prev := ThrottleState{RPM: cur.RPM, TPM: cur.TPM, Blocked: cur.Blocked}
	if cur.Aisoar != nil && cur.Aisoar.IdempotencyKey == key {
		prev = cur.Aisoar.Previous // a retry: the record already carries our change
	}
	patch := map[string]any{"aisoar": throttleMarker{IdempotencyKey: key, Previous: prev}}
	if c.dryRun {
		patch["aisoar"] = map[string]any{"idempotency_key": key, "previous": "<the limits read before the change>"}
	}
	if ch.rpm != nil {
		patch["rpm"] = *ch.rpm
	}
	if ch.tpm != nil {
		patch["tpm"] = *ch.tpm
	}
	if ch.block {
		patch["blocked"] = true
	}
	if err := d.patch(ctx, c, s, patch); err != nil {
		return ThrottleState{}, err
	}
	return prev, nil
}

func (d httpThrottle) restore(ctx context.Context, c *targetCall, s throttleSubject, to ThrottleState) error {
	return d.patch(ctx, c, s, map[string]any{"rpm": to.RPM, "tpm": to.TPM, "blocked": to.Blocked, "aisoar": nil})
}
