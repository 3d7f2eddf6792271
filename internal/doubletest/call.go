package doubletest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Call sends a request with header to url, as a double's own tests do,
// and returns the status and the answer decoded as a JSON object (nil
// when it is not one). The test fails when the request cannot be sent.
func Call(t testing.TB, method, url string, header http.Header, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, values := range header {
		for _, v := range values {
			req.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}
