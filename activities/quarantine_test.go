package activities

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/aisoar/aisoar/internal/airflowtest"
	"github.com/aisoar/aisoar/internal/kafkaconnecttest"
	"github.com/aisoar/aisoar/internal/s3test"
)

// runQuarantine runs the quarantine action as a Temporal activity. A
// non-nil prior is the heartbeat details an earlier attempt recorded, as
// a retry sees them; recorded receives what this attempt heartbeats.
func runQuarantine(t *testing.T, targets Targets, p QuarantineParams, prior any, recorded *string) (QuarantineResult, error) {
	t.Helper()
	q := newQuarantineAction(targets)
	q.pollInterval, q.settleTimeout = time.Millisecond, 200*time.Millisecond
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(q.Run, activity.RegisterOptions{Name: "quarantine"})
	if prior != nil {
		env.SetHeartbeatDetails(prior)
	}
	if recorded != nil {
		env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
			_ = details.Get(recorded)
		})
	}
	val, err := env.ExecuteActivity("quarantine", p)
	if err != nil {
		return QuarantineResult{}, err
	}
	var res QuarantineResult
	if err := val.Get(&res); err != nil {
		t.Fatalf("decoding the quarantine result: %v", err)
	}
	return res, nil
}

func mustQuarantine(t *testing.T, targets Targets, p QuarantineParams) QuarantineResult {
	t.Helper()
	res, err := runQuarantine(t, targets, p, nil, nil)
	if err != nil {
		t.Fatalf("quarantine %+v: %v", p, err)
	}
	return res
}

// quarantineTarget is a target on a double's URL with a short timeout, so
// a hanging double times the request out quickly.
func quarantineTarget(t *testing.T, name, kind, rawURL string, auth TargetAuth) *Target {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return &Target{Name: name, Kind: kind, URL: u, Auth: auth, Client: &http.Client{Timeout: 300 * time.Millisecond}}
}

// checkQuarantineError checks an action error's retryability and message.
func checkQuarantineError(t *testing.T, err error, retryable bool, wantMsg ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("quarantine succeeded, want an error")
	}
	if appErr := appError(t, err); appErr.NonRetryable() == retryable {
		t.Errorf("error %q: NonRetryable = %v, want %v", err, appErr.NonRetryable(), !retryable)
	}
	for _, part := range wantMsg {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not contain %q", err, part)
		}
	}
}

func airflowRequests(srv *airflowtest.Server) []string {
	var got []string
	for _, r := range srv.Requests() {
		got = append(got, strings.TrimSpace(r.Method+" "+r.RequestURI()+" "+r.Raw))
	}
	return got
}

func newAirflow(t *testing.T, dags map[string]bool) (*airflowtest.Server, Targets) {
	t.Helper()
	srv := airflowtest.New(t, dags)
	auth := TargetAuth{Username: airflowtest.Username, Secret: staticSecret(airflowtest.Password)}
	return srv, Targets{"airflow": quarantineTarget(t, "airflow", kindAirflow, srv.URL, auth)}
}

func TestQuarantineDAG(t *testing.T) {
	tests := []struct {
		name string
		// api is the target URL's path; the API root the requests go to
		// is root.
		api, root string
		auth      TargetAuth
	}{
		{"Airflow 2, webserver URL", "", "/api/v1", TargetAuth{Username: airflowtest.Username, Secret: staticSecret(airflowtest.Password)}},
		{"Airflow 3, API root URL", "/api/v2", "/api/v2", TargetAuth{Header: "Authorization", Scheme: "Bearer", Secret: staticSecret(airflowtest.Token)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := airflowtest.New(t, map[string]bool{"ingest_docs": false})
			targets := Targets{"airflow": quarantineTarget(t, "airflow", kindAirflow, srv.URL+tt.api, tt.auth)}
			res := mustQuarantine(t, targets, QuarantineParams{Target: "airflow", DAG: "ingest_docs"})
			if want := (QuarantineResult{Resource: "dags/ingest_docs", Previous: "active"}); !reflect.DeepEqual(res, want) {
				t.Errorf("result = %+v, want %+v", res, want)
			}
			want := []string{
				"GET " + tt.root + "/dags/ingest_docs",
				"PATCH " + tt.root + `/dags/ingest_docs?update_mask=is_paused {"is_paused":true}`,
			}
			if got := airflowRequests(srv); !slices.Equal(got, want) {
				t.Errorf("requests = %q, want %q", got, want)
			}
			if !srv.Paused("ingest_docs") {
				t.Fatal("the DAG is not paused")
			}

			undo := mustQuarantine(t, targets, QuarantineParams{Target: "airflow", DAG: "ingest_docs", Resume: true, Previous: res.Previous})
			if undo.Skipped != "" || undo.Previous != "active" {
				t.Errorf("undo result = %+v, want the DAG unpaused", undo)
			}
			if got := airflowRequests(srv)[2:]; !slices.Equal(got, []string{"PATCH " + tt.root + `/dags/ingest_docs?update_mask=is_paused {"is_paused":false}`}) {
				t.Errorf("undo requests = %q", got)
			}
			if srv.Paused("ingest_docs") {
				t.Error("undo left the DAG paused")
			}
		})
	}
}

func TestQuarantineDAGPausedBefore(t *testing.T) {
	srv, targets := newAirflow(t, map[string]bool{"ingest_docs": true})
	res := mustQuarantine(t, targets, QuarantineParams{Target: "airflow", DAG: "ingest_docs"})
	if res.Previous != "paused" || !strings.Contains(res.Skipped, "already paused") {
		t.Errorf("result = %+v, want previous paused and a reason for skipping", res)
	}
	undo := mustQuarantine(t, targets, QuarantineParams{Target: "airflow", DAG: "ingest_docs", Resume: true, Previous: res.Previous})
	if !strings.Contains(undo.Skipped, "stays paused") {
		t.Errorf("undo result = %+v, want it skipped", undo)
	}
	if got := airflowRequests(srv); !slices.Equal(got, []string{"GET /api/v1/dags/ingest_docs"}) {
		t.Errorf("requests = %q, want only the first read", got)
	}
	if !srv.Paused("ingest_docs") {
		t.Error("a DAG paused before the incident was unpaused")
	}
}

// TestQuarantineDAGRetry retries a quarantine whose answer was lost: the
// DAG is already paused by the first attempt, which recorded "active".
func TestQuarantineDAGRetry(t *testing.T) {
	srv, targets := newAirflow(t, map[string]bool{"ingest_docs": false})
	p := QuarantineParams{Target: "airflow", DAG: "ingest_docs"}
	var recorded string
	first, err := runQuarantine(t, targets, p, nil, &recorded)
	if err != nil {
		t.Fatal(err)
	}
	if recorded != "active" {
		t.Errorf("the first attempt heartbeat %q, want the state before the pause, active", recorded)
	}
	retry, err := runQuarantine(t, targets, p, recorded, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(retry, first) {
		t.Errorf("retry result = %+v, want the first attempt's %+v", retry, first)
	}
	var patches int
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPatch {
			patches++
		}
	}
	if patches != 1 {
		t.Errorf("%d PATCH requests, want 1", patches)
	}
}

func TestQuarantineDAGErrors(t *testing.T) {
	tests := []struct {
		name      string
		p         QuarantineParams
		setup     func(*airflowtest.Server, *Target)
		retryable bool
		msg       []string
	}{
		{
			name: "unknown DAG", p: QuarantineParams{Target: "airflow", DAG: "nope"},
			msg: []string{"404", "Dag with id: 'nope' not found"},
		},
		{
			name: "wrong password", p: QuarantineParams{Target: "airflow", DAG: "ingest_docs"},
			setup: func(_ *airflowtest.Server, tg *Target) { tg.Auth.Secret = staticSecret("wrong") },
			msg:   []string{"401", "Not authenticated"},
		},
		{
			name: "server error on the pause", p: QuarantineParams{Target: "airflow", DAG: "ingest_docs"},
			setup:     func(srv *airflowtest.Server, _ *Target) { srv.FailNext("PATCH", "/api/v1/dags/ingest_docs", 503, 1) },
			retryable: true, msg: []string{"503"},
		},
		{
			name: "timeout", p: QuarantineParams{Target: "airflow", DAG: "ingest_docs", Resume: true, Previous: "active"},
			setup:     func(srv *airflowtest.Server, _ *Target) { srv.HangNext("PATCH", "/api/v1/dags/ingest_docs") },
			retryable: true, msg: []string{"PATCH", "Timeout"},
		},
		{
			name: "connector on an airflow target", p: QuarantineParams{Target: "airflow", Connector: "docs-sink"},
			msg: []string{`target "airflow" has kind airflow, which takes dag, not connector`},
		},
		{
			name: "no DAG", p: QuarantineParams{Target: "airflow"},
			msg: []string{`target "airflow" has kind airflow: name what to freeze with dag`},
		},
		{
			name: "unknown target", p: QuarantineParams{Target: "nope", DAG: "ingest_docs"},
			msg: []string{`no target "nope"`, "airflow"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, targets := newAirflow(t, map[string]bool{"ingest_docs": false})
			if tt.setup != nil {
				tt.setup(srv, targets["airflow"])
			}
			_, err := runQuarantine(t, targets, tt.p, nil, nil)
			checkQuarantineError(t, err, tt.retryable, tt.msg...)
		})
	}
}

func TestQuarantineDAGDryRun(t *testing.T) {
	srv, targets := newAirflow(t, map[string]bool{"ingest_docs": false})
	res := mustQuarantine(t, targets, QuarantineParams{Target: "airflow", DAG: "ingest_docs", DryRun: DryRun{true}})
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("a dry run sent %d requests", n)
	}
	want := []PlannedRequest{
		{Method: "GET", URL: srv.URL + "/api/v1/dags/ingest_docs"},
		{Method: "PATCH", URL: srv.URL + "/api/v1/dags/ingest_docs?update_mask=is_paused", Body: map[string]any{"is_paused": true}},
	}
	if !res.DryRun || !reflect.DeepEqual(res.Planned, want) {
		t.Errorf("plan = %+v, want %+v", res.Plan, want)
	}
	if srv.Paused("ingest_docs") {
		t.Error("a dry run paused the DAG")
	}
}

func newKafkaConnect(t *testing.T) (*kafkaconnecttest.Server, Targets) {
	t.Helper()
	srv := kafkaconnecttest.New(t)
	auth := TargetAuth{Username: kafkaconnecttest.Username, Secret: staticSecret(kafkaconnecttest.Password)}
	return srv, Targets{"connect": quarantineTarget(t, "connect", kindKafkaConnect, srv.URL, auth)}
}

func connectRequests(reqs []kafkaconnecttest.Request) []string {
	var got []string
	for _, r := range reqs {
		got = append(got, r.Method+" "+r.Path)
	}
	return got
}

func TestQuarantineConnector(t *testing.T) {
	srv, targets := newKafkaConnect(t)
	srv.AddConnector("docs sink", kafkaconnecttest.Running, kafkaconnecttest.Running, kafkaconnecttest.Running)
	// The status shows the pause only on the third read after it, as
	// Connect applies it asynchronously.
	srv.SetLag(2)
	res := mustQuarantine(t, targets, QuarantineParams{Target: "connect", Connector: "docs sink"})
	if want := (QuarantineResult{Resource: "connectors/docs%20sink", Previous: "RUNNING"}); !reflect.DeepEqual(res, want) {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	status := "GET /connectors/docs sink/status"
	want := []string{status, "PUT /connectors/docs sink/pause", status, status, status}
	if got := connectRequests(srv.Requests()); !slices.Equal(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
	if state, tasks := srv.State("docs sink"); state != "PAUSED" || !slices.Equal(tasks, []string{"PAUSED", "PAUSED"}) {
		t.Fatalf("connector %s, tasks %v; want all paused", state, tasks)
	}

	srv.SetLag(1)
	undo := mustQuarantine(t, targets, QuarantineParams{Target: "connect", Connector: "docs sink", Resume: true, Previous: res.Previous})
	if undo.Skipped != "" {
		t.Errorf("undo skipped: %s", undo.Skipped)
	}
	want = []string{"PUT /connectors/docs sink/resume", status, status}
	if got := connectRequests(srv.Requests()[5:]); !slices.Equal(got, want) {
		t.Errorf("undo requests = %q, want %q", got, want)
	}
	if state, _ := srv.State("docs sink"); state != "RUNNING" {
		t.Errorf("after undo the connector is %s, want RUNNING", state)
	}
}

func TestQuarantineConnectorFrozenBefore(t *testing.T) {
	for _, state := range []string{kafkaconnecttest.Paused, kafkaconnecttest.Stopped} {
		t.Run(state, func(t *testing.T) {
			srv, targets := newKafkaConnect(t)
			srv.AddConnector("docs-sink", state)
			res := mustQuarantine(t, targets, QuarantineParams{Target: "connect", Connector: "docs-sink"})
			if res.Previous != state || res.Skipped == "" {
				t.Errorf("result = %+v, want previous %s and a reason for skipping", res, state)
			}
			undo := mustQuarantine(t, targets, QuarantineParams{Target: "connect", Connector: "docs-sink", Resume: true, Previous: res.Previous})
			if !strings.Contains(undo.Skipped, "before the incident") {
				t.Errorf("undo result = %+v, want it skipped", undo)
			}
			if w := srv.Writes(); len(w) != 0 {
				t.Errorf("writes = %+v, want none", w)
			}
		})
	}
}

// TestQuarantineConnectorRetry retries a pause whose answer was lost: the
// connector is paused by then, and the first attempt recorded RUNNING.
func TestQuarantineConnectorRetry(t *testing.T) {
	srv, targets := newKafkaConnect(t)
	srv.AddConnector("docs-sink", kafkaconnecttest.Running, kafkaconnecttest.Running)
	p := QuarantineParams{Target: "connect", Connector: "docs-sink"}
	var recorded string
	first, err := runQuarantine(t, targets, p, nil, &recorded)
	if err != nil {
		t.Fatal(err)
	}
	if recorded != "RUNNING" {
		t.Errorf("the first attempt heartbeat %q, want RUNNING", recorded)
	}
	retry, err := runQuarantine(t, targets, p, recorded, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(retry, first) {
		t.Errorf("retry result = %+v, want the first attempt's %+v", retry, first)
	}
	if w := connectRequests(srv.Writes()); !slices.Equal(w, []string{"PUT /connectors/docs-sink/pause"}) {
		t.Errorf("writes = %q, want one pause", w)
	}
}

func TestQuarantineConnectorErrors(t *testing.T) {
	tests := []struct {
		name      string
		p         QuarantineParams
		setup     func(*kafkaconnecttest.Server, *Target)
		retryable bool
		msg       []string
	}{
		{
			name: "unknown connector", p: QuarantineParams{Target: "connect", Connector: "nope"},
			msg: []string{"404", "No status found for connector nope"},
		},
		{
			name: "wrong password", p: QuarantineParams{Target: "connect", Connector: "docs-sink"},
			setup: func(_ *kafkaconnecttest.Server, tg *Target) { tg.Auth.Secret = staticSecret("wrong") },
			msg:   []string{"401"},
		},
		{
			name: "server error on the pause", p: QuarantineParams{Target: "connect", Connector: "docs-sink"},
			setup:     func(srv *kafkaconnecttest.Server, _ *Target) { srv.FailNext("/connectors/docs-sink/pause", 500, 1) },
			retryable: true, msg: []string{"500", "injected failure"},
		},
		{
			name: "timeout", p: QuarantineParams{Target: "connect", Connector: "docs-sink"},
			setup:     func(srv *kafkaconnecttest.Server, _ *Target) { srv.HangNext("/connectors/docs-sink/status") },
			retryable: true, msg: []string{"GET", "Timeout"},
		},
		{
			name: "pause never shows", p: QuarantineParams{Target: "connect", Connector: "docs-sink"},
			setup:     func(srv *kafkaconnecttest.Server, _ *Target) { srv.SetLag(1 << 30) },
			retryable: true, msg: []string{"connectors/docs-sink", "was not paused after 200ms", "connector RUNNING, task 0 RUNNING", "retried"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, targets := newKafkaConnect(t)
			srv.AddConnector("docs-sink", kafkaconnecttest.Running, kafkaconnecttest.Running)
			if tt.setup != nil {
				tt.setup(srv, targets["connect"])
			}
			_, err := runQuarantine(t, targets, tt.p, nil, nil)
			checkQuarantineError(t, err, tt.retryable, tt.msg...)
		})
	}
}

func TestQuarantineConnectorDryRun(t *testing.T) {
	srv, targets := newKafkaConnect(t)
	srv.AddConnector("docs-sink", kafkaconnecttest.Running)
	res := mustQuarantine(t, targets, QuarantineParams{Target: "connect", Connector: "docs-sink", DryRun: DryRun{true}})
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("a dry run sent %d requests", n)
	}
	want := []PlannedRequest{
		{Method: "GET", URL: srv.URL + "/connectors/docs-sink/status"},
		{Method: "PUT", URL: srv.URL + "/connectors/docs-sink/pause"},
	}
	if !res.DryRun || !reflect.DeepEqual(res.Planned, want) {
		t.Errorf("plan = %+v, want %+v", res.Plan, want)
	}
}

func newS3Quarantine(t *testing.T) (*s3test.Server, Targets) {
	t.Helper()
	srv := s3test.New(t, []string{"lake"})
	tg := s3TestTarget(t, srv, "lake")
	tg.Client = &http.Client{Timeout: 300 * time.Millisecond}
	return srv, Targets{"lake": tg}
}

// s3Operations lists the operations the double received.
func s3Operations(srv *s3test.Server) []string {
	var ops []string
	for _, r := range srv.Requests() {
		ops = append(ops, r.Operation)
	}
	return ops
}

// policyStatements decodes the bucket policy's statements.
func policyStatements(t *testing.T, srv *s3test.Server) []map[string]any {
	t.Helper()
	var policy struct{ Statement []map[string]any }
	if err := json.Unmarshal(srv.Policy("lake"), &policy); err != nil {
		t.Fatalf("bucket policy %q: %v", srv.Policy("lake"), err)
	}
	return policy.Statement
}

// canWrite puts an object under key through the S3 API, as a pipeline
// would, and reports whether the store took it.
func canWrite(t *testing.T, targets Targets, key string) bool {
	t.Helper()
	_, err := s3TestBucket(t, targets["lake"], false).putObject(t.Context(), key, []byte("row"), s3PutOptions{})
	if err != nil && !hasS3Code(err, "AccessDenied") {
		t.Fatalf("put %q: %v", key, err)
	}
	return err == nil
}

const readerStatement = `{"Sid":"Readers","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/reader"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::lake/*"}`

func TestQuarantinePrefix(t *testing.T) {
	srv, targets := newS3Quarantine(t)
	srv.SetPolicy("lake", []byte(`{"Version":"2012-10-17","Statement":[`+readerStatement+`]}`))
	p := QuarantineParams{Target: "lake", Prefix: "raw/vendor-x/"}
	res := mustQuarantine(t, targets, p)
	if res.Resource != "s3://lake/raw/vendor-x/" || res.Previous != "open" || !strings.HasPrefix(res.StatementID, "AisoarQuarantine") {
		t.Errorf("result = %+v", res)
	}
	if ops := s3Operations(srv); !slices.Equal(ops, []string{"GetBucketPolicy", "PutBucketPolicy"}) {
		t.Errorf("operations = %q", ops)
	}
	statements := policyStatements(t, srv)
	var reader map[string]any
	_ = json.Unmarshal([]byte(readerStatement), &reader)
	wantOurs := map[string]any{
		"Sid": res.StatementID, "Effect": "Deny", "Principal": "*",
		"Action":   []any{"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"},
		"Resource": "arn:aws:s3:::lake/raw/vendor-x/*",
	}
	if want := []map[string]any{reader, wantOurs}; !reflect.DeepEqual(statements, want) {
		t.Errorf("policy statements = %v, want %v", statements, want)
	}
	if canWrite(t, targets, "raw/vendor-x/part-0001.parquet") {
		t.Error("a write to the quarantined prefix was accepted")
	}
	if !canWrite(t, targets, "raw/vendor-y/part-0001.parquet") {
		t.Error("a write outside the quarantined prefix was refused")
	}

	// A re-run finds its statement and writes nothing.
	before := len(srv.Writes())
	if again := mustQuarantine(t, targets, p); !reflect.DeepEqual(again, res) {
		t.Errorf("re-run result = %+v, want %+v", again, res)
	}
	if n := len(srv.Writes()) - before; n != 0 {
		t.Errorf("re-run wrote %d times", n)
	}

	// Undo removes only this incident's statement.
	undo := mustQuarantine(t, targets, QuarantineParams{Target: "lake", Prefix: "raw/vendor-x/", Resume: true, Previous: res.Previous})
	if undo.StatementID != res.StatementID {
		t.Errorf("undo result = %+v", undo)
	}
	if got := policyStatements(t, srv); !reflect.DeepEqual(got, []map[string]any{reader}) {
		t.Errorf("after undo the policy statements are %v, want only the reader's", got)
	}
	if !canWrite(t, targets, "raw/vendor-x/part-0002.parquet") {
		t.Error("after undo a write to the prefix is still refused")
	}
}

func TestQuarantinePrefixWithoutPolicy(t *testing.T) {
	srv, targets := newS3Quarantine(t)
	res := mustQuarantine(t, targets, QuarantineParams{Target: "lake", Prefix: "raw/"})
	if res.Previous != "open" || len(policyStatements(t, srv)) != 1 {
		t.Fatalf("result %+v, policy %s", res, srv.Policy("lake"))
	}
	mustQuarantine(t, targets, QuarantineParams{Target: "lake", Prefix: "raw/", Resume: true})
	if ops := s3Operations(srv); !slices.Equal(ops, []string{"GetBucketPolicy", "PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy"}) {
		t.Errorf("operations = %q; the last statement's removal deletes the policy", ops)
	}
	if srv.Policy("lake") != nil {
		t.Errorf("policy %s left behind", srv.Policy("lake"))
	}
	// Undo again: nothing left to remove.
	mustQuarantine(t, targets, QuarantineParams{Target: "lake", Prefix: "raw/", Resume: true})
	if n := len(srv.Writes()); n != 2 {
		t.Errorf("%d writes, want 2", n)
	}
}

// TestQuarantinePrefixHeldByAnotherIncident: another incident's deny on
// the same prefix makes it "quarantined" before, and outlives this undo.
func TestQuarantinePrefixHeldByAnotherIncident(t *testing.T) {
	srv, targets := newS3Quarantine(t)
	other := `{"Sid":"AisoarQuarantine0123456789abcdef","Effect":"Deny","Principal":"*","Action":["s3:PutObject"],"Resource":"arn:aws:s3:::lake/raw/*"}`
	srv.SetPolicy("lake", []byte(`{"Version":"2012-10-17","Statement":`+other+`}`))
	res := mustQuarantine(t, targets, QuarantineParams{Target: "lake", Prefix: "raw/"})
	if res.Previous != "quarantined" || res.StatementID == "AisoarQuarantine0123456789abcdef" {
		t.Errorf("result = %+v, want previous quarantined and a statement of its own", res)
	}
	if n := len(policyStatements(t, srv)); n != 2 {
		t.Errorf("policy has %d statements, want 2", n)
	}
	mustQuarantine(t, targets, QuarantineParams{Target: "lake", Prefix: "raw/", Resume: true, Previous: res.Previous})
	if got := policyStatements(t, srv); len(got) != 1 || got[0]["Sid"] != "AisoarQuarantine0123456789abcdef" {
		t.Errorf("after undo the statements are %v, want the other incident's", got)
	}
	if canWrite(t, targets, "raw/a.json") {
		t.Error("the other incident's quarantine was lifted")
	}
}

func TestQuarantinePrefixErrors(t *testing.T) {
	tests := []struct {
		name      string
		p         QuarantineParams
		setup     func(*s3test.Server, *Target)
		retryable bool
		msg       []string
	}{
		{
			name: "policy write denied", p: QuarantineParams{Target: "lake", Prefix: "raw/"},
			setup: func(srv *s3test.Server, _ *Target) { srv.FailNext("PutBucketPolicy", 403, 1) },
			msg:   []string{"403", "AccessDenied: Access Denied"},
		},
		{
			name: "server error", p: QuarantineParams{Target: "lake", Prefix: "raw/"},
			setup:     func(srv *s3test.Server, _ *Target) { srv.FailNext("GetBucketPolicy", 500, 1) },
			retryable: true, msg: []string{"500", "InternalError"},
		},
		{
			name: "timeout", p: QuarantineParams{Target: "lake", Prefix: "raw/"},
			setup:     func(srv *s3test.Server, _ *Target) { srv.HangNext("PutBucketPolicy") },
			retryable: true, msg: []string{"PUT", "Timeout"},
		},
		{
			name: "wildcard in prefix", p: QuarantineParams{Target: "lake", Prefix: "raw/*.json"},
			msg: []string{`prefix "raw/*.json"`, "wildcards"},
		},
		{
			name: "policy that is not JSON", p: QuarantineParams{Target: "lake", Prefix: "raw/"},
			setup: func(srv *s3test.Server, _ *Target) { srv.SetPolicy("lake", []byte("not json")) },
			msg:   []string{`bucket policy of "lake"`},
		},
		{
			name: "dag on an s3 target", p: QuarantineParams{Target: "lake", DAG: "x"},
			msg: []string{`target "lake" has kind s3, which takes prefix, not dag`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, targets := newS3Quarantine(t)
			if tt.setup != nil {
				tt.setup(srv, targets["lake"])
			}
			_, err := runQuarantine(t, targets, tt.p, nil, nil)
			checkQuarantineError(t, err, tt.retryable, tt.msg...)
		})
	}
}

func TestQuarantinePrefixDryRun(t *testing.T) {
	srv, targets := newS3Quarantine(t)
	for _, resume := range []bool{false, true} {
		res := mustQuarantine(t, targets, QuarantineParams{Target: "lake", Prefix: "raw/", Resume: resume, DryRun: DryRun{true}})
		if n := len(srv.Requests()); n != 0 {
			t.Fatalf("a dry run sent %d requests", n)
		}
		if len(res.Planned) != 2 || res.Planned[0].Method != "GET" || res.Planned[1].Method != "PUT" {
			t.Fatalf("resume %v: plan = %+v, want GET and PUT of the policy", resume, res.Planned)
		}
		if want := srv.URL + "/lake?policy="; res.Planned[1].URL != want {
			t.Errorf("planned URL %s, want %s", res.Planned[1].URL, want)
		}
		body, _ := res.Planned[1].Body.(map[string]any)
		statements, _ := body["Statement"].([]any)
		if resume {
			if len(statements) != 1 || !strings.Contains(statements[0].(string), "other than "+res.StatementID) {
				t.Errorf("planned undo body = %v", body)
			}
			continue
		}
		if len(statements) != 2 || !strings.Contains(statements[0].(string), "kept as they are") {
			t.Fatalf("planned body = %v, want the kept statements and ours", body)
		}
		if ours, _ := statements[1].(map[string]any); ours["Sid"] != res.StatementID || ours["Effect"] != "Deny" {
			t.Errorf("planned statement = %v", ours)
		}
	}
}
