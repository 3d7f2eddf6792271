// Package stack assembles aisoar's parts for one process: the playbook
// library, the Temporal client, the worker and the HTTP server. `aisoar
// dev`, `aisoar server`, `aisoar worker`, the end-to-end tests and the
// benchmark all start aisoar through it, so they run the same wiring.
package stack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/atlas"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/evidence"
	"github.com/aisoar/aisoar/metrics"
	"github.com/aisoar/aisoar/playbooks"
	"github.com/aisoar/aisoar/review"
	"github.com/aisoar/aisoar/server"
	"github.com/aisoar/aisoar/worker"
)

// Roles says which parts a process runs.
type Roles struct {
	Worker bool
	Server bool
}

// Options configures a stack.
type Options struct {
	Config *config.Config
	Roles  Roles
	Logger *slog.Logger
	// Worker tunes the SDK worker.
	Worker sdkworker.Options
}

// Stack is a running aisoar process.
type Stack struct {
	Library *playbooks.Library
	Client  client.Client
	// Handler is the HTTP API; nil without the server role.
	Handler *server.Server
	// Metrics are the process's Prometheus metrics; the server serves them
	// at /metrics.
	Metrics *metrics.Metrics
	worker  sdkworker.Worker
}

// NewCompiler returns the compiler that checks playbooks against the
// registered actions, the configured approver roles and the MITRE ATLAS
// catalog.
func NewCompiler(cfg *config.Config) (*playbooks.Compiler, error) {
	return playbooks.NewCompiler(playbooks.CompilerOptions{Catalog: activities.Catalog(), Roles: cfg.RoleNames(),
		ATLAS: atlas.Default().Names()})
}

// LoadLibrary loads the playbooks the config names.
func LoadLibrary(cfg *config.Config, compiler *playbooks.Compiler) (*playbooks.Library, error) {
	return compiler.LoadLibrary(playbooks.LoadOptions{Builtin: cfg.UseBuiltinLibrary(), Paths: cfg.Playbooks})
}

// Start loads the playbooks, connects to Temporal lazily (so the server
// answers 503 rather than failing while Temporal is down) and starts the
// roles asked for.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	cfg := opts.Config
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	compiler, err := NewCompiler(cfg)
	if err != nil {
		return nil, err
	}
	lib, err := LoadLibrary(cfg, compiler)
	if err != nil {
		return nil, fmt.Errorf("loading playbooks:\n%w", err)
	}
	inventory, err := LoadAssets(cfg)
	if err != nil {
		return nil, fmt.Errorf("loading the asset inventory:\n%w", err)
	}
	// The worker's actions and the server's reviews both reach the targets
	// and the evidence store.
	targets, err := Targets(cfg.Targets)
	if err != nil {
		return nil, err
	}
	evidenceOpts, err := EvidenceOptions(cfg, targets)
	if err != nil {
		return nil, err
	}
	evidenceStore := evidence.New(evidenceOpts)
	clientOpts, err := ClientOptions(cfg, logger)
	if err != nil {
		return nil, err
	}
	m := metrics.New()
	clientOpts.MetricsHandler = m.Temporal()
	c, err := client.NewLazyClient(clientOpts)
	if err != nil {
		return nil, fmt.Errorf("temporal client for %s: %w", cfg.Temporal.Address, err)
	}
	s := &Stack{Library: lib, Client: c, Metrics: m}
	if opts.Roles.Worker {
		credentials, err := httpCredentials(cfg.Actions.HTTP.Credentials)
		if err != nil {
			c.Close()
			return nil, err
		}
		slack, err := slackOptions(cfg.Slack)
		if err != nil {
			c.Close()
			return nil, err
		}
		attestationKeys, err := AttestationKeys(cfg, targets)
		if err != nil {
			c.Close()
			return nil, err
		}
		actions := activities.NewRegistry(activities.Options{
			HTTP:            activities.HTTPOptions{AllowHosts: cfg.Actions.HTTP.AllowHosts, Credentials: credentials},
			Slack:           slack,
			Targets:         targets,
			Evidence:        evidenceStore,
			AttestationKeys: attestationKeys,
			Inventory:       func() (*assets.Inventory, error) { return LoadAssets(cfg) },
			Logger:          logger,
		})
		s.worker = worker.New(c, worker.Options{TaskQueue: cfg.Temporal.TaskQueue, Compiler: compiler, Actions: actions, Worker: opts.Worker})
		if err := s.worker.Start(); err != nil {
			c.Close()
			return nil, fmt.Errorf("starting the worker on task queue %q at %s: %w", cfg.Temporal.TaskQueue, cfg.Temporal.Address, err)
		}
		if cfg.Assets != "" {
			// Incidents matter more than governance: a worker that cannot
			// schedule re-attestation still runs them.
			scheduleCtx, cancel := context.WithTimeout(ctx, scheduleTimeout)
			err := EnsureReattestSchedule(scheduleCtx, c, cfg)
			cancel()
			if err != nil {
				logger.Error("the daily re-attestation is not scheduled", "error", err)
			}
		}
	}
	if opts.Roles.Server {
		s.Handler, err = server.New(server.Options{Config: cfg, Library: lib, Compiler: compiler, Assets: inventory,
			Evidence: evidenceStore, Reviews: review.NewArchive(evidenceOpts.Backend), Metrics: m, Temporal: c, Logger: logger})
		if err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// slackOptions resolves the bot token the Slack activities post with.
func slackOptions(cfg *config.Slack) (activities.SlackOptions, error) {
	if cfg == nil {
		return activities.SlackOptions{}, nil
	}
	token, err := cfg.BotToken.Resolve()
	if err != nil {
		return activities.SlackOptions{}, fmt.Errorf("slack.bot_token: %w", err)
	}
	return activities.SlackOptions{Token: token, APIURL: cfg.APIURL}, nil
}

// httpCredentials resolves the http action's secrets.
func httpCredentials(cfg map[string]config.HTTPCredential) (map[string]activities.HTTPCredential, error) {
	out := make(map[string]activities.HTTPCredential, len(cfg))
	for name, c := range cfg {
		secret, err := c.Secret.Resolve()
		if err != nil {
			return nil, fmt.Errorf("actions.http.credentials.%s: %w", name, err)
		}
		header := c.Header
		if header == "" {
			header = "Authorization"
		}
		value := secret
		if c.Scheme != "" {
			value = c.Scheme + " " + secret
		}
		out[name] = activities.HTTPCredential{Header: header, Value: value}
	}
	return out, nil
}

// Stop stops the worker and closes the client.
func (s *Stack) Stop() {
	if s.worker != nil {
		s.worker.Stop()
	}
	s.Client.Close()
}

// ClientOptions are the Temporal client settings the config describes.
func ClientOptions(cfg *config.Config, logger *slog.Logger) (client.Options, error) {
	opts := client.Options{
		HostPort:  cfg.Temporal.Address,
		Namespace: cfg.Temporal.Namespace,
		Logger:    log.NewStructuredLogger(logger.With("component", "temporal-client")),
	}
	if cfg.Temporal.APIKey.IsSet() {
		key, err := cfg.Temporal.APIKey.Resolve()
		if err != nil {
			return opts, fmt.Errorf("temporal.api_key: %w", err)
		}
		opts.Credentials = client.NewAPIKeyStaticCredentials(key)
	}
	if t := cfg.Temporal.TLS; t != nil {
		tlsConfig, err := clientTLS(t)
		if err != nil {
			return opts, fmt.Errorf("temporal.tls: %w", err)
		}
		opts.ConnectionOptions.TLS = tlsConfig
	} else if cfg.Temporal.APIKey.IsSet() {
		// API keys are only sent over TLS.
		opts.ConnectionOptions.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return opts, nil
}

func clientTLS(t *config.TLS) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("ca_file holds no PEM certificate")
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// ServerTLS returns the HTTP server's TLS settings, or nil for plain HTTP.
// Client certificates are asked for but not required, so sources without
// client_cert_subjects keep working; those with it check the result.
func ServerTLS(cfg *config.Config) (*tls.Config, error) {
	t := cfg.TLS
	if t == nil {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("tls.client_ca_file holds no PEM certificate")
		}
		c.ClientCAs, c.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return c, nil
}
