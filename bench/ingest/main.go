// Command ingest load-tests the alert webhook on loopback against an
// embedded Temporal server, in two bounded runs:
//
//   - burst: N copies of one alert (a noisy rule), each its own delivery,
//     must become exactly one incident that counts N deliveries;
//   - distinct: N different alerts must each start exactly one incident.
//
// It prints accepted alerts per second and the p50/p99 time to the
// webhook's answer, and fails when anything was lost or doubled.
//
//	go run ./bench/ingest -n 10000 -c 32
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/aisoar/aisoar/bench/rig"
	"github.com/aisoar/aisoar/workflows"
)

func main() {
	n := flag.Int("n", 10_000, "alerts per run")
	c := flag.Int("c", 32, "concurrent senders")
	flag.Parse()
	if err := run(*n, *c); err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
}

func run(n, concurrency int) error {
	r, err := rig.Start(rig.Options{Steps: 1, Worker: rig.WorkerOptions()})
	if err != nil {
		return err
	}
	defer r.Close()
	fmt.Printf("n=%d alerts per run, %d concurrent senders, one embedded Temporal (SQLite in memory)\n\n", n, concurrency)
	fmt.Printf("%-10s %10s %12s %10s %10s  %s\n", "run", "elapsed", "accepted/s", "ack p50", "ack p99", "check")
	if err := burst(r, n, concurrency); err != nil {
		return err
	}
	return distinct(r, n, concurrency)
}

// send posts n alerts and returns the time each took to be answered 202.
func send(r *rig.Rig, n, concurrency int, alert func(i int) (body []byte, messageID string)) ([]time.Duration, time.Duration, []string, error) {
	acks := make([]time.Duration, n)
	ids := make([]string, n)
	begin := time.Now()
	err := rig.Parallel(n, concurrency, func(i int) error {
		body, messageID := alert(i)
		start := time.Now()
		status, id, err := r.Post(body, messageID)
		if err != nil || status != http.StatusAccepted {
			return fmt.Errorf("alert %d: status %d, %v", i, status, err)
		}
		acks[i], ids[i] = time.Since(start), id
		return nil
	})
	return acks, time.Since(begin), ids, err
}

func report(name string, acks []time.Duration, elapsed time.Duration, check string) {
	slices.Sort(acks)
	fmt.Printf("%-10s %10s %12.0f %10s %10s  %s\n", name, elapsed.Round(time.Millisecond), float64(len(acks))/elapsed.Seconds(),
		acks[len(acks)/2].Round(time.Microsecond*100), acks[min(len(acks)-1, len(acks)*99/100)].Round(time.Microsecond*100), check)
}

// burst sends n deliveries of one alert and checks they fold into one
// incident that counts them all, across continue-as-new.
func burst(r *rig.Rig, n, concurrency int) error {
	body := rig.Alert("noisy-1", "noisy-model")
	acks, elapsed, ids, err := send(r, n, concurrency, func(i int) ([]byte, string) {
		return body, fmt.Sprintf("burst-%d", i)
	})
	if err != nil {
		return err
	}
	slices.Sort(ids)
	if ids = slices.Compact(ids); len(ids) != 1 {
		return fmt.Errorf("burst: %d incidents, want 1", len(ids))
	}
	var st workflows.Status
	deadline := time.Now().Add(5 * time.Minute)
	for {
		value, err := r.Stack.Client.QueryWorkflow(context.Background(), ids[0], "", workflows.StatusQuery)
		if err == nil && value.Get(&st) == nil && st.Deliveries == n {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("burst: incident %s counts %d deliveries, want %d (err %v)", ids[0], st.Deliveries, n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	report("burst", acks, elapsed, fmt.Sprintf("1 incident, %d deliveries", st.Deliveries))
	return nil
}

// distinct sends n different alerts and checks each started one incident.
func distinct(r *rig.Rig, n, concurrency int) error {
	acks, elapsed, ids, err := send(r, n, concurrency, func(i int) ([]byte, string) {
		return rig.Alert(fmt.Sprintf("d-%d", i), fmt.Sprintf("model-%d", i)), fmt.Sprintf("distinct-%d", i)
	})
	if err != nil {
		return err
	}
	slices.Sort(ids)
	if unique := len(slices.Compact(slices.Clone(ids))); unique != n {
		return fmt.Errorf("distinct: %d incidents for %d alerts", unique, n)
	}
	query := fmt.Sprintf("%s = 'bench' AND %s STARTS_WITH 'model-'", workflows.SearchPlaybook.GetName(), workflows.SearchAsset.GetName())
	var started int64
	deadline := time.Now().Add(10 * time.Minute)
	for {
		resp, err := r.Stack.Client.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		if err == nil {
			started = resp.GetCount()
		}
		if started == int64(n) {
			break
		}
		if started > int64(n) || time.Now().After(deadline) {
			return fmt.Errorf("distinct: %d workflow runs for %d alerts (err %v)", started, n, err)
		}
		time.Sleep(time.Second)
	}
	report("distinct", acks, elapsed, fmt.Sprintf("%d incidents, each started once", started))
	return nil
}
