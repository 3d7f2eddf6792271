package attest

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

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

// TestTransitRealVault runs the Transit round trip against a real Vault or
// OpenBao dev server: sign, verify with Vault and with the key's public
// half, and a changed payload or an unknown key version is a bad
// signature, not an error.
func TestTransitRealVault(t *testing.T) {
	addr, token := os.Getenv("AISOAR_TEST_VAULT_ADDR"), os.Getenv("AISOAR_TEST_VAULT_TOKEN")
	if addr == "" || token == "" {
		t.Skip("skipped: set AISOAR_TEST_VAULT_ADDR and AISOAR_TEST_VAULT_TOKEN to run against a real Vault or OpenBao dev server (docker compose up -d vault; then http://127.0.0.1:8200 and dev-only-root-token)")
	}
	ctx := context.Background()
	c, err := vault.NewClient(&vault.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	enableTransit(t, c)
	// POST /v1/transit/keys/:name; deleting a key takes deletion_allowed
	// set first through its /config.
	key := "aisoar-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := c.Logical().Write("transit/keys/"+key, map[string]any{"type": "ed25519"}); err != nil {
		t.Fatalf("creating the Transit key %s: %v", key, err)
	}
	t.Cleanup(func() {
		if _, err := c.Logical().Write("transit/keys/"+key+"/config", map[string]any{"deletion_allowed": true}); err == nil {
			_, _ = c.Logical().Delete("transit/keys/" + key)
		}
	})

	tr := &Transit{Address: addr, Key: key, Token: func(context.Context) (string, error) { return token, nil }}
	env, err := Sign(ctx, tr, InTotoPayloadType, []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := env.Signatures[0].KeyID, "vault-transit:transit/"+key+":v1"; got != want {
		t.Errorf("key id %q, want %q", got, want)
	}
	if _, err := env.Verify(ctx, tr); err != nil {
		t.Errorf("transit verify: %v", err)
	}
	// GET /v1/transit/keys/:name shows an ed25519 version's public key as
	// base64; it verifies the signature without Vault.
	read, err := c.Logical().Read("transit/keys/" + key)
	if err != nil || read == nil {
		t.Fatalf("reading the Transit key: %v, %v", read, err)
	}
	v1, _ := read.Data["keys"].(map[string]any)["1"].(map[string]any)
	encoded, _ := v1["public_key"].(string)
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		t.Fatalf("version 1's public_key = %q (%v), want the base64 of an ed25519 key", encoded, err)
	}
	pub, err := NewPublicKey(ed25519.PublicKey(raw))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Verify(ctx, pub); err != nil {
		t.Errorf("public key verify: %v", err)
	}

	tampered := *env
	tampered.Payload = []byte(`{"a":2}`)
	if _, err := tampered.Verify(ctx, tr); !errors.Is(err, ErrBadSignature) {
		t.Errorf("changed payload: %v, want ErrBadSignature", err)
	}
	tampered = *env
	tampered.Signatures = []Signature{{KeyID: "vault-transit:transit/" + key + ":v9", Sig: env.Signatures[0].Sig}}
	if _, err := tampered.Verify(ctx, tr); !errors.Is(err, ErrBadSignature) {
		t.Errorf("unknown key version: %v, want ErrBadSignature", err)
	}
}

// enableTransit enables the Transit engine at transit/ (POST
// /v1/sys/mounts/transit) unless it is there; it stays enabled, as other
// packages' tests may use it at the same time.
func enableTransit(t *testing.T, c *vault.Client) {
	t.Helper()
	mounted := func() bool {
		mounts, err := c.Sys().ListMounts()
		if err != nil {
			t.Fatalf("listing the secrets engines (GET /v1/sys/mounts): %v", err)
		}
		m, ok := mounts["transit/"]
		if ok && m.Type != "transit" {
			t.Fatalf("transit/ is a %s engine on this server, not Transit", m.Type)
		}
		return ok
	}
	if mounted() {
		return
	}
	if err := c.Sys().Mount("transit", &vault.MountInput{Type: "transit"}); err != nil && !mounted() {
		t.Fatalf("enabling Transit at transit/: %v", err)
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
