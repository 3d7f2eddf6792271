package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/atlas"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/playbooks"
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
	cmd.AddCommand(validate)
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
		var diags playbooks.Diagnostics
		if errors.As(err, &diags) {
			fmt.Fprintln(out, err)
			return nil, fmt.Errorf("%d problem(s)", len(diags))
		}
		return nil, err
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
					fmt.Fprintf(w, "  %s\t%s%s: %s\n", p.Name, p.Type, required(p), p.Doc)
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

// actionsMarkdown is the action reference of the README.
func actionsMarkdown(specs []playbooks.ActionSpec) string {
	var b strings.Builder
	for _, spec := range specs {
		fmt.Fprintf(&b, "#### `%s`\n\n%s\n\n| parameter | type | |\n|---|---|---|\n", spec.Name, spec.Doc)
		for _, p := range spec.Params {
			doc := p.Doc
			if len(p.Enum) > 0 {
				doc += "; one of " + strings.Join(p.Enum, ", ")
			}
			fmt.Fprintf(&b, "| `%s` | %s%s | %s |\n", p.Name, p.Type, required(p), doc)
		}
		b.WriteString("\n")
	}
	return b.String()
}
