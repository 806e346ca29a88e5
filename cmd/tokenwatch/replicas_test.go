package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store/postgres"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/internal/testkit/pgtest"
)

// serve keeps the state file locked only inside each read or write, so
// `tokenwatch silence add` works while it runs (it used to wait for the
// lock and exit 3), and serve's next pass honours the silence.
func TestSilenceAddWhileServeRuns(t *testing.T) {
	t.Parallel()
	api := forbiddenAPI(t)
	dir := t.TempDir()
	path := writeConfig(t, fmt.Sprintf("state: {path: %s/state.json}\ndefaults: {schedule: '@every 1s'}\nchecks:\n  - {name: courier-main, type: courier, base_url: %s, token: tokenaaaa}\n",
		dir, api.URL))
	d := startServe(t, path)
	testkit.WaitFor(t, "serve to be ready after its first pass", func() bool { return d.up("/readyz") })
	code, stdout, stderr := run("silence", "add", "courier-main", "--for", "1h", "--reason", "maintenance", "--wait", "2s", "--config", path)
	if code != exitOK {
		t.Fatalf("silence add while serve runs: exit %d\n%s%s", code, stdout, stderr)
	}
	testkit.WaitFor(t, "serve's next pass to honour the silence", func() bool {
		return d.series(t)[`tokenwatch_check_silenced{check="courier-main",type="courier"}`] == 1
	})
}

// The end to end: two `tokenwatch serve` processes, one
// configuration, one PostgreSQL, a revoked courier token and a fake
// Slack. Every second's slot runs once across both; `kill -9` of one
// leaves the checks going on the other; on-call hears exactly one alert,
// and exactly one resolution once the token is fixed.
func TestTwoReplicasOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	var status atomic.Int64
	status.Store(http.StatusUnauthorized) // revoked
	api := testkit.Server(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		if status.Load() == http.StatusOK {
			fmt.Fprint(w, `{"message":"OK"}`)
		}
	})
	hook := testkit.NewSlack(t)
	dir := t.TempDir()
	dsnFile := filepath.Join(dir, "dsn")
	if err := os.WriteFile(dsnFile, []byte(dsn), 0o600); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, fmt.Sprintf("state: {postgres: {dsn_file: %s}}\nslack: {webhook_url: %s}\ndefaults: {schedule: '@every 1s'}\nchecks:\n  - {name: courier-main, type: courier, base_url: %s, token: tokenaaaa}\n",
		dsnFile, hook.WebhookURL("/services/T/B/replicas"), api.URL))
	db, err := postgres.New(t.Context(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// record is the check as the database holds it (nil before its first
	// pass), and how many messages wait.
	record := func() (*state.Record, int) {
		f, err := db.Snapshot(t.Context())
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		return f.Checks["courier-main"], f.Waiting()
	}
	// ranAfter waits until a pass that started after since recorded the check.
	ranAfter := func(what string, since time.Time) {
		testkit.WaitFor(t, what, func() bool {
			rec, _ := record()
			return rec != nil && rec.LastRun.After(since)
		})
	}

	a, b := startServe(t, path), startServe(t, path)
	for _, d := range []*daemon{a, b} {
		testkit.WaitFor(t, "both replicas to be ready", func() bool { return d.up("/readyz") })
	}
	testkit.WaitFor(t, "the alert to be delivered and recorded", func() bool {
		rec, waiting := record()
		return rec != nil && rec.Active != nil && waiting == 0 && len(hook.Payloads()) > 0
	})
	// Every replica shows the shared state, whichever ran the check.
	for _, d := range []*daemon{a, b} {
		testkit.WaitFor(t, "each replica's /metrics to show the check invalid", func() bool {
			return d.series(t)[`tokenwatch_check_outcome{check="courier-main",outcome="invalid",type="courier"}`] == 1
		})
	}

	// The slots are shared: each is claimed once (its key), and both
	// replicas win some.
	owners := func(since time.Time) map[string]int {
		conn, err := pgx.Connect(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(t.Context())
		rows, err := conn.Query(t.Context(), "SELECT owner FROM tokenwatch_slots WHERE check_name = 'courier-main' AND slot > $1", since)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for rows.Next() {
			var owner string
			if err := rows.Scan(&owner); err != nil {
				t.Fatal(err)
			}
			out[owner]++
		}
		return out
	}
	testkit.WaitFor(t, "both replicas to run some of the slots", func() bool { return len(owners(time.Time{})) == 2 })

	if err := a.cmd.Process.Kill(); err != nil { // kill -9
		t.Fatal(err)
	}
	_ = a.cmd.Wait()
	killed := time.Now()
	ranAfter("the surviving replica to run the next slots", killed)
	ranAfter("the surviving replica to run the slots after those", time.Now())
	ranAfter("and the next", time.Now())
	// A slot a few milliseconds before the kill may be the dead one's.
	after := owners(killed.Add(time.Second))
	if len(after) != 1 {
		t.Errorf("slots since the kill owned by %v, want the surviving replica alone", after)
	}
	for owner := range after {
		if !strings.HasSuffix(owner, fmt.Sprintf(":%d", b.cmd.Process.Pid)) {
			t.Errorf("slots after the kill owned by %s, not the surviving replica (pid %d)", owner, b.cmd.Process.Pid)
		}
	}

	status.Store(http.StatusOK) // the token is fixed
	testkit.WaitFor(t, "the resolution to be delivered and recorded", func() bool {
		rec, waiting := record()
		return rec != nil && rec.Active == nil && waiting == 0
	})
	ranAfter("more passes after the resolution", time.Now())

	payloads := hook.Payloads()
	var alerts, resolved int
	for _, p := range payloads {
		switch {
		case strings.Contains(p, "Resolved: courier-main"):
			resolved++
		case strings.Contains(p, "courier-main: credential INVALID"):
			alerts++
		}
	}
	if alerts != 1 || resolved != 1 || len(payloads) != 2 {
		t.Errorf("Slack received %d messages, %d alerts and %d resolutions; want exactly one of each\nreplica a:\n%s\nreplica b:\n%s",
			len(payloads), alerts, resolved, a.stderr.String(), b.stderr.String())
	}
}
