package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/devserver"
	"github.com/aisoar/aisoar/stack"
	"github.com/aisoar/aisoar/webhooks"
	"github.com/aisoar/aisoar/workflows"
)

// devSource is the alert source `aisoar dev` configures.
const devSource = "dev"

// devUser is the identity of the dev API token; it is in every dev role.
const devUser = "analyst"

func newDevCommand() *cobra.Command {
	var (
		dataDir    string
		ephemeral  bool
		listen     string
		port, ui   int
		configFile string
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything in one process: Temporal, the worker and the HTTP server",
		Long: `Runs a complete aisoar on this machine with nothing else installed: an embedded
Temporal server on a SQLite file (or in memory with --ephemeral), its Web UI,
the worker and the HTTP API. It configures an alert source "dev" verified by a
Standard Webhooks secret, and an API token for the user "analyst", who is in
every approver role. Both secrets are kept in the data directory, so
"aisoar alert send" and "aisoar approve" work from another terminal without flags.

With --config, the file's own sources, api_tokens and roles are used and
nothing of the dev defaults; its temporal section is ignored. A flag given
on the command line (or in its environment variable), such as --listen,
overrides the file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDev(cmd.Context(), devOptions{dataDir, ephemeral, listen, port, ui, configFile, cmd.Flags().Changed("listen")})
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", defaultDataDir(), "where the database and the dev secrets live")
	f.BoolVar(&ephemeral, "ephemeral", false, "keep Temporal's state in memory; it is lost on exit")
	f.StringVar(&listen, "listen", config.DefaultListen, "address of the HTTP API")
	f.IntVar(&port, "temporal-port", 7233, "port of the embedded Temporal frontend (gRPC)")
	f.IntVar(&ui, "ui-port", 8233, "port of the Temporal Web UI; -1 to disable it")
	f.StringVar(&configFile, "config", "", "config file to use instead of the dev defaults (its temporal section is ignored)")
	return cmd
}

type devOptions struct {
	dataDir    string
	ephemeral  bool
	listen     string
	port, ui   int
	configFile string
	// listenSet says --listen was given, so it overrides the config file.
	listenSet bool
}

func runDev(ctx context.Context, o devOptions) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// Absolute, so that the paths the banner prints work from any directory.
	dataDir, err := filepath.Abs(o.dataDir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	o.dataDir = dataDir
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	cfg, secretFile, tokenFile, err := devConfig(o)
	if err != nil {
		return err
	}

	temporal, err := devserver.Start(devserver.Options{
		DatabasePath:     filepath.Join(o.dataDir, "temporal.db"),
		Ephemeral:        o.ephemeral,
		Namespace:        cfg.Temporal.Namespace,
		Port:             o.port,
		UIPort:           o.ui,
		SearchAttributes: workflows.SearchAttributes(),
		Logger:           logger,
	})
	if err != nil {
		return fmt.Errorf("starting the embedded Temporal server: %w", err)
	}
	defer temporal.Stop()
	cfg.Temporal.Address = temporal.FrontendAddress()

	s, err := stack.Start(ctx, stack.Options{Config: cfg, Roles: stack.Roles{Worker: true, Server: true}, Logger: logger})
	if err != nil {
		return err
	}
	defer s.Stop()

	tlsConfig, err := stack.ServerTLS(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("HTTP API: %w", err)
	}
	url := "http://" + ln.Addr().String()
	if tlsConfig != nil {
		url = "https://" + ln.Addr().String()
	}
	state := devState{URL: url, Source: devSource, SecretFile: secretFile, TokenFile: tokenFile, UI: temporal.UIAddress()}
	if o.configFile != "" {
		state.Source = ""
		if state.Config, err = filepath.Abs(o.configFile); err != nil {
			return err
		}
	}
	if err := writeDevState(o.dataDir, state); err != nil {
		return err
	}
	b := banner{state: state, temporal: temporal.FrontendAddress(), playbooks: len(s.Library.Playbooks())}
	if o.configFile != "" {
		b.cfg = cfg
	}
	if filepath.Clean(defaultDataDir()) != o.dataDir {
		b.dataDir = o.dataDir
	}
	b.write(os.Stderr)
	return runServer(ctx, s, cfg, ln, tlsConfig, logger)
}

// devConfig is the config `aisoar dev` runs with: the user's file, or
// defaults with a dev source and token whose secrets live in the data dir.
// Flags given explicitly override the file.
func devConfig(o devOptions) (cfg *config.Config, secretFile, tokenFile string, err error) {
	if o.configFile != "" {
		if cfg, err = config.Load(o.configFile); err != nil {
			return nil, "", "", err
		}
		if o.listenSet {
			cfg.Listen = o.listen
		}
		return cfg, "", "", cfg.Validate()
	}
	secretFile, err = ensureSecretFile(o.dataDir, "dev-source.secret", webhooks.NewSecret)
	if err != nil {
		return nil, "", "", err
	}
	tokenFile, err = ensureSecretFile(o.dataDir, "dev-token.secret", newToken)
	if err != nil {
		return nil, "", "", err
	}
	// The roles of the operating model, each with the dev user as its one member.
	roles := map[string]config.Role{}
	for name, title := range map[string]string{"soc": "SOC", "soc-lead": "SOC lead", "mlops": "Platform/MLOps",
		"data-science": "Data Science", "risk": "Risk/Governance"} {
		roles[name] = config.Role{Members: []string{devUser}, Title: title}
	}
	cfg = &config.Config{
		Listen:    o.listen,
		Roles:     roles,
		APITokens: []config.APIToken{{User: devUser, Token: config.Secret{File: tokenFile}}},
		Sources:   devSources(secretFile),
		Actions:   config.Actions{HTTP: config.HTTPAction{AllowHosts: []string{"127.0.0.1:*", "localhost:*"}}},
		// The evidence store and its signing key, made on first use.
		Evidence: config.Evidence{Dir: devEvidenceDir(o.dataDir)},
	}
	cfg.ApplyDefaults()
	return cfg, secretFile, tokenFile, cfg.Validate()
}

// devSources is the generic dev source plus one per SIEM payload format
// (dev-splunk, dev-grafana, …), all verified with the dev secret, so every
// format can be tried with `aisoar alert send --format`.
func devSources(secretFile string) map[string]config.Source {
	verify := config.Verify{Type: config.VerifyStandardWebhooks, Secret: config.Secret{File: secretFile}}
	sources := map[string]config.Source{devSource: {Verify: verify}}
	for _, format := range config.DecoderTypes {
		if format != config.DecoderGeneric {
			sources[devSource+"-"+format] = config.Source{Verify: verify, Decoder: config.Decoder{Type: format}}
		}
	}
	return sources
}

// banner is what `aisoar dev` prints once it runs: where everything is,
// and commands to try that work as printed.
type banner struct {
	state     devState
	temporal  string
	playbooks int
	// cfg is the user's config (--config); nil with the dev defaults.
	cfg *config.Config
	// dataDir is the data directory when it is not the default one, so
	// the commands printed must be told.
	dataDir string
}

func (b banner) write(w io.Writer) {
	s := b.state
	ui := s.UI
	if ui == "" {
		ui = "(disabled)"
	}
	if b.cfg != nil {
		b.writeConfig(w, ui)
		return
	}
	fmt.Fprintf(w, `
aisoar dev is running. Stop it with Ctrl-C.

  HTTP API:          %[1]s
  Alert webhook:     %[1]s/v1/alerts/%[2]s   (Standard Webhooks secret in %[3]s)
                     %[1]s/v1/alerts/%[2]s-splunk, -elastic, -grafana, … for SIEM payloads
  API token:         %[4]s   (user %[5]q, in every approver role)
  Temporal:          %[6]s
  Temporal Web UI:   %[7]s
  Playbooks loaded:  %[8]d

Try it, in another terminal:

%[9]s  go run ./cmd/aisoar alert send --example model-extraction
  go run ./cmd/aisoar alert send --format grafana --preview
  go run ./cmd/aisoar alert send --example model-extraction --dry-run
  go run ./cmd/aisoar incidents list
  go run ./cmd/aisoar incidents show <incident>
  go run ./cmd/aisoar approve <incident> <step>
  go run ./cmd/aisoar resolve <incident>

or with curl:

  curl -H "Authorization: Bearer $(cat %[4]s)" %[1]s/v1/incidents

`, s.URL, s.Source, s.SecretFile, s.TokenFile, devUser, b.temporal, ui, b.playbooks, b.exports(""))
}

// writeConfig is the banner of `aisoar dev --config`: the file's own
// sources and tokens, nothing of the dev defaults.
func (b banner) writeConfig(w io.Writer, ui string) {
	s, cfg := b.state, b.cfg
	fmt.Fprintf(w, "\naisoar dev is running with the config %s. Stop it with Ctrl-C.\n\n", s.Config)
	fmt.Fprintf(w, "  HTTP API:          %s\n", s.URL)
	names := slices.Sorted(maps.Keys(cfg.Sources))
	if len(names) == 0 {
		fmt.Fprintf(w, "  Alert webhooks:    none: the config defines no sources\n")
	}
	send := "" // a source alert send can sign for, and its example
	for i, name := range names {
		src := cfg.Sources[name]
		label := "  Alert webhooks:    "
		if i > 0 {
			label = "                     "
		}
		fmt.Fprintf(w, "%s%s/v1/alerts/%s   (verify %s, decoder %s)\n", label, s.URL, name, src.Verify.Type, src.Decoder.Type)
		if send == "" && src.Verify.Type != config.VerifyJWT {
			example := "--example " + genericExample
			if src.Decoder.Type != config.DecoderGeneric && slices.Contains(exampleNames(), src.Decoder.Type) {
				example = "--format " + src.Decoder.Type
			}
			send = fmt.Sprintf("--config %s --source %s %s", s.Config, name, example)
		}
	}
	users := make([]string, 0, len(cfg.APITokens))
	for _, t := range cfg.APITokens {
		users = append(users, t.User)
	}
	if len(users) == 0 {
		fmt.Fprintf(w, "  API tokens:        none: the config has no api_tokens, so the incidents API takes no calls\n")
	} else {
		fmt.Fprintf(w, "  API tokens:        the config's api_tokens (users: %s); aisoar dev makes none\n", strings.Join(users, ", "))
	}
	fmt.Fprintf(w, "  Temporal:          %s\n  Temporal Web UI:   %s\n  Playbooks loaded:  %d\n\n", b.temporal, ui, b.playbooks)
	fmt.Fprintf(w, "Try it, in another terminal, with a token of the config's api_tokens:\n\n%s", b.exports("<token>"))
	if send != "" {
		fmt.Fprintf(w, "  go run ./cmd/aisoar alert send %s\n", send)
	}
	fmt.Fprintf(w, `  go run ./cmd/aisoar incidents list
  go run ./cmd/aisoar incidents show <incident>
  go run ./cmd/aisoar approve <incident> <step>
  go run ./cmd/aisoar resolve <incident>

or with curl:

  curl -H "Authorization: Bearer $AISOAR_TOKEN" %s/v1/incidents

`, s.URL)
}

// exports are the environment variables the printed commands need: the
// data directory when it is not the default, and the API token when it is
// not aisoar dev's own.
func (b banner) exports(token string) string {
	var lines strings.Builder
	if b.dataDir != "" {
		fmt.Fprintf(&lines, "  export %s=%s\n", envName("data-dir"), b.dataDir)
	}
	if token != "" {
		fmt.Fprintf(&lines, "  export %s=%s\n", envName("token"), token)
	}
	return lines.String()
}

// runServer serves the HTTP API, and Slack over Socket Mode when the config
// asks for it, until ctx ends; then it lets requests in flight and the
// background work they started (Slack decisions) finish.
func runServer(ctx context.Context, s *stack.Stack, cfg *config.Config, ln net.Listener, tlsConfig *tls.Config, logger *slog.Logger) error {
	if cfg.Slack != nil && cfg.Slack.SocketMode {
		go func() {
			if err := s.Handler.RunSlackSocketMode(ctx); err != nil && ctx.Err() == nil {
				logger.Error("Slack Socket Mode stopped; approvals still work through the API", "error", err)
			}
		}()
	}
	srv := &http.Server{
		Handler:           s.Handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return s.Handler.Shutdown(shutdownCtx)
}
