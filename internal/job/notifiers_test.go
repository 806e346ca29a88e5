package job

import (
	"testing"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/notify"
)

// BuildNotifiers is the one place notifiers come from: one per configured
// section, none without one, each with the limit its section sets.
func TestBuildNotifiers(t *testing.T) {
	const checksOnly = "checks: [{name: c, type: courier, token: t}]\n"
	tests := []struct {
		name      string
		yaml      string
		want      []string
		maxPerRun int
	}{
		{"no notifier section", checksOnly, nil, 0},
		{"slack webhook", "slack: {webhook_url: https://hooks.slack.example/services/T/B/x, max_messages_per_run: 7}\n" + checksOnly, []string{"slack"}, 7},
		{"slack bot, default limit", "slack: {bot_token: xoxb-1, channel: '#oncall'}\n" + checksOnly, []string{"slack"}, config.DefaultMaxMessagesPerRun},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, problems := config.Parse("config.yaml", []byte(tt.yaml), config.OSEnv)
			if err := problems.Err(); err != nil {
				t.Fatal(err)
			}
			got := BuildNotifiers(cfg, nil, nil)
			var names []string
			for _, n := range got {
				names = append(names, n.Name())
			}
			if len(names) != len(tt.want) || (len(names) > 0 && names[0] != tt.want[0]) {
				t.Fatalf("notifiers %v, want %v", names, tt.want)
			}
			if len(got) > 0 && notify.MaxPerRun(got[0]) != tt.maxPerRun {
				t.Errorf("MaxPerRun %d, want %d (slack.max_messages_per_run)", notify.MaxPerRun(got[0]), tt.maxPerRun)
			}
		})
	}
}
