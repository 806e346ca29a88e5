package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStatePostgres(t *testing.T) {
	dir := t.TempDir()
	dsnFile := filepath.Join(dir, "dsn")
	if err := os.WriteFile(dsnFile, []byte("postgres://tw:s3cret-pw@db.example:5432/tokenwatch\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, src string
		env       map[string]string
		wantDSN   string
	}{
		{"url from a variable", "state:\n  postgres:\n    dsn: ${TOKENWATCH_DSN}\n", map[string]string{"TOKENWATCH_DSN": "postgresql://tw:pw@db/tw?sslmode=verify-full"},
			"postgresql://tw:pw@db/tw?sslmode=verify-full"},
		{"key=value form", "state:\n  postgres:\n    dsn: \"host=/run/postgresql dbname=tokenwatch user=tw\"\n", nil,
			"host=/run/postgresql dbname=tokenwatch user=tw"},
		{"from a file", "state:\n  postgres:\n    dsn_file: " + dsnFile + "\n", nil,
			"postgres://tw:s3cret-pw@db.example:5432/tokenwatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, problems := Parse("c.yaml", []byte(tc.src+courierCheck), env(tc.env))
			if problems.HasErrors() {
				t.Fatalf("problems: %v", problems)
			}
			if cfg.State.Postgres == nil || cfg.State.Postgres.DSN.Reveal() != tc.wantDSN {
				t.Fatalf("postgres %+v, want DSN %q", cfg.State.Postgres, tc.wantDSN)
			}
			if cfg.State.Path != "" {
				t.Errorf("state.path %q: with postgres no file may be used", cfg.State.Path)
			}
		})
	}
}

func TestStatePostgresProblems(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"path and postgres", "state:\n  path: /tmp/s.json\n  postgres:\n    dsn: postgres://db/tw\n",
			"c.yaml:2:9: state: set path (a file) or postgres (a database), not both"},
		{"neither key", "state:\n  postgres: {}\n", "c.yaml:2:13: state.postgres: set dsn or dsn_file"},
		{"both keys", "state:\n  postgres:\n    dsn: postgres://db/tw\n    dsn_file: /x\n", "set dsn or dsn_file, not both"},
		{"not a DSN", "state:\n  postgres:\n    dsn: \"mysql://root:hunter22@db/tw\"\n",
			"c.yaml:3:10: state.postgres: the DSN is neither a postgres:// URL nor key=value pairs"},
		{"unknown key", "state:\n  postgres:\n    dsn: postgres://db/tw\n    pool: 3\n", "c.yaml:4:5: "},
		{"empty", "state:\n  postgres:\n    dsn: \"\"\n", "dsn is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := Parse("c.yaml", []byte(tc.src+courierCheck), env(nil))
			var all string
			if err := problems.Err(); err != nil {
				all = err.Error()
			}
			if !problems.HasErrors() || !strings.Contains(all, tc.want) {
				t.Fatalf("problems %q, want %q", all, tc.want)
			}
			if strings.Contains(all, "hunter22") {
				t.Errorf("the password is in a problem: %q", all)
			}
		})
	}
}

// WithoutSecrets reads what status and silence need when a secret cannot
// be read; every other mistake is still reported.
func TestWithoutSecrets(t *testing.T) {
	src := `slack:
  webhook_url: ${SLACK_WEBHOOK_URL}
state:
  path: /var/lib/tokenwatch/state.json
checks:
  - name: courier-main
    type: courier
    token_file: /nonexistent/courier-token
  - name: partner-acme
    type: partner_oauth
    host: https://partner.example
    client_id: acme
    client_secret: ${ACME_SECRET}
`
	if _, problems := Parse("c.yaml", []byte(src), env(nil)); !problems.HasErrors() {
		t.Fatal("the secrets cannot be read, yet the full read reports nothing")
	}
	cfg, problems := Parse("c.yaml", []byte(src), env(nil), WithoutSecrets())
	if problems.HasErrors() {
		t.Fatalf("problems without secrets: %v", problems)
	}
	if len(cfg.Checks) != 2 || cfg.Checks[1].Name != "partner-acme" || cfg.State.Path != "/var/lib/tokenwatch/state.json" {
		t.Errorf("config read without secrets: %+v", cfg)
	}
	broken := strings.Replace(src, "type: courier", "type: carrier", 1)
	if _, problems := Parse("c.yaml", []byte(broken), env(nil), WithoutSecrets()); !problems.HasErrors() {
		t.Error("a mistake that is not about a secret went unreported")
	}
	unsetPath := strings.Replace(src, "/var/lib/tokenwatch/state.json", "${STATE_DIRECTORY}/state.json", 1)
	if _, problems := Parse("c.yaml", []byte(unsetPath), env(nil), WithoutSecrets()); !problems.HasErrors() {
		t.Error("an unset variable outside the secrets went unreported")
	}
}
