package webhooks_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/aisoar/aisoar/webhooks"
)

// A sender signs a request with SetHeaders and the receiver checks it with
// Verify before it parses the body.
func ExampleStandardWebhooks() {
	v, err := webhooks.NewStandardWebhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		panic(err)
	}
	body := []byte(`{"rule":"llm-token-spike","severity":"high"}`)
	req := httptest.NewRequest(http.MethodPost, "/v1/alerts/grafana", bytes.NewReader(body))
	v.SetHeaders(req.Header, "msg_2fW9", time.Now(), body)

	fmt.Println(v.Verify(req, body))
	fmt.Println(v.Verify(req, []byte(`{"rule":"llm-token-spike","severity":"low"}`)))
	// Output:
	// <nil>
	// unauthorized: no signature matched (checked 1 v1 signatures; is the secret the sender's?)
}

// A source can demand several things at once: here a request must come from
// the SIEM's network and carry its token.
func ExampleAll() {
	allow, err := webhooks.NewIPAllowlist([]string{"203.0.113.0/24"}, nil)
	if err != nil {
		panic(err)
	}
	bearer, err := webhooks.NewBearer("t0k3n-from-the-vault")
	if err != nil {
		panic(err)
	}
	v := webhooks.All(allow, bearer)

	req := httptest.NewRequest(http.MethodPost, "/v1/alerts/splunk", nil)
	req.Header.Set("Authorization", "Bearer t0k3n-from-the-vault")
	req.RemoteAddr = "203.0.113.7:50412"
	fmt.Println(v.Verify(req, nil))
	req.RemoteAddr = "198.51.100.7:50412"
	fmt.Println(v.Verify(req, nil))
	// Output:
	// <nil>
	// unauthorized: client address 198.51.100.7 is not in the source's allowlist
}
