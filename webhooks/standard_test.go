package webhooks

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The test vector published with the Standard Webhooks reference libraries.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func vectorTime() time.Time { return time.Unix(vectorTimestamp, 0) }

// newVectorVerifier returns a verifier for the vector's secret whose clock
// reads the vector's timestamp plus skew.
func newVectorVerifier(t *testing.T, secret string, skew time.Duration) *StandardWebhooks {
	t.Helper()
	v, err := NewStandardWebhooks(secret, StandardWebhooksOptions{
		Now: func() time.Time { return vectorTime().Add(skew) },
	})
	if err != nil {
		t.Fatalf("NewStandardWebhooks: %v", err)
	}
	return v
}

func TestStandardWebhooksVector(t *testing.T) {
	v := newVectorVerifier(t, vectorSecret, 0)
	if got := v.Sign(vectorID, vectorTime(), []byte(vectorBody)); got != vectorSignature {
		t.Errorf("Sign = %q, want %q", got, vectorSignature)
	}
	h := http.Header{}
	h.Set("webhook-id", vectorID)
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", vectorSignature)
	if err := v.Verify(alertRequest(h), []byte(vectorBody)); err != nil {
		t.Errorf("Verify of the spec's test vector: %v", err)
	}
	// The same key given without the prefix.
	bare := newVectorVerifier(t, strings.TrimPrefix(vectorSecret, "whsec_"), 0)
	if err := bare.Verify(alertRequest(h), []byte(vectorBody)); err != nil {
		t.Errorf("Verify with the secret given without whsec_: %v", err)
	}
}

func TestStandardWebhooksVerify(t *testing.T) {
	const otherSecret = "whsec_" + "c2VjcmV0LXRoYXQtaXMtbm90LXRoZS1zZW5kZXJz" // base64 of a different key
	wrongSig := newVectorVerifier(t, otherSecret, 0).Sign(vectorID, vectorTime(), []byte(vectorBody))

	tests := []struct {
		name    string
		secret  string        // default vectorSecret
		skew    time.Duration // verifier clock minus the vector's timestamp
		headers map[string]string
		body    string // default vectorBody
		wantMsg string // substring of the error; "" means success
	}{
		{name: "valid"},
		{name: "valid at the edge of the past tolerance", skew: 5 * time.Minute},
		{name: "valid at the edge of the future tolerance", skew: -5 * time.Minute},
		{name: "wrong secret", secret: otherSecret, wantMsg: "no signature matched (checked 1 v1 signatures"},
		{name: "stale timestamp", skew: 5*time.Minute + time.Second,
			wantMsg: "timestamp 2021-02-25T15:02:10Z is 5m1s in the past, outside the 5m0s tolerance"},
		{name: "future timestamp", skew: -time.Hour,
			wantMsg: "timestamp 2021-02-25T15:02:10Z is 1h0m0s in the future, outside the 5m0s tolerance"},
		{name: "missing id", headers: map[string]string{"webhook-id": ""}, wantMsg: "missing webhook-id header"},
		{name: "missing timestamp", headers: map[string]string{"webhook-timestamp": ""}, wantMsg: "missing webhook-timestamp header"},
		{name: "missing signature", headers: map[string]string{"webhook-signature": ""}, wantMsg: "missing webhook-signature header"},
		{name: "non-numeric timestamp", headers: map[string]string{"webhook-timestamp": "2021-02-28T15:02:10Z"},
			wantMsg: `webhook-timestamp "2021-02-28T15:02:10Z" is not unix seconds`},
		{name: "huge timestamp", headers: map[string]string{"webhook-timestamp": "9223372036854775807"},
			wantMsg: "webhook-timestamp 9223372036854775807 is not a time near now, outside the 5m0s tolerance"},
		{name: "negative timestamp", headers: map[string]string{"webhook-timestamp": "-9223372036854775808"},
			wantMsg: "is not a time near now, outside the 5m0s tolerance"},
		{name: "timestamp a century ago", headers: map[string]string{"webhook-timestamp": "-1540000000"},
			wantMsg: "timestamp 1921-03-14T22:13:20Z is 876184h48m50s in the past"},
		{name: "timestamp changed", headers: map[string]string{"webhook-timestamp": "1614265331"}, wantMsg: "no signature matched"},
		{name: "id changed", headers: map[string]string{"webhook-id": "msg_other"}, wantMsg: "no signature matched"},
		{name: "tampered body", body: `{"test": 2432232315}`, wantMsg: "no signature matched"},
		{name: "multiple signatures, second matches",
			headers: map[string]string{"webhook-signature": wrongSig + " " + vectorSignature}},
		{name: "multiple signatures, none matches",
			headers: map[string]string{"webhook-signature": wrongSig + " " + wrongSig}, wantMsg: "checked 2 v1 signatures"},
		{name: "other versions ignored",
			headers: map[string]string{"webhook-signature": "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= " + vectorSignature}},
		{name: "only other versions",
			headers: map[string]string{"webhook-signature": "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v2,abc"},
			wantMsg: "webhook-signature header has no v1 signature"},
		{name: "signature without version",
			headers: map[string]string{"webhook-signature": strings.TrimPrefix(vectorSignature, "v1,")},
			wantMsg: "has no v1 signature"},
		{name: "signature not base64",
			headers: map[string]string{"webhook-signature": "v1,!!!"}, wantMsg: "no signature matched"},
		{name: "signature truncated",
			headers: map[string]string{"webhook-signature": vectorSignature[:20]}, wantMsg: "no signature matched"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := tt.secret
			if secret == "" {
				secret = vectorSecret
			}
			v := newVectorVerifier(t, secret, tt.skew)
			h := http.Header{}
			h.Set("webhook-id", vectorID)
			h.Set("webhook-timestamp", "1614265330")
			h.Set("webhook-signature", vectorSignature)
			for k, val := range tt.headers {
				if val == "" {
					h.Del(k)
				} else {
					h.Set(k, val)
				}
			}
			body := tt.body
			if body == "" {
				body = vectorBody
			}
			err := v.Verify(alertRequest(h), []byte(body))
			if !checkVerifyError(t, err, tt.wantMsg) {
				return
			}
			checkNoSecrets(t, err, secret, v.Sign(h.Get("webhook-id"), vectorTime(), []byte(body)))
		})
	}
}

// checkNoSecrets fails if err's message shows the secret, its key, or the
// signature the verifier expected.
func checkNoSecrets(t *testing.T, err error, secret, expected string) {
	t.Helper()
	key := strings.TrimPrefix(secret, "whsec_")
	for _, s := range []string{secret, key, expected, strings.TrimPrefix(expected, "v1,")} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q shows a secret or the expected signature", err)
		}
	}
}

func TestNewStandardWebhooks(t *testing.T) {
	tests := []struct {
		name    string
		secret  string
		opts    []StandardWebhooksOptions
		wantErr string // substring; "" means success
	}{
		{name: "prefixed", secret: vectorSecret},
		{name: "bare base64", secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		{name: "padded", secret: "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789"))},
		{name: "unpadded", secret: "whsec_" + base64.RawStdEncoding.EncodeToString([]byte("0123456789"))},
		{name: "trailing newline from a file", secret: vectorSecret + "\n"},
		{name: "options", secret: vectorSecret, opts: []StandardWebhooksOptions{{Tolerance: time.Minute}}},
		{name: "empty", secret: "", wantErr: "secret is empty"},
		{name: "prefix only", secret: "whsec_", wantErr: "secret is empty"},
		{name: "padding only", secret: "whsec_====", wantErr: "empty key"},
		{name: "not base64", secret: "whsec_not*base64!", wantErr: "not whsec_ followed by base64"},
		{name: "negative tolerance", secret: vectorSecret,
			opts: []StandardWebhooksOptions{{Tolerance: -time.Second}}, wantErr: "tolerance -1s is negative"},
		{name: "two options values", secret: vectorSecret,
			opts: []StandardWebhooksOptions{{}, {}}, wantErr: "at most one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewStandardWebhooks(tt.secret, tt.opts...)
			if tt.wantErr == "" {
				if err != nil || v == nil {
					t.Fatalf("NewStandardWebhooks: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if tt.secret != "" && strings.Contains(err.Error(), strings.TrimPrefix(tt.secret, "whsec_")) && strings.TrimPrefix(tt.secret, "whsec_") != "" {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

func TestStandardWebhooksTolerance(t *testing.T) {
	body := []byte(`{}`)
	v, err := NewStandardWebhooks(vectorSecret, StandardWebhooksOptions{
		Tolerance: time.Minute,
		Now:       func() time.Time { return vectorTime().Add(2 * time.Minute) },
	})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	v.SetHeaders(h, "msg_1", vectorTime(), body)
	if err := v.Verify(alertRequest(h), body); err == nil || !strings.Contains(err.Error(), "outside the 1m0s tolerance") {
		t.Errorf("Verify = %v, want the 1m0s tolerance enforced", err)
	}
}

func TestStandardWebhooksZeroValue(t *testing.T) {
	var zero StandardWebhooks
	h := http.Header{}
	zero.SetHeaders(h, "msg_1", time.Now(), nil) // signed with an empty key, which anyone can do
	if err := zero.Verify(alertRequest(h), nil); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("zero value Verify = %v, want ErrUnauthorized", err)
	}
	var nilVerifier *StandardWebhooks
	if err := nilVerifier.Verify(alertRequest(h), nil); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("nil Verify = %v, want ErrUnauthorized", err)
	}
}

func TestNewSecret(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two secrets are equal: %q", a)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	if !strings.HasPrefix(a, "whsec_") || err != nil || len(key) != 24 {
		t.Errorf("NewSecret() = %q, want whsec_ and base64 of 24 bytes", a)
	}
	v, err := NewStandardWebhooks(a)
	if err != nil {
		t.Fatalf("NewStandardWebhooks(NewSecret()): %v", err)
	}
	h := http.Header{}
	v.SetHeaders(h, "msg_1", time.Now(), []byte("{}"))
	if err := v.Verify(alertRequest(h), []byte("{}")); err != nil {
		t.Errorf("round trip with a new secret: %v", err)
	}
}

func FuzzStandardWebhooksVerify(f *testing.F) {
	f.Add(vectorID, "1614265330", vectorSignature, []byte(vectorBody))
	f.Add("", "", "", []byte(nil))
	f.Add("msg_1", "+1614265330", "v1,"+strings.Repeat("A", 44)+" v2,x", []byte("{}"))
	f.Add("a.b", "-1", "v1,=== ,, v1", []byte("\x00\xff"))
	v, err := NewStandardWebhooks(vectorSecret, StandardWebhooksOptions{Now: vectorTime})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, timestamp, signature string, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", timestamp)
		h.Set("webhook-signature", signature)
		if err := v.Verify(alertRequest(h), body); err != nil && !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("error %v does not wrap ErrUnauthorized", err)
		}
		// Whatever the id and body, what SetHeaders signs, Verify accepts.
		if id == "" {
			return
		}
		h = http.Header{}
		v.SetHeaders(h, id, vectorTime(), body)
		if err := v.Verify(alertRequest(h), body); err != nil {
			t.Fatalf("Verify after SetHeaders: %v", err)
		}
	})
}
