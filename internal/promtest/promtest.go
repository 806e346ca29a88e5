// Package promtest runs the real Prometheus tools in tests: promtool and a
// Pushgateway from Debian's packages, both installed by `make check`. Tests
// only; every peer listens on 127.0.0.1.
package promtest

import (
	"bytes"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// Tool finds a Prometheus tool, failing the test with the fix when it is missing.
func Tool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: run `make deps` (Debian packages prometheus and prometheus-pushgateway)", name)
	}
	return path
}

// CheckMetrics runs `promtool check metrics` on an exposition; it fails the
// test on any complaint (promtool exits 0 on some lint warnings, so any
// output counts).
func CheckMetrics(t testing.TB, exposition []byte) {
	t.Helper()
	cmd := exec.Command(Tool(t, "promtool"), "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// StartPushgateway starts a Pushgateway on a free loopback port and returns its URL.
func StartPushgateway(t testing.TB) string {
	t.Helper()
	bin := Tool(t, "prometheus-pushgateway")
	addr := testkit.FreeAddr(t)
	cmd := exec.Command(bin, "--web.listen-address="+addr, "--persistence.file=")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := "http://" + addr
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pushgateway did not become ready on %s:\n%s", addr, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Fetch GETs a metrics endpoint and returns its body.
func Fetch(t testing.TB, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return b.Bytes()
}

// Series parses an exposition into "name{labels} value" lines for the
// metrics whose name starts with prefix, without the labels in drop
// (a Pushgateway adds job and instance).
func Series(t testing.TB, exposition []byte, prefix string, drop ...string) map[string]float64 {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(exposition))
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	out := map[string]float64{}
	for name, f := range families {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		for _, m := range f.Metric {
			out[name+labels(m, drop)] = value(m)
		}
	}
	return out
}

func labels(m *dto.Metric, drop []string) string {
	var parts []string
next:
	for _, l := range m.Label {
		for _, d := range drop {
			if l.GetName() == d {
				continue next
			}
		}
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}
