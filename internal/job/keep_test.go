package job

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/notify"
)

// With the state kept in memory (serve), a pass whose last save failed is
// not the last success, and the state's own output says it failed: the
// next save must not write a success that never was.
func TestKeptStateAfterAFailedSave(t *testing.T) {
	api := newCourierAPI(t)
	api.status.Store(200)
	statePath := filepath.Join(t.TempDir(), "state.json")
	clk := testkit.NewClock()
	j := testJob(t, courierConfig(api.URL, statePath, ""), nil, clk)
	j.Keep = true
	defer j.Close()
	first := clk.Now()
	if rep := j.Run(context.Background(), Options{}); !rep.Delivered() {
		t.Fatal(rep.Failures)
	}
	// The rename onto the state path now fails: it is a non-empty directory.
	if err := os.Remove(statePath); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(statePath, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	second := clk.Now()
	if rep := j.Run(context.Background(), Options{}); rep.Delivered() {
		t.Fatal("run 2 could not save, it must say so")
	}
	if err := os.RemoveAll(statePath); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	rep := j.Run(context.Background(), Options{})
	if !rep.LastSuccess.Equal(first) {
		t.Errorf("run 3 sees last success %v, want run 1's %v (run 2, %v, failed to save)", rep.LastSuccess, first, second)
	}
	if st := rep.Outputs[state.OutputState]; !st.LastFailure.Equal(second) {
		t.Errorf("state output %+v: its failure in run 2 is lost", st)
	}
}

// In serve, a pass that runs while another delivers decides into the same
// state and delivers its own messages, even when the state cannot be
// written: nothing is dropped, and each pass says what it could not save.
func TestConcurrentPassesWithAnUnwritableState(t *testing.T) {
	api := newCourierAPI(t) // 401
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(notDir, "state.json")
	clk := testkit.NewClock()
	entered := make(chan struct{}, 10)
	release := make(chan struct{})
	n := &probeNotifier{}
	n.probe = func(m notify.Message) {
		if m.Check == "courier-a" {
			entered <- struct{}{}
			<-release
		}
	}
	j := testJob(t, threeCouriers(api.URL, statePath), n, clk)
	j.Keep = true
	defer j.Close()
	doneA := make(chan *Report, 1)
	go func() { doneA <- j.Run(context.Background(), Options{Only: []string{"courier-a"}}) }()
	testkit.Receive(t, "pass A to start delivering", entered)
	doneB := make(chan *Report, 1)
	go func() { doneB <- j.Run(context.Background(), Options{Only: []string{"courier-b"}}) }()
	// B decides while A delivers; its own delivery waits for A's.
	close(release)
	a := testkit.Receive(t, "pass A", doneA)
	b := testkit.Receive(t, "pass B", doneB)
	if a.Delivered() || b.Delivered() {
		t.Errorf("failures A %v, B %v: each pass must say the state was not saved", a.Failures, b.Failures)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !slices.Contains(n.sent, "alert:courier-a") || !slices.Contains(n.sent, "alert:courier-b") {
		t.Errorf("sent %v: both passes' alerts must go out", n.sent)
	}
}

// A kept state (serve) holds the file's lock only inside each read or
// write: a silence added by another process between passes (as
// `tokenwatch silence add` does, waiting at most a second for the lock)
// is read by the next pass, which sends nothing for the silenced check,
// and the silence stays in the file the pass saves.
func TestKeptStateSeesASilenceAddedBetweenPasses(t *testing.T) {
	api := newCourierAPI(t) // 401
	statePath := filepath.Join(t.TempDir(), "state.json")
	clk := testkit.NewClock()
	n := &probeNotifier{}
	j := testJob(t, threeCouriers(api.URL, statePath), n, clk)
	j.Keep = true
	defer j.Close()
	if rep := j.Run(context.Background(), Options{Only: []string{"courier-a"}}); !rep.Delivered() {
		t.Fatal(rep.Failures)
	}
	added := silence(t, statePath, []string{"courier-b"}, clk.Now().Add(time.Hour), clk.Now())
	clk.Advance(time.Minute)
	rep := j.Run(context.Background(), Options{Only: []string{"courier-b"}})
	if !rep.Delivered() {
		t.Fatal(rep.Failures)
	}
	if _, muted := rep.Mutes["courier-b"]; !muted {
		t.Errorf("mutes %v: the pass did not read the silence added since the last one", rep.Mutes)
	}
	if !slices.Equal(n.sent, []string{"alert:courier-a"}) {
		t.Errorf("sent %v, want courier-a's alert alone: courier-b is silenced", n.sent)
	}
	st := readState(t, statePath)
	if len(st.Silences) != 1 || st.Silences[0].ID != added.ID || st.Checks["courier-b"] == nil {
		t.Errorf("saved silences %+v, records %v: the pass must keep the silence and add its own result", st.Silences, len(st.Checks))
	}
}
