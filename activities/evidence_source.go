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
	"path"
	"regexp"
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
//	{mlflow: name, run_id: ..., artifact_path: ...}  an MLflow run's metadata and artifacts
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
	MLflow   string `json:"mlflow"`
	RunID    string `json:"run_id"`
	// ArtifactPath is a file or directory of the run's artifacts; "." or
	// "/" is all of them.
	ArtifactPath string `json:"artifact_path"`
	Value        any    `json:"value"`
}

// Source forms, as named in messages.
const (
	formURL      = "url"
	formTarget   = "target"
	formLogQuery = "log_query"
	formS3       = "s3"
	formMLflow   = "mlflow"
	formValue    = "value"
)

// form says which form the source takes, after checking it is one.
func (s *source) form(forms []string) (string, error) {
	var set []string
	for _, f := range []struct {
		name string
		on   bool
	}{{formURL, s.URL != ""}, {formTarget, s.Target != ""}, {formLogQuery, s.LogQuery != ""}, {formS3, s.S3 != ""}, {formMLflow, s.MLflow != ""}, {formValue, s.Value != nil}} {
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
	case form == formMLflow && !mlflowRunID.MatchString(s.RunID):
		return "", fmt.Errorf("mlflow needs run_id, the run's id (letters, digits, - and _); got %q", s.RunID)
	case form == formMLflow && slices.Contains(strings.Split(s.ArtifactPath, "/"), ".."):
		return "", fmt.Errorf("artifact_path %q leaves the run's artifacts; give a path within them, such as model or model/MLmodel", s.ArtifactPath)
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
		return source{}, "", badParams(action, "%s: %v (fields: name, url, target, path, log_query, body, s3, prefix, key, mlflow, run_id, artifact_path, value)", param, err)
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
	case formMLflow:
		return r.readMLflow(ctx, src, yield)
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
	resp, err := r.open(ctx, t, method, u, src.Body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	where := t.Name + ":" + src.Path
	return yield(content{name: nameOr(src.Name, where), source: method + " " + u.Redacted(), contentType: resp.Header.Get("Content-Type"), body: resp.Body})
}

// open sends method u to t with its credentials, and body as JSON when it
// is not nil, and returns the successful answer for the caller to read
// (it streams) and close; an error answer is a *StatusError.
func (r *reader) open(ctx context.Context, t *Target, method string, u *url.URL, body any) (*http.Response, error) {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, badParams(r.action, "the body for %s cannot be sent as JSON: %v", u.Redacted(), err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), reader)
	if err != nil {
		return nil, badParams(r.action, "%v", err)
	}
	if reader != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "aisoar")
	if err := t.authorize(ctx, req); err != nil {
		return nil, err
	}
	resp, err := t.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("target %q: %s %s: %w", t.Name, method, u.Redacted(), err)
	}
	if err := statusError(resp, t.Name, method, u); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
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

// readObject streams an object into yield. size is its size as listed,
// -1 when it was not listed.
func (r *reader) readObject(ctx context.Context, b *s3Bucket, key, name string, size int64, yield func(content) error) error {
	body, n, err := b.openObject(ctx, key)
	if err != nil || r.dryRun {
		return err
	}
	defer body.Close()
	if size >= 0 && n >= 0 && n != size {
		return fmt.Errorf("%s: object %q of target %q changed while it was read (listed %d bytes, read %d)", r.action, key, b.target.Name, size, n)
	}
	return yield(content{name: name, source: b.url(key, nil).Redacted(), body: body})
}

// mlflowRunID is what an MLflow run id may hold: MLflow's are 32 hex
// digits. Anything else (a slash, a "..") is refused before it reaches a
// URL or an item's name.
var mlflowRunID = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// mlflowArtifactsProxy is the path, on the tracking server, of its
// artifacts proxy (mlflow server --serve-artifacts), which serves a run
// whose artifact_uri is mlflow-artifacts:/<experiment>/<run>/artifacts
// at <proxy><experiment>/<run>/artifacts/<path>.
const mlflowArtifactsProxy = "api/2.0/mlflow-artifacts/artifacts/"

// maxMLflowFiles bounds the artifact files, and the listings, of one
// mlflow item, so a run with a huge artifact tree (or a server that lists
// without end) fails with a message instead of running for hours.
const maxMLflowFiles = 1000

// readMLflow keeps an MLflow run's metadata (runs/get, as the server
// answers it) as <name>/run.json and, with artifact_path, every artifact
// file at or under it as <name>/artifacts/<path>, where name defaults to
// mlflow/<run_id>. Files are found with artifacts/list, recursing into
// directories, and downloaded through the tracking server's artifacts
// proxy; each streams into yield.
func (r *reader) readMLflow(ctx context.Context, src source, yield func(content) error) error {
	t, err := r.targets.lookup(r.action, src.MLflow, "mlflow")
	if err != nil {
		return err
	}
	m := &mlflowArtifacts{reader: r, call: t.call(r.action, r.dryRun), runID: src.RunID,
		prefix: nameOr(src.Name, "mlflow/"+src.RunID), yield: yield}
	defer func() { r.planned = append(r.planned, m.call.planned...) }()
	get := rollbackMLflowAPI + "runs/get?" + url.Values{"run_id": {src.RunID}}.Encode()
	var run json.RawMessage
	if err := m.call.do(ctx, http.MethodGet, get, nil, &run); err != nil {
		return fmt.Errorf("%s: reading MLflow run %q: %w", r.action, src.RunID, err)
	}
	if !r.dryRun {
		u, _ := t.resolve(get)
		if err := yield(content{name: m.prefix + "/run.json", source: "GET " + u.Redacted(), contentType: "application/json", body: bytes.NewReader(run)}); err != nil {
			return err
		}
	}
	if src.ArtifactPath == "" {
		return nil
	}
	want := strings.Trim(path.Clean("/"+src.ArtifactPath), "/")
	if r.dryRun {
		return m.plan(ctx, want)
	}
	if m.root, err = mlflowArtifactRoot(r.action, t, src.RunID, run); err != nil {
		return err
	}
	if want == "" {
		return m.walk(ctx, mlflowFile{IsDir: true})
	}
	// Whether want is a file or a directory shows in its parent's listing,
	// which is read until want is found.
	err = m.list(ctx, parentDir(want), func(f mlflowFile) error {
		if f.Path != want {
			return nil
		}
		if err := m.walk(ctx, f); err != nil {
			return err
		}
		return errFound
	})
	switch {
	case errors.Is(err, errFound):
		return nil
	case err == nil:
		err := fmt.Errorf("%s: MLflow run %q of target %q has no artifact %q", r.action, src.RunID, t.Name, want)
		return temporal.NewNonRetryableApplicationError(err.Error(), "NotFound", err)
	}
	return err
}

// errFound ends a listing early.
var errFound = errors.New("found")

// plan records in a dry run the first listing and, as a placeholder, the
// downloads: which files there are, and where the artifacts proxy serves
// them, shows only once the run is read.
func (m *mlflowArtifacts) plan(ctx context.Context, want string) error {
	if err := m.list(ctx, parentDir(want), func(mlflowFile) error { return nil }); err != nil {
		return err
	}
	files := "<each artifact file>"
	if want != "" {
		files = "<each artifact file at or under " + want + ">"
	}
	u, _ := m.call.target.resolve(mlflowArtifactsProxy)
	m.call.planned = append(m.call.planned, PlannedRequest{Method: http.MethodGet, URL: u.String() + "<experiment_id>/" + m.runID + "/artifacts/" + files})
	return nil
}

// parentDir is the directory holding an artifact, "" for the root.
func parentDir(p string) string {
	if d := path.Dir(p); d != "." && d != "/" {
		return d
	}
	return ""
}

// mlflowArtifactRoot returns where, relative to the target's URL, the
// tracking server's artifacts proxy serves the run's artifacts, from the
// run's info.artifact_uri. Artifacts stored elsewhere (s3://..., a path on
// the server) are not served by it and are refused.
func mlflowArtifactRoot(action string, t *Target, runID string, run json.RawMessage) (string, error) {
	var doc struct {
		Run struct {
			Info struct {
				ArtifactURI string `json:"artifact_uri"`
			} `json:"info"`
		} `json:"run"`
	}
	if err := json.Unmarshal(run, &doc); err != nil {
		return "", fmt.Errorf("%s: target %q answered MLflow run %q in JSON aisoar does not understand: %w", action, t.Name, runID, err)
	}
	uri := doc.Run.Info.ArtifactURI
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "mlflow-artifacts" || (u.Host != "" && u.Host != t.URL.Host) || strings.Trim(u.Path, "/") == "" {
		err := fmt.Errorf("%s: MLflow run %q keeps its artifacts at %q, which target %q does not serve through its artifacts proxy "+
			"(mlflow server --serve-artifacts, artifact URIs mlflow-artifacts:/...); snapshot them where they are, e.g. {s3: <target>, prefix: ...}",
			action, runID, uri, t.Name)
		return "", temporal.NewNonRetryableApplicationError(err.Error(), "NotServed", err)
	}
	return mlflowArtifactsProxy + escapeSegments(strings.Trim(u.Path, "/")) + "/", nil
}

// mlflowArtifacts walks one run's artifacts.
type mlflowArtifacts struct {
	*reader
	call  *targetCall
	runID string
	// root is where the artifacts proxy serves the run's artifacts;
	// prefix starts the items' names.
	root, prefix    string
	files, listings int
	yield           func(content) error
}

// mlflowFile is an entry of an artifact listing; its path is relative to
// the run's artifact root.
type mlflowFile struct {
	Path  string `json:"path"`
	IsDir bool   `json:"is_dir"`
}

// walk keeps f, or every file under it when it is a directory.
func (m *mlflowArtifacts) walk(ctx context.Context, f mlflowFile) error {
	if f.IsDir {
		return m.list(ctx, f.Path, func(g mlflowFile) error { return m.walk(ctx, g) })
	}
	return m.download(ctx, f.Path)
}

// list calls each with every entry of the run's artifact directory dir
// ("" for the root), page by page.
func (m *mlflowArtifacts) list(ctx context.Context, dir string, each func(mlflowFile) error) error {
	query := url.Values{"run_id": {m.runID}}
	if dir != "" {
		query.Set("path", dir)
	}
	for {
		if m.listings++; m.listings > maxMLflowFiles {
			return m.tooMany()
		}
		activity.RecordHeartbeat(ctx, dir)
		var page struct {
			Files         []mlflowFile `json:"files"`
			NextPageToken string       `json:"next_page_token"`
		}
		if err := m.call.do(ctx, http.MethodGet, rollbackMLflowAPI+"artifacts/list?"+query.Encode(), nil, &page); err != nil {
			return fmt.Errorf("%s: listing artifacts %q of MLflow run %q: %w", m.action, dir, m.runID, err)
		}
		for _, f := range page.Files {
			// Every entry is below dir; anything else would walk out of the
			// run, or in circles.
			if f.Path == "" || (dir != "" && !strings.HasPrefix(f.Path, dir+"/")) || slices.Contains(strings.Split(f.Path, "/"), "..") {
				return fmt.Errorf("%s: target %q listed %q among the artifacts under %q of MLflow run %q", m.action, m.call.target.Name, f.Path, dir, m.runID)
			}
			if err := each(f); err != nil {
				return err
			}
		}
		if page.NextPageToken == "" {
			return nil
		}
		query.Set("page_token", page.NextPageToken)
	}
}

// download streams one artifact file into yield.
func (m *mlflowArtifacts) download(ctx context.Context, file string) error {
	if m.files++; m.files > maxMLflowFiles {
		return m.tooMany()
	}
	activity.RecordHeartbeat(ctx, file)
	t := m.call.target
	u, err := t.resolve(m.root + escapeSegments(file))
	if err != nil {
		return badParams(m.action, "%v", err)
	}
	resp, err := m.open(ctx, t, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return m.yield(content{name: m.prefix + "/artifacts/" + file, source: "GET " + u.Redacted(),
		contentType: resp.Header.Get("Content-Type"), body: resp.Body})
}

func (m *mlflowArtifacts) tooMany() error {
	err := fmt.Errorf("%s: MLflow run %q has more than %d artifact files or directories there; snapshot a narrower artifact_path", m.action, m.runID, maxMLflowFiles)
	return temporal.NewNonRetryableApplicationError(err.Error(), "TooLarge", err)
}

// escapeSegments escapes each segment of a slash-separated path for a URL.
func escapeSegments(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
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
