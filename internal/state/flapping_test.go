package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// flappingMessage is an undelivered flapping message as Evaluate makes it.
const flappingMessage = `{"kind":"flapping","check":"c","outcome":"ok","previous":"invalid","outcomes":["invalid","ok"],` +
	`"changes":4,"flap_window":3600000000000,"since":"2026-11-20T03:00:00Z","at":"2026-11-20T03:40:00Z","attempts":1}`

// flappingRecord is the record of a check that is flapping.
const flappingRecord = `{"type":"courier","endpoint":"https://x","outcome":"ok","failures_in_row":0,"oks_in_row":1,` +
	`"changes":[{"from":"ok","to":"invalid","at":"2026-11-20T03:10:00Z"},{"from":"invalid","to":"ok","at":"2026-11-20T03:20:00Z"}],` +
	`"flapping_since":"2026-11-20T03:20:00Z"}`

func peekString(t *testing.T, content string) (*File, *Corruption) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	f, c, err := Peek(path)
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

// A flapping message waiting for delivery, and a flapping check's record,
// are a state this tokenwatch writes: they load as they are.
func TestFlappingStateLoads(t *testing.T) {
	f, c := peekString(t, `{"version":2,"checks":{"c":`+flappingRecord+`},"outboxes":{"slack":[`+flappingMessage+`]}}`)
	if c != nil {
		t.Fatalf("corrupt: %s", c.Reason)
	}
	if tr := f.Checks["c"].Track; !tr.Flapping() || len(tr.Changes) != 2 {
		t.Errorf("track %+v: want flapping with 2 changes", tr)
	}
	if box := f.Outbox("slack"); len(box) != 1 || len(box[0].Outcomes) != 2 || box[0].Changes != 4 {
		t.Errorf("outbox %+v", box)
	}
}

// A flapping message whose text could not be written is corrupt: it must
// name its latest outcome and at least two known outcomes moved between.
func TestCorruptFlappingMessages(t *testing.T) {
	for _, tc := range []struct{ name, msg, reason string }{
		{"no outcome", replace(flappingMessage, `"outcome":"ok",`, ``), "outboxes.slack[0].outcome: missing"},
		{"one outcome", replace(flappingMessage, `["invalid","ok"]`, `["ok"]`), "outboxes.slack[0].outcomes: 1, a flapping message needs at least 2"},
		{"no outcomes", replace(flappingMessage, `"outcomes":["invalid","ok"],`, ``), "outboxes.slack[0].outcomes: 0, a flapping message needs at least 2"},
		{"unknown outcome", replace(flappingMessage, `["invalid","ok"]`, `["invalid","meh"]`), `outboxes.slack[0].outcomes: unknown outcome "meh"`},
		{"negative changes", replace(flappingMessage, `"changes":4`, `"changes":-4`), "outboxes.slack[0].changes: negative (-4)"},
		{"no since", replace(flappingMessage, `"since":"2026-11-20T03:00:00Z",`, ``), "outboxes.slack[0].since: missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := peekString(t, withMessage(tc.msg))
			if c == nil || !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("corruption %+v, want a reason saying %q", c, tc.reason)
			}
		})
	}
}
