package alerts

import (
	"errors"
	"fmt"
)

// Decoder turns one webhook body into normalized alerts (a batch payload may
// hold several). It fails with a *FieldError, which the server answers with 400.
//
// Every decoder sets Raw to the exact body, Source to its configured source
// name and Status to "firing" when the payload has none. It leaves Time zero
// when the payload has none, so the server can fill in the receive time, and
// Received always zero, since only the server knows it. A missing ID is
// derived from the body, so a redelivered body keeps its id.
type Decoder interface {
	Decode(body []byte) ([]Alert, error)
}

// ErrNotObject is wrapped by the *FieldError for a body that is not a JSON
// object at all (invalid JSON, an array, a bare string), so callers can tell
// a wrong content type from a bad field with errors.Is.
var ErrNotObject = errors.New("body is not a JSON object")

// FieldError reports a payload field that could not be decoded; the HTTP
// server answers 400 and names Field. An empty Field means the body as a whole.
type FieldError struct {
	// Field is the dotted path as mapped, such as "severity" or "asset.model".
	Field string
	// Reason says what is wrong with the value and what was wanted.
	Reason string
	// Err is the underlying cause, if any (such as ErrUnknownSeverity).
	Err error
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return ErrNotObject.Error() + ": " + e.Reason
	}
	return fmt.Sprintf("field %q: %s", e.Field, e.Reason)
}

// Unwrap returns ErrNotObject for a body-level error, and the cause if any.
func (e *FieldError) Unwrap() []error {
	var errs []error
	if e.Field == "" {
		errs = append(errs, ErrNotObject)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// fieldError makes a *FieldError whose Reason is err's message.
func fieldError(field string, err error) *FieldError {
	return &FieldError{Field: field, Reason: err.Error(), Err: err}
}
