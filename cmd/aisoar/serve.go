package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/stack"
	"github.com/aisoar/aisoar/worker"
)

// productionFlags are the settings `aisoar server` and `aisoar worker`
// share; flags override the config file.
type productionFlags struct {
	configFile string
	address    string
	namespace  string
	taskQueue  string
	logJSON    bool
}

func (p *productionFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&p.configFile, "config", "aisoar.yaml", "the config file")
	f.StringVar(&p.address, "temporal-address", "", "Temporal frontend host:port (overrides temporal.address)")
	f.StringVar(&p.namespace, "temporal-namespace", "", "Temporal namespace (overrides temporal.namespace)")
	f.StringVar(&p.taskQueue, "task-queue", "", "task queue of the worker (overrides temporal.task_queue)")
	f.BoolVar(&p.logJSON, "log-json", false, "log as JSON lines")
}

func (p *productionFlags) load() (*config.Config, *slog.Logger, error) {
	cfg, err := config.Load(p.configFile)
	if err != nil {
		return nil, nil, err
	}
	override := func(field *string, flag string) {
		if flag != "" {
			*field = flag
		}
	}
	override(&cfg.Temporal.Address, p.address)
	override(&cfg.Temporal.Namespace, p.namespace)
	override(&cfg.Temporal.TaskQueue, p.taskQueue)
	var h slog.Handler = slog.NewTextHandler(os.Stderr, nil)
	if p.logJSON {
		h = slog.NewJSONHandler(os.Stderr, nil)
	}
	return cfg, slog.New(h), nil
}

// start loads the config and starts the roles; stop undoes it. The
// returned context ends on SIGINT or SIGTERM.
func (p *productionFlags) start(parent context.Context, roles stack.Roles) (context.Context, *stack.Stack, *config.Config, *slog.Logger, func(), error) {
	cfg, logger, err := p.load()
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	ctx, cancel := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	s, err := stack.Start(ctx, stack.Options{Config: cfg, Roles: roles, Logger: logger})
	if err != nil {
		cancel()
		return nil, nil, nil, nil, nil, err
	}
	return ctx, s, cfg, logger, func() { s.Stop(); cancel() }, nil
}

func newServerCommand() *cobra.Command {
	var p productionFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the HTTP server (alert webhooks, incidents API) against an external Temporal",
		Long: `Runs the HTTP role: it verifies and decodes alerts, starts incidents in Temporal,
and serves the incidents and approvals API. Run "aisoar worker" beside it; run
as many of each as load needs. The incident search attributes are registered
on the namespace at start when they are missing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, s, cfg, logger, stop, err := p.start(cmd.Context(), stack.Roles{Server: true})
			if err != nil {
				return err
			}
			defer stop()
			registerSearchAttributes(ctx, s, cfg, logger)
			tlsConfig, err := stack.ServerTLS(cfg)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return err
			}
			logger.Info("aisoar server listening", "address", ln.Addr().String(), "https", tlsConfig != nil, "temporal", cfg.Temporal.Address, "playbooks", len(s.Library.Playbooks()))
			return runServer(ctx, s, cfg, ln, tlsConfig, logger)
		},
	}
	p.register(cmd)
	return cmd
}

// registerSearchAttributes adds the incident search attributes when they
// are missing, retrying in the background until it succeeds: Temporal may
// still be starting, or be recreated while aisoar runs.
func registerSearchAttributes(ctx context.Context, s *stack.Stack, cfg *config.Config, logger *slog.Logger) {
	go func() {
		for wait := time.Second; ; wait = min(2*wait, time.Minute) {
			callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := worker.EnsureSearchAttributes(callCtx, s.Client, cfg.Temporal.Namespace)
			cancel()
			if err == nil {
				logger.Info("incident search attributes are registered", "namespace", cfg.Temporal.Namespace)
				return
			}
			logger.Warn("could not register the incident search attributes yet; retrying", "error", err, "in", wait)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}()
}

func newWorkerCommand() *cobra.Command {
	var (
		p             productionFlags
		metricsListen string
	)
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run the worker (playbook workflows and actions) against an external Temporal",
		Long: `Runs the worker role: the incident workflows and the actions. It serves its
Prometheus metrics (steps, approvals, time to acknowledge and to contain) at
http://<metrics-listen>/metrics.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, s, cfg, logger, stop, err := p.start(cmd.Context(), stack.Roles{Worker: true})
			if err != nil {
				return err
			}
			defer stop()
			ln, err := net.Listen("tcp", metricsListen)
			if err != nil {
				return fmt.Errorf("metrics listener: %w", err)
			}
			mux := http.NewServeMux()
			mux.Handle("GET /metrics", s.Metrics.Handler())
			metricsServer := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
			go func() { _ = metricsServer.Serve(ln) }()
			defer metricsServer.Close()
			logger.Info("aisoar worker running", "temporal", cfg.Temporal.Address, "task_queue", cfg.Temporal.TaskQueue,
				"metrics", "http://"+ln.Addr().String()+"/metrics")
			<-ctx.Done()
			fmt.Fprintln(os.Stderr, "aisoar worker stopping")
			return nil
		},
	}
	p.register(cmd)
	cmd.Flags().StringVar(&metricsListen, "metrics-listen", "127.0.0.1:9464", "address of the Prometheus /metrics endpoint")
	return cmd
}
