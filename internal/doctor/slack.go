package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokenwatch/tokenwatch/notify/slack"
)

// maxAnswer bounds what a probe reads of an answer: Slack's are a few
// hundred bytes, and whatever answers in its place must not make doctor
// buffer more.
const maxAnswer = 64 << 10

// Webhook tests an incoming webhook by posting an empty JSON object, which
// Slack refuses without posting anything: "400 invalid_payload" (or
// "no_text") proves the webhook exists, while a removed one answers 404,
// 403 or 410. The URL is a secret: it appears in no detail.
func Webhook(ctx context.Context, client *http.Client, webhookURL string) (Result, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, strings.NewReader("{}"))
	if err != nil {
		return Fail, "slack.webhook_url is not a URL Go can request"
	}
	req.Header.Set("Content-Type", "application/json")
	status, body, err := exchange(client, req)
	if err != nil {
		return Fail, "unreachable: " + describe(err)
	}
	return webhookVerdict(status, body)
}

// webhookVerdict reads a webhook's answer to an empty payload.
func webhookVerdict(status int, body []byte) (Result, string) {
	text := strings.TrimSpace(string(body))
	code := slack.Code(text)
	if r, detail, ok := byStatus(status, "slack.webhook_url"); ok {
		return r, detail
	}
	switch {
	case status == http.StatusBadRequest && (code == "invalid_payload" || code == "no_text"):
		return OK, fmt.Sprintf("alive (400 %s: Slack answers, the webhook exists)", code)
	case status == http.StatusOK && text == "ok":
		return Warn, "HTTP 200 ok to an empty payload, which Slack refuses: check that slack.webhook_url is a Slack incoming webhook (whatever answered accepted an empty message)"
	case code != "invalid_payload" && code != "no_text" && slack.WebhookAdvice(code) != "":
		return Fail, fmt.Sprintf("dead (%d %s): %s", status, code, slack.WebhookAdvice(code))
	case code != "":
		return Fail, fmt.Sprintf("Slack answered HTTP %d %s to an empty payload: check slack.webhook_url", status, code)
	}
	return Fail, fmt.Sprintf("answered HTTP %d with something that is not Slack's: check that slack.webhook_url is a Slack incoming webhook", status)
}

// BotToken tests a bot token with auth.test, which only says whom the
// token belongs to. The token goes in the form, as slack-go sends it.
func BotToken(ctx context.Context, client *http.Client, apiURL, token string) (Result, string) {
	form := url.Values{"token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, apiURL+"auth.test", strings.NewReader(form))
	if err != nil {
		return Fail, "slack.api_url is not a URL Go can request"
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, body, err := exchange(client, req)
	if err != nil {
		return Fail, "unreachable: " + describe(err)
	}
	return authVerdict(status, body)
}

// authAnswer is what auth.test answers.
type authAnswer struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	Team  string `json:"team"`
	User  string `json:"user"`
}

// authVerdict reads auth.test's answer. The Web API answers HTTP 200 with
// ok:false for its errors: ok is what counts.
func authVerdict(status int, body []byte) (Result, string) {
	if r, detail, ok := byStatus(status, "slack.api_url"); ok {
		return r, detail
	}
	var a authAnswer
	if status != http.StatusOK || json.Unmarshal(body, &a) != nil {
		return Fail, fmt.Sprintf("answered HTTP %d with something that is not Slack's Web API: check slack.api_url", status)
	}
	code := slack.Code(a.Error)
	switch {
	case a.OK:
		return OK, "valid" + whom(a) + " (auth.test does not check slack.channel: invite the bot there)"
	case slack.BadToken(code):
		return Fail, fmt.Sprintf("Slack says %s: %s", code, slack.APIAdvice(code))
	case code == "ratelimited":
		return Warn, "rate limited by Slack: could not tell, try again in a minute"
	case slack.Transient(code):
		return Fail, fmt.Sprintf("Slack failed (%s): unreachable for now, try again", code)
	case code != "":
		return Fail, fmt.Sprintf("Slack says %s: check slack.bot_token", code)
	}
	return Fail, "Slack refused auth.test without saying why: check slack.bot_token and slack.api_url"
}

// whom names the workspace and the bot, as far as Slack said.
func whom(a authAnswer) string {
	team, user := sanitize(a.Team), sanitize(a.User)
	switch {
	case team != "" && user != "":
		return fmt.Sprintf(" for team %q as %q", team, user)
	case team != "":
		return fmt.Sprintf(" for team %q", team)
	case user != "":
		return fmt.Sprintf(" as %q", user)
	}
	return ""
}

// byStatus reads the statuses that say it all, whoever answers: a
// redirect, a rate limit, an outage. ok is false for the others.
func byStatus(status int, setting string) (r Result, detail string, ok bool) {
	switch {
	case status >= 300 && status < 400:
		return Fail, fmt.Sprintf("answered a redirect (HTTP %d), and redirects are not followed: check %s", status, setting), true
	case status == http.StatusTooManyRequests:
		return Warn, "rate limited (HTTP 429): could not tell, try again in a minute", true
	case status >= 500 || status == http.StatusRequestTimeout:
		return Fail, fmt.Sprintf("unreachable: HTTP %d", status), true
	}
	return "", "", false
}

// exchange sends req and reads at most maxAnswer bytes of the answer.
func exchange(client *http.Client, req *http.Request) (int, []byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, nil, fmt.Errorf("read the answer: %w", err)
	}
	return resp.StatusCode, body, nil
}
