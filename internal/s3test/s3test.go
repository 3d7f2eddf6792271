// Package s3test is a test double of the Amazon S3 REST API as AWS S3,
// MinIO and the other S3-compatible stores serve it path-style
// ({url}/{bucket}/{key}): objects (PutObject with If-None-Match: *,
// GetObject, HeadObject, DeleteObject), ListObjectsV2 and bucket policies
// (GetBucketPolicy, PutBucketPolicy, DeleteBucketPolicy), in the request
// and response shapes and XML error bodies S3 documents. It verifies the
// AWS Signature Version 4 of every request, enforces a bucket policy's
// Deny statements on object writes and deletes, records every request,
// and can fail or hang chosen operations. It is the one place tests fake
// an object store.
package s3test

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aisoar/aisoar/internal/doubletest"
)

// The credentials and region a Server accepts unless options say
// otherwise; they are AWS's documented example key.
const (
	AccessKeyID     = "AKIAIOSFODNN7EXAMPLE"
	SecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	Region          = "us-east-1"
)

// Server is an S3 double on a loopback httptest server.
type Server struct {
	*httptest.Server
	accessKeyID, secret, region string
	rec                         doubletest.Recorder

	mu       sync.Mutex
	buckets  map[string]*bucket
	pageSize int // caps a listing page when not 0
}

type bucket struct {
	objects map[string]object
	policy  []byte // nil without a policy
}

type object struct {
	data        []byte
	contentType string
	etag        string
	modified    time.Time
}

// Option configures a Server.
type Option func(*Server)

// WithCredentials makes the server accept another access key.
func WithCredentials(accessKeyID, secretAccessKey string) Option {
	return func(s *Server) { s.accessKeyID, s.secret = accessKeyID, secretAccessKey }
}

// WithRegion makes the server expect signatures for another region.
func WithRegion(region string) Option { return func(s *Server) { s.region = region } }

// New starts an S3 double holding the named buckets, empty; it is closed
// when the test ends.
func New(t testing.TB, buckets []string, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		accessKeyID: AccessKeyID, secret: SecretAccessKey, region: Region,
		buckets: map[string]*bucket{},
	}
	for _, name := range buckets {
		s.buckets[name] = &bucket{objects: map[string]object{}}
	}
	for _, opt := range opts {
		opt(s)
	}
	s.Server = s.rec.Start(t, http.HandlerFunc(s.serve))
	return s
}

// Request is one request the double received, with the S3 operation it
// names, and what the double answered.
type Request struct {
	doubletest.Request
	// Operation is S3's name for it, such as PutBucketPolicy.
	Operation string
	Bucket    string
	Key       string
}

// newRequest names the operation, bucket and key of a request.
func newRequest(r doubletest.Request) Request {
	bucketName, key, _ := strings.Cut(strings.TrimPrefix(r.Path, "/"), "/")
	return Request{Request: r, Operation: operation(r.Method, key, r.Query), Bucket: bucketName, Key: key}
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	var out []Request
	for _, r := range s.rec.Requests() {
		out = append(out, newRequest(r))
	}
	return out
}

// Writes returns the requests received so far that change state: every
// method but GET and HEAD.
func (s *Server) Writes() []Request {
	var writes []Request
	for _, r := range s.Requests() {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writes = append(writes, r)
		}
	}
	return writes
}

// PutObject stores an object directly, bypassing policy and signature.
func (s *Server) PutObject(bucketName, key string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bucket(bucketName).objects[key] = newObject(data, "application/octet-stream")
}

// Object returns a stored object's bytes.
func (s *Server) Object(bucketName, key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.bucket(bucketName).objects[key]
	return o.data, ok
}

// Policy returns the bucket policy document, nil when there is none.
func (s *Server) Policy(bucketName string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bucket(bucketName).policy)
}

// SetPolicy sets the bucket policy directly, unchecked; nil removes it.
func (s *Server) SetPolicy(bucketName string, doc []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bucket(bucketName).policy = slices.Clone(doc)
}

// bucket returns a bucket the test named; the caller holds s.mu.
func (s *Server) bucket(name string) *bucket {
	b, ok := s.buckets[name]
	if !ok {
		panic(fmt.Sprintf("s3test: no bucket %q (buckets are named in New)", name))
	}
	return b
}

func newObject(data []byte, contentType string) object {
	sum := md5.Sum(data)
	return object{data: slices.Clone(data), contentType: contentType, etag: `"` + hex.EncodeToString(sum[:]) + `"`, modified: time.Now().UTC()}
}

// FailNext answers the next n requests of operation (such as
// "PutBucketPolicy") with status and S3's error body for it.
func (s *Server) FailNext(operation string, status, n int) { s.rec.FailNext(operation, status, n) }

// SetPageSize makes ListObjectsV2 answer at most n keys a page, as S3
// may answer fewer than max-keys, so tests can page without 1000 objects.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// HangNext makes the next request of operation wait without answering
// until the client gives up, as a stuck store does.
func (s *Server) HangNext(operation string) { s.rec.HangNext(operation, 1) }

// s3Error is an S3 error answer.
type s3Error struct {
	status  int
	code    string
	message string
	// resource names what the error is about: Key, BucketName, Condition.
	resource [2]string
}

// faultErrors are the errors a FailNext status answers with.
var faultErrors = map[int]s3Error{
	http.StatusBadRequest:          {code: "InvalidRequest", message: "Invalid Request"},
	http.StatusForbidden:           {code: "AccessDenied", message: "Access Denied"},
	http.StatusNotFound:            {code: "NoSuchKey", message: "The specified key does not exist."},
	http.StatusInternalServerError: {code: "InternalError", message: "We encountered an internal error. Please try again."},
	http.StatusServiceUnavailable:  {code: "SlowDown", message: "Please reduce your request rate."},
}

// faultError is the error an injected status answers with.
func faultError(status int) *s3Error {
	e, ok := faultErrors[status]
	if !ok {
		e = s3Error{code: strings.ReplaceAll(http.StatusText(status), " ", ""), message: http.StatusText(status)}
	}
	e.status = status
	return &e
}

// reply is a successful answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	req := newRequest(doubletest.Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header})
	writeFault := func(w http.ResponseWriter, f doubletest.Fault) { writeError(w, r, faultError(f.Status)) }
	if s.rec.Inject(w, r, writeFault, req.Operation) {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if e := s.authenticate(r, body); e != nil {
		writeError(w, r, e)
		return
	}
	s.mu.Lock()
	rep, e := s.answer(req, body)
	s.mu.Unlock()
	if e != nil {
		writeError(w, r, e)
		return
	}
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rep.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(rep.body)
	}
}

// operation names the S3 operation a request is.
func operation(method, key string, query url.Values) string {
	if key == "" {
		_, policy := query["policy"]
		switch {
		case policy && method == http.MethodGet:
			return "GetBucketPolicy"
		case policy && method == http.MethodPut:
			return "PutBucketPolicy"
		case policy && method == http.MethodDelete:
			return "DeleteBucketPolicy"
		case method == http.MethodGet && query.Get("list-type") == "2":
			return "ListObjectsV2"
		}
		return "Unsupported"
	}
	switch method {
	case http.MethodPut:
		return "PutObject"
	case http.MethodGet:
		return "GetObject"
	case http.MethodHead:
		return "HeadObject"
	case http.MethodDelete:
		return "DeleteObject"
	}
	return "Unsupported"
}

// answer serves an authenticated request; the caller holds s.mu.
func (s *Server) answer(req Request, body []byte) (reply, *s3Error) {
	b, ok := s.buckets[req.Bucket]
	if !ok {
		return reply{}, &s3Error{status: http.StatusNotFound, code: "NoSuchBucket", message: "The specified bucket does not exist",
			resource: [2]string{"BucketName", req.Bucket}}
	}
	switch req.Operation {
	case "GetBucketPolicy":
		if b.policy == nil {
			return reply{}, &s3Error{status: http.StatusNotFound, code: "NoSuchBucketPolicy", message: "The bucket policy does not exist",
				resource: [2]string{"BucketName", req.Bucket}}
		}
		return reply{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}}, body: b.policy}, nil
	case "PutBucketPolicy":
		if e := checkPolicy(req.Bucket, body); e != nil {
			return reply{}, e
		}
		b.policy = slices.Clone(body)
		return reply{status: http.StatusNoContent}, nil
	case "DeleteBucketPolicy":
		b.policy = nil
		return reply{status: http.StatusNoContent}, nil
	case "ListObjectsV2":
		return listObjects(req, b, s.pageSize)
	case "PutObject":
		return s.putObject(req, b, body)
	case "GetObject", "HeadObject":
		o, ok := b.objects[req.Key]
		if !ok {
			return reply{}, &s3Error{status: http.StatusNotFound, code: "NoSuchKey", message: "The specified key does not exist.",
				resource: [2]string{"Key", req.Key}}
		}
		return reply{status: http.StatusOK, body: o.data, header: http.Header{
			"Content-Type": {o.contentType}, "Etag": {o.etag}, "Last-Modified": {o.modified.Format(http.TimeFormat)},
			"Content-Length": {fmt.Sprint(len(o.data))},
		}}, nil
	case "DeleteObject":
		if e := denied(b, "s3:DeleteObject", req.Bucket, req.Key); e != nil {
			return reply{}, e
		}
		delete(b.objects, req.Key)
		return reply{status: http.StatusNoContent}, nil
	}
	return reply{}, &s3Error{status: http.StatusNotImplemented, code: "NotImplemented",
		message: "A header or query you provided implies functionality that is not implemented (the double serves " + req.Method + " " + req.Key + " no operation)"}
}

func (s *Server) putObject(req Request, b *bucket, body []byte) (reply, *s3Error) {
	if e := denied(b, "s3:PutObject", req.Bucket, req.Key); e != nil {
		return reply{}, e
	}
	switch match := req.Header.Get("If-None-Match"); match {
	case "":
	case "*":
		if _, exists := b.objects[req.Key]; exists {
			return reply{}, &s3Error{status: http.StatusPreconditionFailed, code: "PreconditionFailed",
				message: "At least one of the pre-conditions you specified did not hold", resource: [2]string{"Condition", "If-None-Match"}}
		}
	default:
		return reply{}, &s3Error{status: http.StatusNotImplemented, code: "NotImplemented",
			message: "A header you provided implies functionality that is not implemented", resource: [2]string{"Header", "If-None-Match"}}
	}
	contentType := req.Header.Get("Content-Type")
	if contentType == "" {
		contentType = "binary/octet-stream"
	}
	o := newObject(body, contentType)
	b.objects[req.Key] = o
	return reply{status: http.StatusOK, header: http.Header{"Etag": {o.etag}}}, nil
}

// listBucketResult is ListObjectsV2's answer.
type listBucketResult struct {
	XMLName               xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	KeyCount              int            `xml:"KeyCount"`
	MaxKeys               int            `xml:"MaxKeys"`
	IsTruncated           bool           `xml:"IsTruncated"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	Contents              []listedObject `xml:"Contents"`
}

type listedObject struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int    `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

// listObjects answers ListObjectsV2: keys in order after the continuation
// token (an opaque cursor; here the last key listed, hex-encoded) or
// start-after, at most max-keys (default 1000) of them, and at most
// pageSize when it is not 0.
func listObjects(req Request, b *bucket, pageSize int) (reply, *s3Error) {
	q := req.Query
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		if _, err := fmt.Sscan(v, &maxKeys); err != nil || maxKeys < 0 {
			return reply{}, &s3Error{status: http.StatusBadRequest, code: "InvalidArgument", message: "Provided max-keys not an integer or within integer range",
				resource: [2]string{"ArgumentName", "max-keys"}}
		}
	}
	pageKeys := maxKeys
	if pageSize > 0 {
		pageKeys = min(maxKeys, pageSize)
	}
	after := q.Get("start-after")
	if token := q.Get("continuation-token"); token != "" {
		last, err := hex.DecodeString(token)
		if err != nil {
			return reply{}, &s3Error{status: http.StatusBadRequest, code: "InvalidArgument", message: "The continuation token provided is incorrect",
				resource: [2]string{"ArgumentName", "continuation-token"}}
		}
		after = string(last)
	}
	var keys []string
	for k := range b.objects {
		if strings.HasPrefix(k, q.Get("prefix")) && k > after {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	result := listBucketResult{Name: req.Bucket, Prefix: q.Get("prefix"), MaxKeys: maxKeys,
		ContinuationToken: q.Get("continuation-token"), StartAfter: q.Get("start-after")}
	if len(keys) > pageKeys {
		keys, result.IsTruncated = keys[:pageKeys], true
		if pageKeys > 0 {
			result.NextContinuationToken = hex.EncodeToString([]byte(keys[pageKeys-1]))
		}
	}
	for _, k := range keys {
		o := b.objects[k]
		result.Contents = append(result.Contents, listedObject{Key: k, LastModified: o.modified.Format("2006-01-02T15:04:05.000Z"),
			ETag: o.etag, Size: len(o.data), StorageClass: "STANDARD"})
	}
	result.KeyCount = len(result.Contents)
	doc, _ := xml.Marshal(result)
	return reply{status: http.StatusOK, header: http.Header{"Content-Type": {"application/xml"}}, body: append([]byte(xml.Header), doc...)}, nil
}

// writeError writes S3's XML error document.
func writeError(w http.ResponseWriter, r *http.Request, e *s3Error) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.status)
	if r.Method == http.MethodHead {
		return // S3 answers HEAD with the status alone
	}
	doc := struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string   `xml:"Code"`
		Message   string   `xml:"Message"`
		Resource  []resourceElement
		RequestID string `xml:"RequestId"`
		HostID    string `xml:"HostId"`
	}{Code: e.code, Message: e.message, RequestID: "4442587FB7D0A2F9", HostID: "aisoar-s3test"}
	if e.resource[0] != "" {
		doc.Resource = []resourceElement{{e.resource[0], e.resource[1]}}
	}
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(doc)
}

// resourceElement is the error document's element naming what the error
// is about, such as <Key>a/b.json</Key>.
type resourceElement struct {
	name, value string
}

func (e resourceElement) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	return enc.EncodeElement(e.value, xml.StartElement{Name: xml.Name{Local: e.name}})
}
