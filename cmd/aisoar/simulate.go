package main

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/aisoar/aisoar/workflows"
)

// simulations are the scripted attacks `aisoar simulate` replays, one
// per incident class.
//
//go:embed simulations/*.yaml
var simulations embed.FS

// simulation is a scripted attack: alerts sent one after another, each a
// delay after the one before, telling the story of one incident class.
type simulation struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Source is the alert source the alerts are posted to; default the
	// aisoar dev source.
	Source string `yaml:"source"`
	// Playbook is the library playbook the alerts are written for.
	Playbook string     `yaml:"playbook"`
	Alerts   []simAlert `yaml:"alerts"`
}

// simAlert is one alert of a simulation, in the generic decoder's shape.
type simAlert struct {
	// After is the delay since the previous alert (or the start), such as 2m.
	After string `yaml:"after"`
	// Playbook, when set, is the playbook this alert is written for
	// instead of the simulation's (a precursor of another class).
	Playbook string         `yaml:"playbook"`
	Alert    map[string]any `yaml:"alert"`

	delay time.Duration
}

func simulationNames() []string {
	files, _ := fs.Glob(simulations, "simulations/*.yaml")
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(path.Base(f), ".yaml"))
	}
	return names
}

// loadSimulation reads a shipped simulation by name, or a file.
func loadSimulation(nameOrFile string) (*simulation, error) {
	file := nameOrFile
	data, err := simulations.ReadFile("simulations/" + nameOrFile + ".yaml")
	if err != nil {
		if data, err = os.ReadFile(nameOrFile); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("no simulation %q: name one of %s, or give a file", nameOrFile, strings.Join(simulationNames(), ", "))
			}
			return nil, err
		}
	} else {
		file = "builtin:" + nameOrFile + ".yaml"
	}
	return parseSimulation(file, data)
}

func parseSimulation(file string, data []byte) (*simulation, error) {
	var sim simulation
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&sim); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if sim.Name == "" || len(sim.Alerts) == 0 {
		return nil, fmt.Errorf("%s: a simulation needs a name and at least one alert", file)
	}
	for i := range sim.Alerts {
		a := &sim.Alerts[i]
		if a.After != "" {
			d, err := time.ParseDuration(a.After)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("%s: alerts[%d].after: %q is not a duration such as 30s or 2m", file, i, a.After)
			}
			a.delay = d
		}
		if len(a.Alert) == 0 {
			return nil, fmt.Errorf("%s: alerts[%d] has no alert", file, i)
		}
	}
	return &sim, nil
}

// body is the alert as posted: with an id unique to the run and, unless
// the alert groups itself, the run's group key, so each rehearsal opens
// incidents of its own instead of joining an earlier one's.
func (a *simAlert) body(run string, n int) ([]byte, error) {
	alert := make(map[string]any, len(a.Alert)+2)
	for k, v := range a.Alert {
		alert[k] = v
	}
	if _, ok := alert["id"]; !ok {
		alert["id"] = fmt.Sprintf("tabletop-%s-%d", run, n)
	}
	if _, ok := alert["group_key"]; !ok {
		alert["group_key"] = "tabletop-" + run
	}
	return json.Marshal(alert)
}

func newSimulateCommand() *cobra.Command {
	var (
		api                           apiFlags
		configFile, source, secretArg string
		opts                          simOptions
	)
	cmd := &cobra.Command{
		Use:   "simulate [NAME|FILE]",
		Short: "Rehearse an incident: replay a scripted attack as dry-run alerts and time the first decisions",
		Long: `A tabletop exercise against a running aisoar. Without arguments, lists the
shipped scripted attacks, one per incident class. With one, posts its alerts
to /v1/alerts/{source}?dry_run=true, each after its delay (--speed 10 makes
them ten times shorter), and prints the incidents they open. Dry-run incidents
run their playbooks and ask for approvals as usual, in Slack too, but their
actions only record what they would do.

It then waits (unless --no-wait) until each incident has its first decision,
or --timeout passes, and prints the time to acknowledge of each (first alert
to first decision) and their mean: the figure to rehearse down before a real
incident.

The shipped scripts name the assets of playbooks/library/testdata/inventory.yaml; copy
one and name your own models, keys and pipelines to rehearse on your estate:

  aisoar simulate
  aisoar simulate model-extraction --speed 10
  aisoar simulate ./our-extraction.yaml --config aisoar.yaml --source splunk-test --addr https://aisoar.example`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return listSimulations(cmd.OutOrStdout())
			}
			sim, err := loadSimulation(args[0])
			if err != nil {
				return err
			}
			if opts.speed <= 0 {
				return fmt.Errorf("--speed must be above 0, not %g", opts.speed)
			}
			c, err := api.client()
			if err != nil {
				return err
			}
			sign, src, err := requestSigner(api.dataDir, configFile, cmp.Or(source, sim.Source), secretArg)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			r := &simRun{sim: sim, client: c, source: src, sign: sign, opts: opts, out: cmd.OutOrStdout(), id: randomHex(4)}
			return r.run(ctx)
		},
	}
	api.register(cmd)
	f := cmd.Flags()
	f.StringVar(&source, "source", "", "alert source name (default: the simulation's, else the --config file's only source, else the aisoar dev source)")
	f.StringVar(&configFile, "config", "", "config file that defines the source's verification and secret")
	f.StringVar(&secretArg, "secret", "", "a Standard Webhooks secret, whsec_..., when not using --config or aisoar dev")
	f.Float64Var(&opts.speed, "speed", 1, "divide the delays between alerts by this")
	f.BoolVar(&opts.noWait, "no-wait", false, "send the alerts and stop; do not wait for decisions")
	f.DurationVar(&opts.timeout, "timeout", 30*time.Minute, "how long to wait for the first decisions after the last alert")
	f.DurationVar(&opts.poll, "poll", 2*time.Second, "how often to ask the incidents for their decisions")
	return cmd
}

func listSimulations(out io.Writer) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SIMULATION\tALERTS\tPLAYBOOK\tSTORY")
	for _, name := range simulationNames() {
		sim, err := loadSimulation(name)
		if err != nil {
			return err
		}
		story, _, _ := strings.Cut(strings.TrimSpace(sim.Description), ". ")
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", sim.Name, len(sim.Alerts), sim.Playbook, strings.TrimSuffix(story, "."))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nRun one with `aisoar simulate NAME` (a file works too); see `aisoar simulate --help`.")
	return nil
}

// simOptions pace a simulation and bound the wait for decisions.
type simOptions struct {
	speed   float64
	noWait  bool
	timeout time.Duration
	poll    time.Duration
}

// simRun is one replay of a simulation.
type simRun struct {
	sim    *simulation
	client *apiClient
	source string
	sign   signer
	opts   simOptions
	out    io.Writer
	// id tells this run's alerts and incidents apart from earlier runs'.
	id string
}

// simIncident is an incident the run opened, with its status once known.
type simIncident struct {
	id, playbook string
	status       *workflows.Status
}

func (r *simRun) run(ctx context.Context) error {
	fmt.Fprintf(r.out, "Simulation %s: %d alert(s) to source %q as dry runs", r.sim.Name, len(r.sim.Alerts), r.source)
	if r.opts.speed != 1 {
		fmt.Fprintf(r.out, ", %gx speed", r.opts.speed)
	}
	fmt.Fprintf(r.out, ".\n%s\n\n", strings.TrimSpace(r.sim.Description))
	start := time.Now()
	var incidents []*simIncident
	for i := range r.sim.Alerts {
		a := &r.sim.Alerts[i]
		if err := sleep(ctx, time.Duration(float64(a.delay)/r.opts.speed)); err != nil {
			return err
		}
		receipts, err := r.post(a, i+1)
		if err != nil {
			return fmt.Errorf("alert %d of %s: %w", i+1, r.sim.Name, err)
		}
		title, _ := a.Alert["title"].(string)
		fmt.Fprintf(r.out, "  %s  severity %v  %s\n", clock(time.Since(start)), a.Alert["severity"], title)
		opened := 0
		for _, rc := range receipts {
			for _, inc := range rc.Incidents {
				opened++
				if slices.ContainsFunc(incidents, func(s *simIncident) bool { return s.id == inc.ID }) {
					fmt.Fprintf(r.out, "         joined %s\n", inc.ID)
					continue
				}
				incidents = append(incidents, &simIncident{id: inc.ID, playbook: inc.Playbook})
				fmt.Fprintf(r.out, "         opened %s\n", inc.ID)
			}
		}
		if opened == 0 {
			fmt.Fprintln(r.out, "         no playbook matched")
		}
	}
	if r.opts.noWait || len(incidents) == 0 {
		fmt.Fprintf(r.out, "\n%d incident(s) opened.\n", len(incidents))
		return nil
	}
	fmt.Fprintf(r.out, "\nWaiting up to %s for the first decision on each incident: approve or reject in Slack,\nor with `aisoar approve|reject INCIDENT STEP`. Ctrl-C stops waiting.\n\n", r.opts.timeout)
	waitErr := r.await(ctx, incidents)
	r.report(incidents)
	if errors.Is(waitErr, context.Canceled) {
		return nil
	}
	return waitErr
}

// simReceipt is what the webhook answers for one alert: the incidents it
// opened or joined.
type simReceipt struct {
	AlertID   string `json:"alert_id"`
	Incidents []struct {
		ID       string `json:"id"`
		Playbook string `json:"playbook"`
	} `json:"incidents"`
}

// post sends the n-th alert, signed as the source expects, as a dry run.
func (r *simRun) post(a *simAlert, n int) ([]simReceipt, error) {
	body, err := a.body(r.id, n)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, r.client.base+"/v1/alerts/"+url.PathEscape(r.source)+"?dry_run=true", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := r.sign(req, body); err != nil {
		return nil, err
	}
	resp, data, err := r.client.do(req)
	if err != nil {
		return nil, err
	}
	var answer struct {
		Alerts []simReceipt `json:"alerts"`
	}
	if err := json.Unmarshal(data, &answer); err != nil {
		return nil, fmt.Errorf("%s: the webhook's answer is not the JSON expected: %w", resp.Status, err)
	}
	return answer.Alerts, nil
}

// await polls the incidents until each has its first decision, has ended
// without one, or the timeout passes.
func (r *simRun) await(ctx context.Context, incidents []*simIncident) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.timeout)
	defer cancel()
	for {
		waiting := 0
		for _, inc := range incidents {
			if inc.status != nil && settled(inc.status) {
				continue
			}
			var st workflows.Status
			if err := r.client.call("GET", "/v1/incidents/"+inc.id, nil, &st); err != nil {
				return fmt.Errorf("incident %s: %w", inc.id, err)
			}
			inc.status = &st
			if !settled(&st) {
				waiting++
			}
		}
		if waiting == 0 {
			return nil
		}
		if err := sleep(ctx, r.opts.poll); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return nil
			}
			return err
		}
	}
}

// settled reports whether an incident's time to acknowledge is known: it
// has a decision, or it ended without asking for one.
func settled(st *workflows.Status) bool {
	return !st.AcknowledgedAt.IsZero() || st.State != workflows.StateRunning && st.State != workflows.StateWaiting
}

// report prints each incident's first decision and time to acknowledge,
// and their mean.
func (r *simRun) report(incidents []*simIncident) {
	w := tabwriter.NewWriter(r.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "INCIDENT\tSTATE\tFIRST DECISION\tTIME TO ACKNOWLEDGE")
	var total time.Duration
	acked := 0
	for _, inc := range incidents {
		st := inc.status
		if st == nil {
			fmt.Fprintf(w, "%s\t?\t-\t-\n", inc.id)
			continue
		}
		tta := "-"
		decision := firstDecision(st)
		if !st.AcknowledgedAt.IsZero() {
			d := st.AcknowledgedAt.Sub(st.FirstSeen)
			total += d
			acked++
			tta = d.Round(time.Second).String()
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", inc.id, st.State, decision, tta)
	}
	_ = w.Flush()
	if acked == 0 {
		fmt.Fprintf(r.out, "\nMean time to acknowledge: - (no incident had a decision)\n")
		return
	}
	mean := total / time.Duration(acked)
	fmt.Fprintf(r.out, "\nMean time to acknowledge: %s (%d of %d incident(s) acknowledged)\n", mean.Round(time.Second), acked, len(incidents))
}

// firstDecision describes the incident's earliest decision, or why there
// is none.
func firstDecision(st *workflows.Status) string {
	var first *workflows.Decision
	for _, s := range append(slices.Clone(st.Steps), st.OnFailure...) {
		if s.Approval == nil {
			continue
		}
		for i := range s.Approval.Decisions {
			d := &s.Approval.Decisions[i]
			if first == nil || d.At.Before(first.At) {
				first = d
			}
		}
	}
	switch {
	case first != nil:
		verb := "rejected"
		if first.Approve {
			verb = "approved"
		}
		return fmt.Sprintf("%s %s by %s", first.Step, verb, first.Approver)
	case st.State == workflows.StateRunning || st.State == workflows.StateWaiting:
		return "none yet"
	}
	return "none asked"
}

// clock formats the time since the start as m:ss.
func clock(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%2d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// sleep waits d, or less when ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
