package activities

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/aisoar/aisoar/internal/kongtest"
	"github.com/aisoar/aisoar/internal/litellmtest"
)

const litellmMasterKey = "sk-master-test"

// throttleSteps runs throttle steps in one test environment, each with an
// idempotency key of its own.
type throttleSteps struct {
	t   *testing.T
	env *testsuite.TestActivityEnvironment
}

func newThrottleSteps(t *testing.T, targets Targets) *throttleSteps {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions((&throttleAction{targets: targets}).Run, activity.RegisterOptions{Name: "throttle"})
	return &throttleSteps{t: t, env: env}
}

func (s *throttleSteps) run(p ThrottleParams) (ThrottleResult, error) {
	s.t.Helper()
	val, err := s.env.ExecuteActivity("throttle", p)
	if err != nil {
		return ThrottleResult{}, err
	}
	var res ThrottleResult
	if err := val.Get(&res); err != nil {
		s.t.Fatalf("decoding the throttle result: %v", err)
	}
	return res, nil
}

// runThrottle runs throttle in a fresh environment. Every such run has
// the same idempotency key, stepKey, so running it again is a retry of
// the same step.
func runThrottle(t *testing.T, targets Targets, p ThrottleParams) (ThrottleResult, error) {
	t.Helper()
	return newThrottleSteps(t, targets).run(p)
}

// stepKey is the idempotency key of runThrottle's runs.
func stepKey(t *testing.T) string {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(func(ctx context.Context) (string, error) { return IdempotencyKey(ctx), nil },
		activity.RegisterOptions{Name: "key"})
	val, err := env.ExecuteActivity("key")
	if err != nil {
		t.Fatal(err)
	}
	var key string
	if err := val.Get(&key); err != nil {
		t.Fatal(err)
	}
	return key
}

func mustThrottle(t *testing.T, targets Targets, p ThrottleParams) ThrottleResult {
	t.Helper()
	res, err := runThrottle(t, targets, p)
	if err != nil {
		t.Fatalf("throttle: %v", err)
	}
	return res
}

func newThrottleTarget(t *testing.T, kind, rawURL string, auth TargetAuth) Targets {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return Targets{"gw": {Name: "gw", Kind: kind, URL: u, Auth: auth, Client: &http.Client{Timeout: 2 * time.Second}}}
}

func litellmTargets(t *testing.T, srv *litellmtest.Server) Targets {
	return newThrottleTarget(t, "litellm", srv.URL, TargetAuth{Header: "Authorization", Scheme: "Bearer", Secret: staticSecret(litellmMasterKey)})
}

func ptr[T any](v T) *T { return &v }

// sent is a request as a test expects it: the body is JSON text.
type sent struct {
	Method, URL string // URL is the path and query
	Body        string
}

// jsonValue decodes JSON text for comparison, "" to nil.
func jsonValue(t *testing.T, text string) any {
	t.Helper()
	if text == "" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("bad JSON in test: %v\n%s", err, text)
	}
	return v
}

// checkSent compares the requests a double received with the expected ones.
func checkSent(t *testing.T, got []sent, want []sent) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d requests, want %d:\ngot  %v\nwant %v", len(got), len(want), got, want)
		return
	}
	for i := range want {
		if got[i].Method != want[i].Method || got[i].URL != want[i].URL ||
			!reflect.DeepEqual(jsonValue(t, got[i].Body), jsonValue(t, want[i].Body)) {
			t.Errorf("request %d:\ngot  %s %s %s\nwant %s %s %s", i, got[i].Method, got[i].URL, got[i].Body, want[i].Method, want[i].URL, want[i].Body)
		}
	}
}

func bodyText(body map[string]any) string {
	if body == nil {
		return ""
	}
	data, _ := json.Marshal(body)
	return string(data)
}

// sentTo lists the requests d received, to compare with checkSent.
func sentTo(d double) []sent {
	var out []sent
	for _, r := range d.Requests() {
		out = append(out, sent{r.Method, r.RequestURI(), bodyText(r.Body)})
	}
	return out
}

func checkState(t *testing.T, what string, got *ThrottleState, want ThrottleState) {
	t.Helper()
	if got == nil {
		t.Errorf("%s is missing, want %s", what, stateText(&want))
		return
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("%s = %s, want %s", what, stateText(got), stateText(&want))
	}
}

func stateText(s *ThrottleState) string {
	data, _ := json.Marshal(s)
	return string(data)
}

// marker is the metadata entry or aisoar member a throttle step leaves.
func marker(key, previous string) string {
	return `{"idempotency_key":"` + key + `","previous":` + previous + `}`
}

func TestThrottleLiteLLM(t *testing.T) {
	key := stepKey(t)
	tests := []struct {
		name   string
		params ThrottleParams // target and subject are filled in
		team   bool
		want   func(token string) []sent
		// previous and applied as JSON
		previous, applied string
		check             func(t *testing.T, srv *litellmtest.Server, token string)
	}{
		{
			name:   "key limits",
			params: ThrottleParams{RPM: ptr[int64](10), TPM: ptr[int64](5000)},
			want: func(token string) []sent {
				return []sent{
					{"GET", "/key/info?key=" + token, ""},
					{"POST", "/key/update", `{"key":"` + token + `","rpm_limit":10,"tpm_limit":5000,"metadata":{"owner":"ml","aisoar_throttle":` +
						marker(key, `{"rpm":1000,"tpm":null,"blocked":false}`) + `}}`},
				}
			},
			previous: `{"rpm":1000,"tpm":null,"blocked":false}`,
			applied:  `{"rpm":10,"tpm":5000,"blocked":false}`,
			check: func(t *testing.T, srv *litellmtest.Server, token string) {
				k, _ := srv.Key(token)
				if *k.RPMLimit != 10 || *k.TPMLimit != 5000 || k.IsBlocked() {
					t.Errorf("key after = rpm %v tpm %v blocked %v, want 10, 5000, false", *k.RPMLimit, *k.TPMLimit, k.IsBlocked())
				}
			},
		},
		{
			name:   "rpm 0 blocks the key and keeps its limit",
			params: ThrottleParams{RPM: ptr[int64](0)},
			want: func(token string) []sent {
				return []sent{
					{"GET", "/key/info?key=" + token, ""},
					{"POST", "/key/update", `{"key":"` + token + `","metadata":{"owner":"ml","aisoar_throttle":` +
						marker(key, `{"rpm":1000,"tpm":null,"blocked":false}`) + `}}`},
					{"POST", "/key/block", `{"key":"` + token + `"}`},
				}
			},
			previous: `{"rpm":1000,"tpm":null,"blocked":false}`,
			applied:  `{"rpm":1000,"tpm":null,"blocked":true}`,
			check: func(t *testing.T, srv *litellmtest.Server, token string) {
				k, _ := srv.Key(token)
				if *k.RPMLimit != 1000 || !k.IsBlocked() || len(srv.ValidKeys()) != 0 {
					t.Errorf("key after = rpm %v blocked %v, want 1000 and blocked", *k.RPMLimit, k.IsBlocked())
				}
			},
		},
		{
			name:   "team block and tpm",
			team:   true,
			params: ThrottleParams{TPM: ptr[int64](100), Block: true},
			want: func(string) []sent {
				return []sent{
					{"GET", "/team/info?team_id=tenant-a", ""},
					{"POST", "/team/update", `{"team_id":"tenant-a","tpm_limit":100,"metadata":{"aisoar_throttle":` +
						marker(key, `{"rpm":null,"tpm":50000,"blocked":false}`) + `}}`},
					{"POST", "/team/block", `{"team_id":"tenant-a"}`},
				}
			},
			previous: `{"rpm":null,"tpm":50000,"blocked":false}`,
			applied:  `{"rpm":null,"tpm":100,"blocked":true}`,
			check: func(t *testing.T, srv *litellmtest.Server, _ string) {
				team, _ := srv.Team("tenant-a")
				if *team.TPMLimit != 100 || !team.Blocked {
					t.Errorf("team after = tpm %v blocked %v, want 100 and blocked", *team.TPMLimit, team.Blocked)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := litellmtest.New(t, litellmMasterKey)
			k := srv.AddKey(litellmtest.Key{KeyAlias: "svc-a", RPMLimit: ptr[int64](1000), Metadata: map[string]any{"owner": "ml"}})
			srv.AddTeam(litellmtest.Team{TeamID: "tenant-a", TPMLimit: ptr[int64](50000)})
			p := tt.params
			p.Target, p.Key = "gw", k.Token
			subject := "key " + k.Token
			if tt.team {
				p.Key, p.Team, subject = "", "tenant-a", "team tenant-a"
			}
			res := mustThrottle(t, litellmTargets(t, srv), p)
			checkSent(t, sentTo(srv), tt.want(k.Token))
			if res.Subject != subject {
				t.Errorf("Subject = %q, want %q", res.Subject, subject)
			}
			var previous, applied ThrottleState
			_ = json.Unmarshal([]byte(tt.previous), &previous)
			_ = json.Unmarshal([]byte(tt.applied), &applied)
			checkState(t, "previous", res.Previous, previous)
			checkState(t, "applied", res.Applied, applied)
			if res.DryRun || len(res.Planned) != 0 {
				t.Errorf("Plan = %+v, want none outside a dry run", res.Plan)
			}
			tt.check(t, srv, k.Token)
		})
	}
}

// TestThrottleLiteLLMRetry runs a step again after it failed between its
// update and its block: the retry reports the limits from before the
// first attempt, read from its marker, and leaves one change behind.
func TestThrottleLiteLLMRetry(t *testing.T) {
	srv := litellmtest.New(t, litellmMasterKey)
	k := srv.AddKey(litellmtest.Key{RPMLimit: ptr[int64](1000)})
	targets := litellmTargets(t, srv)
	p := ThrottleParams{Target: "gw", Key: k.Token, RPM: ptr[int64](10), Block: true}

	srv.FailNext("/key/block", http.StatusServiceUnavailable, 1)
	if _, err := runThrottle(t, targets, p); err == nil || appError(t, err).NonRetryable() {
		t.Fatalf("first attempt: err = %v, want a retryable error", err)
	}
	if after, _ := srv.Key(k.Token); *after.RPMLimit != 10 || after.IsBlocked() {
		t.Fatalf("after the failed attempt: rpm %d blocked %v, want 10 and not blocked", *after.RPMLimit, after.IsBlocked())
	}
	first := mustThrottle(t, targets, p)
	again := mustThrottle(t, targets, p)
	want := ThrottleState{RPM: ptr[int64](1000)}
	checkState(t, "previous of the retry", first.Previous, want)
	if !reflect.DeepEqual(first, again) {
		t.Errorf("a second retry answered %+v, want the same as %+v", again, first)
	}
	after, _ := srv.Key(k.Token)
	if *after.RPMLimit != 10 || !after.IsBlocked() || len(srv.Keys()) != 1 {
		t.Errorf("after the retries: rpm %d blocked %v keys %d, want 10, blocked, 1 key", *after.RPMLimit, after.IsBlocked(), len(srv.Keys()))
	}
}

// TestThrottleLiteLLMUndo throttles a key in two steps and undoes them in
// reverse order, as the workflow does: the key ends as it started.
func TestThrottleLiteLLMUndo(t *testing.T) {
	srv := litellmtest.New(t, litellmMasterKey)
	k := srv.AddKey(litellmtest.Key{RPMLimit: ptr[int64](1000), Metadata: map[string]any{"owner": "ml"}})
	steps := newThrottleSteps(t, litellmTargets(t, srv))
	run := func(p ThrottleParams) ThrottleResult {
		t.Helper()
		p.Target, p.Key = "gw", k.Token
		res, err := steps.run(p)
		if err != nil {
			t.Fatalf("throttle %+v: %v", p, err)
		}
		return res
	}
	limit := run(ThrottleParams{RPM: ptr[int64](10), TPM: ptr[int64](100)})
	block := run(ThrottleParams{Block: true})
	checkState(t, "previous of the second step", block.Previous, ThrottleState{RPM: ptr[int64](10), TPM: ptr[int64](100)})

	before := len(srv.Requests())
	undo := run(ThrottleParams{Restore: block.Previous})
	checkState(t, "applied of the undo", undo.Applied, *block.Previous)
	if undo.Previous != nil {
		t.Errorf("undo Previous = %s, want none", stateText(undo.Previous))
	}
	checkSent(t, sentTo(srv)[before:], []sent{
		{"GET", "/key/info?key=" + k.Token, ""},
		{"POST", "/key/update", `{"key":"` + k.Token + `","rpm_limit":10,"tpm_limit":100,"metadata":{"owner":"ml"}}`},
		{"POST", "/key/unblock", `{"key":"` + k.Token + `"}`},
	})
	for range 2 { // the second undo is a retry and changes nothing
		run(ThrottleParams{Restore: limit.Previous})
	}
	after, _ := srv.Key(k.Token)
	if after.RPMLimit == nil || *after.RPMLimit != 1000 || after.TPMLimit != nil || after.IsBlocked() ||
		!reflect.DeepEqual(after.Metadata, map[string]any{"owner": "ml"}) {
		t.Errorf("after the undos: rpm %v tpm %v blocked %v metadata %v, want 1000, none, false, {owner: ml}",
			after.RPMLimit, after.TPMLimit, after.IsBlocked(), after.Metadata)
	}
}

func TestThrottleKong(t *testing.T) {
	key := stepKey(t)
	step := kongStepTag(key)
	rl, rt := kongPluginID(key, "rate-limiting"), kongPluginID(key, "request-termination")
	tests := []struct {
		name              string
		setup             func(srv *kongtest.Server, acme string) (existing string) // acme is the consumer id; returns the id of a plugin there
		params            ThrottleParams                                            // subject and target are filled in
		route             bool
		want              func(existing string) []sent
		previous, applied string
	}{
		{
			name:   "consumer without plugins",
			params: ThrottleParams{RPM: ptr[int64](10)},
			want: func(string) []sent {
				return []sent{
					{"GET", "/consumers/acme/plugins", ""},
					{"PUT", "/consumers/acme/plugins/" + rl, `{"name":"rate-limiting","config":{"minute":10},"tags":["aisoar","` + step + `","aisoar-was-absent"]}`},
				}
			},
			previous: `{"rpm":null,"tpm":null,"blocked":false,"kong_plugins":[{"name":"rate-limiting","id":"` + rl + `","existed":false}]}`,
			applied:  `{"rpm":10,"tpm":null,"blocked":false}`,
		},
		{
			name: "consumer with a rate limit, blocked",
			setup: func(srv *kongtest.Server, acme string) string {
				p := srv.AddPlugin(kongtest.Plugin{Name: "rate-limiting", ConsumerID: acme, Enabled: true,
					Config: map[string]any{"minute": 100.0, "hour": 5000.0}, Tags: []string{"team-ml"}})
				return p.ID
			},
			params: ThrottleParams{RPM: ptr[int64](10), Block: true},
			want: func(existing string) []sent {
				return []sent{
					{"GET", "/consumers/acme/plugins", ""},
					{"PATCH", "/consumers/acme/plugins/" + existing, `{"enabled":true,"config":{"minute":10},"tags":["team-ml","aisoar","` + step + `","aisoar-was-enabled","aisoar-was-minute-100"]}`},
					{"PUT", "/consumers/acme/plugins/" + rt, `{"name":"request-termination","config":{"status_code":403,"message":"Access suspended by incident response"},"tags":["aisoar","` + step + `","aisoar-was-absent"]}`},
				}
			},
			previous: `{"rpm":100,"tpm":null,"blocked":false,"kong_plugins":[` +
				`{"name":"rate-limiting","id":"<existing>","existed":true,"enabled":true,"minute":100,"tags":["team-ml"]},` +
				`{"name":"request-termination","id":"` + rt + `","existed":false}]}`,
			applied: `{"rpm":10,"tpm":null,"blocked":true}`,
		},
		{
			name: "plugins on the consumer and a route are another scope",
			setup: func(srv *kongtest.Server, acme string) string {
				srv.AddPlugin(kongtest.Plugin{Name: "rate-limiting", ConsumerID: acme, RouteID: "0b8c5b8e-2f4c-4d3e-9c51-8e0f0e6f7a10",
					Enabled: true, Config: map[string]any{"minute": 5.0}})
				return ""
			},
			params: ThrottleParams{RPM: ptr[int64](10)},
			want: func(string) []sent {
				return []sent{
					{"GET", "/consumers/acme/plugins", ""},
					{"PUT", "/consumers/acme/plugins/" + rl, `{"name":"rate-limiting","config":{"minute":10},"tags":["aisoar","` + step + `","aisoar-was-absent"]}`},
				}
			},
			previous: `{"rpm":null,"tpm":null,"blocked":false,"kong_plugins":[{"name":"rate-limiting","id":"` + rl + `","existed":false}]}`,
			applied:  `{"rpm":10,"tpm":null,"blocked":false}`,
		},
		{
			name: "disabled plugin on a later page",
			setup: func(srv *kongtest.Server, acme string) string {
				srv.SetPageSize(2)
				for range 3 {
					srv.AddPlugin(kongtest.Plugin{Name: "key-auth", ConsumerID: acme, RouteID: "0b8c5b8e-2f4c-4d3e-9c51-8e0f0e6f7a10", Enabled: true})
				}
				p := srv.AddPlugin(kongtest.Plugin{Name: "rate-limiting", ConsumerID: acme, Enabled: false,
					Config: map[string]any{"hour": 600.0}})
				return p.ID
			},
			params: ThrottleParams{RPM: ptr[int64](10)},
			want: func(existing string) []sent {
				return []sent{
					{"GET", "/consumers/acme/plugins", ""},
					{"GET", "/consumers/acme/plugins?offset=Mg", ""},
					{"PATCH", "/consumers/acme/plugins/" + existing, `{"enabled":true,"config":{"minute":10},"tags":["aisoar","` + step + `","aisoar-was-disabled","aisoar-was-minute-none"]}`},
				}
			},
			previous: `{"rpm":null,"tpm":null,"blocked":false,"kong_plugins":[{"name":"rate-limiting","id":"<existing>","existed":true}]}`,
			applied:  `{"rpm":10,"tpm":null,"blocked":false}`,
		},
		{
			name:   "route counts all its traffic",
			route:  true,
			params: ThrottleParams{RPM: ptr[int64](60)},
			want: func(string) []sent {
				return []sent{
					{"GET", "/routes/chat/plugins", ""},
					{"PUT", "/routes/chat/plugins/" + rl, `{"name":"rate-limiting","config":{"minute":60,"limit_by":"service"},"tags":["aisoar","` + step + `","aisoar-was-absent"]}`},
				}
			},
			previous: `{"rpm":null,"tpm":null,"blocked":false,"kong_plugins":[{"name":"rate-limiting","id":"` + rl + `","existed":false}]}`,
			applied:  `{"rpm":60,"tpm":null,"blocked":false}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := kongtest.New(t, kongtest.WithAdminToken("admin-token"))
			acme := srv.AddConsumer("acme")
			srv.AddRoute("chat")
			existing := ""
			if tt.setup != nil {
				existing = tt.setup(srv, acme.ID)
			}
			p := tt.params
			p.Target, p.Consumer = "gw", "acme"
			if tt.route {
				p.Consumer, p.Route = "", "chat"
			}
			res := mustThrottle(t, kongTargets(t, srv), p)
			checkSent(t, sentTo(srv), tt.want(existing))
			var previous, applied ThrottleState
			_ = json.Unmarshal([]byte(strings.ReplaceAll(tt.previous, "<existing>", existing)), &previous)
			_ = json.Unmarshal([]byte(tt.applied), &applied)
			checkState(t, "previous", res.Previous, previous)
			checkState(t, "applied", res.Applied, applied)
			for _, r := range srv.Requests() {
				if r.Status >= 300 {
					t.Errorf("Kong answered %s %s with %d", r.Method, r.Path, r.Status)
				}
			}
		})
	}
}

func kongTargets(t *testing.T, srv *kongtest.Server) Targets {
	return newThrottleTarget(t, "kong", srv.URL, TargetAuth{Header: "Kong-Admin-Token", Secret: staticSecret("admin-token")})
}

// TestThrottleKongRetryAndUndo runs a step again after it failed between
// its two plugin writes, then undoes it twice.
func TestThrottleKongRetryAndUndo(t *testing.T) {
	key := stepKey(t)
	srv := kongtest.New(t, kongtest.WithAdminToken("admin-token"))
	acme := srv.AddConsumer("acme")
	limit := srv.AddPlugin(kongtest.Plugin{Name: "rate-limiting", ConsumerID: acme.ID, Enabled: true,
		Config: map[string]any{"minute": 100.0, "hour": 5000.0}, Tags: []string{"team-ml"}})
	targets := kongTargets(t, srv)
	p := ThrottleParams{Target: "gw", Consumer: "acme", RPM: ptr[int64](10), Block: true}
	termination := "/consumers/acme/plugins/" + kongPluginID(key, "request-termination")

	srv.FailNext(termination, http.StatusInternalServerError, 1)
	if _, err := runThrottle(t, targets, p); err == nil || appError(t, err).NonRetryable() {
		t.Fatalf("first attempt: err = %v, want a retryable error", err)
	}
	first := mustThrottle(t, targets, p)
	again := mustThrottle(t, targets, p)
	want := ThrottleState{RPM: ptr[int64](100), KongPlugins: []ThrottleKongPlugin{
		{Name: "rate-limiting", ID: limit.ID, Existed: true, Enabled: true, Minute: ptr(100.0), Tags: []string{"team-ml"}},
		{Name: "request-termination", ID: kongPluginID(key, "request-termination")},
	}}
	checkState(t, "previous of the retry", first.Previous, want)
	if !reflect.DeepEqual(first, again) {
		t.Errorf("a second retry answered %+v, want the same as %+v", again, first)
	}
	if n := len(srv.Plugins()); n != 2 {
		t.Errorf("%d plugins after the retries, want 2", n)
	}

	before := len(srv.Requests())
	for range 2 { // the second undo is a retry: the plugin is gone already
		undo := mustThrottle(t, targets, ThrottleParams{Target: "gw", Consumer: "acme", Restore: first.Previous})
		checkState(t, "applied of the undo", undo.Applied, ThrottleState{RPM: ptr[int64](100)})
	}
	restore := []sent{
		{"PATCH", "/consumers/acme/plugins/" + limit.ID, `{"enabled":true,"tags":["team-ml"],"config":{"minute":100}}`},
		{"DELETE", termination, ""},
	}
	checkSent(t, sentTo(srv)[before:], append(restore, restore...))
	plugins := srv.Plugins()
	if len(plugins) != 1 || plugins[0].ID != limit.ID || !plugins[0].Enabled || plugins[0].Config["minute"] != 100.0 ||
		plugins[0].Config["hour"] != 5000.0 || !slices.Equal(plugins[0].Tags, []string{"team-ml"}) {
		t.Errorf("plugins after the undo = %+v, want only the rate limit as it was", plugins)
	}
}

// limitsGateway is a gateway that follows the http driver's limits
// contract, for the http target's tests.
type limitsGateway struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []recorded
	records map[string]map[string]any // by path
	fail    int                       // status to answer the next request with
	hang    bool                      // whether to answer the next request only when the client gives up
}

func newLimitsGateway(t *testing.T) *limitsGateway {
	g := &limitsGateway{records: map[string]map[string]any{}}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.Close)
	return g
}

func (g *limitsGateway) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	g.reqs = append(g.reqs, recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: string(body)})
	hang := g.hang
	g.hang = false
	g.mu.Unlock()
	if hang {
		<-r.Context().Done()
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if g.fail != 0 {
		w.WriteHeader(g.fail)
		_, _ = io.WriteString(w, `{"error":"injected"}`)
		g.fail = 0
		return
	}
	if strings.HasSuffix(r.URL.Path, "/missing") {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":"no such subject"}`)
		return
	}
	rec := g.records[r.URL.Path]
	if rec == nil {
		rec = map[string]any{"rpm": nil, "tpm": nil, "blocked": false}
	}
	if r.Method == http.MethodPatch {
		var patch map[string]any
		if r.Header.Get("Content-Type") != "application/merge-patch+json" || json.Unmarshal(body, &patch) != nil {
			w.WriteHeader(http.StatusUnsupportedMediaType)
			return
		}
		mergePatch(rec, patch)
		g.records[r.URL.Path] = rec
	}
	_ = json.NewEncoder(w).Encode(rec)
}

// hangNext makes the gateway keep the next request waiting until the
// client gives up.
func (g *limitsGateway) hangNext() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hang = true
}

func (g *limitsGateway) requests() []recorded {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.reqs)
}

// mergePatch applies an RFC 7396 JSON merge patch to doc.
func mergePatch(doc, patch map[string]any) {
	for k, v := range patch {
		sub, isObject := v.(map[string]any)
		switch cur, ok := doc[k].(map[string]any); {
		case v == nil:
			delete(doc, k)
		case isObject && ok:
			mergePatch(cur, sub)
		case isObject:
			doc[k] = map[string]any{}
			mergePatch(doc[k].(map[string]any), sub)
		default:
			doc[k] = v
		}
	}
}

func (g *limitsGateway) record(path string) map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	data, _ := json.Marshal(g.records[path])
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return out
}

func (g *limitsGateway) sent() []sent {
	var out []sent
	for _, r := range g.requests() {
		out = append(out, sent{r.Method, r.Path, r.Body})
	}
	return out
}

func TestThrottleHTTP(t *testing.T) {
	key := stepKey(t)
	g := newLimitsGateway(t)
	g.records["/limits/consumers/acme"] = map[string]any{"rpm": 100.0, "tpm": 2000.0, "blocked": false, "tier": "gold"}
	targets := newThrottleTarget(t, "http", g.URL, TargetAuth{Header: "X-Gateway-Token", Secret: staticSecret("gw-token")})
	p := ThrottleParams{Target: "gw", Consumer: "acme", RPM: ptr[int64](5), TPM: ptr[int64](0)}

	res := mustThrottle(t, targets, p)
	again := mustThrottle(t, targets, p) // a retry
	previous := `{"rpm":100,"tpm":2000,"blocked":false}`
	checkSent(t, g.sent(), []sent{
		{"GET", "/limits/consumers/acme", ""},
		{"PATCH", "/limits/consumers/acme", `{"aisoar":` + marker(key, previous) + `,"rpm":5,"blocked":true}`},
		{"GET", "/limits/consumers/acme", ""},
		{"PATCH", "/limits/consumers/acme", `{"aisoar":` + marker(key, previous) + `,"rpm":5,"blocked":true}`},
	})
	for _, r := range g.requests() {
		if r.Header.Get("Idempotency-Key") != key || r.Header.Get("X-Gateway-Token") != "gw-token" {
			t.Errorf("%s %s: Idempotency-Key %q, X-Gateway-Token %q", r.Method, r.Path, r.Header.Get("Idempotency-Key"), r.Header.Get("X-Gateway-Token"))
		}
	}
	checkState(t, "previous", res.Previous, ThrottleState{RPM: ptr[int64](100), TPM: ptr[int64](2000)})
	checkState(t, "applied", res.Applied, ThrottleState{RPM: ptr[int64](5), TPM: ptr[int64](2000), Blocked: true})
	if !reflect.DeepEqual(res, again) {
		t.Errorf("the retry answered %+v, want the same as %+v", again, res)
	}

	undo := mustThrottle(t, targets, ThrottleParams{Target: "gw", Consumer: "acme", Restore: res.Previous})
	if got := g.sent()[4]; got.Method != "PATCH" || !reflect.DeepEqual(jsonValue(t, got.Body), jsonValue(t, `{"rpm":100,"tpm":2000,"blocked":false,"aisoar":null}`)) {
		t.Errorf("undo sent %s %s", got.Method, got.Body)
	}
	checkState(t, "applied of the undo", undo.Applied, *res.Previous)
	if got, want := g.record("/limits/consumers/acme"), map[string]any{"rpm": 100.0, "tpm": 2000.0, "blocked": false, "tier": "gold"}; !reflect.DeepEqual(got, want) {
		t.Errorf("record after the undo = %v, want %v", got, want)
	}
}

func TestThrottleErrors(t *testing.T) {
	key := stepKey(t)
	tests := []struct {
		name  string
		setup func(t *testing.T) (Targets, ThrottleParams)
		// retryable is whether Temporal may retry; msg is part of the error
		retryable bool
		msg       string
	}{
		{"litellm unknown key", func(t *testing.T) (Targets, ThrottleParams) {
			srv := litellmtest.New(t, litellmMasterKey)
			return litellmTargets(t, srv), ThrottleParams{Target: "gw", Key: "88e1f0", Block: true}
		}, false, "Key not found in database"},
		{"litellm wrong master key", func(t *testing.T) (Targets, ThrottleParams) {
			srv := litellmtest.New(t, "sk-other-master")
			return litellmTargets(t, srv), ThrottleParams{Target: "gw", Team: "tenant-a", Block: true}
		}, false, "401 Unauthorized"},
		{"litellm 500 on update", func(t *testing.T) (Targets, ThrottleParams) {
			srv := litellmtest.New(t, litellmMasterKey)
			srv.AddTeam(litellmtest.Team{TeamID: "tenant-a"})
			srv.FailNext("/team/update", http.StatusInternalServerError, 1)
			return litellmTargets(t, srv), ThrottleParams{Target: "gw", Team: "tenant-a", RPM: ptr[int64](1)}
		}, true, "500 Internal Server Error"},
		{"litellm timeout", func(t *testing.T) (Targets, ThrottleParams) {
			srv := litellmtest.New(t, litellmMasterKey)
			srv.HangNext("/key/info", 1)
			targets := litellmTargets(t, srv)
			targets["gw"].Client = &http.Client{Timeout: 200 * time.Millisecond}
			return targets, ThrottleParams{Target: "gw", Key: "88e1f0", Block: true}
		}, true, "Client.Timeout"},
		{"kong unknown consumer", func(t *testing.T) (Targets, ThrottleParams) {
			srv := kongtest.New(t, kongtest.WithAdminToken("admin-token"))
			return kongTargets(t, srv), ThrottleParams{Target: "gw", Consumer: "nobody", RPM: ptr[int64](10)}
		}, false, "404 Not Found"},
		{"kong refuses a minute limit above the hour limit", func(t *testing.T) (Targets, ThrottleParams) {
			srv := kongtest.New(t, kongtest.WithAdminToken("admin-token"))
			acme := srv.AddConsumer("acme")
			srv.AddPlugin(kongtest.Plugin{Name: "rate-limiting", ConsumerID: acme.ID, Enabled: true, Config: map[string]any{"hour": 5.0}})
			return kongTargets(t, srv), ThrottleParams{Target: "gw", Consumer: "acme", RPM: ptr[int64](10)}
		}, false, "cannot be lower than the limit for minute"},
		{"kong wrong admin token", func(t *testing.T) (Targets, ThrottleParams) {
			srv := kongtest.New(t, kongtest.WithAdminToken("other-token"))
			return kongTargets(t, srv), ThrottleParams{Target: "gw", Consumer: "acme", Block: true}
		}, false, "Invalid credentials"},
		{"kong 503", func(t *testing.T) (Targets, ThrottleParams) {
			srv := kongtest.New(t)
			srv.AddConsumer("acme")
			srv.FailNext("/consumers/acme/plugins/"+kongPluginID(key, "request-termination"), http.StatusServiceUnavailable, 1)
			return kongTargets(t, srv), ThrottleParams{Target: "gw", Consumer: "acme", Block: true}
		}, true, "503 Service Unavailable"},
		{"kong timeout", func(t *testing.T) (Targets, ThrottleParams) {
			srv := kongtest.New(t)
			srv.HangNext("/routes/chat/plugins", 1)
			targets := kongTargets(t, srv)
			targets["gw"].Client = &http.Client{Timeout: 200 * time.Millisecond}
			return targets, ThrottleParams{Target: "gw", Route: "chat", Block: true}
		}, true, "Client.Timeout"},
		{"http unknown subject", func(t *testing.T) (Targets, ThrottleParams) {
			g := newLimitsGateway(t)
			return newThrottleTarget(t, "http", g.URL, TargetAuth{}), ThrottleParams{Target: "gw", Key: "missing", Block: true}
		}, false, "no such subject"},
		{"http 502", func(t *testing.T) (Targets, ThrottleParams) {
			g := newLimitsGateway(t)
			g.fail = http.StatusBadGateway
			return newThrottleTarget(t, "http", g.URL, TargetAuth{}), ThrottleParams{Target: "gw", Team: "t1", Block: true}
		}, true, "502 Bad Gateway"},
		{"http timeout", func(t *testing.T) (Targets, ThrottleParams) {
			g := newLimitsGateway(t)
			g.hangNext()
			targets := newThrottleTarget(t, "http", g.URL, TargetAuth{})
			targets["gw"].Client = &http.Client{Timeout: 200 * time.Millisecond}
			return targets, ThrottleParams{Target: "gw", Team: "t1", Block: true}
		}, true, "Client.Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			targets, p := tt.setup(t)
			_, err := runThrottle(t, targets, p)
			if err == nil {
				t.Fatal("throttle succeeded, want an error")
			}
			if appErr := appError(t, err); appErr.NonRetryable() == tt.retryable {
				t.Errorf("NonRetryable = %v, want %v (%v)", appErr.NonRetryable(), !tt.retryable, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			if strings.Contains(err.Error(), litellmMasterKey) || strings.Contains(err.Error(), "admin-token") {
				t.Errorf("error %q shows a credential", err)
			}
		})
	}
}

func TestThrottleDryRun(t *testing.T) {
	key := stepKey(t)
	tests := []struct {
		name   string
		setup  func(t *testing.T) (targets Targets, base string, requests func() int)
		params ThrottleParams // target is filled in
		want   []sent         // URL relative to the target's
	}{
		{
			name: "litellm key",
			setup: func(t *testing.T) (Targets, string, func() int) {
				srv := litellmtest.New(t, litellmMasterKey)
				return litellmTargets(t, srv), srv.URL, func() int { return len(srv.Requests()) }
			},
			params: ThrottleParams{Key: "88e1f0", RPM: ptr[int64](10), Block: true},
			want: []sent{
				{"GET", "/key/info?key=88e1f0", ""},
				{"POST", "/key/update", `{"key":"88e1f0","rpm_limit":10,"metadata":"<the key's metadata, with aisoar_throttle: this step's idempotency key and the limits before the change>"}`},
				{"POST", "/key/block", `{"key":"88e1f0"}`},
			},
		},
		{
			name: "litellm team undo",
			setup: func(t *testing.T) (Targets, string, func() int) {
				srv := litellmtest.New(t, litellmMasterKey)
				return litellmTargets(t, srv), srv.URL, func() int { return len(srv.Requests()) }
			},
			params: ThrottleParams{Team: "tenant-a", Restore: &ThrottleState{TPM: ptr[int64](50000)}},
			want: []sent{
				{"GET", "/team/info?team_id=tenant-a", ""},
				{"POST", "/team/update", `{"team_id":"tenant-a","rpm_limit":null,"tpm_limit":50000,"metadata":"<the team's metadata, without aisoar_throttle>"}`},
				{"POST", "/team/unblock", `{"team_id":"tenant-a"}`},
			},
		},
		{
			name: "kong consumer",
			setup: func(t *testing.T) (Targets, string, func() int) {
				srv := kongtest.New(t, kongtest.WithAdminToken("admin-token"))
				return kongTargets(t, srv), srv.URL, func() int { return len(srv.Requests()) }
			},
			params: ThrottleParams{Consumer: "acme", Block: true},
			want: []sent{
				{"GET", "/consumers/acme/plugins", ""},
				{"PUT", "/consumers/acme/plugins/" + kongPluginID(key, "request-termination"),
					`{"name":"request-termination","config":{"status_code":403,"message":"Access suspended by incident response"},"tags":["aisoar","` + kongStepTag(key) + `","aisoar-was-absent"]}`},
			},
		},
		{
			name: "http key",
			setup: func(t *testing.T) (Targets, string, func() int) {
				g := newLimitsGateway(t)
				return newThrottleTarget(t, "http", g.URL, TargetAuth{}), g.URL, func() int { return len(g.requests()) }
			},
			params: ThrottleParams{Key: "k-1", TPM: ptr[int64](100)},
			want: []sent{
				{"GET", "/limits/keys/k-1", ""},
				{"PATCH", "/limits/keys/k-1", `{"tpm":100,"aisoar":{"idempotency_key":"` + key + `","previous":"<the limits read before the change>"}}`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			targets, base, requests := tt.setup(t)
			p := tt.params
			p.Target, p.DryRun = "gw", DryRun{DryRun: true}
			res := mustThrottle(t, targets, p)
			if n := requests(); n != 0 {
				t.Errorf("the target received %d requests in a dry run", n)
			}
			if !res.DryRun || res.Previous != nil || res.Applied != nil {
				t.Errorf("result = %+v, want a dry run without previous or applied", res)
			}
			var got []sent
			for _, pr := range res.Planned {
				body := ""
				if pr.Body != nil {
					data, _ := json.Marshal(pr.Body)
					body = string(data)
				}
				got = append(got, sent{pr.Method, strings.TrimPrefix(pr.URL, base), body})
			}
			checkSent(t, got, tt.want)
		})
	}
}

func TestThrottleBadParams(t *testing.T) {
	litellm := litellmtest.New(t, litellmMasterKey)
	kong := kongtest.New(t)
	targets := Targets{}
	for name, tg := range map[string]Targets{
		"gw": litellmTargets(t, litellm), "kong": kongTargets(t, kong),
		"registry": newThrottleTarget(t, "mlflow", "http://127.0.0.1:9", TargetAuth{}),
	} {
		targets[name] = tg["gw"]
		targets[name].Name = name
	}
	kongPlugins := []ThrottleKongPlugin{{Name: "rate-limiting", ID: "9a7e4c1e-0000-4000-8000-000000000001"}}
	tests := []struct {
		name string
		p    ThrottleParams
		msg  string
	}{
		{"no subject", ThrottleParams{Target: "gw", Block: true}, `give exactly one of key, team (got none)`},
		{"two subjects", ThrottleParams{Target: "gw", Key: "88e1f0", Team: "t", Block: true}, `(got key, team)`},
		{"subject of another driver", ThrottleParams{Target: "gw", Consumer: "acme", Block: true}, `target "gw" is a litellm target: give exactly one of key, team (got consumer)`},
		{"a LiteLLM key itself", ThrottleParams{Target: "gw", Key: "sk-1234abcd", Block: true}, "pass its token hash"},
		{"nothing to do", ThrottleParams{Target: "gw", Key: "88e1f0"}, "nothing to do"},
		{"negative limit", ThrottleParams{Target: "gw", Key: "88e1f0", RPM: ptr[int64](-1)}, "rpm -1 is negative"},
		{"restore with a change", ThrottleParams{Target: "gw", Key: "88e1f0", Block: true, Restore: &ThrottleState{}}, "takes no rpm, tpm or block"},
		{"Kong plugins restored on LiteLLM", ThrottleParams{Target: "gw", Key: "88e1f0", Restore: &ThrottleState{KongPlugins: kongPlugins}}, "undo on the target that was throttled"},
		{"tokens on Kong", ThrottleParams{Target: "kong", Consumer: "acme", TPM: ptr[int64](100)}, "counts requests, not tokens"},
		{"Kong restore without plugins", ThrottleParams{Target: "kong", Consumer: "acme", Restore: &ThrottleState{RPM: ptr[int64](5)}}, "restore has no kong_plugins"},
		{"Kong restore of another plugin", ThrottleParams{Target: "kong", Consumer: "acme", Restore: &ThrottleState{
			KongPlugins: []ThrottleKongPlugin{{Name: "key-auth", ID: "9a7e4c1e-0000-4000-8000-000000000001", Existed: false}}}}, "records only rate-limiting and request-termination"},
		{"unknown target", ThrottleParams{Target: "nope", Key: "88e1f0", Block: true}, `no target "nope"`},
		{"target of another kind", ThrottleParams{Target: "registry", Key: "88e1f0", Block: true}, "this action drives litellm or kong or http targets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runThrottle(t, targets, tt.p)
			if err == nil {
				t.Fatal("throttle succeeded, want an error")
			}
			appErr := appError(t, err)
			if !appErr.NonRetryable() || appErr.Type() != "BadParams" {
				t.Errorf("error %v: NonRetryable %v, type %q; want a non-retryable BadParams", err, appErr.NonRetryable(), appErr.Type())
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
	if n := len(litellm.Requests()) + len(kong.Requests()); n != 0 {
		t.Errorf("the targets received %d requests for bad parameters", n)
	}
}
