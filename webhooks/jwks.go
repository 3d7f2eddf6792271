package webhooks

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const (
	// jwksMinRefetch is the least time between two fetches of a JWKS, so that
	// tokens with made-up key ids cannot make us hammer the issuer.
	jwksMinRefetch = time.Minute
	// jwksFetchTimeout bounds one fetch, however slow the issuer.
	jwksFetchTimeout = 10 * time.Second
	// jwksMaxBytes bounds a JWKS document; real ones are a few kilobytes.
	jwksMaxBytes = 1 << 20
	// minRSABits is the smallest RSA key accepted from a JWKS.
	minRSABits = 2048
)

// jwks fetches an issuer's JSON Web Key Set lazily and caches it. A fetch
// happens on first use, when the set is older than the refresh interval, and
// when a token names a key id the set lacks (rotation), but never more than
// once per jwksMinRefetch. Keys stay in use while a refresh fails. Fetches run
// in their own goroutine, bounded by the context given to NewJWT and
// jwksFetchTimeout, so a request that gives up waiting does not cancel one.
type jwks struct {
	url     string
	name    string // url for messages, without any userinfo password
	client  *http.Client
	ctx     context.Context // bounds every fetch: the verifier's lifetime
	now     func() time.Time
	refresh time.Duration

	mu        sync.Mutex
	keys      map[string][]jose.JSONWebKey // by kid; nil before the first good fetch
	fetched   time.Time                    // when keys were fetched
	attempted time.Time                    // when the last fetch started
	err       error                        // of the last fetch; nil if it succeeded
	inflight  chan struct{}                // closed when the running fetch ends; nil if none
}

// lookup returns the keys with id kid. If the set lacks kid it waits for a
// fetch, if one is allowed now. Its failures wrap ErrUnauthorized when the
// token is at fault (an unknown kid), and do not when the keys could not be
// fetched, since then the sender's request may be fine.
func (s *jwks) lookup(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	s.mu.Lock()
	keys, known := s.keys[kid]
	now := s.now()
	var done chan struct{}
	if !known || s.keys == nil || now.Sub(s.fetched) >= s.refresh {
		done = s.startFetchLocked(now, false)
	}
	s.mu.Unlock()
	if known {
		return keys, nil // a refresh, if started, runs in the background
	}
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return nil, fmt.Errorf("jwt: gave up waiting for the JWKS from %s: %w", s.name, context.Cause(ctx))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if keys, ok := s.keys[kid]; ok {
		return keys, nil
	}
	switch {
	case s.keys == nil && s.err == nil:
		return nil, fmt.Errorf("jwt: no JWKS from %s yet, and the next fetch is not due", s.name)
	case s.keys == nil:
		return nil, fmt.Errorf("jwt: no keys to verify with: %w", s.err)
	case s.err != nil:
		return nil, fmt.Errorf("jwt: token key id %s is not in the JWKS, and refreshing the JWKS failed: %w", quote(kid), s.err)
	}
	return nil, unauthorized(fmt.Sprintf("token key id %s is not in the issuer's JWKS (fetched %s ago from %s; refetched at most once every %s)",
		quote(kid), s.now().Sub(s.fetched).Truncate(time.Second), s.name, jwksMinRefetch))
}

// refreshNow fetches the set now, whatever the schedule, and returns the
// fetch's error.
func (s *jwks) refreshNow(ctx context.Context) error {
	s.mu.Lock()
	done := s.startFetchLocked(s.now(), true)
	s.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// startFetchLocked returns a channel closed when a fetch ends: the running
// one, or a new one if force or if the last began jwksMinRefetch or more ago.
// It returns nil if no fetch is allowed yet. s.mu must be held.
func (s *jwks) startFetchLocked(now time.Time, force bool) chan struct{} {
	if s.inflight != nil {
		return s.inflight
	}
	if !force && !s.attempted.IsZero() && now.Sub(s.attempted) < jwksMinRefetch {
		return nil
	}
	s.attempted = now
	done := make(chan struct{})
	s.inflight = done
	go s.fetch(done)
	return done
}

// fetch loads the set, stores the outcome and closes done.
func (s *jwks) fetch(done chan struct{}) {
	ctx, cancel := context.WithTimeout(s.ctx, jwksFetchTimeout)
	defer cancel()
	keys, err := s.load(ctx)
	s.mu.Lock()
	if err == nil {
		s.keys, s.fetched = keys, s.now()
	}
	s.err = err
	s.inflight = nil
	s.mu.Unlock()
	close(done)
}

// load GETs and parses the set.
func (s *jwks) load(ctx context.Context) (map[string][]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetching the JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the JWKS from %s: %s", s.name, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetching the JWKS from %s: %w", s.name, err)
	}
	if len(data) > jwksMaxBytes {
		return nil, fmt.Errorf("the JWKS from %s is over %d bytes", s.name, jwksMaxBytes)
	}
	keys, err := parseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("the JWKS from %s: %w", s.name, err)
	}
	return keys, nil
}

// parseJWKS returns the signing keys of a JWKS document by key id. Keys that
// cannot be used (other kinds, other uses, no kid, weak or malformed) are
// skipped rather than failing the set, so one odd key does not lock everyone
// out; a set with no usable key is an error.
func parseJWKS(data []byte) (map[string][]jose.JSONWebKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a JWKS document: %w", err)
	}
	keys := make(map[string][]jose.JSONWebKey, len(doc.Keys))
	var skipped []string
	for i, raw := range doc.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			skipped = append(skipped, fmt.Sprintf("key %d: %v", i+1, err))
			continue
		}
		if reason := unusableKey(&k); reason != "" {
			skipped = append(skipped, fmt.Sprintf("key %d (kid %s): %s", i+1, quote(k.KeyID), reason))
			continue
		}
		keys[k.KeyID] = append(keys[k.KeyID], k)
	}
	if len(keys) == 0 {
		if len(skipped) == 0 {
			return nil, errors.New(`no keys in its "keys" array`)
		}
		return nil, fmt.Errorf("no usable signing keys; skipped %s", strings.Join(skipped, "; "))
	}
	return keys, nil
}

// unusableKey says why k cannot verify our tokens, or returns "".
func unusableKey(k *jose.JSONWebKey) string {
	switch {
	case !k.IsPublic():
		return "not an asymmetric public key"
	case !k.Valid():
		return "incomplete key"
	case k.Use != "" && k.Use != "sig":
		return fmt.Sprintf("for use %s, not sig", quote(k.Use))
	case k.KeyID == "":
		return "no kid, so no token can name it"
	}
	if pub, ok := k.Key.(*rsa.PublicKey); ok && pub.N.BitLen() < minRSABits {
		return fmt.Sprintf("RSA key of %d bits, under %d", pub.N.BitLen(), minRSABits)
	}
	return ""
}
