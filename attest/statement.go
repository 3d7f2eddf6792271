package attest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// In-toto statement types read, and the OpenSSF model signing predicate.
const (
	StatementV1  = "https://in-toto.io/Statement/v1"
	StatementV01 = "https://in-toto.io/Statement/v0.1"
	// ModelSigningV1 is the predicate of OpenSSF model signing v1.0: one
	// subject, the model, whose digest is the SHA-256 of its files'
	// digests in order, listed as the predicate's resources.
	ModelSigningV1 = "https://model_signing/signature/v1.0"
)

// Statement is an in-toto statement: what an attestation says about its
// subjects.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate,omitempty"`
}

// Subject is an artifact a statement is about, named with its digests.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// ErrNotCovered is a statement that says nothing about the artifact.
var ErrNotCovered = errors.New("the statement does not cover the artifact")

// Statement decodes the envelope's in-toto statement.
func (e *Envelope) Statement() (*Statement, error) {
	if e.PayloadType != InTotoPayloadType {
		return nil, fmt.Errorf("%w: payload type %q is not an in-toto statement (%s)", ErrNotCovered, e.PayloadType, InTotoPayloadType)
	}
	var s Statement
	if err := json.Unmarshal(e.Payload, &s); err != nil {
		return nil, fmt.Errorf("%w: the payload is not an in-toto statement: %v", ErrNotCovered, err)
	}
	if s.Type != StatementV1 && s.Type != StatementV01 {
		return nil, fmt.Errorf("%w: statement _type %q is not %s", ErrNotCovered, s.Type, StatementV1)
	}
	return &s, nil
}

// Covers returns the name under which the statement covers an artifact
// with the given SHA-256 (hex): a subject with that digest, or, for model
// signing, a file of the model whose resources hash to the subject digest.
func (s *Statement) Covers(sha256Hex string) (string, error) {
	want := strings.ToLower(sha256Hex)
	for _, sub := range s.Subject {
		if strings.ToLower(sub.Digest["sha256"]) == want {
			return sub.Name, nil
		}
	}
	if s.PredicateType == ModelSigningV1 {
		return s.coversModelFile(want)
	}
	return "", fmt.Errorf("%w: no subject has sha256 %s", ErrNotCovered, want)
}

// coversModelFile looks for the artifact among a signed model's files,
// after checking that the files' digests are the ones the subject names.
func (s *Statement) coversModelFile(want string) (string, error) {
	var p struct {
		Resources []struct {
			Name      string `json:"name"`
			Algorithm string `json:"algorithm"`
			Digest    string `json:"digest"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(s.Predicate, &p); err != nil {
		return "", fmt.Errorf("%w: model signing predicate: %v", ErrNotCovered, err)
	}
	if len(s.Subject) != 1 {
		return "", fmt.Errorf("%w: a model signing statement has one subject, this one %d", ErrNotCovered, len(s.Subject))
	}
	root := sha256.New()
	found := ""
	for _, r := range p.Resources {
		d, err := hex.DecodeString(r.Digest)
		if err != nil {
			return "", fmt.Errorf("%w: resource %q digest is not hex", ErrNotCovered, r.Name)
		}
		root.Write(d)
		if r.Algorithm == "sha256" && strings.ToLower(r.Digest) == want && found == "" {
			found = r.Name
		}
	}
	subject := s.Subject[0]
	if got := hex.EncodeToString(root.Sum(nil)); got != strings.ToLower(subject.Digest["sha256"]) {
		return "", fmt.Errorf("%w: the model's resources hash to %s, but the subject %q names %s", ErrNotCovered, got, subject.Name, subject.Digest["sha256"])
	}
	if found == "" {
		return "", fmt.Errorf("%w: no file of model %q has sha256 %s", ErrNotCovered, subject.Name, want)
	}
	return subject.Name + "/" + found, nil
}

// VerifyArtifact checks that env is signed by v and that its in-toto
// statement covers the artifact with the given SHA-256. It returns the
// signing key's id and the name the statement gives the artifact. An error
// wrapping ErrBadSignature or ErrNotCovered means the artifact is not
// attested; any other error means the check could not be made.
func VerifyArtifact(ctx context.Context, env *Envelope, v Verifier, sha256Hex string) (keyID, name string, err error) {
	keyID, err = env.Verify(ctx, v)
	if err != nil {
		return "", "", err
	}
	st, err := env.Statement()
	if err != nil {
		return keyID, "", err
	}
	name, err = st.Covers(sha256Hex)
	return keyID, name, err
}

// Refused reports whether err is a verdict against the artifact: a bad
// signature or a statement that does not cover it.
func Refused(err error) bool {
	return slices.ContainsFunc([]error{ErrBadSignature, ErrNotCovered}, func(target error) bool { return errors.Is(err, target) })
}
