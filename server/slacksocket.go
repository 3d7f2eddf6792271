package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// slackAcker acknowledges Socket Mode requests; *socketmode.Client is one.
type slackAcker interface {
	Ack(req socketmode.Request, payload ...any) error
}

// RunSlackSocketMode takes Slack's button clicks, dialog submissions and
// slash commands over Socket Mode: a WebSocket aisoar opens to Slack with
// the app-level token, for servers Slack cannot reach. They are handled as
// the HTTP endpoints handle them. It returns when ctx is done (with
// ctx.Err()) or when Slack refuses the connection; lost connections are
// reopened. Call Shutdown after it returns to wait for the work it started.
func (s *Server) RunSlackSocketMode(ctx context.Context) error {
	if s.slack == nil || !s.slack.cfg.SocketMode {
		return errors.New("slack.socket_mode is not set in the config")
	}
	opts := append(slackAPIOptions(s.slack.cfg), slack.OptionAppLevelToken(s.slack.appToken))
	client := socketmode.New(slack.New(s.slack.botToken, opts...),
		socketmode.OptionLog(slog.NewLogLogger(s.logger.With("component", "slack-socket-mode").Handler(), slog.LevelDebug)))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- client.RunContext(ctx) }()
	for {
		select {
		case err := <-done:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("slack socket mode: %w (is slack.app_token an app-level token with connections:write?)", err)
		case evt := <-client.Events:
			s.work.add()
			go func() {
				defer s.work.done()
				s.handleSocketEvent(ctx, client, evt)
			}()
		}
	}
}

// handleSocketEvent handles one Socket Mode event as the HTTP endpoints
// handle the same request, and acknowledges it with what they would answer.
func (s *Server) handleSocketEvent(ctx context.Context, client slackAcker, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		s.logger.Debug("slack socket mode connecting")
	case socketmode.EventTypeConnected:
		s.logger.Info("slack socket mode connected")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage, socketmode.EventTypeErrorWriteFailed:
		s.logger.Warn("slack socket mode trouble", "event", evt.Type, "detail", fmt.Sprintf("%+v", evt.Data))
	case socketmode.EventTypeInvalidAuth:
		s.logger.Error("slack refused the app-level token (slack.app_token)")
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			s.logger.Warn("slack socket mode: interactive event without an interaction", "data", fmt.Sprintf("%T", evt.Data))
			s.socketAck(client, evt, nil)
			return
		}
		s.socketAck(client, evt, s.slackInteraction(cb))
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			s.logger.Warn("slack socket mode: slash command event without a command", "data", fmt.Sprintf("%T", evt.Data))
			s.socketAck(client, evt, nil)
			return
		}
		s.socketAck(client, evt, s.slackCommand(ctx, cmd))
	case socketmode.EventTypeEventsAPI:
		// aisoar subscribes to no events; acknowledge so Slack does not retry.
		s.socketAck(client, evt, nil)
	}
}

// socketAck acknowledges the request an event carries, with payload when
// it is not nil.
func (s *Server) socketAck(client slackAcker, evt socketmode.Event, payload any) {
	if evt.Request == nil {
		return
	}
	var err error
	if payload == nil {
		err = client.Ack(*evt.Request)
	} else {
		err = client.Ack(*evt.Request, payload)
	}
	if err != nil {
		s.logger.Warn("slack socket mode: acknowledging failed", "envelope", evt.Request.EnvelopeID, "error", err)
	}
}
