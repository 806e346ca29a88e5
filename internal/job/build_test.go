package job

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/secret"
)

// staticKind is a third kind of check, defined here only: its check
// answers a configured outcome without a network. Registering it touches no
// other file, and every part of a kind goes through the same paths as the
// courier's and the partner's.
type staticKind struct{}

var _ checks.Kind = staticKind{}

func (staticKind) Type() string { return "static" }

func (staticKind) Decode(f checks.Fields) checks.Spec {
	return staticSpec{
		URL: f.URL("url", "https://static.example"),
		Outcome: checks.Outcome(f.Enum("outcome", string(checks.OK), "",
			string(checks.OK), string(checks.Invalid), string(checks.Unavailable))),
		Key:    f.Secret("key"),
		Backup: f.Secret("backup"),
	}
}

func (staticKind) Remedy(o checks.Outcome, s checks.Site) checks.Remedy {
	if o != checks.Invalid {
		return checks.Remedy{}
	}
	return checks.Remedy{Lines: []checks.Line{{checks.Prose("Replace the key of "), checks.Code(s.Endpoint)}}}
}

type staticSpec struct {
	URL         string
	Outcome     checks.Outcome
	Key, Backup secret.Value
}

func (s staticSpec) Endpoint() string                   { return s.URL }
func (s staticSpec) Credential() secret.Value           { return s.Key }
func (s staticSpec) Secrets() []secret.Value            { return []secret.Value{s.Key, s.Backup} }
func (s staticSpec) Build(t checks.Target) checks.Check { return &staticCheck{t.Name, s} }

type staticCheck struct {
	name string
	spec staticSpec
}

func (c *staticCheck) Name() string        { return c.name }
func (c *staticCheck) Type() string        { return "static" }
func (c *staticCheck) Endpoint() string    { return c.spec.URL }
func (c *staticCheck) Fingerprint() string { return c.spec.Key.Fingerprint() }
func (c *staticCheck) Run(context.Context) checks.Result {
	return checks.Result{Check: c.name, Type: "static", Endpoint: c.spec.URL, Fingerprint: c.Fingerprint(),
		Outcome: c.spec.Outcome, Started: time.Now()}
}

func parseWith(t *testing.T, src string, opts ...config.Option) (*config.Config, []string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "backup"), []byte("static-backup-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, problems := config.Parse(filepath.Join(dir, "c.yaml"), []byte(src), func(string) (string, bool) { return "", false }, opts...)
	var got []string
	for _, p := range problems {
		got = append(got, strings.TrimPrefix(p.String(), filepath.Join(dir, "c.yaml")+":"))
	}
	return cfg, got
}

func TestAKindRegisteredInATestGoesThroughConfigBuildAndSecrets(t *testing.T) {
	withStatic := config.WithKinds(checks.Kinds.With(staticKind{}))
	valid := `checks:
  - name: s
    type: static
    url: https://static.example/api
    outcome: invalid
    key: static-key-secret
    backup_file: backup
  - name: c
    type: courier
    token: y0_courier-token
`
	cfg, problems := parseWith(t, valid, withStatic)
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	s := cfg.Checks[0]
	if s.Type != "static" || s.Endpoint() != "https://static.example/api" || s.Secret().Fingerprint() != secret.Fingerprint("static-key-secret") {
		t.Errorf("check %s of type %q, endpoint %q", s.Name, s.Type, s.Endpoint())
	}
	secrets := Secrets(cfg)
	for _, want := range []string{"static-key-secret", "static-backup-secret", "y0_courier-token"} {
		if !slices.Contains(secrets, want) {
			t.Errorf("Secrets() lacks a secret of a check (%d listed)", len(secrets))
		}
	}

	list, err := BuildChecks(cfg.Checks)
	if err != nil {
		t.Fatal(err)
	}
	r := list[0].Run(context.Background())
	if r.Outcome != checks.Invalid || r.Fingerprint != s.Secret().Fingerprint() ||
		checks.Kinds.With(staticKind{}).Remedy(r.Type, r.Outcome, checks.Site{Endpoint: r.Endpoint}).Empty() {
		t.Errorf("result %+v", r)
	}
	if _, isCourier := list[1].(*checks.Courier); !isCourier {
		t.Errorf("the courier check is a %T", list[1])
	}

	// The kind's keys are read, positioned and checked like every other.
	broken := `checks:
  - name: s
    type: static
    outcom: invalid
    outcome: maybe
    key: k
    token: t
  - name: c
    type: courier
    token: y0_courier-token
    backup: b
  - name: u
    type: sattic
`
	_, problems = parseWith(t, broken, withStatic)
	for _, want := range []string{
		`4:5: checks[0]: unknown key "outcom" (did you mean "outcome"?)`,
		`5:14: check s: outcome "maybe": ok or invalid or unavailable`,
		`2:5: check s has no secret: set backup or backup_file`,
		`7:5: check s: token is not a key of a static check`,
		`11:5: check c: backup is not a key of a courier check`,
		`13:11: check u: unknown type "sattic": courier, partner_oauth or static`,
	} {
		if !slices.Contains(problems, want) {
			t.Errorf("problems\n%s\ndo not include\n%s", strings.Join(problems, "\n"), want)
		}
	}
	if len(problems) != 6 {
		t.Errorf("%d problems, want 6: %v", len(problems), problems)
	}

	// Without the registration, the kind does not exist.
	_, problems = parseWith(t, valid)
	if !slices.Contains(problems, `3:11: check s: unknown type "static": courier or partner_oauth`) {
		t.Errorf("the default registry knows static: %v", problems)
	}
}

// A check without a Spec (written by hand) is refused, not built as some
// other kind.
func TestBuildChecksRefusesACheckWithoutSpec(t *testing.T) {
	_, err := BuildChecks([]config.Check{{Name: "x", Type: "courier"}})
	if err == nil || !strings.Contains(err.Error(), "check x") {
		t.Errorf("error %v", err)
	}
}

func TestDSNSecrets(t *testing.T) {
	tests := []struct {
		dsn  string
		want []string
	}{
		{"postgres://tw:s3cr%2Fet@db:5432/tw", []string{"s3cr/et", "s3cr%2Fet"}},
		{"postgresql://db/tw?password=qwerty123&sslmode=require", []string{"qwerty123"}},
		{"host=/run/postgresql user=tw password='pa ss\\'wd' dbname=tw", []string{"pa ss'wd"}},
		{"host=db user=tw password=hunter22 dbname=tw", []string{"hunter22"}},
		{"host=/run/postgresql dbname=tw", nil},
	}
	for _, tc := range tests {
		got := dsnSecrets(tc.dsn)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("dsnSecrets(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
	}
}
