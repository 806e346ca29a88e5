package job

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/notify"
	"github.com/tokenwatch/tokenwatch/notify/slack"
)

// TestLifecycleLastWordIsNewest: while Slack is down the deployed token
// goes old → new → old (a rollback). When Slack is back, on-call hears
// one rotate message, the newest state, and no "the secret was rotated"
// after it: each lifecycle message supersedes the waiting ones of its
// track and goes last.
func TestLifecycleLastWordIsNewest(t *testing.T) {
	clk := testkit.NewClockAt(time.Now().UTC().Truncate(time.Second))
	ca := testkit.NewCA(t)
	base, _ := ca.Serve(t, clk.Now().Add(-time.Hour), clk.Now().Add(400*24*time.Hour), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"message":"OK"}`)
	}))
	hook := testkit.NewSlack(t)
	slackDown(hook)
	am := newFakeAlertmanager(t, clk.Now)
	statePath := filepath.Join(t.TempDir(), "state.json")
	issued := clk.Now().Add(-100 * 24 * time.Hour)
	var rep *Report
	for _, token := range []string{testToken, testToken + "-new", testToken} {
		j := lifecycleJob(t, clk, issued, base, ca.File, token, statePath, hook, am, io.Discard)
		j.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL, Now: clk.Now, Retry: slack.Retry{Attempts: 1, Backoff: time.Millisecond}})}
		rep = j.Run(context.Background(), Options{})
		clk.Advance(5 * time.Minute)
	}
	if rep.Pending != 1 {
		t.Fatalf("%d messages wait, want the newest one: %s", rep.Pending, kinds(rep))
	}
	hook.Accept()
	j := lifecycleJob(t, clk, issued, base, ca.File, testToken, statePath, hook, am, io.Discard)
	j.Notifiers = j.Notifiers[:1]
	rep = j.Run(context.Background(), Options{})
	if got := slackKinds(rep); got != "rotate" {
		t.Errorf("after the outage Slack got %q, want the one rotate message about the old secret deployed now", got)
	}
}

// TestEnqueueLifecycleSupersedesTrack: a lifecycle message drops every
// waiting message of its track about its check (the opening kind and its
// resolution alike) and goes last; other tracks and other checks keep
// their places.
func TestEnqueueLifecycleSupersedesTrack(t *testing.T) {
	msg := func(check string, k, about alert.Kind) state.Pending {
		d := alert.Decision{Check: check, Kind: k}
		if about != "" || k == alert.KindRotate || k == alert.KindTLSExpiry {
			d.Lifecycle = &alert.LifecycleFacts{About: about}
		}
		return state.Pending{Decision: d}
	}
	show := func(box []state.Pending) string {
		var out []string
		for _, p := range box {
			k := p.Check + ":" + string(p.Kind)
			if p.Lifecycle != nil && p.Lifecycle.About != "" {
				k += "/" + string(p.Lifecycle.About)
			}
			out = append(out, k)
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		name string
		box  []state.Pending
		new  state.Pending
		want string
	}{
		{"a resolution after a waiting warning goes last",
			[]state.Pending{msg("c", alert.KindTLSExpiry, ""), msg("c", alert.KindAlert, ""), msg("c", alert.KindRotate, "")},
			msg("c", alert.KindResolved, alert.KindTLSExpiry), "c:alert c:rotate c:resolved/tls_expiry"},
		{"a warning drops a waiting resolution and warning",
			[]state.Pending{msg("c", alert.KindTLSExpiry, ""), msg("c", alert.KindResolved, alert.KindTLSExpiry), msg("d", alert.KindTLSExpiry, "")},
			msg("c", alert.KindTLSExpiry, ""), "d:tls_expiry c:tls_expiry"},
		{"rotate supersedes its resolution, not the outcome's",
			[]state.Pending{msg("c", alert.KindResolved, alert.KindRotate), msg("c", alert.KindResolved, "")},
			msg("c", alert.KindRotate, ""), "c:resolved c:rotate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := state.New()
			j := &Job{Notifiers: []notify.Notifier{slack.New(slack.Options{WebhookURL: secret.New("http://127.0.0.1:1/hook")})}}
			st.SetOutbox("slack", tc.box)
			j.enqueueLifecycle(st, tc.new.Decision)
			if got := show(st.Outbox("slack")); got != tc.want {
				t.Errorf("outbox %q, want %q", got, tc.want)
			}
		})
	}
}
