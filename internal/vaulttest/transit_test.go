package vaulttest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

func TestTransitSignVerify(t *testing.T) {
	s := New(t, "root")
	c := newClient(t, s, "root")
	input := base64.StdEncoding.EncodeToString([]byte("evidence bundle"))
	for _, typ := range []string{"ed25519", "ecdsa-p256"} {
		t.Run(typ, func(t *testing.T) {
			key, err := c.Logical().Write("transit/keys/"+typ, map[string]any{"type": typ})
			if err != nil {
				t.Fatal(err)
			}
			if key.Data["type"] != typ || key.Data["supports_signing"] != true {
				t.Errorf("created key = %v", key.Data)
			}
			for _, marshaling := range []string{"asn1", "jws"} {
				if typ == "ed25519" && marshaling == "jws" {
					continue
				}
				sig, err := c.Logical().Write("transit/sign/"+typ, map[string]any{"input": input, "marshaling_algorithm": marshaling})
				if err != nil {
					t.Fatal(err)
				}
				signature, _ := sig.Data["signature"].(string)
				if !strings.HasPrefix(signature, "vault:v1:") {
					t.Fatalf("signature %q lacks vault:v1:", signature)
				}
				raw, _ := strings.CutPrefix(signature, "vault:v1:")
				decode := base64.StdEncoding.DecodeString
				if marshaling == "jws" {
					decode = base64.RawURLEncoding.DecodeString
				}
				sigBytes, err := decode(raw)
				if err != nil {
					t.Fatal(err)
				}
				// The signature checks out with the public key the double
				// publishes, so it is a real one.
				switch pub := s.TransitPublicKey(typ, 1).(type) {
				case ed25519.PublicKey:
					if !ed25519.Verify(pub, []byte("evidence bundle"), sigBytes) {
						t.Error("ed25519 signature does not verify")
					}
				case *ecdsa.PublicKey:
					digest := sha256.Sum256([]byte("evidence bundle"))
					if marshaling == "asn1" && !ecdsa.VerifyASN1(pub, digest[:], sigBytes) {
						t.Error("ecdsa signature does not verify")
					}
				}
				for in, want := range map[string]bool{input: true, base64.StdEncoding.EncodeToString([]byte("tampered")): false} {
					v, err := c.Logical().Write("transit/verify/"+typ, map[string]any{"input": in, "signature": signature, "marshaling_algorithm": marshaling})
					if err != nil {
						t.Fatal(err)
					}
					if v.Data["valid"] != want {
						t.Errorf("verify(%s) = %v, want %v", in, v.Data["valid"], want)
					}
				}
			}
			read, err := c.Logical().Read("transit/keys/" + typ)
			if err != nil {
				t.Fatal(err)
			}
			keys, _ := read.Data["keys"].(map[string]any)
			v1, _ := keys["1"].(map[string]any)
			if pk, _ := v1["public_key"].(string); pk == "" {
				t.Errorf("key read has no public key: %v", read.Data)
			}
		})
	}
}

func TestTransitErrors(t *testing.T) {
	s := New(t, "root")
	c := newClient(t, s, "root")
	if _, err := c.Logical().Write("transit/keys/aes", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTransitKey("ed", "ed25519"); err != nil {
		t.Fatal(err)
	}
	input := base64.StdEncoding.EncodeToString([]byte("x"))
	tests := []struct {
		path   string
		body   map[string]any
		status int
		msg    string
	}{
		{"transit/sign/missing", map[string]any{"input": input}, 400, "signing key not found"},
		{"transit/sign/aes", map[string]any{"input": input}, 400, "key type aes256-gcm96 does not support signing"},
		{"transit/sign/ed", map[string]any{"input": "%%%"}, 400, "unable to decode input as base64"},
		{"transit/verify/ed", map[string]any{"input": input}, 400, "neither a 'signature' nor an 'hmac' were given to verify"},
		{"transit/verify/ed", map[string]any{"input": input, "signature": "nope"}, 400, "invalid signature: no prefix"},
		{"transit/verify/ed", map[string]any{"input": input, "signature": "vault:v9:AAAA"}, 400, "invalid signature: version is too high"},
		{"transit/keys/x", map[string]any{"type": "rsa-1"}, 400, "unknown key type rsa-1"},
	}
	for _, tt := range tests {
		_, err := c.Logical().Write(tt.path, tt.body)
		re := responseError(t, err)
		if re.StatusCode != tt.status || len(re.Errors) != 1 || !strings.Contains(re.Errors[0], tt.msg) {
			t.Errorf("%s %v: %d %q, want %d %q", tt.path, tt.body, re.StatusCode, re.Errors, tt.status, tt.msg)
		}
	}
	if sec, err := c.Logical().Read("transit/keys/missing"); err != nil || sec != nil {
		t.Errorf("reading a missing key = %v, %v; want nil, nil (404)", sec, err)
	}
	if _, err := newClient(t, s, "wrong").Logical().Write("transit/sign/ed", map[string]any{"input": input}); responseError(t, err).StatusCode != 403 {
		t.Errorf("wrong token: %v, want 403", err)
	}
}

func TestTransitRotateSignsWithLatest(t *testing.T) {
	s := New(t, "root")
	c := newClient(t, s, "root")
	if err := s.CreateTransitKey("k", "ecdsa-p256"); err != nil {
		t.Fatal(err)
	}
	input := base64.StdEncoding.EncodeToString([]byte("x"))
	old, err := c.Logical().Write("transit/sign/k", map[string]any{"input": input})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("transit/keys/k/rotate", nil); err != nil {
		t.Fatal(err)
	}
	sig, err := c.Logical().Write("transit/sign/k/sha2-256", map[string]any{"input": input})
	if err != nil {
		t.Fatal(err)
	}
	if got := sig.Data["signature"].(string); !strings.HasPrefix(got, "vault:v2:") {
		t.Errorf("after rotate, signature %q is not by version 2", got)
	}
	v, err := c.Logical().Write("transit/verify/k", map[string]any{"input": input, "signature": old.Data["signature"]})
	if err != nil || v.Data["valid"] != true {
		t.Errorf("a version 1 signature after rotation: %v, %v; want valid", v, err)
	}
}
