package webhooks

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// QueryToken verifies a static token in a URL query parameter, for senders
// that cannot set headers, such as Splunk's built-in webhook alert action.
// URLs end up in logs and browser histories: prefer a header where the sender
// allows one, and log URLs through RedactQuery. Several tokens may be
// accepted at once for rotation. The zero value rejects every request; it is
// safe for concurrent use.
type QueryToken struct {
	param  string
	tokens tokenDigests
}

var _ Verifier = (*QueryToken)(nil)

// NewQueryToken returns a verifier that accepts any of tokens in the query
// parameter param, e.g. "token". Tokens are compared after URL decoding.
func NewQueryToken(param string, tokens ...string) (*QueryToken, error) {
	if param == "" {
		return nil, errors.New("query token: no query parameter name; set one, e.g. \"token\"")
	}
	if strings.ContainsAny(param, "&=#?") || strings.ContainsFunc(param, isSpace) {
		return nil, fmt.Errorf("query token: parameter name %q cannot appear in a query as written", param)
	}
	d, err := newTokenDigests("query token", tokens)
	if err != nil {
		return nil, err
	}
	return &QueryToken{param: param, tokens: d}, nil
}

// Verify checks that the URL query has the parameter exactly once, holding
// one of the configured tokens. The body is not used.
func (q *QueryToken) Verify(r *http.Request, _ []byte) error {
	if q == nil || q.param == "" {
		return unauthorized("query token verifier has no tokens; make it with NewQueryToken")
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		// Not err itself: it quotes the bad escape, which may be token bytes.
		return unauthorized("URL query is malformed (a bad %-escape or a semicolon separator)")
	}
	values := query[q.param]
	switch {
	case len(values) == 0:
		return unauthorized(fmt.Sprintf("missing query parameter %q", q.param))
	case len(values) > 1:
		// Which one would the sender mean? Refuse rather than guess.
		return unauthorized(fmt.Sprintf("query parameter %q appears %d times; want it once", q.param, len(values)))
	case values[0] == "":
		return unauthorized(fmt.Sprintf("query parameter %q is empty", q.param))
	}
	if !q.tokens.match(values[0]) {
		return unauthorized(fmt.Sprintf("query parameter %q matched none of the configured tokens", q.param))
	}
	return nil
}

// Redacted is what RedactQuery puts in place of a query value.
const Redacted = "REDACTED"

// RedactQuery returns u as a string for logs, with the values of the named
// query parameters (compared case-insensitively) replaced by "REDACTED", and
// any userinfo password hidden. With no params, every query value is
// redacted. The order and encoding of the rest of the query are kept.
func RedactQuery(u *url.URL, params ...string) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.RawQuery != "" {
		pairs := strings.Split(c.RawQuery, "&")
		for i, pair := range pairs {
			key, _, hasValue := strings.Cut(pair, "=")
			if hasValue && redactParam(key, params) {
				pairs[i] = key + "=" + Redacted
			}
		}
		c.RawQuery = strings.Join(pairs, "&")
	}
	return c.Redacted()
}

// redactParam reports whether a query key, as it appears in the URL, names
// one of params; no params means every key.
func redactParam(rawKey string, params []string) bool {
	if len(params) == 0 {
		return true
	}
	key, err := url.QueryUnescape(rawKey)
	if err != nil {
		key = rawKey
	}
	for _, p := range params {
		if strings.EqualFold(key, p) || strings.EqualFold(rawKey, p) {
			return true
		}
	}
	return false
}
