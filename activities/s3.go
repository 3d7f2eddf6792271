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
	body   []byte
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

// send makes one S3 request, or records it in a dry run.
func (b *s3Bucket) send(ctx context.Context, r s3Request) (s3Answer, error) {
	u := b.url(r.key, r.query)
	if b.dryRun {
		body := r.planned
		if body == nil && len(r.body) > 0 {
			body = plannedText(r.body)
		}
		b.planned = append(b.planned, PlannedRequest{Method: r.method, URL: u.String(), Body: body})
		return s3Answer{}, nil
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), bytes.NewReader(r.body))
	if err != nil {
		return s3Answer{}, fmt.Errorf("target %q: %w", b.target.Name, err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if len(r.body) > 0 {
		// Some operations (PutBucketPolicy among them) require a checksum
		// of the body; the rest accept one.
		sum := md5.Sum(r.body)
		req.Header.Set("Content-Md5", base64.StdEncoding.EncodeToString(sum[:]))
	}
	secret, err := b.target.Auth.Secret(ctx)
	if err != nil {
		return s3Answer{}, fmt.Errorf("target %q: reading its secret access key: %w", b.target.Name, err)
	}
	region := b.target.Region
	if region == "" {
		region = s3DefaultRegion
	}
	if err := signV4(ctx, req, r.body, b.target.Auth.AccessKeyID, secret, region, time.Now()); err != nil {
		return s3Answer{}, fmt.Errorf("target %q: signing %s %s: %w", b.target.Name, r.method, u.Redacted(), err)
	}
	req.Header.Set("User-Agent", "aisoar")
	return b.receive(req)
}

// receive performs a signed request and reads its answer, turning an
// error answer into an s3Error.
func (b *s3Bucket) receive(req *http.Request) (s3Answer, error) {
	t := b.target
	client := t.Client
	if client == nil {
		client = defaultTargetClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return s3Answer{}, fmt.Errorf("target %q: %s %s: %w", t.Name, req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return s3Answer{}, fmt.Errorf("target %q: reading the answer of %s %s: %w", t.Name, req.Method, req.URL.Redacted(), err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return s3Answer{header: resp.Header, body: data}, nil
	}
	// S3 explains a failure in an XML <Error> document (HEAD answers have
	// no body).
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
	return s3Answer{}, &s3Error{Code: doc.Code, StatusError: &StatusError{
		Target: t.Name, Method: req.Method, URL: req.URL.Redacted(), Status: resp.StatusCode, Body: excerpt,
	}}
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
// with the payload hash in X-Amz-Content-Sha256 as S3 requires. Headers
// set after it are not signed.
func signV4(ctx context.Context, req *http.Request, body []byte, accessKeyID, secret, region string, at time.Time) error {
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
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

// getObject returns the object stored under key; a missing key is an
// s3Error with code NoSuchKey.
func (b *s3Bucket) getObject(ctx context.Context, key string) ([]byte, error) {
	ans, err := b.send(ctx, s3Request{method: http.MethodGet, key: key})
	return ans.body, err
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
	_, err := b.send(ctx, s3Request{method: http.MethodPut, query: policyQuery(), body: doc, planned: json.RawMessage(doc),
		header: http.Header{"Content-Type": {"application/json"}}})
	return err
}

// deletePolicy removes the bucket policy.
func (b *s3Bucket) deletePolicy(ctx context.Context) error {
	_, err := b.send(ctx, s3Request{method: http.MethodDelete, query: policyQuery()})
	return err
}
