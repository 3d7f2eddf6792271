package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envPrefix prefixes the environment variable twin of every flag:
// --temporal-address is also AISOAR_TEMPORAL_ADDRESS.
const envPrefix = "AISOAR_"

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "aisoar",
		Short: "SOAR playbooks for incidents against AI systems",
		Long: `aisoar answers SIEM alerts about attacks on AI systems (model extraction, data
poisoning, adversarial evasion, tampered model artifacts, leaked serving keys)
with playbooks: YAML steps with CEL conditions, run as durable Temporal
workflows, with analyst approval before risky steps.

Start here:
  aisoar dev                                  # everything in one process, nothing to install
  aisoar alert send --example model-extraction
  aisoar incidents list

Every flag can also be set from the environment: --temporal-address is
AISOAR_TEMPORAL_ADDRESS, --token is AISOAR_TOKEN, and so on.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnv(cmd.Flags())
		},
	}
	root.AddCommand(
		newDevCommand(),
		newServerCommand(),
		newWorkerCommand(),
		newPlaybookCommand(),
		newActionsCommand(),
		newAtlasCommand(),
		newAssetsCommand(),
		newAlertCommand(),
		newIncidentsCommand(),
		newDecisionCommand(true),
		newDecisionCommand(false),
		newResolveCommand(),
		newEvidenceCommand(),
		newSourcesCommand(),
		newReportCommand(),
		newSimulateCommand(),
	)
	addEnvToUsage(root)
	return root
}

// envName is the environment variable twin of a flag.
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv sets each flag not given on the command line from its
// environment variable, if that is set.
func applyEnv(flags *pflag.FlagSet) error {
	var err error
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil || f.Name == "help" {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if setErr := flags.Set(f.Name, v); setErr != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, setErr)
			}
		}
	})
	return err
}

// addEnvToUsage mentions each flag's environment variable in its help.
func addEnvToUsage(cmd *cobra.Command) {
	annotate := func(f *pflag.Flag) {
		if f.Name != "help" && !strings.Contains(f.Usage, envPrefix) {
			f.Usage += " [" + envName(f.Name) + "]"
		}
	}
	cmd.Flags().VisitAll(annotate)
	cmd.PersistentFlags().VisitAll(annotate)
	for _, sub := range cmd.Commands() {
		addEnvToUsage(sub)
	}
}
