// Package rig runs aisoar on an embedded Temporal server for the
// benchmarks: one process, SQLite in memory, loopback only.
package rig

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	sdkworker "go.temporal.io/sdk/worker"

	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/devserver"
	"github.com/aisoar/aisoar/stack"
	"github.com/aisoar/aisoar/webhooks"
	"github.com/aisoar/aisoar/workflows"
)

// Source is the alert source the rig configures.
const Source = "bench"

// Options shape the playbook the rig loads.
type Options struct {
	// Steps is how many no-op set actions the playbook runs.
	Steps int
	// AutoResolve, when positive, resolves incidents this long after their steps.
	AutoResolve time.Duration
	Worker      sdkworker.Options
}

// Rig is a running aisoar with its embedded Temporal.
type Rig struct {
	Temporal *devserver.Server
	Stack    *stack.Stack
	API      *httptest.Server
	signer   *webhooks.StandardWebhooks
	dir      string
}

// WorkerOptions give a worker room for a loaded benchmark.
func WorkerOptions() sdkworker.Options {
	return sdkworker.Options{MaxConcurrentActivityExecutionSize: 200, MaxConcurrentWorkflowTaskExecutionSize: 200}
}

// Start starts Temporal, the worker and the HTTP server.
func Start(opts Options) (r *Rig, err error) {
	logger := slog.New(slog.DiscardHandler)
	r = &Rig{}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if r.Temporal, err = devserver.Start(devserver.Options{Ephemeral: true, UIPort: -1, SearchAttributes: workflows.SearchAttributes(), Logger: logger}); err != nil {
		return nil, err
	}
	if r.dir, err = os.MkdirTemp("", "aisoar-bench"); err != nil {
		return nil, err
	}
	cfg, secret, err := r.config(opts)
	if err != nil {
		return nil, err
	}
	if r.signer, err = webhooks.NewStandardWebhooks(secret); err != nil {
		return nil, err
	}
	if r.Stack, err = stack.Start(context.Background(), stack.Options{Config: cfg, Roles: stack.Roles{Worker: true, Server: true}, Logger: logger, Worker: opts.Worker}); err != nil {
		return nil, err
	}
	r.API = httptest.NewServer(r.Stack.Handler)
	return r, nil
}

// config writes the playbook and the source secret.
func (r *Rig) config(opts Options) (*config.Config, string, error) {
	secret, err := webhooks.NewSecret()
	if err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(filepath.Join(r.dir, "secret"), []byte(secret), 0o600); err != nil {
		return nil, "", err
	}
	playbook := "id: bench\nversion: 1\ntrigger:\n  when: alert.category == \"bench\" && alert.severity >= 1\n"
	if opts.AutoResolve > 0 {
		playbook += fmt.Sprintf("auto_resolve_after: %s\n", opts.AutoResolve)
	}
	playbook += "steps:\n"
	for i := range max(opts.Steps, 1) {
		playbook += fmt.Sprintf("  - id: s%d\n    action: set\n    with: {values: {model: \"${{ alert.asset.model }}\"}}\n", i)
	}
	dir := filepath.Join(r.dir, "playbooks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.yaml"), []byte(playbook), 0o644); err != nil {
		return nil, "", err
	}
	builtin := false
	cfg := &config.Config{
		Temporal:       config.Temporal{Address: r.Temporal.FrontendAddress(), Namespace: r.Temporal.Namespace()},
		Playbooks:      []string{dir},
		BuiltinLibrary: &builtin,
		Sources: map[string]config.Source{Source: {Verify: config.Verify{
			Type: config.VerifyStandardWebhooks, Secret: config.Secret{File: filepath.Join(r.dir, "secret")}}}},
	}
	cfg.ApplyDefaults()
	return cfg, secret, cfg.Validate()
}

// Close stops everything the rig started.
func (r *Rig) Close() {
	if r.API != nil {
		r.API.Close()
	}
	if r.Stack != nil {
		r.Stack.Stop()
	}
	if r.Temporal != nil {
		_ = r.Temporal.Stop()
	}
	if r.dir != "" {
		_ = os.RemoveAll(r.dir)
	}
}

// Alert is a bench alert body for a model; alerts for the same model and
// id are copies of one alert.
func Alert(id, model string) []byte {
	body, _ := json.Marshal(map[string]any{
		"id": id, "rule": "bench", "category": "bench", "severity": 3, "asset": map[string]any{"model": model},
	})
	return body
}

// Answer is the webhook's answer.
type Answer struct {
	Alerts []struct {
		Incidents []struct {
			ID string `json:"id"`
		} `json:"incidents"`
	} `json:"alerts"`
}

// Post sends a signed alert with its own message id and returns the
// status and the first incident id of the answer.
func (r *Rig) Post(body []byte, messageID string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, r.API.URL+"/v1/alerts/"+Source, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	r.signer.SetHeaders(req.Header, messageID, time.Now(), body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var answer Answer
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return resp.StatusCode, "", fmt.Errorf("status %d: %w", resp.StatusCode, err)
	}
	if len(answer.Alerts) == 0 || len(answer.Alerts[0].Incidents) == 0 {
		return resp.StatusCode, "", nil
	}
	return resp.StatusCode, answer.Alerts[0].Incidents[0].ID, nil
}

// Parallel runs fn for 0..n-1 on `workers` goroutines and returns the first error.
func Parallel(n, workers int, fn func(i int) error) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return firstErr
}
