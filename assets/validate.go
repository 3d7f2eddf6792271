package assets

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aisoar/aisoar/internal/diag"
)

// Options are what an inventory is checked against besides itself. A nil
// field is not checked, so a file can be checked without the config.
type Options struct {
	// Roles are the approver roles of the config; teams may name only these.
	Roles []string
	// Targets maps the config's target names to their kinds.
	Targets map[string]string
	// Technique reports whether an id is a MITRE ATLAS technique.
	Technique func(id string) bool
}

// Target kinds each reference may name.
var (
	registryKinds     = []string{"mlflow"}
	servingKinds      = []string{"kserve"}
	evaluatorKinds    = []string{"evaluator"}
	gatewayKinds      = []string{"litellm", "kong", "http"}
	orchestratorKinds = []string{"airflow", "kafka_connect"}
	vaultKinds        = []string{"vault"}
	storeKinds        = []string{"s3"}
)

var digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

type validator struct {
	inv  *Inventory
	opts Options
	*shape
}

func (v *validator) validate() {
	inv := v.inv
	for _, name := range slices.Sorted(maps.Keys(inv.Teams)) {
		at := "teams." + name
		if len(inv.Teams[name].Roles) == 0 {
			v.at(at, "a team needs the approver roles it answers for (roles: [mlops])")
		}
		for i, role := range inv.Teams[name].Roles {
			if v.opts.Roles != nil && !slices.Contains(v.opts.Roles, role) {
				v.at(fmt.Sprintf("%s.roles[%d]", at, i), "%q is not a role of the config file (%s)%s", role, strings.Join(v.opts.Roles, ", "), diag.DidYouMean(role, v.opts.Roles))
			}
		}
	}
	names := map[string]string{} // model name or alias → model
	for _, name := range slices.Sorted(maps.Keys(inv.Models)) {
		m := inv.Models[name]
		at := "models." + name
		for _, n := range append([]string{name}, m.Aliases...) {
			if other, taken := names[n]; taken && other != name {
				v.at(at, "%q also names model %q: an alert naming it would be ambiguous", n, other)
			}
			names[n] = name
		}
		v.owner(at, m.Owner)
		v.ref(at+".gateway", m.Gateway, "gateway", slices.Sorted(maps.Keys(inv.Gateways)))
		v.target(at+".registry.target", m.Registry.Target, registryKinds)
		v.target(at+".serving.target", m.Serving.Target, servingKinds)
		v.target(at+".validation.target", m.Validation.Target, evaluatorKinds)
		v.ref(at+".artifact.store", m.Artifact.Store, "store", slices.Sorted(maps.Keys(inv.Stores)))
		if d := m.Artifact.Digest; d != "" && !digestPattern.MatchString(d) {
			v.at(at+".artifact.digest", "%q must be sha256:<64 lowercase hex digits>", d)
		}
		if m.Artifact.AttestationKey != "" && m.Artifact.Signature == "" {
			v.at(at+".artifact.attestation_key", "names the key the signature is checked with, but the artifact has no signature")
		}
		for i, p := range m.Lineage.Pipelines {
			v.ref(fmt.Sprintf("%s.lineage.pipelines[%d]", at, i), p, "pipeline", slices.Sorted(maps.Keys(inv.Pipelines)))
		}
		for i, id := range m.ATLAS {
			if v.opts.Technique != nil && !v.opts.Technique(id) {
				v.at(fmt.Sprintf("%s.atlas[%d]", at, i), "%q is not a MITRE ATLAS technique id (like AML.T0024)", id)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(inv.Pipelines)) {
		p := inv.Pipelines[name]
		at := "pipelines." + name
		v.owner(at, p.Owner)
		o := p.Orchestrator
		v.target(at+".orchestrator.target", o.Target, orchestratorKinds)
		if kind, ok := v.opts.Targets[o.Target]; ok {
			if kind == "airflow" && o.DAG == "" {
				v.at(at+".orchestrator", "an airflow orchestrator needs dag (the DAG id)")
			}
			if kind == "kafka_connect" && o.Connector == "" {
				v.at(at+".orchestrator", "a kafka_connect orchestrator needs connector (the connector name)")
			}
		}
		v.ref(at+".store", p.Store, "store", slices.Sorted(maps.Keys(inv.Stores)))
		for i, src := range p.Sources {
			sat := fmt.Sprintf("%s.sources[%d]", at, i)
			if src.Name == "" {
				v.at(sat, "a source needs a name")
			}
			if (src.ApprovedBy == "") != (src.ApprovedAt == "") {
				v.at(sat, "approved_by and approved_at go together: who approved the source, and when")
			}
			if src.ApprovedAt != "" {
				if _, err := ParseTime(src.ApprovedAt); err != nil {
					v.at(sat+".approved_at", "%q is not a date (2026-01-31) or an RFC 3339 time", src.ApprovedAt)
				}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(inv.Gateways)) {
		g := inv.Gateways[name]
		v.owner("gateways."+name, g.Owner)
		if g.Target == "" {
			v.at("gateways."+name, "a gateway needs target (a litellm, kong or http target of the config)")
		}
		v.target("gateways."+name+".target", g.Target, gatewayKinds)
	}
	for _, name := range slices.Sorted(maps.Keys(inv.Keys)) {
		k := inv.Keys[name]
		at := "keys." + name
		v.owner(at, k.Owner)
		v.ref(at+".gateway", k.Gateway, "gateway", slices.Sorted(maps.Keys(inv.Gateways)))
		v.target(at+".vault.target", k.Vault.Target, vaultKinds)
		if k.Vault.Target != "" && (k.Vault.Path == "" || k.Vault.Field == "") {
			v.at(at+".vault", "a key's vault reference needs path and field")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(inv.Stores)) {
		s := inv.Stores[name]
		v.owner("stores."+name, s.Owner)
		v.target("stores."+name+".target", s.Target, storeKinds)
	}
}

// owner checks that an owner, when given, is a team of the inventory. A
// missing owner is not an error: it shows in the asset visibility figure.
func (v *validator) owner(at, team string) {
	v.ref(at+".owner", team, "team", slices.Sorted(maps.Keys(v.inv.Teams)))
}

// ref checks that a name refers to an entry of the inventory.
func (v *validator) ref(at, name, what string, names []string) {
	if name != "" && !slices.Contains(names, name) {
		v.at(at, "no %s %q in the inventory%s", what, name, diag.DidYouMean(name, names))
	}
}

// target checks that a name is a target of the config of one of the kinds.
func (v *validator) target(at, name string, kinds []string) {
	if name == "" || v.opts.Targets == nil {
		return
	}
	kind, ok := v.opts.Targets[name]
	if !ok {
		v.at(at, "no target %q in the config's targets%s", name, diag.DidYouMean(name, slices.Sorted(maps.Keys(v.opts.Targets))))
		return
	}
	if !slices.Contains(kinds, kind) {
		v.at(at, "target %q is a %s target; this needs a target of kind %s", name, kind, strings.Join(kinds, " or "))
	}
}

// ParseTime reads an approval time: RFC 3339, or a date meaning its start in UTC.
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}
