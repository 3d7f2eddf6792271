package stack_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// The environment of the crash worker, the child process
// TestRotateGatewayKeySurvivesWorkerCrash kills: where the embedded
// Temporal server and the doubles, which live in the parent, listen.
const (
	crashWorkerTemporal  = "AISOAR_TEST_CRASH_WORKER_TEMPORAL"
	crashWorkerNamespace = "AISOAR_TEST_CRASH_WORKER_NAMESPACE"
	crashWorkerVault     = "AISOAR_TEST_CRASH_WORKER_VAULT_URL"
	crashWorkerLiteLLM   = "AISOAR_TEST_CRASH_WORKER_LITELLM_URL"
)

// rotateConfig is the config of every process of the crash test: the
// rotate playbook, the Vault double as "vault" and the LiteLLM double as
// "gw", with their credentials in files under a fresh directory.
func rotateConfig(t *testing.T, temporalAddr, namespace, vaultURL, litellmURL string) *config.Config {
	t.Helper()
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
		Temporal:       config.Temporal{Address: temporalAddr, Namespace: namespace},
		Playbooks:      []string{filepath.Join(dir, "playbooks")},
		BuiltinLibrary: &builtin,
		Sources:        map[string]config.Source{"siem": {Verify: config.Verify{Type: config.VerifyStandardWebhooks, Secret: config.Secret{File: filepath.Join(dir, "vault.token")}}}},
		Targets: map[string]config.Target{
			"vault": {Kind: config.TargetVault, URL: vaultURL, Auth: config.TargetAuth{Bearer: &config.Secret{File: filepath.Join(dir, "vault.token")}}},
			"gw":    {Kind: config.TargetLiteLLM, URL: litellmURL, Auth: config.TargetAuth{Bearer: &config.Secret{File: filepath.Join(dir, "litellm.key")}}},
		},
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestRotateCrashWorker is the worker TestRotateGatewayKeySurvivesWorkerCrash
// runs in a child process and kills; it runs only there.
func TestRotateCrashWorker(t *testing.T) {
	addr := os.Getenv(crashWorkerTemporal)
	if addr == "" {
		t.Skip("the crash worker runs only as TestRotateGatewayKeySurvivesWorkerCrash's child process")
	}
	cfg := rotateConfig(t, addr, os.Getenv(crashWorkerNamespace), os.Getenv(crashWorkerVault), os.Getenv(crashWorkerLiteLLM))
	s, err := stack.Start(context.Background(), stack.Options{Config: cfg, Roles: stack.Roles{Worker: true}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	// The parent holds stdin open; its end means the parent is gone, and
	// this worker must not outlive it.
	parentGone := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(parentGone)
	}()
	select {
	case <-parentGone:
		t.Fatal("the parent test went away before killing this worker")
	case <-time.After(2 * time.Minute):
		t.Fatal("not killed within 2 minutes")
	}
}

// TestRotateGatewayKeySurvivesWorkerCrash kills the worker (SIGKILL, a
// child process) between "new key stored" and "old key revoked": LiteLLM
// holds the delete of the old key until the worker is gone, so that
// attempt is lost. A second worker retries the step, which finishes the
// rotation: exactly one valid key, the one Vault holds, and both versions
// of the secret kept.
func TestRotateGatewayKeySurvivesWorkerCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server and a worker process")
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
	// The double answers the old key's delete only when the client gives
	// up: here, when the kill closes the worker's connection.
	gw.HangNext("/key/delete", 1)
	cfg := rotateConfig(t, temporal.FrontendAddress(), temporal.Namespace(), vlt.URL, gw.URL)

	// This process starts the workflow and, later, the second worker; the
	// first worker is a child process running TestRotateCrashWorker.
	starter, err := stack.Start(context.Background(), stack.Options{Config: cfg, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer starter.Stop()
	child := startCrashWorker(t, temporal.FrontendAddress(), temporal.Namespace(), vlt.URL, gw.URL)

	pb := starter.Library.Get("rotate-chatbot-key")
	if pb == nil {
		t.Fatal("the playbook did not load")
	}
	input := workflows.Input{Playbook: *pb.Playbook, Alert: alerts.Alert{ID: "leak-1", Source: "siem", Category: "key_leak"}}
	const id = "rotate-chatbot-key/leak-1"
	if _, err := starter.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: id, TaskQueue: cfg.Temporal.TaskQueue, TypedSearchAttributes: workflows.StartSearchAttributes(&input),
	}, workflows.WorkflowName, input); err != nil {
		t.Fatal(err)
	}

	// The step generates the new key, stores it as version 2, then
	// deletes the old key; the worker dies while LiteLLM holds that delete.
	waitUntil(t, "the child worker to send the old key's delete", func() bool {
		if child.exited() {
			t.Fatalf("the child worker exited before it was killed:\n%s", child.output())
		}
		for _, r := range gw.Requests() {
			if r.Path == "/key/delete" {
				return true
			}
		}
		return false
	}, func() {
		t.Logf("LiteLLM saw %+v; Vault has %d versions", gw.Requests(), len(vlt.Versions("secret", "apps/chatbot")))
	})
	child.kill(t)
	if n := len(vlt.Versions("secret", "apps/chatbot")); n != 2 {
		t.Fatalf("when the old key's delete was sent, the secret had %d versions; want 2 (the new key stored first)", n)
	}
	if valid := gw.ValidKeys(); len(valid) != 2 {
		t.Fatalf("with the worker killed mid-rotation, %d keys are valid; want the old and the new (the service never lacks one)", len(valid))
	}

	second, err := stack.Start(context.Background(), stack.Options{Config: cfg, Roles: stack.Roles{Worker: true}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
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
	// The first delete died with the worker (no answer); the retry
	// generated no second key.
	if len(generated) != 1 || len(deletes) != 2 || deletes[0] != 0 {
		t.Errorf("LiteLLM answered /key/generate %v and /key/delete %v; want one generate, and a cut-off delete before the retried one", generated, deletes)
	}
	if out := st.Steps[0].Output; out["revoked"] != old.Token || out["version"] != float64(2) {
		t.Errorf("step output = %v, want version 2 and the old key's token revoked", out)
	}
}

// crashWorker is the child process that runs the first worker.
type crashWorker struct {
	cmd   *exec.Cmd
	done  chan struct{} // closed when the process has exited
	out   bytes.Buffer  // read only after done
	stdin io.WriteCloser
}

// startCrashWorker re-executes the test binary to run TestRotateCrashWorker
// against the Temporal server and the doubles of this process.
func startCrashWorker(t *testing.T, temporalAddr, namespace, vaultURL, litellmURL string) *crashWorker {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	w := &crashWorker{done: make(chan struct{})}
	w.cmd = exec.Command(exe, "-test.run=^TestRotateCrashWorker$", "-test.count=1", "-test.v")
	w.cmd.Env = append(os.Environ(),
		crashWorkerTemporal+"="+temporalAddr, crashWorkerNamespace+"="+namespace,
		crashWorkerVault+"="+vaultURL, crashWorkerLiteLLM+"="+litellmURL)
	w.cmd.Stdout, w.cmd.Stderr = &w.out, &w.out
	if w.stdin, err = w.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("starting the crash worker %s: %v", exe, err)
	}
	go func() {
		_ = w.cmd.Wait()
		close(w.done)
	}()
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		<-w.done
	})
	return w
}

func (w *crashWorker) exited() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// output is what the child printed; the caller has seen it exit.
func (w *crashWorker) output() string { return w.out.String() }

// kill ends the child with SIGKILL, so the worker gets no chance to
// cancel its activity or answer Temporal, and waits until it is gone.
func (w *crashWorker) kill(t *testing.T) {
	t.Helper()
	if err := w.cmd.Process.Kill(); err != nil {
		t.Fatalf("killing the crash worker: %v", err)
	}
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the crash worker outlived SIGKILL by 30s")
	}
	if runtime.GOOS != "windows" && w.cmd.ProcessState.Exited() {
		t.Fatalf("the crash worker exited (%v) rather than being killed:\n%s", w.cmd.ProcessState, w.output())
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
