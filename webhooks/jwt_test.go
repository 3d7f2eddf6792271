package webhooks

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const (
	testIssuerName = "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0"
	testAudience   = "api://aisoar"
)

// testIssuer is an identity provider's JWKS endpoint on 127.0.0.1.
type testIssuer struct {
	srv  *httptest.Server
	hits atomic.Int32

	mu      sync.Mutex
	doc     []byte
	status  int
	release chan struct{} // if set, requests wait for it to close
}

func newTestIssuer(t *testing.T, keys ...*signingKey) *testIssuer {
	t.Helper()
	iss := &testIssuer{status: http.StatusOK}
	iss.setKeys(t, keys...)
	iss.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		iss.hits.Add(1)
		iss.mu.Lock()
		doc, status, release := iss.doc, iss.status, iss.release
		iss.mu.Unlock()
		if release != nil {
			<-release
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.WriteHeader(status)
		w.Write(doc)
	}))
	t.Cleanup(iss.srv.Close)
	return iss
}

func (iss *testIssuer) url() string { return iss.srv.URL + "/discovery/v2.0/keys" }

// setKeys publishes the public halves of keys.
func (iss *testIssuer) setKeys(t *testing.T, keys ...*signingKey) {
	t.Helper()
	set := jose.JSONWebKeySet{}
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: k.alg, Use: "sig"})
	}
	doc, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	iss.setDoc(doc)
}

func (iss *testIssuer) setDoc(doc []byte) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.doc = doc
}

func (iss *testIssuer) setStatus(status int) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.status = status
}

// signingKey is an issuer's private key.
type signingKey struct {
	kid, alg string
	priv     crypto.Signer
}

func newRSAKey(t testing.TB, kid string) *signingKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &signingKey{kid: kid, alg: "RS256", priv: priv}
}

func newECKey(t testing.TB, kid string) *signingKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &signingKey{kid: kid, alg: "ES256", priv: priv}
}

func newEdKey(t testing.TB, kid string) *signingKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &signingKey{kid: kid, alg: "EdDSA", priv: priv}
}

// mint signs claims with k, naming kid in the header.
func (k *signingKey) mint(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(k.alg),
		Key:       jose.JSONWebKey{Key: k.priv, KeyID: kid},
	}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	token, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// rawJWT assembles a token from parts, for tokens no library would sign.
func rawJWT(t testing.TB, header, claims map[string]any, sign func(input string) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign(input))
}

// testClaims returns claims that the verifier of newTestJWT accepts at now.
func testClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss":   testIssuerName,
		"aud":   testAudience,
		"sub":   "splunk-cloud-app",
		"exp":   now.Add(10 * time.Minute).Unix(),
		"nbf":   now.Add(-time.Minute).Unix(),
		"iat":   now.Add(-time.Minute).Unix(),
		"roles": []string{"Alerts.Send", "Other.Role"},
		"scp":   "openid alerts.write",
	}
}

func newTestJWT(t testing.TB, iss *testIssuer, clock *fakeClock, adjust func(*JWTOptions)) *JWT {
	t.Helper()
	opts := JWTOptions{
		JWKSURL:        iss.url(),
		Issuer:         testIssuerName,
		Audience:       []string{"api://other", testAudience},
		RequiredRoles:  []string{"Alerts.Send"},
		RequiredScopes: []string{"alerts.write"},
		HTTPClient:     iss.srv.Client(),
		Now:            clock.Now,
	}
	if adjust != nil {
		adjust(&opts)
	}
	j, err := NewJWT(t.Context(), opts)
	if err != nil {
		t.Fatalf("NewJWT: %v", err)
	}
	return j
}

func bearerRequest(token string) *http.Request {
	return alertRequest(http.Header{"Authorization": {"Bearer " + token}})
}

func TestJWTVerify(t *testing.T) {
	clock := newFakeClock()
	now := clock.Now()
	rsaKey, ecKey := newRSAKey(t, "rsa-1"), newECKey(t, "ec-1")
	impostor := newRSAKey(t, "rsa-1") // same kid, other key
	iss := newTestIssuer(t, rsaKey, ecKey)
	j := newTestJWT(t, iss, clock, nil)

	// with returns the test claims changed by kv pairs; a nil value deletes.
	with := func(kv ...any) map[string]any {
		c := testClaims(now)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	valid := rsaKey.mint(t, "rsa-1", testClaims(now))
	parts := strings.Split(valid, ".")
	otherPayload := strings.Split(rsaKey.mint(t, "rsa-1", with("roles", []string{"Admin"})), ".")[1]
	rsaPub, err := x509.MarshalPKIXPublicKey(rsaKey.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	hs256WithPublicKey := rawJWT(t, map[string]any{"alg": "HS256", "kid": "rsa-1"}, testClaims(now), func(in string) []byte {
		m := hmac.New(sha256.New, rsaPub)
		m.Write([]byte(in))
		return m.Sum(nil)
	})
	none := rawJWT(t, map[string]any{"alg": "none", "kid": "rsa-1"}, testClaims(now), func(string) []byte { return nil })

	tests := []struct {
		name    string
		authz   string // Authorization header; "" means none
		wantMsg string // substring of the error; "" means success
	}{
		{name: "RS256", authz: "Bearer " + valid},
		{name: "ES256", authz: "Bearer " + ecKey.mint(t, "ec-1", testClaims(now))},
		{name: "audience array with one match", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("aud", []string{"api://nope", testAudience}))},
		{name: "scopes in an scp array (Okta)", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("scp", []string{"alerts.write"}))},
		{name: "scopes in scope", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("scp", nil, "scope", "alerts.write"))},
		{name: "fractional times", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("exp", float64(now.Unix())+0.5))},
		{name: "expired within the leeway", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("exp", now.Add(-59*time.Second).Unix()))},
		{name: "not yet valid within the leeway", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("nbf", now.Add(59*time.Second).Unix()))},

		{name: "missing header", wantMsg: "missing Authorization header"},
		{name: "not bearer", authz: "Basic " + valid, wantMsg: `Authorization header is not "Bearer <token>"`},
		{name: "garbled token", authz: "Bearer not-a-jwt", wantMsg: "bearer token is not a well-formed JWT"},
		{name: "two parts", authz: "Bearer " + parts[0] + "." + parts[1], wantMsg: "not a well-formed JWT"},
		{name: "four parts", authz: "Bearer " + valid + ".x", wantMsg: "not a well-formed JWT"},
		{name: "header not base64url", authz: "Bearer !!." + parts[1] + "." + parts[2], wantMsg: "not a well-formed JWT"},
		{name: "header not JSON", authz: "Bearer " + base64.RawURLEncoding.EncodeToString([]byte("{alg")) + "." + parts[1] + "." + parts[2], wantMsg: "not a well-formed JWT"},
		{name: "JWS JSON serialization", authz: `Bearer {"payload":"e30","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, wantMsg: "not a well-formed JWT"},
		{name: "alg none", authz: "Bearer " + none, wantMsg: `token alg "none" is not allowed; this source accepts RS256, ES256`},
		{name: "HS256 keyed with the public key", authz: "Bearer " + hs256WithPublicKey, wantMsg: `token alg "HS256" is not allowed`},
		{name: "alg supported but not configured", authz: "Bearer " + newEdKey(t, "rsa-1").mint(t, "rsa-1", testClaims(now)), wantMsg: `token alg "EdDSA" is not allowed`},
		{name: "no kid", authz: "Bearer " + rsaKey.mint(t, "", testClaims(now)), wantMsg: "token header has no kid"},
		{name: "unknown kid", authz: "Bearer " + rsaKey.mint(t, "rsa-9", testClaims(now)), wantMsg: `token key id "rsa-9" is not in the issuer's JWKS`},
		{name: "kid of a key of another type", authz: "Bearer " + rsaKey.mint(t, "ec-1", testClaims(now)), wantMsg: `key "ec-1" of the issuer's JWKS cannot verify alg RS256`},
		{name: "bad signature", authz: "Bearer " + impostor.mint(t, "rsa-1", testClaims(now)), wantMsg: `token signature does not verify with key "rsa-1"`},
		{name: "payload swapped", authz: "Bearer " + parts[0] + "." + otherPayload + "." + parts[2], wantMsg: "token signature does not verify"},
		{name: "signature stripped", authz: "Bearer " + parts[0] + "." + parts[1] + ".", wantMsg: "token signature does not verify"},
		{name: "expired", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("exp", now.Add(-5*time.Minute).Unix())),
			wantMsg: "token expired at 2023-11-14T22:08:20Z, 5m0s ago, beyond the 1m0s leeway"},
		{name: "expired long ago", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("exp", -1e300)), wantMsg: "token expired at -1e+300 (unix seconds)"},
		{name: "no exp", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("exp", nil)), wantMsg: "token has no exp claim"},
		{name: "exp not a number", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("exp", "tomorrow")), wantMsg: "time claim (exp, nbf or iat) is not a number"},
		{name: "not yet valid", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("nbf", now.Add(2*time.Minute).Unix())),
			wantMsg: "token is not valid until 2023-11-14T22:15:20Z, 2m0s from now, beyond the 1m0s leeway"},
		{name: "issued in the future", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("iat", now.Add(time.Hour).Unix(), "nbf", nil)),
			wantMsg: "token was issued at 2023-11-14T23:13:20Z, 1h0m0s in the future"},
		{name: "wrong issuer", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("iss", "https://sts.windows.net/11111111-2222-3333-4444-555555555555/")),
			wantMsg: `token issuer "https://sts.windows.net/11111111-2222-3333-4444-555555555555/" is not the configured issuer`},
		{name: "issuer not a string", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("iss", 42)), wantMsg: "token claim iss is a JSON number"},
		{name: "wrong audience", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("aud", "api://graph")),
			wantMsg: `token audience ["api://graph"] includes none of the configured audiences ["api://other", "api://aisoar"]`},
		{name: "no audience", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("aud", nil)), wantMsg: "token has no aud claim"},
		{name: "missing role", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("roles", []string{"Alerts.Read"})),
			wantMsg: `token lacks required role "Alerts.Send" (its roles claim has ["Alerts.Read"])`},
		{name: "no roles", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("roles", nil)), wantMsg: `token lacks required role "Alerts.Send" (its roles claim has [])`},
		{name: "roles not strings", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("roles", []int{1})), wantMsg: "holds something else"},
		{name: "role as a scope does not count", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("roles", nil, "scp", "Alerts.Send alerts.write")),
			wantMsg: `lacks required role "Alerts.Send"`},
		{name: "missing scope", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("scp", "openid alerts.read")),
			wantMsg: `token lacks required scope "alerts.write" (its scp and scope claims have ["openid", "alerts.read"])`},
		{name: "scope substring does not count", authz: "Bearer " + rsaKey.mint(t, "rsa-1", with("scp", "alerts.writer")), wantMsg: `lacks required scope "alerts.write"`},
		{name: "payload not an object", authz: "Bearer " + rawJWTSignedBy(t, rsaKey, "[1,2]"), wantMsg: "token payload is a JSON array, not an object of claims"},
		{name: "payload not JSON", authz: "Bearer " + rawJWTSignedBy(t, rsaKey, "claims"), wantMsg: "token payload is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.authz != "" {
				h.Set("Authorization", tt.authz)
			}
			err := j.Verify(alertRequest(h), nil)
			if checkVerifyError(t, err, tt.wantMsg) {
				if token, _ := strings.CutPrefix(tt.authz, "Bearer "); len(token) > 8 && strings.Contains(err.Error(), token) {
					t.Errorf("error %q shows the token", err)
				}
			}
		})
	}
	if n := iss.hits.Load(); n != 1 {
		t.Errorf("the JWKS was fetched %d times, want once (unknown kids within a minute of a fetch do not refetch)", n)
	}
}

// rawJWTSignedBy signs an arbitrary payload with k.
func rawJWTSignedBy(t *testing.T, k *signingKey, payload string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.alg), Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	token, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func TestJWTAlgorithms(t *testing.T) {
	clock := newFakeClock()
	edKey, ecKey := newEdKey(t, "ed-1"), newECKey(t, "ec-1")
	iss := newTestIssuer(t, edKey, ecKey)
	j := newTestJWT(t, iss, clock, func(o *JWTOptions) { o.Algorithms = []string{"EdDSA"} })
	if err := j.Verify(bearerRequest(edKey.mint(t, "ed-1", testClaims(clock.Now()))), nil); err != nil {
		t.Errorf("EdDSA token: %v", err)
	}
	err := j.Verify(bearerRequest(ecKey.mint(t, "ec-1", testClaims(clock.Now()))), nil)
	checkVerifyError(t, err, `token alg "ES256" is not allowed; this source accepts EdDSA`)
}

func TestNewJWT(t *testing.T) {
	base := JWTOptions{JWKSURL: "https://login.example.com/keys", Issuer: "https://login.example.com/", Audience: []string{"api://aisoar"}}
	tests := []struct {
		name    string
		adjust  func(*JWTOptions)
		wantErr string // substring; "" means success
	}{
		{name: "minimal", adjust: func(*JWTOptions) {}},
		{name: "loopback http", adjust: func(o *JWTOptions) { o.JWKSURL = "http://127.0.0.1:8080/keys" }},
		{name: "localhost http", adjust: func(o *JWTOptions) { o.JWKSURL = "http://localhost/keys" }},
		{name: "all algorithms", adjust: func(o *JWTOptions) {
			o.Algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
		}},
		{name: "no JWKS URL", adjust: func(o *JWTOptions) { o.JWKSURL = "" }, wantErr: "no JWKS URL"},
		{name: "relative JWKS URL", adjust: func(o *JWTOptions) { o.JWKSURL = "/keys" }, wantErr: "is not an absolute https URL"},
		{name: "ftp JWKS URL", adjust: func(o *JWTOptions) { o.JWKSURL = "ftp://login.example.com/keys" }, wantErr: "is not an absolute https URL"},
		{name: "remote http JWKS URL", adjust: func(o *JWTOptions) { o.JWKSURL = "http://login.example.com/keys" }, wantErr: "is plain http"},
		{name: "remote http JWKS URL with a password", adjust: func(o *JWTOptions) { o.JWKSURL = "http://jwks:pa55w0rd@login.example.com/keys" },
			wantErr: `JWKS URL "http://jwks:xxxxx@login.example.com/keys" is plain http`},
		{name: "no issuer", adjust: func(o *JWTOptions) { o.Issuer = "" }, wantErr: "no issuer"},
		{name: "no audience", adjust: func(o *JWTOptions) { o.Audience = nil }, wantErr: "no audience"},
		{name: "empty audience", adjust: func(o *JWTOptions) { o.Audience = []string{"a", " "} }, wantErr: "audience 2 of 2 is empty"},
		{name: "empty role", adjust: func(o *JWTOptions) { o.RequiredRoles = []string{""} }, wantErr: "required role 1 of 1 is empty"},
		{name: "scopes in one string", adjust: func(o *JWTOptions) { o.RequiredScopes = []string{"a b"} }, wantErr: `required scope "a b" contains whitespace`},
		{name: "alg none", adjust: func(o *JWTOptions) { o.Algorithms = []string{"none"} }, wantErr: `algorithm "none" cannot be verified with an issuer's public keys`},
		{name: "HS256", adjust: func(o *JWTOptions) { o.Algorithms = []string{"RS256", "HS256"} }, wantErr: `algorithm "HS256" cannot be verified`},
		{name: "unknown alg", adjust: func(o *JWTOptions) { o.Algorithms = []string{"rs256"} }, wantErr: `unknown algorithm "rs256"`},
		{name: "negative leeway", adjust: func(o *JWTOptions) { o.Leeway = -time.Second }, wantErr: "leeway -1s is negative"},
		{name: "negative refresh", adjust: func(o *JWTOptions) { o.RefreshInterval = -time.Second }, wantErr: "refresh interval -1s is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := base
			tt.adjust(&opts)
			j, err := NewJWT(t.Context(), opts)
			if tt.wantErr == "" {
				if err != nil || j == nil {
					t.Fatalf("NewJWT: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestJWTKeyRotation: the issuer publishes a new key; a token naming it
// makes the verifier refetch, at most once a minute.
func TestJWTKeyRotation(t *testing.T) {
	clock := newFakeClock()
	oldKey, newKey := newRSAKey(t, "2023-old"), newECKey(t, "2024-new")
	iss := newTestIssuer(t, oldKey)
	j := newTestJWT(t, iss, clock, nil)

	verify := func(k *signingKey) error {
		return j.Verify(bearerRequest(k.mint(t, k.kid, testClaims(clock.Now()))), nil)
	}
	if err := verify(oldKey); err != nil {
		t.Fatalf("old key: %v", err)
	}
	iss.setKeys(t, oldKey, newKey)

	clock.Advance(30 * time.Second)
	checkVerifyError(t, verify(newKey), `token key id "2024-new" is not in the issuer's JWKS (fetched 30s ago`)
	if n := iss.hits.Load(); n != 1 {
		t.Errorf("fetches = %d, want 1: an unknown kid within a minute must not refetch", n)
	}

	clock.Advance(30 * time.Second)
	if err := verify(newKey); err != nil {
		t.Fatalf("new key after the minute: %v", err)
	}
	if err := verify(oldKey); err != nil {
		t.Errorf("old key while still published: %v", err)
	}
	if n := iss.hits.Load(); n != 2 {
		t.Errorf("fetches = %d, want 2", n)
	}

	// The old key is retired: it keeps working until the next scheduled
	// refresh, then fails.
	iss.setKeys(t, newKey)
	clock.Advance(time.Hour)
	if err := verify(oldKey); err != nil {
		t.Errorf("old key, with the refresh running in the background: %v", err)
	}
	if err := j.Refresh(t.Context()); err != nil { // wait for it
		t.Fatal(err)
	}
	checkVerifyError(t, verify(oldKey), `token key id "2023-old" is not in the issuer's JWKS`)
	if err := verify(newKey); err != nil {
		t.Errorf("new key: %v", err)
	}
}

// TestJWTScheduledRefresh: keys older than the refresh interval are used
// while a refresh runs in the background.
func TestJWTScheduledRefresh(t *testing.T) {
	clock := newFakeClock()
	key := newRSAKey(t, "k1")
	iss := newTestIssuer(t, key)
	j := newTestJWT(t, iss, clock, func(o *JWTOptions) { o.RefreshInterval = 10 * time.Minute })
	verify := func() error { return j.Verify(bearerRequest(key.mint(t, key.kid, testClaims(clock.Now()))), nil) }
	for range 3 {
		if err := verify(); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(9 * time.Minute)
	if err := verify(); err != nil {
		t.Fatal(err)
	}
	if n := iss.hits.Load(); n != 1 {
		t.Fatalf("fetches before the interval = %d, want 1", n)
	}
	clock.Advance(time.Minute)
	if err := verify(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return iss.hits.Load() == 2 }, "a background refresh after the interval")
}

// TestJWTIssuerDown: an unreachable issuer stops neither NewJWT nor, once
// keys are cached, verification; without keys, Verify fails with an error
// that is not the sender's fault.
func TestJWTIssuerDown(t *testing.T) {
	clock := newFakeClock()
	key := newRSAKey(t, "k1")
	iss := newTestIssuer(t, key)
	iss.setStatus(http.StatusServiceUnavailable)
	j := newTestJWT(t, iss, clock, nil)
	verify := func() error { return j.Verify(bearerRequest(key.mint(t, key.kid, testClaims(clock.Now()))), nil) }

	err := verify()
	if err == nil || errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "jwt: no keys to verify with: fetching the JWKS from "+iss.url()+": 503 Service Unavailable") {
		t.Fatalf("Verify with the issuer down = %v, want an error that is not ErrUnauthorized", err)
	}
	iss.setStatus(http.StatusOK)
	clock.Advance(30 * time.Second)
	if err := verify(); err == nil || errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Verify within a minute of the failed fetch = %v, want the fetch error again", err)
	}
	clock.Advance(30 * time.Second)
	if err := verify(); err != nil {
		t.Fatalf("Verify after the issuer recovered: %v", err)
	}

	// Down again: the cached keys keep working past the refresh interval.
	iss.setStatus(http.StatusInternalServerError)
	clock.Advance(2 * time.Hour)
	if err := verify(); err != nil {
		t.Fatalf("Verify with cached keys and the issuer down: %v", err)
	}
	if err := j.Refresh(t.Context()); err == nil || !strings.Contains(err.Error(), "500 Internal Server Error") {
		t.Fatalf("Refresh = %v, want the 500", err)
	}
	if err := verify(); err != nil {
		t.Fatalf("Verify with cached keys after a failed refresh: %v", err)
	}
	// An unknown kid now may be a rotation we could not fetch: not a 401.
	err = j.Verify(bearerRequest(key.mint(t, "k2", testClaims(clock.Now()))), nil)
	if err == nil || errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), `token key id "k2" is not in the JWKS, and refreshing the JWKS failed`) {
		t.Fatalf("unknown kid with refreshes failing = %v", err)
	}
}

func TestJWTIssuerUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/keys"
	srv.Close() // nothing listens there now
	j, err := NewJWT(t.Context(), JWTOptions{JWKSURL: url, Issuer: testIssuerName, Audience: []string{testAudience}})
	if err != nil {
		t.Fatalf("NewJWT with the issuer unreachable: %v", err)
	}
	err = j.Verify(bearerRequest(newECKey(t, "k").mint(t, "k", testClaims(time.Now()))), nil)
	if err == nil || errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "fetching the JWKS") {
		t.Errorf("Verify = %v, want a fetch error that is not ErrUnauthorized", err)
	}
}

// newHeldIssuer starts an issuer whose key set fetches wait until release
// is closed, a verifier for it, and a valid token.
func newHeldIssuer(t *testing.T) (iss *testIssuer, j *JWT, token string, release chan struct{}) {
	t.Helper()
	clock := newFakeClock()
	key := newECKey(t, "k1")
	iss = newTestIssuer(t, key)
	release = make(chan struct{})
	iss.mu.Lock()
	iss.release = release
	iss.mu.Unlock()
	return iss, newTestJWT(t, iss, clock, nil), key.mint(t, key.kid, testClaims(clock.Now())), release
}

// TestJWTFirstUseFetchesOnce: concurrent first requests share one fetch.
func TestJWTFirstUseFetchesOnce(t *testing.T) {
	iss, j, token, release := newHeldIssuer(t)

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() { errs <- j.Verify(bearerRequest(token), nil) })
	}
	waitFor(t, func() bool { return iss.hits.Load() == 1 }, "the first fetch")
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := iss.hits.Load(); n != 1 {
		t.Errorf("fetches = %d, want 1", n)
	}
}

// TestJWTRequestGivesUp: a request whose context ends stops waiting for a
// slow fetch, which carries on for the next request.
func TestJWTRequestGivesUp(t *testing.T) {
	iss, j, token, release := newHeldIssuer(t)

	ctx, cancel := context.WithCancel(t.Context())
	r := bearerRequest(token).WithContext(ctx)
	go func() {
		waitFor(t, func() bool { return iss.hits.Load() == 1 }, "the fetch")
		cancel()
	}()
	err := j.Verify(r, nil)
	if err == nil || errors.Is(err, ErrUnauthorized) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify with its request canceled = %v, want context.Canceled", err)
	}
	close(release)
	if err := j.Verify(bearerRequest(token), nil); err != nil {
		t.Errorf("Verify after the fetch completed: %v", err)
	}
	if n := iss.hits.Load(); n != 1 {
		t.Errorf("fetches = %d, want 1", n)
	}
}

func TestNewJWTNilContext(t *testing.T) {
	var ctx context.Context // a caller's mistake, which would panic in a background fetch
	_, err := NewJWT(ctx, JWTOptions{JWKSURL: "https://login.example.com/keys", Issuer: testIssuerName, Audience: []string{testAudience}})
	if err == nil || !strings.Contains(err.Error(), "nil context") {
		t.Errorf("NewJWT(nil, ...) = %v, want an error", err)
	}
}

func TestJWTZeroValue(t *testing.T) {
	r := bearerRequest("a.b.c")
	var zero JWT
	if err := zero.Verify(r, nil); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("zero value Verify = %v, want ErrUnauthorized", err)
	}
	var nilJWT *JWT
	if err := nilJWT.Verify(r, nil); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("nil Verify = %v, want ErrUnauthorized", err)
	}
	if err := nilJWT.Refresh(t.Context()); err == nil {
		t.Error("nil Refresh succeeded")
	}
}

func TestParseJWKS(t *testing.T) {
	rsaKey, ecKey := newRSAKey(t, "rsa"), newECKey(t, "ec")
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	jwk := func(k jose.JSONWebKey) string {
		b, err := k.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	good := jwk(jose.JSONWebKey{Key: rsaKey.priv.Public(), KeyID: "rsa", Use: "sig"})
	tests := []struct {
		name     string
		doc      string
		wantKids []string // "" wantErr means success
		wantErr  string
	}{
		{name: "good keys", doc: `{"keys":[` + good + `,` + jwk(jose.JSONWebKey{Key: ecKey.priv.Public(), KeyID: "ec"}) + `]}`, wantKids: []string{"ec", "rsa"}},
		{name: "odd keys skipped", doc: `{"keys":[` + strings.Join([]string{
			good,
			`{"kty":"oct","kid":"hmac","k":"c2VjcmV0"}`,
			jwk(jose.JSONWebKey{Key: ecKey.priv.Public(), KeyID: "enc", Use: "enc"}),
			jwk(jose.JSONWebKey{Key: ecKey.priv.Public()}),
			jwk(jose.JSONWebKey{Key: &weak.PublicKey, KeyID: "weak"}),
			jwk(jose.JSONWebKey{Key: ecKey.priv, KeyID: "private"}),
			`{"kty":"RSA","kid":"broken","n":"!!","e":"AQAB"}`,
			`{"kty":"XYZ","kid":"future"}`,
		}, ",") + `]}`, wantKids: []string{"rsa"}},
		{name: "all unusable", doc: `{"keys":[{"kty":"oct","kid":"hmac","k":"c2VjcmV0"},` + jwk(jose.JSONWebKey{Key: &weak.PublicKey, KeyID: "weak"}) + `]}`,
			wantErr: `no usable signing keys; skipped key 1 (kid "hmac"): not an asymmetric public key; key 2 (kid "weak"): RSA key of 1024 bits, under 2048`},
		{name: "empty", doc: `{"keys":[]}`, wantErr: `no keys in its "keys" array`},
		{name: "no keys member", doc: `{"issuer":"x"}`, wantErr: `no keys in its "keys" array`},
		{name: "not JSON", doc: `<html>`, wantErr: "not a JWKS document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := parseJWKS([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if kids := slices.Sorted(maps.Keys(keys)); !slices.Equal(kids, tt.wantKids) {
				t.Errorf("kids = %v, want %v", kids, tt.wantKids)
			}
		})
	}
}

func TestJWKSTooLarge(t *testing.T) {
	clock := newFakeClock()
	iss := newTestIssuer(t)
	iss.setDoc([]byte(`{"keys":[` + strings.Repeat(" ", jwksMaxBytes) + `]}`))
	j := newTestJWT(t, iss, clock, nil)
	if err := j.Refresh(t.Context()); err == nil || !strings.Contains(err.Error(), "is over 1048576 bytes") {
		t.Errorf("Refresh = %v, want the size limit", err)
	}
}

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("timed out waiting for %s", what)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func FuzzJWTVerify(f *testing.F) {
	clock := newFakeClock()
	key := newECKey(f, "k1")
	claims := testClaims(clock.Now())
	valid := key.mint(f, "k1", claims)
	f.Add(valid)
	f.Add(strings.Replace(valid, ".", "..", 1))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add("")
	f.Add(`{"payload":"e30","signatures":[]}`)

	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.priv.Public(), KeyID: "k1"}}})
	if err != nil {
		f.Fatal(err)
	}
	keys, err := parseJWKS(set)
	if err != nil {
		f.Fatal(err)
	}
	// The keys are loaded directly: no HTTP while fuzzing.
	j, err := NewJWT(context.Background(), JWTOptions{
		JWKSURL: "https://login.example.com/keys", Issuer: testIssuerName, Audience: []string{testAudience},
		RequiredRoles: []string{"Alerts.Send"}, Now: clock.Now,
	})
	if err != nil {
		f.Fatal(err)
	}
	j.keys.keys, j.keys.fetched, j.keys.attempted = keys, clock.Now(), clock.Now()
	wantPayload, err := json.Marshal(claims)
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, token string) {
		err := j.Verify(bearerRequest(token), nil)
		if err != nil {
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("error %v does not wrap ErrUnauthorized", err)
			}
			return
		}
		// Accepted: the claims must be the ones the key signed.
		parts := strings.Split(strings.TrimFunc(token, isSpace), ".")
		if len(parts) != 3 {
			t.Fatalf("accepted %q, not three parts", token)
		}
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil || string(payload) != string(wantPayload) {
			t.Fatalf("accepted %q with payload %q, want %q", token, payload, wantPayload)
		}
	})
}
