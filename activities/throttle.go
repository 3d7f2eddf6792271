package activities

import (
	"context"
	"slices"
	"strings"

	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/playbooks"
)

var throttleSpec = playbooks.ActionSpec{
	Name: "throttle",
	Doc:  "Limits or cuts off inference for an API key, team, Kong consumer or route on a gateway, recording the limits it replaced so an undo with restore puts them back.",
	Params: []playbooks.ParamSpec{
		{Name: "target", Type: playbooks.TypeString, Required: true, Doc: "a litellm, kong or http target in the config's targets; an http target follows aisoar's limits contract (README, Targets)"},
		{Name: "key", Type: playbooks.TypeString, Doc: "the API key to throttle (litellm, http): its id, for LiteLLM the token hash, never the sk-… key itself"},
		{Name: "team", Type: playbooks.TypeString, Doc: "the team or tenant to throttle (litellm, http): its team_id"},
		{Name: "consumer", Type: playbooks.TypeString, Doc: "the Kong consumer to throttle (kong, http): username or id"},
		{Name: "route", Type: playbooks.TypeString, Doc: "the Kong route to throttle, all its traffic together (kong, http): name or id"},
		{Name: "rpm", Type: playbooks.TypeInt, Doc: "requests per minute to allow; 0 cuts the subject off"},
		{Name: "tpm", Type: playbooks.TypeInt, Doc: "tokens per minute to allow (litellm, http); 0 cuts the subject off"},
		{Name: "block", Type: playbooks.TypeBool, Doc: "true cuts the subject off (LiteLLM block, Kong request-termination with 403) and leaves its limits for the undo"},
		{Name: "restore", Type: playbooks.TypeMap, Doc: "undo form: an earlier throttle's output.previous, which puts back the subject's limits, block and Kong plugins as they were: undo: {action: throttle, with: {target: gw, key: …, restore: \"${{ steps.<id>.output.previous }}\"}}; pair with undo_after for a throttle that lifts itself"},
	},
}

// ThrottleParams are the throttle action's parameters: one subject, and
// either the change (rpm, tpm, block) or the state to restore.
type ThrottleParams struct {
	Target   string         `json:"target"`
	Key      string         `json:"key"`
	Team     string         `json:"team"`
	Consumer string         `json:"consumer"`
	Route    string         `json:"route"`
	RPM      *int64         `json:"rpm"`
	TPM      *int64         `json:"tpm"`
	Block    bool           `json:"block"`
	Restore  *ThrottleState `json:"restore"`
	DryRun
}

// ThrottleState is a subject's limits as throttle reads and restores
// them. A nil limit is no limit.
type ThrottleState struct {
	RPM     *int64 `json:"rpm"`
	TPM     *int64 `json:"tpm"`
	Blocked bool   `json:"blocked"`
	// KongPlugins are the Kong plugins a throttle changed, as they were
	// before; restore puts back exactly these.
	KongPlugins []ThrottleKongPlugin `json:"kong_plugins,omitempty"`
}

// ThrottleKongPlugin is a Kong plugin on the subject as it was before a
// throttle: absent (restore deletes the plugin the throttle created), or
// its enabled flag, tags and, for rate-limiting, its per-minute limit.
type ThrottleKongPlugin struct {
	Name    string   `json:"name"`
	ID      string   `json:"id"`
	Existed bool     `json:"existed"`
	Enabled bool     `json:"enabled,omitempty"`
	Minute  *float64 `json:"minute,omitempty"`
	Tags    []string `json:"tags,omitempty"`
}

// ThrottleResult is the throttle action's output.
type ThrottleResult struct {
	// Subject names what was throttled, such as "key 88e1…" or "consumer acme".
	Subject string `json:"subject"`
	// Previous is the state before the change, what restore takes. A
	// restore and a dry run have none.
	Previous *ThrottleState `json:"previous,omitempty"`
	// Applied is the state after the change; none in a dry run.
	Applied *ThrottleState `json:"applied,omitempty"`
	Plan
}

// throttleSubject is what a throttle acts on.
type throttleSubject struct {
	kind string // "key", "team", "consumer" or "route"
	id   string
}

func (s throttleSubject) String() string { return s.kind + " " + s.id }

// throttleChange is what a throttle asks for: new limits (nil leaves a
// limit as it is) and whether to cut the subject off. A limit of 0 is a
// cut-off, so the limit itself stays for the undo.
type throttleChange struct {
	rpm, tpm *int64
	block    bool
}

// apply is the state a change leaves behind.
func (ch throttleChange) apply(prev ThrottleState) ThrottleState {
	next := ThrottleState{RPM: prev.RPM, TPM: prev.TPM, Blocked: prev.Blocked || ch.block}
	if ch.rpm != nil {
		next.RPM = ch.rpm
	}
	if ch.tpm != nil {
		next.TPM = ch.tpm
	}
	return next
}

// throttleMarker is what a throttle leaves on the subject (in LiteLLM
// metadata, in an http gateway's record, encoded in Kong tags): the
// step's idempotency key and the state it replaced. A retried step finds
// its own marker and reports the recorded state instead of reading back
// its own change.
type throttleMarker struct {
	IdempotencyKey string        `json:"idempotency_key"`
	Previous       ThrottleState `json:"previous"`
}

// throttleDriver drives one kind of target.
type throttleDriver interface {
	// subjects lists the subject kinds the target has.
	subjects() []string
	// throttle makes the change and returns the state it replaced.
	throttle(ctx context.Context, c *targetCall, s throttleSubject, ch throttleChange) (ThrottleState, error)
	// restore puts the subject back in the state an earlier throttle
	// recorded. It sets that state whatever the subject's state is now,
	// so running it again changes nothing.
	restore(ctx context.Context, c *targetCall, s throttleSubject, to ThrottleState) error
}

type throttleAction struct {
	targets Targets
}

// throttleDriverFor is the driver of a target kind that lookup accepted.
func throttleDriverFor(kind string) throttleDriver {
	switch kind {
	case config.TargetLiteLLM:
		return litellmThrottle{}
	case config.TargetKong:
		return kongThrottle{}
	}
	return httpThrottle{}
}

// Run throttles the subject, or restores it. Each driver makes its change
// idempotent by marking the subject with the step's idempotency key (see
// throttleMarker); a restore sets an absolute state and needs no mark.
func (a *throttleAction) Run(ctx context.Context, p ThrottleParams) (ThrottleResult, error) {
	t, err := a.targets.lookup("throttle", p.Target, config.TargetLiteLLM, config.TargetKong, config.TargetHTTP)
	if err != nil {
		return ThrottleResult{}, err
	}
	driver := throttleDriverFor(t.Kind)
	subject, err := p.subject(t, driver.subjects())
	if err != nil {
		return ThrottleResult{}, err
	}
	c := t.call("throttle", p.DryRun.DryRun)
	res := ThrottleResult{Subject: subject.String()}
	if p.Restore != nil {
		if p.RPM != nil || p.TPM != nil || p.Block {
			return ThrottleResult{}, badParams("throttle", "restore undoes an earlier throttle and takes no rpm, tpm or block")
		}
		if err := p.checkRestore(t.Kind); err != nil {
			return ThrottleResult{}, err
		}
		if err := driver.restore(ctx, c, subject, *p.Restore); err != nil {
			return ThrottleResult{}, activityError(err)
		}
		if !c.dryRun {
			applied := *p.Restore
			applied.KongPlugins = nil
			res.Applied = &applied
		}
		res.Plan = c.plan()
		return res, nil
	}
	ch, err := p.change()
	if err != nil {
		return ThrottleResult{}, err
	}
	prev, err := driver.throttle(ctx, c, subject, ch)
	if err != nil {
		return ThrottleResult{}, activityError(err)
	}
	if !c.dryRun {
		applied := ch.apply(prev)
		res.Previous, res.Applied = &prev, &applied
	}
	res.Plan = c.plan()
	return res, nil
}

// subject is the one subject the params name, of a kind the target has.
func (p ThrottleParams) subject(t *Target, kinds []string) (throttleSubject, error) {
	var given []throttleSubject
	for _, s := range []throttleSubject{{"key", p.Key}, {"team", p.Team}, {"consumer", p.Consumer}, {"route", p.Route}} {
		if s.id != "" {
			given = append(given, s)
		}
	}
	if len(given) != 1 || !slices.Contains(kinds, given[0].kind) {
		names := make([]string, len(given))
		for i, s := range given {
			names[i] = s.kind
		}
		return throttleSubject{}, badParams("throttle", "target %q is a %s target: give exactly one of %s (got %s)",
			t.Name, t.Kind, strings.Join(kinds, ", "), orNone(names))
	}
	s := given[0]
	if t.Kind == config.TargetLiteLLM && s.kind == "key" && strings.HasPrefix(s.id, "sk-") {
		return throttleSubject{}, badParams("throttle", "key is a LiteLLM key itself (sk-…); pass its token hash (the key id LiteLLM shows, sha256 of the key) so the secret stays out of workflow history")
	}
	return s, nil
}

// change is the change the params ask for.
func (p ThrottleParams) change() (throttleChange, error) {
	if p.RPM == nil && p.TPM == nil && !p.Block {
		return throttleChange{}, badParams("throttle", "nothing to do: give rpm, tpm or block to throttle, or restore to undo a throttle")
	}
	ch := throttleChange{block: p.Block}
	for _, l := range []struct {
		name  string
		value *int64
		set   **int64
	}{{"rpm", p.RPM, &ch.rpm}, {"tpm", p.TPM, &ch.tpm}} {
		switch {
		case l.value == nil:
		case *l.value < 0:
			return throttleChange{}, badParams("throttle", "%s %d is negative; give a limit, or 0 to cut the subject off", l.name, *l.value)
		case *l.value == 0:
			ch.block = true
		default:
			*l.set = l.value
		}
	}
	return ch, nil
}

// checkRestore refuses a restore state recorded on another kind of target.
func (p ThrottleParams) checkRestore(kind string) error {
	hasPlugins := len(p.Restore.KongPlugins) > 0
	switch {
	case kind == config.TargetKong && !hasPlugins:
		return badParams("throttle", "restore has no kong_plugins: on a kong target, restore takes the output.previous of the throttle to undo")
	case kind != config.TargetKong && hasPlugins:
		return badParams("throttle", "restore holds Kong plugins, but target %q is a %s target; undo on the target that was throttled", p.Target, kind)
	}
	return nil
}
