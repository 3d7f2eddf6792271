package attest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aisoar/aisoar/internal/vaulttest"
)

func newTransit(t *testing.T, v *vaulttest.Server, key string) *Transit {
	return &Transit{Address: v.URL, Key: key, HTTPClient: v.Client(),
		Token: func(context.Context) (string, error) { return "root-token", nil }}
}

func TestTransit(t *testing.T) {
	ctx := context.Background()
	for _, typ := range []string{"ed25519", "ecdsa-p256"} {
		t.Run(typ, func(t *testing.T) {
			v := vaulttest.New(t, "root-token")
			if err := v.CreateTransitKey("evidence", typ); err != nil {
				t.Fatal(err)
			}
			tr := newTransit(t, v, "evidence")
			env, err := Sign(ctx, tr, InTotoPayloadType, []byte(`{"a":1}`))
			if err != nil {
				t.Fatal(err)
			}
			if got := env.Signatures[0].KeyID; got != "vault-transit:transit/evidence:v1" {
				t.Errorf("key id %q", got)
			}
			sign := v.Requests()[0]
			if sign.Method != http.MethodPut || sign.Path != "/v1/transit/sign/evidence" || sign.Body["input"] == nil {
				t.Errorf("sign request = %+v", sign)
			}
			// The signature is an ordinary one: the key's public half
			// verifies it without Vault.
			pub, err := NewPublicKey(v.TransitPublicKey("evidence", 1))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.Verify(ctx, pub); err != nil {
				t.Errorf("public key verify: %v", err)
			}
			// After a rotation, version 1 signatures still verify by Vault.
			rotate(t, v, "evidence")
			if _, err := env.Verify(ctx, tr); err != nil {
				t.Errorf("transit verify after rotation: %v", err)
			}
			last := v.Requests()[len(v.Requests())-1]
			if last.Path != "/v1/transit/verify/evidence" || !strings.HasPrefix(last.Body["signature"].(string), "vault:v1:") {
				t.Errorf("verify request = %+v", last)
			}
			env.Payload = []byte(`{"a":2}`)
			if _, err := env.Verify(ctx, tr); !errors.Is(err, ErrBadSignature) {
				t.Errorf("changed payload: %v, want ErrBadSignature", err)
			}
			env.Signatures[0].KeyID = "vault-transit:transit/evidence:v9"
			if _, err := env.Verify(ctx, tr); !errors.Is(err, ErrBadSignature) {
				t.Errorf("unknown version: %v, want ErrBadSignature", err)
			}
		})
	}
}

func rotate(t *testing.T, v *vaulttest.Server, key string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, v.URL+"/v1/transit/keys/"+key+"/rotate", strings.NewReader("{}"))
	req.Header.Set("X-Vault-Token", "root-token")
	resp, err := v.Client().Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("rotate: %v %v", err, resp)
	}
	resp.Body.Close()
}

func TestTransitErrorsAreNotVerdicts(t *testing.T) {
	ctx := context.Background()
	v := vaulttest.New(t, "root-token")
	msg, sig := PAE("t", []byte("x")), []byte("sig")
	// No such key: a configuration fault, not a bad signature.
	err := newTransit(t, v, "missing").Verify(ctx, "", msg, sig)
	if err == nil || errors.Is(err, ErrBadSignature) {
		t.Errorf("missing key: %v, want an error that is not ErrBadSignature", err)
	}
	v.CreateTransitKey("k", "ed25519")
	v.FailNext("/v1/transit/verify/k", http.StatusServiceUnavailable, 1)
	err = newTransit(t, v, "k").Verify(ctx, "", msg, sig)
	if err == nil || errors.Is(err, ErrBadSignature) {
		t.Errorf("Vault unavailable: %v, want an error that is not ErrBadSignature", err)
	}
	bad := &Transit{Address: v.URL, Key: "k", HTTPClient: v.Client(), Token: func(context.Context) (string, error) { return "wrong", nil }}
	if _, _, err := bad.Sign(ctx, msg); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("bad token: %v", err)
	}
}

func TestKeyring(t *testing.T) {
	ctx := context.Background()
	v := vaulttest.New(t, "root-token")
	v.CreateTransitKey("evidence", "ed25519")
	tr := newTransit(t, v, "evidence")
	file := &KeyFile{Path: t.TempDir() + "/key.pem"}
	ring := Keyring{tr, file}
	for name, signer := range map[string]Signer{"transit": tr, "file": file} {
		env, err := Sign(ctx, signer, "t", []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Verify(ctx, ring); err != nil {
			t.Errorf("%s signature: %v", name, err)
		}
		env.Signatures[0].KeyID = ""
		if _, err := env.Verify(ctx, ring); err != nil {
			t.Errorf("%s signature without key id: %v", name, err)
		}
	}
	env, _ := Sign(ctx, &KeyFile{Path: t.TempDir() + "/other.pem"}, "t", []byte("x"))
	_, err := env.Verify(ctx, ring)
	if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "not one of the configured keys") {
		t.Errorf("a stranger's signature: %v", err)
	}
	data, _ := json.Marshal(env)
	if !strings.Contains(string(data), `"keyid"`) {
		t.Errorf("envelope JSON lacks keyid: %s", data)
	}
}
