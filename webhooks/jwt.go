package webhooks

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// JWT defaults.
const (
	DefaultJWTLeeway           = time.Minute
	DefaultJWKSRefreshInterval = time.Hour
)

// jwtAlgorithm reports whether a JWT verifier can allow alg and, for ECDSA,
// the curve it needs. Symmetric algorithms (HS256…) are not allowed: a JWKS
// holds public keys, and accepting HS256 "signed" with one is the classic
// forgery.
func jwtAlgorithm(alg string) (curve string, ok bool) {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA":
		return "", true
	case "ES256":
		return "P-256", true
	case "ES384":
		return "P-384", true
	case "ES512":
		return "P-521", true
	}
	return "", false
}

// JWTOptions configures a JWT verifier. JWKSURL, Issuer and Audience are
// required. For Microsoft Entra ID, JWKSURL is
// https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys, Issuer is
// https://login.microsoftonline.com/{tenant}/v2.0 for v2 tokens (or
// https://sts.windows.net/{tenant}/ for v1), Audience is the API's
// application ID URI or client ID, and RequiredRoles holds app roles.
type JWTOptions struct {
	// JWKSURL is where the issuer publishes its signing keys. It must be
	// https, except on a loopback host.
	JWKSURL string
	// Issuer must equal the token's iss claim exactly.
	Issuer string
	// Audience lists the accepted aud values; the token needs any one.
	Audience []string
	// RequiredRoles must all be in the token's roles claim (Entra ID app roles).
	RequiredRoles []string
	// RequiredScopes must all be in the token's scp or scope claim, either a
	// space-separated string or an array.
	RequiredScopes []string
	// Leeway allows for clock skew in exp, nbf and iat. Zero means
	// DefaultJWTLeeway.
	Leeway time.Duration
	// Algorithms lists the accepted alg values. Nil means RS256 and ES256.
	Algorithms []string
	// HTTPClient fetches the JWKS; nil means a client with a timeout.
	HTTPClient *http.Client
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
	// RefreshInterval is how old the JWKS may get before it is fetched again.
	// Zero means DefaultJWKSRefreshInterval.
	RefreshInterval time.Duration
}

// JWT verifies "Authorization: Bearer <JWT>" tokens issued by an identity
// provider, checking the signature against the issuer's JWKS and the
// registered claims, roles and scopes. Make one with NewJWT; the zero value
// rejects every request. It is safe for concurrent use.
type JWT struct {
	issuer   string
	audience []string
	roles    []string
	scopes   []string
	leeway   time.Duration
	algs     []jose.SignatureAlgorithm
	now      func() time.Time
	keys     *jwks
}

var _ Verifier = (*JWT)(nil)

// NewJWT returns a verifier for opts. It does not contact the issuer: the
// JWKS is fetched on first use, so a briefly unreachable identity provider
// does not stop startup (call Refresh to fetch it now). ctx bounds every
// JWKS fetch the verifier makes; when it is done, fetches fail.
func NewJWT(ctx context.Context, opts JWTOptions) (*JWT, error) {
	if ctx == nil {
		return nil, errors.New("jwt: nil context; pass the server's lifetime context")
	}
	jwksURL, err := checkJWKSURL(opts.JWKSURL)
	if err != nil {
		return nil, err
	}
	if opts.Issuer == "" {
		return nil, errors.New("jwt: no issuer; set the iss value the identity provider puts in its tokens")
	}
	if len(opts.Audience) == 0 {
		return nil, errors.New("jwt: no audience; set the aud value of tokens meant for aisoar (without it, any token of the issuer would do)")
	}
	for _, list := range []struct {
		what   string
		values []string
	}{{"audience", opts.Audience}, {"required role", opts.RequiredRoles}, {"required scope", opts.RequiredScopes}} {
		for i, v := range list.values {
			if strings.TrimSpace(v) == "" {
				return nil, fmt.Errorf("jwt: %s %d of %d is empty", list.what, i+1, len(list.values))
			}
		}
	}
	for _, s := range opts.RequiredScopes {
		if strings.ContainsFunc(s, isSpace) {
			return nil, fmt.Errorf("jwt: required scope %q contains whitespace; list each scope separately", s)
		}
	}
	j := &JWT{
		issuer:   opts.Issuer,
		audience: slices.Clone(opts.Audience),
		roles:    slices.Clone(opts.RequiredRoles),
		scopes:   slices.Clone(opts.RequiredScopes),
		leeway:   opts.Leeway,
		now:      opts.Now,
	}
	if j.algs, err = jwtAlgs(opts.Algorithms); err != nil {
		return nil, err
	}
	switch {
	case j.leeway < 0:
		return nil, fmt.Errorf("jwt: leeway %s is negative; use a positive duration or zero for the default %s", j.leeway, DefaultJWTLeeway)
	case j.leeway == 0:
		j.leeway = DefaultJWTLeeway
	}
	refresh := opts.RefreshInterval
	switch {
	case refresh < 0:
		return nil, fmt.Errorf("jwt: refresh interval %s is negative; use a positive duration or zero for the default %s", refresh, DefaultJWKSRefreshInterval)
	case refresh == 0:
		refresh = DefaultJWKSRefreshInterval
	}
	if j.now == nil {
		j.now = time.Now
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: jwksFetchTimeout}
	}
	j.keys = &jwks{url: jwksURL.String(), name: jwksURL.Redacted(), client: client, ctx: ctx, now: j.now, refresh: refresh}
	return j, nil
}

// checkJWKSURL checks that raw is an https URL, or http on a loopback host.
func checkJWKSURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("jwt: no JWKS URL; set the identity provider's jwks_uri")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("jwt: JWKS URL: %w", err)
	}
	switch {
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return nil, fmt.Errorf("jwt: JWKS URL %q is not an absolute https URL", u.Redacted())
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("jwt: JWKS URL %q is plain http; keys fetched that way could be swapped in transit, so use https", u.Redacted())
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// jwtAlgs checks the configured algorithms; none means RS256 and ES256.
func jwtAlgs(names []string) ([]jose.SignatureAlgorithm, error) {
	if len(names) == 0 {
		names = []string{"RS256", "ES256"}
	}
	algs := make([]jose.SignatureAlgorithm, 0, len(names))
	for _, name := range names {
		if _, ok := jwtAlgorithm(name); !ok {
			if strings.HasPrefix(strings.ToUpper(name), "HS") || strings.EqualFold(name, "none") {
				return nil, fmt.Errorf("jwt: algorithm %q cannot be verified with an issuer's public keys; use RS256, ES256 or the like", name)
			}
			return nil, fmt.Errorf("jwt: unknown algorithm %q; want RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA", name)
		}
		algs = append(algs, jose.SignatureAlgorithm(name))
	}
	return algs, nil
}

// Refresh fetches the issuer's JWKS now, for a server to check at startup
// that the identity provider is reachable. Verify fetches it as needed anyway.
func (j *JWT) Refresh(ctx context.Context) error {
	if j == nil || j.keys == nil {
		return errors.New("jwt: verifier is not configured; make it with NewJWT")
	}
	return j.keys.refreshNow(ctx)
}

// Verify checks the bearer JWT: its alg is allowed, its signature verifies
// with the issuer's key named by its kid, and its claims are current and
// meant for us. The body is not used. When the issuer's keys cannot be
// fetched, the error does not wrap ErrUnauthorized: the token may be fine.
func (j *JWT) Verify(r *http.Request, _ []byte) error {
	if j == nil || j.keys == nil {
		return unauthorized("jwt verifier is not configured; make it with NewJWT")
	}
	token, err := bearerToken(r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	sig, err := jose.ParseSignedCompact(token, j.algs)
	if err != nil {
		if algErr, ok := errors.AsType[*jose.ErrUnexpectedSignatureAlgorithm](err); ok {
			return unauthorized(fmt.Sprintf("token alg %s is not allowed; this source accepts %s", quote(string(algErr.Got)), j.algNames()))
		}
		return unauthorized("bearer token is not a well-formed JWT (want header.payload.signature in base64url, as a JWS compact serialization)")
	}
	header := sig.Signatures[0].Header
	alg := header.Algorithm
	if header.KeyID == "" {
		return unauthorized("token header has no kid, so no key of the issuer's JWKS can be chosen")
	}
	keys, err := j.keys.lookup(r.Context(), header.KeyID)
	if err != nil {
		return err
	}
	fitting := 0
	var payload []byte
	for _, k := range keys {
		if !keyFits(&k, alg) {
			continue
		}
		fitting++
		if payload, err = sig.Verify(k.Key); err == nil {
			break
		}
	}
	switch {
	case fitting == 0:
		return unauthorized(fmt.Sprintf("key %s of the issuer's JWKS cannot verify alg %s", quote(header.KeyID), alg))
	case err != nil:
		return unauthorized(fmt.Sprintf("token signature does not verify with key %s of the issuer's JWKS", quote(header.KeyID)))
	}
	return j.checkClaims(payload)
}

// keyFits reports whether k can verify a signature made with alg.
func keyFits(k *jose.JSONWebKey, alg string) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		return false
	}
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		curve, _ := jwtAlgorithm(alg)
		return curve != "" && key.Curve.Params().Name == curve
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

func (j *JWT) algNames() string {
	names := make([]string, len(j.algs))
	for i, a := range j.algs {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}
