// Package notifytest holds the messages whose rendering the golden files
// of notify and of each notifier pin: every kind of message, late ones, a
// summary, and hostile server words.
package notifytest

import (
	"os"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/notify"
)

var (
	// Since is when the golden incidents began.
	Since = time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	// At is when they were decided.
	At = Since.Add(6*time.Hour + 5*time.Minute)
	// Delivered is when they are rendered: 20 minutes late, for late ones.
	Delivered = At.Add(20 * time.Minute)
)

// Decision is a decision about courier-main, or partner-acme for a partner type.
func Decision(kind alert.Kind, typ string, o checks.Outcome, status int, detail string) alert.Decision {
	endpoint, name := "https://courier.yandex.ru", "courier-main"
	if typ == checks.TypePartner {
		endpoint, name = "https://partner.example.com", "partner-acme"
	}
	return alert.Decision{Kind: kind, Check: name, Type: typ, Endpoint: endpoint, Outcome: o, HTTPStatus: status,
		Detail: detail, Since: Since, FailuresInRow: 73, Checks: 73, Fingerprint: "3f2a9c1e", At: At, NewThread: kind == alert.KindAlert}
}

// HostileError is what a hostile partner puts in its error_description:
// a channel mention, a phishing link and every mrkdwn formatting mark.
const HostileError = "<!channel> <https://evil.example/login|click here> *bold* _it_ ~s~ `code` <!here> <!everyone> <@U123> <#C123> & done"

// HostileDetail is the detail a partner check makes of it (checks quotes
// the partner's words with strconv.Quote).
const HostileDetail = `credentials rejected (HTTP 400): partner says "invalid_client: ` + HostileError + `"`

// Owner is the owner of the golden checks that have one.
const Owner = "@acme-integration"

// HostileOwner is an owner whose configured text holds mrkdwn marks and
// what would be a mention and a link if it were not escaped.
const HostileOwner = "<!channel> *Ann* & <https://evil.example|Bob>"

// TerminalHostile is server text that, printed raw, clears a terminal,
// retitles its window, sends a C1 CSI and reverses what follows.
const TerminalHostile = "\x1b[2J\x1b]0;pwned\x07 \u009b31m \u202egnp.exe \u2028 \x7f \xff"

// Messages are the golden messages by name: one message each, or many
// for a summary.
func Messages() map[string][]notify.Message {
	withLink := Decision(alert.KindAlert, checks.TypeCourier, checks.Invalid, 401, "token rejected (HTTP 401) twice, 1s apart")
	withLink.ClientID = "0123456789abcdef"
	withLink.FailuresInRow = 1
	rotated := Decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, `credentials rejected (HTTP 400): partner says "client <unknown>"`)
	rotated.RotatedFrom = "aa11bb22"
	changed := Decision(alert.KindAlert, checks.TypeCourier, checks.Invalid, 401, "token rejected (HTTP 401) twice, 1s apart")
	changed.Previous, changed.NewThread = checks.Unavailable, false
	resolved := Decision(alert.KindResolved, checks.TypeCourier, checks.OK, 200, "token accepted")
	resolved.Previous = checks.Invalid
	var storm []notify.Message
	for i := 0; i < 12; i++ {
		d := Decision(alert.KindAlert, checks.TypePartner, checks.Unavailable, 0, "DNS: host partner.example.com not found")
		d.Check = "partner-" + string(rune('a'+i))
		storm = append(storm, notify.Message{Decision: d, Late: i < 2})
	}
	hostile := Decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, HostileDetail)
	hostileLate := hostile
	hostileLate.Kind, hostileLate.Outcome, hostileLate.HTTPStatus = alert.KindReminder, checks.Forbidden, 403
	var hostileStorm []notify.Message
	for i, d := range []alert.Decision{hostile, hostileLate, hostile} {
		d.Check = "partner-" + string(rune('a'+i))
		hostileStorm = append(hostileStorm, notify.Message{Decision: d, Late: i == 1})
	}
	owned := func(d alert.Decision) alert.Decision {
		d.Owner, d.Team = Owner, "partners"
		return d
	}
	var ownedStorm []notify.Message
	for i, o := range []string{Owner, "", HostileOwner, Owner} {
		d := Decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, `credentials rejected (HTTP 400): partner says "invalid_client"`)
		d.Check, d.Owner = "partner-"+string(rune('a'+i)), o
		ownedStorm = append(ownedStorm, notify.Message{Decision: d})
	}
	notice := alert.Decision{Kind: alert.KindNotice, Check: "tokenwatch", At: At,
		Detail: "The state file /var/lib/tokenwatch/state.json could not be read (" + HostileError + "); it was moved aside."}
	egress := alert.Decision{Kind: alert.KindEgress, Check: "tokenwatch", Type: notify.EgressType, Outcome: checks.Unavailable, Since: Since, At: At, Checks: 4,
		Detail: "4 of 4 checks unreachable: connection refused (3 checks); DNS: host partner.example.com not found (1 check)"}
	egressResolved := alert.Decision{Kind: alert.KindResolved, Check: "tokenwatch", Type: notify.EgressType, Outcome: checks.OK, Previous: checks.Unavailable,
		Since: Since, At: At, Checks: 4, Endpoint: "https://courier.yandex.ru", Detail: "courier-main answered (ok): token accepted"}
	flapping := owned(Decision(alert.KindFlapping, checks.TypePartner, checks.OK, 200, "token issued (expires_in 3600)"))
	flapping.Previous, flapping.Outcomes, flapping.Changes, flapping.FlapWindow = checks.Invalid, []checks.Outcome{checks.Invalid, checks.OK}, 4, time.Hour
	flapping.Since = At.Add(-40 * time.Minute)
	silence := &alert.Mute{Until: At.Add(55 * time.Minute), Reason: "ACME deploys <!here> *v2*", By: "alice"}
	window := &alert.Mute{Until: At.Add(55 * time.Minute), Reason: "CRON_TZ=Europe/Moscow 0 2 * * 0", Window: true}
	silencedResolved := resolved
	silencedResolved.Silence = silence
	windowResolved := silencedResolved
	windowResolved.Silence = window
	ended := *silence
	ended.Until = At
	afterSilence := Decision(alert.KindAlert, checks.TypeCourier, checks.Unavailable, 0, "connect: connection refused")
	afterSilence.Previous, afterSilence.NewThread, afterSilence.Silence, afterSilence.SilenceEnded = checks.Invalid, false, &ended, true
	windowEnded := *window
	windowEnded.Until = At
	afterWindow := owned(Decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, `credentials rejected (HTTP 400): partner says "invalid_client"`))
	afterWindow.Silence, afterWindow.SilenceEnded = &windowEnded, true
	settledOK := Decision(alert.KindResolved, checks.TypePartner, checks.OK, 200, "token issued (expires_in 3600)")
	settledOK.Previous, settledOK.Since, settledOK.Settled, settledOK.FlapWindow, settledOK.NewThread = checks.Invalid, At.Add(-90*time.Minute), true, time.Hour, false
	settledFailing := owned(Decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, `credentials rejected (HTTP 400): partner says "invalid_client"`))
	settledFailing.Settled, settledFailing.FlapWindow = true, time.Hour
	silencedStorm := []notify.Message{{Decision: afterSilence}, {Decision: silencedResolved}, {Decision: afterWindow}}
	rotate := withLink
	rotate.Kind, rotate.Outcome, rotate.HTTPStatus, rotate.Detail, rotate.NewThread = alert.KindRotate, checks.OK, 200, "", false
	rotate.Since = At.Add(-10 * 24 * time.Hour)
	rotate.Lifecycle = &alert.LifecycleFacts{IssuedAt: At.Add(-100 * 24 * time.Hour), Configured: true, RotateAfter: 2160 * time.Hour}
	rotatePartner := owned(Decision(alert.KindRotate, checks.TypePartner, checks.Invalid, 400, ""))
	rotatePartner.NewThread, rotatePartner.Since = false, At.Add(-3*24*time.Hour)
	rotatePartner.Lifecycle = &alert.LifecycleFacts{IssuedAt: At.Add(-93 * 24 * time.Hour), RotateAfter: 90 * 24 * time.Hour, Repeat: true}
	tlsExpiry := owned(Decision(alert.KindTLSExpiry, checks.TypePartner, checks.Unavailable, 503, ""))
	tlsExpiry.NewThread, tlsExpiry.Since = false, At
	tlsExpiry.Lifecycle = &alert.LifecycleFacts{Host: "partner.example.com", NotAfter: At.Add(5*24*time.Hour + 3*time.Hour), CertFingerprint: "c0ffee42"}
	tlsFinal := tlsExpiry
	tlsFinal.Lifecycle = &alert.LifecycleFacts{Host: "partner.example.com", NotAfter: At.Add(-26 * time.Hour), CertFingerprint: "c0ffee42"}
	secretRotated := Decision(alert.KindResolved, checks.TypeCourier, checks.OK, 200, "")
	secretRotated.NewThread, secretRotated.Since, secretRotated.RotatedFrom = false, At.Add(-10*24*time.Hour), "aa11bb22"
	secretRotated.Lifecycle = &alert.LifecycleFacts{About: alert.KindRotate}
	renewed := Decision(alert.KindResolved, checks.TypePartner, checks.OK, 200, "")
	renewed.NewThread = false
	renewed.Lifecycle = &alert.LifecycleFacts{About: alert.KindTLSExpiry, Host: "partner.example.com", NotAfter: At.Add(400 * 24 * time.Hour), CertFingerprint: "0ddba11d"}
	lifecycleStorm := []notify.Message{{Decision: rotate}, {Decision: tlsExpiry, Late: true}, {Decision: hostile}}
	return map[string][]notify.Message{
		"resolved-silenced": {{Decision: silencedResolved}},
		"resolved-settled":  {{Decision: settledOK}},
		"notice-alert-closed": {{Decision: alert.Decision{Kind: alert.KindNotice, Notice: alert.NoticeAlertClosed, Check: "partner-acme",
			Type: checks.TypePartner, Endpoint: "https://partner.example.com", Previous: checks.Invalid, Since: Since, At: At,
			Detail: "partner-acme's open alert (invalid since 2026-11-21 03:00 UTC) is closed without a resolution: it was removed from the configuration."}}},
		"alert-settled":                {{Decision: settledFailing}},
		"resolved-window":              {{Decision: windowResolved}},
		"alert-after-silence":          {{Decision: afterSilence}},
		"alert-after-window":           {{Decision: afterWindow}},
		"summary-silenced":             silencedStorm,
		"rotate-courier":               {{Decision: rotate}},
		"rotate-partner-repeat":        {{Decision: rotatePartner}},
		"tls-expiry":                   {{Decision: tlsExpiry}},
		"tls-expired":                  {{Decision: tlsFinal, Late: true}},
		"resolved-rotate":              {{Decision: secretRotated}},
		"resolved-tls":                 {{Decision: renewed}},
		"summary-lifecycle":            lifecycleStorm,
		"egress":                       {{Decision: egress}},
		"resolved-egress":              {{Decision: egressResolved}},
		"alert-hostile":                {{Decision: hostile}},
		"alert-hostile-late":           {{Decision: hostileLate, Late: true}},
		"summary-hostile":              hostileStorm,
		"notice-hostile":               {{Decision: notice}},
		"alert-courier-invalid":        {{Decision: withLink}},
		"alert-courier-invalid-nolink": {{Decision: Decision(alert.KindAlert, checks.TypeCourier, checks.Invalid, 401, "token rejected (HTTP 401) twice, 1s apart")}},
		"alert-courier-forbidden":      {{Decision: Decision(alert.KindAlert, checks.TypeCourier, checks.Forbidden, 403, "token accepted but not allowed (HTTP 403)")}},
		"alert-partner-invalid-late":   {{Decision: rotated, Late: true}},
		"alert-partner-forbidden":      {{Decision: Decision(alert.KindAlert, checks.TypePartner, checks.Forbidden, 400, `client not allowed this grant or scope (HTTP 400): partner says "unauthorized_client"`)}},
		"alert-unavailable":            {{Decision: Decision(alert.KindAlert, checks.TypePartner, checks.Unavailable, 503, "server error (HTTP 503)")}},
		"alert-bad-response":           {{Decision: Decision(alert.KindAlert, checks.TypePartner, checks.BadResponse, 200, `HTTP 200 but Content-Type is "text/html", not application/json`)}},
		"alert-outcome-changed":        {{Decision: changed}},
		"reminder":                     {{Decision: Decision(alert.KindReminder, checks.TypeCourier, checks.Invalid, 401, "token rejected (HTTP 401) twice, 1s apart")}},
		"resolved":                     {{Decision: resolved}},
		"summary":                      storm,
		"alert-owned":                  {{Decision: owned(Decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, `credentials rejected (HTTP 400): partner says "invalid_client"`))}},
		"reminder-owned":               {{Decision: owned(Decision(alert.KindReminder, checks.TypePartner, checks.Invalid, 400, `credentials rejected (HTTP 400): partner says "invalid_client"`))}},
		"resolved-owned":               {{Decision: owned(resolved)}},
		"summary-owners":               ownedStorm,
		"flapping":                     {{Decision: flapping}},
	}
}

// Content is the content of a golden message: composed alone, or as a
// summary when there are many.
func Content(ms []notify.Message) notify.Content {
	if len(ms) == 1 {
		return notify.Compose(ms[0], Delivered)
	}
	return notify.ComposeSummary(ms)
}

// Golden compares got with the file at path, or rewrites the file when
// update is set (the package's -update flag).
func Golden(t testing.TB, path, got string, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it after review):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
