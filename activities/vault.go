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
	"strings"

	vault "github.com/hashicorp/vault/api"
)

// vaultCall is one action's conversation with a vault target through
// vault/api: the address is the target's URL, the token its credential
// (read here, inside the activity), the namespace the target's. In a dry
// run the client's requests are recorded instead of sent and answered with
// 204 No Content, so reads find nothing and writes return nothing.
type vaultCall struct {
	target  *Target
	client  *vault.Client
	dryRun  bool
	planned *[]PlannedRequest
}

func (t *Target) vault(ctx context.Context, action string, dryRun bool) (*vaultCall, error) {
	copied := *t.httpClient()
	v := &vaultCall{target: t, dryRun: dryRun, planned: &[]PlannedRequest{}}
	if dryRun {
		copied.Transport = planTransport{planned: v.planned}
	}
	// MaxRetries 0: Temporal retries the activity, so the client must not
	// retry on its own behind a heartbeat.
	client, err := vault.NewClient(&vault.Config{Address: t.URL.String(), HttpClient: &copied, MaxRetries: 0})
	if err != nil {
		return nil, badParams(action, "target %q: %v", t.Name, err)
	}
	// NewClient reads VAULT_TOKEN and VAULT_NAMESPACE from the environment,
	// which belong to aisoar's own config secrets, not to this target.
	client.ClearToken()
	client.ClearNamespace()
	if t.Namespace != "" {
		client.SetNamespace(t.Namespace)
	}
	if !dryRun {
		if t.Auth.Secret == nil {
			return nil, badParams(action, "target %q has no auth: give it auth.bearer with the Vault token", t.Name)
		}
		token, err := t.Auth.Secret(ctx)
		if err != nil {
			return nil, fmt.Errorf("target %q: reading its Vault token: %w", t.Name, err)
		}
		client.SetToken(token)
	}
	v.client = client
	return v, nil
}

// plan returns the requests a dry run recorded.
func (v *vaultCall) plan() Plan {
	return Plan{DryRun: v.dryRun, Planned: *v.planned}
}

// absorb moves the requests another target's call planned into this
// call's plan, so a dry run lists every request in order.
func (v *vaultCall) absorb(c *targetCall) {
	*v.planned = append(*v.planned, c.planned...)
	c.planned = nil
}

// read reads path ("secret/data/app"), nil when Vault has nothing there.
func (v *vaultCall) read(ctx context.Context, path string, query url.Values) (*vault.Secret, error) {
	s, err := v.client.Logical().ReadWithDataWithContext(ctx, path, query)
	return s, v.err(err)
}

// list lists the keys under path, nil when there are none.
func (v *vaultCall) list(ctx context.Context, path string) ([]string, error) {
	s, err := v.client.Logical().ListWithContext(ctx, path)
	if err != nil || s == nil {
		return nil, v.err(err)
	}
	raw, _ := s.Data["keys"].([]any)
	keys := make([]string, 0, len(raw))
	for _, k := range raw {
		if k, ok := k.(string); ok {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// write writes body to path; the answer is nil when Vault sent none.
func (v *vaultCall) write(ctx context.Context, path string, body map[string]any) (*vault.Secret, error) {
	s, err := v.client.Logical().WriteWithContext(ctx, path, body)
	return s, v.err(err)
}

// err turns vault/api's response error into a StatusError, so that
// activityError classifies it and drivers can test IsStatus; Vault's
// messages ({"errors": [...]}) become its body.
func (v *vaultCall) err(err error) error {
	var re *vault.ResponseError
	if !errors.As(err, &re) {
		if err != nil {
			return fmt.Errorf("target %q: %w", v.target.Name, err)
		}
		return nil
	}
	u := re.URL
	if parsed, perr := url.Parse(re.URL); perr == nil {
		u = parsed.Redacted()
	}
	return &StatusError{Target: v.target.Name, Method: re.HTTPMethod, URL: u, Status: re.StatusCode, Body: strings.Join(re.Errors, "; ")}
}

// planTransport records a dry run's requests in place of sending them.
type planTransport struct {
	planned *[]PlannedRequest
}

func (p planTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body any
	if req.Body != nil {
		raw, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(raw)) > 0 && json.Unmarshal(raw, &body) != nil {
			body = string(raw)
		}
	}
	*p.planned = append(*p.planned, PlannedRequest{Method: req.Method, URL: req.URL.String(), Body: body})
	return &http.Response{
		StatusCode: http.StatusNoContent, Status: "204 No Content", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, Request: req,
	}, nil
}
