package metrics

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/secret"
)

var lifecycleNames = []string{"tokenwatch_credential_first_seen_timestamp_seconds", "tokenwatch_credential_issued_timestamp_seconds",
	"tokenwatch_credential_rotate_after_seconds", "tokenwatch_tls_cert_not_after_timestamp_seconds"}

// TestLifecycleSeries: absolute timestamps as the state holds them. The
// courier's issued_at belongs to its current secret, so it is the issued
// time; the partner's belongs to an earlier secret, so its first
// sighting is; rotate_after is exported where configured; not_after only
// for the endpoint that showed a certificate; nothing before it is known.
func TestLifecycleSeries(t *testing.T) {
	list := testChecks()
	list[0].RotateAfter = 2160 * time.Hour
	m := withSlack(New(list))
	before := `
# HELP tokenwatch_credential_rotate_after_seconds The check's rotate_after: the secret's maximum age. Absent when none is configured.
# TYPE tokenwatch_credential_rotate_after_seconds gauge
tokenwatch_credential_rotate_after_seconds{check="courier-main",type="courier"} 7.776e+06
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(before), lifecycleNames...); err != nil {
		t.Errorf("before the first pass: %v", err)
	}
	courierFP, partnerFP := secret.Fingerprint("y0_metrics-token"), secret.Fingerprint("metrics-client-secret")
	rep := testReport()
	rep.Lifecycles = map[string]alert.Lifecycle{
		"courier-main": {
			Sightings: []alert.Sighting{{Fingerprint: "0ldc0de0", FirstSeen: t0.Add(-300 * 24 * time.Hour)}, {Fingerprint: courierFP, FirstSeen: t0.Add(-10 * 24 * time.Hour)}},
			IssuedAt:  t0.Add(-100 * 24 * time.Hour), IssuedFingerprint: courierFP,
			Certs: []alert.CertWatch{{Host: "courier.yandex.ru", Fingerprint: "c0ffee42", NotAfter: t0.Add(5 * 24 * time.Hour), LastSeen: t0}},
		},
		"partner-acme": {
			Sightings: []alert.Sighting{{Fingerprint: partnerFP, FirstSeen: t0.Add(-24 * time.Hour)}},
			IssuedAt:  t0.Add(-100 * 24 * time.Hour), IssuedFingerprint: "0ldc0de0",
		},
	}
	rep.Totals = append(rep.Totals, job.Total{Notifier: "slack", Kind: "rotate", Result: "sent", Value: 1},
		job.Total{Notifier: "slack", Kind: "tls_expiry", Result: "sent", Value: 2})
	if err := m.Report(context.Background(), rep); err != nil {
		t.Fatal(err)
	}
	after := `
# HELP tokenwatch_credential_first_seen_timestamp_seconds When tokenwatch first saw the check's current secret (Unix time).
# TYPE tokenwatch_credential_first_seen_timestamp_seconds gauge
tokenwatch_credential_first_seen_timestamp_seconds{check="courier-main",type="courier"} 1.7943876e+09
tokenwatch_credential_first_seen_timestamp_seconds{check="partner-acme",type="partner_oauth"} 1.7951652e+09
# HELP tokenwatch_credential_issued_timestamp_seconds When the check's current secret was issued (Unix time): issued_at when it was configured for this secret, else its first sighting.
# TYPE tokenwatch_credential_issued_timestamp_seconds gauge
tokenwatch_credential_issued_timestamp_seconds{check="courier-main",type="courier"} 1.7866116e+09
tokenwatch_credential_issued_timestamp_seconds{check="partner-acme",type="partner_oauth"} 1.7951652e+09
# HELP tokenwatch_credential_rotate_after_seconds The check's rotate_after: the secret's maximum age. Absent when none is configured.
# TYPE tokenwatch_credential_rotate_after_seconds gauge
tokenwatch_credential_rotate_after_seconds{check="courier-main",type="courier"} 7.776e+06
# HELP tokenwatch_tls_cert_not_after_timestamp_seconds The earliest expiry among the leaf certificates the check's https endpoint serves now, those seen within the last hour (Unix time). Absent for http.
# TYPE tokenwatch_tls_cert_not_after_timestamp_seconds gauge
tokenwatch_tls_cert_not_after_timestamp_seconds{check="courier-main",type="courier"} 1.7956836e+09
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(after), lifecycleNames...); err != nil {
		t.Error(err)
	}
	for kind, want := range map[string]float64{"rotate": 1, "tls_expiry": 2} {
		if v := sample(t, m, "tokenwatch_notifications_total", "slack", kind, "sent"); v != want {
			t.Errorf("notifications_total{kind=%q} = %v, want %v", kind, v, want)
		}
	}
	if problems, err := testutil.GatherAndLint(m.Registry); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	// A pass that could not read the state keeps what the series said.
	rep.Lifecycles = nil
	_ = m.Report(context.Background(), rep)
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(after), lifecycleNames...); err != nil {
		t.Errorf("after a pass without the state: %v", err)
	}
}

// TestTLSNotAfterEarliestServed: an endpoint serving several certificates
// (a load balancer's backends) exports the earliest expiry among those
// seen within the last hour; one not seen for longer, however soon it
// expires, no longer counts.
func TestTLSNotAfterEarliestServed(t *testing.T) {
	m := withSlack(New(testChecks()))
	rep := testReport()
	rep.Lifecycles = map[string]alert.Lifecycle{"courier-main": {Certs: []alert.CertWatch{
		{Host: "courier.yandex.ru", Fingerprint: "c1", NotAfter: t0.Add(time.Hour), LastSeen: t0.Add(-2 * time.Hour)},
		{Host: "courier.yandex.ru", Fingerprint: "c2", NotAfter: t0.Add(400 * 24 * time.Hour), LastSeen: t0},
		{Host: "courier.yandex.ru", Fingerprint: "c3", NotAfter: t0.Add(5 * 24 * time.Hour), LastSeen: t0.Add(-10 * time.Minute)},
	}}}
	if err := m.Report(context.Background(), rep); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP tokenwatch_tls_cert_not_after_timestamp_seconds The earliest expiry among the leaf certificates the check's https endpoint serves now, those seen within the last hour (Unix time). Absent for http.
# TYPE tokenwatch_tls_cert_not_after_timestamp_seconds gauge
tokenwatch_tls_cert_not_after_timestamp_seconds{check="courier-main",type="courier"} 1.7956836e+09
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "tokenwatch_tls_cert_not_after_timestamp_seconds"); err != nil {
		t.Error(err)
	}
}
