package main

import (
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aisoar/aisoar/attest"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/evidence"
	"github.com/aisoar/aisoar/stack"
)

// devEvidenceDir is where `aisoar dev` keeps evidence and its signing key.
func devEvidenceDir(dataDir string) string { return filepath.Join(dataDir, "evidence") }

func newEvidenceCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "evidence", Short: "Check the evidence incidents collected"}
	var (
		configFile, dir, dataDir, publicKey string
		asJSON                              bool
	)
	verify := &cobra.Command{
		Use:   "verify INCIDENT",
		Short: "Re-hash an incident's evidence and check its signed manifests",
		Long: `Checks everything snapshot_evidence kept for an incident: each manifest's
signature, that the stored manifest is the one that was signed, and that every
item is present and still hashes to the SHA-256 the manifest records. It prints
a line per item (ok, MODIFIED or MISSING) and fails, naming what does not
verify, when anything is off.

The store and keys are those of the config file's evidence section, or of the
running "aisoar dev" without --config. --public-key checks signatures with a
PEM public key instead, for an auditor who holds only that.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := evidenceStore(configFile, dir, dataDir, publicKey)
			if err != nil {
				return err
			}
			report, err := store.Verify(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				if err := printJSON(cmd.OutOrStdout(), report); err != nil {
					return err
				}
			} else if err := printEvidenceReport(cmd.OutOrStdout(), report); err != nil {
				return err
			}
			return report.Err()
		},
	}
	f := verify.Flags()
	f.StringVar(&configFile, "config", "", "config file whose evidence section names the store and the keys (default: those of aisoar dev)")
	f.StringVar(&dir, "evidence-dir", "", "evidence directory to check, instead of the configured store")
	f.StringVar(&dataDir, "data-dir", defaultDataDir(), "data directory of aisoar dev")
	f.StringVar(&publicKey, "public-key", "", "PEM public key file to check signatures with, instead of the configured keys")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(verify)
	return cmd
}

// evidenceStore opens the store to verify: the config's, or the dev one,
// with dir and publicKey overriding where it is and what checks it.
func evidenceStore(configFile, dir, dataDir, publicKey string) (*evidence.Store, error) {
	cfg := &config.Config{Evidence: config.Evidence{Dir: devEvidenceDir(dataDir)}}
	if configFile != "" {
		var err error
		if cfg, err = config.Load(configFile); err != nil {
			return nil, err
		}
	}
	if dir != "" {
		cfg.Evidence.Dir, cfg.Evidence.Store = dir, ""
	}
	targets, err := stack.Targets(cfg.Targets)
	if err != nil {
		return nil, err
	}
	opts, err := stack.EvidenceOptions(cfg, targets)
	if err != nil {
		return nil, err
	}
	if publicKey != "" {
		if opts.Verifier, err = attest.LoadPublicKey(publicKey); err != nil {
			return nil, err
		}
	}
	return evidence.New(opts), nil
}

func printEvidenceReport(out io.Writer, r *evidence.Report) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Incident:\t%s\n", r.Incident)
	fmt.Fprintf(w, "Store:\t%s\n", r.Location)
	for _, m := range r.Manifests {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "Manifest:\t%s (%s)\n", m.Key, m.Manifest)
		signature := m.Signature
		if m.KeyID != "" {
			signature += ", key " + m.KeyID
		}
		if m.Problem != "" {
			signature += ": " + m.Problem
		}
		fmt.Fprintf(w, "Signature:\t%s\n", signature)
		fmt.Fprintln(w, "ITEM\tSTATUS\tSIZE\tSHA256\tSOURCE")
		for _, it := range m.Items {
			fmt.Fprintf(w, "%s\t%s\t%d\t%.16s…\t%s\n", it.Name, it.Status, it.Size, it.SHA256, it.Source)
		}
	}
	return w.Flush()
}
