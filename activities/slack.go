package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackutilsx"
	"go.temporal.io/sdk/temporal"
)

// SlackOptions configures the Slack activities and the notify action's
// Slack delivery.
type SlackOptions struct {
	// Token is the bot token (xoxb-…); empty leaves Slack unconfigured.
	Token string
	// APIURL is the Web API base URL; default Slack's, https://slack.com/api/.
	APIURL string
	// HTTPClient overrides the HTTP client, for tests and proxies.
	HTTPClient *http.Client
}

// slackTimeout bounds one Web API call. It is below the workflow's
// start-to-close timeout for Slack activities, so an attempt fails on its
// own and says why.
const slackTimeout = 20 * time.Second

// slackActions holds a slack-go client; nil client (no token) means Slack
// is not configured.
//
// Slack has no idempotency key, so a post is made once per attempt: a
// retry posts again only after an attempt failed, and Slack can have taken
// a post whose answer was lost (a timeout), which then shows twice.
type slackActions struct {
	client *slack.Client
	apiURL string
}

func newSlackActions(opts SlackOptions) *slackActions {
	if opts.Token == "" {
		return &slackActions{}
	}
	apiURL := cmp.Or(opts.APIURL, slack.APIURL)
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: slackTimeout}
	}
	// No slack.OptionRetry: Temporal retries the activity, honouring
	// Retry-After through NextRetryDelay.
	return &slackActions{client: slack.New(opts.Token, slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(client)), apiURL: apiURL}
}

// configured says whether Slack calls can be made.
func (s *slackActions) configured() bool { return s != nil && s.client != nil }

// check refuses a call Slack cannot take: no token, or no channel.
func (s *slackActions) check(channel string) error {
	if !s.configured() {
		return temporal.NewNonRetryableApplicationError("slack: Slack is not configured: set slack.bot_token in the config file", "SlackNotConfigured", nil)
	}
	if channel == "" {
		return temporal.NewNonRetryableApplicationError("slack: no channel to post to", "BadParams", nil)
	}
	return nil
}

// RequestApproval posts an approval request with Approve and Reject buttons
// to req.Channel, in req.ThreadTS's thread when set.
func (s *slackActions) RequestApproval(ctx context.Context, req ApprovalRequest) (SlackMessageRef, error) {
	if err := s.check(req.Channel); err != nil {
		return SlackMessageRef{}, err
	}
	opts := []slack.MsgOption{
		slack.MsgOptionText(approvalText(req, ""), false),
		slack.MsgOptionBlocks(approvalBlocks(req, "", true)...),
		// Parameters may hold internal URLs: no previews.
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	}
	if req.ThreadTS != "" {
		opts = append(opts, slack.MsgOptionTS(req.ThreadTS))
	}
	channel, ts, err := s.client.PostMessageContext(ctx, req.Channel, opts...)
	if err != nil {
		return SlackMessageRef{}, slackFailure(fmt.Sprintf("posting the approval request for step %s to %s", req.Step, req.Channel), req.Channel, err)
	}
	return SlackMessageRef{Channel: channel, TS: ts}, nil
}

// ApprovalOutcome rewrites an approval request to show o.State, without
// its buttons once o.Final. Updating to the same content twice is harmless.
func (s *slackActions) ApprovalOutcome(ctx context.Context, o ApprovalOutcome) (SlackMessageRef, error) {
	if err := s.check(o.Ref.Channel); err != nil {
		return SlackMessageRef{}, err
	}
	channel, ts, _, err := s.client.UpdateMessageContext(ctx, o.Ref.Channel, o.Ref.TS,
		slack.MsgOptionText(approvalText(o.Request, o.State), false),
		slack.MsgOptionBlocks(approvalBlocks(o.Request, o.State, !o.Final)...))
	if err != nil {
		return SlackMessageRef{}, slackFailure(fmt.Sprintf("updating the approval request for step %s (message %s in %s)", o.Request.Step, o.Ref.TS, o.Ref.Channel), o.Ref.Channel, err)
	}
	return SlackMessageRef{Channel: channel, TS: ts}, nil
}

// PostThread posts p.Text in the thread of p.Ref.
func (s *slackActions) PostThread(ctx context.Context, p SlackThreadPost) (SlackMessageRef, error) {
	if err := s.check(p.Ref.Channel); err != nil {
		return SlackMessageRef{}, err
	}
	channel, ts, err := s.client.PostMessageContext(ctx, p.Ref.Channel,
		slack.MsgOptionText(escapeKeepingMentions(p.Text), false), slack.MsgOptionTS(p.Ref.TS))
	if err != nil {
		return SlackMessageRef{}, slackFailure(fmt.Sprintf("posting in the thread of message %s in %s", p.Ref.TS, p.Ref.Channel), p.Ref.Channel, err)
	}
	return SlackMessageRef{Channel: channel, TS: ts}, nil
}

// slackPost is a notification: its text, where it goes, and, when
// reclassify names an incident, a Reclassify button for it.
type slackPost struct {
	channel, threadTS, text string
	reclassify              string
}

// blocks lays the post out when it has a button; nil for plain text.
func (m slackPost) blocks() []slack.Block {
	if m.reclassify == "" {
		return nil
	}
	button := slack.NewButtonBlockElement(SlackReclassifyAction, m.reclassify, plainText("Reclassify"))
	return []slack.Block{
		slack.NewSectionBlock(mrkdwn(truncate(escapeKeepingMentions(m.text), 3000)), nil, nil),
		slack.NewActionBlock(slackBlockActions, button),
	}
}

// post posts a notification, for the notify action.
func (s *slackActions) post(ctx context.Context, m slackPost) (SlackMessageRef, error) {
	if err := s.check(m.channel); err != nil {
		return SlackMessageRef{}, err
	}
	opts := []slack.MsgOption{slack.MsgOptionText(escapeKeepingMentions(m.text), false)}
	if blocks := m.blocks(); blocks != nil {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	if m.threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(m.threadTS))
	}
	id, ts, err := s.client.PostMessageContext(ctx, m.channel, opts...)
	if err != nil {
		return SlackMessageRef{}, slackFailure("posting the notification to "+m.channel, m.channel, err)
	}
	return SlackMessageRef{Channel: id, TS: ts}, nil
}

// plannedPost is the chat.postMessage call post would make, for a dry run.
func (s *slackActions) plannedPost(m slackPost) Plan {
	body := map[string]any{"channel": m.channel, "text": escapeKeepingMentions(m.text)}
	if m.threadTS != "" {
		body["thread_ts"] = m.threadTS
	}
	if blocks := m.blocks(); blocks != nil {
		body["blocks"] = blocks
	}
	return Plan{DryRun: true, Planned: []PlannedRequest{{Method: http.MethodPost, URL: s.apiURL + "chat.postMessage", Body: body}}}
}

// Block ids of an approval message, so the message can be read back.
const (
	slackBlockHeader  = "aisoar_header"
	slackBlockAlert   = "aisoar_alert"
	slackBlockParams  = "aisoar_params"
	slackBlockWho     = "aisoar_who"
	slackBlockMessage = "aisoar_message"
	slackBlockState   = "aisoar_state"
	slackBlockActions = "aisoar_actions"
)

// approvalBlocks lays out an approval message: what needs approving, the
// alert, the step's parameters with secrets masked, who may decide by
// when, the playbook's message, the state when there is one, and the
// buttons while a decision can still be made.
func approvalBlocks(req ApprovalRequest, state string, buttons bool) []slack.Block {
	blocks := []slack.Block{
		slack.NewHeaderBlock(plainText(truncate(fmt.Sprintf("Approval needed: %s (%s)", req.Step, req.Action), 150)),
			slack.HeaderBlockOptionBlockID(slackBlockHeader)),
		slack.NewSectionBlock(mrkdwn("*"+escape(cmp.Or(req.AlertTitle, "Untitled alert"))+"*"), alertFields(req), nil,
			slack.SectionBlockOptionBlockID(slackBlockAlert)),
	}
	if len(req.Params) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate("*Step parameters*\n"+paramList(req.Params), 3000)), nil, nil,
			slack.SectionBlockOptionBlockID(slackBlockParams)))
	}
	blocks = append(blocks, slack.NewContextBlock(slackBlockWho, whoAndWhen(req)...))
	if req.Message != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate(escapeKeepingMentions(req.Message), 3000)), nil, nil,
			slack.SectionBlockOptionBlockID(slackBlockMessage)))
	}
	if state != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate("*Status:* "+escapeKeepingMentions(state), 3000)), nil, nil,
			slack.SectionBlockOptionBlockID(slackBlockState)))
	}
	if buttons {
		blocks = append(blocks, approvalButtons(req))
	}
	return blocks
}

// approvalText is the message's plain text, shown in notifications and by
// clients that cannot show blocks.
func approvalText(req ApprovalRequest, state string) string {
	text := fmt.Sprintf("Approval needed: %s (%s) for incident %s", req.Step, req.Action, req.Incident)
	if req.AlertTitle != "" {
		text += ": " + req.AlertTitle
	}
	text = escape(text)
	if state != "" {
		text += " — " + escapeKeepingMentions(state)
	}
	return truncate(text, 3000)
}

func alertFields(req ApprovalRequest) []*slack.TextBlockObject {
	fields := []*slack.TextBlockObject{mrkdwn("*Severity*\n" + severityName(req.Severity))}
	if len(req.Techniques) > 0 {
		names := make([]string, len(req.Techniques))
		for i, t := range req.Techniques {
			names[i] = atlasLink(t)
		}
		fields = append(fields, mrkdwn(truncate("*ATLAS techniques*\n"+strings.Join(names, ", "), 2000)))
	}
	if req.Asset != "" {
		fields = append(fields, mrkdwn(truncate("*Asset*\n"+escape(req.Asset), 2000)))
	}
	return append(fields, mrkdwn(truncate("*Incident*\n"+escape(req.Incident), 2000)))
}

func approvalButtons(req ApprovalRequest) *slack.ActionBlock {
	value := SlackButtonValue(req.Incident, req.Step)
	approve := slack.NewButtonBlockElement(SlackApproveAction, value, plainText("Approve")).WithStyle(slack.StylePrimary)
	confirm := slack.NewConfirmationBlockObject(
		plainText("Reject this step?"),
		mrkdwn(truncate(fmt.Sprintf("*%s* (%s) will be skipped.", escape(req.Step), escape(req.Action)), 300)),
		plainText("Reject"), plainText("Cancel"),
	).WithStyle(slack.StyleDanger)
	reject := slack.NewButtonBlockElement(SlackRejectAction, value, plainText("Reject")).WithStyle(slack.StyleDanger).WithConfirm(confirm)
	// Reclassify moves the incident to the other triage class (AI incident
	// or model performance issue); a dialog asks why.
	reclassify := slack.NewButtonBlockElement(SlackReclassifyAction, req.Incident, plainText("Reclassify"))
	return slack.NewActionBlock(slackBlockActions, approve, reject, reclassify)
}

// whoAndWhen is the context line: the role and its approvers, the
// deadline in each reader's time zone, and the two-person rule.
func whoAndWhen(req ApprovalRequest) []slack.MixedElement {
	who := "Who may decide: role *" + escape(cmp.Or(req.Role, "unknown")) + "*"
	if slackGroupID.MatchString(req.Group) {
		who += " <!subteam^" + req.Group + ">"
	}
	if len(req.Approvers) > 0 {
		names := make([]string, len(req.Approvers))
		for i, a := range req.Approvers {
			names[i] = mention(a)
		}
		who += " (" + strings.Join(names, ", ") + ")"
	}
	elements := []slack.MixedElement{mrkdwn(truncate(who, 2000))}
	if !req.Deadline.IsZero() {
		fallback := req.Deadline.UTC().Format("2006-01-02 15:04 UTC")
		elements = append(elements, mrkdwn(fmt.Sprintf("Deadline: <!date^%d^{date_short_pretty} {time}|%s>", req.Deadline.Unix(), fallback)))
	}
	if req.TwoPerson {
		elements = append(elements, mrkdwn("Two-person rule: two different approvers must approve"))
	}
	return elements
}

// slackGroupID matches Slack user group ids, which a role may be given.
var slackGroupID = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)

// slackUserID matches Slack user ids, which approvers may be configured as.
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

// mention shows an approver: a Slack user id as a mention, anything else
// as written.
func mention(approver string) string {
	if slackUserID.MatchString(approver) {
		return "<@" + approver + ">"
	}
	return escape(approver)
}

// atlasTechnique matches MITRE ATLAS technique ids, such as AML.T0051 and
// AML.T0051.001.
var atlasTechnique = regexp.MustCompile(`^AML\.T\d{4}(\.\d{3})?$`)

// atlasLink links a technique id to its ATLAS page; anything else is shown
// as written.
func atlasLink(technique string) string {
	if !atlasTechnique.MatchString(technique) {
		return escape(technique)
	}
	return fmt.Sprintf("<https://atlas.mitre.org/techniques/%s|%s>", technique, technique)
}

func severityName(severity int64) string {
	names := []string{1: "info", 2: "low", 3: "medium", 4: "high", 5: "critical"}
	if severity >= 1 && severity <= 5 {
		return names[severity]
	}
	return fmt.Sprintf("unknown (%d)", severity)
}

// maskedValue replaces a secret parameter's value.
const maskedValue = "••••"

// paramList shows a step's parameters as a "• key: value" list sorted by
// key, with the values of secret-looking keys masked at any depth.
func paramList(params map[string]any) string {
	var normal map[string]any
	if data, err := json.Marshal(params); err != nil || json.Unmarshal(data, &normal) != nil {
		return "_parameters cannot be shown_"
	}
	keys := slices.Sorted(maps.Keys(normal))
	lines := make([]string, len(keys))
	for i, k := range keys {
		v := normal[k]
		if isSecretKey(k) {
			v = maskedValue
		}
		lines[i] = "• `" + escape(k) + "`: " + escape(truncate(showValue(maskSecrets(v)), 300))
	}
	return strings.Join(lines, "\n")
}

// showValue renders a parameter value: strings as they are, the rest as
// JSON.
func showValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}

// maskSecrets masks the values of secret-looking keys in maps nested in v.
func maskSecrets(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			if isSecretKey(k) {
				out[k] = maskedValue
			} else {
				out[k] = maskSecrets(item)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = maskSecrets(item)
		}
		return out
	}
	return v
}

// isSecretKey says whether a parameter's name suggests a secret value:
// it mentions a token, secret, password, authorization, credential or
// cookie, or a key (api_key, apiKey, key) that is not a key's id or name.
func isSecretKey(name string) bool {
	lower := strings.ToLower(name)
	for _, word := range []string{"token", "secret", "password", "passwd", "authorization", "credential", "cookie"} {
		if strings.Contains(lower, word) {
			return true
		}
	}
	words := splitWords(name)
	for i, w := range words {
		if w != "key" && w != "keys" && !strings.HasSuffix(w, "key") {
			continue
		}
		if i+1 < len(words) && slices.Contains([]string{"id", "ids", "name", "names"}, words[i+1]) {
			continue
		}
		return true
	}
	return false
}

// splitWords splits snake_case, kebab-case and camelCase names into lower
// case words.
func splitWords(name string) []string {
	var words []string
	var word []rune
	flush := func() {
		if len(word) > 0 {
			words = append(words, strings.ToLower(string(word)))
			word = word[:0]
		}
	}
	prevLower := false
	for _, r := range name {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			prevLower = false
			continue
		case unicode.IsUpper(r) && prevLower:
			flush()
		}
		word = append(word, r)
		prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
	}
	flush()
	return words
}

func plainText(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, text, false, false)
}

func mrkdwn(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, false)
}

// escape makes text safe in Slack's mrkdwn: "<" and ">" can no longer
// make links or mentions such as <!channel>. Bold and italics still work.
func escape(text string) string { return slackutilsx.EscapeMessage(text) }

// userMention matches a Slack user mention, <@U123> or <@U123|name>.
var userMention = regexp.MustCompile(`<@[UW][A-Z0-9]+(\|[^<>]*)?>`)

// escapeKeepingMentions escapes text but keeps user mentions, which the
// workflow's texts use to name approvers; <!channel> and links are still
// escaped.
func escapeKeepingMentions(text string) string {
	var b strings.Builder
	last := 0
	for _, m := range userMention.FindAllStringIndex(text, -1) {
		b.WriteString(escape(text[last:m[0]]))
		b.WriteString(text[m[0]:m[1]])
		last = m[1]
	}
	b.WriteString(escape(text[last:]))
	return b.String()
}

// truncate shortens text to at most n runes, marking the cut with "…".
func truncate(text string, n int) string {
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	runes := []rune(text)
	return string(runes[:n-1]) + "…"
}

// slackFailure classifies a failed Slack call for Temporal: rate limits
// and Slack's own trouble are retried (after Retry-After when given),
// refusals that a retry cannot fix are not, and network errors are.
func slackFailure(doing, channel string, err error) error {
	var rateLimited *slack.RateLimitedError
	var status slack.StatusCodeError
	var refused slack.SlackErrorResponse
	switch {
	case errors.As(err, &rateLimited):
		msg := fmt.Sprintf("slack: %s: Slack is rate limiting aisoar; retrying in %s", doing, rateLimited.RetryAfter)
		return temporal.NewApplicationErrorWithOptions(msg, "SlackRateLimited", temporal.ApplicationErrorOptions{NextRetryDelay: rateLimited.RetryAfter})
	case errors.As(err, &status):
		msg := fmt.Sprintf("slack: %s: Slack answered %s", doing, status.Status)
		if status.Retryable() || status.Code == http.StatusRequestTimeout {
			return temporal.NewApplicationError(msg, "SlackHTTPStatus", status.Code)
		}
		return temporal.NewNonRetryableApplicationError(msg, "SlackHTTPStatus", nil, status.Code)
	case errors.As(err, &refused):
		msg := fmt.Sprintf("slack: %s: %s", doing, explainSlackError(refused, channel))
		if transientSlackError(refused.Err) {
			return temporal.NewApplicationError(msg, "SlackError", refused.Err)
		}
		return temporal.NewNonRetryableApplicationError(msg, "SlackError", nil, refused.Err)
	}
	return fmt.Errorf("slack: %s: %w", doing, err)
}

// transientSlackError says whether Slack documents an error code as a
// passing problem on its side.
func transientSlackError(code string) bool {
	switch code {
	case "internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited", "team_added_to_org":
		return true
	}
	return false
}

// explainSlackError says what a Slack error code means and what to fix.
func explainSlackError(e slack.SlackErrorResponse, channel string) string {
	switch e.Err {
	case "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive":
		return fmt.Sprintf("Slack refused the bot token (%s): check slack.bot_token in the config file", e.Err)
	case "missing_scope":
		return fmt.Sprintf("the Slack app lacks the scope %s (missing_scope): add it under OAuth & Permissions and reinstall the app", cmp.Or(e.Needed, "chat:write"))
	case "channel_not_found":
		return fmt.Sprintf("Slack has no channel %q the bot can see (channel_not_found): check the channel, and invite the bot if the channel is private", channel)
	case "not_in_channel":
		return fmt.Sprintf("the bot is not a member of %q (not_in_channel): invite it to the channel", channel)
	case "is_archived":
		return fmt.Sprintf("channel %q is archived (is_archived): send to another channel", channel)
	case "message_not_found":
		return "the message is gone (message_not_found); it may have been deleted"
	case "cant_update_message", "edit_window_closed":
		return fmt.Sprintf("Slack does not let the bot edit the message (%s)", e.Err)
	case "restricted_action", "ekm_access_denied", "team_access_not_granted", "access_denied", "no_permission":
		return fmt.Sprintf("the workspace does not let the bot post in %q (%s): ask a Slack admin", channel, e.Err)
	case "invalid_blocks", "invalid_blocks_format", "msg_too_long", "msg_blocks_too_long", "no_text", "invalid_arguments":
		return fmt.Sprintf("Slack refused the message as malformed (%s)", e.Err)
	}
	if transientSlackError(e.Err) {
		return fmt.Sprintf("Slack had a passing problem (%s)", e.Err)
	}
	return fmt.Sprintf("Slack refused the call (%s)", e.Err)
}
