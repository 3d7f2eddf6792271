package attest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Signer signs messages; the key id it returns names the key (and its
// version) in the signature, so a verifier can tell keys apart.
type Signer interface {
	Sign(ctx context.Context, msg []byte) (sig []byte, keyID string, err error)
}

// Verifier checks signatures made by one key.
type Verifier interface {
	// KeyID names the key, for reports.
	KeyID() string
	// Verify checks sig over msg; keyID is the one the signature carries.
	Verify(ctx context.Context, keyID string, msg, sig []byte) error
}

// KeyFile is a private key in a PEM file (PKCS #8: ed25519, ECDSA or RSA),
// created as a new ed25519 key with mode 0600 the first time it is needed
// when the file does not exist.
type KeyFile struct {
	Path string

	mu     sync.Mutex
	signer crypto.Signer
}

// Sign signs msg with the key, creating the key file on first use.
func (k *KeyFile) Sign(_ context.Context, msg []byte) ([]byte, string, error) {
	signer, err := k.load(true)
	if err != nil {
		return nil, "", err
	}
	sig, err := signWith(signer, msg)
	if err != nil {
		return nil, "", fmt.Errorf("signing with %s: %w", k.Path, err)
	}
	return sig, KeyID(signer.Public()), nil
}

// KeyID is the id of the key, or its path while it cannot be read.
func (k *KeyFile) KeyID() string {
	signer, err := k.load(false)
	if err != nil {
		return k.Path
	}
	return KeyID(signer.Public())
}

// Verify checks sig with the key's public half. It does not create the
// key: a missing file is an error.
func (k *KeyFile) Verify(ctx context.Context, keyID string, msg, sig []byte) error {
	signer, err := k.load(false)
	if err != nil {
		return err
	}
	pub, err := NewPublicKey(signer.Public())
	if err != nil {
		return err
	}
	return pub.Verify(ctx, keyID, msg, sig)
}

func (k *KeyFile) load(create bool) (crypto.Signer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.signer != nil {
		return k.signer, nil
	}
	data, err := os.ReadFile(k.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		k.signer, err = createKey(k.Path)
		return k.signer, err
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no signing key at %s: %w", k.Path, err)
	case err != nil:
		return nil, fmt.Errorf("reading the signing key: %w", err)
	}
	k.signer, err = parsePrivateKey(k.Path, data)
	return k.signer, err
}

// createKey writes a new ed25519 key; O_EXCL keeps two processes that
// start at once from each writing a different key.
func createKey(path string) (crypto.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the signing key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process wrote the key first: use it.
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading the signing key: %w", err)
		}
		return parsePrivateKey(path, data)
	}
	if err != nil {
		return nil, fmt.Errorf("creating the signing key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing the signing key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing the signing key %s: %w", path, err)
	}
	return priv, nil
}

// parsePrivateKey parses the signing key file at path, which holds data.
func parsePrivateKey(path string, data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("signing key %s is not a PEM \"PRIVATE KEY\" (PKCS #8) file", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing key %s: a %T cannot sign", path, key)
	}
	return signer, nil
}

// signWith signs msg the way DSSE verifiers expect: ed25519 over the
// message itself, ECDSA (ASN.1) over the digest its curve calls for,
// RSA-PSS over SHA-256.
func signWith(signer crypto.Signer, msg []byte) ([]byte, error) {
	switch k := signer.Public().(type) {
	case ed25519.PublicKey:
		return signer.Sign(rand.Reader, msg, crypto.Hash(0))
	case *ecdsa.PublicKey:
		return signer.Sign(rand.Reader, ecdsaDigest(k, msg), nil)
	case *rsa.PublicKey:
		sum := sha256.Sum256(msg)
		return signer.Sign(rand.Reader, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	default:
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
}

// KeyID is the id aisoar gives a public key: the hex SHA-256 of its PKIX
// (DER) encoding.
func KeyID(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// PublicKey verifies signatures with a public key.
type PublicKey struct {
	key crypto.PublicKey
	id  string
}

// NewPublicKey returns the verifier of an ed25519, ECDSA or RSA key.
func NewPublicKey(key crypto.PublicKey) (*PublicKey, error) {
	switch k := key.(type) {
	case ed25519.PublicKey, *rsa.PublicKey:
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() && k.Curve != elliptic.P521() {
			return nil, fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
		}
	default:
		return nil, fmt.Errorf("unsupported public key type %T", key)
	}
	return &PublicKey{key: key, id: KeyID(key)}, nil
}

// ParsePublicKey reads a PEM "PUBLIC KEY" (PKIX) block.
func ParsePublicKey(data []byte) (*PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM \"PUBLIC KEY\" file")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	return NewPublicKey(key)
}

// LoadPublicKey reads a PEM public key file.
func LoadPublicKey(path string) (*PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the public key: %w", err)
	}
	k, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return k, nil
}

// KeyID returns the key's id.
func (p *PublicKey) KeyID() string { return p.id }

// Verify checks sig over msg. ECDSA signatures are ASN.1 over the digest
// the curve calls for (SHA-256 for P-256, as Sigstore and model signing
// use); RSA takes PSS or PKCS #1 v1.5 over SHA-256.
func (p *PublicKey) Verify(_ context.Context, _ string, msg, sig []byte) error {
	ok := false
	switch k := p.key.(type) {
	case ed25519.PublicKey:
		ok = ed25519.Verify(k, msg, sig)
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(k, ecdsaDigest(k, msg), sig)
	case *rsa.PublicKey:
		sum := sha256.Sum256(msg)
		ok = rsa.VerifyPSS(k, crypto.SHA256, sum[:], sig, nil) == nil ||
			rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}

func ecdsaDigest(k *ecdsa.PublicKey, msg []byte) []byte {
	switch k.Curve {
	case elliptic.P384():
		sum := sha512.Sum384(msg)
		return sum[:]
	case elliptic.P521():
		sum := sha512.Sum512(msg)
		return sum[:]
	}
	sum := sha256.Sum256(msg)
	return sum[:]
}

// Keyring verifies a signature with whichever of its keys made it, found
// by the key id the signature carries; a signature without one is tried
// with each key.
type Keyring []Verifier

// KeyID lists the keys' ids.
func (k Keyring) KeyID() string {
	ids := make([]string, len(k))
	for i, v := range k {
		ids[i] = v.KeyID()
	}
	return strings.Join(ids, ", ")
}

// Verify checks sig with the key keyID names.
func (k Keyring) Verify(ctx context.Context, keyID string, msg, sig []byte) error {
	for _, v := range k {
		if keyID == "" || owns(v, keyID) {
			err := v.Verify(ctx, keyID, msg, sig)
			if keyID != "" || !errors.Is(err, ErrBadSignature) {
				return err
			}
		}
	}
	if keyID == "" {
		return ErrBadSignature
	}
	return fmt.Errorf("%w: it was made by key %s, which is not one of the configured keys (%s)", ErrBadSignature, keyID, k.KeyID())
}

func owns(v Verifier, keyID string) bool {
	if t, ok := v.(*Transit); ok {
		return t.owns(keyID)
	}
	return v.KeyID() == keyID
}
