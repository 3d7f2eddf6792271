package vaulttest

import (
	"errors"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

// newClient is a vault/api client of the double with its root token.
func newClient(t *testing.T, s *Server, token string) *vault.Client {
	t.Helper()
	cfg := vault.DefaultConfig()
	cfg.Address = s.URL
	cfg.MaxRetries = 0
	c, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

// responseError returns err as Vault's error response.
func responseError(t *testing.T, err error) *vault.ResponseError {
	t.Helper()
	var re *vault.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *vault.ResponseError", err, err)
	}
	return re
}
