package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aisoar/aisoar/review"
	"github.com/aisoar/aisoar/workflows"
)

// startedIncident is an incident an API call opened or joined.
type startedIncident struct {
	ID       string `json:"id"`
	Playbook string `json:"playbook"`
}

func newIncidentOpenCommand() *cobra.Command {
	var (
		api         apiFlags
		report      struct{ title, description, category, severity, discoveredBy string }
		asset       struct{ model, endpoint, pipeline, tenant, keyID string }
		techniques  []string
		asJSON      bool
		discoverers = strings.Join(slices.DeleteFunc(slices.Clone(workflows.DiscoveredByValues), func(v string) bool { return v == workflows.DiscoveredByDetection }), ", ")
	)
	cmd := &cobra.Command{
		Use:   "open --discovered-by WHO --title TEXT",
		Short: "Open an incident by hand: one the business, the SOC or a red team found",
		Long: `Records an incident no alert opened, such as one a business team reported.
It is triaged and answered like an alert of source "manual": the playbooks
of its class whose trigger matches run; when none does, the manual-record
playbook opens it all the same, so that every reported incident is counted
(by who discovered it, for the escape rate) and can be reviewed. You are its
requester: under a two-person rule you cannot approve its steps.`,
		Example: `  aisoar incident open --discovered-by business --title "Loan approvals jumped overnight" \
    --category data_poisoning --severity high --model credit-scorer --technique AML.T0020`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if report.title == "" || report.discoveredBy == "" {
				return fmt.Errorf("say what happened with --title and who found it with --discovered-by (%s)", discoverers)
			}
			c, err := api.client()
			if err != nil {
				return err
			}
			body := map[string]any{
				"title": report.title, "description": report.description, "category": report.category, "discovered_by": report.discoveredBy,
				"techniques": techniques,
				"asset": map[string]string{"model": asset.model, "endpoint": asset.endpoint, "pipeline": asset.pipeline,
					"tenant": asset.tenant, "key_id": asset.keyID},
			}
			if report.severity != "" {
				body["severity"] = report.severity
			}
			var resp struct {
				AlertID   string            `json:"alert_id"`
				Class     string            `json:"class"`
				Incidents []startedIncident `json:"incidents"`
			}
			if err := c.call("POST", "/v1/incidents", body, &resp); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			for _, inc := range resp.Incidents {
				fmt.Fprintf(cmd.OutOrStdout(), "opened %s (class %s, playbook %s)\n", inc.ID, resp.Class, inc.Playbook)
			}
			return nil
		},
	}
	api.register(cmd)
	f := cmd.Flags()
	f.StringVar(&report.title, "title", "", "what happened, in a line (required)")
	f.StringVar(&report.description, "description", "", "what was seen, by whom, and since when")
	f.StringVar(&report.category, "category", "", "the alert category playbooks and triage rules read, such as model_extraction or data_poisoning")
	f.StringVar(&report.severity, "severity", "", "1-5 or info, low, medium, high, critical (default medium)")
	f.StringVar(&report.discoveredBy, "discovered-by", "", "who found it: "+discoverers+" (required)")
	f.StringVar(&asset.model, "model", "", "the model concerned")
	f.StringVar(&asset.endpoint, "endpoint", "", "the serving endpoint concerned")
	f.StringVar(&asset.pipeline, "pipeline", "", "the data pipeline concerned")
	f.StringVar(&asset.tenant, "tenant", "", "the tenant concerned")
	f.StringVar(&asset.keyID, "key-id", "", "the API key concerned")
	f.StringSliceVar(&techniques, "technique", nil, "a MITRE ATLAS technique id, such as AML.T0020 (repeat or comma-separate)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newIncidentReclassifyCommand() *cobra.Command {
	var (
		api           apiFlags
		class, reason string
	)
	cmd := &cobra.Command{
		Use:   "reclassify INCIDENT --class CLASS --reason TEXT",
		Short: "Move an open incident to the other triage class: AI incident or model performance issue",
		Long: `Reclassifies an open incident triaged wrongly. The incident undoes what it
did, as resolving it does (containment under the wrong class should not
stay), and ends in state reclassified; the playbooks of the new class whose
trigger matches its alert open its successor, <playbook>/<fingerprint>,
which records where it came from. When no playbook of the class matches,
nothing changes.`,
		Example: `  aisoar incident reclassify model-extraction-containment/3f9a1c2b7d4e5f60 --class performance \
    --reason "drift after a data refresh, not extraction"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if class == "" || reason == "" {
				return fmt.Errorf("name the class with --class (%s or %s) and say why with --reason", workflows.ClassAIIncident, workflows.ClassPerformance)
			}
			c, err := api.client()
			if err != nil {
				return err
			}
			var resp struct {
				Reclassified workflows.Status  `json:"reclassified"`
				Incidents    []startedIncident `json:"incidents"`
			}
			if err := c.call("POST", "/v1/incidents/"+args[0]+"/reclassify", map[string]string{"class": class, "reason": reason}, &resp); err != nil {
				return err
			}
			ids := make([]string, len(resp.Incidents))
			for i, inc := range resp.Incidents {
				ids[i] = inc.ID
			}
			fmt.Fprintf(cmd.OutOrStdout(), "incident %s is %s as %s (%d undo step(s)); it continues as %s\n",
				args[0], resp.Reclassified.State, class, len(resp.Reclassified.Undo), strings.Join(ids, ", "))
			return nil
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&class, "class", "", "the right class: "+workflows.ClassAIIncident+" or "+workflows.ClassPerformance)
	cmd.Flags().StringVar(&reason, "reason", "", "why the incident is of that class (required)")
	return cmd
}

func newIncidentReviewCommand() *cobra.Command {
	var (
		api    apiFlags
		output string
	)
	cmd := &cobra.Command{
		Use:   "review INCIDENT",
		Short: "Write the post-incident review of an incident, in Markdown and HTML",
		Long: `Asks the server for the incident's post-incident review: its timeline,
approvals, containment and undo, its evidence and whether it still
verifies, its ATLAS techniques, its own time to detect, acknowledge and
contain, and sections for Risk/Governance to fill in. The server keeps each
review, once, beside the evidence (reviews/<incident>/<time>.md and .html);
--output also writes the two files into a directory here.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := api.client()
			if err != nil {
				return err
			}
			var resp struct {
				Review   review.Stored `json:"review"`
				Markdown string        `json:"markdown"`
				HTML     string        `json:"html"`
			}
			if err := c.call("POST", "/v1/incidents/"+args[0]+"/review", nil, &resp); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "review %s kept in %s as %s and %s\n", resp.Review.ID, resp.Review.Location, resp.Review.Markdown, resp.Review.HTML)
			if output == "" {
				return nil
			}
			if err := os.MkdirAll(output, 0o755); err != nil {
				return err
			}
			base := filepath.Join(output, strings.ReplaceAll(resp.Review.ID, "/", "_"))
			for _, f := range []struct{ path, content string }{{base + ".md", resp.Markdown}, {base + ".html", resp.HTML}} {
				if err := os.WriteFile(f.path, []byte(f.content), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(out, "wrote %s\n", f.path)
			}
			return nil
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&output, "output", "", "also write the review's .md and .html into this directory")
	return cmd
}

func newIncidentReviewsCommand() *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{
		Use:   "reviews [INCIDENT]",
		Short: "List the post-incident reviews kept, of one incident or of all",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := api.client()
			if err != nil {
				return err
			}
			path := "/v1/reviews"
			if len(args) == 1 {
				path += "?incident=" + url.QueryEscape(args[0])
			}
			var resp struct {
				Reviews []review.Stored `json:"reviews"`
			}
			if err := c.call("GET", path, nil, &resp); err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "REVIEW\tGENERATED\tMARKDOWN")
			for _, r := range resp.Reviews {
				fmt.Fprintf(w, "%s\t%s\t%s\n", r.ID, r.Generated.Local().Format(time.DateTime), r.Markdown)
			}
			return w.Flush()
		},
	}
	api.register(cmd)
	return cmd
}
