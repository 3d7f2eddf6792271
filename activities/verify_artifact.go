package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/aisoar/aisoar/attest"
	"github.com/aisoar/aisoar/playbooks"
)

// Verdicts of verify_artifact.
const (
	VerdictVerified = "verified"
	VerdictMismatch = "mismatch"
	VerdictUnsigned = "unsigned"
)

var verifyArtifactSpec = playbooks.ActionSpec{
	Name:      "verify_artifact",
	Heartbeat: playbooks.Duration(longActionHeartbeat),
	Doc:       "Checks a model artifact against its expected digest and a DSSE/in-toto signature (OpenSSF model signing); output verdict is verified, mismatch or unsigned.",
	Params: []playbooks.ParamSpec{
		{Name: "artifact", Type: playbooks.TypeMap, Required: true, Doc: "where the artifact is: {url} (host in actions.http.allow_hosts), {target, path} or {s3: <target>, key}"},
		{Name: "digest", Type: playbooks.TypeString, Doc: "expected digest, sha256:<hex>"},
		{Name: "signature", Type: playbooks.TypeMap, Doc: "where the DSSE envelope or Sigstore bundle is, in the same forms as artifact, or {name, value} inline; none found (404) gives unsigned"},
		{Name: "key", Type: playbooks.TypeString, Doc: "name of the trusted key in attestation.keys of the config; required with signature"},
	},
}

// VerifyArtifactParams are verify_artifact's parameters.
type VerifyArtifactParams struct {
	Artifact  map[string]any `json:"artifact"`
	Digest    string         `json:"digest"`
	Signature map[string]any `json:"signature"`
	Key       string         `json:"key"`
	DryRun
}

// VerifyArtifactResult is verify_artifact's output, for CEL to branch on
// (steps.verify.output.verdict == "mismatch").
type VerifyArtifactResult struct {
	// Verdict is verified, mismatch or unsigned; empty in a dry run.
	Verdict string `json:"verdict"`
	// Reason says why the verdict is not verified.
	Reason string `json:"reason,omitempty"`
	// Digest is the artifact's computed digest, sha256:<hex>.
	Digest         string `json:"digest,omitempty"`
	ExpectedDigest string `json:"expected_digest,omitempty"`
	// KeyID names the key whose signature verified; Subject is the name
	// the signed statement gives the artifact.
	KeyID   string `json:"key_id,omitempty"`
	Subject string `json:"subject,omitempty"`
	Plan
}

type verifyArtifactAction struct {
	http    *httpAction
	targets Targets
	keys    map[string]attest.Verifier
}

// maxSignatureBytes bounds a signature file.
const maxSignatureBytes = 1 << 20

var sha256Digest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Run hashes the artifact as it streams and checks it against the digest
// and the signature. It only reads, so a retry repeats the check.
func (a *verifyArtifactAction) Run(ctx context.Context, p VerifyArtifactParams) (VerifyArtifactResult, error) {
	const action = "verify_artifact"
	artifactForms := []string{formURL, formTarget, formS3}
	art, artForm, err := parseSource(action, "artifact", p.Artifact, artifactForms...)
	if err != nil {
		return VerifyArtifactResult{}, err
	}
	expected := strings.ToLower(p.Digest)
	if expected != "" && !sha256Digest.MatchString(expected) {
		return VerifyArtifactResult{}, badParams(action, "digest %q is not sha256:<64 hex digits>", p.Digest)
	}
	var sig source
	var sigForm string
	var key attest.Verifier
	if p.Signature != nil {
		if sig, sigForm, err = parseSource(action, "signature", p.Signature, append(artifactForms, formValue)...); err != nil {
			return VerifyArtifactResult{}, err
		}
		if key, err = a.key(action, p.Key); err != nil {
			return VerifyArtifactResult{}, err
		}
	} else if expected == "" {
		return VerifyArtifactResult{}, badParams(action, "give digest, signature or both: there is nothing to check the artifact against")
	}

	r := &reader{action: action, http: a.http, targets: a.targets, dryRun: p.DryRun.DryRun}
	res := VerifyArtifactResult{ExpectedDigest: expected}
	err = r.read(ctx, art, artForm, func(c content) error {
		digest, err := hashStream(ctx, c.body)
		res.Digest = digest
		return err
	})
	if err != nil {
		return VerifyArtifactResult{}, activityError(err)
	}
	if p.DryRun.DryRun {
		if sigForm != "" {
			if err := r.read(ctx, sig, sigForm, nil); err != nil {
				return VerifyArtifactResult{}, activityError(err)
			}
		}
		return VerifyArtifactResult{ExpectedDigest: expected, Plan: Plan{DryRun: true, Planned: r.planned}}, nil
	}
	if expected != "" && res.Digest != expected {
		return res.verdict(VerdictMismatch, fmt.Sprintf("the artifact's digest is %s, expected %s", res.Digest, expected)), nil
	}
	if sigForm == "" {
		return res.verdict(VerdictUnsigned, "no signature was given; the digest matches"), nil
	}
	var envelope []byte
	err = r.read(ctx, sig, sigForm, func(c content) error {
		data, err := io.ReadAll(io.LimitReader(c.body, maxSignatureBytes))
		envelope = data
		return err
	})
	if IsStatus(err, http.StatusNotFound) {
		return res.verdict(VerdictUnsigned, "no signature found: "+err.Error()), nil
	}
	if err != nil {
		return VerifyArtifactResult{}, activityError(err)
	}
	env, err := attest.ParseEnvelope(envelope)
	if err != nil {
		return res.verdict(VerdictMismatch, "the signature is unusable: "+err.Error()), nil
	}
	hexDigest := strings.TrimPrefix(res.Digest, "sha256:")
	res.KeyID, res.Subject, err = attest.VerifyArtifact(ctx, env, key, hexDigest)
	switch {
	case attest.Refused(err):
		return res.verdict(VerdictMismatch, err.Error()), nil
	case err != nil:
		return VerifyArtifactResult{}, keyError(action, p.Key, err)
	}
	return res.verdict(VerdictVerified, ""), nil
}

func (r VerifyArtifactResult) verdict(v, reason string) VerifyArtifactResult {
	r.Verdict, r.Reason = v, reason
	if v != VerdictVerified {
		r.KeyID, r.Subject = "", ""
	}
	return r
}

// key returns the trusted key the playbook names.
func (a *verifyArtifactAction) key(action, name string) (attest.Verifier, error) {
	if name == "" {
		return nil, badParams(action, "key is required with signature: name a key of attestation.keys in the config")
	}
	k, ok := a.keys[name]
	if !ok {
		names := make([]string, 0, len(a.keys))
		for n := range a.keys {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, badParams(action, "no key %q in attestation.keys of the config (keys: %s)", name, orNone(names))
	}
	return k, nil
}

// hashStream returns the SHA-256 of r as sha256:<hex>, heartbeating as
// it reads, since a model can take a while.
func hashStream(ctx context.Context, r io.Reader) (string, error) {
	h := sha256.New()
	if n, err := io.Copy(h, heartbeating(ctx, r)); err != nil {
		return "", fmt.Errorf("reading the artifact after %d bytes: %w", n, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// keyError classifies a failure to check a signature: Vault refusing the
// request (no such key, no permission) is for people to fix; the rest is
// retried.
func keyError(action, key string, err error) error {
	var ve *attest.VaultError
	if errors.As(err, &ve) && ve.Status >= 400 && ve.Status < 500 && !retryableStatus(ve.Status) {
		msg := fmt.Sprintf("%s: key %q: %v", action, key, err)
		return temporal.NewNonRetryableApplicationError(msg, "KeyError", err)
	}
	return fmt.Errorf("%s: key %q: %w", action, key, err)
}
