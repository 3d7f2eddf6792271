package stack_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/devserver"
	"github.com/aisoar/aisoar/internal/litellmtest"
	"github.com/aisoar/aisoar/internal/vaulttest"
	"github.com/aisoar/aisoar/stack"
	"github.com/aisoar/aisoar/workflows"
)

const rotatePlaybook = `id: rotate-chatbot-key
version: 1
title: Rotate the chatbot's gateway key
trigger:
  sources: [siem]
  when: alert.category == "key_leak"
steps:
  - id: rotate
    action: rotate_secret
    timeout: 3s
    with: {target: vault, operation: rotate_gateway_key, gateway: gw, path: apps/chatbot}
`

// TestRotateGatewayKeySurvivesWorkerCrash kills the worker between "new
// key stored" and "old key revoked": LiteLLM holds the delete of the old
// key until the worker is gone, so that attempt is lost. A second worker
// retries the step, which finishes the rotation: exactly one valid key,
// the one Vault holds, and both versions of the secret kept.
func TestRotateGatewayKeySurvivesWorkerCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	logger := slog.New(slog.DiscardHandler)
	temporal, err := devserver.Start(devserver.Options{Ephemeral: true, UIPort: -1, SearchAttributes: workflows.SearchAttributes(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = temporal.Stop() })

	vlt := vaulttest.New(t, "root-token")
	gw := litellmtest.New(t, "sk-master")
	old := gw.AddKey(litellmtest.Key{KeyAlias: "chatbot-prod", Models: []string{"gpt-4o"}})
	vlt.Put("secret", "apps/chatbot", map[string]any{"api_key": old.Key})
	gw.HangNext("/key/delete", 1)

	dir := t.TempDir()
	for name, content := range map[string]string{"vault.token": "root-token", "litellm.key": "sk-master", "playbooks/rotate.yaml": rotatePlaybook} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	builtin := false
	cfg := &config.Config{
		Temporal:       config.Temporal{Address: temporal.FrontendAddress(), Namespace: temporal.Namespace()},
		Playbooks:      []string{filepath.Join(dir, "playbooks")},
		BuiltinLibrary: &builtin,
		Sources:        map[string]config.Source{"siem": {Verify: config.Verify{Type: config.VerifyStandardWebhooks, Secret: config.Secret{File: filepath.Join(dir, "vault.token")}}}},
		Targets: map[string]config.Target{
			"vault": {Kind: config.TargetVault, URL: vlt.URL, Auth: config.TargetAuth{Bearer: &config.Secret{File: filepath.Join(dir, "vault.token")}}},
			"gw":    {Kind: config.TargetLiteLLM, URL: gw.URL, Auth: config.TargetAuth{Bearer: &config.Secret{File: filepath.Join(dir, "litellm.key")}}},
		},
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	startWorker := func() *stack.Stack {
		s, err := stack.Start(context.Background(), stack.Options{Config: cfg, Roles: stack.Roles{Worker: true}, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	first := startWorker()
	pb := first.Library.Get("rotate-chatbot-key")
	if pb == nil {
		t.Fatal("the playbook did not load")
	}
	input := workflows.Input{Playbook: *pb.Playbook, Alert: alerts.Alert{ID: "leak-1", Source: "siem", Category: "key_leak"}}
	const id = "rotate-chatbot-key/leak-1"
	if _, err := first.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: id, TaskQueue: cfg.Temporal.TaskQueue, TypedSearchAttributes: workflows.StartSearchAttributes(&input),
	}, workflows.WorkflowName, input); err != nil {
		t.Fatal(err)
	}

	// The new key is stored once version 2 exists; the step then deletes
	// the old key, which LiteLLM holds.
	waitUntil(t, "the new key stored", func() bool { return len(vlt.Versions("secret", "apps/chatbot")) == 2 }, nil)
	time.Sleep(200 * time.Millisecond)
	first.Stop()
	if valid := gw.ValidKeys(); len(valid) != 2 {
		t.Fatalf("with the worker gone mid-rotation, %d keys are valid; want the old and the new (the service never lacks one)", len(valid))
	}

	second := startWorker()
	defer second.Stop()
	var st workflows.Status
	waitUntil(t, "the step to succeed", func() bool {
		value, err := second.Client.QueryWorkflow(context.Background(), id, "", workflows.StatusQuery)
		return err == nil && value.Get(&st) == nil && len(st.Steps) == 1 && st.Steps[0].State == workflows.StepDone
	}, func() { t.Logf("status: %+v; step %+v; LiteLLM saw %+v", st, st.Steps, gw.Requests()) })

	versions := vlt.Versions("secret", "apps/chatbot")
	valid := gw.ValidKeys()
	if len(versions) != 2 || versions[0]["api_key"] != old.Key {
		t.Errorf("versions = %d (first %v), want 2 with the old key kept in version 1", len(versions), versions[0]["api_key"] == old.Key)
	}
	if len(valid) != 1 || valid[0].Key != versions[len(versions)-1]["api_key"] || valid[0].KeyAlias != "chatbot-prod" {
		t.Errorf("valid keys %d: want exactly one, the key in the secret's current version, with the old alias", len(valid))
	}
	var generated, deletes []int
	for _, r := range gw.Requests() {
		switch r.Path {
		case "/key/generate":
			generated = append(generated, r.Status)
		case "/key/delete":
			deletes = append(deletes, r.Status)
		}
	}
	// The first delete was cut off with the worker (no answer); the retry
	// generated no second key.
	if len(generated) != 1 || len(deletes) != 2 || deletes[0] != 0 {
		t.Errorf("LiteLLM answered /key/generate %v and /key/delete %v; want one generate, and a cut-off delete before the retried one", generated, deletes)
	}
	if out := st.Steps[0].Output; out["revoked"] != old.Token || out["version"] != float64(2) {
		t.Errorf("step output = %v, want version 2 and the old key's token revoked", out)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool, explain func()) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			if explain != nil {
				explain()
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
