package webhooks

import (
	"net/http"
)

// Bearer verifies an "Authorization: Bearer <token>" header, for senders that
// can only send a static credential. Several tokens may be accepted at once so
// that a token can be rotated without downtime. It is safe for concurrent use;
// the zero value rejects every request.
type Bearer struct {
	tokens tokenDigests
}

var _ Verifier = (*Bearer)(nil)

// NewBearer returns a verifier that accepts any of tokens. It fails on an
// empty list, an empty token, or a token with whitespace (often a trailing
// newline from a file), which no Authorization header could carry.
func NewBearer(tokens ...string) (*Bearer, error) {
	d, err := newTokenDigests("bearer", tokens)
	if err != nil {
		return nil, err
	}
	return &Bearer{tokens: d}, nil
}

// Verify checks the Authorization header against every configured token. The
// body is not used.
func (b *Bearer) Verify(r *http.Request, _ []byte) error {
	token, err := bearerToken(r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	if b == nil || !b.tokens.match(token) {
		return unauthorized("bearer token matched none of the configured tokens")
	}
	return nil
}
