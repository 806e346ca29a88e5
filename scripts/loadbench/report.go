package main

import (
	"fmt"
	"io"
	"time"
)

// The targets of issue 10, measured in the same run.
const (
	maxWallRatio  = 1.10 // wall <= 1.10 x N/C x latency
	maxCPURatio   = 2.0  // CPU per check <= 2 x the bare client's
	maxCPUGrowth  = 1.25 // "the same at both sizes": the largest within 25% of the smallest
	rssLimitSmall = 25   // MiB at 1,000 checks
	rssLimitLarge = 60   // MiB at 10,000 checks
)

func printSize(w io.Writer, r sizeResult) {
	fmt.Fprintf(w, "%d checks, %d in flight: ideal %v\n", r.checks, r.concurrency, r.ideal)
	fmt.Fprintf(w, "  %-14s %9s %8s %10s %10s %6s %10s\n", "", "wall", "x ideal", "CPU/check", "peak RSS", "conns", "in flight")
	for _, side := range []struct {
		name string
		f    figures
	}{{"tokenwatch", r.tokenwatch}, {"bare net/http", r.bare}} {
		fmt.Fprintf(w, "  %-14s %9s %7.2fx %10s %7.1f MB %6d %10d\n", side.name,
			side.f.wall.Round(time.Millisecond), ratio(side.f.wall, r.ideal), perCheck(side.f, r.checks),
			mib(side.f.maxRSSKB), side.f.conns, side.f.inFlight)
	}
	fmt.Fprintf(w, "  tokenwatch/bare CPU per check: %.2fx\n", ratio(r.tokenwatch.cpu, r.bare.cpu))
	if r.notOK > 0 {
		fmt.Fprintf(w, "  WARNING: %d checks were not ok: the workload is broken, the figures mean little\n", r.notOK)
	}
	fmt.Fprintln(w)
}

// printTargets prints each target of the issue with its figure and verdict.
func printTargets(w io.Writer, rows []sizeResult) {
	fmt.Fprintln(w, "targets (tokenwatch):")
	for _, r := range rows {
		limit := float64(rssLimitLarge)
		if r.checks <= 1000 {
			limit = rssLimitSmall
		}
		wall, cpu := ratio(r.tokenwatch.wall, r.ideal), ratio(r.tokenwatch.cpu, r.bare.cpu)
		verdict(w, fmt.Sprintf("%d checks: wall <= %.2fx ideal", r.checks, maxWallRatio), fmt.Sprintf("%.2fx", wall), wall <= maxWallRatio)
		verdict(w, fmt.Sprintf("%d checks: CPU/check <= %.0fx bare", r.checks, maxCPURatio), fmt.Sprintf("%.2fx", cpu), cpu <= maxCPURatio)
		verdict(w, fmt.Sprintf("%d checks: peak RSS <= %.0f MB", r.checks, limit), fmt.Sprintf("%.1f MB", mib(r.tokenwatch.maxRSSKB)), mib(r.tokenwatch.maxRSSKB) <= limit)
	}
	if len(rows) > 1 {
		first, last := rows[0], rows[len(rows)-1]
		growth := ratio(last.tokenwatch.cpu, first.tokenwatch.cpu) * float64(first.checks) / float64(last.checks)
		verdict(w, fmt.Sprintf("CPU/check at %d within %.2fx of %d", last.checks, maxCPUGrowth, first.checks),
			fmt.Sprintf("%.2fx", growth), growth <= maxCPUGrowth)
	}
}

func verdict(w io.Writer, target, got string, met bool) {
	word := "met"
	if !met {
		word = "NOT met"
	}
	fmt.Fprintf(w, "  %-42s %10s  %s\n", target, got, word)
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func perCheck(f figures, n int) string {
	return (f.cpu / time.Duration(n)).Round(time.Microsecond).String()
}

// mib converts rusage's kilobytes; the targets' MB are MiB.
func mib(kb int64) float64 { return float64(kb) / 1024 }
