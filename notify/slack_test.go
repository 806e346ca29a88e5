package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/secret"
)

const testBotToken = "xoxb-test-bot-token-secret"

// fastRetry keeps retry tests quick; Retry-After is still honoured as sent.
var fastRetry = Retry{Attempts: 3, Backoff: 10 * time.Millisecond, MaxWait: 5 * time.Second}

// webhookServer answers each request with the next scripted status.
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
	}))
	t.Cleanup(srv.Close)
	return srv, &bodies
}

func alertMessage() Message {
	return Message{Decision: decision(alert.KindAlert, checks.TypeCourier, checks.Invalid, 401, "token rejected (HTTP 401)")}
}

func TestWebhookRetries(t *testing.T) {
	tests := []struct {
		name      string
		script    []int
		delivered bool
		minWait   time.Duration
	}{
		{"delivered at once", nil, true, 0},
		{"429 with Retry-After, then success", []int{429}, true, time.Second},
		{"500, then success", []int{500}, true, 0},
		{"503 twice, then success", []int{503, 503}, true, 0},
		{"500 on every attempt", []int{500, 500, 500, 500}, false, 0},
		{"400 is not retried", []int{400, 200}, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, bodies := webhookServer(t, tc.script...)
			hook := srv.URL + "/services/T000/B000/hooksecret"
			s := NewSlack(SlackOptions{WebhookURL: secret.New(hook), Retry: fastRetry})
			start := time.Now()
			_, err := s.Send(context.Background(), alertMessage())
			if (err == nil) != tc.delivered {
				t.Fatalf("error %v, want delivered=%v", err, tc.delivered)
			}
			if tc.delivered && len(*bodies) != 1 {
				t.Errorf("Slack got %d messages, want exactly 1", len(*bodies))
			}
			if time.Since(start) < tc.minWait {
				t.Errorf("retried before Retry-After")
			}
			if err != nil && strings.Contains(err.Error(), "hooksecret") {
				t.Errorf("error reveals the webhook URL: %v", err)
			}
		})
	}
}

func TestWebhookUnreachableErrorHidesURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	hook := srv.URL + "/services/T000/B000/hooksecret"
	srv.Close()
	s := NewSlack(SlackOptions{WebhookURL: secret.New(hook), Retry: fastRetry})
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
	s := NewSlack(SlackOptions{WebhookURL: secret.New(srv.URL), Retry: fastRetry})
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
	s := NewSlack(SlackOptions{BotToken: secret.New(testBotToken), Channel: "#delivery-oncall", APIURL: srv.URL + "/api/", Retry: fastRetry})
	ctx := context.Background()

	thread, err := s.Send(ctx, alertMessage())
	if err != nil || thread == nil || thread.TS != "1700000000.000001" || thread.Channel != "C0ONCALL" {
		t.Fatalf("alert: thread %+v, error %v", thread, err)
	}
	reminder := Message{Decision: decision(alert.KindReminder, checks.TypeCourier, checks.Invalid, 401, "token rejected"), Thread: thread}
	if _, err := s.Send(ctx, reminder); err != nil {
		t.Fatal(err)
	}
	resolved := decision(alert.KindResolved, checks.TypeCourier, checks.OK, 200, "token accepted")
	resolved.Previous = checks.Invalid
	if _, err := s.Send(ctx, Message{Decision: resolved, Thread: thread}); err != nil {
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
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ua = r.Header.Get("User-Agent") }))
	defer srv.Close()
	if _, err := NewSlack(SlackOptions{WebhookURL: secret.New(srv.URL)}).Send(context.Background(), alertMessage()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ua, "tokenwatch/") {
		t.Errorf("User-Agent %q", ua)
	}
}
