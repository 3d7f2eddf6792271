package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aisoar/aisoar/server"
	"github.com/aisoar/aisoar/workflows"
)

func newIncidentsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "incident", Aliases: []string{"incidents"}, Short: "List, inspect, open, reclassify and review incidents"}
	var (
		listAPI, showAPI apiFlags
		state            string
		asJSON           bool
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List incidents, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := listAPI.client()
			if err != nil {
				return err
			}
			var resp struct {
				Incidents []server.IncidentSummary `json:"incidents"`
			}
			path := "/v1/incidents"
			if state != "" {
				path += "?state=" + url.QueryEscape(state)
			}
			if err := c.call("GET", path, nil, &resp); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), resp.Incidents)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "INCIDENT\tSTATE\tSEVERITY\tSOURCE\tASSET\tSTARTED")
			for _, i := range resp.Incidents {
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\n", i.ID, i.State, i.Severity, i.Source, i.Asset, i.Started.Local().Format(time.DateTime))
			}
			return w.Flush()
		},
	}
	listAPI.register(list)
	list.Flags().StringVar(&state, "state", "", "only incidents in this state (running, waiting-approval, contained, failed, resolved, reclassified)")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	show := &cobra.Command{
		Use:   "show INCIDENT",
		Short: "Show an incident's steps, approvals and outputs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := showAPI.client()
			if err != nil {
				return err
			}
			var st workflows.Status
			if err := c.call("GET", "/v1/incidents/"+args[0], nil, &st); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), &st)
			}
			return printStatus(cmd.OutOrStdout(), &st)
		},
	}
	showAPI.register(show)
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list, show, newIncidentOpenCommand(), newIncidentReclassifyCommand(), newIncidentReviewCommand(), newIncidentReviewsCommand())
	return cmd
}

// printStatus renders an incident for a terminal.
func printStatus(out io.Writer, st *workflows.Status) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	id := st.ID
	if st.DryRun {
		id += "   DRY RUN: its actions recorded the requests they would make, and made none"
	}
	fmt.Fprintf(w, "Incident:\t%s\n", id)
	fmt.Fprintf(w, "Playbook:\t%s v%d (sha256 %.12s)\n", st.Playbook, st.Version, st.PlaybookHash)
	fmt.Fprintf(w, "State:\t%s\n", st.State)
	if origin := originText(st); origin != "" {
		fmt.Fprintf(w, "Origin:\t%s\n", origin)
	}
	about := []string{fmt.Sprintf("severity %d", st.Alert.Severity)}
	for _, part := range []string{st.Alert.Source, strings.Join(st.Alert.Techniques, " ")} {
		if part != "" {
			about = append(about, part)
		}
	}
	fmt.Fprintf(w, "Alert:\t%s (%s)\n", st.Alert.Title, strings.Join(about, ", "))
	fmt.Fprintf(w, "Alerts:\t%d (%d redelivered), first %s, last %s\n", st.AlertCount, st.Redeliveries,
		st.FirstSeen.Local().Format(time.DateTime), st.LastSeen.Local().Format(time.DateTime))
	if st.Failure != nil {
		fmt.Fprintf(w, "Failed at:\t%s: %s\n", st.Failure.Step, st.Failure.Error)
	}
	if r := st.Resolution; r != nil {
		resolved := "by " + r.By
		if !r.At.IsZero() {
			resolved += " at " + r.At.Local().Format(time.DateTime)
		}
		if r.Reason != "" {
			resolved += " (" + r.Reason + ")"
		}
		fmt.Fprintf(w, "Resolved:\t%s\n", resolved)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "STEP\tACTION\tSTATE\tDETAIL")
	for _, group := range [][]*workflows.StepStatus{st.Steps, st.OnFailure, st.Undo} {
		for _, s := range group {
			id := s.ID
			if s.Group != "" {
				id = "  " + id
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", id, s.Action, s.State, stepDetail(s))
			// Under the DETAIL column, so the table's columns stay aligned.
			for _, line := range stepLines(s) {
				fmt.Fprintf(w, "\t\t\t  %s\n", line)
			}
		}
	}
	return w.Flush()
}

func stepDetail(s *workflows.StepStatus) string {
	switch {
	case s.Error != "":
		return s.Error
	case s.Approval != nil && s.Approval.Outcome == workflows.OutcomeWaiting:
		return fmt.Sprintf("needs %s by %s: %s", s.Approval.Role, s.Approval.Deadline.Local().Format(time.TimeOnly), s.Approval.Message)
	case s.Approval != nil && len(s.Approval.Decisions) > 0:
		last := s.Approval.Decisions[len(s.Approval.Decisions)-1]
		return fmt.Sprintf("%s by %s", s.Approval.Outcome, last.Approver)
	case s.Reason != "":
		return s.Reason
	}
	return ""
}

// originText says how an incident came to be: its triage class, who
// discovered and opened it, and the incidents it replaces or was replaced by.
func originText(st *workflows.Status) string {
	o := st.Origin
	var parts []string
	add := func(format, value string) {
		if value != "" {
			parts = append(parts, fmt.Sprintf(format, value))
		}
	}
	add("class %s", o.Class)
	add("discovered by %s", o.DiscoveredBy)
	add("opened by %s", o.OpenedBy)
	add("reclassified from %s", o.ReclassifiedFrom)
	add("reclassified to %s", st.ReclassifiedTo)
	return strings.Join(parts, ", ")
}

// stepLines are the lines shown under a step: each approval decision
// (who, when, through what, why) and, in a dry run, each request the
// action recorded instead of making it.
func stepLines(s *workflows.StepStatus) []string {
	var lines []string
	if s.Approval != nil {
		for _, d := range s.Approval.Decisions {
			verb := "rejected"
			if d.Approve {
				verb = "approved"
			}
			line := verb + " by " + d.Approver
			if !d.At.IsZero() {
				line += " at " + d.At.Local().Format(time.DateTime)
			}
			if d.Via != "" {
				line += " via " + d.Via
			}
			if d.Reason != "" {
				line += ": " + d.Reason
			}
			lines = append(lines, line)
		}
	}
	planned, _ := s.Output["planned"].([]any)
	for _, p := range planned {
		req, _ := p.(map[string]any)
		line := fmt.Sprintf("planned %v %v", req["method"], req["url"])
		if body, ok := req["body"]; ok && body != nil {
			line += " " + compactBody(body, maxPlannedBody)
		}
		lines = append(lines, line)
	}
	return lines
}

// maxPlannedBody bounds the body of a planned request shown under its step.
const maxPlannedBody = 100

// compactBody is a planned request's body on one line, cut to max runes.
func compactBody(body any, max int) string {
	text, ok := body.(string)
	if !ok {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Sprint(body)
		}
		text = string(data)
	}
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > max {
		text = string(r[:max-1]) + "…"
	}
	return text
}

// newDecisionCommand builds `aisoar approve` or `aisoar reject`.
func newDecisionCommand(approve bool) *cobra.Command {
	var (
		api    apiFlags
		reason string
	)
	verb := "reject"
	if approve {
		verb = "approve"
	}
	cmd := &cobra.Command{
		Use:   verb + " INCIDENT STEP",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " a step that waits for approval",
		Long: `Sends your decision on a waiting step. You act as the user of your API token;
the incident refuses (and records nothing) when you are not in the step's
approver role, already decided, or, under a two-person rule, asked for the incident.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !approve && reason == "" {
				return fmt.Errorf("say why with --reason")
			}
			c, err := api.client()
			if err != nil {
				return err
			}
			var result workflows.DecisionResult
			body := map[string]any{"approve": approve, "reason": reason, "via": "cli"}
			if err := c.call("POST", "/v1/incidents/"+args[0]+"/steps/"+url.PathEscape(args[1])+"/decision", body, &result); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "step %s: %s (%d of %d approvals)\n", result.Step, result.Outcome, result.Approvals, result.Needed)
			return nil
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why (required to reject)")
	return cmd
}

func newResolveCommand() *cobra.Command {
	var (
		api    apiFlags
		reason string
	)
	cmd := &cobra.Command{
		Use:   "resolve INCIDENT",
		Short: "Resolve an incident: run its undo steps in reverse order and close it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := api.client()
			if err != nil {
				return err
			}
			if err := c.call("POST", "/v1/incidents/"+args[0]+"/resolve", map[string]string{"reason": reason}, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "incident %s is resolving; its undo steps run now\n", args[0])
			return nil
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why the incident is closed")
	return cmd
}

func newSourcesCommand() *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{
		Use:   "sources",
		Short: "List the alert sources with their verification, payload format and last alert",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := api.client()
			if err != nil {
				return err
			}
			var resp struct {
				Sources []server.SourceSummary `json:"sources"`
			}
			if err := c.call("GET", "/v1/sources", nil, &resp); err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "SOURCE\tVERIFY\tFORMAT\tLAST ALERT")
			for _, s := range resp.Sources {
				last := "never"
				if !s.LastSeen.IsZero() {
					last = s.LastSeen.Local().Format(time.DateTime)
				}
				if s.DryRun {
					last += " (dry run)"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.Name, s.Verify, s.Format, last)
			}
			return w.Flush()
		},
	}
	api.register(cmd)
	return cmd
}
