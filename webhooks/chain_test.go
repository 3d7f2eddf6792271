package webhooks

import (
	"errors"
	"net/http"
	"testing"
)

// verifierFunc adapts a function to Verifier, for tests.
type verifierFunc func(*http.Request, []byte) error

func (f verifierFunc) Verify(r *http.Request, body []byte) error { return f(r, body) }

// recordingVerifier returns a verifier that appends name to calls and
// returns err.
func recordingVerifier(calls *[]string, name string, err error) Verifier {
	return verifierFunc(func(*http.Request, []byte) error {
		*calls = append(*calls, name)
		return err
	})
}

func TestAll(t *testing.T) {
	errIP := unauthorized("client address 192.0.2.1 is not in the source's allowlist")
	errToken := unauthorized("bearer token matched none of the configured tokens")
	errJWKS := errors.New("jwt: no signing keys: fetching the JWKS failed")
	tests := []struct {
		name      string
		results   []error // one verifier per entry, returning it
		wantErr   error   // nil means success
		wantCalls []string
	}{
		{name: "all pass", results: []error{nil, nil}, wantCalls: []string{"v1", "v2"}},
		{name: "one passes", results: []error{nil}, wantCalls: []string{"v1"}},
		{name: "first fails, second not run", results: []error{errIP, nil}, wantErr: errIP, wantCalls: []string{"v1"}},
		{name: "second fails", results: []error{nil, errToken}, wantErr: errToken, wantCalls: []string{"v1", "v2"}},
		{name: "both fail, first reported", results: []error{errIP, errToken}, wantErr: errIP, wantCalls: []string{"v1"}},
		{name: "non-401 failure passed through", results: []error{nil, errJWKS}, wantErr: errJWKS, wantCalls: []string{"v1", "v2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []string
			var vs []Verifier
			for i, res := range tt.results {
				vs = append(vs, recordingVerifier(&calls, "v"+string(rune('1'+i)), res))
			}
			err := All(vs...).Verify(alertRequest(nil), []byte("{}"))
			if err != tt.wantErr {
				t.Errorf("Verify = %v, want %v", err, tt.wantErr)
			}
			if len(calls) != len(tt.wantCalls) {
				t.Fatalf("calls = %v, want %v", calls, tt.wantCalls)
			}
			for i := range calls {
				if calls[i] != tt.wantCalls[i] {
					t.Errorf("calls = %v, want %v", calls, tt.wantCalls)
				}
			}
		})
	}
}

func TestAllFailsClosed(t *testing.T) {
	pass := verifierFunc(func(*http.Request, []byte) error { return nil })
	tests := []struct {
		name    string
		v       Verifier
		wantMsg string
	}{
		{name: "no verifiers", v: All(), wantMsg: "no verifiers configured for this source"},
		{name: "nil verifier", v: All(pass, nil), wantMsg: "verifier 2 of 2 is missing"},
		{name: "nil pointer verifier", v: All((*Bearer)(nil)), wantMsg: "bearer token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := alertRequest(http.Header{"Authorization": {"Bearer x"}})
			checkVerifyError(t, tt.v.Verify(r, nil), tt.wantMsg)
		})
	}
}

func TestAllCopiesItsArguments(t *testing.T) {
	pass := verifierFunc(func(*http.Request, []byte) error { return nil })
	vs := []Verifier{pass}
	v := All(vs...)
	vs[0] = nil
	if err := v.Verify(alertRequest(nil), nil); err != nil {
		t.Errorf("Verify after the caller changed its slice: %v", err)
	}
}

func FuzzAll(f *testing.F) {
	f.Add(uint8(0), uint8(0))
	f.Add(uint8(3), uint8(0b101))
	f.Add(uint8(8), uint8(0xff))
	f.Fuzz(func(t *testing.T, n, failing uint8) {
		n %= 9
		var calls []string
		vs := make([]Verifier, n)
		firstFail := -1
		for i := range vs {
			var err error
			if failing&(1<<i) != 0 {
				err = unauthorized("verifier " + string(rune('a'+i)))
				if firstFail < 0 {
					firstFail = i
				}
			}
			vs[i] = recordingVerifier(&calls, string(rune('a'+i)), err)
		}
		err := All(vs...).Verify(alertRequest(nil), nil)
		switch {
		case n == 0:
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("All() passed a request: %v", err)
			}
		case firstFail < 0:
			if err != nil || len(calls) != int(n) {
				t.Fatalf("all %d pass: err %v, calls %v", n, err, calls)
			}
		default:
			want := "unauthorized: verifier " + string(rune('a'+firstFail))
			if err == nil || err.Error() != want || len(calls) != firstFail+1 {
				t.Fatalf("first failure %d: err %v, calls %v", firstFail, err, calls)
			}
		}
	})
}
