package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/aisoar/aisoar/internal/doubletest"
)

// staticSecret is a target credential that is always s.
func staticSecret(s string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return s, nil }
}

// double is a test double that records the requests it receives.
type double interface {
	Requests() []doubletest.Request
}

// calls lists the requests d received as "METHOD path?query".
func calls(d double) []string {
	var out []string
	for _, r := range d.Requests() {
		out = append(out, r.Method+" "+r.RequestURI())
	}
	return out
}

// inActivity runs fn as an activity, so it has an activity's context.
func inActivity(t *testing.T, fn func(ctx context.Context) error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: "fn"})
	if _, err := env.ExecuteActivity("fn"); err != nil {
		t.Fatal(err)
	}
}

// TestTargetCall checks how a target call builds its URL, authenticates,
// and what a dry run records instead of sending.
func TestTargetCall(t *testing.T) {
	secret := staticSecret("s3cr3t")
	tests := []struct {
		name       string
		base       string
		path       string
		auth       TargetAuth
		wantPath   string
		wantHeader string
		wantValue  string
	}{
		{name: "bearer", base: "/", path: "/key/info?key=abc", auth: TargetAuth{Header: "Authorization", Scheme: "Bearer", Secret: secret},
			wantPath: "/key/info", wantHeader: "Authorization", wantValue: "Bearer s3cr3t"},
		{name: "header under a prefix", base: "/admin", path: "plugins", auth: TargetAuth{Header: "Kong-Admin-Token", Secret: secret},
			wantPath: "/admin/plugins", wantHeader: "Kong-Admin-Token", wantValue: "s3cr3t"},
		{name: "basic", base: "/api/v1/", path: "/dags/x", auth: TargetAuth{Username: "aisoar", Secret: secret},
			wantPath: "/api/v1/dags/x", wantHeader: "Authorization", wantValue: "Basic YWlzb2FyOnMzY3IzdA=="},
		{name: "no credentials", base: "", path: "limits", wantPath: "/limits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTarget(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"ok": true}`)
			})
			u, _ := url.Parse(srv.URL + tt.base)
			tg := &Target{Name: "t", Kind: "http", URL: u, Auth: tt.auth}
			var out struct{ OK bool }
			inActivity(t, func(ctx context.Context) error {
				return tg.call("test", false).do(ctx, http.MethodPost, tt.path, map[string]int{"rpm": 10}, &out)
			})
			reqs := srv.requests()
			if len(reqs) != 1 || reqs[0].Path != tt.wantPath || reqs[0].Body != `{"rpm":10}` || !out.OK {
				t.Fatalf("sent %+v, decoded %+v; want one POST to %s", reqs, out, tt.wantPath)
			}
			if tt.wantHeader != "" && reqs[0].Header.Get(tt.wantHeader) != tt.wantValue {
				t.Errorf("%s = %q, want %q", tt.wantHeader, reqs[0].Header.Get(tt.wantHeader), tt.wantValue)
			}
		})
	}

	t.Run("dry run records and sends nothing", func(t *testing.T) {
		srv := newTarget(t, func(http.ResponseWriter, *http.Request) {})
		u, _ := url.Parse(srv.URL + "/gw")
		c := (&Target{Name: "t", URL: u, Auth: TargetAuth{Header: "Authorization", Scheme: "Bearer", Secret: secret}}).call("test", true)
		var out map[string]any
		if err := c.do(context.Background(), http.MethodGet, "key/info", nil, &out); err != nil || out != nil {
			t.Fatalf("dry-run read: %v, decoded %v; want nothing", err, out)
		}
		if err := c.do(context.Background(), http.MethodPost, "key/block", map[string]string{"key": "abc"}, nil); err != nil {
			t.Fatal(err)
		}
		plan := c.plan()
		if len(srv.requests()) != 0 || !plan.DryRun || len(plan.Planned) != 2 || plan.Planned[1].URL != srv.URL+"/gw/key/block" {
			t.Errorf("sent %v, planned %+v; want nothing sent and both requests planned", srv.requests(), plan)
		}
	})
}

// TestActivityError checks the classes Temporal sees: 4xx final, 5xx,
// 408, 429 and transport errors retried, and wrapped classified errors
// unwrapped with their class and the whole message.
func TestActivityError(t *testing.T) {
	tests := []struct {
		name          string
		err           error
		wantRetryable bool
		wantMessage   string
	}{
		{"4xx", &StatusError{Target: "gw", Method: "POST", URL: "u", Status: 404, Body: "no such key"}, false, `target "gw": POST u answered 404 Not Found: no such key`},
		{"5xx", &StatusError{Target: "gw", Method: "POST", URL: "u", Status: 503}, true, `target "gw": POST u answered 503 Service Unavailable`},
		{"429", &StatusError{Target: "gw", Method: "POST", URL: "u", Status: 429}, true, `target "gw": POST u answered 429 Too Many Requests`},
		{"wrapped status", fmt.Errorf("blocking key: %w", &StatusError{Target: "gw", Method: "POST", URL: "u", Status: 400}), false, `blocking key: target "gw": POST u answered 400 Bad Request`},
		{"wrapped final", fmt.Errorf("step 2: %w", badParams("x", "bad %s", "thing")), false, "step 2: x: bad thing"},
		{"wrapped retryable", fmt.Errorf("step 2: %w", temporal.NewApplicationError("busy", "Busy")), true, "step 2: busy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := activityError(tt.err)
			appErr, ok := got.(*temporal.ApplicationError)
			if !ok {
				t.Fatalf("activityError = %T %v, want an application error returned as is", got, got)
			}
			if appErr.NonRetryable() == tt.wantRetryable || appErr.Message() != tt.wantMessage {
				t.Errorf("got %q retryable=%v, want %q retryable=%v", appErr.Message(), !appErr.NonRetryable(), tt.wantMessage, tt.wantRetryable)
			}
		})
	}
	transport := errors.New("connection refused")
	if got := activityError(transport); got != transport {
		t.Errorf("transport error = %v, want it unchanged (retried)", got)
	}
}
