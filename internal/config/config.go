// Package config reads tokenwatch's YAML configuration: strictly (an unknown
// key is an error at its line), with ${VAR} expansion after parsing, secrets
// from files, and defaults merged into each check. Every problem is reported
// at once, as FILE:LINE:COL: message.
package config

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/secret"
)

// Config is a loaded, validated configuration.
type Config struct {
	// File is the path the configuration was read from.
	File        string
	Concurrency int
	// Slack is nil when no slack section is configured: tokenwatch then
	// checks, keeps state and exports metrics, but sends nothing.
	Slack *Slack
	// Alertmanager is nil when no alertmanager section is configured.
	Alertmanager *Alertmanager
	State        State
	Metrics      Metrics
	Heartbeat    Heartbeat
	Checks       []Check
	// Maintenance lists the windows in which checks behave as silenced.
	Maintenance []Maintenance
}

// Slack says how to reach on-call: an incoming webhook, or a bot token and channel.
type Slack struct {
	WebhookURL        secret.Value
	BotToken          secret.Value
	Channel           string
	APIURL            string
	MaxMessagesPerRun int
}

// State says where the alert state is kept between runs: a file (Path,
// the default) or PostgreSQL (Postgres set; Path is then empty).
type State struct {
	Path     string
	Postgres *Postgres
}

// Postgres is a PostgreSQL database that holds the state, shared by every
// replica and run that uses the same one.
type Postgres struct {
	// DSN is the connection string (URL or key=value form): a secret, as
	// it usually holds a password.
	DSN secret.Value
}

// Metrics says where metrics go.
type Metrics struct {
	Listen      string // serve: address of /metrics
	Textfile    string // run: node_exporter textfile collector file
	Pushgateway Pushgateway
}

// Pushgateway is where run pushes its metrics; URL empty means no push.
type Pushgateway struct {
	URL string
	Job string
}

// Heartbeat is a healthchecks.io-style dead man's switch; URL empty means none.
type Heartbeat struct {
	URL secret.Value // the ping URL is a capability: whoever has it can ping
}

// Alert says when a check's failures become messages: the policy's own settings.
type Alert = alert.Settings

// Check is one credential to test, with defaults already merged in: what
// every check has, and its kind's own settings in Spec.
type Check struct {
	Name string
	Type string
	// Line and Col locate the check in the file, for messages about it.
	Line, Col int

	Schedule string
	Timeout  time.Duration
	Alert    Alert

	CAFile             string
	InsecureSkipVerify bool

	// Owner is who answers for the check, shown in every message about it;
	// Team labels it for routing and dashboards. "" for none.
	Owner, Team string
	// Slack is where the check's Slack messages go; nil means the slack
	// section's own destination.
	Slack *CheckSlack

	// IssuedAt is when the current secret was issued (zero: unknown);
	// RotateAfter its maximum age (0: none); TLSWarnBefore how long
	// before its expiry the endpoint's certificate is announced.
	IssuedAt      time.Time
	RotateAfter   time.Duration
	TLSWarnBefore time.Duration

	// Spec is the check's own settings, read by its kind (checks.Kinds).
	Spec checks.Spec
}

// Secret is the credential the check tests: its fingerprint names it.
// A check without a Spec (built by hand, in a test) has none.
func (c Check) Secret() secret.Value {
	if c.Spec == nil {
		return secret.Value{}
	}
	return c.Spec.Credential()
}

// Endpoint is the base URL the check talks to, as configured.
func (c Check) Endpoint() string {
	if c.Spec == nil {
		return ""
	}
	return c.Spec.Endpoint()
}

// Secrets is every secret of the check, for scrubbers.
func (c Check) Secrets() []secret.Value {
	if c.Spec == nil {
		return nil
	}
	return c.Spec.Secrets()
}

// Defaults that apply where the file says nothing.
const (
	DefaultConcurrency       = 16
	DefaultSlackAPIURL       = "https://slack.com/api/"
	DefaultMaxMessagesPerRun = 5
	DefaultListen            = ":9464"
	DefaultPushgatewayJob    = "tokenwatch"
	DefaultSchedule          = "@every 5m"
	DefaultTimeout           = 10 * time.Second
	DefaultStateFile         = "state.json"
	DefaultStateFallback     = "tokenwatch-state.json"
)

// DefaultAlert is the alert policy of a check that says nothing about it.
var DefaultAlert = alert.DefaultSettings

// DefaultPath is where the configuration is read from when --config is not
// given: $TOKENWATCH_CONFIG, else config.yaml.
func DefaultPath(getenv func(string) string) string {
	if p := getenv("TOKENWATCH_CONFIG"); p != "" {
		return p
	}
	return "config.yaml"
}

// defaultStatePath is $STATE_DIRECTORY/state.json (systemd's StateDirectory=),
// else ./tokenwatch-state.json.
func defaultStatePath(env Env) string {
	if dir, ok := env("STATE_DIRECTORY"); ok && dir != "" {
		// systemd passes a colon-separated list when several are configured.
		return filepath.Join(strings.Split(dir, ":")[0], DefaultStateFile)
	}
	return DefaultStateFallback
}

// Env looks up an environment variable, as os.LookupEnv does.
type Env func(name string) (string, bool)

// OSEnv is the process environment.
var OSEnv Env = os.LookupEnv
