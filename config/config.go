// Package config is aisoar's one configuration file: webhook sources and
// their verifiers, approver roles, API tokens, the Temporal connection and
// action settings. Secrets are never in the file: it names the environment
// variable or file that holds each one.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Defaults for settings the file leaves out.
const (
	DefaultListen       = "127.0.0.1:8080"
	DefaultAddress      = "127.0.0.1:7233"
	DefaultNamespace    = "default"
	DefaultTaskQueue    = "aisoar"
	DefaultMaxBodyBytes = 1 << 20
	// MaxBodyBytesCeiling is the largest max_body_bytes allowed; playbook
	// expressions are proven cheap for values up to this size.
	MaxBodyBytesCeiling = 4 << 20
)

// Config is the whole file.
type Config struct {
	// Listen is the HTTP server's address.
	Listen   string   `yaml:"listen"`
	Temporal Temporal `yaml:"temporal"`
	// Playbooks lists directories of playbook files loaded beside the
	// built-in library (which BuiltinLibrary can switch off).
	Playbooks      []string `yaml:"playbooks"`
	BuiltinLibrary *bool    `yaml:"builtin_library"`
	// MaxBodyBytes bounds a webhook body; larger ones get 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Roles maps an approver role to the identities in it.
	Roles     map[string][]string `yaml:"roles"`
	APITokens []APIToken          `yaml:"api_tokens"`
	Sources   map[string]Source   `yaml:"sources"`
	Actions   Actions             `yaml:"actions"`
}

// Temporal is how to reach the Temporal cluster.
type Temporal struct {
	Address   string `yaml:"address"`
	Namespace string `yaml:"namespace"`
	TaskQueue string `yaml:"task_queue"`
	TLS       *TLS   `yaml:"tls"`
	// APIKey authenticates to Temporal Cloud or a cluster that wants one.
	APIKey Secret `yaml:"api_key"`
}

// TLS configures the connection to Temporal.
type TLS struct {
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	ServerName string `yaml:"server_name"`
}

// APIToken lets a person or a tool call the incidents API as User.
type APIToken struct {
	User  string `yaml:"user"`
	Token Secret `yaml:"token"`
}

// Source is one webhook sender, reached at POST /v1/alerts/{name}.
type Source struct {
	Verify  Verify  `yaml:"verify"`
	Decoder Decoder `yaml:"decoder"`
}

// Verifier types.
const (
	VerifyStandardWebhooks = "standard-webhooks"
	VerifyBearer           = "bearer"
)

// Verify says how a source's requests are authenticated.
type Verify struct {
	Type string `yaml:"type"`
	// Secret is the whsec_ secret of standard-webhooks, or the token of bearer.
	Secret Secret `yaml:"secret"`
}

// Decoder types.
const DecoderGeneric = "generic"

// Decoder says how a source's payloads become alerts.
type Decoder struct {
	Type string `yaml:"type"`
	// Mapping maps alert fields to dotted paths in the payload (generic decoder).
	Mapping map[string]string `yaml:"mapping"`
}

// Actions configures the actions.
type Actions struct {
	HTTP HTTPAction `yaml:"http"`
}

// HTTPAction configures the http action.
type HTTPAction struct {
	AllowHosts []string `yaml:"allow_hosts"`
	// Credentials are secrets playbooks name in the http action's
	// credential parameter, so the secret itself stays out of playbooks and
	// workflow history.
	Credentials map[string]HTTPCredential `yaml:"credentials"`
}

// HTTPCredential is a secret sent in a request header.
type HTTPCredential struct {
	// Header defaults to Authorization.
	Header string `yaml:"header"`
	// Scheme, such as Bearer, is sent before the secret.
	Scheme string `yaml:"scheme"`
	Secret Secret `yaml:"secret"`
}

// Secret names where a secret is kept: an environment variable or a file.
type Secret struct {
	Env  string `yaml:"env"`
	File string `yaml:"file"`
}

// IsSet reports whether the secret names a place.
func (s Secret) IsSet() bool { return s.Env != "" || s.File != "" }

// Resolve reads the secret.
func (s Secret) Resolve() (string, error) {
	switch {
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok || v == "" {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
		return v, nil
	case s.File != "":
		data, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("reading secret: %w", err)
		}
		return strings.TrimSpace(string(data)), nil
	}
	return "", errors.New("no secret configured (set env or file)")
}

// Load reads and validates a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse decodes a config file's contents; unknown keys are errors.
func Parse(name string, data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty file, or one of only comments, is a file of defaults.
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, nil
}

// ApplyDefaults fills the settings left out.
func (c *Config) ApplyDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Temporal.Address == "" {
		c.Temporal.Address = DefaultAddress
	}
	if c.Temporal.Namespace == "" {
		c.Temporal.Namespace = DefaultNamespace
	}
	if c.Temporal.TaskQueue == "" {
		c.Temporal.TaskQueue = DefaultTaskQueue
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	for name, s := range c.Sources {
		if s.Decoder.Type == "" {
			s.Decoder.Type = DecoderGeneric
			c.Sources[name] = s
		}
	}
}

// UseBuiltinLibrary reports whether the embedded playbooks are loaded.
func (c *Config) UseBuiltinLibrary() bool { return c.BuiltinLibrary == nil || *c.BuiltinLibrary }

// RoleNames returns the configured approver roles, sorted.
func (c *Config) RoleNames() []string {
	names := make([]string, 0, len(c.Roles))
	for r := range c.Roles {
		names = append(names, r)
	}
	slices.Sort(names)
	return names
}

var sourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// mappingFields are the alert fields a generic mapping may name.
var mappingFields = []string{
	"id", "rule", "title", "severity", "status", "time", "category", "techniques", "group_key",
	"asset.model", "asset.endpoint", "asset.pipeline", "asset.tenant", "asset.key_id", "labels",
}

// Validate reports every problem in the file at once.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen: %q is not host:port", c.Listen)
	}
	if c.MaxBodyBytes < 0 || c.MaxBodyBytes > MaxBodyBytesCeiling {
		add("max_body_bytes must be between 1 and %d", MaxBodyBytesCeiling)
	}
	if tls := c.Temporal.TLS; tls != nil && (tls.CertFile == "") != (tls.KeyFile == "") {
		add("temporal.tls: cert_file and key_file go together")
	}
	for i, t := range c.APITokens {
		if t.User == "" {
			add("api_tokens[%d]: user is required", i)
		}
		if !t.Token.IsSet() {
			add("api_tokens[%d]: token needs env or file", i)
		}
	}
	for _, role := range sortedKeys(c.Roles) {
		if len(c.Roles[role]) == 0 {
			add("roles.%s: a role needs at least one member", role)
		}
	}
	for _, name := range sortedKeys(c.Sources) {
		s := c.Sources[name]
		if !sourceName.MatchString(name) {
			add("sources.%s: a source name must be lowercase letters, digits, '-' or '_' (it is part of the webhook URL)", name)
		}
		switch s.Verify.Type {
		case VerifyStandardWebhooks, VerifyBearer:
			if !s.Verify.Secret.IsSet() {
				add("sources.%s.verify.secret needs env or file", name)
			}
		case "":
			add("sources.%s.verify.type is required: %s or %s (unverified webhooks are not accepted)", name, VerifyStandardWebhooks, VerifyBearer)
		default:
			add("sources.%s.verify.type %q is unknown: use %s or %s", name, s.Verify.Type, VerifyStandardWebhooks, VerifyBearer)
		}
		if s.Decoder.Type != DecoderGeneric {
			add("sources.%s.decoder.type %q is unknown: use %s", name, s.Decoder.Type, DecoderGeneric)
		}
		for _, field := range sortedKeys(s.Decoder.Mapping) {
			if !slices.Contains(mappingFields, field) {
				add("sources.%s.decoder.mapping: %q is not an alert field (one of %s)", name, field, strings.Join(mappingFields, ", "))
			}
		}
	}
	for _, name := range sortedKeys(c.Actions.HTTP.Credentials) {
		if !c.Actions.HTTP.Credentials[name].Secret.IsSet() {
			add("actions.http.credentials.%s.secret needs env or file", name)
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
