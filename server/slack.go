package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/api/serviceerror"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/webhooks"
	"github.com/aisoar/aisoar/workflows"
)

// Slack's limits and aisoar's names in Slack.
const (
	// slackMaxBody bounds an interactivity or slash-command request.
	slackMaxBody = 1 << 20
	// slackTolerance is how old a signed Slack request may be.
	slackTolerance = 5 * time.Minute
	// slackWorkTimeout bounds the work a Slack request starts after it is
	// acknowledged: delivering a decision and telling the user about it.
	slackWorkTimeout = 30 * time.Second
	// slackCommandTimeout bounds the Temporal calls a slash command waits
	// for: Slack wants its answer within 3 seconds.
	slackCommandTimeout = 2 * time.Second
	// slackTriggerTimeout bounds views.open; a trigger id expires 3 seconds
	// after the click anyway.
	slackTriggerTimeout = 3 * time.Second
	// slackResponseTimeout bounds one post to a response_url.
	slackResponseTimeout = 10 * time.Second

	// SlackRejectCallback is the callback id of the dialog that asks a
	// rejecting approver for the reason.
	SlackRejectCallback = "aisoar_reject_reason"
	// slackReasonBlock and slackReasonAction address the reason's input.
	slackReasonBlock  = "reason"
	slackReasonAction = "reason"
	// slackVia is how decisions taken in Slack are recorded.
	slackVia = "slack"
	// slackMaxListed bounds the incidents a slash command lists.
	slackMaxListed = 25
)

// slackApp is the server's side of the Slack app: it verifies what Slack
// sends, opens dialogs with the bot token and answers users through their
// response_url.
type slackApp struct {
	cfg *config.Slack
	// verifier checks Slack's request signatures; nil when no signing
	// secret is configured (Socket Mode only).
	verifier *webhooks.HMAC
	// api calls Slack's Web API with the bot token.
	api *slack.Client
	// appToken is the app-level token Socket Mode connects with; "" unless
	// socket_mode is set.
	appToken string
	// botToken is the bot's token, for the Socket Mode client's Web API calls.
	botToken string
	// responses posts to response_urls.
	responses *http.Client
	// groups caches the members of the roles' Slack user groups.
	groups groupMembers
}

// newSlackApp resolves the Slack secrets the config names.
func newSlackApp(cfg *config.Slack, now func() time.Time) (*slackApp, error) {
	botToken, err := cfg.BotToken.Resolve()
	if err != nil {
		return nil, fmt.Errorf("slack.bot_token: %w", err)
	}
	app := &slackApp{
		cfg:       cfg,
		botToken:  botToken,
		api:       slack.New(botToken, slackAPIOptions(cfg)...),
		responses: &http.Client{Timeout: slackResponseTimeout},
	}
	if cfg.SigningSecret.IsSet() {
		secret, err := cfg.SigningSecret.Resolve()
		if err != nil {
			return nil, fmt.Errorf("slack.signing_secret: %w", err)
		}
		app.verifier, err = webhooks.NewHMAC(secret, webhooks.HMACOptions{
			Header: "X-Slack-Signature", Prefix: "v0=", Encoding: "hex", Algorithm: "sha256",
			TimestampHeader: "X-Slack-Request-Timestamp", SignedString: "v0:{timestamp}:{body}",
			Tolerance: slackTolerance, Now: now,
		})
		if err != nil {
			return nil, fmt.Errorf("slack.signing_secret: %w", err)
		}
	}
	if cfg.SocketMode {
		if app.appToken, err = cfg.AppToken.Resolve(); err != nil {
			return nil, fmt.Errorf("slack.app_token: %w", err)
		}
	}
	return app, nil
}

// slackAPIOptions point the Web API client at slack.api_url, when set.
func slackAPIOptions(cfg *config.Slack) []slack.Option {
	if cfg.APIURL == "" {
		return nil
	}
	u := cfg.APIURL
	if !strings.HasSuffix(u, "/") {
		u += "/" // slack-go appends method names to it
	}
	return []slack.Option{slack.OptionAPIURL(u)}
}

// identity is the aisoar identity a Slack user acts as.
func (a *slackApp) identity(userID string) string { return a.cfg.Identity(userID) }

// known reports whether the config knows a Slack user: mapped in
// slack.users, or a member of a role by their Slack user id. Only they may
// read incidents through the slash command.
func (a *slackApp) known(cfg *config.Config, userID string) bool {
	if _, ok := a.cfg.Users[userID]; ok {
		return true
	}
	for _, role := range cfg.Roles {
		if slices.Contains(role.Members, userID) {
			return true
		}
	}
	return false
}

// slackReply is a message answered to a slash command, in the HTTP
// response or the Socket Mode acknowledgement.
type slackReply struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

// ephemeral is a reply only the user who asked sees.
func ephemeral(text string) slackReply {
	return slackReply{ResponseType: slack.ResponseTypeEphemeral, Text: text}
}

// slackInteractions answers POST /v1/slack/interactions: button clicks and
// dialog submissions. It verifies the signature before anything else and
// acknowledges at once; the decision is delivered in the background.
func (s *Server) slackInteractions(w http.ResponseWriter, r *http.Request) {
	form, ok := s.readSlackForm(w, r)
	if !ok {
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		writeProblem(w, problem{Status: http.StatusBadRequest, Field: "payload", Detail: "the payload form field is not an interaction: " + err.Error()})
		return
	}
	writeSlackAck(w, s.slackInteraction(cb))
}

// slackCommands answers POST /v1/slack/commands, the /aisoar command.
func (s *Server) slackCommands(w http.ResponseWriter, r *http.Request) {
	form, ok := s.readSlackForm(w, r)
	if !ok {
		return
	}
	cmd := slack.SlashCommand{
		Command: form.Get("command"), Text: form.Get("text"), UserID: form.Get("user_id"), UserName: form.Get("user_name"),
		ChannelID: form.Get("channel_id"), ResponseURL: form.Get("response_url"), TriggerID: form.Get("trigger_id"),
		TeamID: form.Get("team_id"),
	}
	writeSlackAck(w, s.slackCommand(r.Context(), cmd))
}

// writeSlackAck answers Slack 200: an empty body when ack is nil, else ack
// as JSON.
func writeSlackAck(w http.ResponseWriter, ack any) {
	if ack == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	writeJSON(w, http.StatusOK, ack)
}

// readSlackForm reads a Slack request, verifies its signature and decodes
// its form; it writes the error answer and returns false when any fails.
// Nothing of the body is looked at before the signature is verified.
func (s *Server) readSlackForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, slackMaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeProblem(w, problem{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("the body is over the %d byte limit", tooLarge.Limit)})
			return nil, false
		}
		writeProblem(w, problem{Status: http.StatusBadRequest, Detail: "reading the body: " + err.Error()})
		return nil, false
	}
	if err := s.slack.verifier.Verify(r, body); err != nil {
		s.logger.Warn("slack request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "error", err)
		writeProblem(w, problem{Status: http.StatusUnauthorized, Detail: err.Error() + " (is slack.signing_secret the app's signing secret?)"})
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeProblem(w, problem{Status: http.StatusBadRequest, Detail: "the body is not a form: " + err.Error()})
		return nil, false
	}
	return form, true
}

// slackInteraction handles a button click or dialog submission, from HTTP
// or Socket Mode, and returns what to acknowledge it with (nil: nothing).
// Whatever takes longer than Slack waits runs in the background.
func (s *Server) slackInteraction(cb slack.InteractionCallback) any {
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		for _, action := range cb.ActionCallback.BlockActions {
			switch action.ActionID {
			case activities.SlackApproveAction:
				s.slackApprove(cb, action.Value)
				return nil
			case activities.SlackRejectAction:
				s.slackAskReason(cb, action.Value)
				return nil
			case activities.SlackReclassifyAction:
				s.slackAskReclassify(cb, action.Value)
				return nil
			}
		}
	case slack.InteractionTypeViewSubmission:
		switch cb.View.CallbackID {
		case SlackRejectCallback:
			return s.slackRejectSubmitted(cb)
		case SlackReclassifyCallback:
			return s.slackReclassifySubmitted(cb)
		}
	}
	s.logger.Debug("slack interaction ignored", "type", cb.Type, "user", cb.User.ID)
	return nil
}

// slackApprove delivers an approval in the background; a refusal is told
// to the user who clicked, and only to them.
func (s *Server) slackApprove(cb slack.InteractionCallback, value string) {
	incident, step, ok := parseButtonValue(value)
	if !ok {
		s.slackBadButton(cb, value)
		return
	}
	d := workflows.Decision{Step: step, Approver: s.slack.identity(cb.User.ID), Approve: true, Via: slackVia}
	s.background(func(ctx context.Context) { s.slackDecide(ctx, incident, d, cb.User.ID, cb.ResponseURL) })
}

// slackAskReason opens the dialog that asks a rejecting approver why; the
// rejection is delivered when it is submitted.
func (s *Server) slackAskReason(cb slack.InteractionCallback, value string) {
	incident, step, ok := parseButtonValue(value)
	if !ok {
		s.slackBadButton(cb, value)
		return
	}
	view := rejectView(incident, step, cb.ResponseURL)
	s.background(func(ctx context.Context) {
		openCtx, cancel := context.WithTimeout(ctx, slackTriggerTimeout)
		defer cancel()
		if _, err := s.slack.api.OpenViewContext(openCtx, cb.TriggerID, view); err != nil {
			s.logger.Warn("slack: the reject dialog could not be opened", "incident", incident, "step", step, "user", cb.User.ID, "error", err)
			s.slackTell(ctx, cb.ResponseURL, fmt.Sprintf("The dialog for the reason could not be opened (%s). Try again, or use `aisoar reject INCIDENT STEP --reason ...`.", slackEscape(err.Error())))
		}
	})
}

// rejectView is the dialog that asks why a step is rejected. Its private
// metadata carries the button's value and the message's response_url, for
// the submission.
func rejectView(incident, step, responseURL string) slack.ModalViewRequest {
	plain := func(text string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, text, false, false)
	}
	input := slack.NewPlainTextInputBlockElement(plain("What should the incident record say?"), slackReasonAction)
	input.Multiline = true
	input.MaxLength = 2000
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      SlackRejectCallback,
		Title:           plain("Reject step"),
		Submit:          plain("Reject"),
		Close:           plain("Cancel"),
		PrivateMetadata: activities.SlackButtonValue(incident, step) + "\n" + responseURL,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType,
				fmt.Sprintf("Reject step *%s* of incident *%s*? The step will not run.", slackEscape(step), slackEscape(incident)), false, false), nil, nil),
			slack.NewInputBlock(slackReasonBlock, plain("Reason"), nil, input),
		}},
	}
}

// slackRejectSubmitted takes the reject dialog's reason: it closes the
// dialog at once and delivers the rejection in the background.
func (s *Server) slackRejectSubmitted(cb slack.InteractionCallback) any {
	value, responseURL, _ := cutLast(cb.View.PrivateMetadata, "\n")
	incident, step, ok := parseButtonValue(value)
	if !ok {
		s.logger.Warn("slack: reject dialog without its incident", "user", cb.User.ID, "metadata", cb.View.PrivateMetadata)
		return slack.NewErrorsViewSubmissionResponse(map[string]string{slackReasonBlock: "This dialog does not say which step it rejects; reject from the approval message again."})
	}
	var reason string
	if cb.View.State != nil {
		reason = strings.TrimSpace(cb.View.State.Values[slackReasonBlock][slackReasonAction].Value)
	}
	if reason == "" {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{slackReasonBlock: "Say why the step is rejected."})
	}
	d := workflows.Decision{Step: step, Approver: s.slack.identity(cb.User.ID), Approve: false, Reason: reason, Via: slackVia}
	s.background(func(ctx context.Context) { s.slackDecide(ctx, incident, d, cb.User.ID, responseURL) })
	return slack.NewClearViewSubmissionResponse()
}

// slackBadButton tells the user a button did not name a step.
func (s *Server) slackBadButton(cb slack.InteractionCallback, value string) {
	s.logger.Warn("slack: button without its incident", "user", cb.User.ID, "value", value)
	s.background(func(ctx context.Context) {
		s.slackTell(ctx, cb.ResponseURL, "This button does not say which step it decides; decide with `aisoar approve` or `aisoar reject` instead.")
	})
}

// slackDecide delivers a decision taken in Slack. The workflow updates the
// approval's message when it is recorded; when it is not, the user who
// decided is told why, and only they see it.
func (s *Server) slackDecide(ctx context.Context, incident string, d workflows.Decision, userID, responseURL string) {
	updateCtx, cancel := context.WithTimeout(ctx, temporalTimeout)
	_, err := s.deliverDecision(updateCtx, incident, d)
	cancel()
	if err == nil {
		return
	}
	var refused *refusedError
	if !errors.As(err, &refused) {
		s.logger.Warn("slack decision not delivered", "incident", incident, "step", d.Step, "approver", d.Approver, "error", err)
	} else {
		s.logger.Info("slack decision refused", "incident", incident, "step", d.Step, "approver", d.Approver, "reason", refused.reason)
	}
	s.slackTell(ctx, responseURL, s.slackDecisionFailure(incident, d, userID, err))
}

// slackDecisionFailure says why a decision was not recorded.
func (s *Server) slackDecisionFailure(incident string, d workflows.Decision, userID string, err error) string {
	var (
		refused  *refusedError
		notFound *serviceerror.NotFound
	)
	verb := "approval"
	if !d.Approve {
		verb = "rejection"
	}
	switch {
	case errors.As(err, &refused):
		msg := fmt.Sprintf("Your %s of *%s* was not recorded: %s.", verb, slackEscape(d.Step), slackEscape(refused.reason))
		if _, mapped := s.slack.cfg.Users[userID]; !mapped {
			msg += fmt.Sprintf(" (You act as your Slack user id %s; slack.users in aisoar's config maps Slack users to the identities roles list.)", userID)
		}
		return msg
	case errors.As(err, &notFound):
		return fmt.Sprintf("Your %s of *%s* was not recorded: incident %s is not open.", verb, slackEscape(d.Step), slackEscape(incident))
	case temporalDown(err):
		return fmt.Sprintf("Your %s of *%s* was not recorded: aisoar cannot reach Temporal right now. Try again in a minute.", verb, slackEscape(d.Step))
	}
	return fmt.Sprintf("Your %s of *%s* was not recorded: %s", verb, slackEscape(d.Step), slackEscape(err.Error()))
}

// slackTell posts an ephemeral message to a response_url: only the user
// who acted sees it, and the message they acted on stays as it is.
func (s *Server) slackTell(ctx context.Context, responseURL, text string) {
	if responseURL == "" {
		s.logger.Warn("slack: no response_url to answer on", "text", text)
		return
	}
	msg := &slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, ReplaceOriginal: false, Text: text}
	if err := slack.PostWebhookCustomHTTPContext(ctx, responseURL, s.slack.responses, msg); err != nil {
		s.logger.Warn("slack: answering on the response_url failed", "error", err, "text", text)
	}
}

// slackCommand answers the /aisoar command, from HTTP or Socket Mode:
// "status <incident>", "incidents", or help. Only the user who asked sees
// the answer.
func (s *Server) slackCommand(ctx context.Context, cmd slack.SlashCommand) slackReply {
	name := cmd.Command
	if name == "" {
		name = "/aisoar"
	}
	args := strings.Fields(cmd.Text)
	if len(args) == 0 || args[0] == "help" {
		return ephemeral(slackHelp(name))
	}
	if !s.slack.known(s.cfg, cmd.UserID) {
		s.logger.Info("slack command from an unknown user", "user", cmd.UserID, "text", cmd.Text)
		return ephemeral(fmt.Sprintf("aisoar does not know you: your Slack user id %s is neither in slack.users nor in a role of aisoar's config.", cmd.UserID))
	}
	ctx, cancel := context.WithTimeout(ctx, slackCommandTimeout)
	defer cancel()
	switch {
	case args[0] == "status" && len(args) == 2:
		return ephemeral(s.slackStatus(ctx, args[1]))
	case args[0] == "incidents" && len(args) == 1:
		return ephemeral(s.slackIncidents(ctx))
	}
	return ephemeral(fmt.Sprintf("I don't know `%s %s`.\n%s", slackEscape(name), slackEscape(cmd.Text), slackHelp(name)))
}

func slackHelp(command string) string {
	return fmt.Sprintf("*%[1]s status &lt;incident&gt;*: the incident's state and its steps\n"+
		"*%[1]s incidents*: the open incidents\n"+
		"Approve or reject a step with the buttons on its approval message.", slackEscape(command))
}

// slackStatus describes one incident and its steps.
func (s *Server) slackStatus(ctx context.Context, id string) string {
	st, err := s.incidentStatus(ctx, id)
	if err != nil {
		return s.slackReadFailure(fmt.Sprintf("incident %s", id), err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%s* is *%s*", slackEscape(id), st.State)
	if a := st.Alert; a.Title != "" || a.Rule != "" {
		alerts := "alerts"
		if st.AlertCount == 1 {
			alerts = "alert"
		}
		fmt.Fprintf(&b, "\nAlert: %s (severity %d, %d %s)", slackEscape(cmp.Or(a.Title, a.Rule)), a.Severity, st.AlertCount, alerts)
	}
	for _, list := range [][]*workflows.StepStatus{st.Steps, st.OnFailure, st.Undo} {
		for _, step := range list {
			b.WriteString("\n• ")
			b.WriteString(slackStepLine(step))
		}
	}
	if r := st.Resolution; r != nil {
		fmt.Fprintf(&b, "\nResolved by %s", slackEscape(r.By))
		if r.Reason != "" {
			fmt.Fprintf(&b, ": %s", slackEscape(r.Reason))
		}
	}
	return b.String()
}

// slackStepLine is one step of a status answer: its state, and where its
// approval stands.
func slackStepLine(step *workflows.StepStatus) string {
	line := fmt.Sprintf("%s: %s", slackEscape(step.ID), step.State)
	if a := step.Approval; a != nil {
		line += fmt.Sprintf(", approval by %s %s", slackEscape(a.Role), a.Outcome)
		if a.Outcome == workflows.OutcomeWaiting {
			line += " until " + slackDate(a.Deadline)
		}
		for _, d := range a.Decisions {
			verb := "approved"
			if !d.Approve {
				verb = "rejected"
			}
			line += fmt.Sprintf("; %s by %s via %s", verb, slackEscape(d.Approver), cmp.Or(d.Via, "api"))
			if d.Reason != "" {
				line += fmt.Sprintf(" (%s)", slackEscape(d.Reason))
			}
		}
	}
	switch {
	case step.Error != "":
		line += ": " + slackEscape(step.Error)
	case step.Reason != "" && (step.Approval == nil || step.Approval.Outcome != workflows.OutcomeRejected):
		// A rejection's reason is the decision's, shown above.
		line += ": " + slackEscape(step.Reason)
	}
	return line
}

// slackIncidents lists the open incidents.
func (s *Server) slackIncidents(ctx context.Context) string {
	list, err := s.incidents(ctx, "ExecutionStatus = 'Running'")
	if err != nil {
		return s.slackReadFailure("listing incidents", err)
	}
	list = slices.DeleteFunc(list, func(sum IncidentSummary) bool { return sum.State == workflows.StateResolved })
	if len(list) == 0 {
		return "No incidents are open."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d open incidents:", len(list))
	for i, sum := range list {
		if i == slackMaxListed {
			fmt.Fprintf(&b, "\n… and %d more; `aisoar incidents list` shows them all.", len(list)-i)
			break
		}
		fmt.Fprintf(&b, "\n• *%s*: %s, severity %d", slackEscape(sum.ID), cmp.Or(sum.State, "unknown"), sum.Severity)
		if sum.Asset != "" {
			fmt.Fprintf(&b, ", %s", slackEscape(sum.Asset))
		}
		fmt.Fprintf(&b, ", opened %s", slackDate(sum.Started))
	}
	return b.String()
}

// slackReadFailure says why an incident could not be read.
func (s *Server) slackReadFailure(what string, err error) string {
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return fmt.Sprintf("There is no %s.", slackEscape(what))
	case temporalDown(err):
		s.logger.Warn("temporal unavailable", "during", what, "error", err)
		return fmt.Sprintf("%s: aisoar cannot reach Temporal right now. Try again in a minute.", slackEscape(what))
	}
	s.logger.Error("temporal call failed", "during", what, "error", err)
	return fmt.Sprintf("%s failed: %s", slackEscape(what), slackEscape(err.Error()))
}

// parseButtonValue splits a button's value, SlackButtonValue.
func parseButtonValue(value string) (incident, step string, ok bool) {
	incident, step, ok = strings.Cut(value, "\n")
	return incident, step, ok && incident != "" && step != "" && !strings.Contains(step, "\n")
}

// cutLast splits s around the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// slackEscape escapes the characters Slack's mrkdwn gives meaning to, so
// text from alerts and playbooks cannot mention or link.
func slackEscape(text string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(text)
}

// slackDate shows a time in each reader's own time zone.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format(time.RFC3339))
}

// inflight counts the background work in progress, so that shutdown and
// tests can wait for it.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to zero
}

func (f *inflight) add() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		f.idle = make(chan struct{})
	}
	f.n++
}

func (f *inflight) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n--; f.n == 0 {
		close(f.idle)
	}
}

// wait returns when no work is in progress, or ctx is done.
func (f *inflight) wait(ctx context.Context) error {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return nil
	}
	idle := f.idle
	f.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// background runs work after the request that asked for it is answered,
// with its own deadline; Shutdown waits for it.
func (s *Server) background(work func(ctx context.Context)) {
	s.work.add()
	go func() {
		defer s.work.done()
		ctx, cancel := context.WithTimeout(s.workCtx, slackWorkTimeout)
		defer cancel()
		work(ctx)
	}()
}

// Wait returns when the background work that Slack requests started (the
// decisions they deliver, the answers they post) is done.
func (s *Server) Wait() { _ = s.work.wait(context.Background()) }

// Shutdown waits for the background work in progress until ctx is done,
// then cancels what is left and waits for it to stop; it returns ctx's
// error when it had to cancel. Call it after the HTTP server's Shutdown and
// once RunSlackSocketMode has returned: work started after it is cancelled
// at once.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.work.wait(ctx)
	s.stopWork()
	s.Wait()
	s.governance.Wait()
	return err
}
