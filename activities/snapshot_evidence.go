package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/aisoar/aisoar/evidence"
	"github.com/aisoar/aisoar/playbooks"
)

var snapshotEvidenceSpec = playbooks.ActionSpec{
	Name:      "snapshot_evidence",
	Heartbeat: playbooks.Duration(longActionHeartbeat),
	Doc:       "Copies evidence (URLs, target answers, log queries, S3 objects, MLflow runs and artifacts, the alert) into the write-once evidence store and signs a manifest of it.",
	Params: []playbooks.ParamSpec{
		{Name: "items", Type: playbooks.TypeList, Required: true, Doc: "what to keep, each one of: {url} (host in actions.http.allow_hosts); " +
			"{target, path} (GET with the target's credentials); {log_query: <http target>, path, body} (POST, the answer is kept); " +
			"{s3: <target>, prefix | key}; {mlflow: <target>, run_id, artifact_path} (the run's metadata as mlflow/<run_id>/run.json and, " +
			"with artifact_path, each file at or under it, \".\" for all, as mlflow/<run_id>/artifacts/<path>, at most 1000, downloaded through " +
			"the server's artifacts proxy, mlflow server --serve-artifacts); {name, value} (inline JSON, e.g. value: ${{ alert }}). " +
			"Each may set name (for an s3 prefix and mlflow, the start of the items' names); there is no undo: evidence is never deleted"},
		{Name: "playbook", Type: playbooks.TypeMap, Doc: "the running playbook: ${{ playbook }}; its id, version and hash go in the signed manifest and its text is kept as the item playbook.yaml, whose SHA-256 is the hash"},
	},
}

// SnapshotEvidenceParams are snapshot_evidence's parameters.
type SnapshotEvidenceParams struct {
	Items    []map[string]any  `json:"items"`
	Playbook *EvidencePlaybook `json:"playbook"`
	DryRun
}

// EvidencePlaybook is the playbook as CEL's `playbook` gives it.
type EvidencePlaybook struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Title   string `json:"title"`
	Hash    string `json:"hash"`
	// Source is the playbook's text, kept as the item "playbook.yaml"
	// (its SHA-256 is Hash).
	Source string `json:"source"`
}

// SnapshotEvidenceResult is snapshot_evidence's output.
type SnapshotEvidenceResult struct {
	// Manifest is the manifest's key in the store, ManifestID its id within
	// the incident; `aisoar evidence verify <incident>` checks it.
	Manifest       string `json:"manifest"`
	ManifestID     string `json:"manifest_id"`
	ManifestSHA256 string `json:"manifest_sha256"`
	Items          int    `json:"items"`
	// KeyID names the key that signed the manifest.
	KeyID string `json:"key_id"`
	// Store says where the evidence is.
	Store string `json:"store"`
	Plan
}

type snapshotEvidenceAction struct {
	http    *httpAction
	targets Targets
	store   *evidence.Store
}

// Run copies each item into the store and seals a signed manifest of
// them. It is idempotent by construction: items are stored by their
// SHA-256 and never rewritten, and the manifest's id derives from the
// step's idempotency key, so a retry that finds the manifest returns it
// unchanged, and one after a crash before the manifest stores the same
// items again under the same names and writes the manifest once.
func (a *snapshotEvidenceAction) Run(ctx context.Context, p SnapshotEvidenceParams) (SnapshotEvidenceResult, error) {
	const action = "snapshot_evidence"
	if len(p.Items) == 0 {
		return SnapshotEvidenceResult{}, badParams(action, "items is empty: name at least one thing to keep")
	}
	if a.store == nil && !p.DryRun.DryRun {
		err := errors.New(action + ": no evidence store is configured (evidence in the config file)")
		return SnapshotEvidenceResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "NotConfigured", err)
	}
	type item struct {
		src  source
		form string
	}
	items := make([]item, len(p.Items))
	for i, raw := range p.Items {
		src, form, err := parseSource(action, fmt.Sprintf("items[%d]", i), raw, formURL, formTarget, formLogQuery, formS3, formMLflow, formValue)
		if err != nil {
			return SnapshotEvidenceResult{}, err
		}
		items[i] = item{src, form}
	}
	info := activity.GetInfo(ctx)
	incident, id := info.WorkflowExecution.ID, manifestID(ctx)
	if !p.DryRun.DryRun {
		if sealed, err := a.store.Lookup(ctx, incident, id); err == nil {
			return snapshotResult(a.store, sealed), nil // a retry after the manifest was sealed
		}
	}
	m := evidence.Manifest{ID: id, Incident: incident, Step: info.ActivityID, Created: time.Now().UTC()}
	if pb := p.Playbook; pb != nil {
		m.Playbook = &evidence.Playbook{ID: pb.ID, Version: pb.Version, SHA256: pb.Hash}
	}
	r := &reader{action: action, http: a.http, targets: a.targets, dryRun: p.DryRun.DryRun}
	names := map[string]bool{}
	at := "" // the param being read, for messages
	keep := func(c content) error {
		if names[c.name] {
			return badParams(action, "%s: another item is also named %q; give one a distinct name", at, c.name)
		}
		names[c.name] = true
		blob, err := a.store.Put(ctx, heartbeating(ctx, c.body))
		if errors.Is(err, evidence.ErrTooLarge) {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: item %q: %v", action, c.name, err), "TooLarge", err)
		}
		if err != nil {
			return fmt.Errorf("%s: storing item %q: %w", action, c.name, err)
		}
		m.Items = append(m.Items, evidence.Item{Name: c.name, Source: c.source, SHA256: blob.SHA256, Size: blob.Size,
			ContentType: c.contentType, FetchedAt: time.Now().UTC()})
		return nil
	}
	for i, it := range items {
		activity.RecordHeartbeat(ctx, i)
		at = fmt.Sprintf("items[%d]", i)
		if err := r.read(ctx, it.src, it.form, keep); err != nil {
			return SnapshotEvidenceResult{}, activityError(err)
		}
	}
	if pb := p.Playbook; pb != nil && pb.Source != "" && !p.DryRun.DryRun {
		at = "playbook"
		err := keep(content{name: "playbook.yaml", source: "playbook " + pb.ID, contentType: "application/yaml", body: strings.NewReader(pb.Source)})
		if err != nil {
			return SnapshotEvidenceResult{}, activityError(err)
		}
	}
	if p.DryRun.DryRun {
		return SnapshotEvidenceResult{ManifestID: id, Plan: Plan{DryRun: true, Planned: r.planned}}, nil
	}
	sealed, err := a.store.Seal(ctx, m)
	if err != nil {
		return SnapshotEvidenceResult{}, fmt.Errorf("%s: %w", action, err)
	}
	return snapshotResult(a.store, sealed), nil
}

// manifestID names the step's manifest: the step id and a digest of the
// idempotency key, the same on every attempt of the step and different in
// another run of the incident.
func manifestID(ctx context.Context) string {
	return activity.GetInfo(ctx).ActivityID + "-" + stepMark(ctx)
}

func snapshotResult(store *evidence.Store, s *evidence.Sealed) SnapshotEvidenceResult {
	return SnapshotEvidenceResult{Manifest: s.Key, ManifestID: s.Manifest.ID, ManifestSHA256: s.SHA256,
		Items: len(s.Manifest.Items), KeyID: s.KeyID, Store: store.Location()}
}
