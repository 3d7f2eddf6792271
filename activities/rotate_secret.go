package activities

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/playbooks"
)

// The operations of rotate_secret.
const (
	opKVWrite               = "kv_write"
	opRevokeTokenAccessor   = "revoke_token_accessor"
	opRevokeLeasePrefix     = "revoke_lease_prefix"
	opRotateAppRoleSecretID = "rotate_approle_secret_id"
	opRotateGatewayKey      = "rotate_gateway_key"
)

var rotateSecretSpec = playbooks.ActionSpec{
	Name:      "rotate_secret",
	Heartbeat: playbooks.Duration(longActionHeartbeat),
	Doc:       "Rotates credentials held in Vault: writes fresh random values to a KV v2 secret, revokes a token by accessor or leases by prefix, or replaces an AppRole secret-id or a LiteLLM key and stores the new one, never leaving the service without a valid credential.",
	Params: []playbooks.ParamSpec{
		{Name: "target", Type: playbooks.TypeString, Required: true, Doc: "a vault target in the config's targets"},
		{Name: "operation", Type: playbooks.TypeString, Required: true, Doc: "what to rotate or revoke; rotations write a new KV version with check-and-set and have no undo (vault kv rollback to the result's previous_version puts the old value back, if it is still valid)",
			Enum: rotateSecretOperations},
		{Name: "mount", Type: playbooks.TypeString, Doc: "the KV v2 mount of path; default secret"},
		{Name: "path", Type: playbooks.TypeString, Doc: "the KV v2 secret under mount that holds the credential (kv_write, rotate_approle_secret_id, rotate_gateway_key), such as apps/chatbot; its other fields are kept"},
		{Name: "generate", Type: playbooks.TypeMap, Doc: "kv_write: the fields to set to fresh random letters and digits, with their length (16 to 256), such as {db_password: 32}; values never come from the playbook"},
		{Name: "field", Type: playbooks.TypeString, Doc: "the field of path that holds the credential; default secret_id (rotate_approle_secret_id) or api_key (rotate_gateway_key)"},
		{Name: "accessor", Type: playbooks.TypeString, Doc: "revoke_token_accessor: the token's accessor, never the token; its child tokens are revoked too"},
		{Name: "prefix", Type: playbooks.TypeString, Doc: "revoke_lease_prefix: the lease id prefix, such as database/creds/chatbot/"},
		{Name: "role", Type: playbooks.TypeString, Doc: "rotate_approle_secret_id: the AppRole role (at auth/approle) whose secret-id path holds"},
		{Name: "gateway", Type: playbooks.TypeString, Doc: "rotate_gateway_key: the litellm target whose virtual key path holds; the new key gets the old one's models, team, user, budget and limits"},
	},
}

// RotateSecretParams are rotate_secret's parameters.
type RotateSecretParams struct {
	Target    string         `json:"target"`
	Operation string         `json:"operation"`
	Mount     string         `json:"mount"`
	Path      string         `json:"path"`
	Generate  map[string]int `json:"generate"`
	Field     string         `json:"field"`
	Accessor  string         `json:"accessor"`
	Prefix    string         `json:"prefix"`
	Role      string         `json:"role"`
	Gateway   string         `json:"gateway"`
	DryRun
}

// RotateSecretResult says what changed, by version, accessor or key id;
// it never carries a secret value.
type RotateSecretResult struct {
	Operation string `json:"operation"`
	// Path is the KV v2 secret written, "mount/path".
	Path string `json:"path,omitempty"`
	// Version is the KV version the rotation wrote, PreviousVersion the
	// one it replaced (0 when the secret was new).
	Version         int `json:"version,omitempty"`
	PreviousVersion int `json:"previous_version,omitempty"`
	// Fields are the fields kv_write generated.
	Fields []string `json:"fields,omitempty"`
	// Issued identifies the new credential: the AppRole
	// secret_id_accessor, or the LiteLLM key's token hash.
	Issued string `json:"issued,omitempty"`
	// Revoked identifies what was revoked: the token accessor, the lease
	// prefix, the old secret_id_accessor or the old key's token hash.
	Revoked string `json:"revoked,omitempty"`
	Plan
}

type rotateSecretAction struct {
	targets Targets
}

// rotateSecretOperations are the operation param's values.
var rotateSecretOperations = []string{opKVWrite, opRevokeTokenAccessor, opRevokeLeasePrefix, opRotateAppRoleSecretID, opRotateGatewayKey}

// Run performs the operation. Revocations are idempotent in Vault itself
// (an accessor Vault no longer knows counts as revoked). Rotations are
// made safe to retry at any point by a mark in the secret's
// custom_metadata, written before anything is issued; see rotateKV.
func (a *rotateSecretAction) Run(ctx context.Context, p RotateSecretParams) (RotateSecretResult, error) {
	const action = "rotate_secret"
	t, err := a.targets.lookup(action, p.Target, config.TargetVault)
	if err != nil {
		return RotateSecretResult{}, err
	}
	if err := p.check(action); err != nil {
		return RotateSecretResult{}, err
	}
	var gateway *Target
	if p.Operation == opRotateGatewayKey {
		if gateway, err = a.targets.lookup(action, p.Gateway, config.TargetLiteLLM); err != nil {
			return RotateSecretResult{}, err
		}
	}
	v, err := t.vault(ctx, action, p.DryRun.DryRun)
	if err != nil {
		return RotateSecretResult{}, err
	}
	var res RotateSecretResult
	switch p.Operation {
	case opRevokeTokenAccessor:
		res.Revoked = p.Accessor
		err = v.err(v.client.Auth().Token().RevokeAccessorWithContext(ctx, p.Accessor))
		if IsStatus(err, 400) && strings.Contains(err.Error(), "invalid accessor") {
			// Vault forgets a revoked token's accessor: a retry after a
			// lost answer lands here, as does an accessor already revoked.
			activity.GetLogger(ctx).Info("rotate_secret: Vault does not know the accessor; it is revoked already", "accessor", p.Accessor)
			err = nil
		}
	case opRevokeLeasePrefix:
		res.Revoked = p.Prefix
		err = v.err(v.client.Sys().RevokePrefixWithContext(ctx, p.Prefix))
	default:
		sec := kvSecret{mount: strings.Trim(cmp.Or(p.Mount, "secret"), "/"), path: strings.Trim(p.Path, "/")}
		var cred rotatedCredential
		switch p.Operation {
		case opKVWrite:
			cred = generatedValues{lengths: p.Generate, dryRun: v.dryRun}
		case opRotateAppRoleSecretID:
			cred = &appRoleSecretID{v: v, role: p.Role, field: cmp.Or(p.Field, "secret_id"), where: sec.String()}
		case opRotateGatewayKey:
			cred = &gatewayKey{v: v, c: gateway.call(action, v.dryRun), field: cmp.Or(p.Field, "api_key"), where: sec.String()}
		}
		res, err = rotateKV(ctx, v, sec, cred)
		if p.Operation == opKVWrite {
			res.Fields = slices.Sorted(maps.Keys(p.Generate))
		}
	}
	res.Operation, res.Plan = p.Operation, v.plan()
	return res, activityError(err)
}

// check refuses parameters the operation cannot use.
func (p RotateSecretParams) check(action string) error {
	switch p.Operation {
	case opRevokeTokenAccessor:
		if p.Accessor == "" {
			return badParams(action, "revoke_token_accessor needs accessor")
		}
		for _, tokenPrefix := range []string{"hvs.", "hvb.", "s.", "b."} {
			if strings.HasPrefix(p.Accessor, tokenPrefix) {
				return badParams(action, "accessor looks like a Vault token: give the token's accessor, and never put a token in a playbook")
			}
		}
		return nil
	case opRevokeLeasePrefix:
		if strings.Trim(p.Prefix, "/") == "" {
			return badParams(action, "revoke_lease_prefix needs a prefix such as database/creds/chatbot/; an empty one would revoke every lease")
		}
		return nil
	case opKVWrite:
		if len(p.Generate) == 0 {
			return badParams(action, "kv_write needs generate: the fields to set to random values and their length, such as {db_password: 32}")
		}
		for _, f := range slices.Sorted(maps.Keys(p.Generate)) {
			if n := p.Generate[f]; f == "" || n < minGenerated || n > maxGenerated {
				return badParams(action, "generate.%s is %d: a generated value is %d to %d characters long", f, n, minGenerated, maxGenerated)
			}
		}
	case opRotateAppRoleSecretID:
		if p.Role == "" {
			return badParams(action, "rotate_approle_secret_id needs role")
		}
	case opRotateGatewayKey:
		if p.Gateway == "" {
			return badParams(action, "rotate_gateway_key needs gateway, the litellm target whose key path holds")
		}
	default:
		return badParams(action, "unknown operation %q: use one of %s", p.Operation, strings.Join(rotateSecretOperations, ", "))
	}
	path := strings.Trim(p.Path, "/")
	switch {
	case path == "":
		return badParams(action, "%s needs path: the KV v2 secret under mount %q that holds the credential", p.Operation, cmp.Or(p.Mount, "secret"))
	case strings.HasPrefix(path, "data/") || strings.HasPrefix(path, "metadata/"):
		return badParams(action, "path %q is the secret's path under the mount, without data/ or metadata/", path)
	}
	return nil
}

// kvSecret names a KV v2 secret.
type kvSecret struct {
	mount, path string
}

func (s kvSecret) String() string { return s.mount + "/" + s.path }

// kvMetadata is what rotateKV needs of a secret's metadata.
type kvMetadata struct {
	current int
	custom  map[string]string
}

func (s kvSecret) metadata(ctx context.Context, v *vaultCall) (kvMetadata, error) {
	sec, err := v.read(ctx, s.mount+"/metadata/"+s.path, nil)
	if err != nil || sec == nil {
		return kvMetadata{}, err
	}
	m := kvMetadata{current: jsonInt(sec.Data["current_version"]), custom: map[string]string{}}
	if custom, ok := sec.Data["custom_metadata"].(map[string]any); ok {
		for k, val := range custom {
			m.custom[k], _ = val.(string)
		}
	}
	return m, nil
}

// data reads version n of the secret, nil when n is 0 or Vault no longer
// has it.
func (s kvSecret) data(ctx context.Context, v *vaultCall, n int) (map[string]any, error) {
	if n == 0 {
		return nil, nil
	}
	sec, err := v.read(ctx, s.mount+"/data/"+s.path, url.Values{"version": {strconv.Itoa(n)}})
	if err != nil || sec == nil {
		return nil, err
	}
	data, _ := sec.Data["data"].(map[string]any)
	return data, nil
}

func jsonInt(v any) int {
	switch n := v.(type) {
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	case float64:
		return int(n)
	}
	return 0
}

// rotationMarkKey is the key of the rotation mark in the secret's
// custom_metadata and in an AppRole secret-id's metadata.
const rotationMarkKey = "aisoar-rotation"

// rotationMark is what a rotation leaves in the secret's custom_metadata
// before it issues anything: which step is rotating (a hash of its
// idempotency key), the version it is writing, and the credential it
// replaces. A retried step finds its own mark and knows where it stopped.
type rotationMark struct {
	Step     string `json:"step"`
	Version  int    `json:"version"`
	Replaces string `json:"replaces,omitempty"`
}

// rotatedCredential is a credential that rotateKV replaces and stores.
type rotatedCredential interface {
	// identify names the credential a version's data holds, to revoke it
	// later; "" when it holds none.
	identify(ctx context.Context, data map[string]any) (string, error)
	// dropOrphans revokes what an earlier attempt of the step issued
	// (marked with step) but never stored: its value is lost.
	dropOrphans(ctx context.Context, step string) error
	// issue creates a credential marked with step to replace the one
	// named replaces, returning the fields to store and its name.
	issue(ctx context.Context, step, replaces string) (map[string]any, string, error)
	// retire revokes the replaced credential now that the issued one is
	// stored; one already gone counts as revoked.
	retire(ctx context.Context, replaces, issued string) error
}

// rotateKV replaces the credential stored at sec in an order that never
// leaves the service without a valid one and that a retry can resume at
// any point:
//
//  1. read the metadata: current version N and the rotation mark;
//  2. if the mark is this step's and version N reaches the version it
//     names, the new credential is stored: go to 6;
//  3. unless the mark is this step's, mark {step, N+1, the credential in
//     N} in custom_metadata;
//  4. revoke what an earlier attempt issued but never stored, then issue
//     a new credential marked with the step;
//  5. write it as version N+1 with check-and-set N (the old one stays
//     valid until here);
//  6. revoke the old credential.
//
// A check-and-set conflict (someone else wrote the secret meanwhile)
// revokes the new credential and fails the step without retry.
func rotateKV(ctx context.Context, v *vaultCall, sec kvSecret, cred rotatedCredential) (RotateSecretResult, error) {
	res := RotateSecretResult{Path: sec.String()}
	step := stepMark(ctx)
	meta, err := sec.metadata(ctx, v)
	if err != nil {
		return res, err
	}
	var mark rotationMark
	_ = json.Unmarshal([]byte(meta.custom[rotationMarkKey]), &mark)
	if mark.Step == step && meta.current >= mark.Version {
		data, err := sec.data(ctx, v, mark.Version)
		if err != nil {
			return res, err
		}
		issued, err := cred.identify(ctx, data)
		if err != nil {
			return res, err
		}
		res.Version, res.PreviousVersion, res.Issued, res.Revoked = mark.Version, mark.Version-1, issued, mark.Replaces
		return res, cred.retire(ctx, mark.Replaces, issued)
	}
	current := meta.current
	data, err := sec.data(ctx, v, current)
	if err != nil {
		return res, err
	}
	if mark.Step != step || mark.Version != current+1 {
		replaces, err := cred.identify(ctx, data)
		if err != nil {
			return res, err
		}
		mark = rotationMark{Step: step, Version: current + 1, Replaces: replaces}
		if err := sec.setMark(ctx, v, meta.custom, mark); err != nil {
			return res, err
		}
	}
	activity.RecordHeartbeat(ctx, "marked")
	if err := cred.dropOrphans(ctx, step); err != nil {
		return res, err
	}
	fields, issued, err := cred.issue(ctx, step, mark.Replaces)
	if err != nil {
		return res, err
	}
	activity.RecordHeartbeat(ctx, "issued")
	next := maps.Clone(data)
	if next == nil {
		next = map[string]any{}
	}
	maps.Copy(next, fields)
	var cas any = current
	if v.dryRun {
		// A dry run reads nothing: what the write takes from the secret
		// as it is then is shown by placeholders.
		cas = "<current_version of " + sec.String() + ">"
		next["<the other fields of "+sec.String()+">"] = "<kept as they are>"
	}
	if _, err := v.write(ctx, sec.mount+"/data/"+sec.path, map[string]any{"data": next, "options": map[string]any{"cas": cas}}); err != nil {
		if IsStatus(err, 400) && strings.Contains(err.Error(), "check-and-set") {
			// The new credential will never be stored: revoke it.
			rerr := cred.retire(ctx, issued, "")
			msg := fmt.Sprintf("%s changed while it was being rotated (%v); the new credential was revoked: run the step again", sec, err)
			if rerr != nil {
				msg = fmt.Sprintf("%s changed while it was being rotated (%v); revoking the new credential %s failed too (%v): revoke it by hand, then run the step again", sec, err, issued, rerr)
			}
			return res, temporal.NewNonRetryableApplicationError(msg, "RotationConflict", err)
		}
		return res, err
	}
	activity.RecordHeartbeat(ctx, "stored")
	res.Version, res.PreviousVersion, res.Issued, res.Revoked = current+1, current, issued, mark.Replaces
	if v.dryRun {
		res.Version = 0 // unknown without reading the metadata
	}
	return res, cred.retire(ctx, mark.Replaces, issued)
}

// setMark writes the rotation mark into the secret's custom_metadata,
// keeping the other entries (a metadata write replaces them all).
func (s kvSecret) setMark(ctx context.Context, v *vaultCall, custom map[string]string, mark rotationMark) error {
	raw, _ := json.Marshal(mark)
	next := maps.Clone(custom)
	if next == nil {
		next = map[string]string{}
	}
	if v.dryRun {
		// A dry run reads no metadata: the version the mark names and
		// the entries kept are placeholders.
		raw, _ = json.Marshal(struct {
			rotationMark
			Version string `json:"version"`
		}{mark, "<current_version of " + s.String() + " + 1>"})
		next["<the other custom_metadata of "+s.String()+">"] = "<kept as it is>"
	}
	next[rotationMarkKey] = string(raw)
	_, err := v.write(ctx, s.mount+"/metadata/"+s.path, map[string]any{"custom_metadata": next})
	return err
}

// Bounds of a generated value's length.
const (
	minGenerated = 16
	maxGenerated = 256
)

// generatedValues are kv_write's fresh random values: nothing to identify
// or revoke, as the consumers read them from Vault.
type generatedValues struct {
	lengths map[string]int
	dryRun  bool
}

func (generatedValues) identify(context.Context, map[string]any) (string, error) { return "", nil }
func (generatedValues) dropOrphans(context.Context, string) error                { return nil }
func (generatedValues) retire(context.Context, string, string) error             { return nil }

func (g generatedValues) issue(context.Context, string, string) (map[string]any, string, error) {
	fields := map[string]any{}
	for f, n := range g.lengths {
		if g.dryRun {
			fields[f] = fmt.Sprintf("<%d random letters and digits>", n)
			continue
		}
		value, err := randomText(n)
		if err != nil {
			return nil, "", err
		}
		fields[f] = value
	}
	return fields, "", nil
}

// randomText returns n letters and digits from crypto/rand.
func randomText(n int) (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", fmt.Errorf("generating a random value: %w", err)
		}
		b[i] = alphabet[j.Int64()]
	}
	return string(b), nil
}

// appRoleSecretID is an AppRole role's secret-id, stored in field of the
// KV secret at where. The step's mark rides in the secret-id's metadata,
// so orphans are found by listing the role's secret-id accessors.
type appRoleSecretID struct {
	v           *vaultCall
	role, field string
	where       string
}

func (a *appRoleSecretID) rolePath() string { return "auth/approle/role/" + url.PathEscape(a.role) }

// identify looks the stored secret-id up for its accessor; Vault answers
// nothing for a secret-id it no longer has.
func (a *appRoleSecretID) identify(ctx context.Context, data map[string]any) (string, error) {
	if a.v.dryRun {
		return "<secret_id_accessor of the secret-id in " + a.where + ">", nil
	}
	id, _ := data[a.field].(string)
	if id == "" {
		return "", nil
	}
	sec, err := a.v.write(ctx, a.rolePath()+"/secret-id/lookup", map[string]any{"secret_id": id})
	if err != nil || sec == nil {
		return "", err
	}
	accessor, _ := sec.Data["secret_id_accessor"].(string)
	return accessor, nil
}

func (a *appRoleSecretID) dropOrphans(ctx context.Context, step string) error {
	accessors, err := a.v.list(ctx, a.rolePath()+"/secret-id")
	if err != nil {
		return err
	}
	for _, accessor := range accessors {
		activity.RecordHeartbeat(ctx, "checking secret-id "+accessor)
		sec, err := a.v.write(ctx, a.rolePath()+"/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": accessor})
		if IsStatus(err, 404) || err == nil && sec == nil {
			continue
		}
		if err != nil {
			return err
		}
		if meta, _ := sec.Data["metadata"].(map[string]any); meta[rotationMarkKey] == step {
			if err := a.destroy(ctx, accessor); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *appRoleSecretID) issue(ctx context.Context, step, _ string) (map[string]any, string, error) {
	meta, _ := json.Marshal(map[string]string{rotationMarkKey: step})
	sec, err := a.v.write(ctx, a.rolePath()+"/secret-id", map[string]any{"metadata": string(meta)})
	if err != nil {
		return nil, "", err
	}
	if a.v.dryRun {
		return map[string]any{a.field: "<the new secret_id>"}, "<the new secret_id_accessor>", nil
	}
	id, _ := sec.Data["secret_id"].(string)
	accessor, _ := sec.Data["secret_id_accessor"].(string)
	if id == "" || accessor == "" {
		return nil, "", fmt.Errorf("target %q: Vault answered the secret-id request for role %q without secret_id and secret_id_accessor", a.v.target.Name, a.role)
	}
	return map[string]any{a.field: id}, accessor, nil
}

func (a *appRoleSecretID) retire(ctx context.Context, replaces, _ string) error {
	if replaces == "" {
		return nil
	}
	return a.destroy(ctx, replaces)
}

// destroy destroys a secret-id by accessor. Vault answers 500 for an
// accessor it does not know, so it is looked up first (404: gone).
func (a *appRoleSecretID) destroy(ctx context.Context, accessor string) error {
	body := map[string]any{"secret_id_accessor": accessor}
	if _, err := a.v.write(ctx, a.rolePath()+"/secret-id-accessor/lookup", body); IsStatus(err, 404) {
		return nil
	} else if err != nil {
		return err
	}
	_, err := a.v.write(ctx, a.rolePath()+"/secret-id-accessor/destroy", body)
	return err
}

// gatewayKey is a LiteLLM virtual key stored in field of the KV secret at
// where. LiteLLM names a key by its token hash (sha256 of the key), so the
// stored key is identified without a request. A new key is generated
// under a temporary alias made of the step's mark, which finds orphans
// through /key/list; once the old key is deleted, the new one takes over
// its alias.
type gatewayKey struct {
	v     *vaultCall
	c     *targetCall
	field string
	where string
}

// gatewayMarkField is the key metadata field that records the rotation:
// the step and the replaced key's alias.
const gatewayMarkField = "aisoar_rotation"

// gatewayKeySettings are the /key/info fields a new key copies from the
// one it replaces, as /key/generate takes them.
var gatewayKeySettings = []string{
	"models", "team_id", "user_id", "organization_id", "max_budget", "budget_duration", "soft_budget",
	"max_parallel_requests", "rpm_limit", "tpm_limit", "model_rpm_limit", "model_tpm_limit", "model_max_budget",
	"tags", "permissions", "aliases", "config", "allowed_routes", "allowed_cache_controls", "guardrails",
}

func rotationAlias(step string) string { return "aisoar-rotation-" + step }

// do sends a request to LiteLLM and keeps it in the Vault call's plan, so
// a dry run lists both targets' requests in order.
func (g *gatewayKey) do(ctx context.Context, method, path string, body, out any) error {
	err := g.c.do(ctx, method, path, body, out)
	g.v.absorb(g.c)
	return err
}

// litellmToken is LiteLLM's id of a key: the sha256 hex of the key.
func litellmToken(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

func (g *gatewayKey) identify(_ context.Context, data map[string]any) (string, error) {
	if g.v.dryRun {
		return "<token hash of the key in " + g.where + ">", nil
	}
	key, _ := data[g.field].(string)
	if key == "" {
		return "", nil
	}
	return litellmToken(key), nil
}

func (g *gatewayKey) dropOrphans(ctx context.Context, step string) error {
	var out struct {
		Keys []string `json:"keys"`
	}
	if err := g.do(ctx, http.MethodGet, "key/list?"+url.Values{"key_alias": {rotationAlias(step)}}.Encode(), nil, &out); err != nil {
		return err
	}
	if len(out.Keys) == 0 {
		return nil
	}
	return g.do(ctx, http.MethodPost, "key/delete", map[string]any{"keys": out.Keys}, nil)
}

func (g *gatewayKey) info(ctx context.Context, token string) (map[string]any, error) {
	var out struct {
		Info map[string]any `json:"info"`
	}
	err := g.do(ctx, http.MethodGet, "key/info?"+url.Values{"key": {token}}.Encode(), nil, &out)
	return out.Info, err
}

// issue generates a key with the replaced key's settings. A throttle on
// the old key (its aisoar_throttle mark) is not carried over: the new key
// gets the limits that throttle recorded as the ones before it.
func (g *gatewayKey) issue(ctx context.Context, step, replaces string) (map[string]any, string, error) {
	var old map[string]any
	if replaces != "" {
		var err error
		if old, err = g.info(ctx, replaces); err != nil && !IsStatus(err, 404) {
			return nil, "", err
		}
	}
	body := map[string]any{}
	for _, f := range gatewayKeySettings {
		if val, ok := old[f]; ok && val != nil {
			body[f] = val
		}
	}
	oldMeta, _ := old["metadata"].(map[string]any)
	if m, ok := (litellmEntity{Metadata: oldMeta}).marker(); ok {
		delete(body, "rpm_limit")
		delete(body, "tpm_limit")
		if m.Previous.RPM != nil {
			body["rpm_limit"] = *m.Previous.RPM
		}
		if m.Previous.TPM != nil {
			body["tpm_limit"] = *m.Previous.TPM
		}
	}
	meta := maps.Clone(oldMeta)
	if meta == nil {
		meta = map[string]any{}
	}
	delete(meta, litellmMarkerField)
	alias, _ := old["key_alias"].(string)
	meta[gatewayMarkField] = map[string]any{"step": step, "alias": alias}
	body["metadata"] = meta
	body["key_alias"] = rotationAlias(step)
	var out struct {
		Key string `json:"key"`
	}
	if err := g.do(ctx, http.MethodPost, "key/generate", body, &out); err != nil {
		return nil, "", err
	}
	if g.v.dryRun {
		return map[string]any{g.field: "<the new key /key/generate returns>"}, "<token hash of the new key>", nil
	}
	if out.Key == "" {
		return nil, "", fmt.Errorf("target %q: /key/generate answered without the key", g.c.target.Name)
	}
	return map[string]any{g.field: out.Key}, litellmToken(out.Key), nil
}

// retire deletes the replaced key (already gone is fine), then gives the
// stored key the old key's alias back.
func (g *gatewayKey) retire(ctx context.Context, replaces, issued string) error {
	if replaces != "" && replaces != issued {
		if err := g.do(ctx, http.MethodPost, "key/delete", map[string]any{"keys": []string{replaces}}, nil); err != nil && !IsStatus(err, 404) {
			return err
		}
	}
	if issued == "" {
		return nil
	}
	info, err := g.info(ctx, issued)
	if err != nil {
		return err
	}
	alias, _ := info["key_alias"].(string)
	if !g.v.dryRun && !strings.HasPrefix(alias, rotationAlias("")) {
		return nil // renamed already
	}
	meta, _ := info["metadata"].(map[string]any)
	mark, _ := meta[gatewayMarkField].(map[string]any)
	var oldAlias any = mark["alias"]
	if oldAlias == "" {
		oldAlias = nil
	}
	if g.v.dryRun {
		oldAlias = "<the old key's alias>"
	}
	return g.do(ctx, http.MethodPost, "key/update", map[string]any{"key": issued, "key_alias": oldAlias}, nil)
}
