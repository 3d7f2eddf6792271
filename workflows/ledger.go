package workflows

import (
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"github.com/aisoar/aisoar/activities"
)

// The ledger is one long-running workflow that keeps, per UTC day, the
// facts the governance report needs and Temporal does not otherwise hold:
// which inventory assets alerted or sent a detection heartbeat, which data
// sources delivered, and each model's re-attestation verdict. Its state
// lives in the workflow's history (and, past continue-as-new, in the new
// run's input), so it survives restarts of aisoar and of Temporal.
const (
	// LedgerWorkflowName is the ledger's workflow type; LedgerWorkflowID
	// its one workflow id.
	LedgerWorkflowName = "aisoar-ledger"
	LedgerWorkflowID   = "aisoar/ledger"
	// LedgerSignal carries a LedgerDay to add; LedgerQuery answers the
	// days of a LedgerRange.
	LedgerSignal = "record"
	LedgerQuery  = "ledger"
	// LedgerRecordActivity signals the ledger from a workflow (the
	// re-attestation), starting it when it is not running.
	LedgerRecordActivity = "record_ledger"
	// LedgerRetentionDays is how many days the ledger keeps.
	LedgerRetentionDays = 400
	// ledgerHistoryLimit is the history length past which the ledger
	// continues as a new run, carrying its days.
	ledgerHistoryLimit = 5000
)

// VerdictError is the re-attestation verdict when the check could not be
// made; the others are verify_artifact's (activities.Verdict*).
const VerdictError = "error"

// verdictRank orders verdicts from best to worst; a day keeps its worst.
var verdictRank = []string{activities.VerdictVerified, VerdictError, activities.VerdictUnsigned, activities.VerdictMismatch}

// DayFormat is how the ledger names a day: its UTC date.
const DayFormat = time.DateOnly

// Day is the ledger's name of the UTC day t falls on.
func Day(t time.Time) string { return t.UTC().Format(DayFormat) }

// Ledger is the ledger's days, oldest first.
type Ledger struct {
	Days []LedgerDay `json:"days"`
}

// LedgerDay is what happened on one UTC day. Writers signal the same shape
// with what they saw; the ledger adds it to the day.
type LedgerDay struct {
	// Day is the UTC date, 2026-03-01.
	Day string `json:"day"`
	// Alerts counts the live alerts naming each inventory asset (model,
	// pipeline or key, by inventory name); Heartbeats the detection
	// heartbeats naming each.
	Alerts     map[string]int `json:"alerts,omitempty"`
	Heartbeats map[string]int `json:"heartbeats,omitempty"`
	// Deliveries counts deliveries by each data source, keyed
	// "<pipeline>/<source>" (DeliveryKey).
	Deliveries map[string]int `json:"deliveries,omitempty"`
	// Verdicts is each model's re-attestation verdict of the day: the
	// worst one recorded that day (mismatch, unsigned, error, verified).
	Verdicts map[string]Verdict `json:"verdicts,omitempty"`
}

// Verdict is the outcome of re-attesting a model's artifact.
type Verdict struct {
	Verdict string `json:"verdict"`
	Reason  string `json:"reason,omitempty"`
}

// LedgerRange selects the days From to To, both included ("" leaves a
// side open).
type LedgerRange struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// DeliveryKey names a data source of a pipeline in LedgerDay.Deliveries.
func DeliveryKey(pipeline, source string) string { return pipeline + "/" + source }

// SplitDeliveryKey returns the pipeline and source of a DeliveryKey.
func SplitDeliveryKey(key string) (pipeline, source string) {
	pipeline, source, _ = strings.Cut(key, "/")
	return pipeline, source
}

// Empty reports whether the day records nothing.
func (d *LedgerDay) Empty() bool {
	return len(d.Alerts) == 0 && len(d.Heartbeats) == 0 && len(d.Deliveries) == 0 && len(d.Verdicts) == 0
}

// Merge adds other's facts to d (other is of the same day).
func (d *LedgerDay) Merge(other LedgerDay) {
	d.Alerts = addCounts(d.Alerts, other.Alerts)
	d.Heartbeats = addCounts(d.Heartbeats, other.Heartbeats)
	d.Deliveries = addCounts(d.Deliveries, other.Deliveries)
	for model, v := range other.Verdicts {
		if d.Verdicts == nil {
			d.Verdicts = map[string]Verdict{}
		}
		if prior, ok := d.Verdicts[model]; !ok || worse(v.Verdict, prior.Verdict) {
			d.Verdicts[model] = v
		}
	}
}

// worse reports whether verdict a is worse than b; an unknown verdict is
// worst of all.
func worse(a, b string) bool {
	return rank(a) > rank(b)
}

func rank(v string) int {
	if i := slices.Index(verdictRank, v); i >= 0 {
		return i
	}
	return len(verdictRank)
}

func addCounts(into, from map[string]int) map[string]int {
	for k, n := range from {
		if into == nil {
			into = map[string]int{}
		}
		into[k] += n
	}
	return into
}

// Add records a day's facts, keeping the days in order.
func (l *Ledger) Add(d LedgerDay) {
	i, found := slices.BinarySearchFunc(l.Days, d.Day, func(e LedgerDay, day string) int { return strings.Compare(e.Day, day) })
	if !found {
		l.Days = slices.Insert(l.Days, i, LedgerDay{Day: d.Day})
	}
	l.Days[i].Merge(d)
}

// Prune drops the days more than LedgerRetentionDays before today.
func (l *Ledger) Prune(today time.Time) {
	oldest := Day(today.AddDate(0, 0, -LedgerRetentionDays))
	i, _ := slices.BinarySearchFunc(l.Days, oldest, func(e LedgerDay, day string) int { return strings.Compare(e.Day, day) })
	l.Days = slices.Delete(l.Days, 0, i)
}

// Range returns the days r selects.
func (l *Ledger) Range(r LedgerRange) Ledger {
	out := Ledger{Days: []LedgerDay{}}
	for _, d := range l.Days {
		if (r.From == "" || d.Day >= r.From) && (r.To == "" || d.Day <= r.To) {
			out.Days = append(out.Days, d)
		}
	}
	return out
}

// Get returns the day, or an empty one.
func (l *Ledger) Get(day string) LedgerDay {
	i, found := slices.BinarySearchFunc(l.Days, day, func(e LedgerDay, day string) int { return strings.Compare(e.Day, day) })
	if !found {
		return LedgerDay{Day: day}
	}
	return l.Days[i]
}

// RunLedger is the ledger workflow: it adds each signalled day, answers
// the ledger query, and continues as a new run, carrying its days, when
// its history grows long. Started with an empty Ledger.
func RunLedger(ctx workflow.Context, l Ledger) error {
	if err := workflow.SetQueryHandler(ctx, LedgerQuery, func(r LedgerRange) (Ledger, error) { return l.Range(r), nil }); err != nil {
		return err
	}
	records := workflow.GetSignalChannel(ctx, LedgerSignal)
	add := func(d LedgerDay) {
		if d.Day != "" {
			l.Add(d)
		}
	}
	for {
		var d LedgerDay
		records.Receive(ctx, &d)
		add(d)
		l.Prune(workflow.Now(ctx))
		info := workflow.GetInfo(ctx)
		if info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > ledgerHistoryLimit {
			for {
				var more LedgerDay
				if !records.ReceiveAsync(&more) {
					break
				}
				add(more)
			}
			return workflow.NewContinueAsNewError(ctx, LedgerWorkflowName, l)
		}
	}
}

// LedgerStartOptions start the ledger on the task queue when a writer's
// SignalWithStart finds it not running.
func LedgerStartOptions(taskQueue string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: LedgerWorkflowID, TaskQueue: taskQueue}
}
