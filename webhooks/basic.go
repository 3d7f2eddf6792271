package webhooks

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"unicode"
)

// Basic verifies HTTP Basic authentication (RFC 7617) against one user name
// and password, for senders that offer nothing else. Make one with NewBasic;
// the zero value rejects every request. It is safe for concurrent use.
type Basic struct {
	// Digests of equal length keep both compares constant-time without
	// leaking lengths.
	user, password [sha256.Size]byte
	ok             bool
}

var _ Verifier = (*Basic)(nil)

// NewBasic returns a verifier that accepts user and password. It fails on an
// empty user or password, a user with a colon, which Basic credentials cannot
// carry, or control characters such as a trailing newline from a file.
func NewBasic(user, password string) (*Basic, error) {
	switch {
	case user == "":
		return nil, errors.New("basic: user is empty")
	case strings.Contains(user, ":"):
		return nil, errors.New("basic: user contains a colon, which Basic credentials cannot carry")
	case strings.ContainsFunc(user, unicode.IsControl):
		return nil, errors.New("basic: user contains a control character")
	case password == "":
		return nil, errors.New("basic: password is empty")
	case strings.ContainsFunc(password, unicode.IsControl):
		return nil, errors.New("basic: password contains a control character (a trailing newline from a file?)")
	}
	return &Basic{user: sha256.Sum256([]byte(user)), password: sha256.Sum256([]byte(password)), ok: true}, nil
}

// Verify checks the Authorization header's Basic credentials. Both the user
// and the password are always compared, and a failure does not say which was
// wrong. The body is not used.
func (b *Basic) Verify(r *http.Request, _ []byte) error {
	if r.Header.Get("Authorization") == "" {
		return unauthorized("missing Authorization header")
	}
	user, password, ok := r.BasicAuth()
	if !ok {
		return unauthorized(`Authorization header is not "Basic <base64 of user:password>"`)
	}
	var want Basic
	if b != nil {
		want = *b
	}
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
	match := subtle.ConstantTimeCompare(u[:], want.user[:]) & subtle.ConstantTimeCompare(p[:], want.password[:])
	if match != 1 || !want.ok {
		return unauthorized("basic credentials do not match the configured user and password")
	}
	return nil
}
