package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"
)

// Target is a system the containment actions act on, as configured: an
// inference gateway, a model registry, an orchestrator, an object store.
// Playbooks name it; its URL and credentials stay in the config.
type Target struct {
	Name string
	Kind string
	URL  *url.URL
	// Namespace, Region and Bucket are the kind-specific locations the
	// config gives (a Kubernetes namespace, an S3 bucket and its region).
	Namespace string
	Region    string
	Bucket    string
	Auth      TargetAuth
	// Client sends the requests; it carries the target's CA when the config
	// names one. Nil means http.DefaultClient. Requests end with the step's
	// context, so the step's timeout bounds them.
	Client *http.Client
}

// TargetAuth authenticates requests to a target. The secret is read when a
// request is made, inside the activity, so a rotated secret is picked up
// and no secret reaches workflow history.
type TargetAuth struct {
	// Header carries the secret, after Scheme and a space when Scheme is
	// set ("Authorization: Bearer <secret>"). With Username set, the secret
	// is the password of HTTP basic authentication instead.
	Header   string
	Scheme   string
	Username string
	// AccessKeyID, with the secret as the secret access key, signs requests
	// with AWS Signature Version 4; the s3 drivers use it.
	AccessKeyID string
	Secret      func(ctx context.Context) (string, error)
}

// Targets are the configured targets by name.
type Targets map[string]*Target

// lookup returns the named target when it is one of the given kinds.
func (ts Targets) lookup(action, name string, kinds ...string) (*Target, error) {
	t, ok := ts[name]
	if !ok {
		names := make([]string, 0, len(ts))
		for n, t := range ts {
			if slices.Contains(kinds, t.Kind) {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		return nil, badParams(action, "no target %q in the config's targets (%s targets: %s)", name, strings.Join(kinds, " or "), orNone(names))
	}
	if !slices.Contains(kinds, t.Kind) {
		return nil, badParams(action, "target %q is a %s target; this action drives %s targets", name, t.Kind, strings.Join(kinds, " or "))
	}
	return t, nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// DryRun is the parameter the workflow adds to every action of a dry run:
// the action then records the requests it would make instead of making
// them. Params structs embed it.
type DryRun struct {
	DryRun bool `json:"dry_run,omitempty"`
}

// DryRunParam is the parameter name the workflow sets in a dry run;
// playbooks cannot set it.
const DryRunParam = "dry_run"

// Plan is what a dry run of an action reports in place of its effect:
// every request it would have made, in order. Result structs embed it.
type Plan struct {
	DryRun  bool             `json:"dry_run,omitempty"`
	Planned []PlannedRequest `json:"planned,omitempty"`
}

// PlannedRequest is a request a dry run recorded instead of sending.
// Credentials are left out: they are added when the request is sent.
type PlannedRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	Body   any    `json:"body,omitempty"`
}

// targetCall is one action's conversation with a target: it sends the
// requests, or in a dry run records them and answers as if the target
// had nothing to report.
type targetCall struct {
	action  string
	target  *Target
	dryRun  bool
	planned []PlannedRequest
}

func (t *Target) call(action string, dryRun bool) *targetCall {
	return &targetCall{action: action, target: t, dryRun: dryRun}
}

// plan returns what the call recorded, for the action's result.
func (c *targetCall) plan() Plan {
	return Plan{DryRun: c.dryRun, Planned: c.planned}
}

// resolve returns the URL of path (which may carry a query) on the target.
// The target's URL is a prefix, all of which is kept; a path that leaves
// the target's host is refused.
func (t *Target) resolve(path string) (*url.URL, error) {
	base := *t.URL
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	u, err := base.Parse(strings.TrimPrefix(path, "/"))
	if err != nil || u.Host != t.URL.Host {
		return nil, fmt.Errorf("target %q: %q is not a path on it", t.Name, path)
	}
	return u, nil
}

// StatusError is a target's answer outside 2xx. Drivers check Status to
// treat, say, a 404 on a delete as already done.
type StatusError struct {
	Target string
	Method string
	URL    string
	Status int
	// Body is the start of the target's answer, which usually says why.
	Body string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("target %q: %s %s answered %d %s", e.Target, e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// IsStatus reports whether err is a target's answer with one of the statuses.
func IsStatus(err error, statuses ...int) bool {
	var se *StatusError
	return errors.As(err, &se) && slices.Contains(statuses, se.Status)
}

// maxErrorBody bounds the part of an error answer quoted in messages.
const maxErrorBody = 512

// maxAnswerBytes bounds an answer a driver decodes.
const maxAnswerBytes = 8 << 20

// do sends method path (relative to the target's URL, may carry a query)
// with body as JSON, and decodes a JSON answer into out when out is not
// nil. In a dry run it records the request and leaves out untouched.
func (c *targetCall) do(ctx context.Context, method, path string, body, out any) error {
	return c.doAs(ctx, method, path, "application/json", body, out)
}

// doAs is do with a JSON body of another media type, such as Kubernetes'
// application/merge-patch+json.
func (c *targetCall) doAs(ctx context.Context, method, path, contentType string, body, out any) error {
	u, err := c.target.resolve(path)
	if err != nil {
		return err
	}
	if c.dryRun {
		c.planned = append(c.planned, PlannedRequest{Method: method, URL: u.String(), Body: body})
		return nil
	}
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("target %q: encoding the request: %w", c.target.Name, err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), reader)
	if err != nil {
		return fmt.Errorf("target %q: %w", c.target.Name, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "aisoar")
	req.Header.Set("Idempotency-Key", IdempotencyKey(ctx))
	if err := c.target.authorize(ctx, req); err != nil {
		return err
	}
	return c.target.send(req, out)
}

// send performs an authorized request and decodes its JSON answer.
func (t *Target) send(req *http.Request, out any) error {
	resp, err := t.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("target %q: %s %s: %w", t.Name, req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return fmt.Errorf("target %q: reading the answer of %s %s: %w", t.Name, req.Method, req.URL.Redacted(), err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		excerpt := strings.TrimSpace(string(data))
		if len(excerpt) > maxErrorBody {
			excerpt = excerpt[:maxErrorBody] + "…"
		}
		return &StatusError{Target: t.Name, Method: req.Method, URL: req.URL.Redacted(), Status: resp.StatusCode, Body: excerpt}
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("target %q: %s %s answered JSON aisoar does not understand: %w", t.Name, req.Method, req.URL.Redacted(), err)
	}
	return nil
}

// httpClient is the client requests to the target are sent with.
func (t *Target) httpClient() *http.Client {
	if t.Client == nil {
		return http.DefaultClient
	}
	return t.Client
}

// authorize adds the target's credentials to req.
func (t *Target) authorize(ctx context.Context, req *http.Request) error {
	a := t.Auth
	if a.Secret == nil || a.AccessKeyID != "" {
		return nil // no credentials, or signed by the s3 driver
	}
	secret, err := a.Secret(ctx)
	if err != nil {
		return fmt.Errorf("target %q: reading its credential: %w", t.Name, err)
	}
	switch {
	case a.Username != "":
		req.SetBasicAuth(a.Username, secret)
	case a.Scheme != "":
		req.Header.Set(a.Header, a.Scheme+" "+secret)
	default:
		req.Header.Set(a.Header, secret)
	}
	return nil
}

// activityError classifies a driver's error for Temporal: a target's 4xx
// answer (other than 408 and 429) is a fault retrying cannot fix; 5xx,
// 408, 429 and transport errors are retried. An error already classified
// keeps its class, and is unwrapped to the top: Temporal reads the class
// only from an application error returned as is.
func activityError(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		if err == error(appErr) {
			return err
		}
		// The wrapping context, with the classified error's own message.
		msg := strings.Replace(err.Error(), appErr.Error(), appErr.Message(), 1)
		if appErr.NonRetryable() {
			return temporal.NewNonRetryableApplicationError(msg, appErr.Type(), appErr.Unwrap())
		}
		return temporal.NewApplicationError(msg, appErr.Type(), appErr.Unwrap())
	}
	var se *StatusError
	if errors.As(err, &se) {
		if retryableStatus(se.Status) {
			return temporal.NewApplicationError(err.Error(), "TargetStatus", se.Status)
		}
		return temporal.NewNonRetryableApplicationError(err.Error(), "TargetStatus", nil, se.Status)
	}
	return err
}

// badParams is a non-retryable error for parameters the action cannot use.
func badParams(action, format string, args ...any) error {
	err := fmt.Errorf(action+": "+format, args...)
	return temporal.NewNonRetryableApplicationError(err.Error(), "BadParams", err)
}
