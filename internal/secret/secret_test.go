package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const value = "y0_AgAAAAB-very-secret-token"

func TestValueNeverPrints(t *testing.T) {
	v := New(value)
	type holder struct {
		Token Value
		Other string
	}
	h := holder{Token: v, Other: "x"}
	var b bytes.Buffer
	for _, s := range []string{
		fmt.Sprint(v), fmt.Sprintf("%v %+v %#v %s %q %x", v, v, v, v, v, v),
		fmt.Sprintf("%+v %#v", h, h), v.String(), v.GoString(),
	} {
		b.WriteString(s)
	}
	raw, _ := json.Marshal(h)
	b.Write(raw)
	text, _ := v.MarshalText()
	b.Write(text)
	slog.New(slog.NewJSONHandler(&b, nil)).Info("msg", "token", v, "holder", h)
	if strings.Contains(b.String(), value) {
		t.Fatalf("the secret leaked: %s", b.String())
	}
	if v.Reveal() != value {
		t.Error("Reveal must return the secret")
	}
}

func TestFingerprint(t *testing.T) {
	// echo -n abc | sha256sum: ba7816bf8f01cfea...
	if got := Fingerprint("abc"); got != "ba7816bf" {
		t.Errorf("Fingerprint(abc) = %s", got)
	}
	if Fingerprint("") != "" || New("abc").Fingerprint() != "ba7816bf" {
		t.Error("fingerprint of an empty or wrapped secret")
	}
}

func TestScrubber(t *testing.T) {
	var s Scrubber
	s.Add("abc", "", "secret-one", "secret-one-longer", "secret-one")
	got := s.Scrub("a secret-one-longer and secret-one and abc")
	if got != "a [redacted] and [redacted] and abc" {
		t.Errorf("Scrub = %q: the longer secret must go whole, short values are left", got)
	}
	var nilScrubber *Scrubber
	if nilScrubber.Scrub("x") != "x" {
		t.Error("a nil scrubber must pass text through")
	}
}

func TestLogHandlerScrubs(t *testing.T) {
	var s Scrubber
	s.Add(value)
	var b bytes.Buffer
	logger := slog.New(NewLogHandler(slog.NewTextHandler(&b, nil), &s))
	logger.With("url", "https://hooks/"+value).WithGroup("g").Info("failed with "+value,
		"error", errors.New("Post https://x/"+value+": refused"), "n", 3, slog.Group("inner", "k", value))
	if strings.Contains(b.String(), value) || !strings.Contains(b.String(), "n=3") || !strings.Contains(b.String(), "[redacted]") {
		t.Errorf("log line: %s", b.String())
	}
}
