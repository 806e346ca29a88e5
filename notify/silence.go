package notify

import (
	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// Silenced says the silence a message's check is under, or has just come
// out of, in the words on-call reads at a glance: "silenced until
// 2026-11-22 04:00 UTC (ACME maintenance, by alice)", "maintenance window
// until ... (CRON_TZ=Europe/Moscow 0 2 * * 0)", "was silenced until ...".
// Nil when the message's check is under none. The reason, who set it and
// the window's schedule are values people wrote: shown as they are, never
// taken as markup.
func Silenced(d alert.Decision) Line {
	m := d.Silence
	if m == nil {
		return nil
	}
	what := "silenced"
	if m.Window {
		what = "in a maintenance window"
		if !d.SilenceEnded {
			what = "maintenance window"
		}
	}
	if d.SilenceEnded {
		what = "was " + what
	}
	l := Line{Prose(what + " until " + Timestamp(m.Until) + " (")}
	switch {
	case m.Reason == "":
		l = append(l, Prose("no reason given"))
	case m.Window:
		l = append(l, Span{Text: m.Reason, Style: Code})
	default:
		l = append(l, Value(m.Reason))
	}
	if m.By != "" {
		l = append(l, Prose(", by "), Value(m.By))
	}
	return append(l, Prose(")"))
}

// silenceNote is the small print of a message about a silenced check: the
// silence, and what it means for what on-call hears.
func silenceNote(d alert.Decision) Note {
	l := Silenced(d)
	l[0].Text = upperFirst(l[0].Text)
	if d.SilenceEnded {
		l = append(l, Prose(": nothing was sent about this check meanwhile; this is what it says now."))
	} else {
		l = append(l, Prose(": its alerts and reminders wait until then; a resolution is still sent."))
	}
	return Note{Kind: NoteSilenced, Line: l}
}

// withSilence adds the silence of d, if any, to its content: the summary
// (the one line a phone or Alertmanager shows) ends with it, and a note says
// what it means.
func withSilence(c Content, d alert.Decision) Content {
	l := Silenced(d)
	if l == nil {
		return c
	}
	c.Summary = append(append(c.Summary, Prose(" — ")), l...)
	c.Notes = append(c.Notes, silenceNote(d))
	return c
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
