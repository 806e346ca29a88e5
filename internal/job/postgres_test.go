package job

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/store/postgres"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/internal/testkit/pgtest"
	"github.com/tokenwatch/tokenwatch/notify"
	"github.com/tokenwatch/tokenwatch/notify/slack"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// pgStore is a PostgreSQL store on dsn, closed when the test ends.
func pgStore(t *testing.T, dsn string, clk *testkit.Clock) store.Store {
	t.Helper()
	s, err := postgres.New(context.Background(), dsn, postgres.Options{Now: clk.Now, Wait: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// botJob is a job on st with one courier check and Slack in bot mode
// (threads) on fake, one attempt per message.
func botJob(t *testing.T, api *courierAPI, fake *testkit.Slack, st store.Store, clk *testkit.Clock) *Job {
	j := testJob(t, courierConfig(api.URL, filepath.Join(t.TempDir(), "unused.json"),
		"slack: {bot_token: xoxb-job-test, channel: '#oncall', api_url: "+fake.APIURL()+"}"), nil, clk)
	j.Store = st
	j.Notifiers = []notify.Notifier{slack.New(slack.Options{BotToken: j.Config.Slack.BotToken, Channel: j.Config.Slack.Channel,
		APIURL: j.Config.Slack.APIURL, Now: clk.Now, Retry: slack.Retry{Attempts: 1}})}
	return j
}

// The job's key scenario on PostgreSQL, as on the file: an alert whose
// delivery fails is kept and sent late by the next run, the resolution
// goes into the alert's thread, and nothing is left waiting. Nothing is
// written to the state path of the configuration.
func TestJobOnPostgres(t *testing.T) {
	api := newCourierAPI(t) // 401
	fake := testkit.NewSlack(t)
	clk := testkit.NewClock()
	st := pgStore(t, pgtest.DSN(t), clk)
	j := botJob(t, api, fake, st, clk)

	fake.Refuse(200, func(string) string { return "service_unavailable" })
	if rep := j.Run(context.Background(), Options{}); rep.Delivered() || kinds(rep) != "alert(undelivered)" || rep.Pending != 1 {
		t.Fatalf("run 1: %q, pending %d, failures %v: want the alert kept", kinds(rep), rep.Pending, rep.Failures)
	}
	fake.Take()
	fake.Accept()
	steps := []struct {
		status int64
		want   string
	}{
		{401, "alert(late)"},
		{401, ""},
		{200, "resolved"},
	}
	for i, s := range steps {
		api.status.Store(s.status)
		clk.Advance(5 * time.Minute)
		if rep := j.Run(context.Background(), Options{}); !rep.Delivered() || kinds(rep) != s.want || rep.Pending != 0 {
			t.Fatalf("run %d: %q, pending %d, failures %v, want %q", i+2, kinds(rep), rep.Pending, rep.Failures, s.want)
		}
	}
	var threads []string
	for _, c := range fake.Take() {
		if c.Path == "/api/chat.postMessage" {
			threads = append(threads, c.Form.Get("thread_ts"))
		}
	}
	if len(threads) != 2 || threads[0] != "" || threads[1] != "1700000000.000001" {
		t.Errorf("thread_ts of the posts %q: the resolution belongs in the alert's thread", threads)
	}
	f, err := st.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.Waiting() != 0 || f.Checks["courier-main"] == nil || f.Checks["courier-main"].Active != nil || f.LastSuccess.IsZero() {
		t.Errorf("state after the resolution: waiting %d, record %+v, last success %v", f.Waiting(), f.Checks["courier-main"], f.LastSuccess)
	}
	if _, err := os.Stat(j.Config.State.Path); !os.IsNotExist(err) {
		t.Errorf("a state file was written beside PostgreSQL: %v", err)
	}
}

// Runs from two places at once on one database (overlapping CronJobs,
// two clusters) take turns deciding: the revoked token alerts once, and
// every run's result is counted.
func TestRunsAtOnceOnPostgresAlertOnce(t *testing.T) {
	api := newCourierAPI(t)
	hook := testkit.NewSlack(t)
	clk := testkit.NewClock()
	dsn := pgtest.DSN(t)
	var wg sync.WaitGroup
	for range 2 {
		j := testJob(t, courierConfig(api.URL, filepath.Join(t.TempDir(), "unused.json"), "slack: {webhook_url: "+hook.WebhookURL("/services/T/B/x")+"}"), nil, clk)
		j.Store = pgStore(t, dsn, clk)
		j.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL})}
		wg.Go(func() {
			for range 5 {
				if rep := j.Run(context.Background(), Options{}); !rep.Delivered() {
					t.Errorf("racing run: %v", rep.Failures)
				}
			}
		})
	}
	wg.Wait()
	if got := hook.Payloads(); len(got) != 1 {
		t.Errorf("racing runs sent %d messages, want exactly 1 alert", len(got))
	}
	f, err := pgStore(t, dsn, clk).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rec := f.Checks["courier-main"]; rec == nil || rec.FailuresInRow != 10 {
		t.Errorf("record after 10 runs: %+v", rec)
	}
}

// PostgreSQL down is a state that cannot be written: the run still
// checks, on-call still hears, and the run says the state was not
// recorded (exit 3), without the DSN; nothing is written elsewhere. A
// database that goes away after the store opened is the same.
func TestPostgresDownStillAlerts(t *testing.T) {
	const password = "s3cret-pg-password"
	for _, tc := range []struct {
		name string
		st   func(t *testing.T, clk *testkit.Clock) store.Store
	}{
		{"never up", func(t *testing.T, clk *testkit.Clock) store.Store {
			dsn := "host=" + t.TempDir() + " dbname=tokenwatch user=tokenwatch password=" + password
			return store.Lazy(func(ctx context.Context) (store.Store, error) {
				return postgres.New(ctx, dsn, postgres.Options{Now: clk.Now})
			})
		}},
		{"gone since it opened", func(t *testing.T, clk *testkit.Clock) store.Store {
			dsn := pgtest.DSN(t)
			st := pgStore(t, dsn, clk)
			db := database(t, dsn)
			admin := strings.Replace(dsn, "dbname="+db, "dbname=postgres", 1)
			pgtest.Exec(t, admin, "ALTER DATABASE "+db+" ALLOW_CONNECTIONS false")
			pgtest.Exec(t, admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+db+"'")
			return st
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newCourierAPI(t) // 401
			dir := t.TempDir()
			clk := testkit.NewClock()
			n := &probeNotifier{}
			j := testJob(t, courierConfig(api.URL, filepath.Join(dir, "state.json"), ""), n, clk)
			j.Store = tc.st(t, clk)
			for run := 1; run <= 2; run++ {
				rep := j.Run(context.Background(), Options{})
				failures := strings.Join(rep.Failures, "\n")
				if rep.Delivered() || !strings.Contains(failures, "state:") || !strings.Contains(failures, "nothing was recorded") {
					t.Fatalf("run %d: failures %v, want the state reported unrecorded (exit 3)", run, rep.Failures)
				}
				if strings.Contains(failures, password) {
					t.Fatalf("run %d: a failure holds the DSN's password: %s", run, failures)
				}
				if len(n.sent) != run || n.sent[run-1] != "alert:courier-main" {
					t.Fatalf("run %d: sent %v: on-call must hear on every run (a repeat is acceptable, silence is not)", run, n.sent)
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("written beside the database: %v", entries)
			}
		})
	}
}

// database is the name of dsn's database.
func database(t *testing.T, dsn string) string {
	for _, kv := range strings.Fields(dsn) {
		if name, ok := strings.CutPrefix(kv, "dbname="); ok {
			return name
		}
	}
	t.Fatalf("no dbname in %q", dsn)
	return ""
}

// lostCommit is a store whose decisions are made but never written, as
// when the connection drops at the commit.
type lostCommit struct{ store.Store }

func (l lostCommit) Open(ctx context.Context) (store.Session, error) {
	s, err := l.Store.Open(ctx)
	if err != nil {
		return nil, err
	}
	return lostCommitSession{s}, nil
}

type lostCommitSession struct{ store.Session }

func (lostCommitSession) Decide(_ context.Context, _ store.Scope, fn func(*state.File) error) error {
	if err := fn(state.New()); err != nil {
		return err
	}
	return errors.New("commit: connection reset by peer")
}

// A decision whose write fails after it was made is still delivered (from
// memory), and the run says nothing was recorded.
func TestDecisionNotWrittenIsStillDelivered(t *testing.T) {
	api := newCourierAPI(t) // 401
	clk := testkit.NewClock()
	n := &probeNotifier{}
	statePath := filepath.Join(t.TempDir(), "state.json")
	j := testJob(t, courierConfig(api.URL, statePath, ""), n, clk)
	j.Store = lostCommit{&store.File{Path: statePath, Now: clk.Now}}
	rep := j.Run(context.Background(), Options{})
	if !slices.Equal(n.sent, []string{"alert:courier-main"}) {
		t.Errorf("sent %v: the decided alert must go out", n.sent)
	}
	if failures := strings.Join(rep.Failures, "\n"); rep.Delivered() || !strings.Contains(failures, "nothing was recorded") {
		t.Errorf("failures %v: want the state reported unrecorded (exit 3)", rep.Failures)
	}
}
