// Package evidence keeps what incidents collect: a content-addressed,
// write-once store of items (sha256/<hex>), a manifest per snapshot that
// lists every item with its SHA-256, size, source and time, and a DSSE
// signature over each manifest, made with a local ed25519 key or Vault
// Transit. Verify re-hashes everything and checks the signatures, so an
// item or a manifest changed after the fact is found and named.
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
	"io/fs"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aisoar/aisoar/attest"
)

// Backend keeps the store's objects by key ("sha256/<hex>",
// "manifests/<incident>/<id>.json"). Objects are written once.
type Backend interface {
	// Create writes r at key, or returns ErrExists when key is taken.
	Create(ctx context.Context, key string, r io.Reader) error
	// Open reads key; the error wraps fs.ErrNotExist when it is absent.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns the keys that start with prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// Location says where the objects are, for messages.
	Location() string
}

// ErrExists is a Create of a key that is already written.
var ErrExists = errors.New("evidence store: object already exists")

// ErrTooLarge is an item over the store's size limit.
var ErrTooLarge = errors.New("evidence item is over the size limit")

// DefaultMaxItemBytes bounds one item unless configured otherwise.
const DefaultMaxItemBytes = 1 << 30

// ManifestPayloadType is the DSSE payload type of a signed manifest.
const ManifestPayloadType = "application/vnd.aisoar.evidence-manifest+json"

// ManifestFormat identifies the manifest's schema.
const ManifestFormat = "aisoar.evidence.manifest/v1"

// Options configures a Store.
type Options struct {
	Backend Backend
	// Signer signs manifests; Verifier checks them. A KeyFile is both.
	Signer   attest.Signer
	Verifier attest.Verifier
	// MaxItemBytes bounds one item; default DefaultMaxItemBytes.
	MaxItemBytes int64
}

// Store is an evidence store.
type Store struct {
	opts Options
}

// New returns a store. A backend with a MaxObjectBytes method caps the
// item size at what it can read back.
func New(opts Options) *Store {
	if opts.MaxItemBytes <= 0 {
		opts.MaxItemBytes = DefaultMaxItemBytes
	}
	if b, ok := opts.Backend.(interface{ MaxObjectBytes() int64 }); ok {
		opts.MaxItemBytes = min(opts.MaxItemBytes, b.MaxObjectBytes())
	}
	return &Store{opts: opts}
}

// Location says where the store keeps evidence.
func (s *Store) Location() string { return s.opts.Backend.Location() }

// Blob is stored content.
type Blob struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Put stores r's content at sha256/<hex>, hashing it as it streams, and
// returns its digest and size. Content already in the store is left as
// it is, so storing the same item twice writes it once.
func (s *Store) Put(ctx context.Context, r io.Reader) (Blob, error) {
	tmp, err := os.CreateTemp("", "aisoar-evidence-*")
	if err != nil {
		return Blob{}, fmt.Errorf("evidence store: staging an item: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, s.opts.MaxItemBytes+1))
	if err != nil {
		return Blob{}, err
	}
	if n > s.opts.MaxItemBytes {
		return Blob{}, fmt.Errorf("%w of %d bytes", ErrTooLarge, s.opts.MaxItemBytes)
	}
	blob := Blob{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return Blob{}, err
	}
	if err := s.opts.Backend.Create(ctx, blobKey(blob.SHA256), tmp); err != nil && !errors.Is(err, ErrExists) {
		return Blob{}, err
	}
	return blob, nil
}

// Open reads the item with the SHA-256 (hex).
func (s *Store) Open(ctx context.Context, sha256Hex string) (io.ReadCloser, error) {
	if !hexDigest.MatchString(sha256Hex) {
		return nil, fmt.Errorf("evidence store: %q is not a SHA-256 in hex", sha256Hex)
	}
	return s.opts.Backend.Open(ctx, blobKey(sha256Hex))
}

var hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)

func blobKey(sha256Hex string) string { return "sha256/" + sha256Hex }

// Manifest lists a snapshot's items. It is stored as JSON and signed.
type Manifest struct {
	Format string `json:"format"`
	// ID names the snapshot within the incident.
	ID string `json:"id"`
	// Incident is the incident's id (the workflow id); Step the
	// playbook step that took the snapshot.
	Incident string    `json:"incident"`
	Step     string    `json:"step,omitempty"`
	Playbook *Playbook `json:"playbook,omitempty"`
	Created  time.Time `json:"created"`
	Items    []Item    `json:"items"`
}

// Playbook identifies the playbook that ran, by the SHA-256 of its file.
type Playbook struct {
	ID      string `json:"id"`
	Version int    `json:"version,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
}

// Item is one piece of evidence.
type Item struct {
	Name string `json:"name"`
	// Source says where the item came from, such as "GET <url>" or "s3://<bucket>/<key>".
	Source      string    `json:"source"`
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size"`
	ContentType string    `json:"content_type,omitempty"`
	FetchedAt   time.Time `json:"fetched_at"`
}

// Sealed is a stored, signed manifest.
type Sealed struct {
	Manifest Manifest `json:"manifest"`
	// Key is where the manifest is in the store; SHA256 is its digest.
	Key    string `json:"key"`
	SHA256 string `json:"sha256"`
	KeyID  string `json:"key_id"`
}

// Seal writes the manifest and its signature. Both are written once: when
// the incident already has a manifest with this id (a retried step), that
// one is kept and returned, and signed if its signature is missing.
func (s *Store) Seal(ctx context.Context, m Manifest) (*Sealed, error) {
	if s.opts.Signer == nil {
		return nil, errors.New("evidence store: no signing key is configured")
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	m.Format = ManifestFormat
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	data = append(data, '\n')
	key := manifestKey(m.Incident, m.ID)
	switch err := s.opts.Backend.Create(ctx, key, bytes.NewReader(data)); {
	case errors.Is(err, ErrExists):
		if sealed, err := s.Lookup(ctx, m.Incident, m.ID); err == nil {
			return sealed, nil
		}
		if data, err = s.read(ctx, key); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	env, err := attest.Sign(ctx, s.opts.Signer, ManifestPayloadType, data)
	if err != nil {
		return nil, fmt.Errorf("signing evidence manifest %s: %w", key, err)
	}
	sig, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := s.opts.Backend.Create(ctx, signatureKey(m.Incident, m.ID), bytes.NewReader(sig)); err != nil && !errors.Is(err, ErrExists) {
		return nil, err
	}
	return s.Lookup(ctx, m.Incident, m.ID)
}

// Lookup returns a sealed manifest as stored; the error wraps
// fs.ErrNotExist when the manifest or its signature is missing.
func (s *Store) Lookup(ctx context.Context, incident, id string) (*Sealed, error) {
	key := manifestKey(incident, id)
	data, err := s.read(ctx, key)
	if err != nil {
		return nil, err
	}
	sig, err := s.read(ctx, signatureKey(incident, id))
	if err != nil {
		return nil, err
	}
	env, err := attest.ParseEnvelope(sig)
	if err != nil || len(env.Signatures) == 0 {
		return nil, fmt.Errorf("evidence store: signature of %s is unreadable: %v", key, err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("evidence store: manifest %s is unreadable: %w", key, err)
	}
	sum := sha256.Sum256(data)
	return &Sealed{Manifest: m, Key: key, SHA256: hex.EncodeToString(sum[:]), KeyID: env.Signatures[0].KeyID}, nil
}

func (m *Manifest) check() error {
	if m.Incident == "" || m.ID == "" {
		return errors.New("evidence manifest needs an incident and an id")
	}
	seen := map[string]bool{}
	for _, it := range m.Items {
		if seen[it.Name] {
			return fmt.Errorf("evidence manifest %s: two items are named %q; give each a distinct name", m.ID, it.Name)
		}
		seen[it.Name] = true
		if !hexDigest.MatchString(it.SHA256) {
			return fmt.Errorf("evidence manifest %s: item %q has no SHA-256", m.ID, it.Name)
		}
	}
	return nil
}

func (s *Store) read(ctx context.Context, key string) ([]byte, error) {
	r, err := s.opts.Backend.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// manifestDir is where an incident's manifests are; the incident id is
// escaped so it stays one path segment.
func manifestDir(incident string) string { return "manifests/" + pathSegment(incident) + "/" }

func manifestKey(incident, id string) string {
	return manifestDir(incident) + pathSegment(id) + manifestSuffix
}

func signatureKey(incident, id string) string {
	return manifestDir(incident) + pathSegment(id) + signatureSuffix
}

const (
	manifestSuffix  = ".json"
	signatureSuffix = ".dsse.json"
)

// pathSegment escapes s to letters, digits, '.', '_' and '-' (others
// become %XX), and never "." or "..".
func pathSegment(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-', c == '.':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if out := b.String(); out != "." && out != ".." {
		return out
	}
	return strings.ReplaceAll(s, ".", "%2E")
}

// IsNotExist reports whether err says an object is missing.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
