package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers (https://www.standardwebhooks.com/).
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// DefaultTolerance is how far a webhook-timestamp may be from now, either
// way, before a request is taken for a replay: the Standard Webhooks default.
const DefaultTolerance = 5 * time.Minute

// secretPrefix marks a Standard Webhooks secret; the rest is base64.
const secretPrefix = "whsec_"

// StandardWebhooksOptions adjusts a StandardWebhooks verifier. The zero value
// gives the defaults.
type StandardWebhooksOptions struct {
	// Tolerance is how far the webhook-timestamp may be from now, in either
	// direction. Zero means DefaultTolerance.
	Tolerance time.Duration
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// StandardWebhooks verifies and signs requests by the Standard Webhooks spec:
// an HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}" with a shared
// secret, in the webhook-signature header. Make one with NewStandardWebhooks;
// the zero value rejects every request. It is safe for concurrent use.
type StandardWebhooks struct {
	key       []byte
	tolerance time.Duration
	now       func() time.Time
}

var _ Verifier = (*StandardWebhooks)(nil)

// NewStandardWebhooks returns a verifier for secret, written "whsec_<base64>"
// as Standard Webhooks senders show it (base64 without the prefix is accepted
// too). At most one options value may be given.
func NewStandardWebhooks(secret string, opts ...StandardWebhooksOptions) (*StandardWebhooks, error) {
	if len(opts) > 1 {
		return nil, fmt.Errorf("standard webhooks: got %d options values, want at most one", len(opts))
	}
	var o StandardWebhooksOptions
	if len(opts) == 1 {
		o = opts[0]
	}
	key, err := decodeSecret(secret)
	if err != nil {
		return nil, err
	}
	if o.Tolerance < 0 {
		return nil, fmt.Errorf("standard webhooks: tolerance %s is negative; use a positive duration or zero for the default %s", o.Tolerance, DefaultTolerance)
	}
	if o.Tolerance == 0 {
		o.Tolerance = DefaultTolerance
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &StandardWebhooks{key: key, tolerance: o.Tolerance, now: o.Now}, nil
}

// decodeSecret returns the HMAC key in a "whsec_" secret. Its errors never
// quote the secret.
func decodeSecret(secret string) ([]byte, error) {
	encoded := strings.TrimPrefix(strings.TrimSpace(secret), secretPrefix)
	if encoded == "" {
		return nil, errors.New("standard webhooks: secret is empty; want whsec_ followed by base64, as the sender shows it")
	}
	// Padding is optional: some senders show secrets without it.
	key, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(encoded, "="))
	if err != nil {
		return nil, fmt.Errorf("standard webhooks: secret is not whsec_ followed by base64: %w", err)
	}
	if len(key) == 0 {
		return nil, errors.New("standard webhooks: secret decodes to an empty key")
	}
	return key, nil
}

// NewSecret returns a fresh random secret (24 random bytes) in the
// "whsec_<base64>" form, for configuring a sender and aisoar together.
func NewSecret() (string, error) {
	key := make([]byte, 24)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate webhook secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// Verify checks that the request carries a current webhook-timestamp and a
// v1 signature of id, timestamp and body made with the secret. Signatures of
// other versions are ignored; any one matching v1 signature is enough, which
// lets a sender rotate secrets.
func (s *StandardWebhooks) Verify(r *http.Request, body []byte) error {
	if s == nil || len(s.key) == 0 {
		return unauthorized("standard webhooks verifier has no secret; make it with NewStandardWebhooks")
	}
	id := r.Header.Get(HeaderWebhookID)
	if id == "" {
		return unauthorized("missing " + HeaderWebhookID + " header")
	}
	rawTS := r.Header.Get(HeaderWebhookTimestamp)
	if rawTS == "" {
		return unauthorized("missing " + HeaderWebhookTimestamp + " header")
	}
	sigs := r.Header.Get(HeaderWebhookSignature)
	if sigs == "" {
		return unauthorized("missing " + HeaderWebhookSignature + " header")
	}
	sec, err := checkTimestamp(HeaderWebhookTimestamp, rawTS, s.now(), s.tolerance)
	if err != nil {
		return err
	}

	want := s.mac(id, sec, body)
	checked := 0
	for _, entry := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		checked++
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	if checked == 0 {
		return unauthorized(HeaderWebhookSignature + " header has no v1 signature")
	}
	return unauthorized(fmt.Sprintf("no signature matched (checked %d v1 signatures; is the secret the sender's?)", checked))
}

// Sign returns the signature of one request, "v1,<base64>", as it goes in
// the webhook-signature header.
func (s *StandardWebhooks) Sign(id string, timestamp time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(s.mac(id, timestamp.Unix(), body))
}

// SetHeaders sets the webhook-id, webhook-timestamp and webhook-signature
// headers of a request with body, as a Standard Webhooks sender does.
func (s *StandardWebhooks) SetHeaders(header http.Header, id string, timestamp time.Time, body []byte) {
	header.Set(HeaderWebhookID, id)
	header.Set(HeaderWebhookTimestamp, strconv.FormatInt(timestamp.Unix(), 10))
	header.Set(HeaderWebhookSignature, s.Sign(id, timestamp, body))
}

// mac is the HMAC-SHA256 of "{id}.{timestamp}.{body}". The timestamp is
// formatted afresh, as the reference libraries do, so "+1614265330" in a
// header signs the same as "1614265330".
func (s *StandardWebhooks) mac(id string, timestamp int64, body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, timestamp, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}
