package alerts

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseSeverity(t *testing.T) {
	tests := []struct {
		in   any
		want int64 // 0 means an error is wanted
	}{
		{in: json.Number("1"), want: 1},
		{in: json.Number("5"), want: 5},
		{in: json.Number("4.0"), want: 4},
		{in: float64(3), want: 3},
		{in: float32(2), want: 2},
		{in: 4, want: 4},
		{in: int64(5), want: 5},
		{in: SeverityHigh, want: 4},
		{in: uint64(1), want: 1},
		{in: "3", want: 3},
		{in: " 2 ", want: 2},
		{in: "5.0", want: 5},
		{in: "info", want: 1},
		{in: "Informational", want: 1},
		{in: "low", want: 2},
		{in: "MEDIUM", want: 3},
		{in: "moderate", want: 3},
		{in: "Warning", want: 3},
		{in: "high", want: 4},
		{in: "error", want: 4},
		{in: "Critical", want: 5},
		{in: "crit", want: 5},
		{in: "fatal", want: 5},

		{in: json.Number("0")},
		{in: json.Number("6")},
		{in: json.Number("2.5")},
		{in: json.Number("1e400")},
		{in: float64(-1)},
		{in: 0},
		{in: uint64(1 << 63)},
		{in: "0"},
		{in: "3.5"},
		{in: "nan"},
		{in: "inf"},
		{in: "0x3"},
		{in: "3_0"},
		{in: ""},
		{in: "urgent"},
		{in: "sev1"},
		{in: "warn"},
		{in: true},
		{in: nil},
		{in: []any{"high"}},
	}
	for _, tt := range tests {
		got, err := ParseSeverity(tt.in)
		if tt.want == 0 {
			if err == nil {
				t.Errorf("ParseSeverity(%#v) = %d, want an error", tt.in, got)
			} else if !errors.Is(err, ErrUnknownSeverity) {
				t.Errorf("ParseSeverity(%#v) error %v does not wrap ErrUnknownSeverity", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSeverity(%#v) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseSeverityMessage(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{in: "urgent", want: `not a known severity: "urgent" (want 1-5 or info|low|medium|high|critical)`},
		{in: json.Number("9"), want: `not a known severity: 9 (want 1-5 or info|low|medium|high|critical)`},
		{in: "0", want: `not a known severity: "0" (want 1-5 or info|low|medium|high|critical)`},
	}
	for _, tt := range tests {
		_, err := ParseSeverity(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseSeverity(%#v) error:\ngot  %v\nwant %s", tt.in, err, tt.want)
		}
	}
}
