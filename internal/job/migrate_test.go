package job

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/notify"
	"github.com/tokenwatch/tokenwatch/notify/slack"
)

// fixedCheck answers with one result, whatever is asked.
type fixedCheck struct {
	name, typ, endpoint string
	outcome             checks.Outcome
	status              int
}

func (f fixedCheck) Name() string        { return f.name }
func (f fixedCheck) Type() string        { return f.typ }
func (f fixedCheck) Endpoint() string    { return f.endpoint }
func (f fixedCheck) Fingerprint() string { return "3f2a9c1e" }
func (f fixedCheck) Run(context.Context) checks.Result {
	return checks.Result{Check: f.name, Type: f.typ, Endpoint: f.endpoint, Fingerprint: "3f2a9c1e",
		Outcome: f.outcome, HTTPStatus: f.status, Detail: "fixed", Started: time.Now()}
}

// The first release's state file (internal/state/testdata/v1-state.json)
// is migrated by the first run of this one with nothing re-alerted: the
// active alert stays active, and the reminder it could not deliver goes
// out, late, into the incident's Slack thread.
func TestV1StateMigratesWithNothingReAlerted(t *testing.T) {
	fixture, err := os.ReadFile("../state/testdata/v1-state.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.json")
	if err := os.WriteFile(statePath, fixture, 0o600); err != nil {
		t.Fatal(err)
	}
	bot := testkit.NewSlack(t)
	clk := testkit.NewClockAt(time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)) // an hour after the fixture's last run
	src := `slack: {bot_token: xoxb-job-test, channel: '#oncall', api_url: ` + bot.APIURL() + `}
state: {path: ` + statePath + `}
checks:
  - {name: courier-main, type: courier, token: y0_still-revoked}
  - {name: partner-acme, type: partner_oauth, host: "https://partner.example.com", client_id: acme, client_secret: s3cret}
`
	j := testJob(t, src, nil, clk)
	j.Notifiers = []notify.Notifier{slack.New(slack.Options{BotToken: j.Config.Slack.BotToken,
		Channel: j.Config.Slack.Channel, APIURL: j.Config.Slack.APIURL, Now: clk.Now})}
	j.Checks = []checks.Check{
		fixedCheck{name: "courier-main", typ: checks.TypeCourier, endpoint: "https://courier.yandex.ru", outcome: checks.Invalid, status: 401},
		fixedCheck{name: "partner-acme", typ: checks.TypePartner, endpoint: "https://partner.example.com", outcome: checks.OK, status: 200},
	}

	rep := j.Run(context.Background(), Options{})
	if !rep.Delivered() || kinds(rep) != "reminder(late)" {
		t.Fatalf("notifications %q, failures %v: want only the fixture's late reminder", kinds(rep), rep.Failures)
	}
	var threads []string
	for _, c := range bot.Calls() {
		if c.Path == "/api/chat.postMessage" {
			threads = append(threads, c.Form.Get("thread_ts"))
		}
	}
	if len(threads) != 1 || threads[0] != "1795143600.000100" {
		t.Errorf("posts went to threads %q, want the fixture's thread 1795143600.000100", threads)
	}
	if tr := rep.Tracks["courier-main"]; tr.Active == nil || tr.FailuresInRow != 3 || !tr.FailingSince.Equal(time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)) {
		t.Errorf("courier-main track %+v: the migrated alert must go on, not start again", tr)
	}
	if _, err := os.Stat(statePath + ".v1.bak"); err != nil {
		t.Errorf("the format-1 file was not kept: %v", err)
	}
	if st := readState(t, statePath); st.Version != 2 || st.Checks["courier-main"].V1Key != "" {
		t.Errorf("the state was not saved in the current format: version %d", st.Version)
	}

	clk.Advance(5 * time.Minute)
	if rep := j.Run(context.Background(), Options{}); kinds(rep) != "" {
		t.Errorf("second run sent %q, want nothing", kinds(rep))
	}
}
