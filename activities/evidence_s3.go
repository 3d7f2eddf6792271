package activities

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"

	"github.com/aisoar/aisoar/evidence"
)

// EvidenceBucket is an evidence store backend on an s3 target's bucket.
// Every object is written with If-None-Match: *, so S3 itself refuses to
// replace one; with S3 Object Lock on the bucket not even its owner can.
func EvidenceBucket(t *Target) (evidence.Backend, error) {
	if _, err := t.bucket("evidence", false); err != nil {
		return nil, err
	}
	return &evidenceBucket{t}, nil
}

type evidenceBucket struct{ t *Target }

func (e *evidenceBucket) b() *s3Bucket { return &s3Bucket{e.t.call("evidence", false)} }

// Create writes r at key unless an object has the key. The store hands
// it a file or bytes, which stream to S3; other content is read into
// memory first, as the request is signed over its hash.
func (e *evidenceBucket) Create(ctx context.Context, key string, r io.Reader) error {
	body, ok := r.(io.ReadSeeker)
	if !ok {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	_, err := e.b().putObjectFrom(ctx, key, body, s3PutOptions{IfAbsent: true})
	if IsStatus(err, http.StatusPreconditionFailed) {
		return evidence.ErrExists
	}
	return err
}

// Open streams key.
func (e *evidenceBucket) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	body, _, err := e.b().openObject(ctx, key)
	if hasS3Code(err, "NoSuchKey") {
		return nil, fmt.Errorf("%w: %s", fs.ErrNotExist, err)
	}
	return body, err
}

// List returns the keys under prefix, page by page.
func (e *evidenceBucket) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	token := ""
	for {
		page, err := e.b().listObjects(ctx, prefix, token)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Objects {
			keys = append(keys, o.Key)
		}
		if token = page.NextContinuationToken; token == "" {
			return keys, nil
		}
	}
}

// Location is the bucket's URL.
func (e *evidenceBucket) Location() string { return e.b().url("", nil).Redacted() }

// MaxObjectBytes caps the store's items at what one PutObject writes.
func (e *evidenceBucket) MaxObjectBytes() int64 { return s3MaxPutBytes }
