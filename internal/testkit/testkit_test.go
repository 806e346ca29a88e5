package testkit

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The fake answers as Slack does: "ok" to a webhook, a numbered ts to a
// post; when refusing, the webhook's status and reason, or ok:false.
func TestSlackAcceptsRefusesAndRecords(t *testing.T) {
	s := NewSlack(t)
	post := func(u, body string) (int, string) {
		resp, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if code, body := post(s.WebhookURL("/services/T/B/x"), `{"text":"hi"}`); code != 200 || body != "ok" {
		t.Errorf("webhook: %d %q", code, body)
	}
	form := url.Values{"token": {"xoxb-secret"}, "channel": {"#c"}}.Encode()
	if _, body := post(s.APIURL()+"chat.postMessage", form); !strings.Contains(body, `"ts":"1700000000.000001"`) {
		t.Errorf("post: %q", body)
	}
	s.Refuse(404, func(path string) string { return "no_service " + path })
	if code, body := post(s.WebhookURL("/hook"), "{}"); code != 404 || body != "no_service /hook" {
		t.Errorf("refused webhook: %d %q", code, body)
	}
	if _, body := post(s.APIURL()+"chat.postMessage", form); !strings.Contains(body, `"ok":false`) {
		t.Errorf("refused post: %q", body)
	}
	calls := s.Take()
	if len(calls) != 4 || calls[0].Payload != `{"text":"hi"}` || calls[1].Form.Get("channel") != "#c" || strings.Contains(calls[1].Payload, "xoxb-secret") {
		t.Errorf("calls %+v: want all four, the bot token taken out", calls)
	}
	if len(s.Calls()) != 0 {
		t.Error("Take did not forget what it returned")
	}
}

func TestClockMovesOnlyWhenAdvanced(t *testing.T) {
	c := NewClock()
	start := c.Now()
	c.Advance(time.Hour)
	if got := c.Now().Sub(start); got != time.Hour {
		t.Errorf("advanced by %v, want 1h", got)
	}
}
