package stack

import (
	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/atlas"
	"github.com/aisoar/aisoar/config"
)

// LoadAssets reads the asset inventory the config names, checked against
// the config's roles and targets; nil when the config names none.
func LoadAssets(cfg *config.Config) (*assets.Inventory, error) {
	if cfg.Assets == "" {
		return nil, nil
	}
	return assets.Load(cfg.Assets, AssetOptions(cfg))
}

// AssetOptions are the checks an inventory gets under this config: the
// ATLAS catalog always, the config's roles and targets when cfg is set.
func AssetOptions(cfg *config.Config) assets.Options {
	catalog := atlas.Default()
	opts := assets.Options{Technique: func(id string) bool { _, ok := catalog.Technique(id); return ok }}
	if cfg == nil {
		return opts
	}
	opts.Roles = cfg.RoleNames()
	opts.Targets = make(map[string]string, len(cfg.Targets))
	for name, t := range cfg.Targets {
		opts.Targets[name] = t.Kind
	}
	return opts
}
