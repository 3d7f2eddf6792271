package config

import (
	"strings"
	"testing"
	"time"
)

func TestGovernance(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string
		cron    string
		zone    string
		window  time.Duration
	}{
		{name: "defaults", yaml: "", cron: DefaultReattestCron, zone: "UTC", window: 720 * time.Hour},
		{name: "set", yaml: "governance: {reattest: {cron: '@every 12h', time_zone: America/New_York}, coverage_window: 168h}",
			cron: "@every 12h", zone: "America/New_York", window: 168 * time.Hour},
		{name: "a cron of too few fields", yaml: "governance: {reattest: {cron: '0 2 *'}}", wantErr: "governance.reattest.cron \"0 2 *\" needs 5 fields"},
		{name: "an unknown zone", yaml: "governance: {reattest: {time_zone: Mars/Olympus}}", wantErr: "governance.reattest.time_zone \"Mars/Olympus\" is not an IANA time zone"},
		{name: "a negative window", yaml: "governance: {coverage_window: -1h}", wantErr: "governance.coverage_window must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("aisoar.yaml", []byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g := c.Governance
			if g.ReattestCron() != tt.cron || g.ReattestTimeZone() != tt.zone || g.Window() != tt.window {
				t.Errorf("cron %q, zone %q, window %s; want %q, %q, %s", g.ReattestCron(), g.ReattestTimeZone(), g.Window(), tt.cron, tt.zone, tt.window)
			}
		})
	}
}
