package notify

import (
	"time"
)

// Content is what a message says, before any medium's formatting: built
// once from a Message (Compose) or from many (ComposeSummary), rendered by
// each notifier in its own markup, and as plain text by Text. It holds no
// markup: what is tokenwatch's prose, what is a configured value and what
// are server words is said by each Span, and a renderer decides how each
// is shown.
type Content struct {
	Tone Tone
	// Headline is one line of plain text: the check and what happened.
	Headline string
	// Summary is the message in one line: for notification previews,
	// clients that show no layout, an alert's summary annotation.
	Summary Line
	// Facts are short label/value pairs (type, endpoint, status, since).
	Facts []Fact
	// Sections are the paragraphs, in order.
	Sections []Section
	// Items is a list, one entry per message of a summary.
	Items []Line
	// Notes are small print at the bottom, before Late and Footer.
	Notes []Note
	// Late is set when the message is delivered after the run that decided
	// it. Each notifier words why in its own note (Late.Line).
	Late *Late
	// Footer says where the message comes from: tokenwatch, the check, its type.
	Footer Line
}

// Tone is how a message's headline is flagged.
type Tone int

const (
	// Critical: a credential is rejected, or many messages need reading.
	Critical Tone = iota
	// Warning: an endpoint fails, or tokenwatch itself has news.
	Warning
	// Reminder: an alert still holds.
	Reminder
	// Recovered: an alert is over.
	Recovered
)

// IsAlert reports whether the tone asks on-call to act now.
func (t Tone) IsAlert() bool { return t == Critical || t == Warning }

// Fact is one short fact.
type Fact struct {
	Label string
	Value Line
}

// Section is one paragraph: a heading, the server's words quoted as they
// were, and tokenwatch's own lines (a runbook).
type Section struct {
	Heading string // tokenwatch's words; "" for none
	Quote   Line   // server words, shown as a quotation; nil for none
	Lines   []Line
}

// NoteKind says what a note is about, for a renderer that marks it (an icon).
type NoteKind int

const (
	// NoteSecretRotated: the check's secret changed since the alert began.
	NoteSecretRotated NoteKind = iota + 1
	// NoteSilenced: the check is silenced, or its silence has just ended.
	NoteSilenced
	// NoteSettled: the check was flapping, and its outcome has now held.
	NoteSettled
)

// Note is one line of small print.
type Note struct {
	Kind NoteKind
	Line Line
}

// Late says when a late message was decided and how much later it goes out.
type Late struct {
	DecidedAt time.Time
	By        time.Duration
}

// Line is the late note, with the notifier's own words for why the message
// could not go out earlier ("Slack could not be reached").
func (l Late) Line(because string) Line {
	return Line{Prose("Late: decided at " + Timestamp(l.DecidedAt) + ", delivered only now (" + Duration(l.By) + " later) because " + because + ".")}
}

// Line is one line of text, in spans.
type Line []Span

// Span is a piece of a line. Its Style says whose words it holds and how
// they stand out; a renderer chooses the markup.
type Span struct {
	Text  string
	Style Style
	// URL makes the span a link labelled Text; with no Text the URL itself
	// is shown (as code when Style is Code).
	URL string
}

// Style says what a span's text is.
type Style int

const (
	// Plain is tokenwatch's own prose, written as it is meant to be shown.
	Plain Style = iota
	// Strong is prose the reader must not miss.
	Strong
	// Emphasis sets prose apart, less loudly than Strong ("(late)").
	Emphasis
	// Setting is a configured value (an endpoint, a type): shown as it
	// is, never taken as markup.
	Setting
	// Code is text to copy as it is: a command, a key, a value.
	Code
	// Quoted is words tokenwatch did not write (a server's answer, an
	// error), shown verbatim, set apart, and never taken as markup.
	Quoted
)

// Prose, Value and Quote build the spans tokenwatch's own messages use most.
func Prose(s string) Span { return Span{Text: s} }

// Value is a configured value.
func Value(s string) Span { return Span{Text: s, Style: Setting} }

// Quote is server words; "" stays "" (nothing is shown).
func Quote(s string) Span { return Span{Text: s, Style: Quoted} }
