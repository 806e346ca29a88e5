package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// size is one workload: checks in total and in flight.
type size struct{ checks, concurrency int }

// figures is one process's run: the medians when printed.
type figures struct {
	wall     time.Duration
	cpu      time.Duration // user + system
	maxRSSKB int64
	conns    int64 // TCP connections the server accepted
	inFlight int64 // most requests the server held at once
}

// sizeResult is one size's medians for both sides.
type sizeResult struct {
	size
	ideal            time.Duration
	tokenwatch, bare figures
	notOK            int // checks tokenwatch did not report ok (the workload is broken if > 0)
}

// measureSize runs tokenwatch once to create its state (a scheduled run
// always finds one), then o.repeat times each side, and keeps the medians.
func measureSize(ctx context.Context, s size, o options, srv *serverProcess, tw, self, dir string) (sizeResult, error) {
	res := sizeResult{size: s, ideal: idealWall(s, o)}
	cfg, err := writeConfig(dir, s, srv.url)
	if err != nil {
		return res, err
	}
	twArgs := []string{tw, "run", "--config", cfg, "--output", "json"}
	if _, _, err := runMeasured(ctx, res.ideal, srv, twArgs, nil); err != nil {
		return res, fmt.Errorf("tokenwatch warm-up at %d checks: %w", s.checks, err)
	}
	var tws, bares []figures
	for range o.repeat {
		f, out, err := runMeasured(ctx, res.ideal, srv, twArgs, nil)
		if err != nil {
			return res, fmt.Errorf("tokenwatch at %d checks: %w", s.checks, err)
		}
		res.notOK = max(res.notOK, countNotOK(out, s.checks))
		tws = append(tws, f)
		f, _, err = runMeasured(ctx, res.ideal, srv, []string{self, "-client", "-url", srv.url,
			"-n", fmt.Sprint(s.checks), "-c", fmt.Sprint(s.concurrency)}, nil)
		if err != nil {
			return res, fmt.Errorf("bare client at %d checks: %w", s.checks, err)
		}
		bares = append(bares, f)
	}
	res.tokenwatch, res.bare = median(tws), median(bares)
	return res, nil
}

// idealWall is N/C rounds of one latency each: no client can do better.
func idealWall(s size, o options) time.Duration {
	return time.Duration((s.checks+s.concurrency-1)/s.concurrency) * o.latency
}

// writeConfig writes a tokenwatch configuration of s.checks courier checks,
// each with its own token, against the loopback server; no notifier. The
// checks share their type and base_url through a merge key, one line each:
// written out in block style, 10,000 checks are about 1.5 MB, more than the
// configuration size limit (safefile.MaxConfig).
func writeConfig(dir string, s size, url string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "concurrency: %d\nstate:\n  path: %s\n", s.concurrency,
		filepath.Join(dir, fmt.Sprintf("state-%d.json", s.checks)))
	fmt.Fprintf(&b, "checks:\n- &c {type: courier, base_url: %q, name: c00000, token: %s}\n", url, token(0))
	for i := 1; i < s.checks; i++ {
		fmt.Fprintf(&b, "- {<<: *c, name: c%05d, token: %s}\n", i, token(i))
	}
	path := filepath.Join(dir, fmt.Sprintf("config-%d.yaml", s.checks))
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("write the configuration: %w", err)
	}
	return path, nil
}

// runMeasured runs args as a child and returns its wall time, its own
// rusage and what the server saw; the child is killed if it takes far longer
// than the ideal.
func runMeasured(ctx context.Context, ideal time.Duration, srv *serverProcess, args, env []string) (figures, []byte, error) {
	var f figures
	if _, err := srv.stats(); err != nil { // reset the counters
		return f, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 20*ideal+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	f.wall = time.Since(start)
	if err != nil {
		return f, nil, fmt.Errorf("%s: %w: %s", filepath.Base(args[0]), err, tail(stderr.String()))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		f.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		f.maxRSSKB = ru.Maxrss // kilobytes on Linux
	}
	st, err := srv.stats()
	f.conns, f.inFlight = st.Conns, st.MaxInFlight
	return f, stdout.Bytes(), err
}

// countNotOK counts the checks of a `run --output json` report that are
// not ok, and those missing from it.
func countNotOK(out []byte, want int) int {
	var rep struct {
		Checks []struct{ Outcome string } `json:"checks"`
	}
	if json.Unmarshal(out, &rep) != nil {
		return want
	}
	bad := want - len(rep.Checks)
	for _, c := range rep.Checks {
		if c.Outcome != "ok" {
			bad++
		}
	}
	return bad
}

// median takes the median of each figure on its own.
func median(runs []figures) figures {
	pick := func(get func(figures) int64) int64 {
		v := make([]int64, len(runs))
		for i, r := range runs {
			v[i] = get(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return figures{
		wall:     time.Duration(pick(func(f figures) int64 { return int64(f.wall) })),
		cpu:      time.Duration(pick(func(f figures) int64 { return int64(f.cpu) })),
		maxRSSKB: pick(func(f figures) int64 { return f.maxRSSKB }),
		conns:    pick(func(f figures) int64 { return f.conns }),
		inFlight: pick(func(f figures) int64 { return f.inFlight }),
	}
}

// tail keeps the end of a child's stderr for an error message.
func tail(s string) string {
	const keep = 2000
	if len(s) > keep {
		s = "..." + s[len(s)-keep:]
	}
	return strings.TrimSpace(s)
}
