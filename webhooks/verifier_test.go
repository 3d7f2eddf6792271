package webhooks

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// alertRequest returns a webhook request to /v1/alerts/test with header, as
// the server hands it to a verifier.
func alertRequest(header http.Header) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/alerts/test", nil)
	if header != nil {
		r.Header = header
	}
	return r
}

// checkVerifyError checks a Verify result against the wanted message ("" for
// success) and reports whether there is an error to inspect further.
func checkVerifyError(t *testing.T, err error, wantMsg string) bool {
	t.Helper()
	if wantMsg == "" {
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		return false
	}
	if err == nil {
		t.Fatalf("Verify succeeded, want an error containing %q", wantMsg)
	}
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("error %v does not wrap ErrUnauthorized", err)
	}
	if !strings.Contains(err.Error(), wantMsg) {
		t.Errorf("error %q does not contain %q", err, wantMsg)
	}
	return true
}
