package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/promtest"
	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/notify"
)

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func testChecks() []config.Check {
	return []config.Check{
		{Name: "courier-main", Type: "courier", Spec: checks.CourierSpec{Token: secret.New("y0_metrics-token")}},
		{Name: "partner-acme", Type: "partner_oauth", Spec: checks.PartnerSpec{ClientSecret: secret.New("metrics-client-secret")}},
	}
}

func testReport() *job.Report {
	expires := int64(300)
	return &job.Report{
		Started:  t0,
		Duration: 1500 * time.Millisecond,
		Results: []checks.Result{
			{Check: "courier-main", Type: "courier", Outcome: checks.Invalid, HTTPStatus: 401, Duration: 1200 * time.Millisecond, Started: t0, Fingerprint: secret.Fingerprint("y0_metrics-token")},
			{Check: "partner-acme", Type: "partner_oauth", Outcome: checks.OK, HTTPStatus: 200, Duration: 80 * time.Millisecond, Started: t0, ExpiresIn: &expires, Fingerprint: secret.Fingerprint("metrics-client-secret")},
		},
		Tracks: map[string]alert.Track{
			"courier-main": {Outcome: checks.Invalid, FailuresInRow: 4, LastOK: t0.Add(-time.Hour), LastRun: t0, HTTPStatus: 401},
			"partner-acme": {Outcome: checks.OK, LastOK: t0, LastRun: t0, HTTPStatus: 200},
		},
		Notifications: []job.Notification{
			{Message: notify.Message{Decision: alert.Decision{Kind: alert.KindAlert}}, Notifier: "slack", Delivered: true},
			{Message: notify.Message{Decision: alert.Decision{Kind: alert.KindReminder}}, Notifier: "slack", Error: "down"},
		},
		Totals: []job.Total{
			{Notifier: "slack", Kind: "alert", Result: "sent", Value: 1},
			{Notifier: "slack", Kind: "reminder", Result: "failed", Value: 1},
		},
		Outputs: map[string]job.OutputStatus{
			"textfile":    {LastSuccess: t0.Add(-5 * time.Minute)},
			"pushgateway": {LastSuccess: t0.Add(-10 * time.Minute), LastFailure: t0.Add(-5 * time.Minute)},
		},
		LastSuccess: t0,
		Pending:     1,
	}
}

func TestEverySeriesExistsBeforeTheFirstPass(t *testing.T) {
	m := withSlack(New(testChecks()))
	want := `
# HELP tokenwatch_check_outcome 1 for the check's last outcome, 0 for the other four.
# TYPE tokenwatch_check_outcome gauge
tokenwatch_check_outcome{check="courier-main",outcome="bad_response",type="courier"} 0
tokenwatch_check_outcome{check="courier-main",outcome="forbidden",type="courier"} 0
tokenwatch_check_outcome{check="courier-main",outcome="invalid",type="courier"} 0
tokenwatch_check_outcome{check="courier-main",outcome="ok",type="courier"} 0
tokenwatch_check_outcome{check="courier-main",outcome="unavailable",type="courier"} 0
tokenwatch_check_outcome{check="partner-acme",outcome="bad_response",type="partner_oauth"} 0
tokenwatch_check_outcome{check="partner-acme",outcome="forbidden",type="partner_oauth"} 0
tokenwatch_check_outcome{check="partner-acme",outcome="invalid",type="partner_oauth"} 0
tokenwatch_check_outcome{check="partner-acme",outcome="ok",type="partner_oauth"} 0
tokenwatch_check_outcome{check="partner-acme",outcome="unavailable",type="partner_oauth"} 0
# HELP tokenwatch_check_up 1 when the check's last outcome is ok, else 0.
# TYPE tokenwatch_check_up gauge
tokenwatch_check_up{check="courier-main",type="courier"} 0
tokenwatch_check_up{check="partner-acme",type="partner_oauth"} 0
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "tokenwatch_check_up", "tokenwatch_check_outcome"); err != nil {
		t.Error(err)
	}
	// The last success is unknown before a pass: absent, never 0.
	if n, _ := testutil.GatherAndCount(m.Registry, "tokenwatch_run_last_success_timestamp_seconds"); n != 0 {
		t.Errorf("last success exported before it is known")
	}
}

func TestReportSetsTheSeries(t *testing.T) {
	m := withSlack(New(testChecks()))
	if err := m.Report(context.Background(), testReport()); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP tokenwatch_check_up 1 when the check's last outcome is ok, else 0.
# TYPE tokenwatch_check_up gauge
tokenwatch_check_up{check="courier-main",type="courier"} 0
tokenwatch_check_up{check="partner-acme",type="partner_oauth"} 1
# HELP tokenwatch_check_http_status HTTP status of the check's last answer; 0 when there was none.
# TYPE tokenwatch_check_http_status gauge
tokenwatch_check_http_status{check="courier-main",type="courier"} 401
tokenwatch_check_http_status{check="partner-acme",type="partner_oauth"} 200
# HELP tokenwatch_check_failures_in_row Consecutive results that were not ok.
# TYPE tokenwatch_check_failures_in_row gauge
tokenwatch_check_failures_in_row{check="courier-main",type="courier"} 4
tokenwatch_check_failures_in_row{check="partner-acme",type="partner_oauth"} 0
# HELP tokenwatch_partner_token_expires_in_seconds expires_in of the last token a partner issued.
# TYPE tokenwatch_partner_token_expires_in_seconds gauge
tokenwatch_partner_token_expires_in_seconds{check="partner-acme"} 300
# HELP tokenwatch_notifications_total Notifications by notifier, kind and result (sent, failed), cumulative since the state began.
# TYPE tokenwatch_notifications_total counter
tokenwatch_notifications_total{kind="alert",notifier="slack",result="failed"} 0
tokenwatch_notifications_total{kind="alert",notifier="slack",result="sent"} 1
tokenwatch_notifications_total{kind="egress",notifier="slack",result="failed"} 0
tokenwatch_notifications_total{kind="egress",notifier="slack",result="sent"} 0
tokenwatch_notifications_total{kind="flapping",notifier="slack",result="failed"} 0
tokenwatch_notifications_total{kind="flapping",notifier="slack",result="sent"} 0
tokenwatch_notifications_total{kind="notice",notifier="slack",result="failed"} 0
tokenwatch_notifications_total{kind="notice",notifier="slack",result="sent"} 0
tokenwatch_notifications_total{kind="reminder",notifier="slack",result="failed"} 1
tokenwatch_notifications_total{kind="reminder",notifier="slack",result="sent"} 0
tokenwatch_notifications_total{kind="resolved",notifier="slack",result="failed"} 0
tokenwatch_notifications_total{kind="resolved",notifier="slack",result="sent"} 0
tokenwatch_notifications_total{kind="rotate",notifier="slack",result="failed"} 0
tokenwatch_notifications_total{kind="rotate",notifier="slack",result="sent"} 0
tokenwatch_notifications_total{kind="tls_expiry",notifier="slack",result="failed"} 0
tokenwatch_notifications_total{kind="tls_expiry",notifier="slack",result="sent"} 0
# HELP tokenwatch_notifications_pending Messages not delivered yet, kept for the next run. Absent until known.
# TYPE tokenwatch_notifications_pending gauge
tokenwatch_notifications_pending 1
# HELP tokenwatch_run_last_success_timestamp_seconds When a pass last delivered everything it had to (Unix time). Absent until known.
# TYPE tokenwatch_run_last_success_timestamp_seconds gauge
tokenwatch_run_last_success_timestamp_seconds 1.7952516e+09
`
	names := []string{"tokenwatch_check_up", "tokenwatch_check_http_status", "tokenwatch_check_failures_in_row",
		"tokenwatch_partner_token_expires_in_seconds", "tokenwatch_notifications_total", "tokenwatch_notifications_pending",
		"tokenwatch_run_last_success_timestamp_seconds"}
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if v := sample(t, m, "tokenwatch_check_outcome", "courier-main", "invalid"); v != 1 {
		t.Errorf("outcome invalid = %v", v)
	}
	if v := sample(t, m, "tokenwatch_check_last_ok_timestamp_seconds", "courier-main"); v != float64(t0.Add(-time.Hour).Unix()) {
		t.Errorf("last ok = %v", v)
	}
}

// Each run is a new process: the counts come from the state's totals, so
// five failed deliveries over five runs read 1, 2, 3, 4, 5 in the textfile
// and the Pushgateway, never 1, 0, 1 (issue 9, item 3).
func TestNotificationsTotalIsCumulativeAcrossRuns(t *testing.T) {
	for run := 1; run <= 5; run++ {
		m := withSlack(New(testChecks()))
		rep := testReport()
		rep.Notifications = rep.Notifications[1:] // this run: one failed reminder
		rep.Totals = []job.Total{
			{Notifier: "slack", Kind: "alert", Result: "sent", Value: 1},
			{Notifier: "slack", Kind: "reminder", Result: "failed", Value: float64(run)},
			{Notifier: "alertmanager", Kind: "alert", Result: "sent", Value: 7},
		}
		if err := m.Report(context.Background(), rep); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(`
# HELP tokenwatch_notifications_total Notifications by notifier, kind and result (sent, failed), cumulative since the state began.
# TYPE tokenwatch_notifications_total counter
tokenwatch_notifications_total{kind="alert",notifier="alertmanager",result="sent"} 7
tokenwatch_notifications_total{kind="alert",notifier="slack",result="failed"} 0
tokenwatch_notifications_total{kind="alert",notifier="slack",result="sent"} 1
tokenwatch_notifications_total{kind="egress",notifier="slack",result="failed"} 0
tokenwatch_notifications_total{kind="egress",notifier="slack",result="sent"} 0
tokenwatch_notifications_total{kind="flapping",notifier="slack",result="failed"} 0
tokenwatch_notifications_total{kind="flapping",notifier="slack",result="sent"} 0
tokenwatch_notifications_total{kind="notice",notifier="slack",result="failed"} 0
tokenwatch_notifications_total{kind="notice",notifier="slack",result="sent"} 0
tokenwatch_notifications_total{kind="reminder",notifier="slack",result="failed"} %d
tokenwatch_notifications_total{kind="reminder",notifier="slack",result="sent"} 0
tokenwatch_notifications_total{kind="resolved",notifier="slack",result="failed"} 0
tokenwatch_notifications_total{kind="resolved",notifier="slack",result="sent"} 0
tokenwatch_notifications_total{kind="rotate",notifier="slack",result="failed"} 0
tokenwatch_notifications_total{kind="rotate",notifier="slack",result="sent"} 0
tokenwatch_notifications_total{kind="tls_expiry",notifier="slack",result="failed"} 0
tokenwatch_notifications_total{kind="tls_expiry",notifier="slack",result="sent"} 0
`, run)
		if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "tokenwatch_notifications_total"); err != nil {
			t.Errorf("run %d: %v", run, err)
		}
	}
}

// Every kind of message the contract lists has its series at 0 for every
// configured notifier before anything was sent: increase() sees the first
// failed rotate or tls_expiry message, which a series born at 1 hides.
func TestNotificationsTotalDeclaresEveryKind(t *testing.T) {
	m := New(testChecks())
	m.SetNotifiers([]string{"slack", "alertmanager"})
	for _, n := range []string{"slack", "alertmanager"} {
		for _, kind := range []string{"alert", "reminder", "resolved", "flapping", "egress", "rotate", "tls_expiry", "notice"} {
			for _, result := range []string{"sent", "failed"} {
				if v := sample(t, m, "tokenwatch_notifications_total", n, kind, result); v != 0 {
					t.Errorf("notifications_total{notifier=%q,kind=%q,result=%q} = %v, want 0", n, kind, result, v)
				}
			}
		}
	}
}

// serve reports pass after pass into one registry: the series follow the
// totals and never go back, even for a pass whose totals lack a series.
func TestNotificationsTotalFollowsTheTotalsInServe(t *testing.T) {
	m := withSlack(NewServe(testChecks()))
	for _, v := range []float64{2, 3, 3} {
		rep := testReport()
		rep.Totals = []job.Total{{Notifier: "slack", Kind: "alert", Result: "sent", Value: v}}
		_ = m.Report(context.Background(), rep)
	}
	rep := testReport()
	rep.Totals = nil
	_ = m.Report(context.Background(), rep)
	series := promtest.Series(t, gather(t, m), "tokenwatch_notifications_total")
	if v := series[`tokenwatch_notifications_total{kind="alert",notifier="slack",result="sent"}`]; v != 3 {
		t.Errorf("alert sent = %v, want 3; all: %v", v, series)
	}
}

// A failed push is visible in the next write: each output's last success
// and failure, as the pass knew them when it began (issue 9, item 1).
func TestOutputStatusIsExported(t *testing.T) {
	m := withSlack(New(testChecks()))
	if err := m.Report(context.Background(), testReport()); err != nil {
		t.Fatal(err)
	}
	got := promtest.Series(t, gather(t, m), "tokenwatch_output_")
	want := map[string]float64{
		`tokenwatch_output_last_success_timestamp_seconds{output="textfile"}`:    float64(t0.Add(-5 * time.Minute).Unix()),
		`tokenwatch_output_last_failure_timestamp_seconds{output="textfile"}`:    0,
		`tokenwatch_output_last_success_timestamp_seconds{output="pushgateway"}`: float64(t0.Add(-10 * time.Minute).Unix()),
		`tokenwatch_output_last_failure_timestamp_seconds{output="pushgateway"}`: float64(t0.Add(-5 * time.Minute).Unix()),
	}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for series, v := range want {
		if g, ok := got[series]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", series, g, ok, v)
		}
	}

	// A run that could not read the state knows no status: it exports none,
	// so a Pushgateway POST keeps the statuses pushed before.
	next := withSlack(New(testChecks()))
	unknown := testReport()
	unknown.Outputs = nil
	_ = next.Report(context.Background(), unknown)
	if n, _ := testutil.GatherAndCount(next.Registry, "tokenwatch_output_last_success_timestamp_seconds", "tokenwatch_output_last_failure_timestamp_seconds"); n != 0 {
		t.Errorf("%d output status series exported while unknown", n)
	}
}

// gather renders the registry as the text exposition.
func gather(t *testing.T, m *Metrics) []byte {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	defer srv.Close()
	return promtest.Fetch(t, srv.URL)
}

func TestLint(t *testing.T) {
	for name, m := range map[string]*Metrics{"run": withSlack(New(testChecks())), "serve": withSlack(NewServe(testChecks()))} {
		if err := m.Report(context.Background(), testReport()); err != nil {
			t.Fatal(err)
		}
		problems, err := testutil.GatherAndLint(m.Registry)
		if err != nil || len(problems) > 0 {
			t.Errorf("%s: lint problems %v %v", name, problems, err)
		}
	}
}

func TestRotatedSecretKeepsOneTokenInfo(t *testing.T) {
	m := withSlack(New(testChecks()))
	rep := testReport()
	rep.Results[0].Fingerprint = "0badc0de"
	_ = m.Report(context.Background(), rep)
	if n := count(t, m, "tokenwatch_token_info"); n != 2 {
		t.Errorf("%d token_info series for 2 checks after a rotation", n)
	}
}

func TestRemovedCheckLosesItsSeries(t *testing.T) {
	m := withSlack(NewServe(testChecks()))
	_ = m.Report(context.Background(), testReport())
	m.SetChecks(testChecks()[:1])
	if n := count(t, m, "tokenwatch_check_up"); n != 1 {
		t.Errorf("%d up series after removing a check, want 1", n)
	}
	if n := count(t, m, "tokenwatch_check_outcome"); n != 5 {
		t.Errorf("%d outcome series for one check, want 5", n)
	}
}

// The textfile, /metrics and the Pushgateway carry the same series for the
// same results; promtool accepts the exposition; a failed run's push keeps
// the last success the gateway had.
func TestThreeOutputsCarryTheSameSeries(t *testing.T) {
	gateway := promtest.StartPushgateway(t)
	m := withSlack(New(testChecks()))
	rep := testReport()
	if err := m.Report(context.Background(), rep); err != nil {
		t.Fatal(err)
	}
	textfile := filepath.Join(t.TempDir(), "tokenwatch.prom")
	outputs := []job.Output{&Textfile{Path: textfile, Gatherer: m.Registry}, &Pushgateway{URL: gateway, Job: "tokenwatch", Gatherer: m.Registry}}
	for _, out := range outputs {
		if err := out.Report(context.Background(), rep); err != nil {
			t.Fatalf("%s: %v", out.Name(), err)
		}
	}
	fileText, err := os.ReadFile(textfile)
	if err != nil {
		t.Fatal(err)
	}
	promtest.CheckMetrics(t, fileText)

	srv := httptest.NewServer(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	defer srv.Close()
	scraped := promtest.Fetch(t, srv.URL)
	promtest.CheckMetrics(t, scraped)
	pushed := promtest.Fetch(t, gateway+"/metrics")

	fromFile := promtest.Series(t, fileText, "tokenwatch_")
	fromScrape := promtest.Series(t, scraped, "tokenwatch_")
	fromGateway := promtest.Series(t, pushed, "tokenwatch_", "job", "instance")
	if len(fromFile) < 30 {
		t.Fatalf("only %d series in the textfile", len(fromFile))
	}
	for series, v := range fromFile {
		if fromScrape[series] != v {
			t.Errorf("/metrics %s = %v, textfile %v", series, fromScrape[series], v)
		}
		if g, ok := fromGateway[series]; !ok || g != v {
			t.Errorf("pushgateway %s = %v (present %v), textfile %v", series, g, ok, v)
		}
	}
	if len(fromGateway) != len(fromFile) || len(fromScrape) != len(fromFile) {
		t.Errorf("series: textfile %d, /metrics %d, pushgateway %d", len(fromFile), len(fromScrape), len(fromGateway))
	}

	// The next run (a new process) cannot take the state: it knows no last
	// success, pushes without one, and the gateway keeps the one it had.
	next := withSlack(New(testChecks()))
	failed := testReport()
	failed.LastSuccess, failed.Failures, failed.Pending = time.Time{}, []string{"state: locked"}, -1
	_ = next.Report(context.Background(), failed)
	if err := (&Pushgateway{URL: gateway, Job: "tokenwatch", Gatherer: next.Registry}).Report(context.Background(), failed); err != nil {
		t.Fatal(err)
	}
	after := promtest.Series(t, promtest.Fetch(t, gateway+"/metrics"), "tokenwatch_run_last_success", "job", "instance")
	if after["tokenwatch_run_last_success_timestamp_seconds{}"] != float64(t0.Unix()) {
		t.Errorf("a failed run's push changed the last success: %v", after)
	}
}

func TestPushgatewayDownFailsQuickly(t *testing.T) {
	m := withSlack(New(testChecks()))
	p := &Pushgateway{URL: "http://" + closedAddr(t), Job: "tokenwatch", Gatherer: m.Registry}
	if err := p.Report(context.Background(), testReport()); err == nil {
		t.Fatal("push to a closed port succeeded")
	}
}

func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// sample is the value of the series of family name whose label values
// include every one of values; it fails the test when there is none.
func sample(t *testing.T, m *Metrics, name string, values ...string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, metric := range f.GetMetric() {
			have := map[string]bool{}
			for _, l := range metric.GetLabel() {
				have[l.GetValue()] = true
			}
			for _, v := range values {
				if !have[v] {
					continue next
				}
			}
			if c := metric.GetCounter(); c != nil {
				return c.GetValue()
			}
			return metric.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s with %v", name, values)
	return 0
}

// count is how many series family name has.
func count(t *testing.T, m *Metrics, name string) int {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return len(f.GetMetric())
		}
	}
	return 0
}

// withSlack is m with Slack configured, as buildJob declares it.
func withSlack(m *Metrics) *Metrics {
	m.SetNotifiers([]string{"slack"})
	return m
}

// tokenwatch_check_info is 1 for every configured check, from the first
// gather on, with its team and owner ("" when unset), and follows an edited
// configuration.
func TestCheckInfoForEveryCheck(t *testing.T) {
	list := testChecks()
	list[1].Team, list[1].Owner = "partners", `@acme-integration "Ann"`
	m := New(list)
	want := `
# HELP tokenwatch_check_info 1 for every configured check, labelled with its team and owner ("" when unset): a join target for dashboards.
# TYPE tokenwatch_check_info gauge
tokenwatch_check_info{check="courier-main",owner="",team="",type="courier"} 1
tokenwatch_check_info{check="partner-acme",owner="@acme-integration \"Ann\"",team="partners",type="partner_oauth"} 1
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "tokenwatch_check_info"); err != nil {
		t.Error(err)
	}
	list[1].Owner = "@acme-oncall"
	m.SetChecks(list)
	want = strings.Replace(want, `owner="@acme-integration \"Ann\""`, `owner="@acme-oncall"`, 1)
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "tokenwatch_check_info"); err != nil {
		t.Errorf("after an edit: %v", err)
	}
}

// A broken notifier is visible: up 0 after a failed delivery, its errors
// counted by reason, every reason present at 0 from the start.
func TestNotifierHealthIsExported(t *testing.T) {
	m := withSlack(New(testChecks()))
	if n := count(t, m, "tokenwatch_notifier_up"); n != 0 {
		t.Errorf("%d notifier_up series before any delivery was tried, want none", n)
	}
	if v := sample(t, m, "tokenwatch_notifier_errors_total", "slack", "transient"); v != 0 {
		t.Errorf("transient errors %v before any, want a series at 0", v)
	}
	rep := testReport()
	rep.Notifiers = map[string]bool{"slack": false}
	rep.NotifierErrors = []job.NotifierError{{Notifier: "slack", Reason: "permanent", Value: 3}}
	if err := m.Report(context.Background(), rep); err != nil {
		t.Fatal(err)
	}
	if v := sample(t, m, "tokenwatch_notifier_up", "slack"); v != 0 {
		t.Errorf("notifier_up %v after a failed delivery, want 0", v)
	}
	if v := sample(t, m, "tokenwatch_notifier_errors_total", "slack", "permanent"); v != 3 {
		t.Errorf("permanent errors %v, want 3", v)
	}
}
