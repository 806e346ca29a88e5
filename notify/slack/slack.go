package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/internal/version"
	"github.com/tokenwatch/tokenwatch/notify"
)

// Notifier delivers messages to Slack through an incoming webhook, or
// through the Web API with a bot token (which threads reminders and
// resolutions under the first alert and marks that alert resolved).
type Notifier struct {
	webhook  secret.Value
	botToken secret.Value
	api      *slackapi.Client // bot mode; nil with a webhook
	channel  string
	routes   map[string]Route
	scrub    *secret.Scrubber
	client   *http.Client
	retry    Retry
	logger   *slog.Logger
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	// maxPerRun is how many messages a run sends one by one.
	maxPerRun int
}

var (
	_ notify.Notifier = (*Notifier)(nil)
	_ notify.Limited  = (*Notifier)(nil)
)

// Options configure a Slack notifier. Exactly one of WebhookURL and
// BotToken is set.
type Options struct {
	WebhookURL secret.Value
	BotToken   secret.Value
	Channel    string
	APIURL     string // bot mode: methods are posted to {APIURL}chat.postMessage
	// Routes are the checks whose messages go elsewhere than the default
	// destination (WebhookURL or Channel), by check name. A summary and
	// a notice always go to the default destination.
	Routes map[string]Route
	// Client is the HTTP client; nil means version.Client with a 10s
	// timeout, which follows no redirect.
	Client *http.Client
	Retry  Retry
	Logger *slog.Logger
	// Now is the clock (a Retry-After date counts from it); nil means time.Now.
	Now func() time.Time
	// Sleep waits d between attempts, or until ctx is done (then it returns
	// ctx's error); nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// MaxPerRun is slack.max_messages_per_run: past it, a run sends one
	// summary. 0 means DefaultMaxPerRun.
	MaxPerRun int
}

// Route is where one check's messages go: a channel (bot mode), or an
// incoming webhook of its own (either mode). Exactly one is set.
type Route struct {
	Channel    string
	WebhookURL secret.Value
}

// DefaultMaxPerRun is the messages Slack takes one by one in a run.
const DefaultMaxPerRun = 5

// Retry says how hard one Send tries before leaving the message to the next run.
type Retry struct {
	Attempts int           // in all, the first included; 0 means 4
	Backoff  time.Duration // first pause, doubled each time; 0 means 1s
	// MaxWait is the longest pause tokenwatch accepts, Retry-After included;
	// a longer Retry-After leaves the message to the next run. 0 means 30s.
	MaxWait time.Duration
}

// maxWebhookAnswer bounds what is read of a webhook's answer: "ok" or an
// error string is all Slack sends.
const maxWebhookAnswer = 4 << 10

// maxAPIAnswer bounds what slack-go decodes of a Web API answer, which
// echoes the posted message.
const maxAPIAnswer = 1 << 20

// New returns a Slack notifier.
func New(o Options) *Notifier {
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
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.MaxPerRun == 0 {
		o.MaxPerRun = DefaultMaxPerRun
	}
	s := &Notifier{maxPerRun: o.MaxPerRun, webhook: o.WebhookURL, botToken: o.BotToken, channel: o.Channel, routes: o.Routes,
		scrub: scrubberOf(o), client: o.Client, retry: o.Retry, logger: o.Logger, now: o.Now, sleep: o.Sleep}
	if !o.BotToken.Empty() {
		s.api = slackapi.New(o.BotToken.Reveal(), slackapi.OptionAPIURL(o.APIURL), slackapi.OptionHTTPClient(botClient{client: o.Client, now: o.Now}))
	}
	return s
}

// Name implements notify.Notifier.
func (s *Notifier) Name() string { return name }

// name is the notifier's name in reports, errors and metrics.
const name = "slack"

// MaxPerRun implements notify.Limited.
func (s *Notifier) MaxPerRun() int { return s.maxPerRun }

// Send implements notify.Notifier.
func (s *Notifier) Send(ctx context.Context, m notify.Message) (*notify.Thread, error) {
	text, blocks := Render(notify.Compose(m, s.now()))
	route := s.routes[m.Check]
	switch {
	case !route.WebhookURL.Empty():
		return nil, s.postWebhook(ctx, route.WebhookURL, m.Check, text, blocks)
	case s.api == nil:
		return nil, s.postWebhook(ctx, s.webhook, "", text, blocks)
	}
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(text, false), slackapi.MsgOptionBlocks(blocks...), slackapi.MsgOptionDisableLinkUnfurl()}
	channel := s.channel
	if route.Channel != "" {
		channel = route.Channel
	}
	threaded := m.Thread != nil && !m.NewThread
	if threaded {
		channel = m.Thread.Channel
		opts = append(opts, slackapi.MsgOptionTS(m.Thread.TS))
		if m.Kind == alert.KindAlert {
			opts = append(opts, slackapi.MsgOptionBroadcast()) // a changed outcome belongs in the channel too
		}
	}
	var posted notify.Thread
	err := s.do(ctx, func(ctx context.Context) error {
		ch, ts, err := s.api.PostMessageContext(ctx, channel, opts...)
		posted = notify.Thread{Channel: ch, TS: ts}
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
func (s *Notifier) markResolved(ctx context.Context, m notify.Message) {
	d := m.Decision
	c := card{
		Emoji:    ":white_check_mark:",
		Headline: fmt.Sprintf("Resolved: %s (was %s)", d.Check, d.Previous),
		Fallback: fmt.Sprintf("[RESOLVED] %s was %s", d.Check, d.Previous),
		Sections: []string{fmt.Sprintf("Was *%s* from %s until %s (%s). The history is in the thread.", d.Previous, notify.Timestamp(d.Since), notify.Timestamp(d.At), notify.Duration(d.At.Sub(d.Since)))},
		Context:  []string{fmt.Sprintf("tokenwatch · check `%s` · %s", d.Check, d.Type)},
	}
	if d.Owner != "" {
		c.Context[0] += " · owner " + escape(d.Owner)
	}
	err := s.do(ctx, func(ctx context.Context) error {
		_, _, _, err := s.api.UpdateMessageContext(ctx, m.Thread.Channel, m.Thread.TS,
			slackapi.MsgOptionText(c.Fallback, false), slackapi.MsgOptionBlocks(blocksOf(c)...))
		return err
	})
	if err != nil {
		s.logger.Warn("could not mark the alert message resolved", "check", d.Check, "error", err.Error())
	}
}

// SendSummary implements notify.Notifier.
func (s *Notifier) SendSummary(ctx context.Context, ms []notify.Message) error {
	text, blocks := Render(notify.ComposeSummary(ms))
	if s.api == nil {
		return s.postWebhook(ctx, s.webhook, "", text, blocks)
	}
	return s.do(ctx, func(ctx context.Context) error {
		_, _, err := s.api.PostMessageContext(ctx, s.channel, slackapi.MsgOptionText(text, false), slackapi.MsgOptionBlocks(blocks...))
		return err
	})
}

// postWebhook posts a message to an incoming webhook. check names the
// check whose own webhook it is, "" for the slack section's: a failure of
// a check's webhook says so, since the advice names only the key.
func (s *Notifier) postWebhook(ctx context.Context, hook secret.Value, check, text string, blocks []slackapi.Block) error {
	payload, err := WebhookBody(text, blocks)
	if err != nil {
		return err
	}
	return s.do(ctx, func(ctx context.Context) error {
		err := s.webhookOnce(ctx, hook, payload)
		var f *failure
		if err == nil || check == "" || !errors.As(err, &f) {
			return err
		}
		return &failure{class: f.class, reason: "the webhook of check " + check + " (its own slack.webhook_url): " + f.reason, wait: f.wait}
	})
}

// webhookOnce posts payload to the webhook once. slack-go's webhook helper
// is not used: it drops Slack's error string, which is the only thing that
// tells a removed webhook from an outage.
func (s *Notifier) webhookOnce(ctx context.Context, hook secret.Value, payload []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.Reveal(), bytes.NewReader(payload))
	if err != nil {
		return &failure{class: notify.Permanent, reason: webhookSetting + " is not a valid URL"} // err quotes the URL
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxWebhookAnswer))
	if err != nil {
		return fmt.Errorf("read Slack's answer: %w", err)
	}
	if f := webhookAnswer(resp.StatusCode, resp.Header, body, s.now()); f != nil {
		return f
	}
	return nil
}

// do runs op, retrying transient failures with backoff and rate limits
// after Retry-After, as long as the run goes on. A permanent failure is
// not retried: Slack would refuse again until a person fixes the
// configuration. The error it returns never contains the webhook URL or
// the bot token.
func (s *Notifier) do(ctx context.Context, op func(context.Context) error) error {
	backoff := s.retry.Backoff
	var last *failure
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return stopped(ctx, last, attempt-1)
		}
		err := op(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return stopped(ctx, last, attempt) // the call failed because the run stopped
		}
		last = s.classify(err)
		wait := backoff
		if last.class == notify.RateLimited && last.wait > 0 {
			wait = last.wait
		}
		switch {
		case last.class == notify.Permanent || attempt >= s.retry.Attempts:
			return &notify.DeliveryError{Notifier: name, Class: last.class, Reason: last.reason, Attempts: attempt}
		case wait > s.retry.MaxWait:
			return &notify.DeliveryError{Notifier: name, Class: last.class, Reason: last.reason + ": too long to wait within this run", Attempts: attempt}
		}
		s.logger.Debug("slack delivery failed, retrying", "attempt", attempt, "wait", wait.String(), "class", string(last.class), "error", last.reason)
		if s.sleep(ctx, wait) != nil {
			return stopped(ctx, last, attempt)
		}
		backoff *= 2
	}
}

// stopped is the error of a delivery the run's end interrupted: the
// message stays undelivered, for the next run.
func stopped(ctx context.Context, last *failure, attempts int) error {
	reason := "the run was stopped before Slack accepted the message"
	if last != nil {
		reason += " (earlier: " + last.reason + ")"
	}
	return &notify.DeliveryError{Notifier: name, Class: notify.Transient, Reason: reason, Attempts: attempts, Stopped: ctx.Err()}
}

// classify is the package's classify with every webhook URL and the bot
// token scrubbed, in case an error quotes them after all: a hostile answer
// may echo the request's path, which holds the webhook's token.
func (s *Notifier) classify(err error) *failure {
	f := *classify(err)
	f.reason = s.scrub.Scrub(f.reason)
	return &f
}

// scrubberOf scrubs the notifier's secrets: the bot token, and every
// webhook URL with its path and last segment (a webhook's token).
func scrubberOf(o Options) *secret.Scrubber {
	scrub := &secret.Scrubber{}
	scrub.Add(o.BotToken.Reveal())
	hooks := []secret.Value{o.WebhookURL}
	for _, r := range o.Routes {
		hooks = append(hooks, r.WebhookURL)
	}
	for _, h := range hooks {
		if h.Empty() {
			continue
		}
		scrub.Add(h.Reveal())
		if u, err := url.Parse(h.Reveal()); err == nil {
			scrub.Add(u.EscapedPath(), path.Base(u.Path))
		}
	}
	return scrub
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// botClient is what slack-go posts through. It turns every answer but
// HTTP 200 into a classified failure itself: slack-go reports a
// Retry-After date as a strconv error, and any other status as a bare
// number. It also bounds the body slack-go decodes.
type botClient struct {
	client *http.Client
	now    func() time.Time
}

// Do implements slack-go's HTTP client interface.
func (b botClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, maxAPIAnswer), resp.Body}
		return resp, nil
	}
	resp.Body.Close()
	if f := byStatus(resp.StatusCode, resp.Header, b.now(), apiSetting); f != nil {
		return nil, f
	}
	return nil, &failure{class: notify.Permanent, reason: fmt.Sprintf("Slack answered HTTP %d: check %s", resp.StatusCode, apiSetting)}
}
