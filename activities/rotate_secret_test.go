package activities

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/aisoar/aisoar/internal/litellmtest"
	"github.com/aisoar/aisoar/internal/vaulttest"
)

const (
	rotateVaultToken = "root-token"
	rotateMasterKey  = "sk-master"
)

// rotateEnv is a Vault double and a LiteLLM double as the targets "vault"
// and "gw".
type rotateEnv struct {
	vault   *vaulttest.Server
	litellm *litellmtest.Server
	targets Targets
}

func newRotateEnv(t *testing.T) *rotateEnv {
	t.Helper()
	e := &rotateEnv{vault: vaulttest.New(t, rotateVaultToken), litellm: litellmtest.New(t, rotateMasterKey)}
	e.targets = rotateTargets(t, e.vault.URL, rotateVaultToken, e.litellm.URL)
	return e
}

func rotateTargets(t *testing.T, vaultURL, token, litellmURL string) Targets {
	t.Helper()
	vu, err := url.Parse(vaultURL)
	if err != nil {
		t.Fatal(err)
	}
	lu, err := url.Parse(litellmURL)
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(secret string) TargetAuth {
		return TargetAuth{Header: "Authorization", Scheme: "Bearer", Secret: staticSecret(secret)}
	}
	return Targets{
		"vault": {Name: "vault", Kind: "vault", URL: vu, Auth: bearer(token)},
		"gw":    {Name: "gw", Kind: "litellm", URL: lu, Auth: bearer(rotateMasterKey)},
	}
}

// run runs rotate_secret in a fresh test environment; every run has the
// same idempotency key, as retries of one step do.
func (e *rotateEnv) run(t *testing.T, p RotateSecretParams) (RotateSecretResult, error) {
	t.Helper()
	return runRotate(t, e.targets, p)
}

func runRotate(t *testing.T, targets Targets, p RotateSecretParams) (RotateSecretResult, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions((&rotateSecretAction{targets: targets}).Run, activity.RegisterOptions{Name: "rotate_secret"})
	val, err := env.ExecuteActivity("rotate_secret", p)
	if err != nil {
		return RotateSecretResult{}, err
	}
	var res RotateSecretResult
	if err := val.Get(&res); err != nil {
		t.Fatalf("decoding the result: %v", err)
	}
	return res, nil
}

// noSecretIn fails the test when the result, encoded as workflow history
// holds it, shows any of the secrets.
func noSecretIn(t *testing.T, res RotateSecretResult, secrets ...string) {
	t.Helper()
	data, _ := json.Marshal(res)
	for _, s := range secrets {
		if s != "" && strings.Contains(string(data), s) {
			t.Errorf("result %s shows a secret", data)
		}
	}
}

func TestRotateSecretKVWrite(t *testing.T) {
	e := newRotateEnv(t)
	e.vault.Put("secret", "apps/chatbot", map[string]any{"db_user": "chatbot", "db_password": "old-password"})
	p := RotateSecretParams{Target: "vault", Operation: "kv_write", Path: "apps/chatbot", Generate: map[string]int{"db_password": 32}}
	res, err := e.run(t, p)
	if err != nil {
		t.Fatal(err)
	}
	want := RotateSecretResult{Operation: "kv_write", Path: "secret/apps/chatbot", Version: 2, PreviousVersion: 1, Fields: []string{"db_password"}}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	versions := e.vault.Versions("secret", "apps/chatbot")
	if len(versions) != 2 {
		t.Fatalf("versions = %d, want 2", len(versions))
	}
	pw, _ := versions[1]["db_password"].(string)
	if len(pw) != 32 || pw == "old-password" || versions[1]["db_user"] != "chatbot" {
		t.Errorf("version 2 = %v: want a new 32-character db_password and db_user kept", versions[1])
	}
	noSecretIn(t, res, pw, "old-password")
	wantCalls := []string{
		"GET /v1/secret/metadata/apps/chatbot",
		"GET /v1/secret/data/apps/chatbot?version=1",
		"PUT /v1/secret/metadata/apps/chatbot",
		"PUT /v1/secret/data/apps/chatbot",
	}
	if got := calls(e.vault); !slices.Equal(got, wantCalls) {
		t.Errorf("Vault saw %q, want %q", got, wantCalls)
	}
	reqs := e.vault.Requests()
	if opts, _ := reqs[3].Body["options"].(map[string]any); opts["cas"] != float64(1) {
		t.Errorf("the write's options = %v, want cas 1", reqs[3].Body["options"])
	}
	if custom, _ := reqs[2].Body["custom_metadata"].(map[string]any); !strings.Contains(custom[rotationMarkKey].(string), `"version":2`) {
		t.Errorf("the mark = %v, want version 2 in %s", reqs[2].Body, rotationMarkKey)
	}

	// A retry (same step) writes nothing more and answers the same.
	again, err := e.run(t, p)
	if err != nil || !reflect.DeepEqual(again, res) {
		t.Errorf("re-run = %+v, %v; want %+v", again, err, res)
	}
	if n := len(e.vault.Versions("secret", "apps/chatbot")); n != 2 {
		t.Errorf("after the re-run there are %d versions, want 2", n)
	}
}

func TestRotateSecretKVWriteNewSecret(t *testing.T) {
	e := newRotateEnv(t)
	res, err := e.run(t, RotateSecretParams{Target: "vault", Operation: "kv_write", Mount: "secret", Path: "/apps/new/", Generate: map[string]int{"a": 16, "b": 64}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 1 || res.PreviousVersion != 0 || !slices.Equal(res.Fields, []string{"a", "b"}) {
		t.Errorf("result = %+v", res)
	}
	v := e.vault.Versions("secret", "apps/new")
	if len(v) != 1 || len(v[0]["a"].(string)) != 16 || len(v[0]["b"].(string)) != 64 {
		t.Errorf("versions = %v", v)
	}
}

func TestRotateSecretRevokeTokenAccessor(t *testing.T) {
	e := newRotateEnv(t)
	token, accessor := e.vault.CreateToken("chatbot")
	p := RotateSecretParams{Target: "vault", Operation: "revoke_token_accessor", Accessor: accessor}
	for run := range 2 { // the second run is a retry after the token is gone
		res, err := e.run(t, p)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if want := (RotateSecretResult{Operation: "revoke_token_accessor", Revoked: accessor}); !reflect.DeepEqual(res, want) {
			t.Errorf("run %d: result = %+v, want %+v", run, res, want)
		}
	}
	if e.vault.TokenValid(token) {
		t.Error("the token is still valid")
	}
	reqs := e.vault.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/v1/auth/token/revoke-accessor" || reqs[0].Body["accessor"] != accessor || reqs[0].Status != 204 || reqs[1].Status != 400 {
		t.Errorf("Vault saw %+v", reqs)
	}
}

func TestRotateSecretRevokeLeasePrefix(t *testing.T) {
	e := newRotateEnv(t)
	e.vault.AddLease("database/creds/chatbot/l1", time.Hour)
	e.vault.AddLease("database/creds/chatbot/l2", time.Hour)
	e.vault.AddLease("database/creds/other/l3", time.Hour)
	e.targets["vault"].Namespace = "ml-platform"
	p := RotateSecretParams{Target: "vault", Operation: "revoke_lease_prefix", Prefix: "database/creds/chatbot/"}
	for range 2 {
		res, err := e.run(t, p)
		if err != nil || res.Revoked != "database/creds/chatbot/" {
			t.Fatalf("result = %+v, %v", res, err)
		}
	}
	if got := e.vault.Leases(); !slices.Equal(got, []string{"database/creds/other/l3"}) {
		t.Errorf("leases left = %v", got)
	}
	// vault/api drops the trailing slash; Vault reads the prefix as a path either way.
	if got := calls(e.vault); !slices.Equal(got, []string{"PUT /v1/sys/leases/revoke-prefix/database/creds/chatbot", "PUT /v1/sys/leases/revoke-prefix/database/creds/chatbot"}) {
		t.Errorf("Vault saw %q", got)
	}
	if ns := e.vault.Requests()[0].Header.Get("X-Vault-Namespace"); ns != "ml-platform" {
		t.Errorf("X-Vault-Namespace = %q, want the target's namespace", ns)
	}
}

// appRoleLogin logs in with the role's role_id and secret_id, as the
// service does.
func appRoleLogin(t *testing.T, e *rotateEnv, role, secretID string) error {
	t.Helper()
	cfg := vault.DefaultConfig()
	cfg.Address = e.vault.URL
	c, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(rotateVaultToken)
	roleID, err := c.Logical().Read("auth/approle/role/" + role + "/role-id")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Logical().Write("auth/approle/login", map[string]any{"role_id": roleID.Data["role_id"], "secret_id": secretID})
	return err
}

func TestRotateSecretAppRoleSecretID(t *testing.T) {
	e := newRotateEnv(t)
	c, err := vault.NewClient(&vault.Config{Address: e.vault.URL})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(rotateVaultToken)
	e.vault.CreateAppRole("chatbot", "chatbot")
	old, err := c.Logical().Write("auth/approle/role/chatbot/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	oldID, oldAccessor := old.Data["secret_id"].(string), old.Data["secret_id_accessor"].(string)
	e.vault.Put("secret", "apps/chatbot/approle", map[string]any{"role_id": "r", "secret_id": oldID})

	// The write of the new version fails once after the secret-id was
	// issued: the retry destroys that orphan and issues another.
	e.vault.FailNext("PUT /v1/secret/data/apps/chatbot/approle", 500, 1)
	p := RotateSecretParams{Target: "vault", Operation: "rotate_approle_secret_id", Role: "chatbot", Path: "apps/chatbot/approle"}
	if _, err := e.run(t, p); err == nil || appError(t, err).NonRetryable() {
		t.Fatalf("with Vault failing the write: %v, want a retryable error", err)
	}
	if n := len(e.vault.SecretIDAccessors("chatbot")); n != 2 {
		t.Fatalf("after the failed attempt the role has %d secret-ids, want 2 (old and orphan)", n)
	}
	res, err := e.run(t, p)
	if err != nil {
		t.Fatal(err)
	}
	versions := e.vault.Versions("secret", "apps/chatbot/approle")
	newID, _ := versions[len(versions)-1]["secret_id"].(string)
	left := e.vault.SecretIDAccessors("chatbot")
	if len(versions) != 2 || versions[1]["role_id"] != "r" || len(left) != 1 || left[0] != res.Issued {
		t.Errorf("versions %v, secret-ids left %v, result %+v: want one secret-id, the stored one", versions, left, res)
	}
	want := RotateSecretResult{Operation: "rotate_approle_secret_id", Path: "secret/apps/chatbot/approle", Version: 2, PreviousVersion: 1, Issued: left[0], Revoked: oldAccessor}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	noSecretIn(t, res, oldID, newID)
	if err := appRoleLogin(t, e, "chatbot", newID); err != nil {
		t.Errorf("login with the new secret-id: %v", err)
	}
	if err := appRoleLogin(t, e, "chatbot", oldID); err == nil {
		t.Error("the old secret-id still logs in")
	}
	again, err := e.run(t, p)
	if err != nil || !reflect.DeepEqual(again, res) || len(e.vault.SecretIDAccessors("chatbot")) != 1 {
		t.Errorf("re-run = %+v, %v; want %+v and no new secret-id", again, err, res)
	}
}

// gatewaySetup stores a LiteLLM key in the KV secret the rotation reads.
func gatewaySetup(e *rotateEnv, k litellmtest.Key) litellmtest.Key {
	old := e.litellm.AddKey(k)
	e.vault.Put("secret", "apps/chatbot", map[string]any{"api_key": old.Key, "base_url": "http://gw"})
	return old
}

var gatewayParams = RotateSecretParams{Target: "vault", Operation: "rotate_gateway_key", Gateway: "gw", Path: "apps/chatbot"}

// checkGatewayRotated checks the invariants of a finished rotation: the
// secret has its old and new versions, the new one holds the only valid
// key, which kept the old key's settings and alias.
func checkGatewayRotated(t *testing.T, e *rotateEnv, old litellmtest.Key, res RotateSecretResult) {
	t.Helper()
	versions := e.vault.Versions("secret", "apps/chatbot")
	if len(versions) != 2 || versions[0]["api_key"] != old.Key || versions[1]["base_url"] != "http://gw" {
		t.Fatalf("versions = %v, want the old key's version and one more, base_url kept", versions)
	}
	newKey, _ := versions[1]["api_key"].(string)
	valid := e.litellm.ValidKeys()
	if len(valid) != 1 || valid[0].Key != newKey {
		t.Fatalf("valid keys = %+v, want only the stored one %q", valid, newKey)
	}
	k := valid[0]
	if k.KeyAlias != old.KeyAlias || k.TeamID != old.TeamID || !slices.Equal(k.Models, old.Models) {
		t.Errorf("new key = %+v, want the old key's alias, team and models", k)
	}
	want := RotateSecretResult{Operation: "rotate_gateway_key", Path: "secret/apps/chatbot", Version: 2, PreviousVersion: 1, Issued: k.Token, Revoked: old.Token}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	noSecretIn(t, res, old.Key, newKey)
}

func TestRotateSecretGatewayKey(t *testing.T) {
	e := newRotateEnv(t)
	old := gatewaySetup(e, litellmtest.Key{KeyAlias: "chatbot-prod", TeamID: "team-chat", Models: []string{"gpt-4o"}, Metadata: map[string]any{"owner": "ml"}})
	res, err := e.run(t, gatewayParams)
	if err != nil {
		t.Fatal(err)
	}
	checkGatewayRotated(t, e, old, res)
	stored := e.litellm.ValidKeys()[0]
	wantGW := []string{
		"GET /key/list?key_alias=" + rotationAlias(stored.Metadata[gatewayMarkField].(map[string]any)["step"].(string)),
		"GET /key/info?key=" + old.Token,
		"POST /key/generate",
		"POST /key/delete",
		"GET /key/info?key=" + stored.Token,
		"POST /key/update",
	}
	if got := calls(e.litellm); !slices.Equal(got, wantGW) {
		t.Errorf("LiteLLM saw %q, want %q", got, wantGW)
	}
	if stored.Metadata["owner"] != "ml" {
		t.Errorf("new key metadata = %v, want the old key's kept", stored.Metadata)
	}
	// The old key is deleted by its token hash, never by its value.
	for _, r := range e.litellm.Requests() {
		if body, _ := json.Marshal(r.Body); strings.Contains(string(body), old.Key) {
			t.Errorf("%s %s carried the old key itself: %s", r.Method, r.Path, body)
		}
	}
	again, err := e.run(t, gatewayParams)
	if err != nil || !reflect.DeepEqual(again, res) {
		t.Errorf("re-run = %+v, %v; want %+v", again, err, res)
	}
	checkGatewayRotated(t, e, old, again)
}

// TestRotateSecretGatewayKeyFailsAnywhere fails each request of the
// rotation once: the failed attempt is retryable, and the retry finishes
// with exactly one valid key, the stored one, and no version lost.
func TestRotateSecretGatewayKeyFailsAnywhere(t *testing.T) {
	tests := []struct {
		vaultPath, gwPath string
	}{
		{vaultPath: "GET /v1/secret/metadata/apps/chatbot"},
		{vaultPath: "PUT /v1/secret/metadata/apps/chatbot"},
		{vaultPath: "GET /v1/secret/data/apps/chatbot"},
		{gwPath: "/key/list"},
		{gwPath: "/key/info"},
		{gwPath: "/key/generate"},
		{vaultPath: "PUT /v1/secret/data/apps/chatbot"},
		{gwPath: "/key/delete"},
		{gwPath: "/key/update"},
	}
	for _, tt := range tests {
		t.Run(tt.vaultPath+tt.gwPath, func(t *testing.T) {
			e := newRotateEnv(t)
			old := gatewaySetup(e, litellmtest.Key{KeyAlias: "chatbot-prod", TeamID: "team-chat", Models: []string{"gpt-4o"}})
			if tt.vaultPath != "" {
				e.vault.FailNext(tt.vaultPath, 503, 1)
			} else {
				e.litellm.FailNext(tt.gwPath, 500, 1)
			}
			if _, err := e.run(t, gatewayParams); err == nil || appError(t, err).NonRetryable() {
				t.Fatalf("first attempt: %v, want a retryable error", err)
			}
			if n := len(e.litellm.ValidKeys()); n < 1 {
				t.Fatal("after the failed attempt no key is valid")
			}
			res, err := e.run(t, gatewayParams)
			if err != nil {
				t.Fatal(err)
			}
			checkGatewayRotated(t, e, old, res)
		})
	}
}

func TestRotateSecretGatewayKeyUndoesThrottle(t *testing.T) {
	e := newRotateEnv(t)
	blocked, rpm0, rpm := true, int64(0), int64(600)
	mark := map[string]any{"idempotency_key": "wf/run/1", "previous": map[string]any{"rpm": rpm, "tpm": nil, "blocked": false}}
	gatewaySetup(e, litellmtest.Key{KeyAlias: "chatbot-prod", Blocked: &blocked, RPMLimit: &rpm0, Metadata: map[string]any{litellmMarkerField: mark}})
	if _, err := e.run(t, gatewayParams); err != nil {
		t.Fatal(err)
	}
	k := e.litellm.ValidKeys()
	if len(k) != 1 || k[0].IsBlocked() || k[0].RPMLimit == nil || *k[0].RPMLimit != rpm || k[0].Metadata[litellmMarkerField] != nil {
		t.Errorf("new key = %+v: want unblocked, rpm %d as before the throttle, no throttle mark", k, rpm)
	}
}

func TestRotateSecretGatewayKeyConflict(t *testing.T) {
	e := newRotateEnv(t)
	old := gatewaySetup(e, litellmtest.Key{KeyAlias: "chatbot-prod"})
	e.vault.FailNextWith("PUT /v1/secret/data/apps/chatbot", 400, "check-and-set parameter did not match the current version")
	_, err := e.run(t, gatewayParams)
	if err == nil || !appError(t, err).NonRetryable() || !strings.Contains(err.Error(), "changed while it was being rotated") {
		t.Fatalf("conflict: %v, want a non-retryable error saying the secret changed", err)
	}
	if valid := e.litellm.ValidKeys(); len(valid) != 1 || valid[0].Token != old.Token {
		t.Errorf("valid keys = %+v, want only the old one (the new one revoked)", valid)
	}
}

func TestRotateSecretErrors(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(e *rotateEnv)
		p         RotateSecretParams
		retryable bool
		msg       string
	}{
		{"permission denied", func(e *rotateEnv) { e.vault.FailNext("/v1/secret/metadata/apps/chatbot", 403, 1) },
			RotateSecretParams{Target: "vault", Operation: "kv_write", Path: "apps/chatbot", Generate: map[string]int{"p": 20}}, false, "permission denied"},
		{"vault sealed", func(e *rotateEnv) { e.vault.FailNext("/v1/sys/leases/revoke-prefix/database/creds/x", 503, 1) },
			RotateSecretParams{Target: "vault", Operation: "revoke_lease_prefix", Prefix: "database/creds/x/"}, true, "Vault is sealed"},
		{"unknown role", nil,
			RotateSecretParams{Target: "vault", Operation: "rotate_approle_secret_id", Role: "nobody", Path: "apps/x"}, false, `role "nobody" does not exist`},
		{"gateway timeout", func(e *rotateEnv) {
			e.litellm.HangNext("/key/generate", 1)
			e.targets["gw"].Client = &http.Client{Timeout: 300 * time.Millisecond}
			e.vault.Put("secret", "apps/chatbot", map[string]any{"api_key": e.litellm.AddKey(litellmtest.Key{}).Key})
		}, gatewayParams, true, "Client.Timeout"},
		{"token instead of accessor", nil, RotateSecretParams{Target: "vault", Operation: "revoke_token_accessor", Accessor: "hvs.CAESIabc"}, false, "looks like a Vault token"},
		{"empty prefix", nil, RotateSecretParams{Target: "vault", Operation: "revoke_lease_prefix", Prefix: "/"}, false, "would revoke every lease"},
		{"generate too short", nil, RotateSecretParams{Target: "vault", Operation: "kv_write", Path: "a", Generate: map[string]int{"p": 8}}, false, "16 to 256"},
		{"path with data/", nil, RotateSecretParams{Target: "vault", Operation: "kv_write", Path: "data/a", Generate: map[string]int{"p": 16}}, false, "without data/"},
		{"gateway not litellm", nil, RotateSecretParams{Target: "vault", Operation: "rotate_gateway_key", Gateway: "vault", Path: "a"}, false, "is a vault target"},
		{"unknown operation", nil, RotateSecretParams{Target: "vault", Operation: "rotate"}, false, `unknown operation "rotate"`},
		{"not a vault target", nil, RotateSecretParams{Target: "gw", Operation: "kv_write"}, false, "is a litellm target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRotateEnv(t)
			e.vault.CreateAppRole("chatbot")
			if tt.setup != nil {
				tt.setup(e)
			}
			_, err := e.run(t, tt.p)
			if err == nil {
				t.Fatal("no error")
			}
			appErr := appError(t, err)
			if appErr.NonRetryable() == tt.retryable || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %v (non-retryable %v), want retryable %v and %q", err, appErr.NonRetryable(), tt.retryable, tt.msg)
			}
			if strings.Contains(err.Error(), rotateVaultToken) || strings.Contains(err.Error(), rotateMasterKey) {
				t.Errorf("error %v shows a credential", err)
			}
		})
	}
}

func TestRotateSecretDryRun(t *testing.T) {
	e := newRotateEnv(t)
	old := gatewaySetup(e, litellmtest.Key{KeyAlias: "chatbot-prod"})
	before := len(e.vault.Requests())
	p := gatewayParams
	p.DryRun = DryRun{DryRun: true}
	res, err := e.run(t, p)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.vault.Requests()) - before; n != 0 || len(e.litellm.Requests()) != 0 {
		t.Errorf("a dry run sent %d requests to Vault and %d to LiteLLM", n, len(e.litellm.Requests()))
	}
	var got []string
	for _, r := range res.Planned {
		u, _ := url.Parse(r.URL)
		got = append(got, r.Method+" "+u.Path)
	}
	want := []string{
		"GET /v1/secret/metadata/apps/chatbot",
		"PUT /v1/secret/metadata/apps/chatbot",
		"GET /key/list",
		"GET /key/info",
		"POST /key/generate",
		"PUT /v1/secret/data/apps/chatbot",
		"POST /key/delete",
		"GET /key/info",
		"POST /key/update",
	}
	if !res.DryRun || !slices.Equal(got, want) {
		t.Errorf("planned %q (dry_run %v), want %q", got, res.DryRun, want)
	}
	data, _ := json.Marshal(res)
	if strings.Contains(string(data), old.Key) || strings.Contains(string(data), rotateVaultToken) || strings.Contains(string(data), rotateMasterKey) {
		t.Errorf("the plan shows a secret: %s", data)
	}
	if !strings.Contains(string(data), "the new key /key/generate returns") {
		t.Errorf("the plan's KV write lacks the placeholder for the new key: %s", data)
	}
}

// TestRotateSecretVaultDryRun runs each Vault operation as a dry run on
// a Vault that holds what it acts on: nothing is sent, and the plan lists
// the exact requests, with placeholders for what only a read could say.
func TestRotateSecretVaultDryRun(t *testing.T) {
	var step string
	inActivity(t, func(ctx context.Context) error { step = stepMark(ctx); return nil })
	const (
		chatbot   = "secret/apps/chatbot"
		approle   = "secret/apps/chatbot/approle"
		oldSecret = "old-secret-id"
	)
	// kept are the placeholders for what a KV write keeps of the secret.
	kept := func(sec string) (field, metadata string) {
		return "<the other fields of " + sec + ">", "<the other custom_metadata of " + sec + ">"
	}
	markBody := func(sec, replaces string) string {
		_, other := kept(sec)
		mark := map[string]any{"step": step, "version": "<current_version of " + sec + " + 1>"}
		if replaces != "" {
			mark["replaces"] = replaces
		}
		return bodyText(map[string]any{"custom_metadata": map[string]any{other: "<kept as it is>", rotationMarkKey: mark}})
	}
	dataBody := func(sec string, fields map[string]any) string {
		other, _ := kept(sec)
		fields[other] = "<kept as they are>"
		return bodyText(map[string]any{"data": fields, "options": map[string]any{"cas": "<current_version of " + sec + ">"}})
	}
	stored := "<secret_id_accessor of the secret-id in " + approle + ">"
	tests := []struct {
		name string
		p    RotateSecretParams
		want RotateSecretResult // without the plan
		plan []sent
	}{
		{"kv_write",
			RotateSecretParams{Target: "vault", Operation: "kv_write", Path: "apps/chatbot", Generate: map[string]int{"db_password": 32, "api_key": 16}},
			RotateSecretResult{Operation: "kv_write", Path: chatbot, Fields: []string{"api_key", "db_password"}},
			[]sent{
				{"GET", "/v1/secret/metadata/apps/chatbot", ""},
				{"PUT", "/v1/secret/metadata/apps/chatbot", markBody(chatbot, "")},
				{"PUT", "/v1/secret/data/apps/chatbot", dataBody(chatbot, map[string]any{
					"db_password": "<32 random letters and digits>", "api_key": "<16 random letters and digits>"})},
			}},
		{"revoke_token_accessor",
			RotateSecretParams{Target: "vault", Operation: "revoke_token_accessor", Accessor: "acc-chatbot"},
			RotateSecretResult{Operation: "revoke_token_accessor", Revoked: "acc-chatbot"},
			[]sent{{"POST", "/v1/auth/token/revoke-accessor", `{"accessor":"acc-chatbot"}`}}},
		{"revoke_lease_prefix",
			RotateSecretParams{Target: "vault", Operation: "revoke_lease_prefix", Prefix: "database/creds/chatbot/"},
			RotateSecretResult{Operation: "revoke_lease_prefix", Revoked: "database/creds/chatbot/"},
			[]sent{{"PUT", "/v1/sys/leases/revoke-prefix/database/creds/chatbot", ""}}},
		{"rotate_approle_secret_id",
			RotateSecretParams{Target: "vault", Operation: "rotate_approle_secret_id", Role: "chatbot", Path: "apps/chatbot/approle"},
			RotateSecretResult{Operation: "rotate_approle_secret_id", Path: approle, Issued: "<the new secret_id_accessor>", Revoked: stored},
			[]sent{
				{"GET", "/v1/secret/metadata/apps/chatbot/approle", ""},
				{"PUT", "/v1/secret/metadata/apps/chatbot/approle", markBody(approle, stored)},
				{"GET", "/v1/auth/approle/role/chatbot/secret-id?list=true", ""},
				{"PUT", "/v1/auth/approle/role/chatbot/secret-id", bodyText(map[string]any{"metadata": `{"` + rotationMarkKey + `":"` + step + `"}`})},
				{"PUT", "/v1/secret/data/apps/chatbot/approle", dataBody(approle, map[string]any{"secret_id": "<the new secret_id>"})},
				{"PUT", "/v1/auth/approle/role/chatbot/secret-id-accessor/lookup", bodyText(map[string]any{"secret_id_accessor": stored})},
				{"PUT", "/v1/auth/approle/role/chatbot/secret-id-accessor/destroy", bodyText(map[string]any{"secret_id_accessor": stored})},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRotateEnv(t)
			e.vault.Put("secret", "apps/chatbot", map[string]any{"db_user": "chatbot", "db_password": "old-password"})
			e.vault.Put("secret", "apps/chatbot/approle", map[string]any{"role_id": "r", "secret_id": oldSecret})
			e.vault.CreateAppRole("chatbot")
			e.vault.AddLease("database/creds/chatbot/l1", time.Hour)
			tt.p.DryRun = DryRun{DryRun: true}
			res, err := e.run(t, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if got := calls(e.vault); len(got) != 0 {
				t.Errorf("a dry run sent %q to Vault", got)
			}
			if !res.DryRun {
				t.Error("dry_run is false")
			}
			var plan []sent
			for _, r := range res.Planned {
				body, _ := json.Marshal(r.Body)
				plan = append(plan, sent{r.Method, strings.TrimPrefix(r.URL, e.vault.URL), decodeMark(t, string(body))})
			}
			checkSent(t, plan, tt.plan)
			res.Plan = Plan{}
			if !reflect.DeepEqual(res, tt.want) {
				t.Errorf("result = %+v, want %+v", res, tt.want)
			}
			noSecretIn(t, res, "old-password", oldSecret, rotateVaultToken)
		})
	}
}

// decodeMark turns the rotation mark, which custom_metadata holds as JSON
// text, into an object of the body, so a test compares it by value.
func decodeMark(t *testing.T, body string) string {
	t.Helper()
	v, _ := jsonValue(t, body).(map[string]any)
	custom, _ := v["custom_metadata"].(map[string]any)
	text, ok := custom[rotationMarkKey].(string)
	if !ok {
		return body
	}
	custom[rotationMarkKey] = jsonValue(t, text)
	return bodyText(v)
}

// TestRotateSecretRealVault runs the Vault operations against a real
// Vault or OpenBao dev server (docker compose up vault), with the LiteLLM
// double as the gateway.
func TestRotateSecretRealVault(t *testing.T) {
	addr, token := os.Getenv("AISOAR_TEST_VAULT_ADDR"), os.Getenv("AISOAR_TEST_VAULT_TOKEN")
	if addr == "" || token == "" {
		t.Skip("skipped: set AISOAR_TEST_VAULT_ADDR and AISOAR_TEST_VAULT_TOKEN to run against a real Vault or OpenBao dev server (docker compose up -d vault; then http://127.0.0.1:8200 and dev-only-root-token)")
	}
	c, err := vault.NewClient(&vault.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	auths, err := c.Sys().ListAuth()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := auths["approle/"]; !ok {
		if err := c.Sys().EnableAuthWithOptions("approle", &vault.EnableAuthOptions{Type: "approle"}); err != nil {
			t.Fatal(err)
		}
	}
	mounts, err := c.Sys().ListMounts()
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := mounts["secret/"]; !ok || m.Options["version"] != "2" {
		t.Fatalf("the server has no KV v2 at secret/ (mounts: %v); a dev server has one", mounts)
	}
	prefix := "aisoar-test/" + time.Now().UTC().Format("20060102T150405.000000000")
	t.Cleanup(func() {
		for _, p := range []string{"kv", "approle", "gateway"} {
			_, _ = c.Logical().Delete("secret/metadata/" + prefix + "/" + p)
		}
	})
	gw := litellmtest.New(t, rotateMasterKey)
	targets := rotateTargets(t, addr, token, gw.URL)

	t.Run("kv_write", func(t *testing.T) {
		p := RotateSecretParams{Target: "vault", Operation: "kv_write", Path: prefix + "/kv", Generate: map[string]int{"password": 24}}
		for range 2 {
			res, err := runRotate(t, targets, p)
			if err != nil || res.Version != 1 {
				t.Fatalf("result = %+v, %v", res, err)
			}
		}
	})
	t.Run("revoke_token_accessor", func(t *testing.T) {
		created, err := c.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"default"}})
		if err != nil {
			t.Fatal(err)
		}
		p := RotateSecretParams{Target: "vault", Operation: "revoke_token_accessor", Accessor: created.Auth.Accessor}
		for range 2 {
			if _, err := runRotate(t, targets, p); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.Auth().Token().LookupAccessor(created.Auth.Accessor); err == nil {
			t.Error("the token survived")
		}
	})
	t.Run("revoke_lease_prefix", func(t *testing.T) {
		// Leases come from a secrets engine; of the dev server's, PKI issues
		// them without an outside system: a role with generate_lease
		// attaches one to each certificate, <mount>/issue/<role>/<id>.
		mount := "aisoar-test-pki-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		if err := c.Sys().Mount(mount, &vault.MountInput{Type: "pki"}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Sys().Unmount(mount) }) // revokes the leases left
		if _, err := c.Logical().Write(mount+"/root/generate/internal", map[string]any{"common_name": "aisoar.test", "key_type": "ec", "ttl": "1h"}); err != nil {
			t.Fatal(err)
		}
		issue := func(role string) string {
			t.Helper()
			s, err := c.Logical().Write(mount+"/issue/"+role, map[string]any{"common_name": role + ".aisoar.test", "ttl": "10m"})
			if err != nil || s == nil || s.LeaseID == "" {
				t.Fatalf("issuing a certificate with role %s: %v, %v; want one with a lease", role, s, err)
			}
			return s.LeaseID
		}
		// chatbot-next shares chatbot's text but not its path: vault/api
		// drops the prefix's trailing slash, which must not widen it.
		for _, role := range []string{"chatbot", "chatbot-next"} {
			if _, err := c.Logical().Write(mount+"/roles/"+role, map[string]any{"allow_any_name": true, "generate_lease": true, "key_type": "ec", "max_ttl": "1h"}); err != nil {
				t.Fatal(err)
			}
		}
		revoked, kept := []string{issue("chatbot"), issue("chatbot")}, issue("chatbot-next")
		prefix := mount + "/issue/chatbot/"
		p := RotateSecretParams{Target: "vault", Operation: "revoke_lease_prefix", Prefix: prefix}
		for run := range 2 { // the second run is a retry after the leases are gone
			if res, err := runRotate(t, targets, p); err != nil || res.Revoked != prefix {
				t.Fatalf("run %d: result = %+v, %v", run, res, err)
			}
		}
		// Vault may queue the revocations (revoke-prefix's sync is false by
		// default), so a revoked lease is one lookup soon says is invalid.
		for _, id := range revoked {
			deadline := time.Now().Add(15 * time.Second)
			for {
				_, err := c.Sys().Lookup(id)
				var re *vault.ResponseError
				if errors.As(err, &re) && re.StatusCode == http.StatusBadRequest {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("lease %s: lookup = %v, want 400 invalid lease once revoked", id, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		if _, err := c.Sys().Lookup(kept); err != nil {
			t.Errorf("lease %s outside the prefix: %v, want it kept", kept, err)
		}
	})
	t.Run("rotate_approle_secret_id", func(t *testing.T) {
		role := "aisoar-test-" + strings.ReplaceAll(time.Now().Format("150405.000"), ".", "")
		if _, err := c.Logical().Write("auth/approle/role/"+role, map[string]any{"token_policies": []string{"default"}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = c.Logical().Delete("auth/approle/role/" + role) })
		old, err := c.Logical().Write("auth/approle/role/"+role+"/secret-id", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.KVv2("secret").Put(context.Background(), prefix+"/approle", map[string]any{"secret_id": old.Data["secret_id"]}); err != nil {
			t.Fatal(err)
		}
		p := RotateSecretParams{Target: "vault", Operation: "rotate_approle_secret_id", Role: role, Path: prefix + "/approle"}
		res, err := runRotate(t, targets, p)
		if err != nil || res.Version != 2 || res.Revoked != old.Data["secret_id_accessor"] {
			t.Fatalf("result = %+v, %v", res, err)
		}
		if again, err := runRotate(t, targets, p); err != nil || !reflect.DeepEqual(again, res) {
			t.Errorf("re-run = %+v, %v", again, err)
		}
		list, err := c.Logical().List("auth/approle/role/" + role + "/secret-id")
		if err != nil || list == nil || !reflect.DeepEqual(list.Data["keys"], []any{res.Issued}) {
			t.Errorf("secret-ids = %v, %v; want only %s", list, err, res.Issued)
		}
	})
	t.Run("rotate_gateway_key", func(t *testing.T) {
		old := gw.AddKey(litellmtest.Key{KeyAlias: "real-vault-test"})
		if _, err := c.KVv2("secret").Put(context.Background(), prefix+"/gateway", map[string]any{"api_key": old.Key}); err != nil {
			t.Fatal(err)
		}
		p := RotateSecretParams{Target: "vault", Operation: "rotate_gateway_key", Gateway: "gw", Path: prefix + "/gateway"}
		res, err := runRotate(t, targets, p)
		if err != nil {
			t.Fatal(err)
		}
		cur, err := c.KVv2("secret").Get(context.Background(), prefix+"/gateway")
		if err != nil {
			t.Fatal(err)
		}
		valid := gw.ValidKeys()
		if len(valid) != 1 || valid[0].Key != cur.Data["api_key"] || res.Revoked != old.Token || cur.VersionMetadata.Version != 2 {
			t.Errorf("valid keys %+v, stored %v, result %+v", valid, cur.Data, res)
		}
	})
}
