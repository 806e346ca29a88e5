package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// token returns check i's OAuth token: the shape of a real one (a shared
// issuer prefix and 48 random characters), the same in the tokenwatch
// configuration and in the bare client.
func token(i int) string {
	r := rand.New(rand.NewPCG(uint64(i), 0x7a11))
	b := make([]byte, 36)
	for j := range b {
		b[j] = byte(r.Uint32())
	}
	return "y0_AgAAAAA" + base64.RawURLEncoding.EncodeToString(b)
}

// runClient is the -client child: the work of a courier check pass with
// nothing around it. n GETs with c in flight over one keep-alive transport
// (the settings of checks.NewTransport, with an idle pool as large as c),
// each with its own 10 s deadline, body read and decoded.
func runClient(base string, n, c int) error {
	if base == "" || n < 1 || c < 1 {
		return fmt.Errorf("-client needs -url, -n and -c")
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        max(256, c),
		MaxIdleConnsPerHost: c,
		IdleConnTimeout:     90 * time.Second,
	}
	client := &http.Client{Transport: tr}
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := get(client, base, token(i)); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("%d of %d requests failed", f, n)
	}
	return nil
}

func get(client *http.Client, base, tok string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/test", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "OAuth "+tok)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	var answer struct{ Message string }
	if err := json.Unmarshal(body, &answer); err != nil || resp.StatusCode != http.StatusOK || answer.Message != "OK" {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
