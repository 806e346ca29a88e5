package checks

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRunAll runs 1,000 courier checks at concurrency 50 against a
// loopback server that answers after 50 ms. The ideal wall time is
// 1,000 / 50 x 50 ms = 1 s; the benchmark reports the ratio to it, the TCP
// connections the server accepted and the bytes allocated per check.
//
//	go test -run '^$' -bench RunAll -benchtime 3x ./checks/
func BenchmarkRunAll(b *testing.B) {
	const (
		n           = 1000
		concurrency = 50
		latency     = 50 * time.Millisecond
	)
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(latency)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"message":"OK"}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	target := testTarget(b, 5*time.Second)
	list := make([]Check, n)
	for i := range list {
		c := newCourier(b, srv.URL)
		c.Target = target
		list[i] = c
	}
	ideal := time.Duration(n/concurrency) * latency

	var mem0, mem1 runtime.MemStats
	b.ResetTimer()
	var wall time.Duration
	conns.Store(0)
	runtime.ReadMemStats(&mem0)
	for i := 0; i < b.N; i++ {
		start := time.Now()
		results := RunAll(context.Background(), list, concurrency)
		wall += time.Since(start)
		for _, r := range results {
			if r.Outcome != OK {
				b.Fatalf("check %s: %s %s", r.Check, r.Outcome, r.Detail)
			}
		}
	}
	runtime.ReadMemStats(&mem1)
	b.StopTimer()
	perRun := wall / time.Duration(b.N)
	b.ReportMetric(perRun.Seconds(), "wall-s/run")
	b.ReportMetric(float64(perRun)/float64(ideal), "x-ideal")
	b.ReportMetric(float64(conns.Load())/float64(b.N), "tcp-conns/run")
	b.ReportMetric(float64(mem1.TotalAlloc-mem0.TotalAlloc)/float64(b.N*n), "B/check")
}
