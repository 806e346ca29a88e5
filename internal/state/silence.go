package state

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Silence mutes the alerts and reminders of some checks until a time: on-call
// sets one for a partner's announced maintenance. It lives in the state file,
// so it holds across the runs of a CronJob, and ends by itself.
type Silence struct {
	// ID is 8 lower-case hex digits, unique in the file: what `silence
	// remove` takes.
	ID     string    `json:"id"`
	Checks []string  `json:"checks"`
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
	// By is who set it (the user running `silence add`, or --by).
	By      string    `json:"by"`
	Created time.Time `json:"created"`
}

// Bounds of a silence. A silence longer than MaxSilence is a forgotten one:
// the check would stay mute long after the maintenance it was meant for.
// The other bounds keep a hand-edited file from growing the state, or a
// terminal's screen, without limit.
const (
	MaxSilence         = 30 * 24 * time.Hour
	maxSilences        = 1000
	maxSilencedChecks  = 10000
	maxSilenceReason   = 1000
	maxSilenceBy       = 100
	silenceIDAttempts  = 16
	silenceIDHexDigits = 8
)

// silenceID is what an id looks like; silencedCheck is a check name as the
// config accepts them (internal/config/checks.go), so that nothing else can
// be smuggled into what status prints.
var (
	silenceID     = regexp.MustCompile(`^[0-9a-f]{8}$`)
	silencedCheck = regexp.MustCompile(`^[a-z0-9_-]{1,63}$`)
)

// AddSilence silences checks from now until until, and returns the new
// silence. Its id is random and unique in the file. Whether the checks are
// configured is for the caller to say; the rest is refused here, with what
// is wrong.
func (f *File) AddSilence(checks []string, until time.Time, reason, by string, now time.Time) (Silence, error) {
	if len(f.Silences) >= maxSilences {
		return Silence{}, fmt.Errorf("add silence: the state already holds %d silences, the most it keeps; remove some first", len(f.Silences))
	}
	names := slices.Clone(checks)
	slices.Sort(names)
	s := Silence{
		Checks:  slices.Compact(names),
		Until:   until.UTC(),
		Reason:  strings.TrimSpace(reason),
		By:      strings.TrimSpace(by),
		Created: now.UTC(),
	}
	id, err := f.newSilenceID()
	if err != nil {
		return Silence{}, fmt.Errorf("add silence: %w", err)
	}
	s.ID = id
	if p := s.problem(); p != "" {
		return Silence{}, fmt.Errorf("add silence: %s", p)
	}
	f.Silences = append(f.Silences, s)
	return s, nil
}

// newSilenceID draws ids until one is not taken yet.
func (f *File) newSilenceID() (string, error) {
	b := make([]byte, silenceIDHexDigits/2)
	for range silenceIDAttempts {
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("draw an id: %w", err)
		}
		id := hex.EncodeToString(b)
		if !slices.ContainsFunc(f.Silences, func(s Silence) bool { return s.ID == id }) {
			return id, nil
		}
	}
	return "", errors.New("draw an id: every id drawn was taken")
}

// RemoveSilence ends the silence with id at once, and says whether there was one.
func (f *File) RemoveSilence(id string) bool {
	n := len(f.Silences)
	f.Silences = slices.DeleteFunc(f.Silences, func(s Silence) bool { return s.ID == id })
	return len(f.Silences) < n
}

// ActiveSilences are the silences that have not ended at now, soonest-ending
// first (then by id, so the order is stable).
func (f *File) ActiveSilences(now time.Time) []Silence {
	var active []Silence
	for _, s := range f.Silences {
		if s.Until.After(now) {
			active = append(active, s)
		}
	}
	slices.SortFunc(active, func(a, b Silence) int {
		return cmp.Or(a.Until.Compare(b.Until), strings.Compare(a.ID, b.ID))
	})
	return active
}

// SilenceFor is the active silence covering check that ends last: the one
// that says how long the check stays mute (of two ending together, the one
// with the greater id, so the answer does not depend on the file's order).
// A run asks for every check, so it walks the silences once, sorting
// nothing and allocating nothing.
func (f *File) SilenceFor(check string, now time.Time) (Silence, bool) {
	var last Silence
	found := false
	for _, s := range f.Silences {
		if !s.Until.After(now) || !slices.Contains(s.Checks, check) {
			continue
		}
		if !found || cmp.Or(s.Until.Compare(last.Until), strings.Compare(s.ID, last.ID)) > 0 {
			last, found = s, true
		}
	}
	return last, found
}

// PruneSilences drops the silences that ended at or before now: a run calls
// it before saving, so the file does not keep them forever.
func (f *File) PruneSilences(now time.Time) {
	f.Silences = slices.DeleteFunc(f.Silences, func(s Silence) bool { return !s.Until.After(now) })
	if len(f.Silences) == 0 {
		f.Silences = nil
	}
}

// silencesProblem is what is wrong with the file's silences, naming the
// first offending one, or "".
func silencesProblem(silences []Silence) string {
	if len(silences) > maxSilences {
		return fmt.Sprintf("silences: %d, more than the %d the state keeps", len(silences), maxSilences)
	}
	seen := make(map[string]bool, len(silences))
	for i, s := range silences {
		if p := s.problem(); p != "" {
			return fmt.Sprintf("silences[%d].%s", i, p)
		}
		if seen[s.ID] {
			return fmt.Sprintf("silences[%d].id: %s is used twice", i, s.ID)
		}
		seen[s.ID] = true
	}
	return ""
}

// problem is what is wrong with one silence, as "field: why", or "".
func (s Silence) problem() string {
	switch {
	case !silenceID.MatchString(s.ID):
		return fmt.Sprintf("id: %q is not 8 lower-case hex digits", s.ID)
	case len(s.Checks) == 0:
		return "checks: a silence of no check"
	case len(s.Checks) > maxSilencedChecks:
		return fmt.Sprintf("checks: %d, more than the %d one silence may name", len(s.Checks), maxSilencedChecks)
	case s.Created.IsZero():
		return "created: missing"
	case !s.Until.After(s.Created):
		return "until: not after created"
	case s.Until.Sub(s.Created) > MaxSilence:
		return fmt.Sprintf("until: %s after created, more than the %s a silence may last", s.Until.Sub(s.Created), Days(MaxSilence))
	}
	for _, c := range s.Checks {
		if !silencedCheck.MatchString(c) {
			return fmt.Sprintf("checks: %q is not a check name ([a-z0-9_-], at most 63)", c)
		}
	}
	return first(textProblem("reason", s.Reason, maxSilenceReason), textProblem("by", s.By, maxSilenceBy))
}

// textProblem accepts one line of printable text, not blank, of at most
// limit bytes: it is printed on on-call's terminal and in messages, where
// a control character (an escape sequence) or a bidi override could rewrite
// what the screen shows.
func textProblem(field, text string, limit int) string {
	switch {
	case strings.TrimSpace(text) == "":
		return field + ": missing"
	case len(text) > limit:
		return fmt.Sprintf("%s: %d bytes, more than %d", field, len(text), limit)
	case !utf8.ValidString(text):
		return field + ": not UTF-8"
	case strings.IndexFunc(text, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0:
		return field + ": holds a control or formatting character"
	}
	return ""
}

// Days writes a duration of whole days as "N days", anything else as Go does:
// "31 days is more than the 30 days a silence may last" reads better than 744h0m0s.
func Days(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}
