package slack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	slackapi "github.com/slack-go/slack"

	"github.com/tokenwatch/tokenwatch/notify"
)

// failure is one Slack call that failed, classified. Reason is already
// fit to show: sanitized, with what to do.
type failure struct {
	class  notify.Class
	reason string
	// wait is how long Slack asked to wait (rate limited); 0 when it did
	// not say, and the retry backoff applies.
	wait time.Duration
}

func (f *failure) Error() string { return f.reason }

// Where a broken Slack setting is fixed, for the advice in errors.
const (
	webhookSetting = "the webhook URL (slack.webhook_url)"
	apiSetting     = "slack.api_url"
)

// webhookAnswer classifies an incoming webhook's answer. Only 200 with the
// body "ok" is a delivery: a webhook that answers 200 with an error string
// did not post the message.
func webhookAnswer(status int, header http.Header, body []byte, now time.Time) *failure {
	text := strings.TrimSpace(string(body))
	if status == http.StatusOK && text == "ok" {
		return nil
	}
	code := slackCode(text)
	if f := byStatus(status, header, now, webhookSetting); f != nil {
		if f.class == notify.Transient && code != "" {
			f.reason += " (" + code + ")"
		}
		return f
	}
	switch {
	case transientCodes[code]:
		return &failure{class: notify.Transient, reason: fmt.Sprintf("Slack answered HTTP %d (%s)", status, code)}
	case code == "":
		return &failure{class: notify.Permanent, reason: fmt.Sprintf("Slack answered HTTP %d with %q instead of \"ok\": check that %s is a Slack incoming webhook", status, sanitize(text), webhookSetting)}
	}
	advice, ok := webhookAdvice[code]
	if !ok {
		advice = "check " + webhookSetting
	}
	return &failure{class: notify.Permanent, reason: fmt.Sprintf("Slack says %s: %s", code, advice)}
}

// byStatus classifies the answers whose status says it all: a redirect, a
// rate limit, an outage. Nil for the others, which the body explains.
func byStatus(status int, header http.Header, now time.Time, setting string) *failure {
	switch {
	case status >= 300 && status < 400:
		return &failure{class: notify.Permanent, reason: fmt.Sprintf("Slack answered a redirect (HTTP %d); redirects are not followed: check %s", status, setting)}
	case status == http.StatusTooManyRequests:
		wait, ok := retryAfter(header.Get("Retry-After"), now)
		if !ok {
			return &failure{class: notify.RateLimited, reason: "rate limited by Slack (HTTP 429 without a usable Retry-After)"}
		}
		return &failure{class: notify.RateLimited, reason: fmt.Sprintf("rate limited by Slack (Retry-After %s)", wait), wait: wait}
	case status >= 500 || status == http.StatusRequestTimeout:
		return &failure{class: notify.Transient, reason: fmt.Sprintf("Slack answered HTTP %d", status)}
	}
	return nil
}

// apiError classifies a Web API answer of ok:false.
func apiError(raw string) *failure {
	code := slackCode(raw)
	switch {
	case code == "ratelimited":
		return &failure{class: notify.RateLimited, reason: "rate limited by Slack (ratelimited)"}
	case transientCodes[code]:
		return &failure{class: notify.Transient, reason: "Slack failed: " + code}
	case code == "":
		return &failure{class: notify.Permanent, reason: fmt.Sprintf("Slack refused the message with %q: check slack.bot_token and slack.channel", sanitize(raw))}
	}
	advice, ok := apiAdvice[code]
	if !ok && strings.HasPrefix(code, "restricted_action") {
		advice, ok = "the workspace does not let the bot post in slack.channel; ask a Slack admin, or set another slack.channel", true
	}
	if !ok {
		advice = "check slack.bot_token and slack.channel"
	}
	return &failure{class: notify.Permanent, reason: fmt.Sprintf("Slack says %s: %s", code, advice)}
}

// classify turns the error of one Slack call into a failure. Errors from
// net/http quote the URL (a webhook URL is a secret), so they are
// described rather than passed on.
func classify(err error) *failure {
	var f *failure
	var se slackapi.SlackErrorResponse
	var netErr net.Error
	var urlErr *url.Error
	var opErr *net.OpError
	switch {
	case errors.As(err, &f):
		return f
	case errors.As(err, &se):
		return apiError(se.Err)
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return &failure{class: notify.Transient, reason: "Slack did not answer in time"}
	case errors.As(err, &urlErr):
		cause := urlErr.Err
		if errors.As(cause, &opErr) {
			cause = opErr.Err
		}
		return &failure{class: notify.Transient, reason: "cannot reach Slack: " + sanitize(cause.Error())}
	case errors.As(err, &opErr): // the connection failed while the answer was read
		return &failure{class: notify.Transient, reason: "the connection to Slack failed: " + sanitize(opErr.Err.Error())}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return &failure{class: notify.Transient, reason: "the connection closed before Slack's whole answer"}
	}
	// What remains is slack-go failing to read a 200 answer as the Web
	// API's JSON: whatever answered is not Slack's API.
	return &failure{class: notify.Permanent, reason: fmt.Sprintf("Slack's answer could not be read (%s): check %s", sanitize(err.Error()), apiSetting)}
}

// retryAfter reads a Retry-After value in either form RFC 9110 allows:
// delta-seconds ("120") or an HTTP-date, which counts from now.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// transientCodes are Slack's error strings for its own failures: worth
// another attempt.
var transientCodes = map[string]bool{
	"internal_error":      true,
	"fatal_error":         true,
	"service_unavailable": true,
	"request_timeout":     true,
	"rollup_error":        true,
}

// webhookAdvice says what a person must do about an incoming webhook's
// permanent error.
var webhookAdvice = map[string]string{
	"no_service":          "the webhook was removed or disabled; create a new incoming webhook and update slack.webhook_url",
	"invalid_token":       "the webhook's token is not valid; create a new incoming webhook and update slack.webhook_url",
	"channel_not_found":   "the webhook's channel was deleted; create a new incoming webhook and update slack.webhook_url",
	"channel_is_archived": "the webhook's channel is archived; unarchive it, or create a new incoming webhook and update slack.webhook_url",
	"user_not_found":      "the webhook's user no longer exists; create a new incoming webhook and update slack.webhook_url",
	"action_prohibited":   "a Slack admin restricted this webhook; ask them, or create a new incoming webhook and update slack.webhook_url",
	"invalid_payload":     "Slack refused the message's format; this is a tokenwatch bug, please report it with this error",
	"no_text":             "Slack refused the message's format; this is a tokenwatch bug, please report it with this error",
}

// apiAdvice says what a person must do about a Web API permanent error.
var apiAdvice = map[string]string{
	"invalid_auth":        botTokenAdvice,
	"not_authed":          botTokenAdvice,
	"token_revoked":       botTokenAdvice,
	"token_expired":       botTokenAdvice,
	"account_inactive":    botTokenAdvice,
	"missing_scope":       "the bot token lacks the chat:write scope; add it to the Slack app, reinstall the app and update slack.bot_token",
	"channel_not_found":   "slack.channel does not exist or the bot cannot see it; check slack.channel and invite the bot to it",
	"not_in_channel":      "the bot is not a member of slack.channel; invite it to the channel",
	"is_archived":         "slack.channel is archived; unarchive it or set another slack.channel",
	"msg_too_long":        messageAdvice,
	"msg_blocks_too_long": messageAdvice,
	"invalid_blocks":      messageAdvice,
	"no_text":             messageAdvice,
}

const (
	botTokenAdvice = "the bot token is not valid (revoked, expired, or the app was uninstalled); reinstall the Slack app and update slack.bot_token"
	messageAdvice  = "Slack refused the message's content; this is a tokenwatch bug, please report it with this error"
)

// Code is text when it looks like one of Slack's error strings
// (no_service, invalid_auth), else "": what other packages quote of an
// answer that may not come from Slack at all.
func Code(text string) string { return slackCode(text) }

// WebhookAdvice says what a person must do about an incoming webhook's
// permanent error code, or "" when the code is not one.
func WebhookAdvice(code string) string { return webhookAdvice[code] }

// APIAdvice says what a person must do about a Web API permanent error
// code, or "" when the code is not one.
func APIAdvice(code string) string { return apiAdvice[code] }

// BadToken reports whether a Web API error code means the bot token itself
// no longer works.
func BadToken(code string) bool { return apiAdvice[code] == botTokenAdvice }

// Transient reports whether a Slack error code is Slack's own failure,
// worth another attempt.
func Transient(code string) bool { return transientCodes[code] }

// slackCode is text when it looks like one of Slack's error strings
// (no_service, invalid_auth), else "".
func slackCode(text string) string {
	if text == "" || len(text) > 64 {
		return ""
	}
	for _, r := range text {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return ""
		}
	}
	return text
}

// maxQuoted bounds the server words an error quotes.
const maxQuoted = 100

// sanitize makes text Slack (or whatever answered in its place) sent fit
// for a terminal table and a log line: one line of printable characters,
// at most maxQuoted of them. Control characters (an escape sequence that
// clears the screen or retitles the terminal) and line breaks (a forged
// log line) become spaces.
func sanitize(text string) string {
	var b strings.Builder
	n, space := 0, false
	for _, r := range text {
		if unicode.IsSpace(r) || !unicode.IsGraphic(r) {
			space = true
			continue
		}
		if n >= maxQuoted {
			b.WriteString("…")
			break
		}
		if space && n > 0 {
			b.WriteByte(' ')
			n++
		}
		space = false
		b.WriteRune(r)
		n++
	}
	return b.String()
}
