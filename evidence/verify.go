package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aisoar/aisoar/attest"
)

// Statuses of items and manifest signatures in a Report.
const (
	StatusOK       = "ok"
	StatusModified = "MODIFIED"
	StatusMissing  = "MISSING"
	StatusInvalid  = "INVALID"
)

// Report is the outcome of verifying an incident's evidence.
type Report struct {
	Incident  string           `json:"incident"`
	Location  string           `json:"location"`
	Manifests []ManifestReport `json:"manifests"`
}

// ManifestReport is one manifest: its signature and its items.
type ManifestReport struct {
	ID  string `json:"id"`
	Key string `json:"key"`
	// Manifest is ok, MODIFIED (the file differs from what was signed;
	// items are then checked against the signed copy) or MISSING.
	Manifest string `json:"manifest"`
	// Signature is ok, INVALID or MISSING; Problem says why.
	Signature string       `json:"signature"`
	KeyID     string       `json:"key_id,omitempty"`
	Problem   string       `json:"problem,omitempty"`
	Items     []ItemReport `json:"items"`
}

// ItemReport is one item: ok, MODIFIED (its content no longer hashes to
// the recorded SHA-256) or MISSING.
type ItemReport struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Status string `json:"status"`
	// Actual is the SHA-256 the stored content hashes to now, when MODIFIED.
	Actual string `json:"actual_sha256,omitempty"`
}

// Err is nil when every manifest and item verified, else an error naming
// each one that did not.
func (r *Report) Err() error {
	var problems []string
	for _, m := range r.Manifests {
		if m.Manifest != StatusOK {
			problems = append(problems, fmt.Sprintf("manifest %s is %s", m.Key, m.Manifest))
		}
		if m.Signature != StatusOK {
			problems = append(problems, fmt.Sprintf("signature of manifest %s is %s: %s", m.Key, m.Signature, m.Problem))
		}
		for _, it := range m.Items {
			if it.Status != StatusOK {
				problems = append(problems, fmt.Sprintf("item %q of manifest %s is %s", it.Name, m.ID, it.Status))
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("evidence of incident %s does not verify:\n  %s", r.Incident, strings.Join(problems, "\n  "))
}

// Verify checks every manifest of the incident: its signature with the
// store's verifier, that the stored file is what was signed, and that each
// item is present and still hashes to its recorded SHA-256. The error is
// for a store that cannot be read; what fails verification is in the
// report (see Report.Err).
func (s *Store) Verify(ctx context.Context, incident string) (*Report, error) {
	if s.opts.Verifier == nil {
		return nil, errors.New("evidence store: no key to verify signatures with is configured")
	}
	keys, err := s.opts.Backend.List(ctx, manifestDir(incident))
	if err != nil {
		return nil, err
	}
	report := &Report{Incident: incident, Location: s.Location()}
	ids := map[string]bool{}
	for _, k := range keys {
		name := strings.TrimPrefix(k, manifestDir(incident))
		if id, ok := strings.CutSuffix(name, signatureSuffix); ok {
			ids[id] = true
		} else if id, ok := strings.CutSuffix(name, manifestSuffix); ok {
			ids[id] = true
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no evidence of incident %q in %s", incident, s.Location())
	}
	for _, k := range keys {
		name := strings.TrimPrefix(k, manifestDir(incident))
		id, ok := strings.CutSuffix(name, signatureSuffix)
		if !ok {
			id, _ = strings.CutSuffix(name, manifestSuffix)
		}
		if !ids[id] {
			continue
		}
		delete(ids, id) // each manifest once, in key order
		mr, err := s.verifyManifest(ctx, incident, id)
		if err != nil {
			return nil, err
		}
		report.Manifests = append(report.Manifests, *mr)
	}
	return report, nil
}

// verifyManifest checks one manifest; id is its escaped name.
func (s *Store) verifyManifest(ctx context.Context, incident, id string) (*ManifestReport, error) {
	key := manifestDir(incident) + id + manifestSuffix
	mr := &ManifestReport{ID: id, Key: key, Manifest: StatusOK, Signature: StatusOK}
	data, err := s.read(ctx, key)
	switch {
	case IsNotExist(err):
		mr.Manifest = StatusMissing
	case err != nil:
		return nil, err
	}
	signed, err := s.checkSignature(ctx, manifestDir(incident)+id+signatureSuffix, mr)
	if err != nil {
		return nil, err
	}
	if signed != nil && data != nil && !bytes.Equal(signed, data) {
		mr.Manifest = StatusModified
	}
	// Trust the signed copy when the signature holds; the file as stored
	// otherwise, so its items are still checked.
	if signed == nil {
		signed = data
	}
	if signed == nil {
		return mr, nil
	}
	var m Manifest
	if err := json.Unmarshal(signed, &m); err != nil {
		mr.Manifest, mr.Problem = StatusModified, "the manifest is not valid JSON: "+err.Error()
		return mr, nil
	}
	mr.ID = m.ID
	if m.Incident != incident || pathSegment(m.ID) != id {
		mr.Manifest = StatusModified
		mr.Problem = fmt.Sprintf("the manifest names incident %q and id %q, but is stored as %s", m.Incident, m.ID, key)
	}
	for _, it := range m.Items {
		ir, err := s.verifyItem(ctx, it)
		if err != nil {
			return nil, err
		}
		mr.Items = append(mr.Items, ir)
	}
	return mr, nil
}

// checkSignature verifies the envelope at key and returns the manifest
// bytes it signs, or nil with mr's Signature and Problem set when it does
// not verify.
func (s *Store) checkSignature(ctx context.Context, key string, mr *ManifestReport) ([]byte, error) {
	sig, err := s.read(ctx, key)
	if IsNotExist(err) {
		mr.Signature, mr.Problem = StatusMissing, "no signature at "+key
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	env, err := attest.ParseEnvelope(sig)
	if err != nil {
		mr.Signature, mr.Problem = StatusInvalid, err.Error()
		return nil, nil
	}
	if len(env.Signatures) > 0 {
		mr.KeyID = env.Signatures[0].KeyID
	}
	if env.PayloadType != ManifestPayloadType {
		mr.Signature, mr.Problem = StatusInvalid, fmt.Sprintf("payload type %q is not an evidence manifest", env.PayloadType)
		return nil, nil
	}
	if _, err := env.Verify(ctx, s.opts.Verifier); err != nil {
		if !errors.Is(err, attest.ErrBadSignature) {
			return nil, err
		}
		mr.Signature, mr.Problem = StatusInvalid, err.Error()
		return nil, nil
	}
	return env.Payload, nil
}

func (s *Store) verifyItem(ctx context.Context, it Item) (ItemReport, error) {
	ir := ItemReport{Name: it.Name, Source: it.Source, SHA256: it.SHA256, Size: it.Size, Status: StatusOK}
	if !hexDigest.MatchString(it.SHA256) {
		ir.Status = StatusModified // only an unsigned manifest can say so
		return ir, nil
	}
	r, err := s.Open(ctx, it.SHA256)
	if IsNotExist(err) {
		ir.Status = StatusMissing
		return ir, nil
	}
	if err != nil {
		return ir, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return ir, fmt.Errorf("evidence store: reading item %q: %w", it.Name, err)
	}
	if actual := hex.EncodeToString(h.Sum(nil)); actual != it.SHA256 || n != it.Size {
		ir.Status, ir.Actual = StatusModified, actual
	}
	return ir, nil
}
