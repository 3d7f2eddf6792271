package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadFull(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	builtin := false
	want := &Config{
		Listen: "0.0.0.0:9090",
		TLS:    &ServerTLS{CertFile: "/etc/aisoar/tls.crt", KeyFile: "/etc/aisoar/tls.key", ClientCAFile: "/etc/aisoar/clients-ca.pem"},
		Temporal: Temporal{
			Address:   "temporal.internal:7233",
			Namespace: "ai-security",
			TaskQueue: "aisoar-prod",
			TLS: &TLS{
				CAFile:     "/etc/aisoar/temporal-ca.pem",
				CertFile:   "/etc/aisoar/temporal.pem",
				KeyFile:    "/etc/aisoar/temporal-key.pem",
				ServerName: "temporal.internal",
			},
			APIKey: Secret{Env: "AISOAR_TEMPORAL_API_KEY"},
		},
		Playbooks:      []string{"/etc/aisoar/playbooks", "./local-playbooks"},
		BuiltinLibrary: &builtin,
		Assets:         "/etc/aisoar/assets.yaml",
		MaxBodyBytes:   262144,
		Roles: map[string]Role{
			"ai-oncall":     {Members: []string{"alice@example.com", "bob@example.com"}},
			"security-lead": {Members: []string{"carol@example.com"}},
			"risk":          {Members: []string{"dana@example.com"}, SlackChannel: "#ai-risk", Title: "Risk/Governance"},
		},
		Triage: &Triage{
			Rules: []TriageRule{
				{Name: "drift", When: `alert.category in ["model_performance", "drift"] && !("AML.T0020" in alert.techniques)`, Class: ClassPerformance},
				{Name: "owned-by-data-science", When: `asset.owner == "data-science" && alert.severity <= 2`, Class: ClassPerformance},
			},
			Default: ClassAIIncident,
		},
		APITokens: []APIToken{
			{User: "alice@example.com", Token: Secret{Env: "AISOAR_TOKEN_ALICE"}},
			{User: "ci-bot", Token: Secret{File: "/run/secrets/aisoar-ci-token"}},
			{User: "soar-bridge", Token: Secret{Vault: "secret/data/aisoar/tokens#bridge"}},
		},
		Sources: map[string]Source{
			"llm-gateway": {
				Verify: Verify{Type: VerifyStandardWebhooks, Secret: Secret{Env: "AISOAR_GATEWAY_WHSEC"}},
				Decoder: Decoder{Type: DecoderGeneric, Mapping: map[string]string{
					"id":             "event.id",
					"rule":           "detection.rule_id",
					"title":          "detection.name",
					"severity":       "detection.severity",
					"status":         "detection.status",
					"time":           "event.timestamp",
					"category":       "detection.category",
					"techniques":     "detection.atlas_techniques",
					"group_key":      "session.id",
					"asset.model":    "request.model",
					"asset.endpoint": "request.endpoint",
					"asset.pipeline": "request.pipeline",
					"asset.tenant":   "tenant.id",
					"asset.key_id":   "auth.key_id",
					"labels":         "event.labels",
				}},
			},
			"guardrails_v2": {
				Verify:  Verify{Type: VerifyBearer, Secret: Secret{File: "/run/secrets/guardrails-token"}},
				Decoder: Decoder{Type: DecoderGeneric}, // the default
			},
			"grafana": {
				Verify: Verify{Type: VerifyHMAC, Secret: Secret{Env: "GRAFANA_SECRET"}, HMAC: HMAC{
					Header: "X-Grafana-Alerting-Signature", Algorithm: "sha256", Encoding: "hex", Prefix: "v0=",
					TimestampHeader: "X-Grafana-Alerting-Signature-Timestamp", Tolerance: 5 * time.Minute, SignedString: "{timestamp}:{body}",
				}},
				Decoder: Decoder{Type: DecoderGrafana, CEL: map[string]string{
					"category": `payload.commonLabels.team == "ml" ? "model_extraction" : "other"`,
				}},
				AllowIPs: []string{"10.0.0.0/8"}, TrustedProxies: []string{"10.1.2.3"}, ClientCertSubjects: []string{"grafana.internal"},
				RateLimit: &RateLimit{PerSecond: 50, Burst: 200}, DryRun: true,
			},
			"azure": {
				Verify: Verify{Type: VerifyJWT, JWT: JWT{
					JWKSURL: "https://login.microsoftonline.com/common/discovery/v2.0/keys", Issuer: "https://sts.windows.net/tenant/",
					Audience: []string{"api://aisoar"}, Roles: []string{"Alerts.Send"}, Scopes: []string{"alerts.write"},
				}},
				Decoder: Decoder{Type: DecoderAzureMonitor},
			},
			"splunk": {
				Verify:  Verify{Type: VerifyQueryToken, Secret: Secret{Env: "SPLUNK_TOKEN"}, Query: QueryToken{Param: "token"}},
				Decoder: Decoder{Type: DecoderSplunk},
			},
			"legacy": {
				Verify:  Verify{Type: VerifyBasic, Secret: Secret{Env: "LEGACY_PASSWORD"}, Basic: BasicAuth{User: "siem"}},
				Decoder: Decoder{Type: DecoderGeneric},
			},
		},
		Actions: Actions{HTTP: HTTPAction{
			AllowHosts:  []string{"*.example.com", "api.pagerduty.com:443", "127.0.0.1:*"},
			Credentials: map[string]HTTPCredential{"litellm": {Header: "Authorization", Scheme: "Bearer", Secret: Secret{Env: "LITELLM_MASTER_KEY"}}},
		}},
		Targets: map[string]Target{
			"gateway": {Kind: TargetLiteLLM, URL: "https://litellm.internal:4000", Auth: TargetAuth{Bearer: &Secret{Env: "LITELLM_MASTER_KEY"}}},
			"kong": {Kind: TargetKong, URL: "http://kong-admin.internal:8001",
				Auth: TargetAuth{Header: &HeaderAuth{Name: "Kong-Admin-Token", Value: Secret{Env: "KONG_ADMIN_TOKEN"}}}},
			"serving": {Kind: TargetKServe, URL: "https://kubernetes.default.svc", CAFile: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
				Namespace: "models", Auth: TargetAuth{Bearer: &Secret{File: "/var/run/secrets/kubernetes.io/serviceaccount/token"}}},
			"airflow": {Kind: TargetAirflow, URL: "https://airflow.internal",
				Auth: TargetAuth{Basic: &BasicSecret{Username: "aisoar", Password: Secret{Env: "AIRFLOW_PASSWORD"}}}},
			"evidence": {Kind: TargetS3, URL: "https://minio.internal:9000", Region: "us-east-1", Bucket: "ai-evidence",
				Auth: TargetAuth{AWS: &AWSAuth{AccessKeyID: "AKIAAISOAR", SecretAccessKey: Secret{Env: "EVIDENCE_SECRET_KEY"}}}},
			"vault": {Kind: TargetVault, URL: "https://vault.internal:8200",
				Auth: TargetAuth{Header: &HeaderAuth{Name: "X-Vault-Token", Value: Secret{File: "/run/secrets/vault-token"}}}},
		},
		Evidence: Evidence{
			Dir: "/var/lib/aisoar/evidence", Store: "evidence", MaxItemBytes: 100 << 20,
			Signing: EvidenceSigning{KeyFile: "/etc/aisoar/evidence-signing.pem",
				Transit: &Transit{Target: "vault", Mount: "transit-aisoar", Key: "aisoar-evidence"}},
		},
		Attestation: Attestation{Keys: map[string]AttestationKey{
			"model-release": {File: "/etc/aisoar/model-release.pub"},
			"mlops":         {Transit: &Transit{Target: "vault", Mount: "transit-models", Key: "model-signing"}},
		}},
		Governance: Governance{Reattest: Reattest{Cron: "30 1 * * *", TimeZone: "Europe/Paris"}, CoverageWindow: 336 * time.Hour},
		Slack: &Slack{
			BotToken:      Secret{Env: "SLACK_BOT_TOKEN"},
			SigningSecret: Secret{File: "/run/secrets/slack-signing-secret"},
			AppToken:      Secret{Vault: "secret/data/aisoar/slack#app_token"},
			SocketMode:    true,
			APIURL:        "https://slack-proxy.internal/api/",
			Channels:      map[string]string{"ai-oncall": "C0123ONCALL", "security-lead": "#security-leads"},
			Users:         map[string]string{"U0123ALICE": "alice@example.com", "U0456CAROL": "carol@example.com"},
			Groups:        map[string]string{"ai-oncall": "S0123ONCALL"},
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load(full.yaml) =\n%+v\nwant\n%+v", c, want)
	}
	if c.UseBuiltinLibrary() {
		t.Error("UseBuiltinLibrary() = true, want false (builtin_library: false)")
	}
	if got, want := c.RoleNames(), []string{"ai-oncall", "risk", "security-lead"}; !slices.Equal(got, want) {
		t.Errorf("RoleNames() = %v, want %v", got, want)
	}
	wantChannels := map[string]string{"ai-oncall": "C0123ONCALL", "security-lead": "#security-leads", "risk": "#ai-risk"}
	if got := c.SlackChannels(); !reflect.DeepEqual(got, wantChannels) {
		t.Errorf("SlackChannels() = %v, want %v", got, wantChannels)
	}
	wantTitles := map[string]string{"ai-oncall": "ai-oncall", "security-lead": "security-lead", "risk": "Risk/Governance"}
	if got := c.RoleTitles(); !reflect.DeepEqual(got, wantTitles) {
		t.Errorf("RoleTitles() = %v, want %v", got, wantTitles)
	}
}

// TestFullCoversEveryField keeps testdata/full.yaml complete: a field
// added to Config must be added there too.
func TestFullCoversEveryField(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	set := map[string]bool{}
	setFields(reflect.ValueOf(*c), "", set)
	var missing []string
	for _, f := range fields(reflect.TypeFor[Config](), "") {
		if !set[f] {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		t.Errorf("testdata/full.yaml does not set %s", strings.Join(missing, ", "))
	}
}

var secretType = reflect.TypeFor[Secret]()

// fields lists the settings of a config type by Go field path; a Secret
// is one setting, since it is given as env or as file.
func fields(t reflect.Type, path string) []string {
	switch {
	case t == secretType:
		return []string{path}
	case t.Kind() == reflect.Pointer, t.Kind() == reflect.Slice, t.Kind() == reflect.Map:
		return fields(t.Elem(), path)
	case t.Kind() == reflect.Struct:
		var out []string
		for i := range t.NumField() {
			out = append(out, fields(t.Field(i).Type, strings.TrimPrefix(path+"."+t.Field(i).Name, "."))...)
		}
		return out
	}
	return []string{path}
}

// setFields records the settings of v that have a value, in any element of
// a list or map.
func setFields(v reflect.Value, path string, set map[string]bool) {
	switch {
	case v.Type() == secretType:
		if v.Interface().(Secret).IsSet() {
			set[path] = true
		}
	case v.Kind() == reflect.Pointer:
		if !v.IsNil() {
			if v.Elem().Kind() != reflect.Struct {
				set[path] = true // a pointer to a scalar is set even to its zero value
			}
			setFields(v.Elem(), path, set)
		}
	case v.Kind() == reflect.Slice:
		for i := range v.Len() {
			setFields(v.Index(i), path, set)
		}
	case v.Kind() == reflect.Map:
		for _, k := range v.MapKeys() {
			setFields(v.MapIndex(k), path, set)
		}
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			setFields(v.Field(i), strings.TrimPrefix(path+"."+v.Type().Field(i).Name, "."), set)
		}
	default:
		if !v.IsZero() {
			set[path] = true
		}
	}
}

func TestParseEmpty(t *testing.T) {
	for _, data := range []string{"", "# nothing configured yet\n"} {
		c, err := Parse("aisoar.yaml", []byte(data))
		if err != nil {
			t.Fatalf("Parse(%q): %v", data, err)
		}
		if c.Listen != DefaultListen || c.Temporal.Address != DefaultAddress {
			t.Errorf("Parse(%q) = %+v, want the defaults", data, c)
		}
	}
}

// source is a valid source for the invalid-config cases to vary.
const source = `
sources:
  gw:
    verify:
      type: bearer
      secret: {env: GW_TOKEN}
`

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must appear in the error
	}{
		{
			name: "unknown key",
			yaml: "listen: 127.0.0.1:8080\nlisten_addr: 0.0.0.0:80\n",
			want: []string{"line 2: unknown key listen_addr at the top level (valid keys: listen, tls, temporal, playbooks, "},
		},
		{
			name: "unknown nested key",
			yaml: "sources:\n  gw:\n    verify:\n      type: bearer\n      secrets: {env: X}\n",
			want: []string{"line 5: unknown key secrets in sources.gw.verify (valid keys: type, secret, hmac, jwt, basic, query_token)"},
		},
		{
			name: "unknown key of a target, named without Go types",
			yaml: "targets:\n  store:\n    kind: s3\n    url: http://minio:9000\n    bucket: b\n    aws: {access_key_id: AKIA}\n",
			want: []string{"line 6: unknown key aws in targets.store (valid keys: kind, url, ca_file, auth, namespace, region, bucket)"},
		},
		{
			name: "unknown key in a list",
			yaml: "api_tokens:\n  - user: a\n    tokn: {env: X}\n",
			want: []string{"line 3: unknown key tokn in api_tokens[0] (valid keys: user, token)"},
		},
		{
			name: "wrong type",
			yaml: "max_body_bytes: lots\n",
			want: []string{"line 1", "lots"},
		},
		{
			name: "bad listen",
			yaml: "listen: \"8080\"\n",
			want: []string{`listen: "8080" is not host:port`},
		},
		{
			name: "bad targets",
			yaml: "targets:\n  gw:\n    kind: litelm\n    url: litellm:4000\n  Store:\n    kind: s3\n    url: http://minio:9000\n" +
				"    auth:\n      bearer: {env: X}\n      basic: {username: u}\n",
			want: []string{`targets.gw.kind "litelm" is unknown`, `targets.gw.url "litellm:4000" must be an http or https URL`,
				"targets.Store: a target name must be lowercase", "targets.Store.bucket is required",
				"targets.Store.auth.basic.password needs env, file or vault", "targets.Store.auth: set one of bearer, header, basic or aws, not 2"},
		},
		{
			name: "evidence and attestation settings that name nothing",
			yaml: "targets:\n  store: {kind: http, url: http://x}\nevidence:\n  store: store\n  max_item_bytes: -1\n  signing:\n    transit: {target: nope}\n" +
				"attestation:\n  keys:\n    a: {}\n    b: {file: /k.pub, transit: {target: store, key: k}}\n",
			want: []string{`evidence.store: target "store" is a http target, not s3`, "evidence.max_item_bytes must be positive",
				"evidence.signing.transit.key is required", `evidence.signing.transit.target: no target "nope"`,
				"attestation.keys.a: set file", "attestation.keys.b: set file", `attestation.keys.b.transit.target: target "store" is a http target, not vault`},
		},
		{
			name: "negative max body",
			yaml: "max_body_bytes: -1\n",
			want: []string{"max_body_bytes must be between 1 and"},
		},
		{
			name: "max body over the ceiling",
			yaml: "max_body_bytes: 8388608\n",
			want: []string{"max_body_bytes must be between 1 and 4194304"},
		},
		{
			name: "missing verify type",
			yaml: "sources:\n  gw:\n    decoder: {type: generic}\n",
			want: []string{"sources.gw.verify.type is required", "standard-webhooks", "bearer"},
		},
		{
			name: "unknown verify type",
			yaml: "sources:\n  gw:\n    verify: {type: oauth, secret: {env: X}}\n",
			want: []string{`sources.gw.verify.type "oauth" is unknown`},
		},
		{
			name: "verifiers missing their settings",
			yaml: "sources:\n  a:\n    verify: {type: hmac, secret: {env: X}}\n  b:\n    verify: {type: jwt}\n  c:\n    verify: {type: basic, secret: {env: X}}\n  d:\n    verify: {type: query-token, secret: {env: X}}\n",
			want: []string{"sources.a.verify.hmac.header is required", "sources.b.verify.jwt needs jwks_url, issuer and audience",
				"sources.c.verify.basic.user is required", "sources.d.verify.query_token.param is required"},
		},
		{
			name: "bad network settings and rate limit",
			yaml: source + "    allow_ips: [10.0.0.0/33, not-an-ip]\n    rate_limit: {per_second: 0, burst: 0}\n",
			want: []string{`"10.0.0.0/33" is not an IP address or CIDR`, `"not-an-ip" is not an IP address`, "rate_limit needs per_second > 0"},
		},
		{
			name: "mapping on a vendor decoder and a bad cel field",
			yaml: source + "    decoder: {type: splunk, mapping: {title: x}, cel: {owner: x}}\n",
			want: []string{"decoder.mapping is for the generic decoder", `decoder.cel: "owner" is not an alert field`},
		},
		{
			name: "missing secret",
			yaml: "sources:\n  gw:\n    verify: {type: standard-webhooks}\n",
			want: []string{"sources.gw.verify.secret needs env, file or vault"},
		},
		{
			name: "bad source name",
			yaml: "sources:\n  LLM Gateway:\n    verify: {type: bearer, secret: {env: X}}\n",
			want: []string{"sources.LLM Gateway: a source name must be lowercase"},
		},
		{
			name: "unknown decoder type",
			yaml: source + "    decoder: {type: qradar}\n",
			want: []string{`sources.gw.decoder.type "qradar" is unknown`},
		},
		{
			name: "unknown mapping field",
			yaml: source + "    decoder:\n      mapping: {asset.owner: team}\n",
			want: []string{`sources.gw.decoder.mapping: "asset.owner" is not an alert field`, "asset.tenant"},
		},
		{
			name: "role with no members",
			yaml: "roles:\n  soc: []\n",
			want: []string{"roles.soc: a role needs at least one member"},
		},
		{
			name: "role left empty",
			yaml: "roles:\n  soc:\n",
			want: []string{"roles.soc: a role needs at least one member"},
		},
		{
			name: "role mapping with an unknown key",
			yaml: "roles:\n  risk:\n    members: [dana]\n    channel: \"#risk\"\n",
			want: []string{"line 4", `unknown key "channel" in a role`, "slack_channel"},
		},
		{
			name: "role that is neither a list nor a mapping",
			yaml: "roles:\n  soc: alice\n",
			want: []string{"line 2", "a role is a list of members, or a mapping"},
		},
		{
			name: "role mapping without members",
			yaml: "roles:\n  risk: {title: Risk}\n",
			want: []string{"roles.risk: a role needs at least one member"},
		},
		{
			name: "role and slack name different channels",
			yaml: "roles:\n  soc: {members: [alice], slack_channel: \"#soc\"}\nslack:\n  bot_token: {env: B}\n  signing_secret: {env: S}\n  channels: {soc: \"#secops\"}\n",
			want: []string{`roles.soc.slack_channel "#soc" and slack.channels.soc "#secops" name different channels`},
		},
		{
			name: "triage rules missing their parts",
			yaml: "triage:\n  rules:\n    - {when: 'true', class: performance}\n    - {name: a, class: perf}\n    - {name: a, when: 'true', class: ai_incident}\n  default: security\n",
			want: []string{"triage.rules[0].name is required", "triage.rules[1].when is required",
				`triage.rules[1].class "perf" is not a triage class: use ai_incident or performance`,
				`triage.rules[2].name "a" is also the name of triage.rules[1]`, `triage.default "security" is not a triage class`},
		},
		{
			name: "api token without user",
			yaml: "api_tokens:\n  - token: {env: T}\n",
			want: []string{"api_tokens[0]: user is required"},
		},
		{
			name: "api token without secret",
			yaml: "api_tokens:\n  - user: alice\n  - user: bob\n    token: {file: /t}\n",
			want: []string{"api_tokens[0]: token needs env, file or vault"},
		},
		{
			name: "tls cert without key",
			yaml: "temporal:\n  tls: {cert_file: /c.pem}\n",
			want: []string{"temporal.tls: cert_file and key_file go together"},
		},
		{
			name: "tls key without cert",
			yaml: "temporal:\n  tls: {key_file: /k.pem}\n",
			want: []string{"temporal.tls: cert_file and key_file go together"},
		},
		{
			name: "slack without tokens",
			yaml: "slack:\n  channels: {soc: C1}\n",
			want: []string{"slack.bot_token needs env, file or vault", "slack.signing_secret needs env, file or vault"},
		},
		{
			name: "slack socket mode without an app token",
			yaml: "slack:\n  bot_token: {env: B}\n  socket_mode: true\n",
			want: []string{"slack.app_token needs env, file or vault"},
		},
		{
			name: "slack settings that name nothing",
			yaml: "slack:\n  bot_token: {env: B}\n  signing_secret: {env: S}\n  api_url: slack.internal\n  channels: {soc: \"\"}\n  users: {alice: alice, U0BOB: \"\"}\n",
			want: []string{`slack.api_url "slack.internal" is not an http(s) URL`, "slack.channels.soc: name a channel id",
				`slack.users: "alice" is not a Slack user id`, "slack.users.U0BOB: name the aisoar identity"},
		},
		{
			name: "two problems are both reported",
			yaml: "listen: nowhere\nroles:\n  soc: []\n",
			want: []string{`listen: "nowhere" is not host:port`, "roles.soc: a role needs at least one member"},
		},
		{
			name: "every problem is reported",
			yaml: `
listen: localhost
temporal:
  tls: {cert_file: /c.pem}
max_body_bytes: -5
roles:
  soc: []
api_tokens:
  - {}
sources:
  Bad:
    verify: {type: bearer}
  gw:
    decoder:
      type: generic
      mapping: {owner: x}
`,
			want: []string{
				`listen: "localhost" is not host:port`,
				"temporal.tls",
				"max_body_bytes",
				"roles.soc",
				"api_tokens[0]: user is required",
				"api_tokens[0]: token needs env, file or vault",
				"sources.Bad: a source name",
				"sources.Bad.verify.secret",
				"sources.gw.verify.type is required",
				`"owner" is not an alert field`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("aisoar.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error mentioning %q", tt.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "aisoar.yaml: ") {
				t.Errorf("error %q does not start with the file name", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not mention %q:\n%s", w, msg)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aisoar.yaml")
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load of a missing file: error %v, want one naming %s", err, path)
	}
}

func TestSecretResolve(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "token")
	if err := os.WriteFile(secretFile, []byte("  s3cret-from-file\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missingFile := filepath.Join(dir, "absent")
	t.Setenv("AISOAR_TEST_SECRET", "s3cret-from-env")
	t.Setenv("AISOAR_TEST_EMPTY", "")
	t.Setenv("AISOAR_TEST_UNSET", "")
	os.Unsetenv("AISOAR_TEST_UNSET") // t.Setenv restores it after the test

	tests := []struct {
		name    string
		secret  Secret
		want    string
		wantErr string // "" means no error
	}{
		{name: "env", secret: Secret{Env: "AISOAR_TEST_SECRET"}, want: "s3cret-from-env"},
		{name: "env unset", secret: Secret{Env: "AISOAR_TEST_UNSET"}, wantErr: "environment variable AISOAR_TEST_UNSET is not set"},
		{name: "env empty", secret: Secret{Env: "AISOAR_TEST_EMPTY"}, wantErr: "AISOAR_TEST_EMPTY"},
		{name: "file is trimmed", secret: Secret{File: secretFile}, want: "s3cret-from-file"},
		{name: "missing file", secret: Secret{File: missingFile}, wantErr: missingFile},
		{name: "env wins over file", secret: Secret{Env: "AISOAR_TEST_SECRET", File: secretFile}, want: "s3cret-from-env"},
		{name: "neither", secret: Secret{}, wantErr: "set env, file or vault"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.secret.IsSet(); got != (tt.secret != Secret{}) {
				t.Errorf("IsSet() = %t", got)
			}
			got, err := tt.secret.Resolve()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve() = %q, %v; want an error mentioning %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got != tt.want {
				t.Errorf("Resolve() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestApplyDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Config
		want Config
	}{
		{
			name: "empty",
			in:   Config{},
			want: Config{
				Listen:       DefaultListen,
				Temporal:     Temporal{Address: DefaultAddress, Namespace: DefaultNamespace, TaskQueue: DefaultTaskQueue},
				MaxBodyBytes: DefaultMaxBodyBytes,
			},
		},
		{
			name: "set values are kept",
			in: Config{
				Listen:       ":9000",
				Temporal:     Temporal{Address: "t:1", Namespace: "ns", TaskQueue: "q"},
				MaxBodyBytes: 10,
			},
			want: Config{
				Listen:       ":9000",
				Temporal:     Temporal{Address: "t:1", Namespace: "ns", TaskQueue: "q"},
				MaxBodyBytes: 10,
			},
		},
		{
			name: "source decoders default to generic",
			in: Config{Sources: map[string]Source{
				"a": {},
				"b": {Decoder: Decoder{Type: "other", Mapping: map[string]string{"id": "x"}}},
			}},
			want: Config{
				Listen:       DefaultListen,
				Temporal:     Temporal{Address: DefaultAddress, Namespace: DefaultNamespace, TaskQueue: DefaultTaskQueue},
				MaxBodyBytes: DefaultMaxBodyBytes,
				Sources: map[string]Source{
					"a": {Decoder: Decoder{Type: DecoderGeneric}},
					"b": {Decoder: Decoder{Type: "other", Mapping: map[string]string{"id": "x"}}},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.in
			c.ApplyDefaults()
			if !reflect.DeepEqual(c, tt.want) {
				t.Errorf("ApplyDefaults() =\n%+v\nwant\n%+v", c, tt.want)
			}
		})
	}
}

func TestSlackValid(t *testing.T) {
	tests := []struct {
		name string
		yaml string
	}{
		{"http", "slack:\n  bot_token: {env: B}\n  signing_secret: {env: S}\n"},
		{"socket mode needs no signing secret", "slack:\n  bot_token: {env: B}\n  app_token: {env: A}\n  socket_mode: true\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse("aisoar.yaml", []byte(tt.yaml)); err != nil {
				t.Errorf("Parse: %v", err)
			}
		})
	}
}

func TestSlackIdentity(t *testing.T) {
	s := &Slack{Users: map[string]string{"U0ALICE": "alice@example.com"}}
	tests := []struct{ user, want string }{
		{"U0ALICE", "alice@example.com"},
		{"U0BOB", "U0BOB"},
	}
	for _, tt := range tests {
		if got := s.Identity(tt.user); got != tt.want {
			t.Errorf("Identity(%q) = %q, want %q", tt.user, got, tt.want)
		}
	}
}

func TestUseBuiltinLibrary(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name string
		set  *bool
		want bool
	}{
		{"left out", nil, true},
		{"true", &yes, true},
		{"false", &no, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{BuiltinLibrary: tt.set}
			if got := c.UseBuiltinLibrary(); got != tt.want {
				t.Errorf("UseBuiltinLibrary() = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestRoleForms(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		want     Role
		channels map[string]string
	}{
		{"list", "roles:\n  soc: [alice, bob]\n", Role{Members: []string{"alice", "bob"}}, map[string]string{}},
		{"mapping", "roles:\n  soc:\n    members: [alice]\n    slack_channel: \"#soc\"\n    title: SOC\n",
			Role{Members: []string{"alice"}, SlackChannel: "#soc", Title: "SOC"}, map[string]string{"soc": "#soc"}},
		{"mapping beside slack.channels", "roles:\n  soc: {members: [alice], slack_channel: C0SOC}\n  mlops: [carol]\n" +
			"slack:\n  bot_token: {env: B}\n  signing_secret: {env: S}\n  channels: {soc: C0SOC, mlops: \"#mlops\"}\n",
			Role{Members: []string{"alice"}, SlackChannel: "C0SOC"}, map[string]string{"soc": "C0SOC", "mlops": "#mlops"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("aisoar.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := c.Roles["soc"]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("roles.soc = %+v, want %+v", got, tt.want)
			}
			if got := c.SlackChannels(); !reflect.DeepEqual(got, tt.channels) {
				t.Errorf("SlackChannels() = %v, want %v", got, tt.channels)
			}
			if got := c.RoleMembers()["soc"]; !slices.Equal(got, tt.want.Members) {
				t.Errorf("RoleMembers()[soc] = %v, want %v", got, tt.want.Members)
			}
		})
	}
}

func TestTriageInForce(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want *Triage
	}{
		{"left out", "", DefaultTriage()},
		{"default defaults to ai_incident", "triage:\n  rules:\n    - {name: drift, when: 'alert.category == \"drift\"', class: performance}\n",
			&Triage{Rules: []TriageRule{{Name: "drift", When: `alert.category == "drift"`, Class: ClassPerformance}}, Default: ClassAIIncident}},
		{"no rules", "triage:\n  default: performance\n", &Triage{Default: ClassPerformance}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("aisoar.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := c.TriageInForce(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("TriageInForce() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
