package alertmanager

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/notify"
)

// fakeAM is an Alertmanager that answers status and keeps what it was posted.
type fakeAM struct {
	URL    string
	mu     sync.Mutex
	status int
	posts  [][]Alert
	paths  []string
}

func newFakeAM(t *testing.T, status int) *fakeAM {
	f := &fakeAM{status: status}
	f.URL = testkit.Server(t, func(w http.ResponseWriter, r *http.Request) {
		var got []Alert
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.paths = append(f.paths, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		if err := json.Unmarshal(body, &got); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.posts = append(f.posts, got)
		if f.status == http.StatusFound {
			w.Header().Set("Location", "https://elsewhere.example/")
		}
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, "refused: \x1b[31mred\x1b[0m")
	}).URL
	return f
}

func (f *fakeAM) take() [][]Alert {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.posts
	f.posts = nil
	return out
}

func (f *fakeAM) answer(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = status
}

func clock() func() time.Time { return func() time.Time { return now } }

// Every outcome of a post is classified: only 200 is a delivery; a
// refusal a person must fix is permanent, 429 rate limited, 5xx and the
// network transient. A redirect is not followed.
func TestSendClassifiesAnswers(t *testing.T) {
	tests := []struct {
		status int
		class  notify.Class
		says   string
	}{
		{200, "", ""},
		{400, notify.Permanent, "a tokenwatch bug"},
		{401, notify.Permanent, "wants credentials"},
		{403, notify.Permanent, "wants credentials"},
		{404, notify.Permanent, "has no /api/v2/alerts"},
		{302, notify.Permanent, "redirects are not followed"},
		{429, notify.RateLimited, "rate limiting"},
		{500, notify.Transient, "HTTP 500"},
		{503, notify.Transient, "HTTP 503"},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			am := newFakeAM(t, tt.status)
			n := New(Options{URLs: []string{am.URL}, Now: clock()})
			_, err := n.Send(context.Background(), notify.Message{Decision: decision(alert.KindAlert, checks.Invalid)})
			if len(am.take()) != 1 {
				t.Fatal("want exactly one post: no retry within a pass, no redirect followed")
			}
			if tt.class == "" {
				if err != nil {
					t.Fatalf("HTTP 200: %v, want delivered", err)
				}
				return
			}
			var de *notify.DeliveryError
			if !errors.As(err, &de) || de.Class != tt.class || de.Notifier != "alertmanager" || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("HTTP %d: %v, want a %s DeliveryError of alertmanager saying %q", tt.status, err, tt.class, tt.says)
			}
			if strings.Contains(err.Error(), "\x1b") {
				t.Errorf("error %q carries a control character from the answer", err)
			}
		})
	}
}

// A closed port is an outage (transient), named by host only: neither the
// path of the URL nor its query appears in the error.
func TestNetworkFailureIsTransientAndNamesTheHostOnly(t *testing.T) {
	closed := testkit.ClosedURL(t)
	n := New(Options{URLs: []string{closed + "/prefix-s3cr3t-path?k=s3cr3t-query"}, Now: clock()})
	_, err := n.Send(context.Background(), notify.Message{Decision: decision(alert.KindAlert, checks.Invalid)})
	var de *notify.DeliveryError
	if !errors.As(err, &de) || de.Class != notify.Transient {
		t.Fatalf("%v, want a transient DeliveryError", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error %q quotes the URL's path or query", err)
	}
}

// Every replica gets every alert, at /api/v2/alerts under its path (the
// --web.route-prefix); the delivery counts only when all accepted, and a
// failed one is named with how many failed.
func TestEveryReplicaGetsEveryAlert(t *testing.T) {
	a, b := newFakeAM(t, 200), newFakeAM(t, 200)
	n := New(Options{URLs: []string{a.URL, b.URL + "/am/"}, Now: clock()})
	if _, err := n.Send(context.Background(), notify.Message{Decision: decision(alert.KindAlert, checks.Invalid)}); err != nil {
		t.Fatal(err)
	}
	if len(a.take()) != 1 || len(b.take()) != 1 {
		t.Fatal("each Alertmanager must get the alert once")
	}
	if a.paths[0] != "POST /api/v2/alerts application/json" || b.paths[0] != "POST /am/api/v2/alerts application/json" {
		t.Errorf("requests %q and %q", a.paths[0], b.paths[0])
	}

	b.answer(503)
	_, err := n.Send(context.Background(), notify.Message{Decision: decision(alert.KindReminder, checks.Invalid)})
	if len(a.take()) != 1 || len(b.take()) != 1 {
		t.Fatal("a replica that fails must not keep the others from getting the alert")
	}
	var de *notify.DeliveryError
	if !errors.As(err, &de) || de.Class != notify.Transient || !strings.Contains(err.Error(), "1 of 2 Alertmanagers did not accept") {
		t.Fatalf("%v: want a transient failure naming 1 of 2", err)
	}
}

// Sync posts every active alert in one request, each valid for its own
// ValidFor (the resend window when 0), whatever kind of message last
// carried it.
func TestSyncPostsEveryActiveAlert(t *testing.T) {
	am := newFakeAM(t, 200)
	n := New(Options{URLs: []string{am.URL}, ResendWindow: 20 * time.Minute, Labels: map[string]string{"source": "tokenwatch"}, Now: clock()})
	first := decision(alert.KindReminder, checks.Invalid)
	second := decision(alert.KindAlert, checks.Unavailable)
	second.Check, second.Previous = "partner-acme", checks.Invalid
	err := n.Sync(context.Background(), []notify.Active{{Decision: first}, {Decision: second, ValidFor: 3 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	posts := am.take()
	if len(posts) != 1 || len(posts[0]) != 2 {
		t.Fatalf("posts %+v, want one request with the two active alerts (nothing ended)", posts)
	}
	got := posts[0]
	if got[0].Labels["check"] != "courier-main" || got[0].EndsAt != now.Add(20*time.Minute).Format(time.RFC3339Nano) {
		t.Errorf("first %v ends %s, want courier-main after the resend window", got[0].Labels, got[0].EndsAt)
	}
	if got[1].Labels["alertname"] != "TokenwatchEndpointUnavailable" || got[1].EndsAt != now.Add(3*time.Hour).Format(time.RFC3339Nano) {
		t.Errorf("second %v ends %s, want partner-acme unavailable after its ValidFor", got[1].Labels, got[1].EndsAt)
	}
	if got[1].Labels["source"] != "tokenwatch" {
		t.Errorf("labels %v: the configured labels are on synced alerts too", got[1].Labels)
	}
	if err := n.Sync(context.Background(), nil); err != nil || len(am.take()) != 0 {
		t.Errorf("nothing active: %v; want no request", err)
	}
}

// A summary is every message's alerts in one request, no summary text.
func TestSendSummaryIsOneBatch(t *testing.T) {
	am := newFakeAM(t, 200)
	n := New(Options{URLs: []string{am.URL}, Now: clock()})
	resolved := decision(alert.KindResolved, checks.OK)
	resolved.Previous = checks.Invalid
	notice := alert.Decision{Kind: alert.KindNotice, Check: "tokenwatch", At: now}
	ms := []notify.Message{{Decision: decision(alert.KindAlert, checks.Unavailable)}, {Decision: resolved}, {Decision: notice}}
	if err := n.SendSummary(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	posts := am.take()
	if len(posts) != 1 || len(posts[0]) != 2 {
		t.Fatalf("posts %+v, want one request with the alert and the resolution", posts)
	}
}

// A notice is dropped as delivered without a request: it would otherwise
// stay in the outbox for ever.
func TestNoticeIsDeliveredWithoutARequest(t *testing.T) {
	am := newFakeAM(t, 500)
	n := New(Options{URLs: []string{am.URL}, Now: clock()})
	_, err := n.Send(context.Background(), notify.Message{Decision: alert.Decision{Kind: alert.KindNotice, Check: "tokenwatch", At: now}})
	if err != nil || len(am.take()) != 0 {
		t.Fatalf("notice: %v; want delivered without a request", err)
	}
}

// A stopped run says so: the job tells a stop from a broken notifier.
func TestStoppedRunIsNotAFailureOfTheNotifier(t *testing.T) {
	am := newFakeAM(t, 200)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n := New(Options{URLs: []string{am.URL}, Now: clock()})
	_, err := n.Send(ctx, notify.Message{Decision: decision(alert.KindAlert, checks.Invalid)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want an error that is context.Canceled", err)
	}
}
