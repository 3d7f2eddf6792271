package server

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestTemporalDown(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"unavailable", serviceerror.NewUnavailable("connection refused"), true},
		{"deadline from the service", serviceerror.NewDeadlineExceeded("slow"), true},
		{"our own deadline", fmt.Errorf("start: %w", context.DeadlineExceeded), true},
		{"wrapped gRPC unavailable", fmt.Errorf("dial: %w", status.Error(codes.Unavailable, "no connection")), true},
		{"not found", serviceerror.NewNotFound("no such workflow"), false},
		{"invalid argument", serviceerror.NewInvalidArgument("bad"), false},
		{"plain error", errors.New("validator refused"), false},
	}
	for _, tt := range tests {
		if got := temporalDown(tt.err); got != tt.want {
			t.Errorf("%s: temporalDown(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
