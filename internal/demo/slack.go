package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/tokenwatch/tokenwatch/notify/slack"
)

// FakeSlack is an incoming-webhook endpoint that keeps what it receives.
type FakeSlack struct {
	*httptest.Server
	mu       sync.Mutex
	received []json.RawMessage
}

// StartFakeSlack starts a fake Slack webhook on 127.0.0.1.
func StartFakeSlack() *FakeSlack {
	f := &FakeSlack{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || !json.Valid(body) {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.received = append(f.received, body)
		f.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	return f
}

// WebhookURL is the URL to configure as slack.webhook_url.
func (f *FakeSlack) WebhookURL() string { return f.URL + "/services/TDEMO/BDEMO/demo" }

// Take returns the payloads received since the last call.
func (f *FakeSlack) Take() []json.RawMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.received
	f.received = nil
	return out
}

// RenderPayload shows a Block Kit payload as Slack would lay it out, as
// plain text for a terminal.
func RenderPayload(raw json.RawMessage) string {
	var msg struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Text string `json:"text"`
			} `json:"text"`
			Fields []struct {
				Text string `json:"text"`
			} `json:"fields"`
			Elements []struct {
				Text string `json:"text"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(raw, &msg); err != nil {
		return "(unreadable payload)\n"
	}
	var b strings.Builder
	b.WriteString("┌" + strings.Repeat("─", 78) + "\n")
	line := func(s string) {
		for _, l := range strings.Split(slack.Plain(s), "\n") {
			fmt.Fprintf(&b, "│ %s\n", l)
		}
	}
	for _, blk := range msg.Blocks {
		switch blk.Type {
		case "header":
			title := slack.Plain(blk.Text.Text)
			line(title)
			line(strings.Repeat("▔", min(len([]rune(title)), 76)))
		case "section":
			if blk.Text != nil {
				line(blk.Text.Text)
			}
			for i := 0; i < len(blk.Fields); i += 2 {
				left := field(blk.Fields[i].Text)
				right := ""
				if i+1 < len(blk.Fields) {
					right = field(blk.Fields[i+1].Text)
				}
				line(fmt.Sprintf("%-38s %s", left, right))
			}
		case "context":
			for _, e := range blk.Elements {
				line("  " + e.Text)
			}
		}
		b.WriteString("│\n")
	}
	b.WriteString("└" + strings.Repeat("─", 78) + "\n")
	return b.String()
}

// field shows a "*Label*\nvalue" field on one line: "Label: value".
func field(mrkdwn string) string {
	label, value, _ := strings.Cut(slack.Plain(mrkdwn), "\n")
	return label + ": " + value
}
