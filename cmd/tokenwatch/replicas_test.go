package main

import (
	"fmt"
	"testing"

	"github.com/tokenwatch/tokenwatch/internal/testkit"
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
