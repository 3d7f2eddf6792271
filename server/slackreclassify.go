package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"
	"go.temporal.io/api/serviceerror"

	"github.com/aisoar/aisoar/playbooks"
)

// SlackReclassifyCallback is the callback id of the dialog that asks why
// an incident is reclassified.
const SlackReclassifyCallback = "aisoar_reclassify_reason"

// otherClass is the triage class an incident of class moves to.
func otherClass(class string) string {
	if class == playbooks.ClassPerformance {
		return playbooks.ClassAIIncident
	}
	return playbooks.ClassPerformance
}

// slackAskReclassify opens the dialog that asks why the incident of the
// clicked message moves to the other triage class. Its private metadata
// carries the incident, the message (for the thread) and the response_url.
func (s *Server) slackAskReclassify(cb slack.InteractionCallback, incident string) {
	if incident == "" || strings.Contains(incident, "\n") {
		s.slackBadButton(cb, incident)
		return
	}
	channel, ts := cb.Container.ChannelID, cb.Container.MessageTs
	view := reclassifyView(incident, strings.Join([]string{incident, channel, ts, cb.ResponseURL}, "\n"))
	s.background(func(ctx context.Context) {
		openCtx, cancel := context.WithTimeout(ctx, slackTriggerTimeout)
		defer cancel()
		if _, err := s.slack.api.OpenViewContext(openCtx, cb.TriggerID, view); err != nil {
			s.logger.Warn("slack: the reclassify dialog could not be opened", "incident", incident, "user", cb.User.ID, "error", err)
			s.slackTell(ctx, cb.ResponseURL, fmt.Sprintf("The dialog for the reason could not be opened (%s). Try again, or use `aisoar incident reclassify INCIDENT --class ... --reason ...`.", slackEscape(err.Error())))
		}
	})
}

// reclassifyView is the dialog that asks why an incident is reclassified.
func reclassifyView(incident, metadata string) slack.ModalViewRequest {
	plain := func(text string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, text, false, false)
	}
	input := slack.NewPlainTextInputBlockElement(plain("Why is it the other class?"), slackReasonAction)
	input.Multiline = true
	input.MaxLength = 2000
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      SlackReclassifyCallback,
		Title:           plain("Reclassify incident"),
		Submit:          plain("Reclassify"),
		Close:           plain("Cancel"),
		PrivateMetadata: metadata,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType,
				fmt.Sprintf("Move *%s* to the other class: an AI incident becomes a model performance issue, or the other way round. "+
					"What it contained is undone, and the playbooks of the other class take over.", slackEscape(incident)), false, false), nil, nil),
			slack.NewInputBlock(slackReasonBlock, plain("Reason"), nil, input),
		}},
	}
}

// slackReclassifySubmitted takes the dialog's reason: it closes the dialog
// at once and reclassifies in the background.
func (s *Server) slackReclassifySubmitted(cb slack.InteractionCallback) any {
	parts := strings.Split(cb.View.PrivateMetadata, "\n")
	if len(parts) != 4 || parts[0] == "" {
		s.logger.Warn("slack: reclassify dialog without its incident", "user", cb.User.ID, "metadata", cb.View.PrivateMetadata)
		return slack.NewErrorsViewSubmissionResponse(map[string]string{slackReasonBlock: "This dialog does not say which incident it reclassifies; use the button again."})
	}
	incident, channel, ts, responseURL := parts[0], parts[1], parts[2], parts[3]
	var reason string
	if cb.View.State != nil {
		reason = strings.TrimSpace(cb.View.State.Values[slackReasonBlock][slackReasonAction].Value)
	}
	if reason == "" {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{slackReasonBlock: "Say why the incident is the other class."})
	}
	s.background(func(ctx context.Context) {
		s.slackReclassify(ctx, cb.User.ID, incident, reason, channel, ts, responseURL)
	})
	return slack.NewClearViewSubmissionResponse()
}

// slackReclassify moves the incident to the other class on behalf of a
// Slack user the config knows, and says so in the message's thread; a
// refusal is told to the user alone.
func (s *Server) slackReclassify(ctx context.Context, userID, incident, reason, channel, ts, responseURL string) {
	if !s.slack.known(s.cfg, userID) {
		s.slackTell(ctx, responseURL, fmt.Sprintf("aisoar does not know you: your Slack user id %s is neither in slack.users nor in a role of aisoar's config.", userID))
		return
	}
	by := s.slack.identity(userID)
	readCtx, cancel := context.WithTimeout(ctx, temporalTimeout)
	st, err := s.incidentStatus(readCtx, incident)
	cancel()
	if err != nil {
		s.slackTell(ctx, responseURL, "The incident was not reclassified: "+s.slackReadFailure("incident "+incident, err))
		return
	}
	class := otherClass(s.classOf(st))
	result, err := s.reclassify(ctx, incident, class, by, reason)
	if err != nil {
		s.logger.Info("slack reclassification not made", "incident", incident, "by", by, "error", err)
		s.slackTell(ctx, responseURL, s.slackReclassifyFailure(incident, err))
		return
	}
	ids := make([]string, len(result.Incidents))
	for i, inc := range result.Incidents {
		ids[i] = "*" + slackEscape(inc.ID) + "*"
	}
	text := fmt.Sprintf("%s reclassified *%s* as %s: %s. What it contained is undone; it continues as %s.",
		mentionOf(userID), slackEscape(incident), class, slackEscape(reason), strings.Join(ids, ", "))
	if channel == "" || ts == "" {
		s.slackTell(ctx, responseURL, text)
		return
	}
	postCtx, cancel := context.WithTimeout(ctx, slackResponseTimeout)
	defer cancel()
	if _, _, err := s.slack.api.PostMessageContext(postCtx, channel, slack.MsgOptionText(text, false), slack.MsgOptionTS(ts)); err != nil {
		s.logger.Warn("slack: the reclassification could not be posted in the thread", "incident", incident, "error", err)
		s.slackTell(ctx, responseURL, text)
	}
}

// mentionOf mentions a Slack user.
func mentionOf(userID string) string { return "<@" + userID + ">" }

// slackReclassifyFailure says why a reclassification was not made.
func (s *Server) slackReclassifyFailure(incident string, err error) string {
	var (
		conflict *conflictError
		refused  *refusedError
		notFound *serviceerror.NotFound
	)
	switch {
	case errors.As(err, &conflict):
		return "The incident was not reclassified: " + slackEscape(conflict.detail)
	case errors.As(err, &refused):
		return "The incident was not reclassified: " + slackEscape(refused.reason) + "."
	case errors.As(err, &notFound):
		return fmt.Sprintf("The incident was not reclassified: %s is not open.", slackEscape(incident))
	case temporalDown(err):
		return "The incident was not reclassified: aisoar cannot reach Temporal right now. Try again in a minute."
	}
	return "The incident was not reclassified: " + slackEscape(err.Error())
}
