package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// An open egress incident and its waiting message survive a save and a
// load: the next run of a CronJob knows on-call was told.
func TestEgressRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, _, err := s.Load(now)
	if err != nil {
		t.Fatal(err)
	}
	since := now.Add(-time.Hour)
	f.Egress = &Egress{Since: since, NotifiedAt: since, Checks: 4}
	egress := alert.Decision{Kind: alert.KindEgress, Check: NoticeCheck, Outcome: checks.Unavailable, Since: since, Checks: 4, At: since}
	f.SetOutbox("slack", []Pending{{Decision: egress}})
	if err := s.Save(f); err != nil {
		t.Fatal(err)
	}
	g, corrupt, err := s.Load(now)
	if err != nil || corrupt != nil {
		t.Fatalf("load: %v %+v", err, corrupt)
	}
	if g.Egress == nil || !g.Egress.Since.Equal(since) || !g.Egress.NotifiedAt.Equal(since) || g.Egress.Checks != 4 {
		t.Errorf("egress after the round trip: %+v", g.Egress)
	}
	if box := g.Outbox("slack"); len(box) != 1 || box[0].Kind != alert.KindEgress {
		t.Errorf("outbox after the round trip: %+v", box)
	}
	// Without an incident, the file does not mention one.
	g.Egress = nil
	data, err := encode(g)
	if err != nil || strings.Contains(string(data), `"egress":{`) {
		t.Errorf("a state without an incident writes one: %s (%v)", data, err)
	}
}

// A format-1 state has no egress incident.
func TestV1StateHasNoEgress(t *testing.T) {
	f, _, err := Peek("testdata/v1-state.json")
	if err != nil || f.Egress != nil {
		t.Errorf("migrated state: egress %+v, err %v", f.Egress, err)
	}
}

// An incident or an egress message missing what its messages need is
// corrupt, naming the field.
func TestEgressCorruptFiles(t *testing.T) {
	const incident = `"egress":{"since":"2026-11-20T03:00:00Z","notified_at":"2026-11-20T03:00:00Z","checks":3}`
	const message = `{"kind":"egress","check":"tokenwatch","outcome":"unavailable","since":"2026-11-20T03:00:00Z","at":"2026-11-20T03:00:00Z","attempts":0}`
	for _, tc := range []struct{ name, content, reason string }{
		{"incident without since", `{"version":2,"checks":{},` + replace(incident, `"since":"2026-11-20T03:00:00Z",`, ``) + `}`, "egress.since: missing"},
		{"incident without notified_at", `{"version":2,"checks":{},` + replace(incident, `"notified_at":"2026-11-20T03:00:00Z",`, ``) + `}`, "egress.notified_at: missing"},
		{"incident with negative checks", `{"version":2,"checks":{},` + replace(incident, `"checks":3`, `"checks":-1`) + `}`, "egress.checks: negative (-1)"},
		{"incident with an unknown field", `{"version":2,"checks":{},` + replace(incident, `"checks":3`, `"checks":3,"x":1`) + `}`, `unknown field "x"`},
		{"egress message that is ok", withMessage(replace(message, `"outcome":"unavailable"`, `"outcome":"ok"`)), `outboxes.slack[0].outcome: an egress message with outcome "ok"`},
		{"egress message without since", withMessage(replace(message, `"since":"2026-11-20T03:00:00Z",`, ``)), "outboxes.slack[0].since: missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, c, err := Peek(path); err != nil || c == nil || !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("corruption %+v, err %v; want a reason saying %q", c, err, tc.reason)
			}
		})
	}
	// And the well-formed ones are read as they are.
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte(`{"version":2,"checks":{},"outboxes":{"slack":[`+message+`]},`+incident+`}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if f, c, err := Peek(path); err != nil || c != nil || f.Egress == nil || f.Egress.Checks != 3 {
		t.Errorf("a valid incident: %+v %+v %v", f.Egress, c, err)
	}
}
