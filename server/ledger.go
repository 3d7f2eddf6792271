package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/metrics"
	"github.com/aisoar/aisoar/workflows"
)

// ledgerFlushInterval is how often what live alerts tell the governance
// ledger is written to it. Alerts are batched so that the webhook's answer
// never waits on, or fails with, the ledger, and so a burst of alerts is
// one signal rather than one each; the cost is that a server killed
// between flushes loses that much of the ledger's alert counts (never an
// alert: the incidents have them).
const ledgerFlushInterval = 5 * time.Second

// ledgerFinalFlush bounds the last write when the server shuts down.
const ledgerFinalFlush = 5 * time.Second

// ledgerBatch holds what live alerts told the ledger since the last flush,
// by day.
type ledgerBatch struct {
	mu      sync.Mutex
	pending map[string]*workflows.LedgerDay
}

func (b *ledgerBatch) add(d workflows.LedgerDay) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		b.pending = map[string]*workflows.LedgerDay{}
	}
	if day, ok := b.pending[d.Day]; ok {
		day.Merge(d)
		return
	}
	b.pending[d.Day] = &d
}

// take empties the batch and returns its days, oldest first.
func (b *ledgerBatch) take() []workflows.LedgerDay {
	b.mu.Lock()
	defer b.mu.Unlock()
	days := make([]workflows.LedgerDay, 0, len(b.pending))
	for _, day := range slices.Sorted(maps.Keys(b.pending)) {
		days = append(days, *b.pending[day])
	}
	b.pending = nil
	return days
}

// recordAlert notes a live alert Temporal accepted (or that matched no
// playbook): the inventory assets it names (model, pipeline, key) alerted,
// and, when it names a pipeline, each of that pipeline's data sources
// delivered (the pipeline was running, so its sources fed it).
func (s *Server) recordAlert(a *alerts.Alert) {
	m := s.assets.Match(&a.Asset)
	d := workflows.LedgerDay{Day: workflows.Day(a.Received), Alerts: map[string]int{}, Deliveries: map[string]int{}}
	for _, name := range []string{m.Model.Name, m.Pipeline.Name, m.Key.Name} {
		if name != "" {
			d.Alerts[name]++
		}
	}
	for _, src := range m.Pipeline.Sources {
		d.Deliveries[workflows.DeliveryKey(m.Pipeline.Name, src.Name)]++
	}
	if !d.Empty() {
		s.ledger.add(d)
	}
}

// FlushLedger writes what live alerts told the ledger since the last flush
// now; the server does it every few seconds and when it shuts down. What
// cannot be written is kept for the next flush.
func (s *Server) FlushLedger(ctx context.Context) error {
	var errs []error
	for _, d := range s.ledger.take() {
		if err := s.signalLedger(ctx, d); err != nil {
			s.metrics.LedgerWrite(metrics.OutcomeFailed)
			s.ledger.add(d)
			errs = append(errs, err)
			continue
		}
		s.metrics.LedgerWrite(metrics.OutcomeWritten)
	}
	return errors.Join(errs...)
}

// signalLedger adds a day's facts to the ledger, starting it when it is
// not running.
func (s *Server) signalLedger(ctx context.Context, d workflows.LedgerDay) error {
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	_, err := s.temporal.SignalWithStartWorkflow(ctx, workflows.LedgerWorkflowID, workflows.LedgerSignal, d,
		workflows.LedgerStartOptions(s.cfg.Temporal.TaskQueue), workflows.LedgerWorkflowName, workflows.Ledger{})
	if err != nil {
		return fmt.Errorf("writing day %s to the governance ledger: %w", d.Day, err)
	}
	return nil
}

// flushLedgerEvery flushes the batch until ctx is done, then once more.
func (s *Server) flushLedgerEvery(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if err := s.FlushLedger(ctx); err != nil {
				s.logger.Warn("the governance ledger was not written; retrying at the next flush", "error", err)
			}
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.Background(), ledgerFinalFlush)
			defer cancel()
			if err := s.FlushLedger(final); err != nil {
				s.logger.Warn("the governance ledger lost the last alerts' counts at shutdown", "error", err)
			}
			return
		}
	}
}

// readLedger queries the ledger for the days of r; a ledger that has not
// started yet is empty.
func (s *Server) readLedger(ctx context.Context, r workflows.LedgerRange) (workflows.Ledger, error) {
	var l workflows.Ledger
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	value, err := s.temporal.QueryWorkflow(ctx, workflows.LedgerWorkflowID, "", workflows.LedgerQuery, r)
	if isNotFound(err) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("reading the governance ledger: %w", err)
	}
	if err := value.Get(&l); err != nil {
		return l, fmt.Errorf("decoding the governance ledger: %w", err)
	}
	return l, nil
}

func isNotFound(err error) bool {
	var notFound *serviceerror.NotFound
	return errors.As(err, &notFound)
}
