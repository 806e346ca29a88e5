package slack

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/notify"
	"github.com/tokenwatch/tokenwatch/notify/internal/notifytest"
)

// hooks is a fake Slack that records which webhook path got each message,
// and refuses the paths in gone as a removed webhook (404 no_service).
type hooks struct {
	*httptest.Server
	mu   sync.Mutex
	got  []string // path: first line of the fallback text
	gone map[string]bool
}

func newHooks(t *testing.T, gone ...string) *hooks {
	h := &hooks{gone: map[string]bool{}}
	for _, p := range gone {
		h.gone[p] = true
	}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.gone[r.URL.Path] {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, "no_service")
			return
		}
		text, _, _ := strings.Cut(string(body), `","`)
		h.got = append(h.got, r.URL.Path+" "+text)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hooks) received() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}

func partnerAlert(check string) notify.Message {
	d := notifytest.Decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, "credentials rejected")
	d.Check = check
	return notify.Message{Decision: d}
}

// In webhook mode a check with a webhook of its own is posted there, every
// other check and the summary to the default webhook; a failing webhook of
// a check is named by its check, never by its URL.
func TestWebhookRoutes(t *testing.T) {
	const ownPath, gonePath = "/services/T/B/acme-SECRETHOOK", "/services/T/B/gone-SECRETHOOK"
	h := newHooks(t, gonePath)
	s, _ := newTestSlack(Options{WebhookURL: secret.New(h.URL + "/services/T/B/default"), Routes: map[string]Route{
		"partner-acme": {WebhookURL: secret.New(h.URL + ownPath)},
		"partner-gone": {WebhookURL: secret.New(h.URL + gonePath)},
	}})
	ctx := context.Background()
	for _, check := range []string{"partner-acme", "partner-other"} {
		if _, err := s.Send(ctx, partnerAlert(check)); err != nil {
			t.Fatalf("%s: %v", check, err)
		}
	}
	if err := s.SendSummary(ctx, []notify.Message{partnerAlert("partner-acme"), partnerAlert("partner-other")}); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(h.received(), "\n")
	want := strings.Join([]string{
		ownPath + ` {"text":"[ALERT] ` + "`partner-acme` is invalid: `credentials rejected`",
		`/services/T/B/default {"text":"[ALERT] ` + "`partner-other` is invalid: `credentials rejected`",
		`/services/T/B/default {"text":"tokenwatch: 2 notifications in one run, sent as one summary`,
	}, "\n")
	if got != want {
		t.Errorf("webhooks received\n%s\nwant\n%s", got, want)
	}

	_, err := s.Send(ctx, partnerAlert("partner-gone"))
	if err == nil || !strings.Contains(err.Error(), "the webhook of check partner-gone") || strings.Contains(err.Error(), "SECRETHOOK") {
		t.Errorf("a removed webhook of its own: %v; want it named by its check, without its URL", err)
	}
}

// In bot mode a check with a channel of its own opens its incident there;
// its replies follow the thread's channel; its mark-resolved card names
// the owner; the summary goes to the default channel.
func TestBotRoutes(t *testing.T) {
	api := &fakeBotAPI{}
	srv := httptest.NewServer(api.handler(t))
	defer srv.Close()
	s, _ := newTestSlack(Options{BotToken: secret.New(testBotToken), Channel: "#delivery-oncall", APIURL: srv.URL + "/api/",
		Routes: map[string]Route{"partner-acme": {Channel: "#partner-acme"}}})
	ctx := context.Background()

	m := partnerAlert("partner-acme")
	m.Owner = "@acme-integration"
	thread, err := s.Send(ctx, m)
	if err != nil || thread == nil {
		t.Fatalf("alert: thread %v, error %v", thread, err)
	}
	resolved := m.Decision
	resolved.Kind, resolved.Outcome, resolved.Previous, resolved.NewThread = alert.KindResolved, checks.OK, checks.Invalid, false
	if _, err := s.Send(ctx, notify.Message{Decision: resolved, Thread: thread}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(ctx, partnerAlert("partner-other")); err != nil {
		t.Fatal(err)
	}
	if err := s.SendSummary(ctx, []notify.Message{m, partnerAlert("partner-other")}); err != nil {
		t.Fatal(err)
	}
	var channels []string
	for _, p := range api.posts {
		channels = append(channels, p["channel"]+"@"+p["thread_ts"])
	}
	want := "#partner-acme@ C0ONCALL@" + thread.TS + " #delivery-oncall@ #delivery-oncall@"
	if got := strings.Join(channels, " "); got != want {
		t.Errorf("posts went to %s, want %s", got, want)
	}
	if len(api.updates) != 1 || !strings.Contains(api.updates[0]["blocks"], "owner @acme-integration") {
		t.Errorf("the resolved card does not name the owner: %v", api.updates)
	}
}
