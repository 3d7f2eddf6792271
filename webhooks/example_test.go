package webhooks_test

import (
	"fmt"
	"net/http"
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
	header := http.Header{}
	v.SetHeaders(header, "msg_2fW9", time.Now(), body)

	fmt.Println(v.Verify(header, body))
	fmt.Println(v.Verify(header, []byte(`{"rule":"llm-token-spike","severity":"low"}`)))
	// Output:
	// <nil>
	// unauthorized: no signature matched (checked 1 v1 signatures; is the secret the sender's?)
}
