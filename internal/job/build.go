// Package job is one pass of tokenwatch: run the checks, move the alert
// state, send what the alert policy decides, record metrics. run, serve and
// demo all go through it, so they behave the same.
package job

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/internal/version"
	"github.com/tokenwatch/tokenwatch/notify"
	"github.com/tokenwatch/tokenwatch/notify/alertmanager"
	"github.com/tokenwatch/tokenwatch/notify/slack"
)

// BuildChecks turns configured checks into runnable ones, each through its
// kind's Spec. Checks with the same TLS settings share one transport, so
// keep-alive connections are reused across checks and runs.
func BuildChecks(list []config.Check) ([]checks.Check, error) {
	clients := map[checks.TLSOptions]*http.Client{}
	var out []checks.Check
	for _, c := range list {
		if c.Spec == nil {
			return nil, fmt.Errorf("check %s: no settings for its type %q", c.Name, c.Type)
		}
		opts := checks.TLSOptions{CAFile: c.CAFile, InsecureSkipVerify: c.InsecureSkipVerify}
		client, ok := clients[opts]
		if !ok {
			rt, err := checks.NewTransport(opts)
			if err != nil {
				return nil, fmt.Errorf("check %s: %w", c.Name, err)
			}
			client = checks.NewClient(rt)
			clients[opts] = client
		}
		target := checks.Target{Name: c.Name, Client: client, Timeout: c.Timeout, UserAgent: version.UserAgent()}
		out = append(out, c.Spec.Build(target))
	}
	return out, nil
}

// BuildNotifiers builds every notifier the configuration has a section
// for, in a fixed order: none, one or several. Each kind takes its own
// section and nothing else; a new kind of notifier is its package under
// notify/ and one entry here. now is the notifiers' clock (nil means
// time.Now): late notes and Retry-After dates count from it.
func BuildNotifiers(cfg *config.Config, logger *slog.Logger, now func() time.Time) []notify.Notifier {
	var out []notify.Notifier
	if s := cfg.Slack; s != nil {
		out = append(out, slack.New(slack.Options{WebhookURL: s.WebhookURL, BotToken: s.BotToken, Channel: s.Channel,
			Routes: slackRoutes(cfg.Checks), APIURL: s.APIURL, MaxPerRun: s.MaxMessagesPerRun, Logger: logger, Now: now}))
	}
	if a := cfg.Alertmanager; a != nil {
		out = append(out, alertmanager.New(alertmanager.Options{URLs: a.URLs, Labels: a.Labels, ResendWindow: a.ResendWindow, Now: now}))
	}
	return out
}

// slackRoutes are the checks with a Slack destination of their own.
func slackRoutes(list []config.Check) map[string]slack.Route {
	routes := map[string]slack.Route{}
	for _, c := range list {
		if c.Slack != nil {
			routes[c.Name] = slack.Route{Channel: c.Slack.Channel, WebhookURL: c.Slack.WebhookURL}
		}
	}
	return routes
}

// Secrets lists every secret in the configuration, for scrubbers: each
// check's, as its kind lists them, its own Slack webhook, and tokenwatch's own.
func Secrets(cfg *config.Config) []string {
	var out []string
	add := func(v secret.Value) {
		if !v.Empty() {
			out = append(out, v.Reveal())
		}
	}
	for _, c := range cfg.Checks {
		for _, v := range c.Secrets() {
			add(v)
		}
		if c.Slack != nil {
			add(c.Slack.WebhookURL)
			out = append(out, urlSecrets(c.Slack.WebhookURL.Reveal())...)
		}
	}
	if cfg.Slack != nil {
		add(cfg.Slack.WebhookURL)
		out = append(out, urlSecrets(cfg.Slack.WebhookURL.Reveal())...)
		add(cfg.Slack.BotToken)
	}
	add(cfg.Heartbeat.URL)
	out = append(out, urlSecrets(cfg.Heartbeat.URL.Reveal())...)
	if pg := cfg.State.Postgres; pg != nil {
		add(pg.DSN)
		out = append(out, dsnSecrets(pg.DSN.Reveal())...)
	}
	return out
}

// dsnSecrets is the password inside a PostgreSQL connection string, in
// either form (postgres://user:password@host/db, or password=... among
// key=value pairs): a driver error may quote it without the rest.
func dsnSecrets(dsn string) []string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if pw, ok := u.User.Password(); ok && pw != "" {
			return []string{pw, url.QueryEscape(pw)}
		}
		if pw := u.Query().Get("password"); pw != "" {
			return []string{pw}
		}
		return nil
	}
	_, rest, ok := strings.Cut(" "+dsn, " password=")
	if !ok {
		return nil
	}
	var pw string
	if quoted, ok := strings.CutPrefix(rest, "'"); ok {
		// libpq quoting: up to the closing quote, \' and \\ escaped.
		var b strings.Builder
		for i := 0; i < len(quoted) && quoted[i] != '\''; i++ {
			if quoted[i] == '\\' && i+1 < len(quoted) {
				i++
			}
			b.WriteByte(quoted[i])
		}
		pw = b.String()
	} else {
		pw, _, _ = strings.Cut(rest, " ")
	}
	if pw == "" {
		return nil
	}
	return []string{pw}
}

// urlSecrets are the parts of a secret URL that are secret on their own: a
// server or proxy that echoes only the path (or its last segment, the token
// of a Slack webhook or a ping URL) must not get it into a log line. Parts
// shorter than 8 characters ("/", "/ping") are common words, not secrets.
func urlSecrets(raw string) []string {
	u, err := url.Parse(raw)
	if raw == "" || err != nil {
		return nil
	}
	var out []string
	add := func(s string) {
		if len(s) >= 8 {
			out = append(out, s)
		}
	}
	add(u.EscapedPath())
	add(path.Base(u.Path))
	if pw, ok := u.User.Password(); ok {
		add(pw)
	}
	return out
}
