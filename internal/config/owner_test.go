package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	botSlackSection     = "slack: {bot_token: xoxb-1, channel: '#oncall'}\n"
	webhookSlackSection = "slack: {webhook_url: https://hooks.slack.com/services/T/B/default}\n"
)

// ownedCheck is a courier check with extra common keys (each line indented
// as a key of the check), from line 3 of a file whose first line is a slack
// section.
func ownedCheck(extra string) string {
	return "checks:\n  - name: c\n    type: courier\n    token: abcdefgh\n" + extra
}

// Owner, team and a check's own Slack destination are common keys of
// every check, read as written.
func TestOwnerTeamAndSlackPerCheck(t *testing.T) {
	dir := t.TempDir()
	hookFile := filepath.Join(dir, "hook")
	if err := os.WriteFile(hookFile, []byte("https://hooks.slack.com/services/T/B/from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, src                        string
		owner, team, channel, webhookURL string
	}{
		{"none", webhookSlackSection + ownedCheck(""), "", "", "", ""},
		{"owner and team", webhookSlackSection + ownedCheck("    owner: \"@acme-integration (Ann Lee)\"\n    team: partners\n"),
			"@acme-integration (Ann Lee)", "partners", "", ""},
		{"channel in bot mode", botSlackSection + ownedCheck("    slack: {channel: '#partner-acme'}\n"), "", "", "#partner-acme", ""},
		{"webhook of its own", webhookSlackSection + ownedCheck("    slack: {webhook_url: https://hooks.slack.com/services/T/B/own}\n"),
			"", "", "", "https://hooks.slack.com/services/T/B/own"},
		{"webhook of its own in bot mode", botSlackSection + ownedCheck("    slack: {webhook_url: https://hooks.slack.com/services/T/B/own}\n"),
			"", "", "", "https://hooks.slack.com/services/T/B/own"},
		{"webhook from a file", webhookSlackSection + ownedCheck("    slack: {webhook_url_file: "+hookFile+"}\n"),
			"", "", "", "https://hooks.slack.com/services/T/B/from-file"},
		{"owner from the environment", webhookSlackSection + ownedCheck("    owner: ${OWNER}\n"), "Ann <ann@example.com>", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, problems := Parse(filepath.Join(dir, "c.yaml"), []byte(tc.src), env(map[string]string{"OWNER": "Ann <ann@example.com>"}))
			if len(problems) > 0 {
				t.Fatalf("problems %v", problems)
			}
			c := cfg.Checks[0]
			if c.Owner != tc.owner || c.Team != tc.team {
				t.Errorf("owner %q team %q, want %q %q", c.Owner, c.Team, tc.owner, tc.team)
			}
			switch {
			case tc.channel == "" && tc.webhookURL == "":
				if c.Slack != nil {
					t.Errorf("slack %+v, want none (the default destination)", *c.Slack)
				}
			case c.Slack == nil:
				t.Errorf("no slack destination, want channel %q webhook %q", tc.channel, tc.webhookURL)
			case c.Slack.Channel != tc.channel || c.Slack.WebhookURL.Reveal() != tc.webhookURL:
				t.Errorf("slack channel %q webhook %q, want %q %q", c.Slack.Channel, c.Slack.WebhookURL.Reveal(), tc.channel, tc.webhookURL)
			}
		})
	}
}

// Every mistake in owner, team and a check's slack key is an error at its
// line, and a per-check webhook URL is never quoted.
func TestOwnerTeamAndSlackProblems(t *testing.T) {
	const secretHook = "https://hooks.slack.com/services/T/B/SECRETHOOK"
	tests := []struct {
		name, src string
		want      string
	}{
		{"bad team", webhookSlackSection + ownedCheck("    team: Partners Team\n"),
			`c.yaml:6:11: check c: team "Partners Team": use 1 to 63 characters of a-z, 0-9, _ and -`},
		{"team too long", webhookSlackSection + ownedCheck("    team: "+strings.Repeat("t", 64)+"\n"), `c.yaml:6:11: check c: team "tttt`},
		{"team a list", webhookSlackSection + ownedCheck("    team: [a, b]\n"), `c.yaml:6:11: team must be a single value`},
		{"empty owner", webhookSlackSection + ownedCheck("    owner: \"\"\n"), `c.yaml:6:12: check c: owner is empty`},
		{"owner on two lines", webhookSlackSection + ownedCheck("    owner: \"ann\\nbob\"\n"), `c.yaml:6:12: check c: owner "ann\nbob": use printable characters on one line`},
		{"owner with a bidi override", webhookSlackSection + ownedCheck("    owner: \"ann\\u202e\"\n"), `c.yaml:6:12: check c: owner "ann\u202e": use printable characters`},
		{"owner too long", webhookSlackSection + ownedCheck("    owner: "+strings.Repeat("a", 101)+"\n"), `c.yaml:6:12: check c: owner is longer than 100 characters`},
		{"channel without bot mode", webhookSlackSection + ownedCheck("    slack: {channel: '#a'}\n"),
			`c.yaml:6:22: check c: slack.channel needs the slack section in bot mode`},
		{"channel and webhook", botSlackSection + ownedCheck("    slack: {channel: '#a', webhook_url: "+secretHook+"}\n"),
			`c.yaml:6:22: check c: slack: set channel or webhook_url, not both`},
		{"per-check slack without a slack section", ownedCheck("    slack: {webhook_url: " + secretHook + "}\n"),
			`c.yaml:5:12: check c: slack needs the top-level slack section`},
		{"empty per-check slack", botSlackSection + ownedCheck("    slack: {}\n"), `c.yaml:6:12: check c: slack: set channel (bot mode) or webhook_url`},
		{"unknown per-check slack key", botSlackSection + ownedCheck("    slack: {chanel: '#a'}\n"), `c.yaml:6:13: check c: slack: unknown key "chanel" (did you mean "channel"?)`},
		{"empty channel", botSlackSection + ownedCheck("    slack: {channel: ''}\n"), `c.yaml:6:22: check c: slack.channel is empty`},
		{"bad per-check webhook", webhookSlackSection + ownedCheck("    slack: {webhook_url: \"ftp://x/SECRETHOOK\"}\n"),
			`c.yaml:6:26: check c: slack.webhook_url: want an absolute http:// or https:// URL`},
		{"webhook inline and from a file", webhookSlackSection + ownedCheck("    slack: {webhook_url: "+secretHook+", webhook_url_file: /x}\n"),
			`set webhook_url or webhook_url_file, not both`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := Parse("c.yaml", []byte(tc.src), env(nil))
			if !problems.HasErrors() {
				t.Fatalf("no error reported")
			}
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
				if strings.Contains(p.String(), "SECRETHOOK") {
					t.Errorf("problem reveals the webhook URL: %s", p)
				}
			}
			if all := strings.Join(got, "\n"); !strings.Contains(all, tc.want) {
				t.Errorf("problems\n%s\ndo not include\n%s", all, tc.want)
			}
		})
	}
}

// "tokenwatch" names messages about tokenwatch itself; no check may take it.
func TestReservedCheckName(t *testing.T) {
	src := "checks:\n  - {name: tokenwatch, type: courier, token: abcdefgh}\n"
	_, problems := Parse("c.yaml", []byte(src), func(string) (string, bool) { return "", false })
	if !problems.HasErrors() || !strings.Contains(problems[0].String(), `c.yaml:2:12: check name "tokenwatch" is tokenwatch's own`) {
		t.Fatalf("problems %v", problems)
	}
}
