package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aisoar/aisoar/atlas"
	"github.com/aisoar/aisoar/internal/diag"
	"github.com/aisoar/aisoar/playbooks"
)

func newAtlasCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "atlas",
		Short: "MITRE ATLAS: the techniques playbooks answer, and the coverage of the matrix",
		Long: `aisoar ships the MITRE ATLAS catalog (ATLAS ` + atlas.Default().Version + `): its tactics, techniques
and sub-techniques. Playbooks name the techniques they answer in atlas:, and
"aisoar playbook validate" rejects ids the catalog lacks.`,
	}
	cmd.AddCommand(newAtlasCoverageCommand(), newAtlasTechniquesCommand())
	return cmd
}

// coverageOptions are the flags of aisoar atlas coverage.
type coverageOptions struct {
	configFile, format, output, tactic string
	builtin, onlyCovered               bool
}

func newAtlasCoverageCommand() *cobra.Command {
	var o coverageOptions
	cmd := &cobra.Command{
		Use:   "coverage [PATH...]",
		Short: "Show which ATLAS techniques the playbooks answer: a table, JSON, or an HTML heat map",
		Long: `Loads the built-in playbook library, the playbook directories of --config and
each PATH (a playbook file or a directory of *.yaml), lints them as
"aisoar playbook validate" does, and maps their atlas: lists onto the ATLAS matrix.

How it counts: a playbook covers exactly the ids it names. As in ATT&CK
Navigator, a technique and its sub-techniques are separate cells, so naming
AML.T0024 does not cover AML.T0024.002 and naming AML.T0024.002 does not cover
AML.T0024. The percentage is covered techniques over all techniques;
sub-techniques are counted apart. The JSON has both counts, per tactic and overall.

Formats:
  table  every technique with its tactics and playbooks, and coverage per tactic
  json   the whole report, for dashboards and CI checks
  html   one standalone page laid out like an ATT&CK Navigator layer: a column per
         tactic, each technique shaded by how many playbooks answer it, the
         playbooks in its tooltip; no script, nothing loaded from the network

Examples:
  aisoar atlas coverage
  aisoar atlas coverage --format html --output atlas-coverage.html ./playbooks
  aisoar atlas coverage --format json --config aisoar.yaml | jq .overall
  aisoar atlas coverage --only-covered --tactic exfiltration`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return atlasCoverage(cmd, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.configFile, "config", "", "config file whose playbook directories, builtin_library setting and roles apply")
	f.StringVar(&o.format, "format", "table", "table, json or html")
	f.StringVarP(&o.output, "output", "o", "", "write to this file instead of standard output")
	f.BoolVar(&o.builtin, "builtin", true, "include the built-in playbook library")
	f.StringVar(&o.tactic, "tactic", "", "table only: list the techniques of this tactic (id or name)")
	f.BoolVar(&o.onlyCovered, "only-covered", false, "table only: list only techniques some playbook answers")
	return cmd
}

func atlasCoverage(cmd *cobra.Command, o coverageOptions, paths []string) error {
	if !slices.Contains([]string{"table", "json", "html"}, o.format) {
		return fmt.Errorf("--format must be table, json or html, not %q", o.format)
	}
	if o.format != "table" && (o.tactic != "" || o.onlyCovered) {
		return fmt.Errorf("--tactic and --only-covered narrow the table; the %s report always holds the whole matrix", o.format)
	}
	catalog := atlas.Default()
	var tactic *atlas.Tactic
	if o.tactic != "" {
		t, err := findTactic(catalog, o.tactic)
		if err != nil {
			return err
		}
		tactic = &t
	}
	lib, err := loadPlaybooks(cmd.OutOrStdout(), o.configFile, playbooks.LoadOptions{Builtin: o.builtin, Paths: paths}, true)
	if err != nil {
		return err
	}
	var refs []atlas.PlaybookRef
	for _, pb := range lib.Playbooks() {
		refs = append(refs, atlas.PlaybookRef{ID: pb.Playbook.ID, Title: pb.Playbook.Title, ATLAS: pb.Playbook.ATLAS})
	}
	report := atlas.Coverage(catalog, refs)
	report.Generated = time.Now().UTC().Truncate(time.Second)

	out := cmd.OutOrStdout()
	var file *os.File
	if o.output != "" {
		if file, err = os.Create(o.output); err != nil {
			return err
		}
		defer file.Close()
		out = file
	}
	switch o.format {
	case "json":
		err = report.WriteJSON(out)
	case "html":
		err = atlas.WriteHTML(out, catalog, &report)
	default:
		err = coverageTable(out, catalog, &report, tactic, o.onlyCovered)
	}
	if err != nil {
		return err
	}
	if file == nil {
		return nil
	}
	if err := file.Close(); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %s\n", o.output, headline(&report))
	return nil
}

// headline is the one-line summary of a coverage report.
func headline(r *atlas.Report) string {
	o := r.Overall
	return fmt.Sprintf("MITRE ATLAS %s: %s techniques answered by a playbook (%.1f%%), %s sub-techniques (%.1f%%); %d playbook(s)",
		r.ATLASVersion, o.Techniques, o.Techniques.Percent, o.Subtechniques, o.Subtechniques.Percent, len(r.Playbooks))
}

// coverageTable writes the per-tactic summary and a row per technique,
// narrowed to one tactic or to covered techniques when asked.
func coverageTable(w io.Writer, c *atlas.Catalog, r *atlas.Report, tactic *atlas.Tactic, onlyCovered bool) error {
	fmt.Fprintf(w, "%s\n\n", headline(r))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TACTIC\tID\tTECHNIQUES\tCOVERED\tSUB-TECHNIQUES")
	for _, t := range r.Tactics {
		if tactic == nil || t.ID == tactic.ID {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f%%\t%s\n", t.Name, t.ID, t.Techniques, t.Percent, t.Subtechniques)
		}
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "TECHNIQUE\tNAME\tTACTICS\tPLAYBOOKS")
	for _, t := range r.Techniques {
		if onlyCovered && !t.Covered() || tactic != nil && !slices.Contains(t.Tactics, tactic.ID) {
			continue
		}
		answered := "-"
		if t.Covered() {
			answered = strings.Join(t.Playbooks, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, t.Name, tacticNames(c, t.Tactics), answered)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, u := range r.Unknown {
		fmt.Fprintf(w, "\nnot in ATLAS %s, so not counted: %s (%s)", r.ATLASVersion, u.ID, strings.Join(u.Playbooks, ", "))
	}
	if len(r.Unknown) > 0 {
		fmt.Fprintln(w)
	}
	return nil
}

func tacticNames(c *atlas.Catalog, ids []string) string {
	names := make([]string, len(ids))
	for i, id := range ids {
		t, _ := c.Tactic(id)
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// findTactic resolves a tactic given by id or by name, in any case, with
// dashes for spaces ("initial-access").
func findTactic(c *atlas.Catalog, s string) (atlas.Tactic, error) {
	want := strings.ReplaceAll(s, "-", " ")
	var names []string
	for _, t := range c.Tactics {
		if strings.EqualFold(t.ID, s) || strings.EqualFold(t.Name, want) {
			return t, nil
		}
		names = append(names, t.Name)
	}
	return atlas.Tactic{}, fmt.Errorf("no ATLAS tactic %q%s; the tactics are %s", s, diag.DidYouMean(want, names), strings.Join(names, ", "))
}

func newAtlasTechniquesCommand() *cobra.Command {
	var format, tactic string
	cmd := &cobra.Command{
		Use:   "techniques",
		Short: "List the ATLAS tactics and techniques playbooks may name in atlas:",
		Long: `Lists the MITRE ATLAS catalog aisoar ships, tactic by tactic in matrix order:
each technique with its sub-techniques. A technique that serves several tactics
is listed under each. Details of every technique are at https://atlas.mitre.org.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := atlas.Default()
			tactics := c.Tactics
			if tactic != "" {
				t, err := findTactic(c, tactic)
				if err != nil {
					return err
				}
				tactics = []atlas.Tactic{t}
			}
			switch format {
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Version    string            `json:"version"`
					Released   string            `json:"released"`
					URL        string            `json:"url"`
					Tactics    []atlas.Tactic    `json:"tactics"`
					Techniques []atlas.Technique `json:"techniques"`
				}{c.Version, c.Released, c.URL, c.Tactics, c.Techniques})
			case "table":
			default:
				return fmt.Errorf("--format must be table or json, not %q", format)
			}
			return techniquesTable(cmd.OutOrStdout(), c, tactics)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json (the whole catalog)")
	cmd.Flags().StringVar(&tactic, "tactic", "", "list only this tactic (id or name)")
	return cmd
}

func techniquesTable(w io.Writer, c *atlas.Catalog, tactics []atlas.Tactic) error {
	var techniques, subs int
	for _, t := range c.Techniques {
		if t.IsSubtechnique() {
			subs++
		} else {
			techniques++
		}
	}
	fmt.Fprintf(w, "MITRE ATLAS %s (%s): %d tactics, %d techniques, %d sub-techniques; %s\n",
		c.Version, c.Released, len(c.Tactics), techniques, subs, c.URL)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, ta := range tactics {
		fmt.Fprintf(tw, "\n%s (%s)\n", ta.Name, ta.ID)
		for _, t := range c.InTactic(ta.ID) {
			fmt.Fprintf(tw, "  %s\t%s\n", t.ID, t.Name)
			for _, sub := range c.Subtechniques(t.ID) {
				fmt.Fprintf(tw, "  %s\t  %s\n", sub.ID, sub.Name)
			}
		}
	}
	return tw.Flush()
}
