package webhooks

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Bearer verifies an "Authorization: Bearer <token>" header, for senders that
// can only send a static credential. Several tokens may be accepted at once so
// that a token can be rotated without downtime. It is safe for concurrent use;
// the zero value rejects every request.
type Bearer struct {
	// digests holds the SHA-256 of each token: comparing digests of equal
	// length keeps the compare constant-time without leaking token lengths.
	digests [][sha256.Size]byte
}

var _ Verifier = (*Bearer)(nil)

// NewBearer returns a verifier that accepts any of tokens. It fails on an
// empty list, an empty token, or a token with whitespace (often a trailing
// newline from a file), which no Authorization header could carry.
func NewBearer(tokens ...string) (*Bearer, error) {
	if len(tokens) == 0 {
		return nil, errors.New("bearer: no tokens configured; give at least one")
	}
	b := &Bearer{digests: make([][sha256.Size]byte, 0, len(tokens))}
	for i, tok := range tokens {
		if tok == "" {
			return nil, fmt.Errorf("bearer: token %d of %d is empty", i+1, len(tokens))
		}
		if strings.ContainsFunc(tok, isSpace) {
			return nil, fmt.Errorf("bearer: token %d of %d contains whitespace (a trailing newline from a file?); a bearer token cannot", i+1, len(tokens))
		}
		b.digests = append(b.digests, sha256.Sum256([]byte(tok)))
	}
	return b, nil
}

// Verify checks the Authorization header against every configured token. The
// body is not used.
func (b *Bearer) Verify(header http.Header, _ []byte) error {
	authz := header.Get("Authorization")
	if authz == "" {
		return unauthorized("missing Authorization header")
	}
	scheme, token, _ := strings.Cut(authz, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		// The scheme is not quoted back: a token sent without "Bearer " would be.
		return unauthorized(`Authorization header is not "Bearer <token>"`)
	}
	token = strings.TrimFunc(token, isSpace)
	if token == "" {
		return unauthorized("Authorization header has an empty bearer token")
	}
	got := sha256.Sum256([]byte(token))
	match := 0
	if b != nil {
		for i := range b.digests {
			// No early return: every configured token is compared.
			match |= subtle.ConstantTimeCompare(got[:], b.digests[i][:])
		}
	}
	if match != 1 {
		return unauthorized("bearer token matched none of the configured tokens")
	}
	return nil
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r'
}
