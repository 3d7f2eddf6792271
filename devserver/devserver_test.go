package devserver

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func greetWorkflow(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var greeting string
	err := workflow.ExecuteActivity(ctx, greetActivity, name).Get(ctx, &greeting)
	return greeting, err
}

func greetActivity(_ context.Context, name string) (string, error) {
	return "hello " + name, nil
}

// testLogger returns a logger writing to the test log that turns silent
// once the test ends, since server goroutines may outlive it briefly.
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.done = true
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

// startServer starts a server and stops it when the test ends.
func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.Logger = testLogger(t)
	begin := time.Now()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("server started in %s: frontend=%s ui=%q", time.Since(begin).Round(time.Millisecond), s.FrontendAddress(), s.UIAddress())
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

// clientOptions returns options for an SDK client of s that logs nothing.
func clientOptions(s *Server) client.Options {
	return client.Options{
		HostPort:  s.FrontendAddress(),
		Namespace: s.Namespace(),
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	}
}

// dial connects an SDK client to s and closes it when the test ends.
func dial(t *testing.T, s *Server) client.Client {
	t.Helper()
	c, err := client.Dial(clientOptions(s))
	if err != nil {
		t.Fatalf("dial %s: %v", s.FrontendAddress(), err)
	}
	t.Cleanup(c.Close)
	return c
}

// runWorker runs a worker for greetWorkflow on taskQueue until the test ends.
func runWorker(t *testing.T, c client.Client, taskQueue string) {
	t.Helper()
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(greetWorkflow)
	w.RegisterActivity(greetActivity)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Stop)
}

func assertLoopback(t *testing.T, hostPort string) {
	t.Helper()
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		t.Fatalf("parse address %q: %v", hostPort, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("address %q is not loopback", hostPort)
	}
}

func listSearchAttributes(t *testing.T, c client.Client, namespace string) map[string]enumspb.IndexedValueType {
	t.Helper()
	resp, err := c.OperatorService().ListSearchAttributes(t.Context(), &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		t.Fatalf("ListSearchAttributes: %v", err)
	}
	return resp.GetCustomAttributes()
}

func TestEphemeralRunsWorkflow(t *testing.T) {
	s := startServer(t, Options{
		Ephemeral: true,
		Namespace: "aisoar-test",
		UIPort:    -1,
		SearchAttributes: map[string]enumspb.IndexedValueType{
			"AlertSeverity": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			"RiskScore":     enumspb.INDEXED_VALUE_TYPE_INT,
			"Enriched":      enumspb.INDEXED_VALUE_TYPE_BOOL,
		},
	})
	assertLoopback(t, s.FrontendAddress())
	if got := s.Namespace(); got != "aisoar-test" {
		t.Errorf("Namespace() = %q, want %q", got, "aisoar-test")
	}
	if got := s.UIAddress(); got != "" {
		t.Errorf("UIAddress() = %q with the UI disabled, want empty", got)
	}

	c := dial(t, s)
	attrs := listSearchAttributes(t, c, s.Namespace())
	for _, tc := range []struct {
		name string
		want enumspb.IndexedValueType
	}{
		{"AlertSeverity", enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		{"RiskScore", enumspb.INDEXED_VALUE_TYPE_INT},
		{"Enriched", enumspb.INDEXED_VALUE_TYPE_BOOL},
	} {
		if got, ok := attrs[tc.name]; !ok || got != tc.want {
			t.Errorf("search attribute %s: got %v (present %v), want %v", tc.name, got, ok, tc.want)
		}
	}

	const taskQueue = "devserver-test"
	runWorker(t, c, taskQueue)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        "greet-ephemeral",
		TaskQueue: taskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword("AlertSeverity").ValueSet("high"),
		),
	}, greetWorkflow, "soc")
	if err != nil {
		t.Fatalf("ExecuteWorkflow: %v", err)
	}
	var greeting string
	if err := run.Get(ctx, &greeting); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	if greeting != "hello soc" {
		t.Errorf("workflow result = %q, want %q", greeting, "hello soc")
	}
}

func TestFileBackedStateSurvivesRestart(t *testing.T) {
	// A nested path also checks that missing parent directories are created.
	dbPath := filepath.Join(t.TempDir(), "state", "dev", "temporal.db")
	const (
		namespace  = "aisoar-restart"
		workflowID = "greet-across-restart"
		taskQueue  = "devserver-restart"
	)
	opts := Options{
		DatabasePath:     dbPath,
		Namespace:        namespace,
		UIPort:           -1,
		SearchAttributes: map[string]enumspb.IndexedValueType{"AlertSeverity": enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	}

	// First run: start a workflow that no worker picks up, so it is still
	// running when the server stops.
	firstOpts := opts
	firstOpts.Logger = testLogger(t)
	first, err := Start(firstOpts)
	if err != nil {
		t.Fatalf("first Start: %v", err)
	}
	c1, err := client.Dial(clientOptions(first))
	if err != nil {
		_ = first.Stop()
		t.Fatalf("dial first server: %v", err)
	}
	run, err := c1.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: workflowID, TaskQueue: taskQueue}, greetWorkflow, "restart")
	c1.Close()
	if err != nil {
		_ = first.Stop()
		t.Fatalf("ExecuteWorkflow: %v", err)
	}
	if err := first.Stop(); err != nil {
		t.Fatalf("first Stop: %v", err)
	}
	if err := first.Stop(); err != nil {
		t.Errorf("second call of Stop: %v", err)
	}

	// Second run on the same file, asking for one more search attribute.
	opts.SearchAttributes = map[string]enumspb.IndexedValueType{
		"AlertSeverity": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"RiskScore":     enumspb.INDEXED_VALUE_TYPE_INT,
	}
	second := startServer(t, opts)
	c := dial(t, second)

	if _, err := c.WorkflowService().DescribeNamespace(t.Context(), &workflowservice.DescribeNamespaceRequest{Namespace: namespace}); err != nil {
		t.Fatalf("DescribeNamespace after restart: %v", err)
	}
	attrs := listSearchAttributes(t, c, namespace)
	for name, want := range opts.SearchAttributes {
		if got, ok := attrs[name]; !ok || got != want {
			t.Errorf("search attribute %s after restart: got %v (present %v), want %v", name, got, ok, want)
		}
	}
	desc, err := c.DescribeWorkflowExecution(t.Context(), workflowID, run.GetRunID())
	if err != nil {
		t.Fatalf("DescribeWorkflowExecution after restart: %v", err)
	}
	if got := desc.GetWorkflowExecutionInfo().GetStatus(); got != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("workflow status after restart = %v, want RUNNING", got)
	}

	// The restarted server picks the workflow up where it was left.
	runWorker(t, c, taskQueue)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var greeting string
	if err := c.GetWorkflow(ctx, workflowID, run.GetRunID()).Get(ctx, &greeting); err != nil {
		t.Fatalf("workflow result after restart: %v", err)
	}
	if greeting != "hello restart" {
		t.Errorf("workflow result = %q, want %q", greeting, "hello restart")
	}

	// A search attribute's type is fixed once registered.
	if err := second.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	opts.SearchAttributes = map[string]enumspb.IndexedValueType{"RiskScore": enumspb.INDEXED_VALUE_TYPE_DOUBLE}
	opts.Logger = testLogger(t)
	if third, err := Start(opts); err == nil {
		_ = third.Stop()
		t.Errorf("Start with a changed search attribute type succeeded, want error")
	} else if !strings.Contains(err.Error(), `"RiskScore"`) {
		t.Errorf("Start with a changed search attribute type: error %q does not name the attribute", err)
	}
}

func TestWebUI(t *testing.T) {
	s := startServer(t, Options{Ephemeral: true})
	if !strings.HasPrefix(s.UIAddress(), "http://") {
		t.Fatalf("UIAddress() = %q, want an http:// URL", s.UIAddress())
	}
	assertLoopback(t, strings.TrimPrefix(s.UIAddress(), "http://"))

	for _, tc := range []struct {
		name, path, contentType, body string
	}{
		{"index page", "/", "text/html", "<html"},
		// Proxied to the embedded frontend over gRPC.
		{"API", "/api/v1/namespaces/" + s.Namespace(), "application/json", `"namespaceInfo":{"name":"default"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := s.UIAddress() + tc.path
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("GET %s: %v", url, err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read response of GET %s: %v", url, err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: status %s, body %.300q", url, resp.Status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("GET %s: Content-Type = %q, want %s", url, ct, tc.contentType)
			}
			// Ignore case and white space: HTML tags and pretty-printed JSON.
			normalized := strings.ToLower(strings.Join(strings.Fields(string(body)), ""))
			if !strings.Contains(normalized, strings.ToLower(tc.body)) {
				t.Errorf("GET %s: body does not contain %q: %.300q", url, tc.body, body)
			}
		})
	}
}

func TestStartRejectsInvalidOptions(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	for _, tc := range []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"no database path", Options{}, "DatabasePath is required"},
		{"negative port", Options{Ephemeral: true, Port: -1}, "invalid frontend port"},
		{"bad UI port", Options{Ephemeral: true, UIPort: -2}, "invalid UI port"},
		{"host name as IP", Options{Ephemeral: true, IP: "example.com"}, "not an IP address"},
		{"reserved search attribute", Options{Ephemeral: true, SearchAttributes: map[string]enumspb.IndexedValueType{"WorkflowId": enumspb.INDEXED_VALUE_TYPE_KEYWORD}}, "reserved"},
		{"untyped search attribute", Options{Ephemeral: true, SearchAttributes: map[string]enumspb.IndexedValueType{"Severity": enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED}}, "invalid type"},
		{"frontend port in use", Options{Ephemeral: true, Port: busyPort}, "reserve frontend port"},
		{"UI port in use", Options{Ephemeral: true, UIPort: busyPort}, "reserve UI port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Logger = testLogger(t)
			s, err := Start(tc.opts)
			if err == nil {
				_ = s.Stop()
				t.Fatalf("Start succeeded, want error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Start error = %q, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
