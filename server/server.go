// Package server is aisoar's HTTP face: alert webhooks with per-source
// verification, the incidents and approvals API, the Slack app's buttons,
// dialogs and /aisoar command, and health checks.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/evidence"
	"github.com/aisoar/aisoar/metrics"
	"github.com/aisoar/aisoar/playbooks"
	"github.com/aisoar/aisoar/review"
	"github.com/aisoar/aisoar/webhooks"
)

// maxSeenMessages bounds the webhook message ids remembered for replay
// protection.
const maxSeenMessages = 100_000

// temporalTimeout bounds each call to Temporal made while answering a
// request, so a sender is told 503 rather than left hanging.
const temporalTimeout = 10 * time.Second

// Options are what the server needs.
type Options struct {
	Config  *config.Config
	Library *playbooks.Library
	// Compiler compiles the triage rules and the playbook of incidents
	// opened by hand; default one without an action catalog.
	Compiler *playbooks.Compiler
	// Evidence, when set, verifies incidents' evidence for their reviews,
	// and Reviews keeps the reviews; without Reviews none can be made.
	Evidence *evidence.Store
	Reviews  *review.Archive
	// Assets, when set, is the inventory alerts are matched against.
	Assets *assets.Inventory
	// Metrics records what the server sees and serves /metrics; default a
	// registry of its own.
	Metrics  *metrics.Metrics
	Temporal client.Client
	Logger   *slog.Logger
	// Now is the clock, for tests; default time.Now.
	Now func() time.Time
}

// Server handles aisoar's HTTP API.
type Server struct {
	cfg      *config.Config
	library  *playbooks.Library
	assets   *assets.Inventory
	metrics  *metrics.Metrics
	temporal client.Client
	// triage classifies alerts; manualRecord is the playbook of incidents
	// opened by hand that no playbook answers.
	triage       *triage
	manualRecord *playbooks.Compiled
	// slackChannels maps roles to their approval channels.
	slackChannels map[string]string
	evidence      *evidence.Store
	reviews       *review.Archive
	sources       map[string]*source
	seen          *webhooks.Seen
	tokens        *tokens
	logger        *slog.Logger
	now           func() time.Time
	mux           *http.ServeMux
	// slack is the Slack app's side; nil without slack in the config.
	slack *slackApp
	// work tracks what Slack requests started in the background; workCtx
	// is its parent, cancelled by Shutdown.
	work     inflight
	workCtx  context.Context
	stopWork context.CancelFunc
	// ledger batches what live alerts tell the governance ledger;
	// governance runs its flusher and the governance gauges' refresher.
	ledger     ledgerBatch
	governance sync.WaitGroup
}

// New builds the server, resolving the secrets the config names.
func New(opts Options) (*Server, error) {
	sources, err := buildSources(context.Background(), opts.Config.Sources)
	if err != nil {
		return nil, err
	}
	toks, err := buildTokens(opts.Config.APITokens)
	if err != nil {
		return nil, err
	}
	compiler := opts.Compiler
	if compiler == nil {
		if compiler, err = playbooks.NewCompiler(playbooks.CompilerOptions{}); err != nil {
			return nil, err
		}
	}
	tri, err := newTriage(compiler, opts.Config.TriageInForce())
	if err != nil {
		return nil, err
	}
	manualRecord, err := loadManualRecord(compiler)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:           opts.Config,
		library:       opts.Library,
		assets:        opts.Assets,
		metrics:       opts.Metrics,
		temporal:      opts.Temporal,
		triage:        tri,
		manualRecord:  manualRecord,
		slackChannels: opts.Config.SlackChannels(),
		evidence:      opts.Evidence,
		reviews:       opts.Reviews,
		sources:       sources,
		tokens:        toks,
		logger:        opts.Logger,
		now:           opts.Now,
		mux:           http.NewServeMux(),
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.metrics == nil {
		s.metrics = metrics.New()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if opts.Config.Slack != nil {
		if s.slack, err = newSlackApp(opts.Config.Slack, s.now); err != nil {
			return nil, err
		}
	}
	s.workCtx, s.stopWork = context.WithCancel(context.Background())
	if s.temporal != nil {
		s.startGovernance()
	}
	s.seen = webhooks.NewSeen(webhooks.DefaultTolerance, maxSeenMessages, s.now)
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	const incident = "/v1/incidents/{playbook}/{fingerprint}"
	s.mux.HandleFunc("POST /v1/alerts/{source}", s.receiveAlert)
	s.mux.HandleFunc("POST /v1/heartbeats/{source}", s.receiveHeartbeat)
	s.mux.HandleFunc("GET /v1/incidents", s.tokens.authenticated(s.listIncidents))
	s.mux.HandleFunc("POST /v1/incidents", s.tokens.authenticated(s.openIncident))
	s.mux.HandleFunc("GET "+incident, s.tokens.authenticated(s.showIncident))
	s.mux.HandleFunc("POST "+incident+"/steps/{step}/decision", s.tokens.authenticated(s.decide))
	s.mux.HandleFunc("POST "+incident+"/resolve", s.tokens.authenticated(s.resolve))
	s.mux.HandleFunc("POST "+incident+"/reclassify", s.tokens.authenticated(s.reclassifyIncident))
	s.mux.HandleFunc("POST "+incident+"/review", s.tokens.authenticated(s.generateReview))
	s.mux.HandleFunc("GET /v1/reviews", s.tokens.authenticated(s.listReviews))
	s.mux.HandleFunc("GET /v1/reviews/{id...}", s.tokens.authenticated(s.showReview))
	s.mux.HandleFunc("GET /v1/playbooks", s.tokens.authenticated(s.listPlaybooks))
	s.mux.HandleFunc("GET /v1/sources", s.tokens.authenticated(s.listSources))
	s.mux.HandleFunc("GET /v1/report", s.tokens.authenticated(s.getReport))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.mux.Handle("GET /metrics", s.metrics.Handler())
	if s.slack != nil && s.slack.verifier != nil {
		s.mux.HandleFunc("POST /v1/slack/interactions", s.slackInteractions)
		s.mux.HandleFunc("POST /v1/slack/commands", s.slackCommands)
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// ready answers 200 when Temporal answers its health check.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		writeUnavailable(w, "Temporal is not reachable: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// temporalDown reports whether err means Temporal could not be reached, as
// opposed to Temporal answering no.
func temporalDown(err error) bool {
	var (
		unavailable *serviceerror.Unavailable
		deadline    *serviceerror.DeadlineExceeded
	)
	if errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch status.Code(e) {
		case codes.Unavailable, codes.DeadlineExceeded:
			return true
		}
	}
	return false
}

// writeTemporalError answers a failed Temporal call: 503 when Temporal is
// down, 404 when the incident does not exist, else 500.
func (s *Server) writeTemporalError(w http.ResponseWriter, what string, err error) {
	var notFound *serviceerror.NotFound
	switch {
	case temporalDown(err):
		s.logger.Warn("temporal unavailable", "during", what, "error", err)
		writeUnavailable(w, fmt.Sprintf("%s: Temporal is not reachable; retry later", what))
	case errors.As(err, &notFound):
		writeProblem(w, problem{Status: http.StatusNotFound, Detail: fmt.Sprintf("%s: %v", what, err)})
	default:
		s.logger.Error("temporal call failed", "during", what, "error", err)
		writeProblem(w, problem{Status: http.StatusInternalServerError, Detail: fmt.Sprintf("%s: %v", what, err)})
	}
}
