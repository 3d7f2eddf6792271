package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/internal/diag"
	"github.com/aisoar/aisoar/stack"
)

func newAssetsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "assets", Short: "Work with the asset inventory (assets.yaml)"}
	var configFile string
	validate := &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check the asset inventory: report every problem as file:line:col, exit 1 if any",
		Long: `Loads the asset inventory (FILE, or the one the config's assets setting names)
and checks its structure, its references between entries (owners, gateways,
pipelines, stores), approval dates and digests, and MITRE ATLAS ids. With
--config, teams' roles are checked against the config's approver roles and
every target against the config's targets and their kinds.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, err := loadInventory(cmd.OutOrStdout(), configFile, args)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s OK: %d model(s), %d pipeline(s), %d gateway(s), %d key(s), %d store(s), %d team(s)\n",
				inv.File, len(inv.Models), len(inv.Pipelines), len(inv.Gateways), len(inv.Keys), len(inv.Stores), len(inv.Teams))
			return nil
		},
	}
	validate.Flags().StringVar(&configFile, "config", "", "config file whose roles and targets the inventory may name")
	cmd.AddCommand(validate)
	return cmd
}

// loadInventory loads the inventory named by args or by the config,
// printing diagnostics to out.
func loadInventory(out io.Writer, configFile string, args []string) (*assets.Inventory, error) {
	opts := stack.AssetOptions(nil)
	file := ""
	if len(args) > 0 {
		file = args[0]
	}
	if configFile != "" {
		cfg, err := config.Load(configFile)
		if err != nil {
			return nil, err
		}
		opts = stack.AssetOptions(cfg)
		if file == "" {
			file = cfg.Assets
		}
	}
	if file == "" {
		return nil, errors.New("name the inventory file, or a config whose assets setting names it")
	}
	inv, err := assets.Load(file, opts)
	if err != nil {
		return nil, listDiagnostics(out, err)
	}
	return inv, nil
}

// listDiagnostics prints the file:line:col problems err holds, one a line,
// and returns an error that counts them; other errors pass through.
func listDiagnostics(out io.Writer, err error) error {
	var diags diag.Diagnostics
	if !errors.As(err, &diags) {
		return err
	}
	fmt.Fprintln(out, err)
	return fmt.Errorf("%d problem(s)", len(diags))
}
