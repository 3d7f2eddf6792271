package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aisoar/aisoar/report"
)

func newReportCommand() *cobra.Command {
	var (
		api                  apiFlags
		since, until, format string
	)
	cmd := &cobra.Command{
		Use:   "report",
		Short: "The governance report: asset visibility, coverage, MTTA, MTTR, integrity SLA, escape rate",
		Long: `Prints the governance report over a window of time, as the server computes it from
the incidents in Temporal, the asset inventory, the playbooks' ATLAS coverage and
the governance ledger (daily re-attestation verdicts, alerts and heartbeats per
asset, data source deliveries). Each figure comes with its exact definition and
what it counted; the same report is at GET /v1/report (&format=json, markdown
or table; JSON by default).

--since and --until take a number of days (30d: midnight UTC 30 days ago, so the
last 30 whole days and today), a duration (12h), a date (2026-03-01) or an
RFC 3339 time.`,
		Example: `  aisoar report --since 30d
  aisoar report --since 2026-03-01 --until 2026-04-01 --format markdown > march.md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(report.Formats, format) {
				return fmt.Errorf("--format %q: use one of %s", format, strings.Join(report.Formats, ", "))
			}
			c, err := api.client()
			if err != nil {
				return err
			}
			q := url.Values{"since": {since}}
			if until != "" {
				q.Set("until", until)
			}
			var r report.Report
			if err := c.call("GET", "/v1/report?"+q.Encode(), nil, &r); err != nil {
				return err
			}
			return r.Write(cmd.OutOrStdout(), format)
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&since, "since", "30d", "start of the window")
	cmd.Flags().StringVar(&until, "until", "", "end of the window (default now)")
	cmd.Flags().StringVar(&format, "format", report.FormatTable, "output: "+strings.Join(report.Formats, ", "))
	return cmd
}
