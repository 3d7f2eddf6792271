package webhooks

import (
	"fmt"
	"net/http"
	"strings"
)

// clientCert is the Verifier RequireClientCert returns.
type clientCert struct {
	subjects []string
}

// RequireClientCert returns a verifier that admits requests made over TLS
// with a client certificate the server verified, and, if allowedSubjects are
// given, whose leaf certificate has one of them as its subject common name
// (compared exactly) or as a DNS name (compared case-insensitively). The
// listener's tls.Config decides which CAs are trusted and must request
// certificates (ClientAuth VerifyClientCertIfGiven or
// RequireAndVerifyClientCert); this checks the outcome per source.
func RequireClientCert(allowedSubjects ...string) Verifier {
	return clientCert{subjects: append([]string(nil), allowedSubjects...)}
}

// Verify checks r.TLS. The body is not used.
func (c clientCert) Verify(r *http.Request, _ []byte) error {
	switch {
	case r.TLS == nil:
		return unauthorized("request did not come over TLS, so it has no client certificate")
	case len(r.TLS.PeerCertificates) == 0:
		return unauthorized("request has no client certificate (does the sender present one, and does the listener's tls.Config ask for it?)")
	case len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0:
		return unauthorized("client certificate was not verified against a trusted CA (the listener's ClientAuth must be VerifyClientCertIfGiven or RequireAndVerifyClientCert)")
	}
	if len(c.subjects) == 0 {
		return nil
	}
	leaf := r.TLS.VerifiedChains[0][0]
	for _, want := range c.subjects {
		if want == "" {
			continue // would match a certificate without a name
		}
		if leaf.Subject.CommonName == want {
			return nil
		}
		for _, name := range leaf.DNSNames {
			if strings.EqualFold(strings.TrimSuffix(name, "."), strings.TrimSuffix(want, ".")) {
				return nil
			}
		}
	}
	return unauthorized(fmt.Sprintf("client certificate (subject CN %s, DNS names %s) matches none of the source's allowed subjects",
		quote(leaf.Subject.CommonName), quoteList(leaf.DNSNames)))
}
