package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/aisoar/aisoar/config"
)

// tokens maps API tokens to the identity they act as. Tokens are kept as
// SHA-256 digests and compared in constant time.
type tokens struct {
	digests [][sha256.Size]byte
	users   []string
}

func buildTokens(cfg []config.APIToken) (*tokens, error) {
	t := &tokens{}
	for i, c := range cfg {
		secret, err := c.Token.Resolve()
		if err != nil {
			return nil, fmt.Errorf("api_tokens[%d] (user %s): %w", i, c.User, err)
		}
		t.digests = append(t.digests, sha256.Sum256([]byte(secret)))
		t.users = append(t.users, c.User)
	}
	return t, nil
}

// user returns the identity of the request's bearer token, or "".
func (t *tokens) user(r *http.Request) string {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return ""
	}
	digest := sha256.Sum256([]byte(token))
	found := ""
	for i, d := range t.digests {
		if subtle.ConstantTimeCompare(digest[:], d[:]) == 1 {
			found = t.users[i]
		}
	}
	return found
}

// authenticated wraps a handler that needs an API token; it receives the
// token's user.
func (t *tokens) authenticated(next func(w http.ResponseWriter, r *http.Request, user string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user := t.user(r)
		if user == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="aisoar"`)
			writeProblem(w, problem{Status: http.StatusUnauthorized, Detail: "send an API token from the config's api_tokens as Authorization: Bearer <token>"})
			return
		}
		next(w, r, user)
	}
}
