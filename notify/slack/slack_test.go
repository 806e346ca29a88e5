package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/notify"
	"github.com/tokenwatch/tokenwatch/notify/internal/notifytest"
)

const testBotToken = "xoxb-test-bot-token-secret"

// recordedSleep replaces the retry pauses: it notes each wait and returns at
// once, so retry tests take no wall-clock time and can check the waits.
type recordedSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *recordedSleep) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
	return ctx.Err()
}

func (r *recordedSleep) all() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.waits...)
}

// fastRetry is the retry policy of the tests; the waits go to a recordedSleep.
var fastRetry = Retry{Attempts: 3, Backoff: 10 * time.Millisecond, MaxWait: 5 * time.Minute}

// testClock is the fixed now of the tests, for Retry-After dates.
var testClock = time.Date(2026, 10, 21, 7, 27, 0, 0, time.UTC)

func newTestSlack(o Options) (*Notifier, *recordedSleep) {
	rec := &recordedSleep{}
	if o.Retry == (Retry{}) {
		o.Retry = fastRetry
	}
	o.Sleep = rec.sleep
	o.Now = func() time.Time { return testClock }
	return New(o), rec
}

// webhookServer answers each request with the next scripted status, and
// "ok" with a 200 as Slack does.
func webhookServer(t *testing.T, script ...int) (*httptest.Server, *[]string) {
	t.Helper()
	var mu sync.Mutex
	var bodies []string
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		status := http.StatusOK
		if n < len(script) {
			status = script[n]
		}
		n++
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		if status == http.StatusOK {
			bodies = append(bodies, string(body))
		}
		w.WriteHeader(status)
		if status == http.StatusOK {
			_, _ = io.WriteString(w, "ok")
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &bodies
}

func alertMessage() notify.Message {
	return notify.Message{Decision: notifytest.Decision(alert.KindAlert, checks.TypeCourier, checks.Invalid, 401, "token rejected (HTTP 401)")}
}

func TestWebhookRetries(t *testing.T) {
	tests := []struct {
		name      string
		script    []int
		delivered bool
		waits     []time.Duration
	}{
		{"delivered at once", nil, true, nil},
		{"429 with Retry-After, then success", []int{429}, true, []time.Duration{time.Second}},
		{"500, then success", []int{500}, true, []time.Duration{10 * time.Millisecond}},
		{"503 twice, then success, backing off", []int{503, 503}, true, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}},
		{"500 on every attempt", []int{500, 500, 500, 500}, false, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}},
		{"400 is not retried", []int{400, 200}, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, bodies := webhookServer(t, tc.script...)
			hook := srv.URL + "/services/T000/B000/hooksecret"
			s, rec := newTestSlack(Options{WebhookURL: secret.New(hook)})
			_, err := s.Send(context.Background(), alertMessage())
			if (err == nil) != tc.delivered {
				t.Fatalf("error %v, want delivered=%v", err, tc.delivered)
			}
			if tc.delivered && len(*bodies) != 1 {
				t.Errorf("Slack got %d messages, want exactly 1", len(*bodies))
			}
			if got := rec.all(); !slices.Equal(got, tc.waits) {
				t.Errorf("waited %v between attempts, want %v", got, tc.waits)
			}
			if err != nil && strings.Contains(err.Error(), "hooksecret") {
				t.Errorf("error reveals the webhook URL: %v", err)
			}
		})
	}
}

// answer is one scripted HTTP answer of a fake Slack.
type answer struct {
	status int
	body   string
	header map[string]string
}

func (a answer) write(w http.ResponseWriter) {
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

// hostile is a Slack error string that would clear the screen and retitle
// the terminal if it reached a terminal raw.
const hostile = "\x1b[2J\x1b]0;pwned\x07"

// A webhook delivers only with 200 "ok". Slack's own error string is what
// on-call reads, with what to do when a person must act; permanent errors
// are not retried, transient ones are.
func TestWebhookAnswers(t *testing.T) {
	tests := []struct {
		name   string
		answer answer
		class  notify.Class // "" means delivered
		calls  int
		want   []string
		waits  []time.Duration
	}{
		{"200 ok", answer{status: 200, body: "ok"}, "", 1, nil, nil},
		{"200 ok with a line break", answer{status: 200, body: "ok\n"}, "", 1, nil, nil},
		{"200 invalid_token is not a delivery", answer{status: 200, body: "invalid_token"}, notify.Permanent, 1,
			[]string{"Slack says invalid_token", "create a new incoming webhook"}, nil},
		{"200 without a body is not a delivery", answer{status: 200}, notify.Permanent, 1, []string{`HTTP 200 with "" instead of "ok"`}, nil},
		{"404 no_service", answer{status: 404, body: "no_service"}, notify.Permanent, 1,
			[]string{"Slack says no_service: the webhook was removed or disabled; create a new incoming webhook and update slack.webhook_url"}, nil},
		{"403 invalid_token", answer{status: 403, body: "invalid_token"}, notify.Permanent, 1, []string{"Slack says invalid_token"}, nil},
		{"403 action_prohibited", answer{status: 403, body: "action_prohibited"}, notify.Permanent, 1, []string{"Slack says action_prohibited", "admin"}, nil},
		{"410 channel_is_archived", answer{status: 410, body: "channel_is_archived"}, notify.Permanent, 1, []string{"Slack says channel_is_archived", "unarchive"}, nil},
		{"400 invalid_payload", answer{status: 400, body: "invalid_payload"}, notify.Permanent, 1, []string{"Slack says invalid_payload", "tokenwatch bug"}, nil},
		{"404 with a page", answer{status: 404, body: "<html>Not Found</html>"}, notify.Permanent, 1, []string{"HTTP 404", "Not Found", "slack.webhook_url"}, nil},
		{"500 rollup_error", answer{status: 500, body: "rollup_error"}, notify.Transient, 3, []string{"HTTP 500 (rollup_error)"}, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}},
		{"502 with a page", answer{status: 502, body: "<html>Bad Gateway</html>"}, notify.Transient, 3, []string{"Slack answered HTTP 502"}, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}},
		{"429 in seconds", answer{status: 429, header: map[string]string{"Retry-After": "7"}}, notify.RateLimited, 3, []string{"rate limited", "Retry-After 7s"}, []time.Duration{7 * time.Second, 7 * time.Second}},
		{"429 as an HTTP date", answer{status: 429, header: map[string]string{"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}}, notify.RateLimited, 3,
			[]string{"rate limited", "Retry-After 1m0s"}, []time.Duration{time.Minute, time.Minute}},
		{"429 with an unreadable Retry-After", answer{status: 429, header: map[string]string{"Retry-After": "soon"}}, notify.RateLimited, 3,
			[]string{"rate limited", "without a usable Retry-After"}, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}},
		{"429 without Retry-After", answer{status: 429}, notify.RateLimited, 3, []string{"rate limited"}, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}},
		{"hostile error string", answer{status: 400, body: hostile}, notify.Permanent, 1, []string{"HTTP 400", "[2J ]0;pwned"}, nil},
		{"endless error page", answer{status: 400, body: strings.Repeat("A", 1<<20)}, notify.Permanent, 1, []string{"AAAA…"}, nil},
		{"an answer that echoes the webhook's path", answer{status: 404, body: "gone: /services/T000/B000/hooksecret"}, notify.Permanent, 1, []string{"HTTP 404", "gone: [redacted]"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				tc.answer.write(w)
			}))
			defer srv.Close()
			s, rec := newTestSlack(Options{WebhookURL: secret.New(srv.URL + "/services/T000/B000/hooksecret")})
			_, err := s.Send(context.Background(), alertMessage())
			checkDelivery(t, err, tc.class, tc.want)
			if n := calls.Load(); n != int64(tc.calls) {
				t.Errorf("%d calls, want %d", n, tc.calls)
			}
			if got := rec.all(); !slices.Equal(got, tc.waits) {
				t.Errorf("waited %v between attempts, want %v", got, tc.waits)
			}
		})
	}
}

// checkDelivery checks err against the class wanted ("" for delivered) and
// the words it must hold, and that it is fit for a terminal and a log: one
// short printable line, without the webhook URL or the bot token.
func checkDelivery(t *testing.T, err error, class notify.Class, want []string) {
	t.Helper()
	if class == "" {
		if err != nil {
			t.Fatalf("not delivered: %v", err)
		}
		return
	}
	var de *notify.DeliveryError
	if !errors.As(err, &de) {
		t.Fatalf("error %v: want a *notify.DeliveryError", err)
	}
	if de.Class != class {
		t.Errorf("class %q, want %q (%v)", de.Class, class, err)
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q: want it to say %q", msg, w)
		}
	}
	for _, leak := range []string{"hooksecret", testBotToken, "strconv", "invalid syntax"} {
		if strings.Contains(msg, leak) {
			t.Errorf("error %q holds %q", msg, leak)
		}
	}
	if len(msg) > 400 {
		t.Errorf("error of %d bytes: want one short line", len(msg))
	}
	for _, r := range msg {
		if !unicode.IsGraphic(r) {
			t.Errorf("error carries the control character %U: %q", r, msg)
		}
	}
}

// A connection that drops in the middle of Slack's answer is an outage,
// retried: nothing says the message was posted.
func TestWebhookAnswerCutShortIsTransient(t *testing.T) {
	for _, reset := range []bool{false, true} {
		t.Run(fmt.Sprintf("reset=%v", reset), func(t *testing.T) {
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				conn, buf, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\no")
				_ = buf.Flush()
				if tcp, ok := conn.(*net.TCPConn); ok && reset {
					_ = tcp.SetLinger(0) // close with a reset, not a FIN
				}
				_ = conn.Close()
			}))
			defer srv.Close()
			s, _ := newTestSlack(Options{WebhookURL: secret.New(srv.URL + "/services/T000/B000/hooksecret")})
			_, err := s.Send(context.Background(), alertMessage())
			checkDelivery(t, err, notify.Transient, []string{"Slack"})
			if n := calls.Load(); n != int64(fastRetry.Attempts) {
				t.Errorf("%d calls, want %d: a cut answer is worth a retry", n, fastRetry.Attempts)
			}
		})
	}
}

// No Slack client follows a redirect: the message must not be re-posted to
// the host the Location names, with the webhook URL in its Referer.
func TestRedirectsAreNotFollowed(t *testing.T) {
	for _, mode := range []string{"webhook", "bot"} {
		t.Run(mode, func(t *testing.T) {
			var reached atomic.Int64
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached.Add(1)
				_, _ = io.WriteString(w, `ok`)
			}))
			defer other.Close()
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
			}))
			defer srv.Close()
			o := Options{WebhookURL: secret.New(srv.URL + "/services/T000/B000/hooksecret")}
			if mode == "bot" {
				o = Options{BotToken: secret.New(testBotToken), Channel: "#oncall", APIURL: srv.URL + "/api/"}
			}
			s, _ := newTestSlack(o)
			_, err := s.Send(context.Background(), alertMessage())
			checkDelivery(t, err, notify.Permanent, []string{"Slack answered a redirect (HTTP 307); redirects are not followed: check"})
			if n := reached.Load(); n != 0 {
				t.Errorf("the redirect target received %d requests", n)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("%d calls: a redirect is not worth a retry", n)
			}
		})
	}
}

// In bot mode Slack answers errors as ok:false with a code, and rate
// limits as HTTP 429 whose Retry-After slack-go cannot read as a date.
func TestBotErrors(t *testing.T) {
	okFalse := func(code string) answer {
		body, _ := json.Marshal(map[string]any{"ok": false, "error": code})
		return answer{status: 200, body: string(body), header: map[string]string{"Content-Type": "application/json"}}
	}
	backoff := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}
	tests := []struct {
		name   string
		answer answer
		class  notify.Class
		calls  int
		want   []string
		waits  []time.Duration
	}{
		{"invalid_auth", okFalse("invalid_auth"), notify.Permanent, 1, []string{"Slack says invalid_auth", "reinstall the Slack app and update slack.bot_token"}, nil},
		{"token_revoked", okFalse("token_revoked"), notify.Permanent, 1, []string{"Slack says token_revoked", "slack.bot_token"}, nil},
		{"not_in_channel", okFalse("not_in_channel"), notify.Permanent, 1, []string{"Slack says not_in_channel", "invite"}, nil},
		{"channel_not_found", okFalse("channel_not_found"), notify.Permanent, 1, []string{"Slack says channel_not_found", "slack.channel"}, nil},
		{"is_archived", okFalse("is_archived"), notify.Permanent, 1, []string{"Slack says is_archived"}, nil},
		{"missing_scope", okFalse("missing_scope"), notify.Permanent, 1, []string{"Slack says missing_scope", "chat:write"}, nil},
		{"restricted_action_read_only_channel", okFalse("restricted_action_read_only_channel"), notify.Permanent, 1, []string{"Slack says restricted_action_read_only_channel", "admin"}, nil},
		{"an unknown code", okFalse("brand_new_error"), notify.Permanent, 1, []string{"Slack says brand_new_error"}, nil},
		{"a hostile code", okFalse(hostile), notify.Permanent, 1, []string{"[2J ]0;pwned"}, nil},
		{"internal_error", okFalse("internal_error"), notify.Transient, 3, []string{"internal_error"}, backoff},
		{"ratelimited", okFalse("ratelimited"), notify.RateLimited, 3, []string{"rate limited"}, backoff},
		{"429 in seconds", answer{status: 429, header: map[string]string{"Retry-After": "3"}}, notify.RateLimited, 3, []string{"Retry-After 3s"}, []time.Duration{3 * time.Second, 3 * time.Second}},
		{"429 as an HTTP date", answer{status: 429, header: map[string]string{"Retry-After": "Wed, 21 Oct 2026 07:27:30 GMT"}}, notify.RateLimited, 3,
			[]string{"Retry-After 30s"}, []time.Duration{30 * time.Second, 30 * time.Second}},
		{"429 with an unreadable Retry-After", answer{status: 429, header: map[string]string{"Retry-After": "later"}}, notify.RateLimited, 3, []string{"rate limited"}, backoff},
		{"503", answer{status: 503}, notify.Transient, 3, []string{"HTTP 503"}, backoff},
		{"404: a wrong api_url", answer{status: 404, body: "not found"}, notify.Permanent, 1, []string{"HTTP 404", "slack.api_url"}, nil},
		{"200 that is not the API", answer{status: 200, body: "<html>login</html>"}, notify.Permanent, 1, []string{"could not be read", "slack.api_url"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				tc.answer.write(w)
			}))
			defer srv.Close()
			s, rec := newTestSlack(Options{BotToken: secret.New(testBotToken), Channel: "#oncall", APIURL: srv.URL + "/api/"})
			_, err := s.Send(context.Background(), alertMessage())
			checkDelivery(t, err, tc.class, tc.want)
			if n := calls.Load(); n != int64(tc.calls) {
				t.Errorf("%d calls, want %d", n, tc.calls)
			}
			if got := rec.all(); !slices.Equal(got, tc.waits) {
				t.Errorf("waited %v between attempts, want %v", got, tc.waits)
			}
		})
	}
}

// When the run is stopped (SIGTERM), Send gives up at once: the HTTP call
// in flight ends, a wait between attempts ends, and the message stays
// undelivered.
func TestSendStopsWhenTheRunStops(t *testing.T) {
	tests := []struct {
		name   string
		status int // Slack's answer; 0 means it holds the request until the stop
		retry  Retry
	}{
		{"while Slack hangs", 0, Retry{}},
		{"during a backoff wait", http.StatusServiceUnavailable, Retry{Attempts: 4, Backoff: time.Hour, MaxWait: 2 * time.Hour}},
		{"during a Retry-After wait", http.StatusTooManyRequests, Retry{Attempts: 4, Backoff: time.Second, MaxWait: 2 * time.Hour}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			release := make(chan struct{})
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				if tc.status == 0 {
					cancel() // SIGTERM arrives while Slack holds the request
					select {
					case <-release:
					case <-r.Context().Done():
					}
					return
				}
				w.Header().Set("Retry-After", "3600")
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			defer close(release)
			s := New(Options{WebhookURL: secret.New(srv.URL + "/services/T000/B000/hooksecret"), Retry: tc.retry,
				// SIGTERM arrives as the wait begins; the real timer-based
				// wait of an hour must end with it.
				Sleep: func(ctx context.Context, d time.Duration) error { cancel(); return sleep(ctx, d) }})

			done := make(chan error, 1)
			go func() { _, err := s.Send(ctx, alertMessage()); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Send still running 5s after the run was stopped")
			}
			if err == nil || !strings.Contains(err.Error(), "the run was stopped") || !errors.Is(err, context.Canceled) {
				t.Errorf("error %v: want one that says the run was stopped", err)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("%d calls: no retry may start once the run is stopped", n)
			}
		})
	}
}

// A retry never starts once the run is stopped, even when the stop comes
// as a wait ends.
func TestNoRetryAfterTheRunStops(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := New(Options{WebhookURL: secret.New(srv.URL), Retry: fastRetry,
		Sleep: func(context.Context, time.Duration) error { cancel(); return nil }})
	_, err := s.Send(ctx, alertMessage())
	if calls.Load() != 1 || err == nil || !strings.Contains(err.Error(), "the run was stopped") {
		t.Errorf("%d calls, error %v: want one call, then the stop", calls.Load(), err)
	}
	if !strings.Contains(err.Error(), "earlier: Slack answered HTTP 503") {
		t.Errorf("error %v: want the failure before the stop too", err)
	}
}

func TestWebhookUnreachableErrorHidesURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	hook := srv.URL + "/services/T000/B000/hooksecret"
	srv.Close()
	s, _ := newTestSlack(Options{WebhookURL: secret.New(hook)})
	_, err := s.Send(context.Background(), alertMessage())
	if err == nil || strings.Contains(err.Error(), "hooksecret") || !strings.Contains(err.Error(), "cannot reach Slack") {
		t.Fatalf("error %v: want a description without the URL", err)
	}
}

func TestLongRetryAfterIsLeftToTheNextRun(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(429)
	}))
	defer srv.Close()
	s, _ := newTestSlack(Options{WebhookURL: secret.New(srv.URL), Retry: Retry{Attempts: 3, MaxWait: 30 * time.Second}})
	_, err := s.Send(context.Background(), alertMessage())
	// Waiting an hour is not retrying: the message is left to the next run
	// at once, after the one attempt.
	if err == nil || calls.Load() != 1 || !strings.Contains(err.Error(), "Retry-After 1h0m0s") {
		t.Fatalf("error %v after %d calls: want one attempt, then the message left for the next run", err, calls.Load())
	}
}

// fakeBotAPI is a Slack Web API with chat.postMessage and chat.update.
type fakeBotAPI struct {
	mu      sync.Mutex
	posts   []map[string]string
	updates []map[string]string
	fail    int // answer this many calls with HTTP 500 first
	ts      int
}

func (f *fakeBotAPI) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	record := func(list *[]map[string]string, w http.ResponseWriter, r *http.Request) bool {
		_ = r.ParseForm()
		if r.Header.Get("Authorization") != "Bearer "+testBotToken && r.PostForm.Get("token") != testBotToken {
			t.Errorf("%s without the bot token", r.URL.Path)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.fail > 0 {
			f.fail--
			w.WriteHeader(500)
			return false
		}
		fields := map[string]string{}
		r.PostForm.Del("token")
		for k := range r.PostForm {
			fields[k] = r.PostForm.Get(k)
		}
		*list = append(*list, fields)
		return true
	}
	mux.HandleFunc("/api/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
		if !record(&f.posts, w, r) {
			return
		}
		f.mu.Lock()
		f.ts++
		ts := fmt.Sprintf("1700000000.%06d", f.ts)
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": "C0ONCALL", "ts": ts})
	})
	mux.HandleFunc("/api/chat.update", func(w http.ResponseWriter, r *http.Request) {
		if !record(&f.updates, w, r) {
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": r.PostForm.Get("channel"), "ts": r.PostForm.Get("ts")})
	})
	return mux
}

func TestBotThreadsAndMarksResolved(t *testing.T) {
	api := &fakeBotAPI{fail: 1} // the first call fails: retried
	srv := httptest.NewServer(api.handler(t))
	defer srv.Close()
	s, _ := newTestSlack(Options{BotToken: secret.New(testBotToken), Channel: "#delivery-oncall", APIURL: srv.URL + "/api/"})
	ctx := context.Background()

	thread, err := s.Send(ctx, alertMessage())
	if err != nil || thread == nil || thread.TS != "1700000000.000001" || thread.Channel != "C0ONCALL" {
		t.Fatalf("alert: thread %+v, error %v", thread, err)
	}
	reminder := notify.Message{Decision: notifytest.Decision(alert.KindReminder, checks.TypeCourier, checks.Invalid, 401, "token rejected"), Thread: thread}
	if _, err := s.Send(ctx, reminder); err != nil {
		t.Fatal(err)
	}
	resolved := notifytest.Decision(alert.KindResolved, checks.TypeCourier, checks.OK, 200, "token accepted")
	resolved.Previous = checks.Invalid
	if _, err := s.Send(ctx, notify.Message{Decision: resolved, Thread: thread}); err != nil {
		t.Fatal(err)
	}

	if len(api.posts) != 3 {
		t.Fatalf("%d posts, want 3", len(api.posts))
	}
	if api.posts[0]["channel"] != "#delivery-oncall" || api.posts[0]["thread_ts"] != "" {
		t.Errorf("the alert must open a thread in the channel: %v", api.posts[0]["thread_ts"])
	}
	for i, kind := range []string{"reminder", "resolution"} {
		p := api.posts[i+1]
		if p["thread_ts"] != thread.TS || p["channel"] != "C0ONCALL" {
			t.Errorf("the %s is not in the alert's thread: channel %q thread_ts %q", kind, p["channel"], p["thread_ts"])
		}
	}
	if len(api.updates) != 1 || api.updates[0]["ts"] != thread.TS || !strings.Contains(api.updates[0]["blocks"], "Resolved") {
		t.Errorf("the first message was not updated to show it is resolved: %v", api.updates)
	}
	if !strings.Contains(api.posts[0]["text"], "[ALERT]") || !strings.Contains(api.posts[0]["blocks"], "What to do") {
		t.Errorf("the alert lacks its fallback text or blocks")
	}
}

func TestSlackRequestsIdentifyTokenwatch(t *testing.T) {
	var ua string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua = r.Header.Get("User-Agent")
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	if _, err := New(Options{WebhookURL: secret.New(srv.URL)}).Send(context.Background(), alertMessage()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ua, "tokenwatch/") {
		t.Errorf("User-Agent %q", ua)
	}
}
