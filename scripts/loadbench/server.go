package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"
)

// stats is what the server saw since the last time it was asked: TCP
// connections opened and the most requests it held at once.
type stats struct {
	Conns       int64 `json:"conns"`
	MaxInFlight int64 `json:"max_in_flight"`
}

// courierServer answers GET /api/v1/test with Authorization: OAuth <token>
// like the courier API does for a good token, after a fixed latency.
type courierServer struct {
	latency                   time.Duration
	conns, inFlight, maxFlown atomic.Int64
}

func (s *courierServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/stats" {
		s.serveStats(w)
		return
	}
	if r.Method != http.MethodGet || r.URL.Path != "/api/v1/test" || !strings.HasPrefix(r.Header.Get("Authorization"), "OAuth ") {
		http.Error(w, `{"message":"Unauthorized"}`, http.StatusUnauthorized)
		return
	}
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxFlown.Load()
		if n <= m || s.maxFlown.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(s.latency)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"message":"OK"}`)
}

// serveStats reports and resets the counters, one measurement at a time.
func (s *courierServer) serveStats(w http.ResponseWriter) {
	_ = json.NewEncoder(w).Encode(stats{Conns: s.conns.Swap(0), MaxInFlight: s.maxFlown.Swap(0)})
}

// runServer is the -serve child: it prints its base URL and serves until
// its standard input closes, that is until the parent is gone.
func runServer(latency time.Duration) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s := &courierServer{latency: latency}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		}}
	fmt.Printf("http://%s\n", ln.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	return srv.Serve(ln)
}

// serverProcess is the parent's handle on the -serve child.
type serverProcess struct {
	url   string
	cmd   *exec.Cmd
	stdin io.Closer
}

func startServer(ctx context.Context, latency time.Duration) (*serverProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this binary for the server: %w", err)
	}
	cmd := exec.CommandContext(ctx, self, "-serve", "-latency", latency.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("server stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("server stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("read the server's address: %w", err)
	}
	return &serverProcess{url: strings.TrimSpace(line), cmd: cmd, stdin: stdin}, nil
}

// stats fetches and resets the server's counters.
func (p *serverProcess) stats() (stats, error) {
	var st stats
	resp, err := http.Get(p.url + "/stats")
	if err != nil {
		return st, fmt.Errorf("server stats: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("server stats: %w", err)
	}
	return st, nil
}

func (p *serverProcess) stop() {
	_ = p.stdin.Close()
	_ = p.cmd.Wait()
}
