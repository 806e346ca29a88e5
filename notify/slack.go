package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/slack-go/slack"

	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/internal/version"
)

// Slack delivers messages to Slack through an incoming webhook, or through
// the Web API with a bot token (which threads reminders and resolutions
// under the first alert and marks that alert resolved).
type Slack struct {
	webhook  secret.Value
	botToken secret.Value
	api      *slack.Client // bot mode; nil with a webhook
	channel  string
	client   *http.Client
	retry    Retry
	logger   *slog.Logger
	now      func() time.Time
}

var _ Notifier = (*Slack)(nil)

// SlackOptions configure a Slack notifier. Exactly one of WebhookURL and
// BotToken is set.
type SlackOptions struct {
	WebhookURL secret.Value
	BotToken   secret.Value
	Channel    string
	APIURL     string // bot mode: methods are posted to {APIURL}chat.postMessage
	// Client is the HTTP client; nil means one with a 10s timeout.
	Client *http.Client
	Retry  Retry
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Retry says how hard one Send tries before leaving the message to the next run.
type Retry struct {
	Attempts int           // in all, the first included; 0 means 4
	Backoff  time.Duration // first pause, doubled each time; 0 means 1s
	// MaxWait is the longest pause tokenwatch accepts, Retry-After included;
	// a longer Retry-After leaves the message to the next run. 0 means 30s.
	MaxWait time.Duration
}

// NewSlack returns a Slack notifier.
func NewSlack(o SlackOptions) *Slack {
	if o.Client == nil {
		o.Client = version.Client(10 * time.Second)
	}
	if o.Retry.Attempts == 0 {
		o.Retry.Attempts = 4
	}
	if o.Retry.Backoff == 0 {
		o.Retry.Backoff = time.Second
	}
	if o.Retry.MaxWait == 0 {
		o.Retry.MaxWait = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Slack{webhook: o.WebhookURL, botToken: o.BotToken, channel: o.Channel, client: o.Client, retry: o.Retry, logger: o.Logger, now: o.Now}
	if !o.BotToken.Empty() {
		s.api = slack.New(o.BotToken.Reveal(), slack.OptionAPIURL(o.APIURL), slack.OptionHTTPClient(o.Client))
	}
	return s
}

// Name implements Notifier.
func (s *Slack) Name() string { return "slack" }

// Send implements Notifier.
func (s *Slack) Send(ctx context.Context, m Message) (*Thread, error) {
	card := CardFor(m, s.now())
	blocks := Blocks(card)
	if s.api == nil {
		return nil, s.postWebhook(ctx, card.Fallback, blocks)
	}
	opts := []slack.MsgOption{slack.MsgOptionText(card.Fallback, false), slack.MsgOptionBlocks(blocks...), slack.MsgOptionDisableLinkUnfurl()}
	channel := s.channel
	threaded := m.Thread != nil && !m.NewThread
	if threaded {
		channel = m.Thread.Channel
		opts = append(opts, slack.MsgOptionTS(m.Thread.TS))
		if m.Kind == alert.KindAlert {
			opts = append(opts, slack.MsgOptionBroadcast()) // a changed outcome belongs in the channel too
		}
	}
	var posted Thread
	err := s.do(ctx, func(ctx context.Context) error {
		ch, ts, err := s.api.PostMessageContext(ctx, channel, opts...)
		posted = Thread{Channel: ch, TS: ts}
		return err
	})
	if err != nil {
		return nil, err
	}
	if threaded && m.Kind == alert.KindResolved {
		s.markResolved(ctx, m)
	}
	if m.Kind == alert.KindAlert && m.NewThread {
		return &posted, nil
	}
	return nil, nil
}

// markResolved edits the incident's first message to say it is over. The
// resolution itself is already in the thread, so a failure here is logged,
// not retried by the next run (that would repeat the reply).
func (s *Slack) markResolved(ctx context.Context, m Message) {
	d := m.Decision
	c := Card{
		Emoji:    ":white_check_mark:",
		Headline: fmt.Sprintf("Resolved: %s (was %s)", d.Check, d.Previous),
		Fallback: fmt.Sprintf("[RESOLVED] %s was %s", d.Check, d.Previous),
		Sections: []string{fmt.Sprintf("Was *%s* from %s until %s (%s). The history is in the thread.", d.Previous, Timestamp(d.Since), Timestamp(d.At), Duration(d.At.Sub(d.Since)))},
		Context:  []string{fmt.Sprintf("tokenwatch · check `%s` · %s", d.Check, d.Type)},
	}
	err := s.do(ctx, func(ctx context.Context) error {
		_, _, _, err := s.api.UpdateMessageContext(ctx, m.Thread.Channel, m.Thread.TS,
			slack.MsgOptionText(c.Fallback, false), slack.MsgOptionBlocks(Blocks(c)...))
		return err
	})
	if err != nil {
		s.logger.Warn("could not mark the alert message resolved", "check", d.Check, "error", err.Error())
	}
}

// SendSummary implements Notifier.
func (s *Slack) SendSummary(ctx context.Context, ms []Message) error {
	card := SummaryCard(ms)
	blocks := Blocks(card)
	if s.api == nil {
		return s.postWebhook(ctx, card.Fallback, blocks)
	}
	return s.do(ctx, func(ctx context.Context) error {
		_, _, err := s.api.PostMessageContext(ctx, s.channel, slack.MsgOptionText(card.Fallback, false), slack.MsgOptionBlocks(blocks...))
		return err
	})
}

func (s *Slack) postWebhook(ctx context.Context, text string, blocks []slack.Block) error {
	msg := &slack.WebhookMessage{Text: text, Blocks: &slack.Blocks{BlockSet: blocks}}
	return s.do(ctx, func(ctx context.Context) error {
		return slack.PostWebhookCustomHTTPContext(ctx, s.webhook.Reveal(), s.client, msg)
	})
}

// do runs op, retrying with backoff on 5xx, network errors and 429 (after
// Retry-After). The error it returns never contains the webhook URL or the
// bot token: errors from net/http quote the URL, so they are described
// rather than passed on.
func (s *Slack) do(ctx context.Context, op func(context.Context) error) error {
	backoff := s.retry.Backoff
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		if err == nil {
			return nil
		}
		wait, retryable := retryWait(err, backoff)
		if !retryable || attempt >= s.retry.Attempts || wait > s.retry.MaxWait {
			return &DeliveryError{Attempts: attempt, Reason: s.describe(err)}
		}
		s.logger.Debug("slack delivery failed, retrying", "attempt", attempt, "wait", wait.String(), "error", s.describe(err))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return &DeliveryError{Attempts: attempt, Reason: s.describe(err) + "; then the run was stopped"}
		}
		backoff *= 2
	}
}

// describe is Describe with the webhook URL and bot token scrubbed, in case
// an error type Describe does not know quotes them.
func (s *Slack) describe(err error) string {
	var scrub secret.Scrubber
	scrub.Add(s.webhook.Reveal(), s.botToken.Reveal())
	return scrub.Scrub(Describe(err))
}

// DeliveryError is a message that could not be delivered.
type DeliveryError struct {
	Attempts int
	Reason   string
}

// Error says why, without the webhook URL or the token.
func (e *DeliveryError) Error() string {
	return fmt.Sprintf("slack: %s (after %d attempts)", e.Reason, e.Attempts)
}

// retryWait says whether err is worth another attempt, and after how long.
func retryWait(err error, backoff time.Duration) (time.Duration, bool) {
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	var netErr net.Error
	switch {
	case errors.As(err, &rl):
		return rl.RetryAfter, true
	case errors.As(err, &sc):
		return backoff, sc.Code == http.StatusTooManyRequests || sc.Code >= 500
	case errors.As(err, &se):
		switch se.Err {
		case "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout":
			return backoff, true
		}
		return 0, false
	case errors.Is(err, context.Canceled):
		return 0, false
	case errors.As(err, &netErr), errors.Is(err, context.DeadlineExceeded):
		return backoff, true
	}
	var urlErr *url.Error
	return backoff, errors.As(err, &urlErr) // other transport failures: connection reset, EOF
}

// Describe says what went wrong with a Slack call without quoting the URL
// (a webhook URL is a secret) or anything the server echoed.
func Describe(err error) string {
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	var de *DeliveryError
	var urlErr *url.Error
	switch {
	case errors.As(err, &de):
		return de.Reason
	case errors.As(err, &rl):
		return fmt.Sprintf("rate limited by Slack (Retry-After %s)", rl.RetryAfter)
	case errors.As(err, &sc):
		return fmt.Sprintf("Slack answered HTTP %d", sc.Code)
	case errors.As(err, &se):
		return "Slack refused the message: " + se.Err
	case errors.As(err, &urlErr):
		var netErr net.Error
		if errors.As(urlErr.Err, &netErr) && netErr.Timeout() {
			return "Slack did not answer in time"
		}
		var opErr *net.OpError
		if errors.As(urlErr.Err, &opErr) {
			return "cannot reach Slack: " + opErr.Err.Error()
		}
		return "cannot reach Slack: " + urlErr.Err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "Slack did not answer in time"
	}
	return "Slack call failed: " + err.Error()
}
