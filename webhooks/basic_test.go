package webhooks

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestNewBasic(t *testing.T) {
	tests := []struct {
		name, user, password string
		wantErr              string // substring; "" means success
	}{
		{name: "ok", user: "splunk", password: "pa ss:word"},
		{name: "empty user", user: "", password: "p4ss", wantErr: "user is empty"},
		{name: "colon in user", user: "a:b", password: "p4ss", wantErr: "user contains a colon"},
		{name: "control in user", user: "a\tb", password: "p4ss", wantErr: "user contains a control character"},
		{name: "empty password", user: "splunk", password: "", wantErr: "password is empty"},
		{name: "trailing newline", user: "splunk", password: "p4ss\n", wantErr: "password contains a control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBasic(tt.user, tt.password)
			if tt.wantErr == "" {
				if err != nil || b == nil {
					t.Fatalf("NewBasic: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if tt.password != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.password)) {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func TestBasicVerify(t *testing.T) {
	const user, password = "splunk", "c0rrect-h0rse:battery"
	b, err := NewBasic(user, password)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		authz   string // "" means no header
		wantMsg string // substring of the error; "" means success
	}{
		{name: "valid", authz: basicAuth(user, password)},
		{name: "scheme is case-insensitive", authz: "basic " + strings.TrimPrefix(basicAuth(user, password), "Basic ")},
		{name: "missing", wantMsg: "missing Authorization header"},
		{name: "wrong password", authz: basicAuth(user, "c0rrect-h0rse"), wantMsg: "basic credentials do not match the configured user and password"},
		{name: "wrong user", authz: basicAuth("admin", password), wantMsg: "do not match"},
		{name: "user case differs", authz: basicAuth("Splunk", password), wantMsg: "do not match"},
		{name: "empty credentials", authz: basicAuth("", ""), wantMsg: "do not match"},
		{name: "bearer", authz: "Bearer " + password, wantMsg: `Authorization header is not "Basic <base64 of user:password>"`},
		{name: "not base64", authz: "Basic " + password, wantMsg: "is not \"Basic"},
		{name: "no colon", authz: "Basic " + base64.StdEncoding.EncodeToString([]byte(user)), wantMsg: "is not \"Basic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.authz != "" {
				h.Set("Authorization", tt.authz)
			}
			err := b.Verify(alertRequest(h), nil)
			if checkVerifyError(t, err, tt.wantMsg) && strings.Contains(err.Error(), password) {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestBasicZeroValue(t *testing.T) {
	// The zero value's digests are of nothing; a request must not match them.
	h := http.Header{"Authorization": {basicAuth("", "")}}
	var zero Basic
	if err := zero.Verify(alertRequest(h), nil); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("zero value Verify = %v, want ErrUnauthorized", err)
	}
	var nilBasic *Basic
	if err := nilBasic.Verify(alertRequest(h), nil); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("nil Verify = %v, want ErrUnauthorized", err)
	}
}

func FuzzBasicVerify(f *testing.F) {
	const user, password = "splunk", "pa:ss"
	f.Add(basicAuth(user, password))
	f.Add("Basic ")
	f.Add("Basic Og==")
	f.Add("Bearer x")
	f.Add("")
	b, err := NewBasic(user, password)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, authz string) {
		r := alertRequest(http.Header{"Authorization": {authz}})
		err := b.Verify(r, nil)
		if err != nil && !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("error %v does not wrap ErrUnauthorized", err)
		}
		u, p, ok := r.BasicAuth()
		if accepted := ok && u == user && p == password; (err == nil) != accepted {
			t.Fatalf("Verify(%q) = %v, want accepted=%t", authz, err, accepted)
		}
	})
}
