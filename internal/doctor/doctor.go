// Package doctor tests tokenwatch's own plumbing without sending a
// message: whether Slack would take a message, whether the Pushgateway is
// ready, whether the state and the textfile can be written, and whether
// each endpoint resolves and shows a certificate that is trusted and not
// about to expire. Every probe is a plain function of what it is given;
// Plan turns a configuration into the list of probes and Run runs them
// side by side, each bounded in time.
package doctor

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Result is a probe's verdict.
type Result string

// The three verdicts: ok, worth a look (warn), and broken (fail: the
// command exits 3).
const (
	OK   Result = "ok"
	Warn Result = "warn"
	Fail Result = "fail"
)

// Timeout bounds each probe: the command answers within it, however many
// peers hang.
const Timeout = 5 * time.Second

// Item is one probe's verdict and why, fit to show.
type Item struct {
	Name   string `json:"name"`
	Result Result `json:"result"`
	Detail string `json:"detail"`
}

// Probe is one thing to test. Check must honour ctx for its network calls;
// Run stops waiting for it at the deadline anyway.
type Probe struct {
	Name  string
	Check func(ctx context.Context) (Result, string)
}

// Run runs every probe concurrently, each under its own timeout, and
// returns their items in the probes' order. A probe still busy at its
// deadline (a file system that hangs, a call that ignores ctx) is a fail:
// Run does not wait for it.
func Run(ctx context.Context, probes []Probe, timeout time.Duration) []Item {
	items := make([]Item, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Go(func() { items[i] = runOne(ctx, p, timeout) })
	}
	wg.Wait()
	return items
}

func runOne(ctx context.Context, p Probe, timeout time.Duration) Item {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan Item, 1) // buffered: a late probe must not block forever
	go func() {
		r, detail := p.Check(ctx)
		done <- Item{Name: p.Name, Result: r, Detail: detail}
	}()
	select {
	case it := <-done:
		return it
	case <-ctx.Done():
		return Item{Name: p.Name, Result: Fail, Detail: fmt.Sprintf("no answer within %s", timeout)}
	}
}

// Failed reports whether any item failed: the command's exit 3.
func Failed(items []Item) bool {
	for _, it := range items {
		if it.Result == Fail {
			return true
		}
	}
	return false
}
