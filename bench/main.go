// Command bench measures aisoar against bare Temporal on the same embedded
// server, in one run: (a) N workflows of K no-op activities started directly
// with the SDK; (b) N signed alerts posted to the webhook, each opening an
// incident whose playbook runs K no-op actions. It prints the throughput of
// each and their ratio, and the p50/p99 latency from start (or alert) to the
// first action. Times come from the workflow histories, so both sides are
// measured the same way.
//
//	go run ./bench -n 300 -k 5 -c 16
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aisoar/aisoar/bench/rig"
	"github.com/aisoar/aisoar/workflows"
)

func main() {
	n := flag.Int("n", 300, "workflows (alerts) per side")
	k := flag.Int("k", 5, "no-op actions per workflow")
	c := flag.Int("c", 16, "concurrent starters (webhook senders)")
	rounds := flag.Int("rounds", 3, "rounds; each runs both sides, alternating which goes first")
	autoResolve := flag.Duration("auto-resolve", 0, "let incidents resolve themselves this long after their actions, inside the measured window (default: resolve them after measuring)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(options{n: *n, k: *k, concurrency: *c, rounds: *rounds, autoResolve: *autoResolve}); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// result is one side's measurement.
type result struct {
	name       string
	elapsed    time.Duration
	throughput float64 // workflows whose K actions finished, per second
	p50, p99   time.Duration
}

// options are the command's flags.
type options struct {
	n, k, concurrency, rounds int
	autoResolve               time.Duration
}

func run(o options) error {
	n, k, concurrency, rounds := o.n, o.k, o.concurrency, o.rounds
	workerOpts := rig.WorkerOptions()
	r, err := rig.Start(rig.Options{Steps: k, AutoResolve: o.autoResolve, Worker: workerOpts})
	if err != nil {
		return err
	}
	defer r.Close()

	fmt.Printf("n=%d workflows, k=%d actions each, %d concurrent starters, one embedded Temporal (SQLite in memory)\n\n", n, k, concurrency)
	fmt.Printf("%-6s %-14s %12s %14s %12s %12s\n", "round", "", "elapsed", "workflows/s", "first p50", "first p99")
	var bares, ours []result
	for round := range rounds {
		sides := []func() (result, error){
			func() (result, error) { return runBare(r.Stack.Client, round, n, k, concurrency, workerOpts) },
			func() (result, error) { return runAisoar(r, round, o) },
		}
		if round%2 == 1 {
			slices.Reverse(sides)
		}
		for _, side := range sides {
			r, err := side()
			if err != nil {
				return err
			}
			fmt.Printf("%-6d %-14s %12s %14.1f %12s %12s\n", round+1, r.name, r.elapsed.Round(time.Millisecond), r.throughput, r.p50.Round(time.Millisecond/10), r.p99.Round(time.Millisecond/10))
			if r.name == bareName {
				bares = append(bares, r)
			} else {
				ours = append(ours, r)
			}
		}
	}
	throughput := func(r result) float64 { return r.throughput }
	p50 := func(r result) float64 { return float64(r.p50) }
	p99 := func(r result) float64 { return float64(r.p99) }
	fmt.Printf("\naisoar / bare, medians over %d rounds: throughput %.2f× (target ≥ 0.80×), first-action p50 %.2f×, p99 %.2f× (target ≤ 1.25×)\n",
		rounds, median(ours, throughput)/median(bares, throughput), median(ours, p50)/median(bares, p50), median(ours, p99)/median(bares, p99))
	return nil
}

const bareName = "bare Temporal"

func median(rs []result, metric func(result) float64) float64 {
	values := make([]float64, len(rs))
	for i, r := range rs {
		values[i] = metric(r)
	}
	slices.Sort(values)
	return values[len(values)/2]
}

// bareWorkflow runs k no-op activities in sequence, as the playbook does.
func bareWorkflow(ctx workflow.Context, k int) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	for range k {
		if err := workflow.ExecuteActivity(ctx, "bare_noop").Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

func noop(context.Context) error { return nil }

func runBare(c client.Client, round, n, k, concurrency int, opts sdkworker.Options) (result, error) {
	queue := fmt.Sprintf("bare-%d", round)
	w := sdkworker.New(c, queue, opts)
	w.RegisterWorkflowWithOptions(bareWorkflow, workflow.RegisterOptions{Name: "Bare"})
	w.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: "bare_noop"})
	if err := w.Start(); err != nil {
		return result{}, err
	}
	defer w.Stop()
	ids := make([]string, n)
	starts := make([]time.Time, n)
	begin := time.Now()
	err := rig.Parallel(n, concurrency, func(i int) error {
		ids[i] = fmt.Sprintf("bare-%d-%d", round, i)
		starts[i] = time.Now()
		_, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: ids[i], TaskQueue: queue}, "Bare", k)
		return err
	})
	if err != nil {
		return result{}, err
	}
	if err := waitClosed(c, ids, concurrency); err != nil {
		return result{}, err
	}
	return measure(c, bareName, ids, starts, begin, k)
}

func runAisoar(r *rig.Rig, round int, o options) (result, error) {
	c, n, k, concurrency := r.Stack.Client, o.n, o.k, o.concurrency
	ids := make([]string, n)
	starts := make([]time.Time, n)
	begin := time.Now()
	err := rig.Parallel(n, concurrency, func(i int) error {
		body := rig.Alert(fmt.Sprintf("alert-%d-%d", round, i), fmt.Sprintf("model-%d-%d", round, i))
		starts[i] = time.Now()
		status, id, err := r.Post(body, fmt.Sprintf("msg-%d-%d", round, i))
		if err != nil || status != http.StatusAccepted || id == "" {
			return fmt.Errorf("alert %d: status %d, %v", i, status, err)
		}
		ids[i] = id
		return nil
	})
	if err != nil {
		return result{}, err
	}
	if o.autoResolve > 0 {
		if err := waitClosed(c, ids, concurrency); err != nil {
			return result{}, err
		}
		return measure(c, "aisoar", ids, starts, begin, k)
	}
	// An incident stays open after its actions, until an analyst resolves
	// it. Wait until all have settled, measure, then resolve them all and
	// wait for them to close, so the next round starts on a quiet server.
	if err := waitSettled(c, round, n); err != nil {
		return result{}, err
	}
	res, err := measure(c, "aisoar", ids, starts, begin, k)
	if err != nil {
		return result{}, err
	}
	err = rig.Parallel(n, concurrency, func(i int) error {
		_, err := c.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{
			WorkflowID: ids[i], UpdateName: workflows.ResolveUpdate, Args: []any{workflows.Resolution{By: "bench"}},
			WaitForStage: client.WorkflowUpdateStageAccepted,
		})
		return err
	})
	if err != nil {
		return result{}, err
	}
	return res, waitClosed(c, ids, concurrency)
}

// waitSettled polls visibility until every incident of the round has
// done its actions (contained, or open: the bench's set actions contain
// nothing).
func waitSettled(c client.Client, round, n int) error {
	query := fmt.Sprintf("%s = '%s' AND %s IN ('%s', '%s') AND %s STARTS_WITH 'model-%d-'",
		workflows.SearchPlaybook.GetName(), "bench", workflows.SearchStatus.GetName(), workflows.StateContained, workflows.StateOpen,
		workflows.SearchAsset.GetName(), round)
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := c.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		if err != nil {
			return err
		}
		if resp.GetCount() >= int64(n) {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("round %d: incidents not settled after 5 minutes", round+1)
}

// waitClosed waits for every workflow to complete.
func waitClosed(c client.Client, ids []string, concurrency int) error {
	return rig.Parallel(len(ids), concurrency, func(i int) error {
		return c.GetWorkflow(context.Background(), ids[i], "").Get(context.Background(), nil)
	})
}

// measure reads each workflow's history: the first ActivityTaskStarted
// gives the first-action latency, the k-th ActivityTaskCompleted the end.
func measure(c client.Client, name string, ids []string, starts []time.Time, begin time.Time, k int) (result, error) {
	latencies := make([]time.Duration, len(ids))
	ends := make([]time.Time, len(ids))
	err := rig.Parallel(len(ids), 8, func(i int) error {
		iter := c.GetWorkflowHistory(context.Background(), ids[i], "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		completed := 0
		for iter.HasNext() {
			e, err := iter.Next()
			if err != nil {
				return err
			}
			switch e.GetEventType() {
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
				if latencies[i] == 0 {
					latencies[i] = e.GetEventTime().AsTime().Sub(starts[i])
				}
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
				if completed++; completed == k {
					ends[i] = e.GetEventTime().AsTime()
				}
			}
		}
		if ends[i].IsZero() {
			return fmt.Errorf("%s: %d of %d actions completed", ids[i], completed, k)
		}
		return nil
	})
	if err != nil {
		return result{}, err
	}
	elapsed := slices.MaxFunc(ends, func(a, b time.Time) int { return a.Compare(b) }).Sub(begin)
	slices.Sort(latencies)
	return result{
		name:       name,
		elapsed:    elapsed,
		throughput: float64(len(ids)) / elapsed.Seconds(),
		p50:        latencies[len(latencies)*50/100],
		p99:        latencies[min(len(latencies)-1, len(latencies)*99/100)],
	}, nil
}
