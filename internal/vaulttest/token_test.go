package vaulttest

import (
	"reflect"
	"testing"
	"time"
)

func TestTokenRevokeAccessor(t *testing.T) {
	s := New(t, "root")
	c := newClient(t, s, "root")
	created, err := c.Auth().Token().Create(nil)
	if err != nil {
		t.Fatal(err)
	}
	parent, accessor := created.Auth.ClientToken, created.Auth.Accessor
	child, err := newClient(t, s, parent).Auth().Token().Create(nil)
	if err != nil {
		t.Fatal(err)
	}
	look, err := c.Auth().Token().LookupAccessor(accessor)
	if err != nil || look.Data["accessor"] != accessor || look.Data["id"] != "" {
		t.Fatalf("lookup-accessor = %v, %v", look, err)
	}
	if err := c.Auth().Token().RevokeAccessor(accessor); err != nil {
		t.Fatal(err)
	}
	if s.TokenValid(parent) || s.TokenValid(child.Auth.ClientToken) {
		t.Error("the token or its child survived revoke-accessor")
	}
	for _, call := range []func(string) error{
		func(a string) error { return c.Auth().Token().RevokeAccessor(a) },
		func(a string) error { _, err := c.Auth().Token().LookupAccessor(a); return err },
	} {
		re := responseError(t, call(accessor))
		if re.StatusCode != 400 || !reflect.DeepEqual(re.Errors, []string{"invalid accessor"}) {
			t.Errorf("a revoked accessor: %d %q, want 400 invalid accessor", re.StatusCode, re.Errors)
		}
	}
}

func TestLeaseRevokePrefix(t *testing.T) {
	s := New(t, "root")
	c := newClient(t, s, "root")
	for _, id := range []string{"database/creds/app/a1", "database/creds/app/a2", "database/creds/application/b1", "aws/creds/x/c1"} {
		s.AddLease(id, time.Hour)
	}
	keys, err := c.Logical().List("sys/leases/lookup/database/creds")
	if err != nil || !reflect.DeepEqual(keys.Data["keys"], []any{"app/", "application/"}) {
		t.Errorf("list = %v, %v", keys, err)
	}
	if err := c.Sys().RevokePrefix("database/creds/app"); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Leases(), []string{"aws/creds/x/c1", "database/creds/application/b1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("leases left = %v, want %v", got, want)
	}
	if err := c.Sys().RevokePrefix("database/creds/app"); err != nil {
		t.Errorf("revoking an empty prefix again: %v", err)
	}
	_, err = c.Logical().Write("sys/leases/lookup", map[string]any{"lease_id": "database/creds/app/a1"})
	if re := responseError(t, err); re.StatusCode != 400 || !reflect.DeepEqual(re.Errors, []string{"invalid lease"}) {
		t.Errorf("lookup of a revoked lease: %d %q", re.StatusCode, re.Errors)
	}
}
