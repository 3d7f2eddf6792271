package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/aisoar/aisoar/playbooks"
)

var httpSpec = playbooks.ActionSpec{
	Name: "http",
	Doc:  "Calls an HTTP endpoint on an allowed host and fails unless it answers with an expected status.",
	Params: []playbooks.ParamSpec{
		{Name: "method", Type: playbooks.TypeString, Doc: "HTTP method; default POST", Enum: []string{"GET", "POST", "PUT", "PATCH", "DELETE"}},
		{Name: "url", Type: playbooks.TypeString, Required: true, Doc: "http or https URL whose host is in actions.http.allow_hosts"},
		{Name: "headers", Type: playbooks.TypeMap, Doc: "request headers"},
		{Name: "body", Type: playbooks.TypeAny, Doc: "request body: a string is sent as is, anything else as JSON"},
		{Name: "expect_status", Type: playbooks.TypeList, Doc: "statuses that count as success; default any 2xx"},
		{Name: "credential", Type: playbooks.TypeString, Doc: "name of a secret in actions.http.credentials of the config file, sent as a header"},
	},
}

// HTTPOptions configures the http action.
type HTTPOptions struct {
	// AllowHosts lists the hosts the action may call, as "host" (on the
	// default ports 80 and 443) or "host:port"; a "*." prefix matches
	// subdomains and a ":*" suffix any port. Everything else is refused, so
	// playbooks cannot be turned against internal services (SSRF).
	AllowHosts []string
	// MaxResponseBytes bounds the response body kept in the step output;
	// default 64 KiB.
	MaxResponseBytes int64
	// Credentials are the secrets requests may carry, by name.
	Credentials map[string]HTTPCredential
	// Client overrides the HTTP client, for tests.
	Client *http.Client
}

// HTTPCredential is a resolved secret and the header that carries it.
type HTTPCredential struct {
	Header string
	Value  string
}

// HTTPParams are the http action's parameters.
type HTTPParams struct {
	Method       string            `json:"method"`
	URL          string            `json:"url"`
	Headers      map[string]string `json:"headers"`
	Body         any               `json:"body"`
	ExpectStatus []int             `json:"expect_status"`
	Credential   string            `json:"credential"`
	DryRun
}

// HTTPResult is the http action's output, seen as steps.<id>.output.
type HTTPResult struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	// Body is the decoded JSON when the response is JSON, else the text.
	Body any `json:"body"`
	// Truncated is true when the body was longer than the configured limit.
	Truncated bool `json:"truncated,omitempty"`
	Plan
}

type httpAction struct {
	opts   HTTPOptions
	client *http.Client
}

func newHTTPAction(opts HTTPOptions) *httpAction {
	if opts.MaxResponseBytes == 0 {
		opts.MaxResponseBytes = 64 << 10
	}
	a := &httpAction{opts: opts}
	client := opts.Client
	if client == nil {
		client = &http.Client{Timeout: time.Minute}
	}
	copied := *client
	copied.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("stopped after 5 redirects")
		}
		return a.allowed(req.URL)
	}
	a.client = &copied
	return a
}

// errNotAllowed marks a destination outside the allowlist.
var errNotAllowed = errors.New("host not allowed")

func (a *httpAction) allowed(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q (only http and https)", errNotAllowed, u.Scheme)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	for _, pattern := range a.opts.AllowHosts {
		if hostMatches(pattern, host, port) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is not in actions.http.allow_hosts of the config file", errNotAllowed, net.JoinHostPort(host, port))
}

// hostMatches matches host:port against an allowlist pattern. A pattern
// without a port allows only the default ports, so allowing "localhost"
// does not open every service on it.
func hostMatches(pattern, host, port string) bool {
	patHost, patPort := pattern, ""
	if h, p, err := net.SplitHostPort(pattern); err == nil {
		patHost, patPort = h, p
	}
	// "[::1]" without a port: the brackets are not part of the host.
	patHost = strings.TrimSuffix(strings.TrimPrefix(patHost, "["), "]")
	switch patPort {
	case "*":
	case "":
		if port != "80" && port != "443" {
			return false
		}
	default:
		if patPort != port {
			return false
		}
	}
	if suffix, ok := strings.CutPrefix(patHost, "*."); ok {
		return strings.HasSuffix(strings.ToLower(host), "."+strings.ToLower(suffix))
	}
	ok, _ := path.Match(strings.ToLower(patHost), strings.ToLower(host))
	return ok
}

// Run performs the request. The Idempotency-Key header carries the step's
// key so a target that honours it applies a retried request once.
func (a *httpAction) Run(ctx context.Context, p HTTPParams) (HTTPResult, error) {
	if p.Method == "" {
		p.Method = http.MethodPost
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		return HTTPResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("http: bad url %q: %v", p.URL, err), "BadParams", err)
	}
	if err := a.allowed(u); err != nil {
		return HTTPResult{}, temporal.NewNonRetryableApplicationError("http: "+err.Error(), "NotAllowed", err)
	}
	body, contentType, err := encodeBody(p.Body)
	if err != nil {
		return HTTPResult{}, temporal.NewNonRetryableApplicationError("http: "+err.Error(), "BadParams", err)
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(p.Method), u.String(), body)
	if err != nil {
		return HTTPResult{}, temporal.NewNonRetryableApplicationError("http: "+err.Error(), "BadParams", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if p.DryRun.DryRun {
		return HTTPResult{Plan: Plan{DryRun: true, Planned: []PlannedRequest{{Method: req.Method, URL: u.Redacted(), Body: p.Body}}}}, nil
	}
	req.Header.Set("Idempotency-Key", IdempotencyKey(ctx))
	req.Header.Set("User-Agent", "aisoar")
	for k, v := range p.Headers {
		req.Header.Set(k, v)
	}
	if p.Credential != "" {
		cred, ok := a.opts.Credentials[p.Credential]
		if !ok {
			err := fmt.Errorf("no credential %q in actions.http.credentials of the config file", p.Credential)
			return HTTPResult{}, temporal.NewNonRetryableApplicationError("http: "+err.Error(), "BadParams", err)
		}
		req.Header.Set(cred.Header, cred.Value)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		if errors.Is(err, errNotAllowed) {
			return HTTPResult{}, temporal.NewNonRetryableApplicationError("http: redirect refused: "+err.Error(), "NotAllowed", err)
		}
		return HTTPResult{}, fmt.Errorf("http: %s %s: %w", req.Method, u.Redacted(), err)
	}
	defer resp.Body.Close()
	result, err := a.readResult(resp)
	if err != nil {
		return HTTPResult{}, fmt.Errorf("http: reading the answer of %s %s: %w", req.Method, u.Redacted(), err)
	}
	if expected(resp.StatusCode, p.ExpectStatus) {
		return result, nil
	}
	msg := fmt.Sprintf("http: %s %s answered %s", req.Method, u.Redacted(), resp.Status)
	if retryableStatus(resp.StatusCode) {
		return result, temporal.NewApplicationError(msg, "HTTPStatus", resp.StatusCode)
	}
	return result, temporal.NewNonRetryableApplicationError(msg, "HTTPStatus", nil, resp.StatusCode)
}

func encodeBody(b any) (io.Reader, string, error) {
	switch b := b.(type) {
	case nil:
		return nil, "", nil
	case string:
		return strings.NewReader(b), "text/plain; charset=utf-8", nil
	}
	data, err := json.Marshal(b)
	if err != nil {
		return nil, "", fmt.Errorf("body cannot be sent as JSON: %w", err)
	}
	return bytes.NewReader(data), "application/json", nil
}

func (a *httpAction) readResult(resp *http.Response) (HTTPResult, error) {
	data, err := io.ReadAll(io.LimitReader(resp.Body, a.opts.MaxResponseBytes+1))
	if err != nil {
		return HTTPResult{}, err
	}
	result := HTTPResult{Status: resp.StatusCode, Headers: map[string]string{}}
	if int64(len(data)) > a.opts.MaxResponseBytes {
		data, result.Truncated = data[:a.opts.MaxResponseBytes], true
	}
	for k := range resp.Header {
		result.Headers[strings.ToLower(k)] = resp.Header.Get(k)
	}
	result.Body = string(data)
	if strings.Contains(resp.Header.Get("Content-Type"), "json") && !result.Truncated {
		var v any
		if json.Unmarshal(data, &v) == nil {
			result.Body = v
		}
	}
	return result, nil
}

func expected(status int, want []int) bool {
	if len(want) == 0 {
		return status >= 200 && status < 300
	}
	for _, w := range want {
		if w == status {
			return true
		}
	}
	return false
}

// retryableStatus says whether a failure status may succeed when retried.
func retryableStatus(status int) bool {
	return status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests
}
