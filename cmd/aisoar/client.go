package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// apiFlags locate the aisoar API; by default, the `aisoar dev` running on
// this machine.
type apiFlags struct {
	addr    string
	token   string
	dataDir string
}

func (a *apiFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&a.addr, "addr", "", "aisoar API URL (default: the running aisoar dev)")
	f.StringVar(&a.token, "token", "", "API token (default: the aisoar dev token)")
	f.StringVar(&a.dataDir, "data-dir", defaultDataDir(), "data directory of aisoar dev")
}

// apiClient calls the aisoar HTTP API.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func (a *apiFlags) client() (*apiClient, error) {
	state, err := readDevState(a.dataDir)
	if err != nil {
		return nil, err
	}
	c := &apiClient{base: a.addr, token: a.token, http: &http.Client{Timeout: 30 * time.Second}}
	if c.base == "" {
		c.base = state.URL
	}
	if c.token == "" && state.TokenFile != "" {
		if c.token, err = readSecretFile(state.TokenFile); err != nil {
			return nil, err
		}
	}
	if c.base == "" {
		return nil, fmt.Errorf("no aisoar to talk to: start `aisoar dev`, or pass --addr and --token")
	}
	c.base = strings.TrimSuffix(c.base, "/")
	return c, nil
}

// call sends a JSON request and decodes the JSON answer into out.
func (c *apiClient) call(method, path string, body, out any) error {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, reader)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, data, err := c.do(req)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: answer is not the JSON expected: %w", resp.Status, err)
	}
	return nil
}

// do sends a request and reads the answer; an error answer is returned
// as an error with the server's problem detail.
func (c *apiClient) do(req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, nil, problemError(resp, data)
	}
	return resp, data, nil
}

// problemError turns a problem+json answer into an error people can read.
func problemError(resp *http.Response, data []byte) error {
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Field  string `json:"field"`
	}
	if json.Unmarshal(data, &p) != nil || p.Title == "" {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(data)))
	}
	msg := fmt.Sprintf("%s: %s", resp.Status, p.Detail)
	if p.Field != "" {
		msg += fmt.Sprintf(" (field %q)", p.Field)
	}
	return fmt.Errorf("%s", msg)
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
