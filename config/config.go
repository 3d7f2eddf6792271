// Package config is aisoar's one configuration file: webhook sources and
// their verifiers, approver roles, API tokens, the Temporal connection and
// action settings. Secrets are never in the file: it names the environment
// variable or file that holds each one.
package config

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"
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
	Listen string `yaml:"listen"`
	// TLS makes the HTTP server serve HTTPS; with ClientCAFile it also asks
	// for client certificates, which sources with client_cert_subjects require.
	TLS      *ServerTLS `yaml:"tls"`
	Temporal Temporal   `yaml:"temporal"`
	// Playbooks lists directories of playbook files loaded beside the
	// built-in library (which BuiltinLibrary can switch off).
	Playbooks      []string `yaml:"playbooks"`
	BuiltinLibrary *bool    `yaml:"builtin_library"`
	// Assets is the asset inventory file: the AI systems alerts are
	// matched to, their owners, lineage and provenance. Optional.
	Assets string `yaml:"assets"`
	// MaxBodyBytes bounds a webhook body; larger ones get 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Roles are the teams of the operating model, by name: who may approve
	// (members), where their approval requests go in Slack, and what to
	// call them in reports.
	Roles     map[string]Role   `yaml:"roles"`
	APITokens []APIToken        `yaml:"api_tokens"`
	Sources   map[string]Source `yaml:"sources"`
	Actions   Actions           `yaml:"actions"`
	// Triage classifies each alert as an AI incident or a model
	// performance issue before playbooks are matched; when left out,
	// DefaultTriage applies.
	Triage *Triage `yaml:"triage"`
	// Targets are the systems containment actions act on, by name.
	Targets map[string]Target `yaml:"targets"`
	// Slack, when set, posts approvals to Slack and takes decisions from
	// its buttons and the /aisoar command.
	Slack *Slack `yaml:"slack"`
	// Evidence is where snapshot_evidence keeps evidence and how it is signed.
	Evidence Evidence `yaml:"evidence"`
	// Attestation holds the keys verify_artifact trusts.
	Attestation Attestation `yaml:"attestation"`
	// Governance configures the daily re-attestation and the coverage
	// window of the governance report.
	Governance Governance `yaml:"governance"`
}

// ServerTLS is the HTTP server's certificate and the CAs of client certificates.
type ServerTLS struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
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
	// AllowIPs, when set, limits the source to these CIDRs; the client
	// address is read from X-Forwarded-For only behind TrustedProxies.
	AllowIPs       []string `yaml:"allow_ips"`
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ClientCertSubjects, when set, requires a verified TLS client
	// certificate whose common name or DNS name is one of these.
	ClientCertSubjects []string   `yaml:"client_cert_subjects"`
	RateLimit          *RateLimit `yaml:"rate_limit"`
	// DryRun makes every alert from this source a dry run: decoded and
	// matched, answered with what would happen, nothing started.
	DryRun bool `yaml:"dry_run"`
}

// RateLimit is a token bucket: PerSecond alerts on average, bursts of Burst.
type RateLimit struct {
	PerSecond float64 `yaml:"per_second"`
	Burst     int     `yaml:"burst"`
}

// Verifier types.
const (
	VerifyStandardWebhooks = "standard-webhooks"
	VerifyHMAC             = "hmac"
	VerifyBearer           = "bearer"
	VerifyJWT              = "jwt"
	VerifyBasic            = "basic"
	VerifyQueryToken       = "query-token"
)

// verifyTypes lists the verifier types, for messages.
var verifyTypes = []string{VerifyStandardWebhooks, VerifyHMAC, VerifyBearer, VerifyJWT, VerifyBasic, VerifyQueryToken}

// Verify says how a source's requests are authenticated.
type Verify struct {
	Type string `yaml:"type"`
	// Secret is the shared secret of standard-webhooks and hmac, the token
	// of bearer and query-token, the password of basic. jwt has none.
	Secret Secret     `yaml:"secret"`
	HMAC   HMAC       `yaml:"hmac"`
	JWT    JWT        `yaml:"jwt"`
	Basic  BasicAuth  `yaml:"basic"`
	Query  QueryToken `yaml:"query_token"`
}

// HMAC describes a sender's own signature scheme.
type HMAC struct {
	Header          string        `yaml:"header"`
	Algorithm       string        `yaml:"algorithm"`
	Encoding        string        `yaml:"encoding"`
	Prefix          string        `yaml:"prefix"`
	TimestampHeader string        `yaml:"timestamp_header"`
	Tolerance       time.Duration `yaml:"tolerance"`
	SignedString    string        `yaml:"signed_string"`
}

// JWT checks bearer tokens an identity provider issued.
type JWT struct {
	JWKSURL  string   `yaml:"jwks_url"`
	Issuer   string   `yaml:"issuer"`
	Audience []string `yaml:"audience"`
	Roles    []string `yaml:"roles"`
	Scopes   []string `yaml:"scopes"`
}

// BasicAuth names the user of HTTP basic authentication.
type BasicAuth struct {
	User string `yaml:"user"`
}

// QueryToken names the URL query parameter that carries the token.
type QueryToken struct {
	Param string `yaml:"param"`
}

// Decoder formats.
const (
	DecoderGeneric      = "generic"
	DecoderSplunk       = "splunk"
	DecoderElastic      = "elastic"
	DecoderSentinel     = "sentinel"
	DecoderAzureMonitor = "azure-monitor"
	DecoderDatadog      = "datadog"
	DecoderGrafana      = "grafana"
	DecoderAlertmanager = "alertmanager"
	DecoderOCSF         = "ocsf"
)

// DecoderTypes lists the payload formats aisoar decodes.
var DecoderTypes = []string{DecoderGeneric, DecoderSplunk, DecoderElastic, DecoderSentinel, DecoderAzureMonitor,
	DecoderDatadog, DecoderGrafana, DecoderAlertmanager, DecoderOCSF}

// Decoder says how a source's payloads become alerts.
type Decoder struct {
	Type string `yaml:"type"`
	// Mapping maps alert fields to dotted paths in the payload (generic decoder).
	Mapping map[string]string `yaml:"mapping"`
	// CEL sets alert fields with CEL expressions over `payload` (the JSON
	// body) and `alert` (as decoded), after any decoder.
	CEL map[string]string `yaml:"cel"`
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

// Slack connects aisoar to a Slack app: the worker posts approval
// requests with the bot token; the server takes button clicks, the reject
// dialog and the /aisoar command, over HTTP (verified with the signing
// secret) or over Socket Mode (with the app-level token).
type Slack struct {
	// BotToken is the bot's xoxb- token, for posting and opening dialogs.
	BotToken Secret `yaml:"bot_token"`
	// SigningSecret verifies the interactivity and slash-command requests
	// Slack sends to the HTTP server.
	SigningSecret Secret `yaml:"signing_secret"`
	// AppToken is the app-level xapp- token Socket Mode connects with.
	AppToken Secret `yaml:"app_token"`
	// SocketMode takes interactions over a WebSocket aisoar opens to Slack,
	// for servers Slack cannot reach.
	SocketMode bool `yaml:"socket_mode"`
	// APIURL overrides Slack's Web API address (https://slack.com/api/),
	// for proxies and tests.
	APIURL string `yaml:"api_url"`
	// Channels maps an approver role to the channel its approval requests
	// are posted in: a channel id (C0123ABCD) or #name.
	Channels map[string]string `yaml:"channels"`
	// Users maps a Slack user id to the aisoar identity it acts as, the
	// identity roles list. An unmapped user acts as their Slack user id.
	Users map[string]string `yaml:"users"`
	// Groups maps an approver role to a Slack user group (an S… id): its
	// members join the role when an incident opens, and approval requests
	// mention the group.
	Groups map[string]string `yaml:"groups"`
}

// Identity returns the aisoar identity of a Slack user: its mapping in
// Users, or the Slack user id itself.
func (s *Slack) Identity(userID string) string {
	if id, ok := s.Users[userID]; ok && id != "" {
		return id
	}
	return userID
}

// Secret names where a secret is kept: an environment variable, a file, or
// a field of a Vault secret ("secret/data/aisoar/splunk#token", read with
// the VAULT_ADDR and VAULT_TOKEN of the environment; KV v1 and v2 both work).
type Secret struct {
	Env   string `yaml:"env"`
	File  string `yaml:"file"`
	Vault string `yaml:"vault"`
}

// IsSet reports whether the secret names a place.
func (s Secret) IsSet() bool { return s.Env != "" || s.File != "" || s.Vault != "" }

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
	case s.Vault != "":
		return readVault(s.Vault)
	}
	return "", errors.New("no secret configured (set env, file or vault)")
}

// vaultTimeout bounds reading one secret from Vault.
const vaultTimeout = 10 * time.Second

// readVault reads "path#field" from Vault.
func readVault(ref string) (string, error) {
	path, field, ok := strings.Cut(ref, "#")
	if !ok || path == "" || field == "" {
		return "", fmt.Errorf("vault secret %q must be path#field, like secret/data/aisoar/splunk#token", ref)
	}
	client, err := vault.NewClient(vault.DefaultConfig())
	if err != nil {
		return "", fmt.Errorf("vault client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), vaultTimeout)
	defer cancel()
	secret, err := client.Logical().ReadWithContext(ctx, path)
	if err != nil {
		return "", fmt.Errorf("reading %s from Vault at %s: %w", path, client.Address(), err)
	}
	if secret == nil || secret.Data == nil {
		return "", fmt.Errorf("Vault has no secret at %s", path)
	}
	data := secret.Data
	if inner, ok := data["data"].(map[string]any); ok {
		if _, v2 := data["metadata"]; v2 {
			data = inner // KV version 2 wraps the fields
		}
	}
	value, ok := data[field].(string)
	if !ok || value == "" {
		return "", fmt.Errorf("Vault secret %s has no string field %q", path, field)
	}
	return value, nil
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
		return nil, fmt.Errorf("%s: %w", name, explainUnknownKeys(data, err))
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, nil
}

// yamlUnknownKey matches yaml.v3's message for a key no field takes.
var yamlUnknownKey = regexp.MustCompile(`^line (\d+): field (.+) not found in type (\S+)$`)

// explainUnknownKeys rewrites yaml.v3's messages for unknown keys, which
// name Go types ("field aws not found in type config.Target"), into ones
// that name the file's section and the keys it takes.
func explainUnknownKeys(data []byte, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	keys := map[string][]string{}
	collectKeys(reflect.TypeFor[Config](), keys)
	out := &yaml.TypeError{Errors: slices.Clone(te.Errors)}
	for i, msg := range out.Errors {
		m := yamlUnknownKey.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		line, _ := strconv.Atoi(m[1])
		out.Errors[i] = fmt.Sprintf("line %d: unknown key %s", line, m[2])
		switch section, found := sectionOf(&root, line, m[2], ""); {
		case found && section == "":
			out.Errors[i] += " at the top level"
		case found:
			out.Errors[i] += " in " + section
		}
		if valid := keys[m[3]]; len(valid) > 0 {
			out.Errors[i] += " (valid keys: " + strings.Join(valid, ", ") + ")"
		}
	}
	return out
}

// collectKeys records the YAML keys of t and of every struct type it
// holds, by Go type name (config.Target).
func collectKeys(t reflect.Type, keys map[string][]string) {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		collectKeys(t.Elem(), keys)
	case reflect.Struct:
		if _, seen := keys[t.String()]; seen || t.PkgPath() != reflect.TypeFor[Config]().PkgPath() {
			return
		}
		keys[t.String()] = nil
		for f := range t.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			keys[t.String()] = append(keys[t.String()], cmp.Or(name, strings.ToLower(f.Name)))
			collectKeys(f.Type, keys)
		}
	}
}

// sectionOf finds the mapping that holds key at line and returns its
// path, such as targets.store.auth ("" for the top level).
func sectionOf(n *yaml.Node, line int, key, path string) (string, bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if p, ok := sectionOf(c, line, key, path); ok {
				return p, true
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if p, ok := sectionOf(c, line, key, fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, true
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Line == line && k.Value == key {
				return path, true
			}
			if p, ok := sectionOf(n.Content[i+1], line, key, strings.TrimPrefix(path+"."+k.Value, ".")); ok {
				return p, true
			}
		}
	}
	return "", false
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
	if c.Triage != nil && c.Triage.Default == "" {
		c.Triage.Default = ClassAIIncident
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

var sourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// slackUserID matches Slack user ids: U… for workspace members, W… for
// Enterprise Grid.
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]+$`)

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
	if t := c.TLS; t != nil && (t.CertFile == "" || t.KeyFile == "") {
		add("tls: cert_file and key_file are both required to serve HTTPS")
	}
	if tls := c.Temporal.TLS; tls != nil && (tls.CertFile == "") != (tls.KeyFile == "") {
		add("temporal.tls: cert_file and key_file go together")
	}
	for i, t := range c.APITokens {
		if t.User == "" {
			add("api_tokens[%d]: user is required", i)
		}
		if !t.Token.IsSet() {
			add("api_tokens[%d]: token needs env, file or vault", i)
		}
	}
	c.validateRoles(add)
	c.validateTriage(add)
	for _, name := range slices.Sorted(maps.Keys(c.Sources)) {
		s := c.Sources[name]
		if !sourceName.MatchString(name) {
			add("sources.%s: a source name must be lowercase letters, digits, '-' or '_' (it is part of the webhook URL)", name)
		}
		validateVerify("sources."+name+".verify", &s.Verify, add)
		if len(s.ClientCertSubjects) > 0 && (c.TLS == nil || c.TLS.ClientCAFile == "") {
			add("sources.%s.client_cert_subjects needs tls.client_ca_file, so the server asks for client certificates", name)
		}
		if !slices.Contains(DecoderTypes, s.Decoder.Type) {
			add("sources.%s.decoder.type %q is unknown: use one of %s", name, s.Decoder.Type, strings.Join(DecoderTypes, ", "))
		}
		if len(s.Decoder.Mapping) > 0 && s.Decoder.Type != DecoderGeneric {
			add("sources.%s.decoder.mapping is for the generic decoder; use decoder.cel to adjust a %s payload", name, s.Decoder.Type)
		}
		for _, field := range slices.Sorted(maps.Keys(s.Decoder.CEL)) {
			if !slices.Contains(mappingFields, field) {
				add("sources.%s.decoder.cel: %q is not an alert field (one of %s)", name, field, strings.Join(mappingFields, ", "))
			}
		}
		for _, cidr := range append(slices.Clone(s.AllowIPs), s.TrustedProxies...) {
			if _, err := netip.ParsePrefix(cidr); err != nil {
				if _, err := netip.ParseAddr(cidr); err != nil {
					add("sources.%s: %q is not an IP address or CIDR", name, cidr)
				}
			}
		}
		if r := s.RateLimit; r != nil && (r.PerSecond <= 0 || r.Burst < 1) {
			add("sources.%s.rate_limit needs per_second > 0 and burst >= 1", name)
		}
		for _, field := range slices.Sorted(maps.Keys(s.Decoder.Mapping)) {
			if !slices.Contains(mappingFields, field) {
				add("sources.%s.decoder.mapping: %q is not an alert field (one of %s)", name, field, strings.Join(mappingFields, ", "))
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Actions.HTTP.Credentials)) {
		if !c.Actions.HTTP.Credentials[name].Secret.IsSet() {
			add("actions.http.credentials.%s.secret needs env, file or vault", name)
		}
	}
	validateTargets(c.Targets, add)
	c.validateEvidence(add)
	c.Governance.validate(add)
	if c.Slack != nil {
		validateSlack(c.Slack, add)
	}
	return errors.Join(errs...)
}

// validateSlack checks that the Slack settings can post and can take
// interactions by the chosen transport.
func validateSlack(s *Slack, add func(string, ...any)) {
	if !s.BotToken.IsSet() {
		add("slack.bot_token needs env, file or vault (the bot's xoxb- token, for posting approvals)")
	}
	switch {
	case s.SocketMode && !s.AppToken.IsSet():
		add("slack.app_token needs env, file or vault: socket_mode connects with the app-level xapp- token")
	case !s.SocketMode && !s.SigningSecret.IsSet():
		add("slack.signing_secret needs env, file or vault: it verifies the requests Slack sends (or set socket_mode and app_token)")
	}
	if s.APIURL != "" {
		if u, err := url.Parse(s.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			add("slack.api_url %q is not an http(s) URL", s.APIURL)
		}
	}
	for _, role := range slices.Sorted(maps.Keys(s.Channels)) {
		if strings.TrimSpace(s.Channels[role]) == "" {
			add("slack.channels.%s: name a channel id (C0123ABCD) or #name", role)
		}
	}
	for _, user := range slices.Sorted(maps.Keys(s.Users)) {
		if !slackUserID.MatchString(user) {
			add("slack.users: %q is not a Slack user id (like U0123ABCD; find it in the member's profile, under Copy member ID)", user)
		}
		if strings.TrimSpace(s.Users[user]) == "" {
			add("slack.users.%s: name the aisoar identity the user acts as (as listed in roles)", user)
		}
	}
	for _, role := range slices.Sorted(maps.Keys(s.Groups)) {
		if !slackGroupID.MatchString(s.Groups[role]) {
			add("slack.groups.%s: %q is not a Slack user group id (like S0123ABCD)", role, s.Groups[role])
		}
	}
}

// slackGroupID matches Slack user group ids.
var slackGroupID = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)

// validateVerify checks that a verifier has what its type needs.
func validateVerify(at string, v *Verify, add func(string, ...any)) {
	needsSecret := true
	switch v.Type {
	case VerifyStandardWebhooks, VerifyBearer:
	case VerifyHMAC:
		if v.HMAC.Header == "" {
			add("%s.hmac.header is required (the header that carries the signature)", at)
		}
	case VerifyJWT:
		needsSecret = false
		if v.JWT.JWKSURL == "" || v.JWT.Issuer == "" || len(v.JWT.Audience) == 0 {
			add("%s.jwt needs jwks_url, issuer and audience", at)
		}
	case VerifyBasic:
		if v.Basic.User == "" {
			add("%s.basic.user is required; the password is the secret", at)
		}
	case VerifyQueryToken:
		if v.Query.Param == "" {
			add("%s.query_token.param is required (the URL query parameter that carries the token)", at)
		}
	case "":
		add("%s.type is required: one of %s (unverified webhooks are not accepted)", at, strings.Join(verifyTypes, ", "))
		return
	default:
		add("%s.type %q is unknown: use one of %s", at, v.Type, strings.Join(verifyTypes, ", "))
		return
	}
	if needsSecret && !v.Secret.IsSet() {
		add("%s.secret needs env, file or vault", at)
	}
}
