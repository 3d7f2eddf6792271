package webhooks

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestNewBearer(t *testing.T) {
	tests := []struct {
		name    string
		tokens  []string
		wantErr string // substring; "" means success
	}{
		{name: "one", tokens: []string{"t0k3n"}},
		{name: "rotation", tokens: []string{"old", "new"}},
		{name: "none", tokens: nil, wantErr: "no tokens configured"},
		{name: "empty token", tokens: []string{"ok", ""}, wantErr: "token 2 of 2 is empty"},
		{name: "trailing newline", tokens: []string{"secret\n"}, wantErr: "token 1 of 1 contains whitespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBearer(tt.tokens...)
			if tt.wantErr == "" {
				if err != nil || b == nil {
					t.Fatalf("NewBearer: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

func TestBearerVerify(t *testing.T) {
	b, err := NewBearer("old-token-1234", "new-token-5678")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		authz   []string // Authorization header values; nil means none
		wantMsg string   // substring of the error; "" means success
	}{
		{name: "first token", authz: []string{"Bearer old-token-1234"}},
		{name: "second token", authz: []string{"Bearer new-token-5678"}},
		{name: "scheme is case-insensitive", authz: []string{"bearer new-token-5678"}},
		{name: "extra spaces", authz: []string{"Bearer   new-token-5678 "}},
		{name: "missing", wantMsg: "missing Authorization header"},
		{name: "empty", authz: []string{""}, wantMsg: "missing Authorization header"},
		{name: "wrong token", authz: []string{"Bearer new-token-567"}, wantMsg: "matched none of the configured tokens"},
		{name: "token prefix of a good one", authz: []string{"Bearer new"}, wantMsg: "matched none"},
		{name: "basic scheme", authz: []string{"Basic b2xkLXRva2VuLTEyMzQ="}, wantMsg: `Authorization header is not "Bearer <token>"`},
		{name: "token without scheme", authz: []string{"new-token-5678"}, wantMsg: `is not "Bearer <token>"`},
		{name: "scheme without token", authz: []string{"Bearer"}, wantMsg: "empty bearer token"},
		{name: "scheme with blank token", authz: []string{"Bearer   "}, wantMsg: "empty bearer token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.authz {
				h.Add("Authorization", v)
			}
			err := b.Verify(alertRequest(h), []byte("{}"))
			if !checkVerifyError(t, err, tt.wantMsg) {
				return
			}
			for _, tok := range []string{"old-token-1234", "new-token-5678"} {
				if strings.Contains(err.Error(), tok) {
					t.Errorf("error %q shows a configured token", err)
				}
			}
		})
	}
}

func TestBearerZeroValue(t *testing.T) {
	h := http.Header{"Authorization": {"Bearer anything"}}
	var zero Bearer
	if err := zero.Verify(alertRequest(h), nil); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("zero value Verify = %v, want ErrUnauthorized", err)
	}
	var nilBearer *Bearer
	if err := nilBearer.Verify(alertRequest(h), nil); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("nil Verify = %v, want ErrUnauthorized", err)
	}
}

func FuzzBearerVerify(f *testing.F) {
	f.Add("Bearer good-token")
	f.Add("bearer  good-token\t")
	f.Add("Basic Zm9vOmJhcg==")
	f.Add("")
	f.Add("Bearer")
	const token = "good-token"
	b, err := NewBearer(token, "other-token")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, authz string) {
		err := b.Verify(alertRequest(http.Header{"Authorization": {authz}}), nil)
		if err != nil && !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("error %v does not wrap ErrUnauthorized", err)
		}
		scheme, rest, _ := strings.Cut(authz, " ")
		presented := strings.TrimFunc(rest, isSpace)
		accepted := strings.EqualFold(scheme, "bearer") && (presented == token || presented == "other-token")
		if (err == nil) != accepted {
			t.Fatalf("Verify(%q) = %v, want accepted=%t", authz, err, accepted)
		}
	})
}
