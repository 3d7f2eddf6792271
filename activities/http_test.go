package activities

import (
	"context"
	"errors"
	"fmt"
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
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// recorded is one request a test server received.
type recorded struct {
	Method string
	Path   string
	Header http.Header
	Body   string
}

// target is a test server that records what it receives and answers with
// the handler it was given.
type target struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newTarget(t *testing.T, reply http.HandlerFunc) *target {
	t.Helper()
	tg := &target{}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		tg.mu.Lock()
		tg.reqs = append(tg.reqs, recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: string(body)})
		tg.mu.Unlock()
		reply(w, r)
	}))
	t.Cleanup(tg.Close)
	return tg
}

// requests returns what the server has received so far.
func (tg *target) requests() []recorded {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return slices.Clone(tg.reqs)
}

// hostPort is the server's address as an allow_hosts entry.
func (tg *target) hostPort() string { return strings.TrimPrefix(tg.URL, "http://") }

// answer replies with a status, a content type and a body.
func answer(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// httpTarget is an http target named name at path on the server, with a
// bearer token and a short timeout.
func (tg *target) httpTarget(name, path, token string) *Target {
	u, _ := url.Parse(tg.URL + path)
	return &Target{Name: name, Kind: "http", URL: u, Client: &http.Client{Timeout: 200 * time.Millisecond},
		Auth: TargetAuth{Header: "Authorization", Scheme: "Bearer", Secret: staticSecret(token)}}
}

// actionEnv is a test environment with run registered as the action
// name, so activity.GetInfo works as it does on a worker.
func actionEnv(name string, run any) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(run, activity.RegisterOptions{Name: name})
	return env
}

// runAction runs the action registered as name in env and decodes its
// result.
func runAction[R any](t *testing.T, env *testsuite.TestActivityEnvironment, name string, p any) (R, error) {
	t.Helper()
	var res R
	val, err := env.ExecuteActivity(name, p)
	if err != nil {
		return res, err
	}
	if err := val.Get(&res); err != nil {
		t.Fatalf("decoding the %s result: %v", name, err)
	}
	return res, nil
}

// runHTTP runs the http action in a fresh test environment.
func runHTTP(t *testing.T, opts HTTPOptions, p HTTPParams) (HTTPResult, error) {
	t.Helper()
	return runAction[HTTPResult](t, actionEnv("http", newHTTPAction(opts).Run), "http", p)
}

// appError returns err as a Temporal application error, failing the test
// when it is not one.
func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("error %v (%T) is not a temporal.ApplicationError", err, err)
	}
	return appErr
}

func TestHTTPSuccess(t *testing.T) {
	tests := []struct {
		name   string
		params HTTPParams // URL is the path on the test server
		reply  http.HandlerFunc
		// what the server must receive
		wantMethod  string
		wantHeaders map[string]string // "" means the header must be absent
		wantBody    string
		// what the action must return
		wantStatus      int
		wantRespHeaders map[string]string
		wantRespBody    any
	}{
		{
			name: "map body is sent as JSON with POST by default",
			params: HTTPParams{
				URL:     "/v1/keys/revoke",
				Headers: map[string]string{"X-Token": "abc"},
				Body:    map[string]any{"key_id": "k-1", "count": 2},
			},
			reply: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-Request-ID", "r-1")
				_, _ = io.WriteString(w, `{"revoked":true,"ids":["k-1"],"n":1}`)
			},
			wantMethod:      "POST",
			wantHeaders:     map[string]string{"Content-Type": "application/json", "X-Token": "abc", "User-Agent": "aisoar"},
			wantBody:        `{"count":2,"key_id":"k-1"}`,
			wantStatus:      200,
			wantRespHeaders: map[string]string{"content-type": "application/json", "x-request-id": "r-1"},
			wantRespBody:    map[string]any{"revoked": true, "ids": []any{"k-1"}, "n": float64(1)},
		},
		{
			name:            "string body is sent as text",
			params:          HTTPParams{Method: "PUT", URL: "/note", Body: "model paused"},
			reply:           answer(http.StatusCreated, "text/plain", "stored"),
			wantMethod:      "PUT",
			wantHeaders:     map[string]string{"Content-Type": "text/plain; charset=utf-8"},
			wantBody:        "model paused",
			wantStatus:      201,
			wantRespHeaders: map[string]string{"content-type": "text/plain"},
			wantRespBody:    "stored",
		},
		{
			name:         "GET without body sends no content type",
			params:       HTTPParams{Method: "GET", URL: "/status"},
			reply:        answer(http.StatusOK, "text/plain", "ok"),
			wantMethod:   "GET",
			wantHeaders:  map[string]string{"Content-Type": ""},
			wantBody:     "",
			wantStatus:   200,
			wantRespBody: "ok",
		},
		{
			name:         "lowercase method is upper-cased",
			params:       HTTPParams{Method: "delete", URL: "/sessions/s-1"},
			reply:        answer(http.StatusNoContent, "", ""),
			wantMethod:   "DELETE",
			wantStatus:   204,
			wantRespBody: "",
		},
		{
			name: "headers override the content type",
			params: HTTPParams{
				Method:  "PATCH",
				URL:     "/tenants/t-1",
				Headers: map[string]string{"Content-Type": "application/merge-patch+json"},
				Body:    map[string]any{"suspended": true},
			},
			reply:        answer(http.StatusOK, "", ""),
			wantMethod:   "PATCH",
			wantHeaders:  map[string]string{"Content-Type": "application/merge-patch+json"},
			wantBody:     `{"suspended":true}`,
			wantStatus:   200,
			wantRespBody: "",
		},
		{
			name:         "JSON content type with a body that is not JSON stays text",
			params:       HTTPParams{Method: "GET", URL: "/broken"},
			reply:        answer(http.StatusOK, "application/json", "{not json"),
			wantMethod:   "GET",
			wantStatus:   200,
			wantRespBody: "{not json",
		},
		{
			name:         "JSON suffix content types are decoded",
			params:       HTTPParams{Method: "GET", URL: "/problem"},
			reply:        answer(http.StatusOK, "application/problem+json; charset=utf-8", `{"title":"x"}`),
			wantMethod:   "GET",
			wantStatus:   200,
			wantRespBody: map[string]any{"title": "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTarget(t, tt.reply)
			p := tt.params
			p.URL = srv.URL + p.URL
			res, err := runHTTP(t, HTTPOptions{AllowHosts: []string{"127.0.0.1:*"}}, p)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}

			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("server received %d requests, want 1", len(reqs))
			}
			got := reqs[0]
			if got.Method != tt.wantMethod {
				t.Errorf("method = %q, want %q", got.Method, tt.wantMethod)
			}
			if got.Path != tt.params.URL {
				t.Errorf("path = %q, want %q", got.Path, tt.params.URL)
			}
			for k, want := range tt.wantHeaders {
				if g := got.Header.Get(k); g != want {
					t.Errorf("request header %s = %q, want %q", k, g, want)
				}
			}
			if got.Body != tt.wantBody {
				t.Errorf("request body = %q, want %q", got.Body, tt.wantBody)
			}
			if key := got.Header.Get("Idempotency-Key"); key == "" {
				t.Error("request has no Idempotency-Key header")
			}

			if res.Status != tt.wantStatus {
				t.Errorf("result status = %d, want %d", res.Status, tt.wantStatus)
			}
			for k, want := range tt.wantRespHeaders {
				if g, ok := res.Headers[k]; !ok || g != want {
					t.Errorf("result header %q = %q (present %t), want %q", k, g, ok, want)
				}
			}
			for k := range res.Headers {
				if k != strings.ToLower(k) {
					t.Errorf("result header %q is not lowercase", k)
				}
			}
			if !reflect.DeepEqual(res.Body, tt.wantRespBody) {
				t.Errorf("result body = %#v, want %#v", res.Body, tt.wantRespBody)
			}
			if res.Truncated {
				t.Error("result is truncated, want whole")
			}
		})
	}
}

// TestHTTPIdempotencyKey checks that the key is the step's identity: the
// same activity info gives the same key, which is what a retry sees.
func TestHTTPIdempotencyKey(t *testing.T) {
	srv := newTarget(t, answer(http.StatusOK, "", ""))
	opts := HTTPOptions{AllowHosts: []string{srv.hostPort()}}
	for range 2 {
		if _, err := runHTTP(t, opts, HTTPParams{URL: srv.URL}); err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
	reqs := srv.requests()
	if len(reqs) != 2 {
		t.Fatalf("server received %d requests, want 2", len(reqs))
	}
	first, second := reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key")
	if first == "" || first != second {
		t.Errorf("Idempotency-Key of two executions with the same activity info = %q and %q, want equal and non-empty", first, second)
	}

	// The key is <workflow id>/<run id>/<activity id> of the execution.
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
		info := activity.GetInfo(ctx)
		return fmt.Sprintf("%s/%s/%s", info.WorkflowExecution.ID, info.WorkflowExecution.RunID, info.ActivityID), nil
	}, activity.RegisterOptions{Name: "info"})
	val, err := env.ExecuteActivity("info")
	if err != nil {
		t.Fatalf("info activity: %v", err)
	}
	var want string
	if err := val.Get(&want); err != nil {
		t.Fatal(err)
	}
	if parts := strings.Split(want, "/"); len(parts) != 3 || slices.Contains(parts, "") {
		t.Fatalf("the test environment's activity info %q lacks a workflow, run or activity id", want)
	}
	if first != want {
		t.Errorf("Idempotency-Key = %q, want %q", first, want)
	}
}

func TestHTTPExpectStatus(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		expect  []int
		wantErr bool
	}{
		{"any 2xx by default", http.StatusAccepted, nil, false},
		{"404 listed", http.StatusNotFound, []int{200, 404}, false},
		{"500 listed", http.StatusInternalServerError, []int{500}, false},
		{"2xx not listed", http.StatusOK, []int{201}, true},
		{"3xx not a success by default", http.StatusNotModified, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTarget(t, answer(tt.status, "", ""))
			res, err := runHTTP(t, HTTPOptions{AllowHosts: []string{"127.0.0.1:*"}}, HTTPParams{URL: srv.URL, ExpectStatus: tt.expect})
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if res.Status != tt.status {
					t.Errorf("status = %d, want %d", res.Status, tt.status)
				}
				return
			}
			if err == nil {
				t.Fatalf("Run succeeded with status %d, want an error", tt.status)
			}
			appErr := appError(t, err)
			if !appErr.NonRetryable() {
				t.Errorf("error %v is retryable, want non-retryable", err)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(tt.status)) {
				t.Errorf("error %q does not name the status %d", err, tt.status)
			}
		})
	}
}

func TestHTTPErrorClassification(t *testing.T) {
	tests := []struct {
		status        int
		wantRetryable bool
	}{
		{http.StatusInternalServerError, true},
		{http.StatusBadGateway, true},
		{http.StatusServiceUnavailable, true},
		{http.StatusTooManyRequests, true},
		{http.StatusRequestTimeout, true},
		{http.StatusBadRequest, false},
		{http.StatusUnauthorized, false},
		{http.StatusForbidden, false},
		{http.StatusNotFound, false},
		{http.StatusConflict, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			srv := newTarget(t, answer(tt.status, "", "nope"))
			_, err := runHTTP(t, HTTPOptions{AllowHosts: []string{"127.0.0.1:*"}}, HTTPParams{Method: "POST", URL: srv.URL + "/hook"})
			if err == nil {
				t.Fatalf("Run succeeded with status %d, want an error", tt.status)
			}
			appErr := appError(t, err)
			if appErr.NonRetryable() == tt.wantRetryable {
				t.Errorf("status %d: NonRetryable() = %t, want %t", tt.status, appErr.NonRetryable(), !tt.wantRetryable)
			}
			if appErr.Type() != "HTTPStatus" {
				t.Errorf("error type = %q, want HTTPStatus", appErr.Type())
			}
			var code int
			if err := appErr.Details(&code); err != nil || code != tt.status {
				t.Errorf("error details = %d (%v), want the status %d", code, err, tt.status)
			}
			for _, part := range []string{"POST", srv.URL + "/hook", fmt.Sprint(tt.status)} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not mention %q", err, part)
				}
			}
			if n := len(srv.requests()); n != 1 {
				t.Errorf("server received %d requests, want 1", n)
			}
		})
	}
}

// TestHTTPConnectionError checks that a target that cannot be reached is a
// retryable failure: it may be back on the next attempt.
func TestHTTPConnectionError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := runHTTP(t, HTTPOptions{AllowHosts: []string{"127.0.0.1:*"}}, HTTPParams{URL: url})
	if err == nil {
		t.Fatal("Run succeeded against a closed server")
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		t.Errorf("connection error %v is non-retryable, want retryable", err)
	}
	if !strings.Contains(err.Error(), url) {
		t.Errorf("error %q does not name the URL %s", err, url)
	}
}

func TestHTTPAllowlist(t *testing.T) {
	srv := newTarget(t, answer(http.StatusOK, "", ""))
	_, port, _ := strings.Cut(srv.hostPort(), ":")
	tests := []struct {
		name      string
		allow     []string
		url       string // "" means the test server
		wantAllow bool
		wantType  string // error type when refused
	}{
		{name: "any port of the host", allow: []string{"127.0.0.1:*"}, wantAllow: true},
		{name: "exact host and port", allow: []string{srv.hostPort()}, wantAllow: true},
		{name: "one entry of several", allow: []string{"hooks.example.com", srv.hostPort()}, wantAllow: true},
		{name: "empty allowlist", allow: nil, wantType: "NotAllowed"},
		{name: "other port", allow: []string{"127.0.0.1:1"}, wantType: "NotAllowed"},
		{name: "other host", allow: []string{"localhost:" + port}, wantType: "NotAllowed"},
		{name: "host without port allows only default ports", allow: []string{"127.0.0.1"}, wantType: "NotAllowed"},
		{name: "subdomain pattern", allow: []string{"*.example.com:*"}, wantType: "NotAllowed"},
		{name: "file scheme", allow: []string{"*", "*:*"}, url: "file:///etc/passwd", wantType: "NotAllowed"},
		{name: "gopher scheme", allow: []string{"127.0.0.1:*"}, url: "gopher://" + srv.hostPort() + "/_SET", wantType: "NotAllowed"},
		{name: "relative url", allow: []string{"127.0.0.1:*"}, url: "/v1/keys", wantType: "NotAllowed"},
		{name: "malformed url", allow: []string{"127.0.0.1:*"}, url: "http://[::1", wantType: "BadParams"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.requests())
			url := tt.url
			if url == "" {
				url = srv.URL + "/x"
			}
			_, err := runHTTP(t, HTTPOptions{AllowHosts: tt.allow}, HTTPParams{URL: url})
			received := len(srv.requests()) - before
			if tt.wantAllow {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if received != 1 {
					t.Errorf("server received %d requests, want 1", received)
				}
				return
			}
			if err == nil {
				t.Fatalf("Run of %s with allow_hosts %q succeeded, want refused", url, tt.allow)
			}
			appErr := appError(t, err)
			if appErr.Type() != tt.wantType || !appErr.NonRetryable() {
				t.Errorf("error type %q non-retryable %t, want %q non-retryable", appErr.Type(), appErr.NonRetryable(), tt.wantType)
			}
			if received != 0 {
				t.Errorf("server received %d requests from a refused call, want none", received)
			}
		})
	}
}

func TestHTTPAllowlistErrorNamesTheSetting(t *testing.T) {
	_, err := runHTTP(t, HTTPOptions{AllowHosts: []string{"hooks.example.com"}}, HTTPParams{URL: "http://127.0.0.1:9/x"})
	if err == nil {
		t.Fatal("Run succeeded, want refused")
	}
	for _, part := range []string{"127.0.0.1:9", "actions.http.allow_hosts"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %q", err, part)
		}
	}
}

// TestHTTPRedirect checks that a redirect is followed only to an allowed
// host: an allowed host must not be a way to reach one that is not.
func TestHTTPRedirect(t *testing.T) {
	inside := newTarget(t, answer(http.StatusOK, "text/plain", "inside"))
	allowed := newTarget(t, answer(http.StatusOK, "text/plain", "allowed"))
	tests := []struct {
		name      string
		location  string
		allow     []string
		wantAllow bool
		wantBody  string
	}{
		{name: "to a host that is not allowed", location: inside.URL + "/admin", allow: nil},
		{name: "to another scheme", location: "gopher://" + inside.hostPort() + "/_x", allow: []string{"127.0.0.1:*"}},
		{name: "to an allowed host", location: allowed.URL + "/ok", allow: []string{allowed.hostPort()}, wantAllow: true, wantBody: "allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(inside.requests())
			redirector := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, tt.location, http.StatusFound)
			})
			allow := append([]string{redirector.hostPort()}, tt.allow...)
			res, err := runHTTP(t, HTTPOptions{AllowHosts: allow}, HTTPParams{Method: "GET", URL: redirector.URL})
			if n := len(redirector.requests()); n != 1 {
				t.Errorf("redirecting server received %d requests, want 1", n)
			}
			if tt.wantAllow {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if res.Body != tt.wantBody {
					t.Errorf("body = %#v, want %q", res.Body, tt.wantBody)
				}
				return
			}
			if err == nil {
				t.Fatalf("Run followed a redirect to %s, want refused", tt.location)
			}
			appErr := appError(t, err)
			if appErr.Type() != "NotAllowed" || !appErr.NonRetryable() {
				t.Errorf("error type %q non-retryable %t, want NotAllowed non-retryable", appErr.Type(), appErr.NonRetryable())
			}
			if !strings.Contains(err.Error(), "redirect") {
				t.Errorf("error %q does not say a redirect was refused", err)
			}
			if n := len(inside.requests()) - before; n != 0 {
				t.Errorf("server behind the redirect received %d requests, want none", n)
			}
		})
	}
}

func TestHTTPTooManyRedirects(t *testing.T) {
	var loop *target
	loop = newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, loop.URL+"/again", http.StatusFound)
	})
	_, err := runHTTP(t, HTTPOptions{AllowHosts: []string{loop.hostPort()}}, HTTPParams{Method: "GET", URL: loop.URL})
	if err == nil {
		t.Fatal("Run followed redirects forever")
	}
	if !strings.Contains(err.Error(), "redirects") {
		t.Errorf("error %q does not say there were too many redirects", err)
	}
	if n := len(loop.requests()); n != 5 {
		t.Errorf("server received %d requests, want 5", n)
	}
}

func TestHTTPMaxResponseBytes(t *testing.T) {
	tests := []struct {
		name          string
		max           int64
		contentType   string
		body          string
		wantBody      any
		wantTruncated bool
	}{
		{name: "under the limit", max: 10, contentType: "text/plain", body: "123456789", wantBody: "123456789"},
		{name: "at the limit", max: 10, contentType: "text/plain", body: "1234567890", wantBody: "1234567890"},
		{name: "over the limit", max: 10, contentType: "text/plain", body: "12345678901234", wantBody: "1234567890", wantTruncated: true},
		{name: "truncated JSON stays text", max: 8, contentType: "application/json", body: `{"a":"bcdefgh"}`, wantBody: `{"a":"bc`, wantTruncated: true},
		{name: "default limit is 64 KiB", contentType: "text/plain", body: strings.Repeat("x", 64<<10+1), wantBody: strings.Repeat("x", 64<<10), wantTruncated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTarget(t, answer(http.StatusOK, tt.contentType, tt.body))
			res, err := runHTTP(t, HTTPOptions{AllowHosts: []string{srv.hostPort()}, MaxResponseBytes: tt.max}, HTTPParams{Method: "GET", URL: srv.URL})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Truncated != tt.wantTruncated {
				t.Errorf("Truncated = %t, want %t", res.Truncated, tt.wantTruncated)
			}
			if !reflect.DeepEqual(res.Body, tt.wantBody) {
				t.Errorf("body = %#v, want %#v", shorten(res.Body), shorten(tt.wantBody))
			}
		})
	}
}

// shorten keeps failure messages readable for long bodies.
func shorten(v any) any {
	if s, ok := v.(string); ok && len(s) > 40 {
		return fmt.Sprintf("%s... (%d bytes)", s[:40], len(s))
	}
	return v
}

func TestHostMatches(t *testing.T) {
	tests := []struct {
		pattern, host, port string
		want                bool
	}{
		{"*.example.com", "api.example.com", "443", true},
		{"*.example.com", "a.b.example.com", "443", true},
		{"*.example.com", "example.com", "443", false},
		{"*.example.com", "evilexample.com", "443", false},
		{"*.example.com", "api.example.com.evil.net", "443", false},
		{"*.Example.COM", "API.example.com", "443", true},
		{"*.example.com:8443", "api.example.com", "8443", true},
		{"*.example.com:8443", "api.example.com", "443", false},
		{"*.example.com:*", "api.example.com", "9999", true},
		{"Hooks.Example.com", "hooks.example.COM", "443", true},
		{"hooks.example.com", "hooks.example.com", "443", true},
		{"hooks.example.com", "hooks.example.com", "80", true},
		{"hooks.example.com", "hooks.example.com", "8080", false},
		{"localhost", "localhost", "6379", false},
		{"*", "anything.example", "443", true},
		{"*", "anything.example", "22", false},
		{"hooks.example.com", "other.example.com", "443", false},
		{"hooks.example.com:443", "hooks.example.com", "443", true},
		{"hooks.example.com:443", "hooks.example.com", "8443", false},
		{"127.0.0.1:*", "127.0.0.1", "8080", true},
		{"127.0.0.1:*", "127.0.0.2", "8080", false},
		{"127.0.0.1:8080", "127.0.0.1", "8080", true},
		{"127.0.0.1:8080", "127.0.0.1", "8081", false},
		{"localhost:*", "127.0.0.1", "8080", false},
		{"[::1]:*", "::1", "8080", true},
		{"[::1]:8080", "::1", "8081", false},
		{"[::1]", "::1", "443", true},
		{"::1", "::1", "80", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"/"+tt.host+":"+tt.port, func(t *testing.T) {
			if got := hostMatches(tt.pattern, tt.host, tt.port); got != tt.want {
				t.Errorf("hostMatches(%q, %q, %q) = %t, want %t", tt.pattern, tt.host, tt.port, got, tt.want)
			}
		})
	}
}

func TestEncodeBodyRefusesWhatIsNotJSON(t *testing.T) {
	_, _, err := encodeBody(map[string]any{"c": make(chan int)})
	if err == nil || !strings.Contains(err.Error(), "JSON") {
		t.Errorf("encodeBody of a channel: error %v, want one saying the body cannot be JSON", err)
	}
}

func TestHTTPCredential(t *testing.T) {
	tg := newTarget(t, answer(http.StatusOK, "application/json", `{}`))
	opts := HTTPOptions{
		AllowHosts:  []string{tg.hostPort()},
		Credentials: map[string]HTTPCredential{"gateway": {Header: "Authorization", Value: "Bearer sk-master"}},
	}
	if _, err := runHTTP(t, opts, HTTPParams{URL: tg.URL, Credential: "gateway", Headers: map[string]string{"Authorization": "Bearer forged"}}); err != nil {
		t.Fatal(err)
	}
	if got := tg.requests()[0].Header.Get("Authorization"); got != "Bearer sk-master" {
		t.Errorf("Authorization = %q, want the configured credential, which a playbook header cannot override", got)
	}
	_, err := runHTTP(t, opts, HTTPParams{URL: tg.URL, Credential: "nope"})
	if appErr := appError(t, err); !appErr.NonRetryable() || !strings.Contains(err.Error(), `no credential "nope"`) || strings.Contains(err.Error(), "sk-master") {
		t.Errorf("unknown credential: %v, want a non-retryable error that names it and no secret", err)
	}
	if len(tg.requests()) != 1 {
		t.Errorf("a request with an unknown credential was sent")
	}
}
