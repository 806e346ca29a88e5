package alertmanager

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/notify"
)

func lifecycleDecision(kind alert.Kind, f alert.LifecycleFacts) alert.Decision {
	d := decision(kind, checks.OK)
	d.Lifecycle = &f
	return d
}

// TestLifecycleAlerts: a rotate message fires TokenwatchCredentialOld
// (critical: past rotate_after), a tls_expiry message
// TokenwatchTLSExpiring (warning, critical under 72 hours), each active
// until the window ends; the critical one ends the warning one now (its
// labels differ: it would stand beside it until its endsAt); their
// resolutions end them now, in both bands.
func TestLifecycleAlerts(t *testing.T) {
	rotate := lifecycleDecision(alert.KindRotate, alert.LifecycleFacts{IssuedAt: now.Add(-100 * 24 * time.Hour), Configured: true, RotateAfter: 2160 * time.Hour})
	tls := lifecycleDecision(alert.KindTLSExpiry, alert.LifecycleFacts{Host: "courier.yandex.ru", NotAfter: now.Add(5 * 24 * time.Hour), CertFingerprint: "c0ffee42"})
	final := lifecycleDecision(alert.KindTLSExpiry, alert.LifecycleFacts{Host: "courier.yandex.ru", NotAfter: now.Add(48 * time.Hour), CertFingerprint: "c0ffee42"})
	rotated := lifecycleDecision(alert.KindResolved, alert.LifecycleFacts{About: alert.KindRotate})
	renewed := lifecycleDecision(alert.KindResolved, alert.LifecycleFacts{About: alert.KindTLSExpiry, Host: "courier.yandex.ru", NotAfter: now.Add(400 * 24 * time.Hour)})
	tests := []struct {
		name       string
		d          alert.Decision
		alertname  string
		severities []string
		endsAt     []time.Time
		summary    string
	}{
		{"rotate", rotate, "TokenwatchCredentialOld", []string{"critical"}, []time.Time{now.Add(15 * time.Minute)}, "[ROTATE] courier-main: the secret is 100d old"},
		{"tls_expiry", tls, "TokenwatchTLSExpiring", []string{"warning"}, []time.Time{now.Add(15 * time.Minute)}, "[TLS] courier-main: the certificate of courier.yandex.ru expires in 5 days"},
		{"tls_expiry under 72h", final, "TokenwatchTLSExpiring", []string{"critical", "warning"}, []time.Time{now.Add(15 * time.Minute), now}, "expires in 2 days"},
		{"rotated", rotated, "TokenwatchCredentialOld", []string{"warning", "critical"}, []time.Time{now, now}, "[RESOLVED] courier-main: the secret"},
		{"renewed", renewed, "TokenwatchTLSExpiring", []string{"warning", "critical"}, []time.Time{now, now}, "[RESOLVED] courier-main: the certificate of courier.yandex.ru was renewed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Alerts(tt.d, map[string]string{"source": "tokenwatch"}, 15*time.Minute, now)
			if len(got) != len(tt.severities) {
				t.Fatalf("%d alerts, want %d: %+v", len(got), len(tt.severities), got)
			}
			for i, a := range got {
				if a.Labels["alertname"] != tt.alertname || a.Labels["severity"] != tt.severities[i] || a.Labels["check"] != "courier-main" ||
					a.Labels["team"] != "partners" || a.Labels["source"] != "tokenwatch" {
					t.Errorf("labels %v", a.Labels)
				}
				if a.EndsAt != tt.endsAt[i].UTC().Format(time.RFC3339Nano) {
					t.Errorf("%s: endsAt %s, want %s", a.Labels["severity"], a.EndsAt, tt.endsAt[i])
				}
				if !strings.Contains(a.Annotations["summary"], tt.summary) {
					t.Errorf("summary %q, want it to say %q", a.Annotations["summary"], tt.summary)
				}
				if a.Annotations["runbook_url"] != RunbookBase+strings.ToLower(tt.alertname) {
					t.Errorf("runbook_url %q", a.Annotations["runbook_url"])
				}
			}
		})
	}
}

// TestSyncKeepsLifecycleAlertNames: an active rotate or tls_expiry alert
// re-sent on every pass keeps its own name (it is not an outcome alert).
func TestSyncKeepsLifecycleAlertNames(t *testing.T) {
	var mu sync.Mutex
	var names []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var alerts []Alert
		if err := json.Unmarshal(body, &alerts); err != nil {
			t.Error(err)
		}
		mu.Lock()
		for _, a := range alerts {
			names = append(names, a.Labels["alertname"])
		}
		mu.Unlock()
	}))
	defer srv.Close()
	n := New(Options{URLs: []string{srv.URL}, ResendWindow: 15 * time.Minute, Client: srv.Client(), Now: func() time.Time { return now }})
	rotate := lifecycleDecision(alert.KindRotate, alert.LifecycleFacts{IssuedAt: now.Add(-100 * 24 * time.Hour), RotateAfter: 2160 * time.Hour})
	tls := lifecycleDecision(alert.KindTLSExpiry, alert.LifecycleFacts{Host: "courier.yandex.ru", NotAfter: now.Add(5 * 24 * time.Hour)})
	if err := n.Sync(context.Background(), []notify.Active{{Decision: rotate}, {Decision: tls}, {Decision: decision(alert.KindAlert, checks.Invalid)}}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, ","); got != "TokenwatchCredentialOld,TokenwatchTLSExpiring,TokenwatchCredentialInvalid" {
		t.Errorf("synced %s", got)
	}
	// In the critical band the warning was ended once, by the message:
	// a pass re-sends the critical alert alone.
	names = nil
	final := lifecycleDecision(alert.KindTLSExpiry, alert.LifecycleFacts{Host: "courier.yandex.ru", NotAfter: now.Add(48 * time.Hour)})
	if err := n.Sync(context.Background(), []notify.Active{{Decision: final}}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, ","); got != "TokenwatchTLSExpiring" {
		t.Errorf("synced %s in the critical band, want the critical alert alone", got)
	}
}
