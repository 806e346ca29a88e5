package alertmanager

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/notify/internal/notifytest"
)

var now = notifytest.At

// decision is a courier decision with an owner and a team.
func decision(kind alert.Kind, o checks.Outcome) alert.Decision {
	d := notifytest.Decision(kind, checks.TypeCourier, o, 401, "token rejected (HTTP 401) twice, 1s apart")
	d.Owner, d.Team = "@courier-team", "partners"
	return d
}

// Each outcome has its alert name, severity and runbook anchor; labels say
// which check, annotations what on-call reads; an active alert ends after
// the window, a resolution now.
func TestAlertsLabelsAnnotationsAndTimes(t *testing.T) {
	resolved := decision(alert.KindResolved, checks.OK)
	resolved.Previous = checks.Forbidden
	tests := []struct {
		name      string
		d         alert.Decision
		alertname string
		severity  string
		endsAt    time.Time
		summary   string
	}{
		{"invalid", decision(alert.KindAlert, checks.Invalid), "TokenwatchCredentialInvalid", "critical", now.Add(15 * time.Minute), "[ALERT] courier-main is invalid: token rejected (HTTP 401) twice, 1s apart"},
		{"forbidden", decision(alert.KindAlert, checks.Forbidden), "TokenwatchCredentialForbidden", "critical", now.Add(15 * time.Minute), "[ALERT] courier-main is forbidden: "},
		{"unavailable", decision(alert.KindAlert, checks.Unavailable), "TokenwatchEndpointUnavailable", "warning", now.Add(15 * time.Minute), "[ALERT] courier-main is unavailable: "},
		{"bad_response", decision(alert.KindAlert, checks.BadResponse), "TokenwatchEndpointBrokeContract", "warning", now.Add(15 * time.Minute), "[ALERT] courier-main is bad_response: "},
		{"reminder", decision(alert.KindReminder, checks.Invalid), "TokenwatchCredentialInvalid", "critical", now.Add(15 * time.Minute), "[REMINDER] courier-main still invalid"},
		{"resolved: ends now, named by what it was", resolved, "TokenwatchCredentialForbidden", "critical", now, "[RESOLVED] courier-main works again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Alerts(tt.d, map[string]string{"source": "tokenwatch"}, 15*time.Minute, now)
			if len(got) != 1 {
				t.Fatalf("%d alerts, want 1: %+v", len(got), got)
			}
			a := got[0]
			wantLabels := map[string]string{"alertname": tt.alertname, "check": "courier-main", "type": "courier",
				"severity": tt.severity, "team": "partners", "source": "tokenwatch"}
			if !maps.Equal(a.Labels, wantLabels) {
				t.Errorf("labels %v, want %v", a.Labels, wantLabels)
			}
			if a.StartsAt != "2026-11-21T03:00:00Z" {
				t.Errorf("startsAt %q, want the alert's start 2026-11-21T03:00:00Z", a.StartsAt)
			}
			if a.EndsAt != tt.endsAt.UTC().Format(time.RFC3339Nano) {
				t.Errorf("endsAt %q, want %s", a.EndsAt, tt.endsAt.UTC().Format(time.RFC3339Nano))
			}
			an := a.Annotations
			if !strings.HasPrefix(an["summary"], tt.summary) || strings.Contains(an["summary"], "\n") {
				t.Errorf("summary %q, want one line starting %q", an["summary"], tt.summary)
			}
			if want := RunbookBase + strings.ToLower(tt.alertname); an["runbook_url"] != want {
				t.Errorf("runbook_url %q, want %q", an["runbook_url"], want)
			}
			if an["fingerprint"] != "3f2a9c1e" || an["owner"] != "@courier-team" {
				t.Errorf("fingerprint %q, owner %q; want 3f2a9c1e and @courier-team", an["fingerprint"], an["owner"])
			}
			if an["description"] == "" || strings.Contains(an["description"], "`") {
				t.Errorf("description %q: want plain text, without Slack's code marks", an["description"])
			}
		})
	}
}

// The description says what happened and what to do, in plain text: the
// detail and the kind's runbook (the re-issue steps of a courier token).
func TestDescriptionIsTheDetailAndTheRunbook(t *testing.T) {
	d := decision(alert.KindAlert, checks.Invalid)
	d.ClientID = "0123456789abcdef"
	got := Alerts(d, nil, time.Minute, now)[0].Annotations["description"]
	for _, want := range []string{"What happened:\ntoken rejected (HTTP 401) twice, 1s apart", "What to do:\nThe token is revoked or invalid",
		"https://oauth.yandex.com/authorize?response_type=token&client_id=0123456789abcdef"} {
		if !strings.Contains(got, want) {
			t.Errorf("description lacks %q:\n%s", want, got)
		}
	}
}

// Server words cannot act on a terminal or a chat client that shows the
// annotations: control characters are escaped, as in every renderer.
func TestAnnotationsArePrintable(t *testing.T) {
	d := decision(alert.KindAlert, checks.BadResponse)
	d.Detail = notifytest.TerminalHostile
	for k, v := range Alerts(d, nil, time.Minute, now)[0].Annotations {
		if strings.ContainsAny(v, "\x1b\u009b\u202e\u2028\x7f") {
			t.Errorf("annotation %s holds a control character: %q", k, v)
		}
	}
}

// No team, no owner, no fingerprint, no start: the labels and annotations
// are left out rather than sent empty (an empty label is no label).
func TestOptionalFieldsAreLeftOut(t *testing.T) {
	d := decision(alert.KindAlert, checks.Invalid)
	d.Team, d.Owner, d.Fingerprint, d.Since = "", "", "", time.Time{}
	a := Alerts(d, nil, time.Minute, now)[0]
	if _, ok := a.Labels["team"]; ok {
		t.Errorf("labels %v: no team label without a team", a.Labels)
	}
	for _, k := range []string{"owner", "fingerprint"} {
		if _, ok := a.Annotations[k]; ok {
			t.Errorf("annotation %s sent empty", k)
		}
	}
	if a.StartsAt != "" {
		t.Errorf("startsAt %q, want none (Alertmanager then uses the time it receives it)", a.StartsAt)
	}
}

// A notice is about tokenwatch itself, not a check: Alertmanager has no
// name for it, and gets nothing.
func TestNoticeIsNotForAlertmanager(t *testing.T) {
	d := alert.Decision{Kind: alert.KindNotice, Check: "tokenwatch", Detail: "state reset", At: now}
	if got := Alerts(d, nil, time.Minute, now); got != nil {
		t.Fatalf("a notice became %+v, want nothing", got)
	}
}

// An alert whose outcome changed ends the alert of the outcome before:
// it has another name, and would otherwise stay active in Alertmanager
// until its window ran out.
func TestChangedOutcomeEndsThePreviousAlert(t *testing.T) {
	d := decision(alert.KindAlert, checks.Forbidden)
	d.Previous = checks.Invalid
	got := Alerts(d, nil, 15*time.Minute, now)
	if len(got) != 2 {
		t.Fatalf("%d alerts, want the new one and the end of the old one", len(got))
	}
	if got[0].Labels["alertname"] != "TokenwatchCredentialForbidden" || got[0].EndsAt != now.Add(15*time.Minute).Format(time.RFC3339Nano) {
		t.Errorf("first %v ends %s, want the forbidden alert, active", got[0].Labels, got[0].EndsAt)
	}
	if got[1].Labels["alertname"] != "TokenwatchCredentialInvalid" || got[1].EndsAt != now.Format(time.RFC3339Nano) {
		t.Errorf("second %v ends %s, want the invalid alert ended now", got[1].Labels, got[1].EndsAt)
	}
}

// Configured labels are added; tokenwatch's own win even if the map given
// to the builder held them (the configuration refuses them first).
func TestConfiguredLabelsDoNotReplaceTokenwatchs(t *testing.T) {
	a := Alerts(decision(alert.KindAlert, checks.Invalid), map[string]string{"severity": "info", "env": "prod"}, time.Minute, now)[0]
	if a.Labels["severity"] != "critical" || a.Labels["env"] != "prod" {
		t.Fatalf("labels %v: want severity critical and env prod", a.Labels)
	}
}
