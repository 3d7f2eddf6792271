package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// devState is what `aisoar dev` leaves in its data directory so the other
// commands on the same machine find it without flags.
type devState struct {
	URL        string `json:"url"`
	Source     string `json:"source"`
	SecretFile string `json:"secret_file"`
	TokenFile  string `json:"token_file"`
	UI         string `json:"ui,omitempty"`
	// Config is the config file aisoar dev runs with, when --config was
	// given: its sources and tokens replace the dev ones.
	Config string `json:"config,omitempty"`
}

const devStateFile = "dev.json"

// defaultDataDir is where `aisoar dev` keeps its database and secrets:
// $XDG_DATA_HOME/aisoar, else ~/.local/share/aisoar.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "aisoar")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "aisoar")
	}
	return filepath.Join(os.TempDir(), "aisoar")
}

func writeDevState(dir string, s devState) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, devStateFile), data, 0o600)
}

// readDevState returns the state of the last `aisoar dev` in dir, or the
// zero state when there is none.
func readDevState(dir string) (devState, error) {
	var s devState
	data, err := os.ReadFile(filepath.Join(dir, devStateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("%s: %w", filepath.Join(dir, devStateFile), err)
	}
	return s, nil
}

// ensureSecretFile returns the path of a secret file in dir, creating it
// with make when it does not exist yet, so secrets survive restarts.
func ensureSecretFile(dir, name string, make func() (string, error)) (string, error) {
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	secret, err := make()
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, []byte(secret+"\n"), 0o600)
}

func readSecretFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(data)), nil
}

func newToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "aisoar_" + base64.RawURLEncoding.EncodeToString(b), nil
}
