package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/atlas"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/playbooks"
	"github.com/aisoar/aisoar/playbooktest"
)

func newPlaybookCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "playbook", Short: "Work with playbook files"}
	var configFile string
	validate := &cobra.Command{
		Use:   "validate PATH...",
		Short: "Lint playbooks: report every problem as file:line:col, exit 1 if any",
		Long: `Loads each playbook file (or every *.yaml in each directory), checks its
structure, its actions and their parameters, its step references, its MITRE
ATLAS technique ids (aisoar atlas techniques), and compiles every CEL expression. All problems are reported at once, as file:line:col: message.
With --config, approval roles are checked against the roles the config defines.
Run it in CI beside your playbooks.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := loadPlaybooks(cmd.OutOrStdout(), configFile, playbooks.LoadOptions{Paths: args}, false)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d playbook(s) OK\n", len(lib.Playbooks()))
			return nil
		},
	}
	validate.Flags().StringVar(&configFile, "config", "", "config file whose approver roles playbooks may use")
	cmd.AddCommand(validate, newPlaybookTestCommand())
	return cmd
}

// loadPlaybooks loads and lints playbooks with the checks the server
// applies: the registered actions, the MITRE ATLAS catalog and, given a
// config file, its approver roles. With configSources the config also adds
// its playbook directories and may leave out the built-in library. Lint
// problems are printed to out as file:line:col lines; the error counts them.
func loadPlaybooks(out io.Writer, configFile string, load playbooks.LoadOptions, configSources bool) (*playbooks.Library, error) {
	opts := playbooks.CompilerOptions{Catalog: activities.Catalog(), ATLAS: atlas.Default().Names()}
	if configFile != "" {
		cfg, err := config.Load(configFile)
		if err != nil {
			return nil, err
		}
		opts.Roles = cfg.RoleNames()
		if configSources {
			load.Builtin = load.Builtin && cfg.UseBuiltinLibrary()
			load.Paths = append(slices.Clone(cfg.Playbooks), load.Paths...)
		}
	}
	compiler, err := playbooks.NewCompiler(opts)
	if err != nil {
		return nil, err
	}
	lib, err := compiler.LoadLibrary(load)
	if err != nil {
		return nil, listDiagnostics(out, err)
	}
	return lib, nil
}

func newActionsCommand() *cobra.Command {
	var markdown bool
	cmd := &cobra.Command{
		Use:   "actions",
		Short: "List the actions playbooks can use, with their parameters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			specs := activities.NewRegistry(activities.Options{}).Specs()
			if markdown {
				_, err := io.WriteString(cmd.OutOrStdout(), actionsMarkdown(specs))
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, spec := range specs {
				fmt.Fprintf(w, "%s\t%s\n", spec.Name, spec.Doc)
				for _, p := range spec.Params {
					fmt.Fprintf(w, "  %s\t%s%s: %s\n", p.Name, p.Type, required(p), paramDoc(p))
				}
				fmt.Fprintln(w)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the reference as Markdown, as in the README")
	return cmd
}

func required(p playbooks.ParamSpec) string {
	if p.Required {
		return " (required)"
	}
	return ""
}

// paramDoc is a parameter's doc line with the values it takes, if it
// takes only some.
func paramDoc(p playbooks.ParamSpec) string {
	if len(p.Enum) > 0 {
		return p.Doc + "; one of " + strings.Join(p.Enum, ", ")
	}
	return p.Doc
}

// actionsMarkdown is the action reference of the README.
func actionsMarkdown(specs []playbooks.ActionSpec) string {
	var b strings.Builder
	for _, spec := range specs {
		fmt.Fprintf(&b, "#### `%s`\n\n%s\n\n| parameter | type | |\n|---|---|---|\n", spec.Name, spec.Doc)
		for _, p := range spec.Params {
			fmt.Fprintf(&b, "| `%s` | %s%s | %s |\n", p.Name, p.Type, required(p), paramDoc(p))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func newPlaybookTestCommand() *cobra.Command {
	var (
		configFile string
		builtin    bool
		run        string
		verbose    bool
	)
	cmd := &cobra.Command{
		Use:   "test [PATH...]",
		Short: "Run the playbooks' scenarios (<stem>_test.yaml) and print PASS or FAIL for each",
		Long: `Runs the scenarios beside each playbook: <stem>_test.yaml next to <stem>.yaml.
A scenario scripts an incident (the alert, approval decisions by step, stubbed
action results or failures, more alerts, a resolution) and says what must come
of it (the final state, each step's state, the parameters actions were called
with). Each runs the real playbook workflow on Temporal's test environment,
with the clock skipping ahead and every action stubbed: nothing is called.

With no PATH the built-in library is tested; with PATHs (files or directories)
only they are, unless --builtin. Playbooks get the checks of playbook validate.
Exits 1 if any scenario fails: run it in CI beside playbook validate.`,
		Example: `  aisoar playbook test
  aisoar playbook test playbooks/ --run denial -v`,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if !cmd.Flags().Changed("builtin") {
				builtin = len(args) == 0
			}
			var filter *regexp.Regexp
			if run != "" {
				var err error
				if filter, err = regexp.Compile(run); err != nil {
					return fmt.Errorf("--run: %w", err)
				}
			}
			pairs, err := playbooktest.Discover(args, builtin)
			if err != nil {
				return err
			}
			var files []string
			for _, p := range pairs {
				if !strings.HasPrefix(p.Playbook, playbooktest.BuiltinPrefix) {
					files = append(files, p.Playbook)
				}
			}
			lib, err := loadPlaybooks(out, configFile, playbooks.LoadOptions{Builtin: builtin, Paths: files}, false)
			if err != nil {
				return err
			}
			compiler, err := playbooks.NewCompiler(playbooks.CompilerOptions{Catalog: activities.Catalog()})
			if err != nil {
				return err
			}
			byFile := map[string]*playbooks.Playbook{}
			for _, c := range lib.Playbooks() {
				byFile[c.Playbook.File] = c.Playbook
			}
			passed, failed, broken := 0, 0, 0
			for _, p := range pairs {
				pb := byFile[p.Playbook]
				if p.Scenarios == "" {
					fmt.Fprintf(out, "----  %s: no scenarios (%s_test.yaml)\n", pb.ID, strings.TrimSuffix(p.Playbook, filepath.Ext(p.Playbook)))
					continue
				}
				suite, err := playbooktest.Load(p.Scenarios)
				if err != nil {
					fmt.Fprintf(out, "FAIL  %s: %s\n      %s\n", pb.ID, p.Scenarios, strings.ReplaceAll(err.Error(), "\n", "\n      "))
					broken++
					continue
				}
				for _, sc := range suite.Scenarios {
					if filter != nil && !filter.MatchString(pb.ID+"/"+sc.Name) {
						continue
					}
					res := playbooktest.Run(cmd.Context(), compiler, pb, sc)
					res.Report(out, verbose)
					if res.Passed() {
						passed++
					} else {
						failed++
					}
				}
			}
			summary := fmt.Sprintf("%d passed, %d failed", passed, failed)
			if broken > 0 {
				summary += fmt.Sprintf(", %d scenario file(s) do not load", broken)
			}
			if filter != nil && passed+failed == 0 {
				summary += " (no scenario matches --run)"
			}
			fmt.Fprintln(out, summary)
			if failed+broken > 0 {
				return errors.New("scenarios failed")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "config file whose approver roles playbooks may use")
	cmd.Flags().BoolVar(&builtin, "builtin", false, "test the built-in library too (default: only when no PATH is given)")
	cmd.Flags().StringVar(&run, "run", "", "run only the scenarios whose \"<playbook id>/<scenario name>\" matches this regular expression")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show each step's final state")
	return cmd
}
