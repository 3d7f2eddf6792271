package webhooks

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key}
}

// clientCert issues a client certificate with the given subject CN and DNS names.
func (ca *testCA) clientCert(t *testing.T, cn string, dnsNames ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     dnsNames,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// verifiedState is the TLS state of a request whose client presented leaf
// and the server verified it.
func verifiedState(leaf *x509.Certificate) *tls.ConnectionState {
	return &tls.ConnectionState{
		PeerCertificates: []*x509.Certificate{leaf},
		VerifiedChains:   [][]*x509.Certificate{{leaf}},
	}
}

func TestRequireClientCert(t *testing.T) {
	ca := newTestCA(t, "aisoar test CA")
	siem := ca.clientCert(t, "splunk-hec", "siem.example.com", "siem-2.example.com")
	noName := ca.clientCert(t, "")
	tests := []struct {
		name     string
		subjects []string
		state    *tls.ConnectionState
		wantMsg  string // substring of the error; "" means success
	}{
		{name: "any verified certificate", state: verifiedState(siem.Leaf)},
		{name: "common name", subjects: []string{"splunk-hec"}, state: verifiedState(siem.Leaf)},
		{name: "DNS name", subjects: []string{"elastic", "siem-2.example.com"}, state: verifiedState(siem.Leaf)},
		{name: "DNS name is case-insensitive", subjects: []string{"SIEM.Example.com."}, state: verifiedState(siem.Leaf)},
		{name: "common name is exact", subjects: []string{"Splunk-HEC"}, state: verifiedState(siem.Leaf),
			wantMsg: `client certificate (subject CN "splunk-hec", DNS names ["siem.example.com", "siem-2.example.com"]) matches none of the source's allowed subjects`},
		{name: "no wildcard matching", subjects: []string{"*.example.com"}, state: verifiedState(siem.Leaf), wantMsg: "matches none"},
		{name: "empty subject matches nothing", subjects: []string{""}, state: verifiedState(noName.Leaf),
			wantMsg: `subject CN "", DNS names []`},
		{name: "plain HTTP", wantMsg: "request did not come over TLS"},
		{name: "TLS without a certificate", state: &tls.ConnectionState{}, wantMsg: "request has no client certificate"},
		{name: "certificate not verified", state: &tls.ConnectionState{PeerCertificates: []*x509.Certificate{siem.Leaf}},
			wantMsg: "client certificate was not verified against a trusted CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := alertRequest(nil)
			r.TLS = tt.state
			checkVerifyError(t, RequireClientCert(tt.subjects...).Verify(r, nil), tt.wantMsg)
		})
	}
}

// TestRequireClientCertOverTLS checks the verifier against what a real TLS
// listener reports, with certificates made in the test.
func TestRequireClientCertOverTLS(t *testing.T) {
	trusted := newTestCA(t, "trusted CA")
	untrusted := newTestCA(t, "untrusted CA")
	allowed := trusted.clientCert(t, "splunk-hec", "siem.example.com")
	other := trusted.clientCert(t, "someone-else")
	stranger := untrusted.clientCert(t, "splunk-hec")

	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(trusted.cert)
	v := RequireClientCert("siem.example.com")

	// newServer starts a TLS server on 127.0.0.1 whose handler answers 204 or
	// 401 with the verifier's message.
	newServer := func(t *testing.T, clientAuth tls.ClientAuthType) *httptest.Server {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := v.Verify(r, nil); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		srv.TLS = &tls.Config{ClientAuth: clientAuth, ClientCAs: clientCAs, MinVersion: tls.VersionTLS12}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv
	}
	post := func(t *testing.T, srv *httptest.Server, cert *tls.Certificate) (int, string, error) {
		transport := srv.Client().Transport.(*http.Transport).Clone()
		if cert != nil {
			// Present the certificate even when the server's list of
			// acceptable CAs does not name its issuer (Certificates would not).
			transport.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				return cert, nil
			}
		}
		t.Cleanup(transport.CloseIdleConnections)
		resp, err := (&http.Client{Transport: transport, Timeout: 10 * time.Second}).Post(srv.URL+"/v1/alerts/splunk", "application/json", strings.NewReader("{}"))
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		msg, err := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(msg)), err
	}

	verifying := newServer(t, tls.VerifyClientCertIfGiven)
	tests := []struct {
		name       string
		srv        *httptest.Server
		cert       *tls.Certificate
		wantStatus int
		wantMsg    string
	}{
		{name: "allowed certificate", srv: verifying, cert: &allowed, wantStatus: http.StatusNoContent},
		{name: "certificate of another subject", srv: verifying, cert: &other, wantStatus: http.StatusUnauthorized,
			wantMsg: `subject CN "someone-else"`},
		{name: "no certificate", srv: verifying, wantStatus: http.StatusUnauthorized, wantMsg: "request has no client certificate"},
		{name: "listener that does not verify", srv: newServer(t, tls.RequireAnyClientCert), cert: &stranger,
			wantStatus: http.StatusUnauthorized, wantMsg: "client certificate was not verified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, msg, err := post(t, tt.srv, tt.cert)
			if err != nil {
				t.Fatal(err)
			}
			if status != tt.wantStatus || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("got %d %q, want %d and a message containing %q", status, msg, tt.wantStatus, tt.wantMsg)
			}
		})
	}

	t.Run("certificate of an untrusted CA fails the handshake", func(t *testing.T) {
		if _, _, err := post(t, verifying, &stranger); err == nil {
			t.Error("request with an untrusted certificate succeeded")
		}
	})
	t.Run("plain HTTP", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			err := v.Verify(r, nil)
			if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "did not come over TLS") {
				t.Errorf("Verify over plain HTTP = %v", err)
			}
		}))
		defer srv.Close()
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
}

func FuzzRequireClientCert(f *testing.F) {
	f.Add("splunk-hec", "siem.example.com", "siem.example.com")
	f.Add("", "", "")
	f.Add("a", "B.example.", "b.EXAMPLE")
	f.Add("*.example.com", "x.example.com", "*.example.com")
	f.Fuzz(func(t *testing.T, cn, dnsName, subject string) {
		leaf := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: []string{dnsName}}
		r := alertRequest(nil)
		r.TLS = verifiedState(leaf)
		err := RequireClientCert(subject).Verify(r, nil)
		if err != nil && !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("error %v does not wrap ErrUnauthorized", err)
		}
		norm := func(s string) string { return strings.TrimSuffix(s, ".") }
		want := subject != "" && (cn == subject || strings.EqualFold(norm(dnsName), norm(subject)))
		if (err == nil) != want {
			t.Fatalf("CN %q, DNS %q, subject %q: Verify = %v, want accepted=%t", cn, dnsName, subject, err, want)
		}
	})
}
