package main

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/webhooks"
)

// examples are sample alerts for `aisoar alert send --example`.
//
//go:embed examples/*.json
var examples embed.FS

func exampleNames() []string {
	entries, _ := examples.ReadDir("examples")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	return names
}

func newAlertCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "alert", Short: "Send alerts to aisoar, as a SIEM would"}
	var (
		api                       apiFlags
		example, file, configFile string
		source, secretArg         string
		dryRun, preview           bool
	)
	send := &cobra.Command{
		Use:   "send",
		Short: "POST a signed alert to the webhook",
		Long: `Posts an alert to /v1/alerts/{source}, authenticated the way the source
expects, and prints aisoar's answer: the incidents the alert opened or joined.
Against "aisoar dev", no flags are needed beyond the alert:

  aisoar alert send --example model-extraction
  aisoar alert send --file my-alert.json

For a configured source, --config reads how it verifies requests (Standard
Webhooks, HMAC, bearer, basic or query token) and resolves its secret:

  aisoar alert send --config aisoar.yaml --source grafana --format grafana --addr https://aisoar.example

Examples (--example or --format): ` + strings.Join(exampleNames(), ", ") + `. The generic
model-extraction example gets a fresh id on each send, so sending it twice shows the
second alert folded into the first incident.

--dry-run opens dry-run incidents: the playbooks run and ask for approvals, and
every action records the exact request it would make instead of making it (see
"aisoar incidents show"). --preview shows the normalized alert, what the asset
inventory knows of it and the playbooks that would run, and starts nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := alertBody(example, file)
			if err != nil {
				return err
			}
			c, err := api.client()
			if err != nil {
				return err
			}
			if source == "" && configFile == "" && example != "" && example != genericExample {
				// aisoar dev has a source per payload format: dev-splunk, …
				source = devSource + "-" + example
			}
			sign, source, err := requestSigner(api.dataDir, configFile, source, secretArg)
			if err != nil {
				return err
			}
			query := ""
			switch {
			case preview:
				query = "?preview=true"
			case dryRun:
				query = "?dry_run=true"
			}
			return sendAlert(cmd.OutOrStdout(), c, source+query, sign, body)
		},
	}
	api.register(send)
	f := send.Flags()
	f.StringVar(&example, "example", "", "send a built-in example alert: "+strings.Join(exampleNames(), ", "))
	f.StringVar(&example, "format", "", "send the built-in example of a SIEM's payload format (same as --example)")
	f.StringVar(&file, "file", "", "send this file as the body")
	f.StringVar(&source, "source", "", "alert source name (default: the aisoar dev source, or the --config file's only source)")
	f.StringVar(&configFile, "config", "", "config file that defines the source's verification and secret")
	f.StringVar(&secretArg, "secret", "", "a Standard Webhooks secret, whsec_..., when not using --config or aisoar dev")
	f.BoolVar(&dryRun, "dry-run", false, "open dry-run incidents: actions record their requests instead of acting")
	f.BoolVar(&preview, "preview", false, "show what would happen; start nothing")
	send.MarkFlagsMutuallyExclusive("dry-run", "preview")
	cmd.AddCommand(send)
	return cmd
}

// signer authenticates a request to a source the way its verifier expects.
type signer func(req *http.Request, body []byte) error

// requestSigner finds how to authenticate to the source: from the config
// file, from --secret (Standard Webhooks), or from the running aisoar dev.
func requestSigner(dataDir, configFile, source, secret string) (signer, string, error) {
	if configFile != "" {
		cfg, err := config.Load(configFile)
		if err != nil {
			return nil, "", err
		}
		if source, err = configSource(configFile, cfg, source); err != nil {
			return nil, "", err
		}
		src := cfg.Sources[source]
		if src.Verify.Type == config.VerifyJWT {
			return nil, "", fmt.Errorf("source %q takes JWTs from its identity provider; aisoar cannot mint one", source)
		}
		secret, err := src.Verify.Secret.Resolve()
		if err != nil {
			return nil, "", fmt.Errorf("sources.%s.verify.secret: %w", source, err)
		}
		sign, err := configSigner(src.Verify, secret)
		return sign, source, err
	}
	state, err := readDevState(dataDir)
	if err != nil {
		return nil, "", err
	}
	if source == "" {
		source = state.Source
	}
	if secret == "" && state.SecretFile != "" {
		if secret, err = readSecretFile(state.SecretFile); err != nil {
			return nil, "", err
		}
	}
	if source == "" || secret == "" {
		if state.Config != "" {
			return nil, "", fmt.Errorf("aisoar dev runs with --config %s: pass it here too, with --config %[1]s --source NAME", state.Config)
		}
		return nil, "", fmt.Errorf("need --config and --source, or --source and --secret, when not sending to aisoar dev")
	}
	sign, err := configSigner(config.Verify{Type: config.VerifyStandardWebhooks}, secret)
	return sign, source, err
}

// configSource returns the source named, or the config's one source when
// none is named.
func configSource(configFile string, cfg *config.Config, source string) (string, error) {
	names := slices.Sorted(maps.Keys(cfg.Sources))
	defines := "defines no alert sources"
	if len(names) > 0 {
		defines = "defines: " + strings.Join(names, ", ")
	}
	switch {
	case source == "" && len(names) == 1:
		return names[0], nil
	case source == "":
		return "", fmt.Errorf("name the source with --source (%s %s)", configFile, defines)
	case !slices.Contains(names, source):
		return "", fmt.Errorf("%s has no source %q (it %s)", configFile, source, defines)
	}
	return source, nil
}

// configSigner signs as a verifier of the given settings expects, with the
// resolved secret.
func configSigner(v config.Verify, value string) (signer, error) {
	switch v.Type {
	case config.VerifyStandardWebhooks:
		sw, err := webhooks.NewStandardWebhooks(value)
		if err != nil {
			return nil, err
		}
		return func(req *http.Request, body []byte) error {
			sw.SetHeaders(req.Header, "msg_"+randomHex(12), time.Now(), body)
			return nil
		}, nil
	case config.VerifyHMAC:
		h, err := webhooks.NewHMAC(value, webhooks.HMACOptions{
			Header: v.HMAC.Header, Algorithm: v.HMAC.Algorithm, Encoding: v.HMAC.Encoding, Prefix: v.HMAC.Prefix,
			TimestampHeader: v.HMAC.TimestampHeader, Tolerance: v.HMAC.Tolerance, SignedString: v.HMAC.SignedString,
		})
		if err != nil {
			return nil, err
		}
		return func(req *http.Request, body []byte) error {
			h.SetHeaders(req.Header, time.Now(), body)
			return nil
		}, nil
	case config.VerifyBearer:
		return func(req *http.Request, _ []byte) error {
			req.Header.Set("Authorization", "Bearer "+value)
			return nil
		}, nil
	case config.VerifyBasic:
		return func(req *http.Request, _ []byte) error {
			req.SetBasicAuth(v.Basic.User, value)
			return nil
		}, nil
	case config.VerifyQueryToken:
		return func(req *http.Request, _ []byte) error {
			q := req.URL.Query()
			q.Set(v.Query.Param, value)
			req.URL.RawQuery = q.Encode()
			return nil
		}, nil
	}
	return nil, fmt.Errorf("cannot sign for a %s source: its tokens come from the identity provider", v.Type)
}

// genericExample is the example in aisoar's own alert shape; the others are
// named after the SIEM payload format they show.
const genericExample = "model-extraction"

func alertBody(example, file string) ([]byte, error) {
	switch {
	case example != "" && file != "":
		return nil, fmt.Errorf("give --example or --file, not both")
	case file != "":
		return os.ReadFile(file)
	case example == "":
		return nil, fmt.Errorf("give --example NAME (one of %s) or --file PATH", strings.Join(exampleNames(), ", "))
	}
	data, err := examples.ReadFile(path.Join("examples", example+".json"))
	if err != nil {
		return nil, fmt.Errorf("no example %q; there are: %s", example, strings.Join(exampleNames(), ", "))
	}
	if example != genericExample {
		return data, nil
	}
	var alert map[string]any
	if err := json.Unmarshal(data, &alert); err != nil {
		return nil, err
	}
	alert["id"] = "example-" + randomHex(6)
	alert["time"] = time.Now().UTC().Format(time.RFC3339)
	return json.Marshal(alert)
}

// sendAlert posts body to the source's webhook; source may carry a query.
func sendAlert(out io.Writer, c *apiClient, source string, sign signer, body []byte) error {
	url := c.base + "/v1/alerts/" + source
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := sign(req, body); err != nil {
		return err
	}
	resp, answer, err := c.do(req)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s\n%s", resp.Status, answer)
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
