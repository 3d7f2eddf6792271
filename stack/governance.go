package stack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/workflows"
)

// scheduleTimeout bounds creating or updating the re-attestation schedule
// when a worker starts.
const scheduleTimeout = 30 * time.Second

// EnsureReattestSchedule creates the Temporal Schedule that re-attests
// every inventory model, or brings an existing one to the config's spec,
// so starting a worker is all it takes. The Schedule's runs read the
// inventory afresh, so editing assets.yaml needs no change here.
func EnsureReattestSchedule(ctx context.Context, c client.Client, cfg *config.Config) error {
	g := cfg.Governance
	spec := client.ScheduleSpec{CronExpressions: []string{g.ReattestCron()}, TimeZoneName: g.ReattestTimeZone()}
	action := &client.ScheduleWorkflowAction{
		ID:        workflows.ReattestWorkflowID,
		Workflow:  workflows.ReattestWorkflowName,
		TaskQueue: cfg.Temporal.TaskQueue,
	}
	schedules := c.ScheduleClient()
	_, err := schedules.Create(ctx, client.ScheduleOptions{ID: workflows.ReattestScheduleID, Spec: spec, Action: action})
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		if err != nil {
			return fmt.Errorf("creating the re-attestation schedule %q: %w", workflows.ReattestScheduleID, err)
		}
		return nil
	}
	err = schedules.GetHandle(ctx, workflows.ReattestScheduleID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			s.Spec, s.Action = &spec, action
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("updating the re-attestation schedule %q: %w", workflows.ReattestScheduleID, err)
	}
	return nil
}
