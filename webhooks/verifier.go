// Package webhooks verifies that a webhook request came from its sender
// before its body is parsed.
package webhooks

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Verifier checks one request: its headers, URL, remote address or TLS state.
// body is the full raw body, already read and size-limited by the caller;
// r.Body must not be read. Implementations are safe for concurrent use.
type Verifier interface {
	Verify(r *http.Request, body []byte) error
}

// ErrUnauthorized is wrapped by every verification failure (the server maps it
// to 401). Messages say what was wrong and never include secrets or the
// expected signature.
var ErrUnauthorized = errors.New("unauthorized")

// unauthorized makes a verification failure: ErrUnauthorized with a reason.
func unauthorized(reason string) error {
	return &verifyError{reason: reason}
}

// verifyError is the concrete verification failure. It is unexported so that
// the only promise is errors.Is(err, ErrUnauthorized).
type verifyError struct{ reason string }

func (e *verifyError) Error() string { return "unauthorized: " + e.reason }
func (e *verifyError) Unwrap() error { return ErrUnauthorized }

// quote quotes an untrusted header value for a message, cut to a readable length.
func quote(s string) string {
	const limit = 64
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return strconv.Quote(s)
}

// quoteList quotes untrusted values for a message: at most a few, each cut
// to a readable length.
func quoteList(values []string) string {
	const limit = 5
	quoted := make([]string, 0, min(len(values), limit)+1)
	for i, v := range values {
		if i == limit {
			quoted = append(quoted, fmt.Sprintf("and %d more", len(values)-limit))
			break
		}
		quoted = append(quoted, quote(v))
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}
