package config

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tokenwatch/tokenwatch/internal/safefile"
)

// A hostile file must be refused quickly; this deadline only turns a hang
// into a failure instead of a stuck test run, it asserts no timing.
const hangDeadline = 20 * time.Second

// memoryBound is far above what a refused document costs and far below
// what the documents below cost when they are expanded.
const memoryBound = 100 << 20

// bounded runs f in a goroutine and fails the test when f does not return
// before the deadline, or allocates more than memoryBound on the way.
func bounded(t *testing.T, what string, f func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), hangDeadline)
	defer cancel()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("%s did not return within %s", what, hangDeadline)
	}
	runtime.ReadMemStats(&after)
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > memoryBound {
		t.Fatalf("%s allocated %d MB", what, allocated>>20)
	}
}

// parseBounded is Parse under bounded.
func parseBounded(t *testing.T, src string) Problems {
	t.Helper()
	var problems Problems
	bounded(t, "Parse", func() { _, problems = Parse("c.yaml", []byte(src), env(nil)) })
	return problems
}

// mergeBomb is levels anchors, each merging ten copies of the one before.
func mergeBomb(levels int) string {
	var b strings.Builder
	b.WriteString("x0: &a0 {name: a, type: courier, token: abcdefgh}\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "x%d: &a%d {<<: [%s]}\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	fmt.Fprintf(&b, "checks:\n  - <<: *a%d\n", levels)
	return b.String()
}

// aliasBomb is the plain "billion laughs": lists of ten aliases to the list before.
func aliasBomb(levels int) string {
	var b strings.Builder
	b.WriteString("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	b.WriteString(courierCheck)
	return b.String()
}

// fanOut is one mapping of many keys, aliased by many checks: quadratic
// without any nesting of anchors.
func fanOut(n int) string {
	var b strings.Builder
	b.WriteString("x: &a {")
	for i := range n {
		fmt.Fprintf(&b, "k%d: v, ", i)
	}
	b.WriteString("name: a}\nchecks: [")
	b.WriteString(strings.TrimSuffix(strings.Repeat("*a, ", n), ", "))
	b.WriteString("]\n")
	return b.String()
}

// An alias inside the node it names is reported at the alias, whether it is
// merged (<<) or used as a value; the walk never starts.
func TestAliasCycleIsAPositionedProblem(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"merge of the mapping itself", "checks: [&a {name: a, type: courier, token: abc, <<: *a}]\n",
			`c.yaml:1:54: alias *a is inside the node it names: expanding it would never end`},
		{"merge of an enclosing mapping", "checks:\n  - &outer\n    name: c\n    type: courier\n    token: abcdefgh\n    alert: {<<: *outer}\n",
			`c.yaml:6:17: alias *outer is inside the node it names`},
		{"merge list", "checks:\n  - &c\n    <<: [{type: courier}, *c]\n    name: c\n    token: abcdefgh\n",
			`c.yaml:3:27: alias *c is inside the node it names`},
		{"plain value", "checks:\n  - &c\n    name: c\n    type: courier\n    token: abcdefgh\n    alert: *c\n",
			`c.yaml:6:12: alias *c is inside the node it names`},
		{"list in itself", "x: &l [a, *l]\n" + courierCheck,
			`c.yaml:1:11: alias *l is inside the node it names`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			problems := parseBounded(t, tc.src)
			if len(problems) != 1 || !strings.HasPrefix(problems[0].String(), tc.want) {
				t.Errorf("problems %v, want one starting %q", problems, tc.want)
			}
		})
	}
}

// Aliases and merge keys may repeat at most maxAliasNodes nodes; past that
// the document is refused at the alias that crossed the line, quickly and
// in little memory.
func TestAliasExpansionIsCapped(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"merge bomb", mergeBomb(7), `c.yaml:6:`},
		{"deeper merge bomb", mergeBomb(30), `c.yaml:6:`},
		{"billion laughs", aliasBomb(30), `c.yaml:5:`},
		{"fan-out", fanOut(400), `c.yaml:2:`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			problems := parseBounded(t, tc.src)
			want := fmt.Sprintf("aliases and merge keys repeat more than %d nodes", maxAliasNodes)
			if len(problems) != 1 || !strings.HasPrefix(problems[0].String(), tc.want) || !strings.Contains(problems[0].Message, want) {
				t.Errorf("problems %v, want one at %s... saying %q", problems, tc.want, want)
			}
		})
	}
}

// What a real configuration does with anchors stays far below the cap: a
// hundred checks merging shared settings and aliasing one alert policy.
func TestManyMergesAreNotABomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("x-partner: &partner\n  type: partner_oauth\n  host: https://partner.example.com\n  client_id: \"1\"\n  client_secret: abcdefgh\n  timeout: 5s\n  alert: &quiet {after_outages: 6, repeat_every: 12h, send_resolved: false}\n")
	b.WriteString("checks:\n")
	for i := range 100 {
		fmt.Fprintf(&b, "  - <<: *partner\n    name: p%d\n    alert: *quiet\n", i)
	}
	problems := parseBounded(t, b.String())
	// The anchor's home is an unknown key: that is the one problem.
	if len(problems) != 1 || !strings.Contains(problems[0].Message, `unknown key "x-partner"`) {
		t.Errorf("problems %v", problems)
	}
}

// yaml.v3 guards its own alias expansion only when decoding into Go values;
// decoding into a yaml.Node, as Parse does, must not expand at all.
func TestYAMLNodeDecodeDoesNotExpand(t *testing.T) {
	for _, src := range []string{mergeBomb(40), aliasBomb(40)} {
		bounded(t, "yaml.Unmarshal", func() {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
				t.Errorf("yaml.Unmarshal: %v", err)
			}
		})
	}
}

// Every file the configuration names is read bounded: a device, a FIFO
// nobody writes, a directory or a huge file is refused at the key's line,
// saying what is wrong, without blocking.
func TestFilesAreReadBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge")
	if err := os.WriteFile(huge, []byte(strings.Repeat("x", 64<<10+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	hugeCA := filepath.Join(dir, "huge-ca.pem")
	if err := os.WriteFile(hugeCA, []byte(strings.Repeat("x", safefile.MaxConfig+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	files := []struct{ name, path, want string }{
		{"device", "/dev/zero", "/dev/zero: not a regular file (a character device)"},
		{"fifo", fifo, fifo + ": not a regular file (a FIFO)"},
		{"directory", dir, dir + ": not a regular file (a directory)"},
		{"huge", huge, huge + ": file too large (65537 bytes, at most 65536)"},
	}
	keys := []struct{ name, src, pos string }{
		{"token_file", "checks:\n  - name: c\n    type: courier\n    token_file: %s\n", "c.yaml:4:17: token_file: "},
		{"client_secret_file", "checks:\n  - name: p\n    type: partner_oauth\n    host: https://p.example\n    client_id: \"1\"\n    client_secret_file: %s\n", "c.yaml:6:25: client_secret_file: "},
		{"webhook_url_file", "slack:\n  webhook_url_file: %s\n" + courierCheck, "c.yaml:2:21: webhook_url_file: "},
		{"bot_token_file", "slack:\n  bot_token_file: %s\n  channel: c\n" + courierCheck, "c.yaml:2:19: bot_token_file: "},
		{"heartbeat url_file", "heartbeat:\n  url_file: %s\n" + courierCheck, "c.yaml:2:13: url_file: "},
		{"ca_file", courierCheck + "    ca_file: %s\n", "c.yaml:6:14: ca_file: "},
	}
	for _, k := range keys {
		for _, f := range files {
			t.Run(k.name+"/"+f.name, func(t *testing.T) {
				want := f.want
				if k.name == "ca_file" && f.name == "huge" {
					// A CA bundle may be as large as a configuration.
					f.path, want = hugeCA, hugeCA+fmt.Sprintf(": file too large (%d bytes, at most %d)", safefile.MaxConfig+1, safefile.MaxConfig)
				}
				problems := parseBounded(t, fmt.Sprintf(k.src, f.path))
				all := fmt.Sprint(problems)
				if !strings.Contains(all, k.pos) || !strings.Contains(all, want) {
					t.Errorf("problems %s\nwant %s...%s", all, k.pos, want)
				}
			})
		}
	}
}

// --config itself is read bounded too.
func TestConfigFileIsReadBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.yaml")
	if err := os.WriteFile(huge, []byte(courierCheck+strings.Repeat("#", safefile.MaxConfig)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path, want string }{
		{"device", "/dev/zero", "/dev/zero: read configuration: /dev/zero: not a regular file (a character device)"},
		{"fifo", fifo, fifo + ": read configuration: " + fifo + ": not a regular file (a FIFO)"},
		{"huge", huge, huge + ": read configuration: " + huge + ": file too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var problems Problems
			bounded(t, "Load", func() { _, problems = Load(tc.path, env(nil)) })
			if len(problems) != 1 || !strings.HasPrefix(problems[0].String(), tc.want) {
				t.Errorf("Load(%s): %v, want %q", tc.path, problems, tc.want)
			}
		})
	}
}
