package server

import "context"

// UpdateGauges recomputes the governance gauges now, as the refresher does
// every gaugeRefresh, for tests that read them after sending data.
func (s *Server) UpdateGauges(ctx context.Context) { s.updateGauges(ctx) }
