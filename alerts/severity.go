package alerts

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrUnknownSeverity is wrapped by every ParseSeverity error, so a decoder or
// config loader can tell a bad severity from other failures.
var ErrUnknownSeverity = errors.New("not a known severity")

// severityWant is appended to every ParseSeverity error to say what is accepted.
const severityWant = "(want 1-5 or info|low|medium|high|critical)"

// ParseSeverity maps a severity as senders write it onto the 1-5 scale: a
// whole number 1-5 (as a JSON number, Go integer or float, or numeric string)
// or a word, case-insensitive: info, informational, low, medium, moderate,
// warning, high, error, critical, crit, fatal. Vendor scales such as Sev0-Sev4
// belong to the vendor's decoder, not here.
func ParseSeverity(v any) (int64, error) {
	switch v := v.(type) {
	case string:
		return parseSeverityString(v)
	case json.Number:
		f, err := strconv.ParseFloat(v.String(), 64)
		if err != nil {
			return 0, severityRangeError(v)
		}
		return severityFloat(f, v)
	case Severity:
		return severityInRange(int64(v), v)
	case int:
		return severityInRange(int64(v), v)
	case int64:
		return severityInRange(v, v)
	case int32:
		return severityInRange(int64(v), v)
	case uint:
		return severityInRange(int64(min(v, 6)), v)
	case uint64:
		return severityInRange(int64(min(v, 6)), v)
	case float64:
		return severityFloat(v, v)
	case float32:
		return severityFloat(float64(v), v)
	case nil:
		return 0, fmt.Errorf("%w: null %s", ErrUnknownSeverity, severityWant)
	default:
		return 0, fmt.Errorf("%w: %v of type %T %s", ErrUnknownSeverity, v, v, severityWant)
	}
}

func parseSeverityString(s string) (int64, error) {
	word := strings.ToLower(strings.TrimSpace(s))
	switch word {
	case "info", "informational":
		return int64(SeverityInfo), nil
	case "low":
		return int64(SeverityLow), nil
	case "medium", "moderate", "warning":
		return int64(SeverityMedium), nil
	case "high", "error":
		return int64(SeverityHigh), nil
	case "critical", "crit", "fatal":
		return int64(SeverityCritical), nil
	}
	if isDecimal(word) {
		if f, err := strconv.ParseFloat(word, 64); err == nil {
			return severityFloat(f, s)
		}
	}
	return 0, fmt.Errorf("%w: %q %s", ErrUnknownSeverity, s, severityWant)
}

// isDecimal reports whether s looks like a plain decimal number, so that
// strconv's hex floats, underscores, "inf" and "nan" are not taken as severities.
func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789.+-eE", r) {
			return false
		}
	}
	return true
}

func severityFloat(f float64, orig any) (int64, error) {
	if f != math.Trunc(f) || f < 1 || f > 5 {
		return 0, severityRangeError(orig)
	}
	return int64(f), nil
}

func severityInRange(n int64, orig any) (int64, error) {
	if n < 1 || n > 5 {
		return 0, severityRangeError(orig)
	}
	return n, nil
}

func severityRangeError(orig any) error {
	if s, ok := orig.(string); ok {
		return fmt.Errorf("%w: %q %s", ErrUnknownSeverity, s, severityWant)
	}
	return fmt.Errorf("%w: %v %s", ErrUnknownSeverity, orig, severityWant)
}
