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

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// source is where snapshot_evidence and verify_artifact read content
// from; exactly one form is set:
//
//	{url: https://...}                        GET, host on actions.http.allow_hosts
//	{target: name, path: /...}                GET from a configured target, with its credentials
//	{log_query: name, path: /..., body: ...}  POST a query to an http target, keep the answer
//	{s3: name, prefix: ...} / {s3: name, key: ...}  objects of an s3 target's bucket
//	{name: ..., value: ...}                   inline JSON, such as the alert
type source struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	Target   string `json:"target"`
	Path     string `json:"path"`
	LogQuery string `json:"log_query"`
	Body     any    `json:"body"`
	S3       string `json:"s3"`
	Prefix   string `json:"prefix"`
	Key      string `json:"key"`
	Value    any    `json:"value"`
}

// Source forms, as named in messages.
const (
	formURL      = "url"
	formTarget   = "target"
	formLogQuery = "log_query"
	formS3       = "s3"
	formValue    = "value"
)

// form says which form the source takes, after checking it is one.
func (s *source) form(forms []string) (string, error) {
	var set []string
	for _, f := range []struct {
		name string
		on   bool
	}{{formURL, s.URL != ""}, {formTarget, s.Target != ""}, {formLogQuery, s.LogQuery != ""}, {formS3, s.S3 != ""}, {formValue, s.Value != nil}} {
		if f.on {
			set = append(set, f.name)
		}
	}
	if len(set) != 1 {
		return "", fmt.Errorf("set one of %s (this sets %s)", strings.Join(forms, ", "), orNone(set))
	}
	form := set[0]
	switch {
	case !slices.Contains(forms, form):
		return "", fmt.Errorf("%s is not a source here; use one of %s", form, strings.Join(forms, ", "))
	case (form == formTarget || form == formLogQuery) && s.Path == "":
		return "", fmt.Errorf("%s needs path, the request path on the target", form)
	case form == formS3 && (s.Prefix == "") == (s.Key == ""):
		return "", errors.New("s3 needs prefix (every object under it) or key (one object)")
	case form == formValue && s.Name == "":
		return "", errors.New("value needs a name")
	}
	return form, nil
}

// parseSource decodes a source parameter, refusing unknown fields so a
// misspelt one is reported rather than ignored.
func parseSource(action, param string, raw map[string]any, forms ...string) (source, string, error) {
	data, err := json.Marshal(raw)
	if err != nil {
		return source{}, "", badParams(action, "%s: %v", param, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s source
	if err := dec.Decode(&s); err != nil {
		return source{}, "", badParams(action, "%s: %v (fields: name, url, target, path, log_query, body, s3, prefix, key, value)", param, err)
	}
	form, err := s.form(forms)
	if err != nil {
		return source{}, "", badParams(action, "%s: %v", param, err)
	}
	return s, form, nil
}

// content is one piece a source yields.
type content struct {
	// name defaults to a description of the source; source says where
	// the content came from.
	name, source, contentType string
	body                      io.Reader
}

// reader fetches sources: bare URLs through the http action's allowlist,
// the rest through configured targets.
type reader struct {
	action  string
	http    *httpAction
	targets Targets
	dryRun  bool
	planned []PlannedRequest
}

// read calls yield with each piece of content src holds; in a dry run it
// records the requests instead and yields nothing. A target's error
// answer is returned as is (a *StatusError), for the action to look at
// and classify with activityError.
func (r *reader) read(ctx context.Context, src source, form string, yield func(content) error) error {
	switch form {
	case formValue:
		data, err := json.Marshal(src.Value)
		if err != nil {
			return badParams(r.action, "value of %q cannot be stored as JSON: %v", src.Name, err)
		}
		if r.dryRun {
			return nil
		}
		return yield(content{name: src.Name, source: "inline", contentType: "application/json", body: bytes.NewReader(data)})
	case formURL:
		return r.readURL(ctx, src, yield)
	case formTarget, formLogQuery:
		return r.readTarget(ctx, src, form, yield)
	case formS3:
		return r.readS3(ctx, src, yield)
	}
	return fmt.Errorf("%s: unknown source form %q", r.action, form)
}

func (r *reader) readURL(ctx context.Context, src source, yield func(content) error) error {
	u, err := url.Parse(src.URL)
	if err != nil {
		return badParams(r.action, "bad url %q: %v", src.URL, err)
	}
	if err := r.http.allowed(u); err != nil {
		return temporal.NewNonRetryableApplicationError(r.action+": "+err.Error(), "NotAllowed", err)
	}
	if r.dryRun {
		r.planned = append(r.planned, PlannedRequest{Method: http.MethodGet, URL: u.Redacted()})
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return badParams(r.action, "bad url %q: %v", src.URL, err)
	}
	req.Header.Set("User-Agent", "aisoar")
	resp, err := r.http.client.Do(req)
	if errors.Is(err, errNotAllowed) {
		return temporal.NewNonRetryableApplicationError(r.action+": redirect refused: "+err.Error(), "NotAllowed", err)
	}
	if err != nil {
		return fmt.Errorf("%s: GET %s: %w", r.action, u.Redacted(), err)
	}
	defer resp.Body.Close()
	if err := statusError(resp, u.Host, http.MethodGet, u); err != nil {
		return err
	}
	return yield(content{name: nameOr(src.Name, u.Redacted()), source: u.Redacted(), contentType: resp.Header.Get("Content-Type"), body: resp.Body})
}

// readTarget GETs path from a target, or for a log query POSTs body to an
// http target, with the target's credentials.
func (r *reader) readTarget(ctx context.Context, src source, form string, yield func(content) error) error {
	name, method, kinds := src.Target, http.MethodGet, targetReadKinds
	if form == formLogQuery {
		name, method, kinds = src.LogQuery, http.MethodPost, []string{"http"}
	}
	t, err := r.targets.lookup(r.action, name, kinds...)
	if err != nil {
		return err
	}
	u, err := t.resolve(src.Path)
	if err != nil {
		return badParams(r.action, "%v", err)
	}
	if r.dryRun {
		r.planned = append(r.planned, PlannedRequest{Method: method, URL: u.Redacted(), Body: src.Body})
		return nil
	}
	var body io.Reader
	if src.Body != nil {
		data, err := json.Marshal(src.Body)
		if err != nil {
			return badParams(r.action, "log query body cannot be sent as JSON: %v", err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return badParams(r.action, "%v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "aisoar")
	if err := t.authorize(ctx, req); err != nil {
		return err
	}
	client := t.Client
	if client == nil {
		client = defaultTargetClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("target %q: %s %s: %w", t.Name, method, u.Redacted(), err)
	}
	defer resp.Body.Close()
	if err := statusError(resp, t.Name, method, u); err != nil {
		return err
	}
	where := t.Name + ":" + src.Path
	return yield(content{name: nameOr(src.Name, where), source: method + " " + u.Redacted(), contentType: resp.Header.Get("Content-Type"), body: resp.Body})
}

// targetReadKinds are the targets content may be read from. Vault is left
// out so secrets cannot be copied into evidence; s3 has its own form.
var targetReadKinds = []string{"litellm", "kong", "http", "mlflow", "kserve", "airflow", "kafka_connect", "evaluator"}

// readS3 reads one object, or every object under a prefix, of an s3
// target's bucket.
func (r *reader) readS3(ctx context.Context, src source, yield func(content) error) error {
	t, err := r.targets.lookup(r.action, src.S3, "s3")
	if err != nil {
		return err
	}
	b, err := t.bucket(r.action, r.dryRun)
	if err != nil {
		return err
	}
	defer func() { r.planned = append(r.planned, b.planned...) }()
	if src.Key != "" {
		return r.readObject(ctx, b, src.Key, nameOr(src.Name, "s3:"+t.Name+"/"+src.Key), -1, yield)
	}
	token := ""
	for {
		page, err := b.listObjects(ctx, src.Prefix, token)
		if err != nil {
			return err
		}
		for _, obj := range page.Objects {
			activity.RecordHeartbeat(ctx, obj.Key)
			if err := r.readObject(ctx, b, obj.Key, nameOr(src.Name, "s3:"+t.Name)+"/"+obj.Key, obj.Size, yield); err != nil {
				return err
			}
		}
		if token = page.NextContinuationToken; token == "" {
			return nil
		}
	}
}

// readObject reads an object whole. The S3 reader keeps at most
// maxAnswerBytes, so a larger object is refused rather than cut short.
func (r *reader) readObject(ctx context.Context, b *s3Bucket, key, name string, size int64, yield func(content) error) error {
	if size > maxAnswerBytes {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: object %q of target %q is %d bytes; objects over %d bytes cannot be read", r.action, key, b.target.Name, size, maxAnswerBytes), "TooLarge", nil)
	}
	data, err := b.getObject(ctx, key)
	if err != nil || r.dryRun {
		return err
	}
	if len(data) >= maxAnswerBytes {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: object %q of target %q is over %d bytes and cannot be read", r.action, key, b.target.Name, maxAnswerBytes), "TooLarge", nil)
	}
	if size >= 0 && int64(len(data)) != size {
		return fmt.Errorf("%s: object %q of target %q changed while it was read (listed %d bytes, read %d)", r.action, key, b.target.Name, size, len(data))
	}
	return yield(content{name: name, source: b.url(key, nil).Redacted(), body: bytes.NewReader(data)})
}

// statusError is nil for a 2xx answer, else a StatusError quoting the
// start of the answer.
func statusError(resp *http.Response, target, method string, u *url.URL) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &StatusError{Target: target, Method: method, URL: u.Redacted(), Status: resp.StatusCode, Body: strings.TrimSpace(string(data))}
}

func nameOr(name, fallback string) string {
	if name != "" {
		return name
	}
	return fallback
}
