package activities

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
)

// rollbackMLflowAPI is the path of MLflow's REST API.
const rollbackMLflowAPI = "api/2.0/mlflow/"

// rollbackMLflowModel is the part of MLflow's RegisteredModel a rollback
// reads: where its aliases point, and its tags.
type rollbackMLflowModel struct {
	Aliases []struct {
		Alias   string `json:"alias"`
		Version string `json:"version"`
	} `json:"aliases"`
	Tags []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"tags"`
}

func (m rollbackMLflowModel) alias(name string) string {
	for _, a := range m.Aliases {
		if a.Alias == name {
			return a.Version
		}
	}
	return ""
}

func (m rollbackMLflowModel) tag(key string) (string, bool) {
	for _, t := range m.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// rollbackMLflow points the serving alias at the last-known-good version
// (or to_version, or restore's version).
//
// Idempotency: before moving the alias it tags the registered model
// aisoar.rollback.<step> with the record of the move. A re-run finds the
// tag, takes the previous version from it rather than from the alias it
// already moved, and only sets the alias again if the first run stopped
// between the two writes. Setting an alias to the version it has is not
// sent.
func rollbackMLflow(ctx context.Context, c *targetCall, p RollbackParams) (RollbackResult, error) {
	serving := cmp.Or(p.ServingAlias, "champion")
	good := cmp.Or(p.GoodAlias, "last-known-good")
	to := p.ToVersion
	if p.Restore != nil {
		v, ok := p.Restore["version"].(string)
		if !ok || v == "" {
			return RollbackResult{}, badParams("rollback", `restore must be the output.restore of a rollback of an mlflow target, such as {version: "3"}; got %v`, p.Restore)
		}
		to = v
	}
	if to == "" && serving == good {
		return RollbackResult{}, badParams("rollback", "serving_alias and good_alias are both %q; the good alias must be another one", serving)
	}

	var got struct {
		RegisteredModel rollbackMLflowModel `json:"registered_model"`
	}
	if err := c.do(ctx, http.MethodGet, rollbackMLflowAPI+"registered-models/get?name="+url.QueryEscape(p.Model), nil, &got); err != nil {
		return RollbackResult{}, err
	}
	m := got.RegisteredModel
	key := "aisoar.rollback." + stepMark(ctx)
	current := m.alias(serving)

	var rec rollbackRecord
	if text, ok := m.tag(key); ok {
		var err error
		if rec, err = decodeRollbackRecord(text, "tag "+key+" of registered model "+p.Model); err != nil {
			return RollbackResult{}, err
		}
	} else {
		rec = rollbackRecord{From: current, To: cmp.Or(to, m.alias(good))}
		if c.dryRun {
			rec.From = cmp.Or(rec.From, rollbackPlaceholder("version alias %s points to", serving))
			rec.To = cmp.Or(rec.To, rollbackPlaceholder("version alias %s points to", good))
		}
		if rec.From == "" {
			return RollbackResult{}, badParams("rollback", "registered model %q has no alias %q, so nothing serves through it; set serving_alias to the alias serving loads", p.Model, serving)
		}
		if rec.To == "" {
			return RollbackResult{}, badParams("rollback", "registered model %q has no alias %q marking its last-known-good version; set that alias in MLflow, or give to_version", p.Model, good)
		}
		rec.Restore = map[string]any{"version": rec.From}
		if rec.From == rec.To {
			return rec.result(false), nil
		}
		if to != "" {
			// Check a version given by hand before writing anything, so a
			// typo leaves no record of a rollback that never happened.
			q := url.Values{"name": {p.Model}, "version": {to}}
			if err := c.do(ctx, http.MethodGet, rollbackMLflowAPI+"model-versions/get?"+q.Encode(), nil, nil); err != nil {
				return RollbackResult{}, err
			}
		}
		tag := map[string]string{"name": p.Model, "key": key, "value": rec.encode()}
		if err := c.do(ctx, http.MethodPost, rollbackMLflowAPI+"registered-models/set-tag", tag, nil); err != nil {
			return RollbackResult{}, err
		}
	}
	if current != rec.To {
		alias := map[string]string{"name": p.Model, "alias": serving, "version": rec.To}
		if err := c.do(ctx, http.MethodPost, rollbackMLflowAPI+"registered-models/alias", alias, nil); err != nil {
			return RollbackResult{}, err
		}
	}
	return rec.result(rec.From != rec.To), nil
}
