package metrics

import (
	"io"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestGovernanceGauges(t *testing.T) {
	m := New()
	m.SetGovernance(Governance{
		AssetVisibility: 0.5, Coverage: 0.25, EscapeRate: math.NaN(),
		Integrity: map[string]float64{ScopeOverall: 0.75, ScopeModels: 1, ScopeDataSources: 0.75},
		Computed:  time.Unix(1_772_000_000, 0),
	})
	m.LedgerWrite(OutcomeFailed)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		"aisoar_asset_visibility_ratio 0.5",
		"aisoar_coverage_ratio 0.25",
		"aisoar_escape_rate_ratio NaN",
		`aisoar_integrity_sla_ratio{scope="data_sources"} 0.75`,
		`aisoar_integrity_sla_ratio{scope="models"} 1`,
		"aisoar_governance_report_timestamp_seconds 1.772e+09",
		`aisoar_ledger_writes_total{outcome="failed"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
