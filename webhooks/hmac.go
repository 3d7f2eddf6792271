package webhooks

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The placeholders of HMACOptions.SignedString.
const (
	placeholderBody      = "{body}"
	placeholderTimestamp = "{timestamp}"
)

// HMACOptions describes a sender's own HMAC signature scheme. Only Header is
// required; the zero values of the rest give an HMAC-SHA256 of the body, in hex.
type HMACOptions struct {
	// Header carries the signature, e.g. "X-Hub-Signature-256".
	Header string
	// Algorithm is the hash: "sha256" (the default), "sha1" or "sha512".
	Algorithm string
	// Encoding of the signature: "hex" (the default) or "base64".
	Encoding string
	// Prefix precedes the encoded signature in the header, e.g. "sha256=".
	Prefix string
	// TimestampHeader, if set, carries the time of signing in unix seconds,
	// e.g. "X-Grafana-Alerting-Signature-Timestamp". SignedString must then
	// include {timestamp}, or the timestamp would prove nothing.
	TimestampHeader string
	// Tolerance is how far the timestamp may be from now, either way. Zero
	// means DefaultTolerance; it needs TimestampHeader.
	Tolerance time.Duration
	// SignedString is what the sender signs, with the placeholders {body} and
	// {timestamp}: "{body}" (the default), "{timestamp}:{body}" (Grafana),
	// "v0:{timestamp}:{body}" (Slack). Other text is signed as written.
	SignedString string
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// HMAC verifies and signs requests with an HMAC of the body (and optionally
// a timestamp) under a shared secret, for senders with their own schemes such
// as GitHub and Grafana. Make one with NewHMAC; the zero value rejects every
// request. It is safe for concurrent use.
type HMAC struct {
	key       []byte
	newHash   func() hash.Hash
	algorithm string // for messages
	size      int
	base64    bool
	header    string
	prefix    string
	tsHeader  string
	tolerance time.Duration
	signed    []signedPart
	template  string // for messages
	now       func() time.Time
}

var _ Verifier = (*HMAC)(nil)

// signedPart is one piece of the signed string: literal text or a placeholder.
type signedPart struct {
	literal string
	field   string // placeholderBody, placeholderTimestamp, or "" for literal
}

// NewHMAC returns a verifier for secret, used as the HMAC key as written. It
// fails on options that cannot describe a working scheme. Its errors never
// quote the secret.
func NewHMAC(secret string, opts HMACOptions) (*HMAC, error) {
	if secret == "" {
		return nil, errors.New("hmac: secret is empty")
	}
	if strings.TrimFunc(secret, isSpace) != secret {
		return nil, errors.New("hmac: secret starts or ends with whitespace (a trailing newline from a file?); senders sign with the secret as written")
	}
	h := &HMAC{key: []byte(secret), prefix: opts.Prefix, now: opts.Now}
	if h.header = strings.TrimSpace(opts.Header); h.header == "" {
		return nil, errors.New(`hmac: no signature header; set Header, e.g. "X-Hub-Signature-256"`)
	}
	switch h.algorithm = strings.ToLower(opts.Algorithm); h.algorithm {
	case "", "sha256":
		h.algorithm, h.newHash, h.size = "sha256", sha256.New, sha256.Size
	case "sha1":
		h.newHash, h.size = sha1.New, sha1.Size
	case "sha512":
		h.newHash, h.size = sha512.New, sha512.Size
	default:
		return nil, fmt.Errorf("hmac: unknown algorithm %q; want sha256, sha1 or sha512", opts.Algorithm)
	}
	switch strings.ToLower(opts.Encoding) {
	case "", "hex":
	case "base64":
		h.base64 = true
	default:
		return nil, fmt.Errorf("hmac: unknown encoding %q; want hex or base64", opts.Encoding)
	}
	h.template = opts.SignedString
	if h.template == "" {
		h.template = placeholderBody
	}
	signed, err := parseSignedString(h.template)
	if err != nil {
		return nil, err
	}
	h.signed = signed
	h.tsHeader = strings.TrimSpace(opts.TimestampHeader)
	usesTimestamp := strings.Contains(h.template, placeholderTimestamp)
	switch {
	case usesTimestamp && h.tsHeader == "":
		return nil, fmt.Errorf("hmac: signed string %q uses {timestamp} but no TimestampHeader is set", h.template)
	case !usesTimestamp && h.tsHeader != "":
		return nil, fmt.Errorf(`hmac: TimestampHeader %q is set but signed string %q does not include {timestamp}, so the timestamp would not be signed; set SignedString, e.g. "{timestamp}:{body}"`, h.tsHeader, h.template)
	case opts.Tolerance < 0:
		return nil, fmt.Errorf("hmac: tolerance %s is negative; use a positive duration or zero for the default %s", opts.Tolerance, DefaultTolerance)
	case opts.Tolerance > 0 && h.tsHeader == "":
		return nil, errors.New("hmac: tolerance is set but TimestampHeader is not; without a signed timestamp there is nothing to check it against")
	}
	h.tolerance = opts.Tolerance
	if h.tolerance == 0 {
		h.tolerance = DefaultTolerance
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// parseSignedString splits a SignedString template into literal text and
// placeholders. {body} must appear exactly once; any other {name} is an error.
func parseSignedString(template string) ([]signedPart, error) {
	var parts []signedPart
	bodies := 0
	for rest := template; rest != ""; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			parts = append(parts, signedPart{literal: rest})
			break
		}
		if open > 0 {
			parts = append(parts, signedPart{literal: rest[:open]})
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("hmac: signed string %q has a { without a closing }", template)
		}
		field := rest[open : open+end+1]
		switch field {
		case placeholderBody:
			bodies++
		case placeholderTimestamp:
		default:
			return nil, fmt.Errorf("hmac: signed string %q has unknown placeholder %s; want {body} and optionally {timestamp}", template, field)
		}
		parts = append(parts, signedPart{field: field})
		rest = rest[open+end+1:]
	}
	if bodies != 1 {
		return nil, fmt.Errorf("hmac: signed string %q must include {body} exactly once, not %d times", template, bodies)
	}
	return parts, nil
}

// Verify checks the signature header (and the timestamp header, if
// configured) against an HMAC of the signed string made with the secret.
func (h *HMAC) Verify(r *http.Request, body []byte) error {
	if h == nil || len(h.key) == 0 {
		return unauthorized("hmac verifier has no secret; make it with NewHMAC")
	}
	raw := r.Header.Get(h.header)
	if raw == "" {
		return unauthorized("missing " + h.header + " header")
	}
	encoded, ok := strings.CutPrefix(raw, h.prefix)
	if !ok {
		return unauthorized(fmt.Sprintf("%s header does not start with %q", h.header, h.prefix))
	}
	got, err := h.decode(encoded)
	if err != nil {
		msg := fmt.Sprintf("%s header is not %s", h.header, h.encodingName())
		if h.prefix != "" {
			msg += fmt.Sprintf(" after the prefix %q", h.prefix)
		}
		return unauthorized(msg)
	}
	if len(got) != h.size {
		return unauthorized(fmt.Sprintf("%s header holds a %d-byte signature; HMAC-%s gives %d bytes (is the algorithm the sender's?)",
			h.header, len(got), strings.ToUpper(h.algorithm), h.size))
	}
	var timestamp string
	if h.tsHeader != "" {
		if timestamp = r.Header.Get(h.tsHeader); timestamp == "" {
			return unauthorized("missing " + h.tsHeader + " header")
		}
		if _, err := checkTimestamp(h.tsHeader, timestamp, h.now(), h.tolerance); err != nil {
			return err
		}
	}
	// The timestamp is signed as sent, not reformatted: it is the sender's text.
	if !hmac.Equal(got, h.mac(timestamp, body)) {
		return unauthorized(fmt.Sprintf("%s signature did not match an HMAC-%s of %q (is the secret the sender's?)",
			h.header, strings.ToUpper(h.algorithm), h.template))
	}
	return nil
}

// Sign returns the signature header value of a request with body signed at
// timestamp; the timestamp is ignored unless the signed string uses it. h
// must come from NewHMAC.
func (h *HMAC) Sign(timestamp time.Time, body []byte) string {
	sum := h.mac(strconv.FormatInt(timestamp.Unix(), 10), body)
	if h.base64 {
		return h.prefix + base64.StdEncoding.EncodeToString(sum)
	}
	return h.prefix + hex.EncodeToString(sum)
}

// SetHeaders sets the signature header, and the timestamp header if
// configured, of a request with body, as the sender would.
func (h *HMAC) SetHeaders(header http.Header, timestamp time.Time, body []byte) {
	if h.tsHeader != "" {
		header.Set(h.tsHeader, strconv.FormatInt(timestamp.Unix(), 10))
	}
	header.Set(h.header, h.Sign(timestamp, body))
}

// mac is the HMAC of the signed string with timestamp and body filled in.
func (h *HMAC) mac(timestamp string, body []byte) []byte {
	m := hmac.New(h.newHash, h.key)
	for _, p := range h.signed {
		switch p.field {
		case placeholderBody:
			m.Write(body)
		case placeholderTimestamp:
			m.Write([]byte(timestamp))
		default:
			m.Write([]byte(p.literal))
		}
	}
	return m.Sum(nil)
}

// decode decodes a received signature: hex of either case, or standard
// base64 with or without padding.
func (h *HMAC) decode(s string) ([]byte, error) {
	if h.base64 {
		return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	return hex.DecodeString(s)
}

func (h *HMAC) encodingName() string {
	if h.base64 {
		return "base64"
	}
	return "hex"
}
