package activities

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// s3Bucket talks to an s3 target's bucket through the S3 REST API. URLs
// are path-style ({url}/{bucket}/{key}), which AWS S3, MinIO and the other
// S3-compatible stores all serve, and every request is signed with AWS
// Signature Version 4 from the target's access key. In a dry run it
// records the requests, as targetCall does, and reads answer nothing.
//
// Signing uses the AWS SDK's signer rather than a copy of the algorithm:
// the SDK is already linked into the binary through the embedded Temporal
// server, so it costs no new module.
type s3Bucket struct {
	*targetCall
}

// bucket starts a conversation with an s3 target's bucket.
func (t *Target) bucket(action string, dryRun bool) (*s3Bucket, error) {
	if t.Bucket == "" {
		return nil, badParams(action, "target %q names no bucket: set targets.%s.bucket in the config", t.Name, t.Name)
	}
	if t.Auth.AccessKeyID == "" || t.Auth.Secret == nil {
		return nil, badParams(action, "target %q has no access key: S3 requests are signed, so set targets.%s.auth.aws in the config", t.Name, t.Name)
	}
	return &s3Bucket{t.call(action, dryRun)}, nil
}

// s3DefaultRegion signs for targets that name no region; MinIO and most
// S3-compatible stores accept it.
const s3DefaultRegion = "us-east-1"

// s3Request is one S3 REST call on the bucket.
type s3Request struct {
	method string
	// key is the object key, "" for an operation on the bucket itself.
	key    string
	query  url.Values
	header http.Header
	// body is read twice, once to hash it for the signature and
	// Content-MD5 and once to send it, so content too large for memory
	// streams from a file; nil sends none.
	body io.ReadSeeker
	// planned is what a dry run records as the body; nil records the body
	// as text.
	planned any
}

// s3Answer is a successful answer's headers and body.
type s3Answer struct {
	header http.Header
	body   []byte
}

// s3Error is an S3 error answer with S3's error code, such as NoSuchKey,
// NoSuchBucketPolicy or AccessDenied. It unwraps to the StatusError, so
// activityError and IsStatus see the status.
type s3Error struct {
	Code string
	*StatusError
}

func (e *s3Error) Unwrap() error { return e.StatusError }

// hasS3Code reports whether err is an S3 error answer with the code.
func hasS3Code(err error, code string) bool {
	var se *s3Error
	return errors.As(err, &se) && se.Code == code
}

// send makes one S3 request and reads its answer (up to maxAnswerBytes),
// or records the request in a dry run.
func (b *s3Bucket) send(ctx context.Context, r s3Request) (s3Answer, error) {
	if b.dryRun {
		return s3Answer{}, b.record(r)
	}
	resp, err := b.open(ctx, r)
	if err != nil {
		return s3Answer{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return s3Answer{}, fmt.Errorf("target %q: reading the answer of %s %s: %w", b.target.Name, r.method, resp.Request.URL.Redacted(), err)
	}
	return s3Answer{header: resp.Header, body: data}, nil
}

// record notes r as a dry run's planned request.
func (b *s3Bucket) record(r s3Request) error {
	body := r.planned
	if body == nil && r.body != nil {
		data, err := io.ReadAll(r.body)
		if err != nil {
			return fmt.Errorf("target %q: reading the body of a planned request: %w", b.target.Name, err)
		}
		if len(data) > 0 {
			body = plannedText(data)
		}
	}
	b.planned = append(b.planned, PlannedRequest{Method: r.method, URL: b.url(r.key, r.query).String(), Body: body})
	return nil
}

// open signs and sends r and returns a successful answer for the caller
// to read and close; an error answer is an s3Error.
func (b *s3Bucket) open(ctx context.Context, r s3Request) (*http.Response, error) {
	t := b.target
	u := b.url(r.key, r.query)
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", t.Name, err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	payloadHash, contentMD5, n, err := hashPayload(r.body)
	if err != nil {
		return nil, fmt.Errorf("target %q: reading the body of %s %s: %w", t.Name, r.method, u.Redacted(), err)
	}
	if n > 0 {
		// Set here rather than by NewRequest so that a file is sent with its
		// length, not chunked, which S3 refuses.
		req.Body, req.ContentLength = io.NopCloser(r.body), n
		req.GetBody = func() (io.ReadCloser, error) {
			_, err := r.body.Seek(0, io.SeekStart)
			return io.NopCloser(r.body), err
		}
		// Some operations (PutBucketPolicy among them) require a checksum
		// of the body; the rest accept one.
		req.Header.Set("Content-Md5", contentMD5)
	}
	secret, err := t.Auth.Secret(ctx)
	if err != nil {
		return nil, fmt.Errorf("target %q: reading its secret access key: %w", t.Name, err)
	}
	region := t.Region
	if region == "" {
		region = s3DefaultRegion
	}
	if err := signV4(ctx, req, payloadHash, t.Auth.AccessKeyID, secret, region, time.Now()); err != nil {
		return nil, fmt.Errorf("target %q: signing %s %s: %w", t.Name, r.method, u.Redacted(), err)
	}
	req.Header.Set("User-Agent", "aisoar")
	resp, err := t.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("target %q: %s %s: %w", t.Name, r.method, u.Redacted(), err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, b.errorAnswer(req, resp)
}

// errorAnswer turns an error answer into an s3Error. S3 explains a
// failure in an XML <Error> document (HEAD answers have no body).
func (b *s3Bucket) errorAnswer(req *http.Request, resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	var doc struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	excerpt := strings.TrimSpace(string(data))
	if xml.Unmarshal(data, &doc) == nil && doc.Code != "" {
		excerpt = doc.Code + ": " + doc.Message
	}
	if len(excerpt) > maxErrorBody {
		excerpt = excerpt[:maxErrorBody] + "…"
	}
	return &s3Error{Code: doc.Code, StatusError: &StatusError{
		Target: b.target.Name, Method: req.Method, URL: req.URL.Redacted(), Status: resp.StatusCode, Body: excerpt,
	}}
}

// hashPayload reads body once for its SHA-256 (hex, as the signature
// needs it) and MD5 (base64, as Content-MD5 needs it) and its length,
// and rewinds it for sending. A nil body is empty.
func hashPayload(body io.ReadSeeker) (payloadHash, contentMD5 string, n int64, err error) {
	sha, sum := sha256.New(), md5.New()
	if body != nil {
		if n, err = io.Copy(io.MultiWriter(sha, sum), body); err != nil {
			return "", "", 0, err
		}
		if _, err = body.Seek(0, io.SeekStart); err != nil {
			return "", "", 0, err
		}
	}
	return hex.EncodeToString(sha.Sum(nil)), base64.StdEncoding.EncodeToString(sum.Sum(nil)), n, nil
}

// url is the path-style URL of key (or of the bucket when key is "").
func (b *s3Bucket) url(key string, query url.Values) *url.URL {
	u := *b.target.URL
	p := strings.TrimSuffix(u.Path, "/") + "/" + b.target.Bucket
	if key != "" {
		p += "/" + key
	}
	u.Path, u.RawPath = p, s3EscapePath(p)
	u.RawQuery, u.Fragment = query.Encode(), ""
	return &u
}

// s3EscapePath escapes a path as S3 expects it in the request and in the
// signature: every byte but the unreserved characters and '/'.
func s3EscapePath(p string) string {
	const hexDigits = "0123456789ABCDEF"
	var sb strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~/", c) >= 0 {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hexDigits[c>>4])
		sb.WriteByte(hexDigits[c&15])
	}
	return sb.String()
}

// plannedText is how a dry run shows a body it does not send: as text, or
// as its size when it is not text.
func plannedText(body []byte) string {
	if utf8.Valid(body) {
		return string(body)
	}
	return fmt.Sprintf("<%d bytes>", len(body))
}

// signV4 signs req for S3 with AWS Signature Version 4 at the given time,
// with the payload's SHA-256 (hex) in X-Amz-Content-Sha256 as S3
// requires. Headers set after it are not signed.
func signV4(ctx context.Context, req *http.Request, payloadHash, accessKeyID, secret, region string, at time.Time) error {
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	creds := aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secret}
	return v4.NewSigner().SignHTTP(ctx, creds, req, payloadHash, "s3", region, at, func(o *v4.SignerOptions) {
		// S3 signs the path as sent, escaped once.
		o.DisableURIPathEscaping = true
	})
}

// s3PutOptions are the optional parts of a PutObject.
type s3PutOptions struct {
	ContentType string
	// IfAbsent writes the object only if no object has the key
	// (If-None-Match: *), so a record is written once and never replaced;
	// an existing key answers 412 Precondition Failed.
	IfAbsent bool
}

// putObject stores body under key and returns the object's ETag.
func (b *s3Bucket) putObject(ctx context.Context, key string, body []byte, opts s3PutOptions) (string, error) {
	return b.putObjectFrom(ctx, key, bytes.NewReader(body), opts)
}

// putObjectFrom is putObject streaming the content from body, which it
// reads twice (see s3Request.body), so a file of any size up to S3's
// limit for one PutObject is stored without holding it in memory.
func (b *s3Bucket) putObjectFrom(ctx context.Context, key string, body io.ReadSeeker, opts s3PutOptions) (string, error) {
	header := http.Header{}
	if opts.ContentType != "" {
		header.Set("Content-Type", opts.ContentType)
	}
	if opts.IfAbsent {
		header.Set("If-None-Match", "*")
	}
	ans, err := b.send(ctx, s3Request{method: http.MethodPut, key: key, header: header, body: body})
	return ans.header.Get("ETag"), err
}

// s3MaxPutBytes is the largest object one PutObject writes.
const s3MaxPutBytes = 5 << 30

// openObject starts reading the object stored under key and returns its
// body, for the caller to read and close, and its size (-1 when the
// answer does not say). The body streams: objects of any size are read
// without holding them in memory. A missing key is an s3Error with code
// NoSuchKey. In a dry run it records the request and returns an empty
// body.
func (b *s3Bucket) openObject(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	r := s3Request{method: http.MethodGet, key: key}
	if b.dryRun {
		return http.NoBody, 0, b.record(r)
	}
	resp, err := b.open(ctx, r)
	if err != nil {
		return nil, 0, err
	}
	return resp.Body, resp.ContentLength, nil
}

// s3Object is an object in a listing.
type s3Object struct {
	Key          string    `xml:"Key"`
	Size         int64     `xml:"Size"`
	ETag         string    `xml:"ETag"`
	LastModified time.Time `xml:"LastModified"`
}

// s3ListPage is one page of a ListObjectsV2 listing.
type s3ListPage struct {
	Objects []s3Object `xml:"Contents"`
	// NextContinuationToken, when not empty, asks for the next page.
	NextContinuationToken string `xml:"NextContinuationToken"`
}

// listObjects returns one page of the objects whose keys start with
// prefix, in key order; pass the page's NextContinuationToken back for the
// next one. Callers that loop over pages heartbeat between them.
func (b *s3Bucket) listObjects(ctx context.Context, prefix, continuationToken string) (s3ListPage, error) {
	query := url.Values{"list-type": {"2"}, "prefix": {prefix}}
	if continuationToken != "" {
		query.Set("continuation-token", continuationToken)
	}
	ans, err := b.send(ctx, s3Request{method: http.MethodGet, query: query})
	if err != nil || b.dryRun {
		return s3ListPage{}, err
	}
	var page s3ListPage
	if err := xml.Unmarshal(ans.body, &page); err != nil {
		return s3ListPage{}, fmt.Errorf("target %q: listing %q answered XML aisoar does not understand: %w", b.target.Name, prefix, err)
	}
	return page, nil
}

// policyQuery addresses the bucket's policy subresource.
func policyQuery() url.Values { return url.Values{"policy": {""}} }

// policy returns the bucket policy document, or nil when the bucket has
// none.
func (b *s3Bucket) policy(ctx context.Context) ([]byte, error) {
	ans, err := b.send(ctx, s3Request{method: http.MethodGet, query: policyQuery()})
	if hasS3Code(err, "NoSuchBucketPolicy") {
		return nil, nil
	}
	return ans.body, err
}

// putPolicy replaces the bucket policy with doc, a JSON policy document.
func (b *s3Bucket) putPolicy(ctx context.Context, doc []byte) error {
	_, err := b.send(ctx, s3Request{method: http.MethodPut, query: policyQuery(), body: bytes.NewReader(doc), planned: json.RawMessage(doc),
		header: http.Header{"Content-Type": {"application/json"}}})
	return err
}

// deletePolicy removes the bucket policy.
func (b *s3Bucket) deletePolicy(ctx context.Context) error {
	_, err := b.send(ctx, s3Request{method: http.MethodDelete, query: policyQuery()})
	return err
}
