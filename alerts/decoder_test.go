package alerts

import (
	"errors"
	"strconv"
	"testing"
)

func TestFieldError(t *testing.T) {
	cause := strconv.ErrSyntax
	tests := []struct {
		name    string
		err     *FieldError
		want    string
		wantIs  []error
		wantNot []error
	}{
		{
			name:    "field",
			err:     &FieldError{Field: "asset.model", Reason: "want a string, got object"},
			want:    `field "asset.model": want a string, got object`,
			wantNot: []error{ErrNotObject},
		},
		{
			name:   "field with cause",
			err:    &FieldError{Field: "severity", Reason: "bad", Err: cause},
			want:   `field "severity": bad`,
			wantIs: []error{cause},
		},
		{
			name:   "body",
			err:    &FieldError{Reason: "got array"},
			want:   "body is not a JSON object: got array",
			wantIs: []error{ErrNotObject},
		},
		{
			name:   "body with cause",
			err:    &FieldError{Reason: "unexpected end of JSON input", Err: cause},
			want:   "body is not a JSON object: unexpected end of JSON input",
			wantIs: []error{ErrNotObject, cause},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			for _, target := range tt.wantIs {
				if !errors.Is(tt.err, target) {
					t.Errorf("errors.Is(%v, %v) = false, want true", tt.err, target)
				}
			}
			for _, target := range tt.wantNot {
				if errors.Is(tt.err, target) {
					t.Errorf("errors.Is(%v, %v) = true, want false", tt.err, target)
				}
			}
		})
	}
}
