package job

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/notify"
	"github.com/tokenwatch/tokenwatch/notify/slack"
)

var egressNow = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

// pending is an egress incident of passes passes not told yet, begun ten
// minutes ago.
func pending(passes int) *state.Egress {
	return &state.Egress{Since: egressNow.Add(-10 * time.Minute), Checks: 3, Passes: passes}
}

func down(name string) checks.Result {
	return checks.Result{Check: name, Outcome: checks.Unavailable, Detail: "connection refused"}
}

// The egress policy: 2 checks down is each partner's problem; 3 or more
// with no answer is our network, told once; one answer of any kind (a 503
// included) is not.
func TestDecideEgress(t *testing.T) {
	open := &state.Egress{Since: egressNow.Add(-time.Hour), NotifiedAt: egressNow.Add(-time.Hour), Checks: 3}
	busy := down("c")
	busy.HTTPStatus, busy.Detail = 503, "server error (HTTP 503)"
	ok := checks.Result{Check: "c", Outcome: checks.OK, HTTPStatus: 200, Detail: "token accepted"}
	tests := []struct {
		name     string
		open     *state.Egress
		ran      []checks.Result
		down     bool
		incident bool
		kinds    string
	}{
		{"2 checks all down: per-check rules", nil, []checks.Result{down("a"), down("b")}, false, false, ""},
		{"3 checks all down: one egress message", nil, []checks.Result{down("a"), down("b"), down("c")}, true, true, "egress"},
		{"3 down, told after 3 passes: the first holds the alerts and says nothing", nil, []checks.Result{down("a"), down("b"), down("c")}, true, true, "after 3"},
		{"the third pass tells", pending(2), []checks.Result{down("a"), down("b"), down("c")}, true, true, "egress, after 3"},
		{"a blip never told ends with no resolution", pending(1), []checks.Result{down("a"), down("b"), ok}, false, false, ", after 3"},
		{"3 down but one answered 503: no egress", nil, []checks.Result{down("a"), down("b"), busy}, false, false, ""},
		{"still down: no second message", open, []checks.Result{down("a"), down("b"), down("c")}, true, true, ""},
		{"a pass of 1 check still down keeps the incident", open, []checks.Result{down("a")}, true, true, ""},
		{"one answers: the resolution", open, []checks.Result{down("a"), down("b"), ok}, false, false, "resolved"},
		{"a 503 is an answer too", open, []checks.Result{down("a"), busy}, false, false, "resolved"},
		{"nothing ran: nothing learnt", open, nil, false, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			after := 1
			if k, n, found := strings.Cut(tc.kinds, "after "); found {
				fmt.Sscan(n, &after)
				tc.kinds = strings.TrimSuffix(strings.TrimSpace(k), ",")
			}
			got := decideEgress(tc.open, tc.ran, egressNow, after)
			var kinds []string
			for _, d := range got.Decisions {
				kinds = append(kinds, string(d.Kind))
				if d.Check != state.NoticeCheck || !notify.AboutEgress(d) {
					t.Errorf("decision %+v is not about egress", d)
				}
			}
			if got.Down != tc.down || (got.Incident != nil) != tc.incident || strings.Join(kinds, ",") != tc.kinds {
				t.Errorf("down %v, incident %+v, decisions %v; want down %v, incident %v, %q", got.Down, got.Incident, kinds, tc.down, tc.incident, tc.kinds)
			}
		})
	}
	// What the messages carry.
	first := decideEgress(nil, []checks.Result{down("a"), down("b"), {Check: "c", Outcome: checks.Unavailable, Detail: "DNS: host x.example not found"}}, egressNow, 1)
	d := first.Decisions[0]
	if d.Outcome != checks.Unavailable || !d.Since.Equal(egressNow) || d.Checks != 3 ||
		d.Detail != "3 of 3 checks unreachable: connection refused (2 checks); DNS: host x.example not found (1 check)" {
		t.Errorf("egress decision %+v", d)
	}
	back := decideEgress(open, []checks.Result{ok}, egressNow, 1).Decisions[0]
	if told := decideEgress(pending(2), []checks.Result{down("a"), down("b"), down("c")}, egressNow, 3).Decisions[0]; !told.Since.Equal(egressNow.Add(-10 * time.Minute)) {
		t.Errorf("egress told at its third pass: since %s, want the incident's start", told.Since)
	}
	if back.Outcome != checks.OK || back.Previous != checks.Unavailable || !back.Since.Equal(open.Since) || back.Detail != "c answered (ok): token accepted" {
		t.Errorf("egress resolution %+v", back)
	}
}

// The egress message lists at most egressErrors distinct errors.
func TestEgressDetailIsBounded(t *testing.T) {
	var ran []checks.Result
	for i := range 9 {
		ran = append(ran, checks.Result{Check: fmt.Sprint(i), Outcome: checks.Unavailable, Detail: fmt.Sprintf("DNS: host h%d.example not found", i)})
	}
	got := egressDetail(ran)
	if !strings.HasSuffix(got, "; and 4 other errors") || strings.Count(got, "DNS:") != egressErrors {
		t.Errorf("detail %q", got)
	}
}

// A withheld alert leaves the check's alert state as it was, so that it
// alerts once the incident is over; other decisions are kept.
func TestWithhold(t *testing.T) {
	s := alert.DefaultSettings
	tr := alert.Track{Outcome: checks.Unavailable, FailuresInRow: 2, FailingSince: egressNow.Add(-time.Hour)}
	next, ds := alert.Evaluate(tr, down("a"), s, egressNow)
	if len(ds) != 1 || next.Active == nil {
		t.Fatalf("setup: the third outage must alert: %+v", ds)
	}
	held, kept := withhold(tr, next, ds, egressNow)
	if len(kept) != 0 || held.Active != nil || held.FailuresInRow != 3 {
		t.Fatalf("withheld: %+v, kept %+v", held, kept)
	}
	// After the incident, the check still down alerts at once.
	_, ds = alert.Evaluate(held, down("a"), s, egressNow.Add(5*time.Minute))
	if len(ds) != 1 || ds[0].Kind != alert.KindAlert {
		t.Errorf("after the incident: %+v, want an alert", ds)
	}
	// A resolution is never withheld.
	active := alert.Track{Outcome: checks.Invalid, FailuresInRow: 1, FailingSince: egressNow, Active: &alert.Active{Outcome: checks.Invalid,
		Since: egressNow, FiredAt: egressNow, LastNotified: egressNow, Checks: 1}}
	next, ds = alert.Evaluate(active, checks.Result{Check: "a", Outcome: checks.OK, HTTPStatus: 200}, s, egressNow)
	if _, kept := withhold(active, next, ds, egressNow); len(kept) != 1 || kept[0].Kind != alert.KindResolved {
		t.Errorf("resolution withheld: %+v", kept)
	}
}

// A run of 4 checks with no network: one message instead of four, none at
// the later runs even past the checks' thresholds; when one endpoint
// answers, the egress resolution, and the checks still down alert then.
func TestEgressRunsSendOneMessage(t *testing.T) {
	var answering atomic.Bool
	flaky := testkit.Server(t, func(w http.ResponseWriter, r *http.Request) {
		if !answering.Load() {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close() // no answer at all
			return
		}
		_, _ = w.Write([]byte(`{"message":"OK"}`))
	})
	var yaml strings.Builder
	fake := testkit.NewSlack(t)
	fmt.Fprintf(&yaml, "slack: {webhook_url: %s}\nstate: {path: %s}\nchecks:\n", fake.WebhookURL("/services/T/B/x"), filepath.Join(t.TempDir(), "state.json"))
	for i, u := range []string{testkit.ClosedURL(t), testkit.ClosedURL(t), testkit.ClosedURL(t), flaky.URL} {
		fmt.Fprintf(&yaml, "  - {name: c%d, type: courier, base_url: %s, token: %s}\n", i, u, testToken)
	}
	clk := testkit.NewClock()
	j := testJob(t, yaml.String(), nil, clk)
	j.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL, Now: clk.Now})}
	steps := []struct {
		answer bool
		want   string
	}{
		{false, ""}, // our network may be down: the checks' outage alerts are held from here on
		{false, ""},
		{false, "egress"}, // the third pass, as the checks' after_outages: told once
		{false, ""},
		{true, "resolved,alert,alert,alert"},
		{true, ""},
	}
	for i, st := range steps {
		answering.Store(st.answer)
		clk.Advance(5 * time.Minute)
		rep := j.Run(context.Background(), Options{})
		if got := kinds(rep); got != st.want || !rep.Delivered() {
			t.Fatalf("run %d: notifications %q (failures %v), want %q", i, got, rep.Failures, st.want)
		}
		if i == 2 && !strings.Contains(strings.Join(fake.Payloads(), "\n"), "every endpoint is unreachable") {
			t.Errorf("the egress message says: %v", fake.Payloads())
		}
	}
	if n := len(fake.Calls()); n != 5 {
		t.Errorf("Slack received %d messages, want 5", n)
	}
}
