package vaulttest

import (
	"context"
	"reflect"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

func TestKVVersionsAndCheckAndSet(t *testing.T) {
	s := New(t, "root")
	c := newClient(t, s, "root")
	ctx := context.Background()
	kv := c.KVv2("secret")
	if _, err := kv.Put(ctx, "app", map[string]any{"k": "v1"}, vault.WithCheckAndSet(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "app", map[string]any{"k": "v2"}, vault.WithCheckAndSet(1)); err != nil {
		t.Fatal(err)
	}
	_, err := kv.Put(ctx, "app", map[string]any{"k": "v3"}, vault.WithCheckAndSet(1))
	if re := responseError(t, err); re.StatusCode != 400 || !reflect.DeepEqual(re.Errors, []string{errCASMismatch}) {
		t.Errorf("stale cas: %d %q, want 400 %q", re.StatusCode, re.Errors, errCASMismatch)
	}
	got, err := kv.GetVersion(ctx, "app", 1)
	if err != nil || got.Data["k"] != "v1" || got.VersionMetadata.Version != 1 {
		t.Errorf("version 1 = %+v, %v", got, err)
	}
	cur, err := kv.Get(ctx, "app")
	if err != nil || cur.Data["k"] != "v2" || cur.VersionMetadata.Version != 2 {
		t.Errorf("current = %+v, %v", cur, err)
	}
	if _, err := kv.GetVersion(ctx, "app", 3); err == nil || !strings.Contains(err.Error(), "secret not found") {
		t.Errorf("version 3: %v, want not found", err)
	}
	if _, err := kv.Get(ctx, "nothing"); err == nil {
		t.Error("reading a missing secret succeeded")
	}
	if got := s.Versions("secret", "app"); len(got) != 2 || got[1]["k"] != "v2" {
		t.Errorf("Versions = %v", got)
	}
}

func TestKVMetadata(t *testing.T) {
	s := New(t, "root")
	c := newClient(t, s, "root")
	ctx := context.Background()
	kv := c.KVv2("secret")
	err := kv.PutMetadata(ctx, "app", vault.KVMetadataPutInput{MaxVersions: 2, CASRequired: true, CustomMetadata: map[string]any{"owner": "ml-platform"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "app", map[string]any{"k": "v1"}); err == nil || !strings.Contains(err.Error(), errCASRequired) {
		t.Errorf("write without cas on a cas_required secret: %v", err)
	}
	for i := range 3 {
		if _, err := kv.Put(ctx, "app", map[string]any{"k": i}, vault.WithCheckAndSet(i)); err != nil {
			t.Fatal(err)
		}
	}
	meta, err := kv.GetMetadata(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if meta.CurrentVersion != 3 || meta.OldestVersion != 2 || meta.MaxVersions != 2 || !meta.CASRequired || meta.CustomMetadata["owner"] != "ml-platform" || len(meta.Versions) != 2 {
		t.Errorf("metadata = %+v", meta)
	}
	if _, err := kv.GetVersion(ctx, "app", 1); err == nil {
		t.Error("version 1 is still readable past max_versions")
	}
	if err := kv.DeleteMetadata(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.GetMetadata(ctx, "app"); err == nil {
		t.Error("metadata still there after delete")
	}
}

func TestKVRefusals(t *testing.T) {
	s := New(t, "root")
	c := newClient(t, s, "root")
	tests := []struct {
		token, path string
		body        map[string]any
		status      int
		errors      []string
	}{
		{"wrong", "secret/data/app", map[string]any{"data": map[string]any{}}, 403, []string{"permission denied"}},
		{"root", "secret/data/app", map[string]any{"nodata": true}, 400, []string{"no data provided"}},
		{"root", "nomount/data/app", map[string]any{"data": map[string]any{}}, 404, []string{`no handler for route "nomount/data/app". route entry not found.`}},
	}
	for _, tt := range tests {
		_, err := newClient(t, s, tt.token).Logical().Write(tt.path, tt.body)
		if re := responseError(t, err); re.StatusCode != tt.status || !reflect.DeepEqual(re.Errors, tt.errors) {
			t.Errorf("%s %v: %d %q, want %d %q", tt.path, tt.body, re.StatusCode, re.Errors, tt.status, tt.errors)
		}
	}
	s.FailNext("/v1/secret/data/app", 503, 1)
	if _, err := c.Logical().Read("secret/data/app"); responseError(t, err).StatusCode != 503 {
		t.Errorf("injected 503: %v", err)
	}
	reqs := s.Requests()
	if last := reqs[len(reqs)-1]; last.Method != "GET" || last.Path != "/v1/secret/data/app" || last.Status != 503 {
		t.Errorf("last request = %+v", last)
	}
}
