package s3test

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// maxSkew is how far a request's X-Amz-Date may be from the server's
// clock, as S3 allows.
const maxSkew = 15 * time.Minute

// authenticate checks a request's AWS Signature Version 4 Authorization
// header the way S3 does: the scope (access key, date, region, service),
// the payload hash in X-Amz-Content-Sha256, Content-MD5 when sent, and
// the signature itself, recomputed over the headers the client signed.
func (s *Server) authenticate(r *http.Request, body []byte) *s3Error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return &s3Error{status: http.StatusForbidden, code: "AccessDenied", message: "Access Denied"}
	}
	malformed := func(why string) *s3Error {
		return &s3Error{status: http.StatusBadRequest, code: "AuthorizationHeaderMalformed", message: "The authorization header is malformed; " + why}
	}
	fields, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return malformed("only AWS4-HMAC-SHA256 is accepted")
	}
	parts := map[string]string{}
	for field := range strings.SplitSeq(fields, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(field), "=")
		parts[k] = v
	}
	scope := strings.Split(parts["Credential"], "/")
	if len(scope) != 5 || parts["SignedHeaders"] == "" || parts["Signature"] == "" {
		return malformed("it needs Credential=<key>/<date>/<region>/s3/aws4_request, SignedHeaders and Signature")
	}
	keyID, date, region, service, terminator := scope[0], scope[1], scope[2], scope[3], scope[4]
	switch {
	case keyID != s.accessKeyID:
		return &s3Error{status: http.StatusForbidden, code: "InvalidAccessKeyId", message: "The AWS Access Key Id you provided does not exist in our records."}
	case region != s.region:
		return malformed("the region '" + region + "' is wrong; expecting '" + s.region + "'")
	case service != "s3" || terminator != "aws4_request":
		return malformed("the credential scope must end in /s3/aws4_request")
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || at.Format("20060102") != date {
		return malformed("X-Amz-Date must be set, as 20060102T150405Z, on the credential's date")
	}
	if skew := time.Since(at); skew > maxSkew || skew < -maxSkew {
		return &s3Error{status: http.StatusForbidden, code: "RequestTimeTooSkewed", message: "The difference between the request time and the current time is too large."}
	}
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	sum := sha256.Sum256(body)
	switch payloadHash {
	case "":
		return &s3Error{status: http.StatusBadRequest, code: "InvalidRequest", message: "Missing required header for this request: x-amz-content-sha256"}
	case "UNSIGNED-PAYLOAD", hex.EncodeToString(sum[:]):
	default:
		return &s3Error{status: http.StatusBadRequest, code: "XAmzContentSHA256Mismatch", message: "The provided 'x-amz-content-sha256' header does not match what was computed."}
	}
	if md := r.Header.Get("Content-Md5"); md != "" {
		sum := md5.Sum(body)
		if md != base64.StdEncoding.EncodeToString(sum[:]) {
			return &s3Error{status: http.StatusBadRequest, code: "BadDigest", message: "The Content-MD5 you specified did not match what we received."}
		}
	}
	if s.signature(r, parts["SignedHeaders"], payloadHash, region, at) != parts["Signature"] {
		return &s3Error{status: http.StatusForbidden, code: "SignatureDoesNotMatch",
			message: "The request signature we calculated does not match the signature you provided. Check your key and signing method."}
	}
	return nil
}

// signature recomputes a request's signature over the headers the client
// signed, with the server's copy of the secret key.
func (s *Server) signature(r *http.Request, signedHeaders, payloadHash, region string, at time.Time) string {
	clone, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return ""
	}
	clone.Host = r.Host
	for name := range strings.SplitSeq(signedHeaders, ";") {
		switch name {
		case "host":
		case "content-length":
			clone.ContentLength = r.ContentLength
		default:
			clone.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	creds := aws.Credentials{AccessKeyID: s.accessKeyID, SecretAccessKey: s.secret}
	err = v4.NewSigner().SignHTTP(context.Background(), creds, clone, payloadHash, "s3", region, at, func(o *v4.SignerOptions) {
		o.DisableURIPathEscaping = true
	})
	if err != nil {
		return ""
	}
	_, sig, _ := strings.Cut(clone.Header.Get("Authorization"), "Signature=")
	if !strings.Contains(clone.Header.Get("Authorization"), "SignedHeaders="+signedHeaders+",") {
		return "" // the client signed headers it did not send
	}
	return sig
}
