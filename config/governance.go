package config

import (
	"strings"
	"time"
)

// Governance defaults.
const (
	// DefaultReattestCron re-attests every inventory model daily at 02:00.
	DefaultReattestCron = "0 2 * * *"
	// DefaultTimeZone is the re-attestation schedule's time zone.
	DefaultTimeZone = "UTC"
	// DefaultCoverageWindow is how recent an asset's last alert or
	// detection heartbeat must be for its detection to count as active.
	DefaultCoverageWindow = 30 * 24 * time.Hour
)

// Governance configures what the governance report rests on.
type Governance struct {
	// Reattest is when every inventory model's artifact is re-attested.
	Reattest Reattest `yaml:"reattest"`
	// CoverageWindow is how recent an alert or detection heartbeat for an
	// asset must be for the coverage figure to count it; default 720h.
	CoverageWindow time.Duration `yaml:"coverage_window"`
}

// Reattest is when the re-attestation Schedule runs.
type Reattest struct {
	// Cron is a cron expression (minute hour day-of-month month
	// day-of-week), @daily, or an interval as "@every 12h"; default
	// "0 2 * * *".
	Cron string `yaml:"cron"`
	// TimeZone is the IANA zone the cron expression is read in; default UTC.
	TimeZone string `yaml:"time_zone"`
}

// ReattestCron is the Schedule's cron expression: Reattest.Cron or the default.
func (g *Governance) ReattestCron() string {
	if g.Reattest.Cron == "" {
		return DefaultReattestCron
	}
	return g.Reattest.Cron
}

// ReattestTimeZone is the zone the cron expression is read in.
func (g *Governance) ReattestTimeZone() string {
	if g.Reattest.TimeZone == "" {
		return DefaultTimeZone
	}
	return g.Reattest.TimeZone
}

// Window is the coverage window: CoverageWindow or the default.
func (g *Governance) Window() time.Duration {
	if g.CoverageWindow == 0 {
		return DefaultCoverageWindow
	}
	return g.CoverageWindow
}

func (g *Governance) validate(add func(string, ...any)) {
	r := g.Reattest
	if f := strings.Fields(r.Cron); r.Cron != "" && !strings.HasPrefix(r.Cron, "@") && (len(f) < 5 || len(f) > 7) {
		add("governance.reattest.cron %q needs 5 fields (minute hour day-of-month month day-of-week), like %q, or @daily, or @every 12h", r.Cron, DefaultReattestCron)
	}
	if _, err := time.LoadLocation(r.TimeZone); err != nil {
		add("governance.reattest.time_zone %q is not an IANA time zone (like Europe/Paris): %v", r.TimeZone, err)
	}
	if g.CoverageWindow < 0 {
		add("governance.coverage_window must be positive, like 720h")
	}
}
