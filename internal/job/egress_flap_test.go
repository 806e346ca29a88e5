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
)

// In a pass where our own network is down, a check's network failure is
// no flapping change: a check three changes from flapping does not flap
// (nor is it told) because our network failed, and its changes stay as
// they were.
func TestEgressFailuresAreNoFlappingChanges(t *testing.T) {
	s := alert.DefaultSettings // 4 changes within 1h
	var tr alert.Track
	for i, o := range []checks.Outcome{checks.OK, checks.Invalid, checks.OK, checks.Invalid} {
		// ok, then three changes: the fourth would flap.
		tr, _ = alert.Evaluate(tr, checks.Result{Check: "a", Outcome: o, HTTPStatus: 200}, s, egressNow.Add(time.Duration(i)*time.Minute))
	}
	now := egressNow.Add(5 * time.Minute)
	next, ds := alert.Evaluate(tr, down("a"), s, now)
	if len(ds) != 1 || ds[0].Kind != alert.KindFlapping {
		t.Fatalf("setup: the fourth change must flap: %+v", ds)
	}
	held, kept := withhold(tr, next, ds, now)
	if len(kept) != 0 || held.Flapping() || len(held.Changes) != 3 {
		t.Errorf("withheld: kept %+v, flapping %v, %d changes; want nothing sent, no flapping, the 3 changes of before", kept, held.Flapping(), len(held.Changes))
	}
	if held.Outcome != checks.Unavailable || held.FailuresInRow != 2 {
		t.Errorf("track %+v: the outcome and counts still move", held)
	}
}

// Our own network going down and back, again and again within the flap
// window, makes no check flap: the outage passes record no change, and
// neither does the way back from an outage that began inside the incident.
// On-call hears each egress incident and its end, nothing per check.
func TestEgressOutagesMakeNoCheckFlap(t *testing.T) {
	var answering atomic.Bool
	api := testkit.Server(t, func(w http.ResponseWriter, r *http.Request) {
		if !answering.Load() {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		_, _ = w.Write([]byte(`{"message":"OK"}`))
	})
	var yaml strings.Builder
	// after_outages 1: each outage of our network is told at once, so every pass says something.
	fmt.Fprintf(&yaml, "defaults: {alert: {after_outages: 1}}\nstate: {path: %s}\nchecks:\n", filepath.Join(t.TempDir(), "state.json"))
	for i := range 4 {
		fmt.Fprintf(&yaml, "  - {name: c%d, type: courier, base_url: %s, token: %s}\n", i, api.URL, testToken)
	}
	clk := testkit.NewClock()
	j := testJob(t, yaml.String(), nil, clk)
	j.Notifiers = []notify.Notifier{&probeNotifier{}}
	answering.Store(true)
	for i := range 11 { // ok, then down and up five times in 50 minutes
		if i > 0 {
			answering.Store(i%2 == 0)
		}
		clk.Advance(5 * time.Minute)
		rep := j.Run(context.Background(), Options{})
		want := map[bool]string{true: "resolved", false: "egress"}[i%2 == 0]
		if i == 0 {
			want = ""
		}
		if got := kinds(rep); got != want {
			t.Fatalf("pass %d: %q, want %q", i, got, want)
		}
		for name, tr := range rep.Tracks {
			if tr.Flapping() || len(tr.Changes) != 0 {
				t.Fatalf("pass %d: %s flapping %v with changes %+v: our network's outages are no changes of its own", i, name, tr.Flapping(), tr.Changes)
			}
		}
	}
}

// What the egress policy reads: a silenced check's network failure is left
// out, its answer comes after every unsilenced check's and names it as
// silenced, so the egress resolution never quotes a silenced check as if
// it were not.
func TestEgressEvidence(t *testing.T) {
	mutes := map[string]alert.Mute{"s1": {Until: egressNow.Add(time.Hour)}, "s2": {Until: egressNow.Add(time.Hour)}}
	okResult := func(name string) checks.Result {
		return checks.Result{Check: name, Outcome: checks.OK, HTTPStatus: 200}
	}
	got, left := egressEvidence([]checks.Result{okResult("s1"), down("s2"), down("a"), okResult("b")}, mutes)
	var names []string
	for _, r := range got {
		names = append(names, r.Check)
	}
	if strings.Join(names, ",") != "a,b,s1 (silenced)" || left != 1 {
		t.Errorf("evidence %v, want a, b, then s1 named as silenced (s2's network failure left out)", names)
	}
	evidence, _ := egressEvidence([]checks.Result{okResult("s1"), down("a")}, mutes)
	back := decideEgress(&state.Egress{Since: egressNow, NotifiedAt: egressNow, Checks: 3}, evidence, egressNow, 1)
	if len(back.Decisions) != 1 || !strings.HasPrefix(back.Decisions[0].Detail, "s1 (silenced) answered (ok)") {
		t.Errorf("resolution %+v, want it to name s1 as silenced", back.Decisions)
	}
}

// The egress message counts the unsilenced checks and says how many
// silenced ones were unreachable too.
func TestEgressMessageSaysSilencedChecksNotCounted(t *testing.T) {
	mutes := map[string]alert.Mute{"s": {Until: egressNow.Add(time.Hour)}}
	evidence, left := egressEvidence([]checks.Result{down("a"), down("b"), down("s"), down("c")}, mutes)
	eg := decideEgress(nil, evidence, egressNow, 1)
	notCounted(eg.Decisions, left)
	if len(eg.Decisions) != 1 || !strings.HasPrefix(eg.Decisions[0].Detail, "3 of 3 checks unreachable: connection refused (3 checks) (and 1 silenced check, unreachable too, not counted)") {
		t.Errorf("egress %+v", eg.Decisions)
	}
}
