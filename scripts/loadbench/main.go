// Command loadbench runs tokenwatch and a bare net/http client side by side
// on one loopback workload and prints both, with the targets of issue 10:
// wall time against the ideal N/C x latency, CPU per check, peak RSS.
//
//	go run ./scripts/loadbench            # from the module root; what `make bench` runs
//	go run ./scripts/loadbench -profile /tmp/tw   # also a CPU and heap profile at the largest size
//
// Everything runs in child processes of this one, so that each figure is one
// process's own rusage: the fake courier server (answers after -latency), each
// `tokenwatch run`, and each bare client (this binary again with -client). It
// is a report, not a test: it exits 0 whether the targets are met or not, and
// non-zero only when it could not measure.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

func main() {
	var (
		serve     = flag.Bool("serve", false, "internal: be the fake courier server")
		client    = flag.Bool("client", false, "internal: be the bare net/http client")
		url       = flag.String("url", "", "internal: the server's base URL, for -client")
		n         = flag.Int("n", 0, "internal: requests to make, for -client")
		c         = flag.Int("c", 0, "internal: requests in flight, for -client")
		latency   = flag.Duration("latency", 50*time.Millisecond, "how long the server takes to answer")
		sizes     = flag.String("sizes", "1000:50,10000:100", "comma-separated checks:concurrency pairs")
		repeat    = flag.Int("repeat", 3, "measurements per size and side; the median is printed")
		binary    = flag.String("tokenwatch", "", "a tokenwatch binary to measure; empty builds ./cmd/tokenwatch")
		profile   = flag.String("profile", "", "directory for a CPU and heap profile of tokenwatch at the largest size")
		keepTemps = flag.Bool("keep", false, "keep the temporary directory (configs, state, binary)")
	)
	flag.Parse()
	var err error
	switch {
	case *serve:
		err = runServer(*latency)
	case *client:
		err = runClient(*url, *n, *c)
	default:
		err = bench(options{sizes: *sizes, repeat: *repeat, latency: *latency, binary: *binary,
			profile: *profile, keep: *keepTemps})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

type options struct {
	sizes   string
	repeat  int
	latency time.Duration
	binary  string
	profile string
	keep    bool
}

// bench is the parent: it starts the server, builds tokenwatch, measures both
// sides at every size and prints the report.
func bench(o options) error {
	list, err := parseSizes(o.sizes)
	if err != nil {
		return err
	}
	raiseFileLimit()
	dir, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		return fmt.Errorf("create a temporary directory: %w", err)
	}
	if o.keep {
		fmt.Println("temporary files:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	ctx := context.Background()
	srv, err := startServer(ctx, o.latency)
	if err != nil {
		return err
	}
	defer srv.stop()

	tw := o.binary
	if tw == "" {
		tw = filepath.Join(dir, "tokenwatch")
		if err := buildTokenwatch(ctx, tw, ""); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this binary for the bare client: %w", err)
	}

	fmt.Printf("loadbench: tokenwatch run vs a bare net/http client, loopback, %v per answer, median of %d runs, %s %d CPUs\n\n",
		o.latency, o.repeat, runtime.Version(), runtime.NumCPU())
	var rows []sizeResult
	for _, s := range list {
		r, err := measureSize(ctx, s, o, srv, tw, self, dir)
		if err != nil {
			return err
		}
		printSize(os.Stdout, r)
		rows = append(rows, r)
	}
	printTargets(os.Stdout, rows)

	if o.profile != "" {
		return profileLargest(ctx, o, srv, list[len(list)-1], dir)
	}
	return nil
}

// parseSizes reads "1000:50,10000:100".
func parseSizes(s string) ([]size, error) {
	var out []size
	for _, part := range strings.Split(s, ",") {
		var z size
		if _, err := fmt.Sscanf(part, "%d:%d", &z.checks, &z.concurrency); err != nil || z.checks < 1 || z.concurrency < 1 {
			return nil, fmt.Errorf("size %q: want checks:concurrency, both positive", part)
		}
		out = append(out, z)
	}
	return out, nil
}

// raiseFileLimit lifts the soft limit on open files to the hard one. An
// explicit Setrlimit also makes the children inherit it (Go otherwise
// restores the original soft limit in children).
func raiseFileLimit() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}

// buildTokenwatch builds ./cmd/tokenwatch of the module this command is run
// in, with an optional -overlay file.
func buildTokenwatch(ctx context.Context, out, overlay string) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	args := []string{"build", "-o", out}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "./cmd/tokenwatch")...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build tokenwatch in %s: %w", root, err)
	}
	return nil
}

func moduleRoot(ctx context.Context) (string, error) {
	b, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root: %w", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run loadbench inside the tokenwatch module")
	}
	return filepath.Dir(mod), nil
}
