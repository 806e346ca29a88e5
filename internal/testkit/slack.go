package testkit

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Slack is a fake Slack: incoming webhooks on any path, and the Web API's
// chat.postMessage and chat.update under /api/. It records every call and
// answers as Slack does when it accepts ("ok", or {"ok":true} with a ts),
// until the test makes it refuse.
type Slack struct {
	*httptest.Server

	mu     sync.Mutex
	calls  []SlackCall
	posts  int
	refuse func(path string) (status int, reason string)
}

// SlackCall is one request the fake Slack received.
type SlackCall struct {
	// Path is the request's path: the webhook's, or /api/chat.postMessage.
	Path string
	// Payload is the body as sent, except that a Web API call's token is
	// taken out: the bot token authenticates to Slack itself, which is where
	// it belongs, so a test that scans payloads for secrets scans the rest.
	Payload string
	// Form is a Web API call's form, without the token; nil for a webhook.
	Form url.Values
}

// NewSlack starts a fake Slack that accepts everything, closed when the test ends.
func NewSlack(t testing.TB) *Slack {
	t.Helper()
	s := &Slack{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// WebhookURL is an incoming webhook URL of the fake, ending in path
// (for example "/services/T000/B000/XXXX").
func (s *Slack) WebhookURL(path string) string { return s.URL + path }

// APIURL is the fake's Web API base URL, for a bot token's api_url.
func (s *Slack) APIURL() string { return s.URL + "/api/" }

// Refuse makes the fake refuse every call from now on with reason(path):
// a webhook with that HTTP status and the reason as its body, a Web API
// call with HTTP 200 and {"ok":false,"error":reason}, as Slack does.
func (s *Slack) Refuse(status int, reason func(path string) string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = func(path string) (int, string) { return status, reason(path) }
}

// Accept makes the fake accept every call again.
func (s *Slack) Accept() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = nil
}

// Calls is every call received so far, in order.
func (s *Slack) Calls() []SlackCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SlackCall(nil), s.calls...)
}

// Take returns the calls received since the last Take, and forgets them.
func (s *Slack) Take() []SlackCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.calls
	s.calls = nil
	return out
}

// Payloads is the payload of every call received so far, in order.
func (s *Slack) Payloads() []string {
	var out []string
	for _, c := range s.Calls() {
		out = append(out, c.Payload)
	}
	return out
}

func (s *Slack) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	call := SlackCall{Path: r.URL.Path, Payload: string(body)}
	api := strings.HasPrefix(r.URL.Path, "/api/")
	if api {
		call.Form, _ = url.ParseQuery(string(body))
		call.Form.Del("token")
		call.Payload = call.Form.Encode()
	}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	refuse := s.refuse
	if api && refuse == nil && r.URL.Path == "/api/chat.postMessage" {
		s.posts++
	}
	posts := s.posts
	s.mu.Unlock()

	if refuse != nil {
		status, reason := refuse(r.URL.Path)
		if api {
			writeJSON(w, map[string]any{"ok": false, "error": reason})
			return
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reason)
		return
	}
	switch {
	case r.URL.Path == "/api/chat.update":
		writeJSON(w, map[string]any{"ok": true, "channel": call.Form.Get("channel"), "ts": call.Form.Get("ts")})
	case api:
		// Each accepted post gets the next ts, so a test can tell which
		// message a reply is threaded to.
		writeJSON(w, map[string]any{"ok": true, "channel": "C1", "ts": fmt.Sprintf("1700000000.%06d", posts)})
	default:
		_, _ = io.WriteString(w, "ok") // an incoming webhook's only success
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// BlockTexts is every "text" string in a decoded Block Kit tree (blocks as
// JSON decodes them into any), in document order: what Slack renders of
// the blocks, for tests that scan every rendered string.
func BlockTexts(blocks any) []string {
	var texts []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if s, ok := v[k].(string); ok && k == "text" {
					texts = append(texts, s)
				}
				walk(v[k])
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(blocks)
	return texts
}
