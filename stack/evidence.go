package stack

import (
	"fmt"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/attest"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/evidence"
)

// EvidenceOptions describe the evidence store the config names: its
// directory or s3 target; manifests signed with the Vault Transit key when
// one is set and with the local key file otherwise, and verified with
// either, so evidence signed before a move to Transit still verifies.
// Nothing is created until evidence is written.
func EvidenceOptions(cfg *config.Config, targets activities.Targets) (evidence.Options, error) {
	e := cfg.Evidence
	opts := evidence.Options{Backend: evidence.Dir{Root: e.Root()}, MaxItemBytes: e.MaxItemBytes}
	if e.Store != "" {
		t, ok := targets[e.Store]
		if !ok {
			return opts, fmt.Errorf("evidence.store: no target %q", e.Store)
		}
		b, err := activities.EvidenceBucket(t)
		if err != nil {
			return opts, fmt.Errorf("evidence.store: %w", err)
		}
		opts.Backend = b
	}
	file := &attest.KeyFile{Path: e.KeyPath()}
	opts.Signer, opts.Verifier = file, attest.Keyring{file}
	if tr := e.Signing.Transit; tr != nil {
		t, err := transit(targets, "evidence.signing.transit", tr)
		if err != nil {
			return opts, err
		}
		opts.Signer, opts.Verifier = t, attest.Keyring{t, file}
	}
	return opts, nil
}

// AttestationKeys loads the keys verify_artifact trusts.
func AttestationKeys(cfg *config.Config, targets activities.Targets) (map[string]attest.Verifier, error) {
	keys := make(map[string]attest.Verifier, len(cfg.Attestation.Keys))
	for name, k := range cfg.Attestation.Keys {
		at := "attestation.keys." + name
		if k.Transit != nil {
			t, err := transit(targets, at+".transit", k.Transit)
			if err != nil {
				return nil, err
			}
			keys[name] = t
			continue
		}
		pub, err := attest.LoadPublicKey(k.File)
		if err != nil {
			return nil, fmt.Errorf("%s.file: %w", at, err)
		}
		keys[name] = pub
	}
	return keys, nil
}

// transit is a Transit key reached through a vault target, with its
// token read from the target's auth at each request.
func transit(targets activities.Targets, at string, tr *config.Transit) (*attest.Transit, error) {
	t, ok := targets[tr.Target]
	if !ok {
		return nil, fmt.Errorf("%s.target: no target %q", at, tr.Target)
	}
	if t.Auth.Secret == nil {
		return nil, fmt.Errorf("%s.target: target %q has no auth; Vault needs a token (auth.header X-Vault-Token, or auth.bearer)", at, t.Name)
	}
	return &attest.Transit{Address: t.URL.String(), Namespace: t.Namespace, Token: t.Auth.Secret, HTTPClient: t.Client,
		Mount: tr.Mount, Key: tr.Key}, nil
}
