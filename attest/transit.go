package attest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	vault "github.com/hashicorp/vault/api"
)

// Transit signs and verifies with a key of Vault's Transit secrets engine;
// the private key never leaves Vault. Signatures carry the key version in
// their key id ("vault-transit:transit/aisoar-evidence:v2"), so they still
// verify after the key is rotated.
type Transit struct {
	// Address is Vault's URL; Namespace its Enterprise namespace, if any.
	Address   string
	Namespace string
	// Token reads the Vault token when a request is made, so a rotated
	// token is picked up.
	Token func(ctx context.Context) (string, error)
	// HTTPClient sends the requests; nil means Vault's default client.
	HTTPClient *http.Client
	// Mount is the engine's mount path; default "transit".
	Mount string
	Key   string
}

func (t *Transit) mount() string {
	if t.Mount == "" {
		return "transit"
	}
	return strings.Trim(t.Mount, "/")
}

// KeyID names the key, without a version.
func (t *Transit) KeyID() string { return "vault-transit:" + t.mount() + "/" + t.Key }

// Sign signs msg with POST /v1/{mount}/sign/{key}.
func (t *Transit) Sign(ctx context.Context, msg []byte) ([]byte, string, error) {
	c, err := t.client(ctx)
	if err != nil {
		return nil, "", err
	}
	path := t.mount() + "/sign/" + t.Key
	secret, err := c.Logical().WriteWithContext(ctx, path, map[string]any{"input": base64.StdEncoding.EncodeToString(msg)})
	if err != nil {
		return nil, "", t.error("signing", err)
	}
	var signature string
	if secret != nil {
		signature, _ = secret.Data["signature"].(string)
	}
	version, sig, ok := parseVaultSignature(signature)
	if !ok {
		return nil, "", fmt.Errorf("signing with Vault Transit at %s: %s answered the signature %q, which is not vault:v<version>:<base64>", t.Address, path, signature)
	}
	return sig, t.KeyID() + ":v" + version, nil
}

// Verify checks sig with POST /v1/{mount}/verify/{key}, at the key version
// keyID names (version 1 when it names none).
func (t *Transit) Verify(ctx context.Context, keyID string, msg, sig []byte) error {
	c, err := t.client(ctx)
	if err != nil {
		return err
	}
	version := "1"
	if m := keyVersion.FindStringSubmatch(keyID); m != nil {
		version = m[1]
	}
	path := t.mount() + "/verify/" + t.Key
	secret, err := c.Logical().WriteWithContext(ctx, path, map[string]any{
		"input":     base64.StdEncoding.EncodeToString(msg),
		"signature": "vault:v" + version + ":" + base64.StdEncoding.EncodeToString(sig),
	})
	var respErr *vault.ResponseError
	if errors.As(err, &respErr) && respErr.StatusCode == http.StatusBadRequest && malformedSignature(respErr.Errors) {
		// Vault cannot parse the signature or has no such key version:
		// the signature is not this key's.
		return fmt.Errorf("%w: Vault Transit: %s", ErrBadSignature, strings.Join(respErr.Errors, "; "))
	}
	if err != nil {
		return t.error("verifying", err)
	}
	if valid, _ := secret.Data["valid"].(bool); !valid {
		return ErrBadSignature
	}
	return nil
}

// VaultError is Vault's error answer to a Transit request.
type VaultError struct {
	Key    string
	Status int
	Errors []string
}

func (e *VaultError) Error() string {
	return fmt.Sprintf("Vault answered %d for Transit key %s: %s", e.Status, e.Key, strings.Join(e.Errors, "; "))
}

// error makes Vault's answer short: vault/api's error spans lines.
func (t *Transit) error(what string, err error) error {
	var re *vault.ResponseError
	if errors.As(err, &re) {
		err = &VaultError{Key: t.Key, Status: re.StatusCode, Errors: re.Errors}
	}
	return fmt.Errorf("%s with Vault Transit at %s: %w", what, t.Address, err)
}

var keyVersion = regexp.MustCompile(`:v([0-9]+)$`)

// malformedSignature tells Vault's complaints about a signature ("invalid
// signature: version is too high", "invalid base64 signature value") from
// those about the request (no such key, a key that cannot sign).
func malformedSignature(errs []string) bool {
	for _, e := range errs {
		if strings.HasPrefix(e, "invalid signature") || strings.HasPrefix(e, "invalid base64 signature") {
			return true
		}
	}
	return false
}

// owns reports whether a signature with keyID was made by this key.
func (t *Transit) owns(keyID string) bool { return strings.HasPrefix(keyID, t.KeyID()+":v") }

// parseVaultSignature splits "vault:v<version>:<base64>".
func parseVaultSignature(s string) (version string, sig []byte, ok bool) {
	rest, ok := strings.CutPrefix(s, "vault:v")
	if !ok {
		return "", nil, false
	}
	version, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return "", nil, false
	}
	sig, err := base64.StdEncoding.DecodeString(b64)
	return version, sig, err == nil
}

func (t *Transit) client(ctx context.Context) (*vault.Client, error) {
	cfg := &vault.Config{Address: t.Address}
	if t.HTTPClient != nil {
		copied := *t.HTTPClient // NewClient fills in a missing transport
		cfg.HttpClient = &copied
	}
	c, err := vault.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the Vault client for %s: %w", t.Address, err)
	}
	token, err := t.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the Vault token for %s: %w", t.Address, err)
	}
	c.SetToken(token)
	if t.Namespace != "" {
		c.SetNamespace(t.Namespace)
	} else {
		c.ClearNamespace()
	}
	return c, nil
}
