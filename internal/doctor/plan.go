package doctor

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/version"
)

// Options are what the probes share.
type Options struct {
	// Client speaks HTTP to Slack and the Pushgateway; nil means
	// version.Client, which follows no redirect.
	Client *http.Client
	// Now judges certificates; nil means time.Now.
	Now func() time.Time
}

// Plan lists a probe for every part of cfg that tokenwatch relies on:
// Slack, the Pushgateway, the heartbeat's host, the state (its file or
// its database), the textfile
// directory and each endpoint (one probe per host and trust).
func Plan(cfg *config.Config, o Options) []Probe {
	if o.Client == nil {
		o.Client = version.Client(Timeout)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	var probes []Probe
	if s := cfg.Slack; s != nil {
		if !s.WebhookURL.Empty() {
			probes = append(probes, Probe{"slack webhook", func(ctx context.Context) (Result, string) {
				return Webhook(ctx, o.Client, s.WebhookURL.Reveal())
			}})
		}
		if !s.BotToken.Empty() {
			probes = append(probes, Probe{"slack bot token", func(ctx context.Context) (Result, string) {
				return BotToken(ctx, o.Client, s.APIURL, s.BotToken.Reveal())
			}})
		}
	}
	// A check's webhook of its own is a credential too, and dies the same way.
	for _, c := range cfg.Checks {
		if c.Slack == nil || c.Slack.WebhookURL.Empty() {
			continue
		}
		hook := c.Slack.WebhookURL
		probes = append(probes, Probe{"slack webhook of " + c.Name, func(ctx context.Context) (Result, string) {
			return Webhook(ctx, o.Client, hook.Reveal())
		}})
	}
	if am := cfg.Alertmanager; am != nil {
		for _, u := range am.URLs {
			probes = append(probes, Probe{"alertmanager " + u, func(ctx context.Context) (Result, string) {
				return Alertmanager(ctx, o.Client, u)
			}})
		}
	}
	if gw := cfg.Metrics.Pushgateway.URL; gw != "" {
		probes = append(probes, Probe{"pushgateway", func(ctx context.Context) (Result, string) {
			return Pushgateway(ctx, o.Client, gw)
		}})
	}
	if !cfg.Heartbeat.URL.Empty() {
		probes = append(probes, heartbeat(cfg.Heartbeat.URL.Reveal(), o.Now))
	}
	probes = append(probes, stateProbe(cfg.State))
	if tf := cfg.Metrics.Textfile; tf != "" {
		probes = append(probes, Probe{"textfile", func(context.Context) (Result, string) { return TextfileDir(tf) }})
	}
	return append(probes, endpoints(cfg.Checks, o.Now)...)
}

// stateProbe tests where the state is kept: the file, or PostgreSQL
// instead (the file is not used then).
func stateProbe(st config.State) Probe {
	if pg := st.Postgres; pg != nil {
		return Probe{"state postgresql", func(ctx context.Context) (Result, string) { return Postgres(ctx, pg.DSN.Reveal()) }}
	}
	return Probe{"state", func(context.Context) (Result, string) { return State(st.Path) }}
}

// heartbeat checks the ping URL's host only: a request to the URL itself
// would be a ping, which says "tokenwatch ran".
func heartbeat(raw string, now func() time.Time) Probe {
	return Probe{"heartbeat", func(ctx context.Context) (Result, string) {
		u, err := url.Parse(raw)
		if err != nil {
			return Fail, "heartbeat.url is not a URL"
		}
		r, detail := CheckHost(ctx, Host{URL: &url.URL{Scheme: u.Scheme, Host: u.Host}, Now: now})
		return r, detail + " (not pinged: a ping is a message)"
	}}
}

// endpoints is one probe per endpoint host and trust, naming the checks
// that use it, in the order the checks are configured.
func endpoints(list []config.Check, now func() time.Time) []Probe {
	type target struct {
		host   Host
		checks []string
	}
	var order []string
	targets := map[string]*target{}
	for _, c := range list {
		u, err := url.Parse(c.Endpoint())
		if err != nil || u.Host == "" {
			continue // config has already refused it
		}
		key := strings.Join([]string{u.Scheme, u.Host, c.CAFile, boolWord(c.InsecureSkipVerify)}, " ")
		t, ok := targets[key]
		if !ok {
			t = &target{host: Host{URL: &url.URL{Scheme: u.Scheme, Host: u.Host}, CAFile: c.CAFile, InsecureSkipVerify: c.InsecureSkipVerify, Now: now}}
			targets[key] = t
			order = append(order, key)
		}
		t.checks = append(t.checks, c.Name)
		t.host.WarnBefore = max(t.host.WarnBefore, c.TLSWarnBefore)
	}
	probes := make([]Probe, 0, len(order))
	for _, key := range order {
		t := targets[key]
		names := strings.Join(slices.Compact(t.checks), ", ")
		probes = append(probes, Probe{"endpoint " + t.host.URL.String() + trustNote(t.host), func(ctx context.Context) (Result, string) {
			r, detail := CheckHost(ctx, t.host)
			return r, detail + " (checks: " + names + ")"
		}})
	}
	return probes
}

// trustNote tells apart the items of one host that checks trust
// differently.
func trustNote(h Host) string {
	switch {
	case h.InsecureSkipVerify:
		return " (insecure_skip_verify)"
	case h.CAFile != "":
		return " (ca_file " + h.CAFile + ")"
	}
	return ""
}

func boolWord(b bool) string {
	if b {
		return "insecure"
	}
	return "verified"
}
