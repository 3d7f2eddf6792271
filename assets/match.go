package assets

import (
	"cmp"
	"maps"
	"slices"

	"github.com/aisoar/aisoar/alerts"
)

// Defaults of a model's registry aliases.
const (
	DefaultServingAlias = "champion"
	DefaultGoodAlias    = "last-known-good"
)

// Match is what an alert's asset fields name, as the inventory describes
// it; playbooks see it as `asset`. Entries the alert does not name are
// empty (their name is "").
type Match struct {
	Model    Model    `json:"model"`
	Pipeline Pipeline `json:"pipeline"`
	Gateway  Gateway  `json:"gateway"`
	Key      Key      `json:"key"`
	// Store is the pipeline's data store; ArtifactStore the store holding
	// the model's artifact.
	Store         Store `json:"store"`
	ArtifactStore Store `json:"artifact_store"`
	// Owner is the team owning the most specific entry matched (key,
	// model, pipeline, gateway), with its roles and Slack channel.
	Owner string   `json:"owner"`
	Roles []string `json:"roles"`
	Slack string   `json:"slack"`
}

// Found reports whether the alert named anything in the inventory.
func (m *Match) Found() bool {
	return m.Model.Name != "" || m.Pipeline.Name != "" || m.Gateway.Name != "" || m.Key.Name != ""
}

// complete fills names and defaults and indexes the models by every name
// alerts use for them.
func (inv *Inventory) complete() {
	inv.models = map[string]*Model{}
	for _, name := range slices.Sorted(maps.Keys(inv.Models)) {
		m := inv.Models[name]
		m.Name = name
		m.Registry.Name = cmp.Or(m.Registry.Name, name)
		m.Registry.ServingAlias = cmp.Or(m.Registry.ServingAlias, DefaultServingAlias)
		m.Registry.GoodAlias = cmp.Or(m.Registry.GoodAlias, DefaultGoodAlias)
		m.Serving.Name = cmp.Or(m.Serving.Name, name)
		inv.Models[name] = m
		entry := &m
		for _, n := range append([]string{m.Registry.Name, m.Serving.Name, m.Serving.Endpoint}, m.Aliases...) {
			if _, taken := inv.models[n]; n != "" && !taken {
				inv.models[n] = entry
			}
		}
		inv.models[name] = entry
	}
	named(inv.Pipelines, func(p *Pipeline, n string) { p.Name = n })
	named(inv.Gateways, func(g *Gateway, n string) { g.Name = n })
	named(inv.Keys, func(k *Key, n string) { k.Name = n })
	named(inv.Stores, func(s *Store, n string) { s.Name = n })
}

func named[V any](m map[string]V, set func(*V, string)) {
	for k, v := range m {
		set(&v, k)
		m[k] = v
	}
}

// Match finds the entries an alert's asset fields name.
func (inv *Inventory) Match(a *alerts.Asset) Match {
	var m Match
	if inv == nil {
		return m
	}
	if model, ok := inv.models[a.Model]; ok && a.Model != "" {
		m.Model = *model
	} else if model, ok := inv.models[a.Endpoint]; ok && a.Endpoint != "" {
		m.Model = *model
	}
	if p, ok := inv.Pipelines[a.Pipeline]; ok {
		m.Pipeline = p
	} else {
		for _, name := range slices.Sorted(maps.Keys(inv.Pipelines)) {
			if p := inv.Pipelines[name]; a.Pipeline != "" && (p.Orchestrator.DAG == a.Pipeline || p.Orchestrator.Connector == a.Pipeline) {
				m.Pipeline = p
				break
			}
		}
	}
	if k, ok := inv.Keys[a.KeyID]; ok {
		m.Key = k
	}
	m.Gateway = inv.Gateways[cmp.Or(m.Key.Gateway, m.Model.Gateway)]
	m.Store = inv.Stores[m.Pipeline.Store]
	m.ArtifactStore = inv.Stores[m.Model.Artifact.Store]
	m.Owner = cmp.Or(m.Key.Owner, m.Model.Owner, m.Pipeline.Owner, m.Gateway.Owner)
	if team, ok := inv.Teams[m.Owner]; ok {
		m.Roles, m.Slack = team.Roles, team.Slack
	}
	return m
}
