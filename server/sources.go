package server

import (
	"fmt"
	"sort"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/webhooks"
)

// source is a configured webhook sender: how its requests are verified and
// how its payloads are decoded.
type source struct {
	name     string
	verifier webhooks.Verifier
	decoder  alerts.Decoder
}

// buildSources resolves each source's secret and builds its verifier and
// decoder.
func buildSources(cfg map[string]config.Source) (map[string]*source, error) {
	names := make([]string, 0, len(cfg))
	for name := range cfg {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make(map[string]*source, len(cfg))
	for _, name := range names {
		c := cfg[name]
		secret, err := c.Verify.Secret.Resolve()
		if err != nil {
			return nil, fmt.Errorf("source %q: %w", name, err)
		}
		var v webhooks.Verifier
		switch c.Verify.Type {
		case config.VerifyStandardWebhooks:
			v, err = webhooks.NewStandardWebhooks(secret)
		case config.VerifyBearer:
			v, err = webhooks.NewBearer(secret)
		default:
			err = fmt.Errorf("unknown verifier type %q", c.Verify.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("source %q: %w", name, err)
		}
		out[name] = &source{name: name, verifier: v, decoder: alerts.NewGeneric(name, genericMapping(c.Decoder.Mapping))}
	}
	return out, nil
}

// genericMapping turns the config's field → path map into the decoder's mapping.
func genericMapping(m map[string]string) alerts.GenericMapping {
	return alerts.GenericMapping{
		ID: m["id"], Rule: m["rule"], Title: m["title"], Severity: m["severity"], Status: m["status"],
		Time: m["time"], Category: m["category"], Techniques: m["techniques"], GroupKey: m["group_key"],
		AssetModel: m["asset.model"], AssetEndpoint: m["asset.endpoint"], AssetPipeline: m["asset.pipeline"],
		AssetTenant: m["asset.tenant"], AssetKeyID: m["asset.key_id"], Labels: m["labels"],
	}
}
