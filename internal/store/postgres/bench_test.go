package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/internal/testkit/pgtest"
)

// A pass's decision over n checks (1: a serve tick): every record is read, moved
// (its last run, as every pass does) and written back, and one check in a
// hundred queues a message, all in one transaction.
func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{1, 1000, 10000} {
		b.Run(fmt.Sprintf("checks=%d", n), func(b *testing.B) {
			clock := testkit.NewClock()
			s := open(b, pgtest.DSN(b), Options{Now: clock.Now})
			sess, err := s.Open(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprintf("check-%05d", i)
			}
			scope := store.Scope{Checks: names}
			pass := 0
			decide := func() {
				pass++
				now := clock.Now().Add(time.Duration(pass) * time.Minute)
				if err := sess.Decide(context.Background(), scope, func(f *state.File) error {
					for i, name := range names {
						rec := f.Record(state.Identity{Name: name, Type: checks.TypeCourier, Endpoint: "https://" + name})
						rec.Outcome, rec.LastRun, rec.LastOK, rec.OKsInRow = checks.OK, now, now, rec.OKsInRow+1
						rec.Fingerprint = "3f2a9c1e"
						if i%100 == 0 {
							f.SetOutbox("slack", append(f.Outbox("slack"), message(name, pass, now)))
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			decide() // the records exist before the timing starts
			for b.Loop() {
				decide()
			}
		})
	}
}

// Claiming a message and acknowledging its delivery, as a replica does
// for every message it sends: 20,000 messages wait (a long Slack outage),
// about 1 check or 100. A claim takes the head of every check at once, so
// with 100 checks one claim serves 100 messages; with 1 check, each
// message costs a claim of its own.
func BenchmarkClaimAck(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("checks=%d", n), func(b *testing.B) {
			clock := testkit.NewClock()
			s := open(b, pgtest.DSN(b), Options{Now: clock.Now})
			sess, err := s.Open(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprintf("check-%03d", i)
			}
			enqueueAll(b, s, names, 20000/n, clock.Now())
			thread := &state.Thread{Channel: "C1", TS: "1.1"}
			var claimed []store.Message
			for b.Loop() {
				if len(claimed) == 0 {
					if claimed, err = sess.Claim(context.Background(), "slack", "bench", time.Minute); err != nil || len(claimed) == 0 {
						b.Fatalf("claim: %d messages, %v (more iterations than messages queued?)", len(claimed), err)
					}
				}
				m := claimed[0]
				claimed = claimed[1:]
				if err := sess.Ack(context.Background(), m, thread, func(f *state.File) { f.Count("slack", "alert", true) }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Reading the whole state of 10,000 checks, as status and every
// replica's /metrics do.
func BenchmarkSnapshot(b *testing.B) {
	clock := testkit.NewClock()
	s := open(b, pgtest.DSN(b), Options{Now: clock.Now})
	names := make([]string, 10000)
	for i := range names {
		names[i] = fmt.Sprintf("check-%05d", i)
	}
	enqueueAll(b, s, names, 1, clock.Now())
	for b.Loop() {
		f, err := s.Snapshot(context.Background())
		if err != nil || len(f.Checks) != len(names) {
			b.Fatalf("snapshot: %d records, %v", len(f.Checks), err)
		}
	}
}
