package main

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/spf13/cobra"

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
		api               apiFlags
		example, file     string
		source, secretArg string
	)
	send := &cobra.Command{
		Use:   "send",
		Short: "POST a signed alert to the webhook",
		Long: `Posts an alert to /v1/alerts/{source}, signed with the source's Standard
Webhooks secret, and prints aisoar's answer: the incidents the alert opened or
joined. Against "aisoar dev", no flags are needed beyond the alert:

  aisoar alert send --example model-extraction
  aisoar alert send --file my-alert.json

Examples: ` + strings.Join(exampleNames(), ", ") + `. An example gets a fresh id on
each send, so sending it twice shows the second alert folded into the first
incident.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := alertBody(example, file)
			if err != nil {
				return err
			}
			state, err := readDevState(api.dataDir)
			if err != nil {
				return err
			}
			if source == "" {
				source = state.Source
			}
			secret := secretArg
			if secret == "" && state.SecretFile != "" {
				if secret, err = readSecretFile(state.SecretFile); err != nil {
					return err
				}
			}
			c, err := api.client()
			if err != nil {
				return err
			}
			if source == "" || secret == "" {
				return fmt.Errorf("need --source and --secret (the source's whsec_ secret) when not sending to aisoar dev")
			}
			return sendAlert(cmd.OutOrStdout(), c, source, secret, body)
		},
	}
	api.register(send)
	f := send.Flags()
	f.StringVar(&example, "example", "", "send a built-in example alert: "+strings.Join(exampleNames(), ", "))
	f.StringVar(&file, "file", "", "send this JSON file as the body")
	f.StringVar(&source, "source", "", "alert source name (default: the aisoar dev source)")
	f.StringVar(&secretArg, "secret", "", "the source's Standard Webhooks secret, whsec_... (default: the aisoar dev secret)")
	cmd.AddCommand(send)
	return cmd
}

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
	var alert map[string]any
	if err := json.Unmarshal(data, &alert); err != nil {
		return nil, err
	}
	alert["id"] = "example-" + randomHex(6)
	alert["time"] = time.Now().UTC().Format(time.RFC3339)
	return json.Marshal(alert)
}

func sendAlert(out io.Writer, c *apiClient, source, secret string, body []byte) error {
	signer, err := webhooks.NewStandardWebhooks(secret)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, c.base+"/v1/alerts/"+source, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	signer.SetHeaders(req.Header, "msg_"+randomHex(12), time.Now(), body)
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
