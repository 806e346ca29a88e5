package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/testkit/pgtest"
)

// pgtestDSN is a fresh database's DSN.
func pgtestDSN(t *testing.T) string { return pgtest.DSN(t) }

// The DSN is a secret: whatever goes wrong, the error says what without
// the password (or the DSN itself).
func TestErrorsNeverShowTheDSN(t *testing.T) {
	const password = "Hunter2-very-secret-pw"
	base := pgtestDSN(t)
	withPassword := pgtest.PasswordRole(t, base, "tokenwatch_app", "right-"+password)
	wrong := strings.Replace(withPassword, "password=right-"+password, "password="+password, 1)
	host := strings.Fields(base)[0] // host=/tmp/pgtest-...
	for name, dsn := range map[string]string{
		"wrong password":    wrong,
		"no server":         "host=/nonexistent port=5432 user=app password=" + password + " dbname=x connect_timeout=2",
		"unparsable kv":     "host=/tmp port=notaport password=" + password,
		"unparsable url":    "postgres://app:" + password + "@[::1/db",
		"url, no server":    "postgres://app:" + password + "@127.0.0.1:1/db?connect_timeout=2",
		"quoted in kv":      "host=/nonexistent password='" + password + "' dbname=x connect_timeout=2",
		"right host, wrong": host + " port=5432 dbname=nosuchdb user=tokenwatch_app password=" + password,
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := New(ctx, dsn, Options{})
		cancel()
		if err == nil {
			s.Close()
			t.Errorf("%s: connected", name)
			continue
		}
		if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), dsn) {
			t.Errorf("%s: the error shows the secret: %v", name, err)
		}
		if !strings.HasPrefix(err.Error(), "postgres: ") {
			t.Errorf("%s: the error does not say where: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	// The right password works, through the same code (the role needs
	// to create tables, as the README's set-up grants).
	pgtest.Exec(t, base, "GRANT CREATE ON SCHEMA public TO tokenwatch_app")
	s, err := New(context.Background(), withPassword, Options{})
	if err != nil {
		t.Fatalf("the right password: %v", err)
	}
	s.Close()
}
