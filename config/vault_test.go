package config

import (
	"os"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"

	"github.com/aisoar/aisoar/internal/vaulttest"
)

func TestSecretFromVault(t *testing.T) {
	srv := vaulttest.New(t, "root-token")
	srv.Put("secret", "aisoar/splunk", map[string]any{"token": "s3cr3t"})
	t.Setenv("VAULT_ADDR", srv.URL)
	t.Setenv("VAULT_TOKEN", "root-token")
	tests := []struct {
		ref     string
		want    string
		wantErr string
	}{
		{"secret/data/aisoar/splunk#token", "s3cr3t", ""},
		{"secret/data/aisoar/splunk#missing", "", `has no string field "missing"`},
		{"secret/data/aisoar/nothing#token", "", "Vault has no secret at secret/data/aisoar/nothing"},
		{"secret/data/aisoar/splunk", "", "must be path#field"},
	}
	for _, tt := range tests {
		got, err := Secret{Vault: tt.ref}.Resolve()
		if tt.wantErr == "" && (err != nil || got != tt.want) || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("Resolve(%q) = %q, %v; want %q, %q", tt.ref, got, err, tt.want, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error %q shows the secret", err)
		}
	}
	t.Setenv("VAULT_TOKEN", "wrong")
	if _, err := (Secret{Vault: "secret/data/aisoar/splunk#token"}).Resolve(); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("with a wrong token: %v, want permission denied", err)
	}
}

// TestSecretFromRealVault runs against a Vault (or OpenBao) dev server when
// AISOAR_TEST_VAULT_ADDR and AISOAR_TEST_VAULT_TOKEN are set.
func TestSecretFromRealVault(t *testing.T) {
	addr, token := os.Getenv("AISOAR_TEST_VAULT_ADDR"), os.Getenv("AISOAR_TEST_VAULT_TOKEN")
	if addr == "" || token == "" {
		t.Skip("set AISOAR_TEST_VAULT_ADDR and AISOAR_TEST_VAULT_TOKEN to run against a real Vault")
	}
	t.Setenv("VAULT_ADDR", addr)
	t.Setenv("VAULT_TOKEN", token)
	client, err := vault.NewClient(vault.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Logical().Write("secret/data/aisoar-test/config", map[string]any{"data": map[string]any{"token": "from-vault"}}); err != nil {
		t.Fatal(err)
	}
	if got, err := (Secret{Vault: "secret/data/aisoar-test/config#token"}).Resolve(); err != nil || got != "from-vault" {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
}
