// Package devserver runs a self-contained Temporal server for `aisoar dev`:
// every Temporal service in this process, persistence in SQLite and,
// optionally, the Temporal Web UI, so local development needs nothing
// installed (in the spirit of `vault server -dev`).
package devserver

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.temporal.io/server/common/metrics"
	persistencesql "go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/resolver"
	"go.temporal.io/server/common/searchattribute/sadefs"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"go.uber.org/zap/zapcore"
)

const (
	defaultNamespace = "default"
	defaultIP        = "127.0.0.1"

	// clusterName is persisted in the database on first start, so it must
	// never change or existing database files stop working.
	clusterName = "active"

	// startTimeout bounds how long Start waits for the frontend (and UI) to
	// become ready. A cold start takes a few seconds; the generous margin is
	// for slow CI machines.
	startTimeout = 2 * time.Minute
	// uiStopTimeout bounds how long Stop waits for the UI's serve loop to exit.
	uiStopTimeout = 10 * time.Second
	// serverLogLevel is the minimum level of Temporal's own log records that
	// reach Options.Logger; lower levels are too chatty for a terminal.
	serverLogLevel = slog.LevelWarn
)

// Options configures the embedded server.
type Options struct {
	// DatabasePath is the SQLite file holding all state. It is created, with
	// the schema and its parent directory, when missing. Ignored when Ephemeral.
	DatabasePath string
	// Ephemeral keeps state in an in-memory SQLite database that is lost on exit.
	Ephemeral bool
	// Namespace is registered at start (default "default").
	Namespace string
	// IP is the bind address of the frontend and UI (default "127.0.0.1").
	// The internal services bind to it too, or to 127.0.0.1 when it is
	// unspecified ("0.0.0.0" or "::").
	IP string
	// Port is the frontend gRPC port; 0 picks a free one.
	Port int
	// UIPort is the Temporal Web UI HTTP port; 0 picks a free one and -1
	// disables the UI.
	UIPort int
	// SearchAttributes are custom search attributes registered on Namespace;
	// attributes added on a later start are registered on the existing namespace.
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives server logs (default slog.Default()). Temporal's own
	// records are filtered to WARN and above to keep the terminal readable.
	Logger *slog.Logger
}

// Server is a running embedded Temporal server and, optionally, its Web UI.
type Server struct {
	temporal     temporal.Server
	ui           *uiserver.Server
	uiDone       chan struct{} // closed when the UI's serve loop returns
	frontendAddr string
	uiAddr       string
	namespace    string
	logger       *slog.Logger
	logGate      *logGate

	stopOnce sync.Once
	stopErr  error
}

// Start starts an embedded Temporal server and returns once its frontend
// accepts requests for the namespace (and the UI, if enabled, serves HTTP).
func Start(opts Options) (*Server, error) {
	opts, bindIP, hostIP, err := normalize(opts)
	if err != nil {
		return nil, err
	}

	// Reserve every port up front so they are distinct and an unavailable
	// fixed port is reported as an error here: Temporal and the UI server
	// terminate the process when a listener cannot be bound.
	var serverPorts, uiPorts portReserver
	defer serverPorts.release()
	defer uiPorts.release()
	frontendPort, err := serverPorts.reserve(bindIP, opts.Port)
	if err != nil {
		return nil, fmt.Errorf("reserve frontend port %d on %s: %w", opts.Port, bindIP, err)
	}
	uiPort := -1
	if opts.UIPort != -1 {
		if uiPort, err = uiPorts.reserve(bindIP, opts.UIPort); err != nil {
			return nil, fmt.Errorf("reserve UI port %d on %s: %w", opts.UIPort, bindIP, err)
		}
	}
	frontendAddr := net.JoinHostPort(hostIP, strconv.Itoa(frontendPort))

	sqlConf, err := prepareDatabase(opts)
	if err != nil {
		return nil, err
	}
	conf, err := serverConfig(sqlConf, &serverPorts, bindIP, hostIP, frontendPort)
	if err != nil {
		return nil, err
	}
	logger, gate := opts.Logger, &logGate{}
	// Constructing the server already binds some listeners.
	serverPorts.release()
	srv, err := newTemporalServer(conf, newTemporalLogger(logger, gate))
	if err != nil {
		gate.fail()
		return nil, err
	}
	if err := srv.Start(); err != nil {
		gate.fail()
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	s := &Server{
		temporal:     srv,
		frontendAddr: frontendAddr,
		namespace:    opts.Namespace,
		logger:       logger,
		logGate:      gate,
	}

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.awaitFrontend(ctx, opts.SearchAttributes); err != nil {
		gate.fail()
		return nil, errors.Join(err, s.Stop())
	}
	if uiPort != -1 {
		uiPorts.release()
		if err := s.startUI(ctx, bindIP, hostIP, uiPort); err != nil {
			gate.fail()
			return nil, errors.Join(err, s.Stop())
		}
	}
	gate.open()

	database := sqlConf.DatabaseName
	if opts.Ephemeral {
		database = "in-memory"
	}
	logger.Info("temporal dev server started",
		"frontend", s.frontendAddr, "ui", s.uiAddr, "namespace", s.namespace, "database", database)
	return s, nil
}

// FrontendAddress returns the host:port clients dial, e.g. "127.0.0.1:7233".
func (s *Server) FrontendAddress() string { return s.frontendAddr }

// UIAddress returns the Web UI URL, e.g. "http://127.0.0.1:8233", or ""
// when the UI is disabled.
func (s *Server) UIAddress() string { return s.uiAddr }

// Namespace returns the namespace registered at start.
func (s *Server) Namespace() string { return s.namespace }

// Stop stops the UI and the Temporal server. Only the first call does
// anything; later calls return its result. Temporal's log records are
// dropped from here on: services shutting down one by one log errors about
// each other that mean nothing to the user.
//
// The SQLite connection is not closed: Temporal's SQLite plugin keeps it in a
// process-wide pool, so an ephemeral database lives until the process exits.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.logGate.close()
		var errs []error
		if s.ui != nil {
			s.ui.Stop()
			select {
			case <-s.uiDone:
			case <-time.After(uiStopTimeout):
				errs = append(errs, fmt.Errorf("stop UI server: still running after %s", uiStopTimeout))
			}
		}
		if err := s.temporal.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop temporal server: %w", err))
		}
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

// normalize validates opts and fills in defaults. It returns the address to
// bind public listeners to and the address to reach them (and to bind the
// internal services to).
func normalize(opts Options) (_ Options, bindIP, hostIP string, _ error) {
	opts.Namespace = cmp.Or(opts.Namespace, defaultNamespace)
	opts.IP = cmp.Or(opts.IP, defaultIP)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if !opts.Ephemeral && opts.DatabasePath == "" {
		return opts, "", "", errors.New("devserver: DatabasePath is required unless Ephemeral is set")
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return opts, "", "", fmt.Errorf("devserver: invalid frontend port %d", opts.Port)
	}
	if opts.UIPort < -1 || opts.UIPort > 65535 {
		return opts, "", "", fmt.Errorf("devserver: invalid UI port %d (use -1 to disable the UI)", opts.UIPort)
	}
	for name, typ := range opts.SearchAttributes {
		if name == "" || sadefs.IsReserved(name) {
			return opts, "", "", fmt.Errorf("devserver: search attribute name %q is empty or reserved", name)
		}
		if _, ok := enumspb.IndexedValueType_name[int32(typ)]; !ok || typ == enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED {
			return opts, "", "", fmt.Errorf("devserver: search attribute %q has invalid type %d", name, typ)
		}
	}

	// Temporal needs an IP literal, not a host name.
	if opts.IP == "localhost" {
		opts.IP = defaultIP
	}
	ip := net.ParseIP(opts.IP)
	if ip == nil {
		return opts, "", "", fmt.Errorf("devserver: IP %q is not an IP address", opts.IP)
	}
	bindIP, hostIP = ip.String(), ip.String()
	if ip.IsUnspecified() {
		// Listening on all interfaces includes loopback; keep internal
		// traffic there.
		hostIP = defaultIP
	}
	return opts, bindIP, hostIP, nil
}

// prepareDatabase returns the SQLite configuration, creating the database
// file with the schema when needed and registering the namespace. Both steps
// leave an existing database untouched.
func prepareDatabase(opts Options) (*config.SQL, error) {
	conf := &config.SQL{PluginName: sqliteplugin.PluginName}
	if opts.Ephemeral {
		// Shared cache lets all services see one in-memory database; the
		// random name keeps concurrent servers in a process apart. The
		// plugin creates the schema on first connect.
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		conf.DatabaseName = "devserver-" + rand.Text()
	} else {
		path, err := filepath.Abs(opts.DatabasePath)
		if err != nil {
			return nil, fmt.Errorf("resolve database path %q: %w", opts.DatabasePath, err)
		}
		// The plugin builds a "file:" URI from the path; these would be
		// parsed as URI syntax.
		if strings.ContainsAny(path, "?#") {
			return nil, fmt.Errorf("database path %q must not contain '?' or '#'", path)
		}
		conf.ConnectAttributes = map[string]string{"mode": "rwc"}
		conf.DatabaseName = path
		if err := ensureSchema(conf); err != nil {
			return nil, err
		}
		if err := forgetClusterMembers(conf); err != nil {
			return nil, err
		}
	}

	ns, err := sqliteschema.NewNamespaceConfig(clusterName, opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("configure namespace %q: %w", opts.Namespace, err)
	}
	// A no-op when the namespace exists already (e.g. from an earlier run);
	// search attributes added since are registered by awaitFrontend.
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("register namespace %q: %w", opts.Namespace, err)
	}
	return conf, nil
}

// ensureSchema creates the database file and its parent directory and loads
// the Temporal schema, unless the file already holds data.
func ensureSchema(conf *config.SQL) error {
	path := conf.DatabaseName
	switch fi, err := os.Stat(path); {
	case err == nil && fi.Size() > 0:
		return nil // An existing database; Temporal checks its schema version.
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("check database file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("create database directory: %w", err)
	}
	if err := sqliteschema.SetupSchema(conf); err != nil {
		// Don't leave a half-initialized file behind that the next start
		// would take for a valid database.
		_ = os.Remove(path)
		return fmt.Errorf("create schema in %s: %w", path, err)
	}
	return nil
}

// forgetClusterMembers deletes the membership records of earlier runs.
// Temporal bootstraps its membership ring from hosts that sent a heartbeat in
// the last 20 seconds; after a quick restart those are the previous
// process's dead addresses, and requests fail with "Not enough hosts to serve
// the request" for up to a minute. No other process may use the file, so all
// records are stale.
func forgetClusterMembers(conf *config.SQL) error {
	db, err := persistencesql.NewSQLDB(sqlplugin.DbKindMain, conf, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("open database %s: %w", conf.DatabaseName, err)
	}
	defer func() { _ = db.Close() }()
	// Records expire 48 hours after their last heartbeat; prune all of them.
	filter := &sqlplugin.PruneClusterMembershipFilter{PruneRecordsBefore: time.Now().Add(100 * 24 * time.Hour)}
	if _, err := db.PruneClusterMembership(context.Background(), filter); err != nil {
		return fmt.Errorf("delete stale cluster membership records: %w", err)
	}
	return nil
}

// serverConfig builds the static Temporal configuration for one in-process
// node running all services on a single history shard.
func serverConfig(sqlConf *config.SQL, ports *portReserver, bindIP, hostIP string, frontendPort int) (*config.Config, error) {
	services := make(map[string]config.Service)
	for _, name := range temporal.DefaultServices {
		var rpc config.RPC
		var err error
		if name == "frontend" {
			rpc.GRPCPort, rpc.BindOnIP = frontendPort, bindIP
		} else if rpc.GRPCPort, err = ports.reserve(hostIP, 0); err != nil {
			return nil, fmt.Errorf("reserve %s gRPC port: %w", name, err)
		} else {
			rpc.BindOnIP = hostIP
		}
		if rpc.MembershipPort, err = ports.reserve(hostIP, 0); err != nil {
			return nil, fmt.Errorf("reserve %s membership port: %w", name, err)
		}
		services[name] = config.Service{RPC: rpc}
	}

	frontendAddr := net.JoinHostPort(hostIP, strconv.Itoa(frontendPort))
	conf := &config.Config{
		Global: config.Global{
			Membership: config.Membership{
				MaxJoinDuration:  30 * time.Second,
				BroadcastAddress: hostIP,
			},
			// Metrics stay nil: no Prometheus listener nobody asked for.
		},
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores: map[string]config.DataStore{
				sqliteplugin.PluginName: {SQL: sqlConf},
			},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    false,
			FailoverVersionIncrement: 10,
			MasterClusterName:        clusterName,
			CurrentClusterName:       clusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{
				clusterName: {
					Enabled:                true,
					InitialFailoverVersion: 1,
					RPCAddress:             frontendAddr,
				},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services:            services,
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{
			Archival: config.ArchivalNamespaceDefaults{
				History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
				Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
			},
		},
		// The worker service's SDK client dials this address.
		PublicClient: config.PublicClient{HostPort: frontendAddr},
	}
	return conf, nil
}

// newTemporalServer creates (without starting) a server running all services
// with the given configuration and the default no-op authorization.
func newTemporalServer(conf *config.Config, logger log.Logger) (temporal.Server, error) {
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("create authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("create claim mapper: %w", err)
	}
	srv, err := temporal.NewServer(
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithConfig(conf),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		// Every dynamic setting keeps its default; no config file is read.
		temporal.WithDynamicConfigClient(dynamicconfig.NewNoopClient()),
	)
	if err != nil {
		return nil, fmt.Errorf("create temporal server: %w", err)
	}
	return srv, nil
}

// awaitFrontend waits until the frontend serves the namespace and reaches
// the history service, then registers any of the wanted search attributes the
// namespace does not have yet.
func (s *Server) awaitFrontend(ctx context.Context, searchAttrs map[string]enumspb.IndexedValueType) error {
	var c client.Client
	err := retry(ctx, func() error {
		var err error
		c, err = client.DialContext(ctx, client.Options{
			HostPort:  s.frontendAddr,
			Namespace: s.namespace,
			Logger:    sdklog.NewStructuredLogger(slog.New(&gatedHandler{minLevelHandler{s.logger.Handler(), serverLogLevel}, s.logGate})),
		})
		if err != nil {
			return err
		}
		if err := probe(ctx, c, s.namespace); err != nil {
			c.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("wait for temporal frontend at %s: %w", s.frontendAddr, err)
	}
	defer c.Close()

	if len(searchAttrs) == 0 {
		return nil
	}
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.namespace})
	if err != nil {
		return fmt.Errorf("list search attributes of namespace %q: %w", s.namespace, err)
	}
	missing := make(map[string]enumspb.IndexedValueType)
	for name, want := range searchAttrs {
		got, ok := resp.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = want
		case got != want:
			return fmt.Errorf("search attribute %q of namespace %q has type %s, not %s: a type cannot change, use a new name or a new database",
				name, s.namespace, got, want)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        s.namespace,
		SearchAttributes: missing,
	}); err != nil {
		return fmt.Errorf("add search attributes to namespace %q: %w", s.namespace, err)
	}
	return nil
}

// probe checks that the frontend knows the namespace and can reach the
// history service, which answers NotFound for a workflow that never existed
// but Unavailable while the services are still discovering each other.
func probe(ctx context.Context, c client.Client, namespace string) error {
	ws := c.WorkflowService()
	if _, err := ws.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace}); err != nil {
		return err
	}
	_, err := ws.DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
		Namespace: namespace,
		Execution: &commonpb.WorkflowExecution{WorkflowId: "devserver-readiness-probe-" + rand.Text()},
	})
	if _, ok := errors.AsType[*serviceerror.NotFound](err); ok || err == nil {
		return nil
	}
	return err
}

// startUI serves the Temporal Web UI on bindIP:port and waits until it
// answers its health check.
func (s *Server) startUI(ctx context.Context, bindIP, hostIP string, port int) error {
	host := bindIP
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // The UI server joins host and port with a bare ':'.
	}
	conf := &uiconfig.Config{
		Host:                host,
		Port:                port,
		TemporalGRPCAddress: s.frontendAddr,
		EnableUI:            true,
		DefaultNamespace:    s.namespace,
		HideLogs:            true,
		// The UI is served over plain HTTP, so its CSRF cookie can't be Secure.
		CORS: uiconfig.CORS{CookieInsecure: true},
	}
	if err := conf.Validate(); err != nil {
		return fmt.Errorf("configure UI server: %w", err)
	}
	ui, err := newUIServer(conf)
	if err != nil {
		return err
	}
	s.ui, s.uiDone = ui, make(chan struct{})
	go func() {
		defer close(s.uiDone)
		// Returns nil once Stop closes the server; a listen error makes the
		// UI server exit the process, which the port reservation guards against.
		_ = ui.Start()
	}()

	s.uiAddr = "http://" + net.JoinHostPort(hostIP, strconv.Itoa(port))
	healthURL := s.uiAddr + "/healthz"
	httpClient := &http.Client{Timeout: 2 * time.Second}
	err = retry(ctx, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, healthURL, nil)
		if err != nil {
			return err
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", healthURL, resp.Status)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("wait for UI server at %s: %w", s.uiAddr, err)
	}
	return nil
}

// newUIServer creates the UI server, converting its construction panics
// (invalid configuration, missing embedded assets) into an error.
func newUIServer(conf *uiconfig.Config) (ui *uiserver.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("create UI server: %v", r)
		}
	}()
	return uiserver.NewServer(uiserveroptions.WithConfigProvider(conf)), nil
}

// retry calls fn until it succeeds or ctx is done, returning fn's last error.
func retry(ctx context.Context, fn func() error) error {
	const maxDelay = 500 * time.Millisecond
	delay := 50 * time.Millisecond
	for {
		err := fn()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, maxDelay)
	}
}

// portReserver holds TCP listeners to hand out distinct ports. Ports stay
// bound until release, which callers do just before the real server binds
// them; the remaining window is the usual free-port race.
type portReserver struct {
	listeners []net.Listener
}

// reserve binds ip:port (port 0 picks a free one) and returns the port.
func (r *portReserver) reserve(ip string, port int) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return 0, err
	}
	r.listeners = append(r.listeners, l)
	return l.Addr().(*net.TCPAddr).Port, nil
}

// release closes all reserved listeners; it is safe to call repeatedly.
func (r *portReserver) release() {
	for _, l := range r.listeners {
		_ = l.Close()
	}
	r.listeners = nil
}

// temporalLogger adapts an slog.Logger to Temporal's log.Logger, passing on
// records at serverLogLevel and above as its logGate allows.
type temporalLogger struct {
	gated  *slog.Logger
	direct *slog.Logger // for Panic and Fatal, which must always be seen
}

var (
	_ log.Logger     = temporalLogger{}
	_ log.WithLogger = temporalLogger{}
)

func newTemporalLogger(l *slog.Logger, gate *logGate) temporalLogger {
	direct := slog.New(minLevelHandler{l.Handler(), serverLogLevel}).With("component", "temporal")
	return temporalLogger{
		gated:  slog.New(&gatedHandler{direct.Handler(), gate}),
		direct: direct,
	}
}

func (t temporalLogger) Debug(msg string, tags ...tag.Tag) { t.log(slog.LevelDebug, msg, tags) }
func (t temporalLogger) Info(msg string, tags ...tag.Tag)  { t.log(slog.LevelInfo, msg, tags) }
func (t temporalLogger) Warn(msg string, tags ...tag.Tag)  { t.log(slog.LevelWarn, msg, tags) }
func (t temporalLogger) Error(msg string, tags ...tag.Tag) { t.log(slog.LevelError, msg, tags) }

// DPanic logs at error level: development panics are not for a dev server.
func (t temporalLogger) DPanic(msg string, tags ...tag.Tag) { t.log(slog.LevelError, msg, tags) }

// Panic logs at error level, bypassing the gate, and panics, as Temporal's
// callers expect.
func (t temporalLogger) Panic(msg string, tags ...tag.Tag) {
	t.direct.LogAttrs(context.Background(), slog.LevelError, msg, tagsToAttrs(tags)...)
	panic(msg)
}

// Fatal logs at error level, bypassing the gate, and exits, as Temporal's
// callers expect: they call it where the server cannot continue (e.g. a port
// cannot be bound).
func (t temporalLogger) Fatal(msg string, tags ...tag.Tag) {
	t.direct.LogAttrs(context.Background(), slog.LevelError, msg, tagsToAttrs(tags)...)
	os.Exit(1)
}

// With returns a logger that adds tags to every record.
func (t temporalLogger) With(tags ...tag.Tag) log.Logger {
	attrs := tagsToAttrs(tags)
	args := make([]any, len(attrs))
	for i, a := range attrs {
		args[i] = a
	}
	return temporalLogger{t.gated.With(args...), t.direct.With(args...)}
}

func (t temporalLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if !t.gated.Enabled(ctx, level) {
		return
	}
	t.gated.LogAttrs(ctx, level, msg, tagsToAttrs(tags)...)
}

// tagsToAttrs converts Temporal log tags to slog attributes. Zap-backed tags
// are encoded the way Temporal's zap logger would, so that e.g. error tags
// become strings.
func tagsToAttrs(tags []tag.Tag) []slog.Attr {
	attrs := make([]slog.Attr, 0, len(tags))
	for _, t := range tags {
		zt, ok := t.(tag.ZapTag)
		if !ok {
			attrs = append(attrs, slog.Any(t.Key(), t.Value()))
			continue
		}
		enc := zapcore.NewMapObjectEncoder()
		zt.Field().AddTo(enc)
		for _, k := range slices.Sorted(maps.Keys(enc.Fields)) {
			attrs = append(attrs, slog.Any(k, enc.Fields[k]))
		}
	}
	return attrs
}

// minLevelHandler drops records below min before they reach the wrapped handler.
type minLevelHandler struct {
	slog.Handler
	min slog.Level
}

func (h minLevelHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.min && h.Handler.Enabled(ctx, level)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevelHandler{h.Handler.WithAttrs(attrs), h.min}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{h.Handler.WithGroup(name), h.min}
}

// maxHeldRecords caps the records a logGate holds during startup.
const maxHeldRecords = 1000

// logGate controls when the embedded server's log records reach the user.
// While the server starts, services race each other and log transient
// errors; the gate holds those records and drops them once startup succeeds,
// or writes them out if it fails, since they then explain why. After Stop
// begins, records are dropped.
type logGate struct {
	mu    sync.Mutex
	state gateState
	held  []heldRecord
}

type gateState int

const (
	gateStarting gateState = iota // hold records
	gateOpen                      // write records
	gateClosed                    // drop records
)

type heldRecord struct {
	h slog.Handler
	r slog.Record
}

// open drops the held records and lets new ones through.
func (g *logGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == gateStarting {
		g.state, g.held = gateOpen, nil
	}
}

// fail writes the held records and lets new ones through until close.
func (g *logGate) fail() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state != gateStarting {
		return
	}
	for _, hr := range g.held {
		_ = hr.h.Handle(context.Background(), hr.r)
	}
	g.state, g.held = gateOpen, nil
}

// close drops all records from now on.
func (g *logGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.state, g.held = gateClosed, nil
}

// gatedHandler passes records to the wrapped handler as its logGate allows.
type gatedHandler struct {
	next slog.Handler
	gate *logGate
}

func (h *gatedHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *gatedHandler) Handle(ctx context.Context, r slog.Record) error {
	h.gate.mu.Lock()
	switch h.gate.state {
	case gateStarting:
		if len(h.gate.held) < maxHeldRecords {
			h.gate.held = append(h.gate.held, heldRecord{h.next, r.Clone()})
		}
		h.gate.mu.Unlock()
		return nil
	case gateClosed:
		h.gate.mu.Unlock()
		return nil
	}
	h.gate.mu.Unlock()
	return h.next.Handle(ctx, r)
}

func (h *gatedHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &gatedHandler{h.next.WithAttrs(attrs), h.gate}
}

func (h *gatedHandler) WithGroup(name string) slog.Handler {
	return &gatedHandler{h.next.WithGroup(name), h.gate}
}
