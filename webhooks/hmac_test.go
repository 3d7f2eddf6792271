package webhooks

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Grafana-style settings: a hex HMAC-SHA256 of "{timestamp}:{body}".
const (
	grafanaSecret    = "grafana-webhook-secret"
	grafanaHeader    = "X-Grafana-Alerting-Signature"
	grafanaTSHeader  = "X-Grafana-Alerting-Signature-Timestamp"
	grafanaTimestamp = 1735689600 // 2025-01-01T00:00:00Z
	grafanaBody      = `{"status":"firing"}`
	// Computed independently (Python's hmac module).
	grafanaSignature = "f6c6c72817656a10ff42c5414b9bdde82b9aa27253eb8a8c71a13fd417728033"
)

func grafanaOptions(skew time.Duration) HMACOptions {
	return HMACOptions{
		Header:          grafanaHeader,
		TimestampHeader: grafanaTSHeader,
		SignedString:    "{timestamp}:{body}",
		Now:             func() time.Time { return time.Unix(grafanaTimestamp, 0).Add(skew) },
	}
}

func newTestHMAC(t testing.TB, secret string, opts HMACOptions) *HMAC {
	t.Helper()
	h, err := NewHMAC(secret, opts)
	if err != nil {
		t.Fatalf("NewHMAC: %v", err)
	}
	return h
}

// TestHMACVectors checks signatures published by senders, or computed with
// another implementation, both ways: Sign makes them and Verify accepts them.
func TestHMACVectors(t *testing.T) {
	const slackBody = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	tests := []struct {
		name      string
		secret    string
		opts      HMACOptions
		timestamp int64 // for SignedString with {timestamp}
		body      string
		want      string // the signature header value
	}{
		{
			name:   "GitHub X-Hub-Signature-256 (docs.github.com example)",
			secret: "It's a Secret to Everybody",
			opts:   HMACOptions{Header: "X-Hub-Signature-256", Prefix: "sha256="},
			body:   "Hello, World!",
			want:   "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
		},
		{
			name:   "GitHub legacy X-Hub-Signature, sha1",
			secret: "It's a Secret to Everybody",
			opts:   HMACOptions{Header: "X-Hub-Signature", Prefix: "sha1=", Algorithm: "sha1"},
			body:   "Hello, World!",
			want:   "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59",
		},
		{
			name:      "Grafana timestamp:body",
			secret:    grafanaSecret,
			opts:      grafanaOptions(0),
			timestamp: grafanaTimestamp,
			body:      grafanaBody,
			want:      grafanaSignature,
		},
		{
			name:   "Slack v0 (api.slack.com example)",
			secret: "8f742231b10e8888abcd99yyyzzz85a5",
			opts: HMACOptions{
				Header: "X-Slack-Signature", Prefix: "v0=", TimestampHeader: "X-Slack-Request-Timestamp",
				SignedString: "v0:{timestamp}:{body}", Now: func() time.Time { return time.Unix(1531420618, 0) },
			},
			timestamp: 1531420618,
			body:      slackBody,
			want:      "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
		},
		{
			name:   "sha512 in base64",
			secret: "splunk-s3cret",
			opts:   HMACOptions{Header: "X-Signature", Algorithm: "SHA512", Encoding: "base64"},
			body:   `{"sid":"scheduler__admin"}`,
			want:   "6u0WXO3pfbgBuCq5WBBYfIizDotT5bftzz4sQRiT8LOBFhE1IsXkXphNYM4ns69U9OifTgtesytSZpEhLfjo6A==",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHMAC(t, tt.secret, tt.opts)
			ts := time.Unix(tt.timestamp, 0)
			if got := h.Sign(ts, []byte(tt.body)); got != tt.want {
				t.Errorf("Sign = %q, want %q", got, tt.want)
			}
			header := http.Header{}
			header.Set(tt.opts.Header, tt.want)
			if tt.opts.TimestampHeader != "" {
				header.Set(tt.opts.TimestampHeader, strconv.FormatInt(tt.timestamp, 10))
			}
			if err := h.Verify(alertRequest(header), []byte(tt.body)); err != nil {
				t.Errorf("Verify of the vector: %v", err)
			}
			signed := http.Header{}
			h.SetHeaders(signed, ts, []byte(tt.body))
			if err := h.Verify(alertRequest(signed), []byte(tt.body)); err != nil {
				t.Errorf("Verify after SetHeaders: %v", err)
			}
		})
	}
}

func TestHMACVerify(t *testing.T) {
	ts := strconv.Itoa(grafanaTimestamp)
	wrongSecret := newTestHMAC(t, "another-secret", grafanaOptions(0)).Sign(time.Unix(grafanaTimestamp, 0), []byte(grafanaBody))
	tests := []struct {
		name    string
		skew    time.Duration     // verifier clock minus the signing time
		headers map[string]string // overrides; "" deletes
		body    string            // default grafanaBody
		wantMsg string            // substring of the error; "" means success
	}{
		{name: "valid"},
		{name: "valid at the edge of the past tolerance", skew: 5 * time.Minute},
		{name: "valid at the edge of the future tolerance", skew: -5 * time.Minute},
		{name: "upper-case hex", headers: map[string]string{grafanaHeader: strings.ToUpper(grafanaSignature)}},
		{name: "missing signature", headers: map[string]string{grafanaHeader: ""},
			wantMsg: "missing X-Grafana-Alerting-Signature header"},
		{name: "missing timestamp", headers: map[string]string{grafanaTSHeader: ""},
			wantMsg: "missing X-Grafana-Alerting-Signature-Timestamp header"},
		{name: "wrong secret", headers: map[string]string{grafanaHeader: wrongSecret},
			wantMsg: `X-Grafana-Alerting-Signature signature did not match an HMAC-SHA256 of "{timestamp}:{body}" (is the secret the sender's?)`},
		{name: "tampered body", body: `{"status":"resolved"}`, wantMsg: "signature did not match"},
		{name: "timestamp changed within tolerance", headers: map[string]string{grafanaTSHeader: strconv.Itoa(grafanaTimestamp + 1)},
			wantMsg: "signature did not match"},
		{name: "timestamp reformatted", headers: map[string]string{grafanaTSHeader: "+" + ts},
			wantMsg: "signature did not match"},
		{name: "stale timestamp", skew: 5*time.Minute + time.Second,
			wantMsg: "timestamp 2025-01-01T00:00:00Z is 5m1s in the past, outside the 5m0s tolerance"},
		{name: "future timestamp", skew: -time.Hour,
			wantMsg: "timestamp 2025-01-01T00:00:00Z is 1h0m0s in the future, outside the 5m0s tolerance"},
		{name: "timestamp in milliseconds", headers: map[string]string{grafanaTSHeader: ts + "000"},
			wantMsg: "X-Grafana-Alerting-Signature-Timestamp 1735689600000 is not a time near now"},
		{name: "timestamp not a number", headers: map[string]string{grafanaTSHeader: "2025-01-01T00:00:00Z"},
			wantMsg: `X-Grafana-Alerting-Signature-Timestamp "2025-01-01T00:00:00Z" is not unix seconds`},
		{name: "not hex", headers: map[string]string{grafanaHeader: strings.Repeat("zz", 32)},
			wantMsg: "X-Grafana-Alerting-Signature header is not hex"},
		{name: "truncated", headers: map[string]string{grafanaHeader: grafanaSignature[:40]},
			wantMsg: "holds a 20-byte signature; HMAC-SHA256 gives 32 bytes (is the algorithm the sender's?)"},
		{name: "unexpected prefix", headers: map[string]string{grafanaHeader: "sha256=" + grafanaSignature},
			wantMsg: "header is not hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHMAC(t, grafanaSecret, grafanaOptions(tt.skew))
			header := http.Header{}
			header.Set(grafanaHeader, grafanaSignature)
			header.Set(grafanaTSHeader, ts)
			for k, v := range tt.headers {
				if v == "" {
					header.Del(k)
				} else {
					header.Set(k, v)
				}
			}
			body := tt.body
			if body == "" {
				body = grafanaBody
			}
			err := h.Verify(alertRequest(header), []byte(body))
			if !checkVerifyError(t, err, tt.wantMsg) {
				return
			}
			expected := h.Sign(time.Unix(grafanaTimestamp, 0), []byte(body))
			for _, s := range []string{grafanaSecret, expected} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q shows the secret or the expected signature", err)
				}
			}
		})
	}
}

func TestHMACPrefix(t *testing.T) {
	h := newTestHMAC(t, "It's a Secret to Everybody", HMACOptions{Header: "X-Hub-Signature-256", Prefix: "sha256="})
	tests := []struct {
		name, value, wantMsg string
	}{
		{name: "prefixed", value: "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
		{name: "no prefix", value: "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
			wantMsg: `X-Hub-Signature-256 header does not start with "sha256="`},
		{name: "other algorithm", value: "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59",
			wantMsg: `does not start with "sha256="`},
		{name: "prefix then garbage", value: "sha256=xyz", wantMsg: `X-Hub-Signature-256 header is not hex after the prefix "sha256="`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := h.Verify(alertRequest(http.Header{"X-Hub-Signature-256": {tt.value}}), []byte("Hello, World!"))
			checkVerifyError(t, err, tt.wantMsg)
		})
	}
}

func TestHMACBase64Padding(t *testing.T) {
	h := newTestHMAC(t, "splunk-s3cret", HMACOptions{Header: "X-Signature", Algorithm: "sha512", Encoding: "base64"})
	const padded = "6u0WXO3pfbgBuCq5WBBYfIizDotT5bftzz4sQRiT8LOBFhE1IsXkXphNYM4ns69U9OifTgtesytSZpEhLfjo6A=="
	body := []byte(`{"sid":"scheduler__admin"}`)
	for _, v := range []string{padded, strings.TrimRight(padded, "=")} {
		if err := h.Verify(alertRequest(http.Header{"X-Signature": {v}}), body); err != nil {
			t.Errorf("Verify(%q): %v", v, err)
		}
	}
	err := h.Verify(alertRequest(http.Header{"X-Signature": {"not base64!"}}), body)
	checkVerifyError(t, err, "X-Signature header is not base64")
}

func TestNewHMAC(t *testing.T) {
	const secret = "hmac-s3cret-value"
	tests := []struct {
		name    string
		secret  string
		opts    HMACOptions
		wantErr string // substring; "" means success
	}{
		{name: "defaults", secret: secret, opts: HMACOptions{Header: "X-Signature"}},
		{name: "all set", secret: secret, opts: HMACOptions{Header: "X-Sig", Algorithm: "sha1", Encoding: "base64", Prefix: "v1=",
			TimestampHeader: "X-Ts", Tolerance: time.Minute, SignedString: "{timestamp}.{body}"}},
		{name: "literal text in the template", secret: secret, opts: HMACOptions{Header: "X-Sig", TimestampHeader: "X-Ts", SignedString: "v0:{timestamp}:{body}"}},
		{name: "empty secret", secret: "", opts: HMACOptions{Header: "X-Sig"}, wantErr: "secret is empty"},
		{name: "trailing newline", secret: "s3cr3t\n", opts: HMACOptions{Header: "X-Sig"}, wantErr: "whitespace"},
		{name: "no header", secret: secret, wantErr: "no signature header; set Header"},
		{name: "unknown algorithm", secret: secret, opts: HMACOptions{Header: "X-Sig", Algorithm: "md5"},
			wantErr: `unknown algorithm "md5"; want sha256, sha1 or sha512`},
		{name: "unknown encoding", secret: secret, opts: HMACOptions{Header: "X-Sig", Encoding: "base32"},
			wantErr: `unknown encoding "base32"; want hex or base64`},
		{name: "template without body", secret: secret, opts: HMACOptions{Header: "X-Sig", TimestampHeader: "X-Ts", SignedString: "{timestamp}"},
			wantErr: "must include {body} exactly once, not 0 times"},
		{name: "template with body twice", secret: secret, opts: HMACOptions{Header: "X-Sig", SignedString: "{body}{body}"},
			wantErr: "exactly once, not 2 times"},
		{name: "unknown placeholder", secret: secret, opts: HMACOptions{Header: "X-Sig", SignedString: "{id}.{body}"},
			wantErr: "unknown placeholder {id}"},
		{name: "unclosed placeholder", secret: secret, opts: HMACOptions{Header: "X-Sig", SignedString: "{body"},
			wantErr: "a { without a closing }"},
		{name: "timestamp without header", secret: secret, opts: HMACOptions{Header: "X-Sig", SignedString: "{timestamp}:{body}"},
			wantErr: "uses {timestamp} but no TimestampHeader is set"},
		{name: "timestamp header not signed", secret: secret, opts: HMACOptions{Header: "X-Sig", TimestampHeader: "X-Ts"},
			wantErr: "does not include {timestamp}, so the timestamp would not be signed"},
		{name: "negative tolerance", secret: secret, opts: HMACOptions{Header: "X-Sig", TimestampHeader: "X-Ts", SignedString: "{timestamp}:{body}", Tolerance: -time.Second},
			wantErr: "tolerance -1s is negative"},
		{name: "tolerance without timestamp", secret: secret, opts: HMACOptions{Header: "X-Sig", Tolerance: time.Minute},
			wantErr: "tolerance is set but TimestampHeader is not"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHMAC(tt.secret, tt.opts)
			if tt.wantErr == "" {
				if err != nil || h == nil {
					t.Fatalf("NewHMAC: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if tt.secret != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.secret)) {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

func TestHMACTolerance(t *testing.T) {
	opts := grafanaOptions(2 * time.Minute)
	opts.Tolerance = time.Minute
	h := newTestHMAC(t, grafanaSecret, opts)
	header := http.Header{}
	h.SetHeaders(header, time.Unix(grafanaTimestamp, 0), []byte(grafanaBody))
	err := h.Verify(alertRequest(header), []byte(grafanaBody))
	checkVerifyError(t, err, "outside the 1m0s tolerance")
}

func TestHMACZeroValue(t *testing.T) {
	header := http.Header{"X-Signature": {grafanaSignature}}
	var zero HMAC
	if err := zero.Verify(alertRequest(header), nil); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("zero value Verify = %v, want ErrUnauthorized", err)
	}
	var nilHMAC *HMAC
	if err := nilHMAC.Verify(alertRequest(header), nil); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("nil Verify = %v, want ErrUnauthorized", err)
	}
}

func FuzzHMACVerify(f *testing.F) {
	f.Add(grafanaSignature, strconv.Itoa(grafanaTimestamp), []byte(grafanaBody))
	f.Add("", "", []byte(nil))
	f.Add(strings.ToUpper(grafanaSignature), "+1735689600", []byte("{}"))
	f.Add("sha256="+grafanaSignature, "-1", []byte("\x00\xff"))
	f.Add(grafanaSignature[:63], "99999999999999999999", []byte("{timestamp}"))
	h := newTestHMAC(f, grafanaSecret, grafanaOptions(0))
	f.Fuzz(func(t *testing.T, signature, timestamp string, body []byte) {
		header := http.Header{}
		header.Set(grafanaHeader, signature)
		header.Set(grafanaTSHeader, timestamp)
		if err := h.Verify(alertRequest(header), body); err != nil && !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("error %v does not wrap ErrUnauthorized", err)
		}
		// Whatever the body, what SetHeaders signs, Verify accepts.
		header = http.Header{}
		h.SetHeaders(header, time.Unix(grafanaTimestamp, 0), body)
		if err := h.Verify(alertRequest(header), body); err != nil {
			t.Fatalf("Verify after SetHeaders: %v", err)
		}
	})
}
