// Package attest signs and verifies DSSE envelopes (the signature format
// of in-toto attestations, Sigstore bundles and OpenSSF model signing) and
// checks what an in-toto statement says about an artifact. Keys are local
// (ed25519, ECDSA, RSA) or held by Vault Transit.
package attest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// InTotoPayloadType is the payload type of an in-toto statement in a DSSE
// envelope.
const InTotoPayloadType = "application/vnd.in-toto+json"

// Envelope is a DSSE envelope: a typed payload and signatures over its
// pre-authentication encoding. In JSON, payload and sig are base64.
type Envelope struct {
	PayloadType string      `json:"payloadType"`
	Payload     []byte      `json:"payload"`
	Signatures  []Signature `json:"signatures"`
}

// Signature is one signature of an envelope.
type Signature struct {
	KeyID string `json:"keyid,omitempty"`
	Sig   []byte `json:"sig"`
}

// wireEnvelope is an envelope as JSON carries it. Base64 is decoded by hand
// because DSSE allows both the standard and the URL-safe alphabet.
type wireEnvelope struct {
	PayloadType string `json:"payloadType"`
	Payload     string `json:"payload"`
	Signatures  []struct {
		KeyID string `json:"keyid"`
		Sig   string `json:"sig"`
	} `json:"signatures"`
}

// PAE is DSSE's pre-authentication encoding, the bytes a signature covers:
// "DSSEv1" SP len(type) SP type SP len(body) SP body.
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

// Sign wraps payload in an envelope signed by signer.
func Sign(ctx context.Context, signer Signer, payloadType string, payload []byte) (*Envelope, error) {
	sig, keyID, err := signer.Sign(ctx, PAE(payloadType, payload))
	if err != nil {
		return nil, err
	}
	return &Envelope{PayloadType: payloadType, Payload: payload, Signatures: []Signature{{KeyID: keyID, Sig: sig}}}, nil
}

// ErrBadSignature is a signature that does not verify: the message or the
// signature was changed, or another key made it. Other verification errors
// (Vault unreachable, say) mean the check could not be made.
var ErrBadSignature = errors.New("signature does not verify")

// Verify checks the envelope's signatures with v and returns the key id of
// the first that verifies. It returns an error wrapping ErrBadSignature
// when none does.
func (e *Envelope) Verify(ctx context.Context, v Verifier) (string, error) {
	if len(e.Signatures) == 0 {
		return "", fmt.Errorf("%w: the envelope has no signatures", ErrBadSignature)
	}
	msg := PAE(e.PayloadType, e.Payload)
	var bad error
	for _, s := range e.Signatures {
		err := v.Verify(ctx, s.KeyID, msg, s.Sig)
		if err == nil {
			return v.KeyID(), nil
		}
		if !errors.Is(err, ErrBadSignature) {
			return "", err
		}
		bad = err
	}
	return "", fmt.Errorf("none of the envelope's %d signature(s) verifies with %s: %w", len(e.Signatures), v.KeyID(), bad)
}

// ParseEnvelope reads a DSSE envelope, alone or as the dsseEnvelope of a
// Sigstore bundle (the form OpenSSF model signing writes).
func ParseEnvelope(data []byte) (*Envelope, error) {
	var doc struct {
		wireEnvelope
		DSSE              *wireEnvelope   `json:"dsseEnvelope"`
		MessageSignature  json.RawMessage `json:"messageSignature"`
		SigstoreMediaType string          `json:"mediaType"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a DSSE envelope or Sigstore bundle: %w", err)
	}
	w := &doc.wireEnvelope
	switch {
	case doc.DSSE != nil:
		w = doc.DSSE
	case doc.MessageSignature != nil:
		return nil, errors.New("the Sigstore bundle holds a message signature, not a DSSE envelope; only DSSE (in-toto) signatures are supported")
	case doc.PayloadType == "":
		return nil, errors.New("not a DSSE envelope (no payloadType) nor a Sigstore bundle (no dsseEnvelope)")
	}
	payload, err := decodeBase64(w.Payload)
	if err != nil {
		return nil, fmt.Errorf("envelope payload: %w", err)
	}
	e := &Envelope{PayloadType: w.PayloadType, Payload: payload}
	for i, s := range w.Signatures {
		sig, err := decodeBase64(s.Sig)
		if err != nil {
			return nil, fmt.Errorf("envelope signatures[%d]: %w", i, err)
		}
		e.Signatures = append(e.Signatures, Signature{KeyID: s.KeyID, Sig: sig})
	}
	return e, nil
}

// decodeBase64 accepts standard and URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}
