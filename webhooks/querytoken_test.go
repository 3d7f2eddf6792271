package webhooks

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestNewQueryToken(t *testing.T) {
	tests := []struct {
		name    string
		param   string
		tokens  []string
		wantErr string // substring; "" means success
	}{
		{name: "one", param: "token", tokens: []string{"t0k3n"}},
		{name: "rotation", param: "token", tokens: []string{"old", "new"}},
		{name: "no param", param: "", tokens: []string{"t0k3n"}, wantErr: "no query parameter name"},
		{name: "param with =", param: "a=b", tokens: []string{"t0k3n"}, wantErr: `parameter name "a=b" cannot appear`},
		{name: "no tokens", param: "token", wantErr: "query token: no tokens configured"},
		{name: "empty token", param: "token", tokens: []string{""}, wantErr: "token 1 of 1 is empty"},
		{name: "trailing newline", param: "token", tokens: []string{"s3cret\n"}, wantErr: "token 1 of 1 contains whitespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := NewQueryToken(tt.param, tt.tokens...)
			if tt.wantErr == "" {
				if err != nil || q == nil {
					t.Fatalf("NewQueryToken: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

func TestQueryTokenVerify(t *testing.T) {
	const oldToken, newToken = "old-t0ken/+=", "new-t0ken"
	q, err := NewQueryToken("token", oldToken, newToken)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		rawQuery string
		wantMsg  string // substring of the error; "" means success
	}{
		{name: "new token", rawQuery: "token=new-t0ken"},
		{name: "old token, escaped", rawQuery: "token=" + url.QueryEscape(oldToken)},
		{name: "among other parameters", rawQuery: "dry_run=true&token=new-t0ken&x=1"},
		{name: "missing", rawQuery: "dry_run=true", wantMsg: `missing query parameter "token"`},
		{name: "no query", rawQuery: "", wantMsg: `missing query parameter "token"`},
		{name: "name case differs", rawQuery: "Token=new-t0ken", wantMsg: `missing query parameter "token"`},
		{name: "empty", rawQuery: "token=", wantMsg: `query parameter "token" is empty`},
		{name: "twice", rawQuery: "token=new-t0ken&token=other", wantMsg: `query parameter "token" appears 2 times`},
		{name: "wrong token", rawQuery: "token=new-t0ke", wantMsg: `query parameter "token" matched none of the configured tokens`},
		{name: "unescaped plus", rawQuery: "token=" + oldToken, wantMsg: "matched none"},
		{name: "bad escape", rawQuery: "token=%zznew-t0ken", wantMsg: "URL query is malformed"},
		{name: "semicolon", rawQuery: "a=1;token=new-t0ken", wantMsg: "URL query is malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/alerts/splunk", nil)
			r.URL.RawQuery = tt.rawQuery
			err := q.Verify(r, nil)
			if !checkVerifyError(t, err, tt.wantMsg) {
				return
			}
			for _, tok := range []string{oldToken, newToken, "zznew", "t0k"} {
				if strings.Contains(err.Error(), tok) {
					t.Errorf("error %q shows a token", err)
				}
			}
		})
	}
}

func TestQueryTokenZeroValue(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/v1/alerts/splunk?token=x", nil)
	var zero QueryToken
	if err := zero.Verify(r, nil); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("zero value Verify = %v, want ErrUnauthorized", err)
	}
	var nilQuery *QueryToken
	if err := nilQuery.Verify(r, nil); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("nil Verify = %v, want ErrUnauthorized", err)
	}
}

func TestRedactQuery(t *testing.T) {
	tests := []struct {
		name   string
		url    string
		params []string
		want   string
	}{
		{name: "token", url: "https://soar.example/v1/alerts/splunk?token=s3cret", params: []string{"token"},
			want: "https://soar.example/v1/alerts/splunk?token=REDACTED"},
		{name: "order and other values kept", url: "/v1/alerts/splunk?z=1&token=s3cret&a=%2F&dry_run=true", params: []string{"token"},
			want: "/v1/alerts/splunk?z=1&token=REDACTED&a=%2F&dry_run=true"},
		{name: "every occurrence", url: "/a?token=one&token=two", params: []string{"token"},
			want: "/a?token=REDACTED&token=REDACTED"},
		{name: "name case and escaping", url: "/a?TOKEN=one&%74oken=two&tok%65n=three", params: []string{"token"},
			want: "/a?TOKEN=REDACTED&%74oken=REDACTED&tok%65n=REDACTED"},
		{name: "several params", url: "/a?key=k&sig=s&x=1", params: []string{"key", "sig"},
			want: "/a?key=REDACTED&sig=REDACTED&x=1"},
		{name: "no params redacts every value", url: "/a?token=s3cret&x=1&flag", want: "/a?token=REDACTED&x=REDACTED&flag"},
		{name: "no query", url: "/v1/alerts/splunk", params: []string{"token"}, want: "/v1/alerts/splunk"},
		{name: "malformed escapes", url: "/a?token=%zz&x=%", params: []string{"token"}, want: "/a?token=REDACTED&x=%"},
		{name: "userinfo password", url: "https://user:pa55@soar.example/a?token=t", params: []string{"token"},
			want: "https://user:xxxxx@soar.example/a?token=REDACTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			before := *u
			if got := RedactQuery(u, tt.params...); got != tt.want {
				t.Errorf("RedactQuery = %q, want %q", got, tt.want)
			}
			if *u != before {
				t.Errorf("RedactQuery changed its argument to %v", u)
			}
		})
	}
	if got := RedactQuery(nil); got != "" {
		t.Errorf("RedactQuery(nil) = %q, want \"\"", got)
	}
}

func FuzzQueryTokenVerify(f *testing.F) {
	const token = "t0k/en+"
	f.Add("token=" + url.QueryEscape(token))
	f.Add("token=t0k/en+")
	f.Add("token=a&token=b")
	f.Add("%zz")
	f.Add("a=1;b=2")
	q, err := NewQueryToken("token", token)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := httptest.NewRequest(http.MethodPost, "/v1/alerts/splunk", nil)
		r.URL.RawQuery = rawQuery
		err := q.Verify(r, nil)
		if err != nil && !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("error %v does not wrap ErrUnauthorized", err)
		}
		values, perr := url.ParseQuery(rawQuery)
		accepted := perr == nil && len(values["token"]) == 1 && values["token"][0] == token
		if (err == nil) != accepted {
			t.Fatalf("Verify(%q) = %v, want accepted=%t", rawQuery, err, accepted)
		}
		// Redacting the parameter leaves no trace of the token's value.
		redacted := RedactQuery(r.URL, "token")
		if accepted && strings.Contains(redacted, url.QueryEscape(token)) {
			t.Fatalf("RedactQuery(%q) = %q shows the token", rawQuery, redacted)
		}
	})
}
