// Package activities holds the actions playbooks call: one file per action
// family, each a Temporal activity with one params struct and one result
// struct, idempotent, and classifying its errors as retryable or not.
package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/attest"
	"github.com/aisoar/aisoar/evidence"
	"github.com/aisoar/aisoar/playbooks"
)

// Options configures the actions with what they need from the config file.
type Options struct {
	HTTP HTTPOptions
	// Slack configures the Slack approval activities and notify's Slack
	// delivery.
	Slack SlackOptions
	// Targets are the systems the containment actions act on, by name.
	Targets Targets
	// Evidence is the store snapshot_evidence writes to.
	Evidence *evidence.Store
	// AttestationKeys are the keys verify_artifact trusts, by name.
	AttestationKeys map[string]attest.Verifier
	// Inventory reads the asset inventory for load_inventory; nil when
	// the config names none.
	Inventory func() (*assets.Inventory, error)

	Logger *slog.Logger
}

// action is a registered action: its declared spec and the activity
// function, registered under the action's name.
type action struct {
	spec playbooks.ActionSpec
	fn   any
}

// internalActivity is an activity the workflow calls on its own, such as
// keeping an approval's Slack message current; playbooks cannot name it.
type internalActivity struct {
	name string
	fn   any
}

// Registry is the set of actions a worker runs and the linter knows, and
// the internal activities the worker runs besides.
type Registry struct {
	actions  []action
	internal []internalActivity
}

// NewRegistry builds every action with its configuration.
func NewRegistry(opts Options) *Registry {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	httpAction := newHTTPAction(opts.HTTP)
	slackActs := newSlackActions(opts.Slack)
	notify := &notifyAction{logger: opts.Logger, slack: slackActs}
	return &Registry{
		actions: []action{
			{httpSpec, httpAction.Run},
			{notifySpec, notify.Run},
			{setSpec, runSet},
			{snapshotEvidenceSpec, (&snapshotEvidenceAction{http: httpAction, targets: opts.Targets, store: opts.Evidence}).Run},
			{verifyArtifactSpec, (&verifyArtifactAction{http: httpAction, targets: opts.Targets, keys: opts.AttestationKeys}).Run},
			{rollbackSpec, (&rollbackAction{targets: opts.Targets}).Run},
			{validateModelSpec, (&validateModelAction{targets: opts.Targets}).Run},
			{throttleSpec, (&throttleAction{targets: opts.Targets}).Run},
			{quarantineSpec, newQuarantineAction(opts.Targets).Run},
			{rotateSecretSpec, (&rotateSecretAction{targets: opts.Targets}).Run},
		},
		internal: []internalActivity{
			{SlackRequestApproval, slackActs.RequestApproval},
			{SlackApprovalOutcome, slackActs.ApprovalOutcome},
			{SlackPostThread, slackActs.PostThread},
			{LoadInventory, (&inventoryLoader{load: opts.Inventory}).Run},
		},
	}
}

// Catalog returns the declared actions, for the linter.
func (r *Registry) Catalog() playbooks.Catalog {
	c := make(playbooks.Catalog, len(r.actions))
	for _, a := range r.actions {
		c[a.spec.Name] = a.spec
	}
	return c
}

// Specs returns the declared actions sorted by name, for documentation.
func (r *Registry) Specs() []playbooks.ActionSpec {
	specs := make([]playbooks.ActionSpec, len(r.actions))
	for i, a := range r.actions {
		specs[i] = a.spec
	}
	slices.SortFunc(specs, func(a, b playbooks.ActionSpec) int { return strings.Compare(a.Name, b.Name) })
	return specs
}

// Register registers every action as an activity named after the action,
// and the internal activities under their names.
func (r *Registry) Register(w worker.ActivityRegistry) {
	for _, a := range r.actions {
		w.RegisterActivityWithOptions(a.fn, activity.RegisterOptions{Name: a.spec.Name})
	}
	for _, a := range r.internal {
		w.RegisterActivityWithOptions(a.fn, activity.RegisterOptions{Name: a.name})
	}
}

// Catalog returns the declared actions without configuring them; the
// linter needs only their specs.
func Catalog() playbooks.Catalog { return NewRegistry(Options{}).Catalog() }

// stepMark is a short digest of the step's idempotency key: the mark an
// action leaves on a target so that a retry recognises its own change.
func stepMark(ctx context.Context) string {
	sum := sha256.Sum256([]byte(IdempotencyKey(ctx)))
	return hex.EncodeToString(sum[:8])
}

// IdempotencyKey identifies one step of one incident run. Retries of the
// step share it, so a target that honours it applies the change once.
func IdempotencyKey(ctx context.Context) string {
	info := activity.GetInfo(ctx)
	return fmt.Sprintf("%s/%s/%s", info.WorkflowExecution.ID, info.WorkflowExecution.RunID, info.ActivityID)
}

// containmentActions are the actions that contain an incident: the first
// one done marks the incident contained, for time-to-contain.
var containmentActions = []string{"throttle", "quarantine", "rollback", "rotate_secret"}

// IsContainment reports whether an action contains an incident.
func IsContainment(action string) bool { return slices.Contains(containmentActions, action) }
