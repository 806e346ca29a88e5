package config

import (
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/tokenwatch/tokenwatch/internal/secret"
)

// A check's owner, team and Slack destination: who hears about it, and where.

// CheckSlack is where a check's Slack messages go instead of the slack
// section's default destination: a channel (bot mode), or an incoming
// webhook of its own (either mode). Exactly one is set.
type CheckSlack struct {
	Channel    string
	WebhookURL secret.Value
}

// slackMode is what the top-level slack section is, as written.
type slackMode int

const (
	noSlack slackMode = iota
	webhookSlack
	botSlack
)

// maxOwner bounds an owner: it is shown in every message about the check.
const maxOwner = 100

// owner reads a check's owner: free text, one printable line.
func (p *parser) owner(n *yaml.Node, where string) string {
	s, ok := p.str(n, "owner")
	switch {
	case !ok:
		return ""
	case s == "":
		p.errorf(n, "%s: owner is empty: name who answers for the check, or leave the key out", where)
	case utf8.RuneCountInString(s) > maxOwner:
		p.errorf(n, "%s: owner is longer than %d characters", where, maxOwner)
	case !printable(s):
		p.errorf(n, "%s: owner %s: use printable characters on one line", where, shown(n, s))
	default:
		return s
	}
	return ""
}

// printable reports whether s is valid UTF-8 of printable characters and
// ASCII spaces: no control, format (bidi) or line-breaking characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// team reads a check's team: a metric and Alertmanager label, so it takes
// a check name's characters.
func (p *parser) team(n *yaml.Node, where string) string {
	s, ok := p.str(n, "team")
	if ok && !checkName.MatchString(s) {
		p.errorf(n, "%s: team %s: use 1 to 63 characters of a-z, 0-9, _ and -", where, shown(n, s))
		return ""
	}
	return s
}

// checkSlack reads a check's own Slack destination. It needs the top-level
// section: that is where the messages about no single check go (a summary
// of too many messages, the state-reset notice), and where the delivery
// settings (retries, max_messages_per_run, api_url) come from.
func (p *parser) checkSlack(n *yaml.Node, where string, mode slackMode) *CheckSlack {
	s := &CheckSlack{}
	var channel, webhook, webhookFile *yaml.Node
	p.fields(n, where+": slack", map[string]func(*yaml.Node){
		"channel":          func(v *yaml.Node) { channel = v },
		"webhook_url":      func(v *yaml.Node) { webhook = v },
		"webhook_url_file": func(v *yaml.Node) { webhookFile = v },
	})
	hook := webhook
	if hook == nil {
		hook = webhookFile
	}
	switch {
	case mode == noSlack:
		p.errorf(n, "%s: slack needs the top-level slack section: summaries and notices go to its destination", where)
	case channel != nil && hook != nil:
		p.errorf(channel, "%s: slack: set channel or webhook_url, not both", where)
	case channel != nil && mode != botSlack:
		p.errorf(channel, "%s: slack.channel needs the slack section in bot mode (bot_token); an incoming webhook posts only to its own channel: give the check a webhook_url of its own", where)
	case channel != nil:
		if s.Channel, _ = p.str(channel, "channel"); s.Channel == "" {
			p.errorf(channel, "%s: slack.channel is empty", where)
		}
	case hook != nil:
		s.WebhookURL = p.secretPair("webhook_url", webhook, webhookFile)
		if !s.WebhookURL.Empty() {
			p.httpURL(hook, where+": slack.webhook_url", s.WebhookURL.Reveal(), true)
		}
	default:
		p.errorf(n, "%s: slack: set channel (bot mode) or webhook_url / webhook_url_file", where)
	}
	return s
}
