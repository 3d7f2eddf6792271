package activities

import (
	"context"
	"io"
	"time"

	"go.temporal.io/sdk/activity"
)

// longActionHeartbeat is the heartbeat timeout of the actions that can run
// long (copying evidence, hashing a model, polling a connector, a
// multi-step rotation): each heartbeats more often than this, so a worker
// that dies mid-step is noticed within it rather than at the step's
// timeout. It is above the minute a target may take to start answering
// (the header timeout stack gives target clients).
const longActionHeartbeat = 2 * time.Minute

// heartbeating wraps r so that every read heartbeats the activity: a long
// download or hash shows it is alive for as long as bytes flow. (The SDK
// sends heartbeats at most at a fraction of the timeout, so this is cheap.)
func heartbeating(ctx context.Context, r io.Reader) io.Reader {
	return &heartbeatReader{ctx: ctx, r: r}
}

type heartbeatReader struct {
	ctx  context.Context
	r    io.Reader
	read int64
}

func (h *heartbeatReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.read += int64(n)
	activity.RecordHeartbeat(h.ctx, h.read)
	return n, err
}
