package webhooks

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
)

// tokenDigests holds the SHA-256 of each accepted static token. Comparing
// digests of equal length keeps the compare constant-time without leaking
// token lengths.
type tokenDigests [][sha256.Size]byte

// newTokenDigests checks and digests tokens for the verifier named what. It
// fails on an empty list, an empty token, or a token with whitespace (often a
// trailing newline from a file), which no sender would present.
func newTokenDigests(what string, tokens []string) (tokenDigests, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("%s: no tokens configured; give at least one", what)
	}
	d := make(tokenDigests, 0, len(tokens))
	for i, tok := range tokens {
		if tok == "" {
			return nil, fmt.Errorf("%s: token %d of %d is empty", what, i+1, len(tokens))
		}
		if strings.ContainsFunc(tok, isSpace) {
			return nil, fmt.Errorf("%s: token %d of %d contains whitespace (a trailing newline from a file?); a %s token cannot", what, i+1, len(tokens), what)
		}
		d = append(d, sha256.Sum256([]byte(tok)))
	}
	return d, nil
}

// match reports whether token is one of the digested tokens. Every digest is
// compared, with no early return.
func (d tokenDigests) match(token string) bool {
	got := sha256.Sum256([]byte(token))
	match := 0
	for i := range d {
		match |= subtle.ConstantTimeCompare(got[:], d[i][:])
	}
	return match == 1
}

// bearerToken returns the token of an "Authorization: Bearer <token>" header.
// Its failures wrap ErrUnauthorized and never quote the header.
func bearerToken(authz string) (string, error) {
	if authz == "" {
		return "", unauthorized("missing Authorization header")
	}
	scheme, token, _ := strings.Cut(authz, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		// The scheme is not quoted back: a token sent without "Bearer " would be.
		return "", unauthorized(`Authorization header is not "Bearer <token>"`)
	}
	token = strings.TrimFunc(token, isSpace)
	if token == "" {
		return "", unauthorized("Authorization header has an empty bearer token")
	}
	return token, nil
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r'
}
