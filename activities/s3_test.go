package activities

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aisoar/aisoar/internal/s3test"
)

// TestSignV4AWSExamples signs the requests of AWS's documented Signature
// Version 4 examples for S3 (S3 API reference, "Signature Calculations for
// the Authorization Header: Transferring Payload in a Single Chunk") and
// expects the documented Authorization headers.
func TestSignV4AWSExamples(t *testing.T) {
	const (
		keyID  = "AKIAIOSFODNN7EXAMPLE"
		secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
		scope  = "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
	)
	tests := []struct {
		name, method, path, query string
		header                    map[string]string
		body                      string
		want                      string
	}{
		{
			name: "GET Object", method: "GET", path: "/test.txt",
			header: map[string]string{"Range": "bytes=0-9"},
			want:   "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
		},
		{
			name: "PUT Object, key escaped", method: "PUT", path: "/test$file.text",
			header: map[string]string{"Date": "Fri, 24 May 2013 00:00:00 GMT", "X-Amz-Storage-Class": "REDUCED_REDUNDANCY"},
			body:   "Welcome to Amazon S3.",
			want:   "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
		},
		{
			name: "GET Bucket Lifecycle, subresource without value", method: "GET", path: "/", query: "lifecycle",
			want: "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
		},
		{
			name: "GET Bucket (List Objects)", method: "GET", path: "/", query: "max-keys=2&prefix=J",
			want: "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &url.URL{Scheme: "https", Host: "examplebucket.s3.amazonaws.com", Path: tt.path, RawPath: s3EscapePath(tt.path), RawQuery: tt.query}
			// The examples do not sign Content-Length, so the request
			// carries none; the body only feeds the payload hash.
			req, err := http.NewRequest(tt.method, u.String(), nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			at := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
			payloadHash, _, _, err := hashPayload(strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if err := signV4(context.Background(), req, payloadHash, keyID, secret, "us-east-1", at); err != nil {
				t.Fatal(err)
			}
			if got, want := req.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "+scope+tt.want; got != want {
				t.Errorf("Authorization =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// s3TestTarget is an s3 target on the double's bucket.
func s3TestTarget(t *testing.T, srv *s3test.Server, bucket string) *Target {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &Target{Name: "lake", Kind: kindS3, URL: u, Region: s3test.Region, Bucket: bucket,
		Auth: TargetAuth{AccessKeyID: s3test.AccessKeyID, Secret: staticSecret(s3test.SecretAccessKey)}}
}

func s3TestBucket(t *testing.T, tg *Target, dryRun bool) *s3Bucket {
	t.Helper()
	b, err := tg.bucket("test", dryRun)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readTestObject reads an object whole through openObject.
func readTestObject(t *testing.T, b *s3Bucket, key string) ([]byte, int64, error) {
	t.Helper()
	body, size, err := b.openObject(t.Context(), key)
	if err != nil {
		return nil, 0, err
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	return data, size, err
}

func TestS3Objects(t *testing.T) {
	ctx := context.Background()
	srv := s3test.New(t, []string{"evidence"})
	b := s3TestBucket(t, s3TestTarget(t, srv, "evidence"), false)

	// Keys with characters S3 escapes still sign correctly.
	keys := []string{"inc-1/alerts/a b+c.json", "inc-1/log$1.txt", "inc-1/modèle.json", "inc-2/x.json"}
	for _, k := range keys {
		etag, err := b.putObject(ctx, k, []byte(`{"k":"`+k+`"}`), s3PutOptions{ContentType: "application/json", IfAbsent: true})
		if err != nil {
			t.Fatalf("putObject(%q): %v", k, err)
		}
		if !strings.HasPrefix(etag, `"`) {
			t.Errorf("putObject(%q) ETag = %q, want a quoted ETag", k, etag)
		}
	}
	got, size, err := readTestObject(t, b, keys[2])
	if err != nil || string(got) != `{"k":"inc-1/modèle.json"}` || size != int64(len(got)) {
		t.Errorf("openObject = %q (size %d), %v", got, size, err)
	}

	// Write once: a second write of the key is refused, and not retried.
	_, err = b.putObject(ctx, keys[0], []byte("tampered"), s3PutOptions{IfAbsent: true})
	if !IsStatus(err, http.StatusPreconditionFailed) || !hasS3Code(err, "PreconditionFailed") {
		t.Errorf("second write-once put: %v, want 412 PreconditionFailed", err)
	}
	if appErr := appError(t, activityError(err)); !appErr.NonRetryable() {
		t.Error("412 is retryable, want non-retryable")
	}
	if data, _ := srv.Object("evidence", keys[0]); string(data) == "tampered" {
		t.Error("write-once put replaced the object")
	}

	_, _, err = b.openObject(ctx, "inc-1/missing.json")
	if !hasS3Code(err, "NoSuchKey") || !strings.Contains(err.Error(), "NoSuchKey: The specified key does not exist.") {
		t.Errorf("openObject(missing) = %v, want NoSuchKey with S3's message", err)
	}

	// Listing pages through the prefix in key order.
	srv.SetPageSize(2)
	var listed []string
	token := ""
	for range 10 {
		page, err := b.listObjects(ctx, "inc-1/", token)
		if err != nil {
			t.Fatalf("listObjects: %v", err)
		}
		for _, o := range page.Objects {
			listed = append(listed, o.Key)
			if o.Size == 0 || o.ETag == "" || o.LastModified.IsZero() {
				t.Errorf("listed object %+v lacks size, ETag or time", o)
			}
		}
		if token = page.NextContinuationToken; token == "" {
			break
		}
	}
	if want := []string{"inc-1/alerts/a b+c.json", "inc-1/log$1.txt", "inc-1/modèle.json"}; !slices.Equal(listed, want) {
		t.Errorf("listed %q, want %q", listed, want)
	}
}

// TestS3Stream stores an object larger than any answer aisoar buffers
// from a file and reads it back, both streamed.
func TestS3Stream(t *testing.T) {
	srv := s3test.New(t, []string{"evidence"})
	b := s3TestBucket(t, s3TestTarget(t, srv, "evidence"), false)
	data := bytes.Repeat([]byte("0123456789abcdef"), (maxAnswerBytes+1<<20)/16)
	f, err := os.CreateTemp(t.TempDir(), "object")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := b.putObjectFrom(t.Context(), "big.bin", f, s3PutOptions{IfAbsent: true}); err != nil {
		t.Fatalf("putObjectFrom: %v", err)
	}
	if stored, _ := srv.Object("evidence", "big.bin"); !bytes.Equal(stored, data) {
		t.Errorf("stored %d bytes, want the %d sent", len(stored), len(data))
	}
	got, size, err := readTestObject(t, b, "big.bin")
	if err != nil || !bytes.Equal(got, data) || size != int64(len(data)) {
		t.Errorf("openObject read %d bytes (size %d), %v; want %d", len(got), size, err, len(data))
	}
}

func TestS3Policy(t *testing.T) {
	ctx := context.Background()
	srv := s3test.New(t, []string{"lake"})
	b := s3TestBucket(t, s3TestTarget(t, srv, "lake"), false)
	doc, err := b.policy(ctx)
	if err != nil || doc != nil {
		t.Fatalf("policy of a bucket without one = %q, %v; want nil, nil", doc, err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"Readers","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/reader"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::lake/*"}]}`
	if err := b.putPolicy(ctx, []byte(policy)); err != nil {
		t.Fatalf("putPolicy: %v", err)
	}
	if doc, err := b.policy(ctx); err != nil || string(doc) != policy {
		t.Errorf("policy = %q, %v; want what was put", doc, err)
	}
	if err := b.deletePolicy(ctx); err != nil {
		t.Fatalf("deletePolicy: %v", err)
	}
	if srv.Policy("lake") != nil {
		t.Error("the policy is still there after deletePolicy")
	}
	err = b.putPolicy(ctx, []byte(`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::other/*"}]}`))
	if !hasS3Code(err, "MalformedPolicy") {
		t.Errorf("putPolicy on another bucket's resource = %v, want MalformedPolicy", err)
	}
}

func TestS3Signing(t *testing.T) {
	ctx := context.Background()
	srv := s3test.New(t, []string{"lake"})
	tests := []struct {
		name      string
		configure func(*Target)
		code      string
		status    int
	}{
		{"wrong secret", func(tg *Target) { tg.Auth.Secret = staticSecret("not-the-secret") }, "SignatureDoesNotMatch", 403},
		{"unknown key", func(tg *Target) { tg.Auth.AccessKeyID = "AKIAUNKNOWN000000000" }, "InvalidAccessKeyId", 403},
		{"wrong region", func(tg *Target) { tg.Region = "eu-west-1" }, "AuthorizationHeaderMalformed", 400},
		{"unknown bucket", func(tg *Target) { tg.Bucket = "missing" }, "NoSuchBucket", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := s3TestTarget(t, srv, "lake")
			tt.configure(tg)
			_, _, err := s3TestBucket(t, tg, false).openObject(ctx, "a.json")
			if !hasS3Code(err, tt.code) || !IsStatus(err, tt.status) {
				t.Fatalf("openObject = %v, want %d %s", err, tt.status, tt.code)
			}
			if appErr := appError(t, activityError(err)); !appErr.NonRetryable() {
				t.Errorf("%s is retryable, want non-retryable", tt.code)
			}
		})
	}

	t.Run("no access key", func(t *testing.T) {
		tg := s3TestTarget(t, srv, "lake")
		tg.Auth = TargetAuth{}
		_, err := tg.bucket("test", false)
		if err == nil || !strings.Contains(err.Error(), "targets.lake.auth.aws") {
			t.Errorf("bucket() = %v, want an error pointing at targets.lake.auth.aws", err)
		}
	})
}

func TestS3DryRun(t *testing.T) {
	ctx := context.Background()
	srv := s3test.New(t, []string{"evidence"})
	b := s3TestBucket(t, s3TestTarget(t, srv, "evidence"), true)
	if _, err := b.putObject(ctx, "inc 1/a.json", []byte(`{"a":1}`), s3PutOptions{IfAbsent: true}); err != nil {
		t.Fatal(err)
	}
	if body, _, err := b.openObject(ctx, "inc 1/a.json"); err != nil || body == nil {
		t.Fatalf("openObject in a dry run = %v, %v; want an empty body", body, err)
	}
	if got := srv.Requests(); len(got) != 0 {
		t.Errorf("a dry run sent %d requests", len(got))
	}
	want := []PlannedRequest{
		{Method: "PUT", URL: srv.URL + "/evidence/inc%201/a.json", Body: `{"a":1}`},
		{Method: "GET", URL: srv.URL + "/evidence/inc%201/a.json"},
	}
	if got := b.plan().Planned; !slices.Equal(got, want) {
		t.Errorf("planned %+v, want %+v", got, want)
	}
}
