package webhooks

import (
	"fmt"
	"net/http"
)

// all is the Verifier All returns.
type all []Verifier

// All returns a verifier that passes a request only if every one of
// verifiers does, such as an IP allowlist and a bearer token. They run in
// order and the first failure is returned as is; put cheap network checks
// before signature checks. With no verifiers, or a nil one, it refuses every
// request rather than pass it.
func All(verifiers ...Verifier) Verifier {
	return all(append([]Verifier(nil), verifiers...))
}

// Verify runs each verifier in turn and returns the first failure.
func (a all) Verify(r *http.Request, body []byte) error {
	if len(a) == 0 {
		return unauthorized("no verifiers configured for this source")
	}
	for i, v := range a {
		if v == nil {
			return unauthorized(fmt.Sprintf("verifier %d of %d is missing", i+1, len(a)))
		}
		if err := v.Verify(r, body); err != nil {
			return err
		}
	}
	return nil
}
