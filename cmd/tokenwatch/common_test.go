package main

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// Flags may stand before, between and after positional arguments, in every
// spelling the flag package takes; "--" ends them.
func TestParseArgsFlagsAnywhere(t *testing.T) {
	type parsed struct {
		reason     string
		d          time.Duration
		strict     bool
		positional []string
	}
	for _, tc := range []struct {
		name string
		args []string
		want parsed
		code int // when the parse fails
	}{
		{"flags after the positional", []string{"partner-acme", "--for", "2h", "--reason", "maintenance"},
			parsed{"maintenance", 2 * time.Hour, false, []string{"partner-acme"}}, -1},
		{"flags before", []string{"--for", "2h", "--reason", "maintenance", "partner-acme"},
			parsed{"maintenance", 2 * time.Hour, false, []string{"partner-acme"}}, -1},
		{"flags between, one dash, with =", []string{"a", "-for=2h", "b", "--reason=x y", "c"},
			parsed{"x y", 2 * time.Hour, false, []string{"a", "b", "c"}}, -1},
		{"a boolean flag does not take the next argument", []string{"--strict", "a"},
			parsed{"", 0, true, []string{"a"}}, -1},
		{"a boolean flag set false", []string{"a", "--strict=false"},
			parsed{"", 0, false, []string{"a"}}, -1},
		{"a value that starts with a dash", []string{"a", "--reason", "-x-", "--for", "-1h"},
			parsed{"-x-", -time.Hour, false, []string{"a"}}, -1},
		{"-- ends the flags", []string{"--reason", "r", "--", "--for", "-"},
			parsed{"r", 0, false, []string{"--for", "-"}}, -1},
		{"a lone dash is positional", []string{"-", "--strict"},
			parsed{"", 0, true, []string{"-"}}, -1},
		{"no arguments", nil, parsed{}, -1},
		{"an unknown flag after a positional", []string{"a", "--nope"}, parsed{}, exitUsage},
		{"a flag without its value", []string{"a", "--for"}, parsed{}, exitUsage},
		{"a bad value", []string{"a", "--for", "soon"}, parsed{}, exitUsage},
		{"help after a positional", []string{"a", "--help"}, parsed{}, exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			var got parsed
			fs.StringVar(&got.reason, "reason", "", "")
			fs.DurationVar(&got.d, "for", 0, "")
			fs.BoolVar(&got.strict, "strict", false, "")
			positional, code, ok := parseArgs(fs, tc.args, io.Discard)
			if tc.code >= 0 {
				if ok || code != tc.code {
					t.Fatalf("ok %v, code %d; want a failed parse with code %d", ok, code, tc.code)
				}
				return
			}
			if !ok {
				t.Fatalf("parse failed with code %d", code)
			}
			got.positional = positional
			if got.reason != tc.want.reason || got.d != tc.want.d || got.strict != tc.want.strict || !slices.Equal(got.positional, tc.want.positional) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// A command that takes no positional argument still refuses one, wherever
// its flags stand, and names it.
func TestParseFlagsRefusesPositionals(t *testing.T) {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	config := fs.String("config", "", "")
	var stderr strings.Builder
	if code, ok := parseFlags(fs, []string{"--config", "c.yaml", "extra"}, &stderr); ok || code != exitUsage {
		t.Fatalf("ok %v, code %d", ok, code)
	}
	if !strings.Contains(stderr.String(), `unexpected argument "extra"`) {
		t.Errorf("stderr %q", stderr.String())
	}
	fs = flag.NewFlagSet("validate", flag.ContinueOnError)
	config = fs.String("config", "", "")
	if _, ok := parseFlags(fs, []string{"--config", "c.yaml"}, io.Discard); !ok || *config != "c.yaml" {
		t.Errorf("ok %v, config %q", ok, *config)
	}
}
