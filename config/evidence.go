package config

import (
	"maps"
	"path/filepath"
	"slices"
)

// DefaultEvidenceDir is where evidence is kept when the config names no
// place, relative to the working directory.
const DefaultEvidenceDir = "aisoar-evidence"

// Evidence configures the evidence store snapshot_evidence writes and
// `aisoar evidence verify` checks.
type Evidence struct {
	// Dir is the local store; default ./aisoar-evidence.
	Dir string `yaml:"dir"`
	// Store, when set, names an s3 target whose bucket holds the evidence
	// instead of Dir.
	Store string `yaml:"store"`
	// MaxItemBytes bounds one item; default 1 GiB.
	MaxItemBytes int64 `yaml:"max_item_bytes"`
	// Signing is the key manifests are signed with.
	Signing EvidenceSigning `yaml:"signing"`
}

// EvidenceSigning says how manifests are signed: with the Vault Transit
// key when one is set, otherwise with the local key file. Signatures by
// either verify, so evidence signed before a move to Transit still does.
type EvidenceSigning struct {
	// KeyFile is a PEM (PKCS #8) private key, created as an ed25519 key
	// with mode 0600 on first use when missing. Default
	// <dir>/signing-key.pem; keep it elsewhere than the evidence when the
	// people who can change evidence should not also be able to re-sign it.
	KeyFile string   `yaml:"key_file"`
	Transit *Transit `yaml:"transit"`
}

// Transit names a key of Vault's Transit secrets engine, reached through a
// vault target.
type Transit struct {
	Target string `yaml:"target"`
	// Mount is the engine's mount path; default "transit".
	Mount string `yaml:"mount"`
	Key   string `yaml:"key"`
}

// Attestation configures the keys verify_artifact checks signatures with.
type Attestation struct {
	// Keys are the trusted signers, by the name playbooks give.
	Keys map[string]AttestationKey `yaml:"keys"`
}

// AttestationKey is a PEM public key file or a Vault Transit key; one of the two.
type AttestationKey struct {
	File    string   `yaml:"file"`
	Transit *Transit `yaml:"transit"`
}

// Root is the local store's directory: Dir, or DefaultEvidenceDir.
func (e *Evidence) Root() string {
	if e.Dir == "" {
		return DefaultEvidenceDir
	}
	return e.Dir
}

// KeyPath is the local signing key's file: Signing.KeyFile, or
// signing-key.pem in the local store's directory.
func (e *Evidence) KeyPath() string {
	if e.Signing.KeyFile == "" {
		return filepath.Join(e.Root(), "signing-key.pem")
	}
	return e.Signing.KeyFile
}

// validateEvidence checks the evidence and attestation settings against
// the targets they name.
func (c *Config) validateEvidence(add func(string, ...any)) {
	e := c.Evidence
	if e.Store != "" {
		c.checkTarget("evidence.store", e.Store, TargetS3, add)
	}
	if e.MaxItemBytes < 0 {
		add("evidence.max_item_bytes must be positive")
	}
	if t := e.Signing.Transit; t != nil {
		c.validateTransit("evidence.signing.transit", t, add)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Attestation.Keys)) {
		k := c.Attestation.Keys[name]
		at := "attestation.keys." + name
		if !sourceName.MatchString(name) {
			add("%s: a key name must be lowercase letters, digits, '-' or '_'", at)
		}
		if (k.File == "") == (k.Transit == nil) {
			add("%s: set file (a PEM public key) or transit, one of the two", at)
		}
		if k.Transit != nil {
			c.validateTransit(at+".transit", k.Transit, add)
		}
	}
}

func (c *Config) validateTransit(at string, t *Transit, add func(string, ...any)) {
	if t.Key == "" {
		add("%s.key is required (the name of the Transit key)", at)
	}
	c.checkTarget(at+".target", t.Target, TargetVault, add)
}

// checkTarget reports a setting that does not name a target of the kind.
func (c *Config) checkTarget(at, name, kind string, add func(string, ...any)) {
	t, ok := c.Targets[name]
	switch {
	case name == "":
		add("%s is required: name a %s target", at, kind)
	case !ok:
		add("%s: no target %q in targets", at, name)
	case t.Kind != kind:
		add("%s: target %q is a %s target, not %s", at, name, t.Kind, kind)
	}
}
