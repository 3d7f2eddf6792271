package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/aisoar/aisoar/playbooks"
)

var quarantineSpec = playbooks.ActionSpec{
	Name:      "quarantine",
	Heartbeat: playbooks.Duration(longActionHeartbeat),
	Doc:       "Freezes a data pipeline or a suspect source: pauses an Airflow DAG or a Kafka Connect connector, or blocks writes to an object-store prefix.",
	Params: []playbooks.ParamSpec{
		{Name: "target", Type: playbooks.TypeString, Required: true, Doc: "name of an airflow, kafka_connect or s3 target in the config"},
		{Name: "dag", Type: playbooks.TypeString, Doc: "DAG id to pause (airflow targets)"},
		{Name: "connector", Type: playbooks.TypeString, Doc: "connector to pause (kafka_connect targets)"},
		{Name: "prefix", Type: playbooks.TypeString, Doc: "key prefix in the target's bucket under which puts and deletes are denied (s3 targets)"},
		{Name: "resume", Type: playbooks.TypeBool, Doc: "undo: unpause the DAG, resume the connector, or remove this incident's deny statement"},
		{Name: "previous", Type: playbooks.TypeString, Doc: "with resume: the quarantine step's output.previous, so what was frozen before the incident stays frozen; without it resume releases"},
	},
}

// QuarantineParams are the quarantine action's parameters. The undo of a
// quarantine step is the same action with resume and the step's previous
// state:
//
//	undo: {action: quarantine, with: {target: airflow, dag: ingest, resume: true, previous: "${{ steps.freeze.output.previous }}"}}
type QuarantineParams struct {
	Target    string `json:"target"`
	DAG       string `json:"dag"`
	Connector string `json:"connector"`
	Prefix    string `json:"prefix"`
	Resume    bool   `json:"resume"`
	Previous  string `json:"previous"`
	DryRun
}

// QuarantineResult is the quarantine action's output.
type QuarantineResult struct {
	// Resource is what was frozen or released: dags/<dag>,
	// connectors/<connector> or s3://<bucket>/<prefix>.
	Resource string `json:"resource"`
	// Previous is the state before the quarantine, for the undo's previous
	// parameter: a DAG's "active" or "paused"; a connector's RUNNING,
	// PAUSED, STOPPED, FAILED or UNASSIGNED; a prefix's "open", or
	// "quarantined" when another incident's deny statement covers it too.
	// An undo returns the previous it was given; a dry run leaves it empty.
	Previous string `json:"previous,omitempty"`
	// Skipped says why the resource was left as it was: it was frozen
	// before the incident.
	Skipped string `json:"skipped,omitempty"`
	// StatementID is the Sid of this incident's deny statement in the
	// bucket policy (s3 targets); undo removes only it.
	StatementID string `json:"statement_id,omitempty"`
	Plan
}

// Target kinds the quarantine action drives.
const (
	kindAirflow      = "airflow"
	kindKafkaConnect = "kafka_connect"
	kindS3           = "s3"
)

type quarantineAction struct {
	targets Targets
	// pollInterval and settleTimeout pace and bound the wait for Kafka
	// Connect to apply a pause or a resume, which it does asynchronously.
	pollInterval  time.Duration
	settleTimeout time.Duration
}

func newQuarantineAction(targets Targets) *quarantineAction {
	return &quarantineAction{targets: targets, pollInterval: time.Second, settleTimeout: 30 * time.Second}
}

// Run freezes the named resource, or with resume releases it.
func (q *quarantineAction) Run(ctx context.Context, p QuarantineParams) (QuarantineResult, error) {
	t, err := q.targets.lookup("quarantine", p.Target, kindAirflow, kindKafkaConnect, kindS3)
	if err != nil {
		return QuarantineResult{}, err
	}
	if err := checkQuarantineResource(t, p); err != nil {
		return QuarantineResult{}, err
	}
	var res QuarantineResult
	switch t.Kind {
	case kindAirflow:
		res, err = quarantineDAG(ctx, t, p)
	case kindKafkaConnect:
		res, err = q.quarantineConnector(ctx, t, p)
	default:
		res, err = quarantinePrefix(ctx, t, p)
	}
	return res, activityError(err)
}

// checkQuarantineResource checks that p names the one resource the
// target's kind has.
func checkQuarantineResource(t *Target, p QuarantineParams) error {
	params := []struct{ name, kind, value string }{
		{"dag", kindAirflow, p.DAG},
		{"connector", kindKafkaConnect, p.Connector},
		{"prefix", kindS3, p.Prefix},
	}
	var want, value string
	for _, param := range params {
		if param.kind == t.Kind {
			want, value = param.name, param.value
		}
	}
	for _, param := range params {
		if param.kind != t.Kind && param.value != "" {
			return badParams("quarantine", "target %q has kind %s, which takes %s, not %s", t.Name, t.Kind, want, param.name)
		}
	}
	if value == "" {
		return badParams("quarantine", "target %q has kind %s: name what to freeze with %s", t.Name, t.Kind, want)
	}
	return nil
}

// priorState keeps the state a resource had before the quarantine across
// retries. The first attempt records the state it read in the activity's
// heartbeat details before it changes anything; a later attempt (after a
// lost answer or a crashed worker) reads the resource already frozen, so
// it takes the recorded state instead. Undo then releases exactly what
// the incident froze.
func priorState(ctx context.Context, read string) string {
	prior := read
	if activity.HasHeartbeatDetails(ctx) {
		var recorded string
		if err := activity.GetHeartbeatDetails(ctx, &recorded); err == nil && recorded != "" {
			prior = recorded
		}
	}
	activity.RecordHeartbeat(ctx, prior)
	return prior
}
