package config

import (
	"strings"
	"testing"
)

// maxFuzzInput keeps each input near the size of a real configuration, so
// that a slow or hungry parse shows up as a finding and not as the cost of
// a huge input.
const maxFuzzInput = 64 << 10

// fuzzSecret is in every variable of the fuzz environment: a problem that
// contains it has printed an expanded value.
const fuzzSecret = "FUZZ-SECRET"

// FuzzParse feeds arbitrary bytes to Parse. It must not panic, hang or blow
// up (aliases and merge keys included); every problem must point into the
// file; a value from the environment never appears in a problem; and a
// configuration without errors must have checks to run. The seed corpus
// is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	vars := env(map[string]string{
		"COURIER_TOKEN":      "y0_" + fuzzSecret,
		"ACME_CLIENT_ID":     "id-" + fuzzSecret,
		"ACME_CLIENT_SECRET": "s-" + fuzzSecret,
		"SLACK_WEBHOOK_URL":  "https://hooks.slack.com/services/T/B/" + fuzzSecret,
		"STATE_DIRECTORY":    "/var/lib/" + fuzzSecret,
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			t.Skip("larger than a configuration")
		}
		cfg, problems := Parse("fuzz.yaml", data, vars)
		for _, p := range problems {
			if p.File != "fuzz.yaml" || p.Line < 1 || p.Col < 1 {
				t.Errorf("problem not positioned in the file: %#v", p)
			}
			if strings.Contains(p.Message, fuzzSecret) {
				t.Errorf("problem shows a value from the environment: %s", p)
			}
		}
		if !problems.HasErrors() && (cfg == nil || len(cfg.Checks) == 0) {
			t.Errorf("no errors, but no checks either: %v", problems)
		}
	})
}
