package webhooks

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// checkTimestamp parses raw, the value of the timestamp header name, as unix
// seconds and checks that it is within tolerance of now, either way.
func checkTimestamp(name, raw string, now time.Time, tolerance time.Duration) (int64, error) {
	sec, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil {
		return 0, unauthorized(fmt.Sprintf("%s %s is not unix seconds", name, quote(raw)))
	}
	if far := int64(1 << 40); sec > now.Unix()+far || sec < now.Unix()-far {
		// Thousands of years away; time.Unix would wrap near the int64 limits.
		return 0, unauthorized(fmt.Sprintf("%s %d is not a time near now, outside the %s tolerance", name, sec, tolerance))
	}
	ts := time.Unix(sec, 0)
	if off := now.Sub(ts); off > tolerance || off < -tolerance {
		when := "in the past"
		if off < 0 {
			when, off = "in the future", -off
		}
		return 0, unauthorized(fmt.Sprintf("timestamp %s is %s %s, outside the %s tolerance (check the sender's clock, or this is a replay)",
			ts.UTC().Format(time.RFC3339), off.Truncate(time.Second), when, tolerance))
	}
	return sec, nil
}
