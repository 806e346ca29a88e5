package config

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// slack reads the top-level slack section, and says its mode as written
// (a bot token whose variable is unset still means bot mode), for the
// checks' own slack keys.
func (p *parser) slack(n *yaml.Node) (*Slack, slackMode) {
	s := &Slack{APIURL: DefaultSlackAPIURL, MaxMessagesPerRun: DefaultMaxMessagesPerRun}
	var webhook, webhookFile, bot, botFile, apiURL *yaml.Node
	p.fields(n, "slack", map[string]func(*yaml.Node){
		"webhook_url":          func(v *yaml.Node) { webhook = v },
		"webhook_url_file":     func(v *yaml.Node) { webhookFile = v },
		"bot_token":            func(v *yaml.Node) { bot = v },
		"bot_token_file":       func(v *yaml.Node) { botFile = v },
		"channel":              func(v *yaml.Node) { s.Channel, _ = p.str(v, "channel") },
		"api_url":              func(v *yaml.Node) { apiURL = v },
		"max_messages_per_run": func(v *yaml.Node) { p.positive(v, "max_messages_per_run", &s.MaxMessagesPerRun) },
	})
	s.WebhookURL = p.secretPair("webhook_url", webhook, webhookFile)
	s.BotToken = p.secretPair("bot_token", bot, botFile)
	switch {
	case !s.WebhookURL.Empty() && !s.BotToken.Empty():
		p.errorf(n, "slack: set webhook_url or bot_token, not both")
	case !s.WebhookURL.Empty():
		where := webhook
		if where == nil {
			where = webhookFile
		}
		p.httpURL(where, "slack.webhook_url", s.WebhookURL.Reveal(), true)
	case !s.BotToken.Empty():
		if s.Channel == "" {
			p.errorf(n, "slack: bot_token needs a channel to post to")
		}
	case webhook == nil && webhookFile == nil && bot == nil && botFile == nil:
		p.errorf(n, "slack: set webhook_url (incoming webhook) or bot_token and channel")
	}
	if apiURL != nil {
		if raw, ok := p.str(apiURL, "api_url"); ok && p.httpURL(apiURL, "slack.api_url", raw, true) != nil {
			if !strings.HasSuffix(raw, "/") {
				raw += "/"
			}
			s.APIURL = raw
		}
	}
	if bot != nil || botFile != nil {
		return s, botSlack
	}
	return s, webhookSlack
}
