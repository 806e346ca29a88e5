package deploy

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"
)

// TestEndToEnd proves the shipped rules and dashboard against the real
// thing: every rule's cause is made to happen in one of the three setups
// (serve scraped, run pushing to a Pushgateway, run writing a textfile read
// by node_exporter), the rule fires in Prometheus, reaches the Alertmanager's
// receiver with its summary and runbook, resolves when the cause ends, and
// no other rule fires for that installation meanwhile. Every installation
// is its own job/instance, side by side in one Prometheus: one healthy
// installation must not hide another's failure.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts Prometheus, Alertmanager, Pushgateway and node_exporter")
	}
	started := time.Now()
	serveCases := []string{"invalid", "down", "reload", "skipped", "dashboard"}
	serveAddr := map[string]string{}
	var targets []string
	for _, name := range serveCases {
		serveAddr[name] = freeAddr(t)
		targets = append(targets, serveAddr[name])
	}
	textfiles := []string{"broke", "slack", "heartbeat", "unreadable", "stopped", "nodedown"}
	s := newStack(t, targets, textfiles)
	t.Logf("stack ready in %s", time.Since(started).Round(time.Millisecond))

	serve := func(t *testing.T, name string, cfg tokenwatchConfig) (*server, *watch) {
		srv := newServer(t, serveAddr[name], cfg)
		return srv, s.watch(installation{job: "tokenwatch", instance: srv.addr})
	}
	push := func(t *testing.T, job, gateway string, cfg tokenwatchConfig) (*runner, *watch) {
		cfg.pushURL, cfg.pushJob = gateway, job
		return newRunner(t, cfg), s.watch(installation{job: job})
	}
	textfile := func(t *testing.T, name string, cfg tokenwatchConfig) (*runner, *watch) {
		n := s.nodeExporter[name]
		cfg.textfile = filepath.Join(n.dir, "tokenwatch.prom")
		return newRunner(t, cfg), s.watch(installation{job: "node", instance: n.addr})
	}
	// seen waits until Prometheus has the installation's series.
	seen := func(t *testing.T, w *watch) {
		s.waitQuery(t, fmt.Sprintf(`tokenwatch_build_info{job=%q,instance=%q}`, w.in.job, w.in.instance))
	}
	// cause makes a cause happen, waits for its rule to fire and reach the
	// receiver, ends the cause, waits for the rule to resolve, and checks
	// that no other rule fired (allowed: rules that fire for their own
	// cause in the same story).
	cause := func(t *testing.T, w *watch, rule string, begin, end func(), allowed ...string) {
		t.Helper()
		begin()
		w.fires(t, rule)
		s.received(t, w.in, rule)
		end()
		w.resolves(t, rule)
		w.onlyFired(t, append(allowed, rule)...)
	}

	// The cases wait on Prometheus most of the time: all of them run at
	// once, whatever -parallel (GOMAXPROCS by default) allows.
	var cases sync.WaitGroup
	run := func(name string, fn func(t *testing.T)) { cases.Go(func() { t.Run(name, fn) }) }
	run("serve/CredentialInvalid", func(t *testing.T) {
		courier := fakeCourier(t, "ok")
		_, w := serve(t, "invalid", tokenwatchConfig{courier: courier})
		seen(t, w)
		cause(t, w, "TokenwatchCredentialInvalid", func() { courier.set("invalid") }, func() { courier.set("ok") })
	})
	run("serve/Down", func(t *testing.T) {
		srv, w := serve(t, "down", tokenwatchConfig{courier: fakeCourier(t, "ok")})
		seen(t, w)
		cause(t, w, "TokenwatchDown", srv.proc.stop, func() { srv.start(t) })
	})
	run("serve/ConfigReloadFailed", func(t *testing.T) {
		srv, w := serve(t, "reload", tokenwatchConfig{courier: fakeCourier(t, "ok")})
		seen(t, w)
		good, err := os.ReadFile(srv.config)
		if err != nil {
			t.Fatal(err)
		}
		cause(t, w, "TokenwatchConfigReloadFailed", func() {
			writeFile(t, srv.config, string(good)+"no_such_key: true\n")
			srv.reload(t)
		}, func() {
			writeFile(t, srv.config, string(good))
			srv.reload(t)
		})
	})
	run("serve/ChecksSkipped", func(t *testing.T) {
		courier := fakeCourier(t, "ok")
		_, w := serve(t, "skipped", tokenwatchConfig{courier: courier, schedule: "@every 1s"})
		seen(t, w)
		cause(t, w, "TokenwatchChecksSkipped", func() { courier.set("slow") }, func() { courier.set("ok") })
	})

	// Item 7: the forbidden rule outside serve.
	run("push/CredentialForbidden", func(t *testing.T) {
		courier := fakeCourier(t, "ok")
		_, w := push(t, "tw-forbidden", s.gateway, tokenwatchConfig{courier: courier})
		seen(t, w)
		cause(t, w, "TokenwatchCredentialForbidden", func() { courier.set("forbidden") }, func() { courier.set("ok") })
	})
	run("push/EndpointUnavailable", func(t *testing.T) {
		courier := fakeCourier(t, "ok")
		_, w := push(t, "tw-unavailable", s.gateway, tokenwatchConfig{courier: courier})
		seen(t, w)
		cause(t, w, "TokenwatchEndpointUnavailable", func() { courier.set("unavailable") }, func() { courier.set("ok") })
	})
	// Item 2: a job that stops after delivering everything is not
	// running, nothing else; item 4: the alert names the pushed job.
	run("push/NotRunning", func(t *testing.T) {
		r, w := push(t, "tw-stopped", s.gateway, tokenwatchConfig{courier: fakeCourier(t, "ok")})
		seen(t, w)
		cause(t, w, "TokenwatchNotRunning", func() { r.pause(true) }, func() { r.pause(false) })
	})
	run("push/PushRejected", func(t *testing.T) {
		// Another group holds a metric of tokenwatch's with another
		// type; tokenwatch pushes it once the partner's tokens carry
		// expires_in.
		conflict := s.rejectingGW + "/metrics/job/conflict"
		gatewayRequest(t, "PUT", conflict, "# TYPE tokenwatch_partner_token_expires_in_seconds counter\ntokenwatch_partner_token_expires_in_seconds 1\n")
		partner := fakePartner(t, "plain")
		_, w := push(t, "tw-rejected", s.rejectingGW, tokenwatchConfig{partner: partner})
		seen(t, w)
		cause(t, w, "TokenwatchPushRejected", func() { partner.set("expires") }, func() { gatewayRequest(t, "DELETE", conflict, "") })
	})

	// Item 7: a broken contract seen through a textfile.
	run("textfile/EndpointBrokeContract", func(t *testing.T) {
		courier := fakeCourier(t, "ok")
		_, w := textfile(t, "broke", tokenwatchConfig{courier: courier})
		seen(t, w)
		cause(t, w, "TokenwatchEndpointBrokeContract", func() { courier.set("bad_response") }, func() { courier.set("ok") })
	})
	// Item 7: a Slack failure in the textfile setup; item 3: the
	// counters it moves only grow from run to run. Needs the job's
	// cumulative Totals.
	run("textfile/NotificationsFailing", func(t *testing.T) {
		courier, slack := fakeCourier(t, "ok"), fakeStatus(t, "ok")
		_, w := textfile(t, "slack", tokenwatchConfig{courier: courier, slack: slack})
		seen(t, w)
		sel := fmt.Sprintf(`job=%q,instance=%q`, w.in.job, w.in.instance)
		cause(t, w, "TokenwatchNotificationsFailing", func() {
			slack.set("down")
			courier.set("invalid") // the alert that cannot be delivered
			w.fires(t, "TokenwatchCredentialInvalid")
			courier.set("ok") // and its resolution waits as well
			w.resolves(t, "TokenwatchCredentialInvalid")
		}, func() {
			s.waitQuery(t, fmt.Sprintf(`tokenwatch_notifications_total{%s,notifier="slack",result="failed"} >= 3`, sel))
			if n, err := s.query(t, fmt.Sprintf(`resets(tokenwatch_notifications_total{%s}[5m]) > 0`, sel)); err != nil || n != 0 {
				t.Errorf("tokenwatch_notifications_total went back in %d series (%v): counters restart in every run", n, err)
			}
			slack.set("ok")
		}, "TokenwatchCredentialInvalid")
	})
	// Item 1: runs go on, but the heartbeat fails: the runs do not
	// succeed, and the textfile says which output fails. Needs the job's
	// per-output status and LastSuccess after the outputs.
	run("textfile/RunsNotDelivering", func(t *testing.T) {
		heartbeat := fakeStatus(t, "ok")
		_, w := textfile(t, "heartbeat", tokenwatchConfig{courier: fakeCourier(t, "ok"), heartbeat: heartbeat})
		seen(t, w)
		cause(t, w, "TokenwatchRunsNotDelivering", func() { heartbeat.set("down") }, func() { heartbeat.set("ok") })
	})
	run("textfile/TextfileUnreadable", func(t *testing.T) {
		r, w := textfile(t, "unreadable", tokenwatchConfig{courier: fakeCourier(t, "ok")})
		seen(t, w)
		file := filepath.Join(s.nodeExporter["unreadable"].dir, "tokenwatch.prom")
		cause(t, w, "TokenwatchTextfileUnreadable", func() {
			r.pause(true) // a file copied by hand, cut short
			writeFile(t, file, "# TYPE tokenwatch_check_up gauge\ntokenwatch_check_up{check=\"courier-main\"")
		}, func() { r.pause(false) })
	})
	run("textfile/NotRunning", func(t *testing.T) {
		r, w := textfile(t, "stopped", tokenwatchConfig{courier: fakeCourier(t, "ok")})
		seen(t, w)
		cause(t, w, "TokenwatchNotRunning", func() { r.pause(true) }, func() { r.pause(false) })
	})
	run("textfile/Down", func(t *testing.T) {
		_, w := textfile(t, "nodedown", tokenwatchConfig{courier: fakeCourier(t, "ok")})
		seen(t, w)
		n := s.nodeExporter["nodedown"]
		cause(t, w, "TokenwatchDown", n.proc.stop, func() { n.start(t) })
	})

	// Item 1, read where the issue saw it: run B's push fails, so
	// neither B's textfile nor the push of the next run C may call B a
	// success, and C's outputs name the push that failed. Needs the
	// job's LastSuccess after the outputs and per-output status.
	run("push/LastSuccessIsTheLastSuccess", func(t *testing.T) {
		proxy := failingProxy(t, s.gateway)
		dir := t.TempDir()
		cfg := tokenwatchConfig{courier: fakeCourier(t, "ok"), textfile: filepath.Join(dir, "tokenwatch.prom"),
			pushURL: proxy.URL, pushJob: "tw-lastsuccess"}
		config := filepath.Join(dir, "config.yaml")
		writeFile(t, config, cfg.render(filepath.Join(dir, "state.json")))
		if code := runOnce(t, config); code != 0 {
			t.Fatalf("run A exited %d", code)
		}
		proxy.set("down")
		if code := runOnce(t, config); code != 3 {
			t.Fatalf("run B, its push refused with 503, exited %d, want 3", code)
		}
		b := readSeries(t, readFileBytes(t, cfg.textfile), "")
		startB := b["tokenwatch_run_last_timestamp_seconds"]
		if b["tokenwatch_run_last_success_timestamp_seconds"] >= startB {
			t.Errorf("run B's textfile shows a success at %v, B started at %v, and its push failed", b["tokenwatch_run_last_success_timestamp_seconds"], startB)
		}
		proxy.set("up")
		if code := runOnce(t, config); code != 0 {
			t.Fatalf("run C exited %d", code)
		}
		gw := readSeries(t, gatewayRequest(t, "GET", s.gateway+"/metrics", ""), `job="tw-lastsuccess"`)
		if gw["tokenwatch_run_last_success_timestamp_seconds"] >= startB {
			t.Errorf("the gateway shows a success at %v after run C; run B (started %v) failed its push", gw["tokenwatch_run_last_success_timestamp_seconds"], startB)
		}
		c := readSeries(t, readFileBytes(t, cfg.textfile), `output="pushgateway"`)
		if c["tokenwatch_output_last_failure_timestamp_seconds"] < startB {
			t.Errorf("run C's textfile shows the push's last failure at %v, before run B (%v) whose push failed", c["tokenwatch_output_last_failure_timestamp_seconds"], startB)
		}
	})

	// Every dashboard query, its variables set to one installation,
	// returns data from the live Prometheus.
	run("dashboard", func(t *testing.T) {
		// A notifier is configured: the notification panel shows its counts.
		// The partner speaks https: the TLS panel has its certificate.
		partner, partnerCA := fakeTLSPartner(t)
		_, w := serve(t, "dashboard", tokenwatchConfig{courier: fakeCourier(t, "ok"), partner: partner, partnerCA: partnerCA, slack: fakeStatus(t, "ok")})
		seen(t, w)
		vars := strings.NewReplacer("$job", w.in.job, "$instance", w.in.instance, "$check", ".*", "$__rate_interval", "1m")
		for where, expr := range dashboardExprs(t) {
			if strings.HasPrefix(where, "dashboard variable") {
				continue // label_values() is Grafana's, not PromQL
			}
			s.waitQuery(t, vars.Replace(expr))
		}
	})
	cases.Wait()
	t.Logf("end to end: %s", time.Since(started).Round(time.Millisecond))
}

// waitQuery polls until the PromQL expression returns at least one series.
func (s *stack) waitQuery(t *testing.T, expr string) {
	t.Helper()
	if !eventually(e2eDeadline, 250*time.Millisecond, func() bool {
		n, err := s.query(t, expr)
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	}) {
		t.Fatalf("no data within %s for %s", e2eDeadline, expr)
	}
}

// gatewayRequest sends one request to a Pushgateway and returns the body.
func gatewayRequest(t *testing.T, method, url, body string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s: %s", method, url, resp.Status, out)
	}
	return out
}

func readFileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readSeries parses an exposition: each metric's value in the first series
// whose labels contain the given `name="value"` (any when empty).
func readSeries(t *testing.T, exposition []byte, label string) map[string]float64 {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(exposition)))
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var pairs []string
			for _, l := range m.GetLabel() {
				pairs = append(pairs, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			if label != "" && !strings.Contains(strings.Join(pairs, ","), label) {
				continue
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
			out[name] = v
			break
		}
	}
	return out
}

// The runbook link of every rule leads to a section of docs/runbooks.md.
func TestEveryRuleHasARunbook(t *testing.T) {
	doc, err := os.ReadFile("../docs/runbooks.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "## ") {
			anchors[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(line, "## ")))] = true
		}
	}
	for alert, rule := range ruleAnnotations(t) {
		link := rule["runbook_url"]
		const base = "https://github.com/tokenwatch/tokenwatch/blob/main/docs/runbooks.md#"
		if !strings.HasPrefix(link, base) || strings.TrimPrefix(link, base) != strings.ToLower(alert) {
			t.Errorf("%s: runbook_url %q, want %s%s", alert, link, base, strings.ToLower(alert))
		}
		if !anchors[strings.ToLower(alert)] {
			t.Errorf("%s: docs/runbooks.md has no section `## %s`", alert, alert)
		}
		if rule["summary"] == "" || rule["description"] == "" {
			t.Errorf("%s: summary and description are required", alert)
		}
	}
}

func ruleAnnotations(t *testing.T) map[string]map[string]string {
	t.Helper()
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `json:"alert"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	}
	data, err := os.ReadFile("prometheus/tokenwatch-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out[r.Alert] = r.Annotations
		}
	}
	return out
}

// The e2e scaling touches time thresholds only.
func TestScaleRules(t *testing.T) {
	in := "        expr: time() - max by (job) (x) > 600 and y > 0 and z == 1 and rate(w[15m]) > 0\n        for: 30m\n"
	want := "        expr: time() - max by (job) (x) > 6 and y > 0 and z == 1 and rate(w[9000ms]) > 0\n        for: 18000ms\n"
	if got := scaleRules(in); got != want {
		t.Errorf("scaleRules:\n got %q\nwant %q", got, want)
	}
}
