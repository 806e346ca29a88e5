package checks

// Remedy is what on-call does about one outcome of one check: a runbook in
// lines of spans, neutral to any medium. A notifier renders it (Slack as
// mrkdwn, a terminal as plain text); the kind only says what is prose,
// what is code to copy, what stands out and what is a link.
type Remedy struct {
	Lines []Line `json:"lines,omitempty"`
}

// Line is one paragraph or numbered step of a runbook.
type Line []Span

// Span is a piece of a line. Text of a plain or strong span is tokenwatch's
// own prose, shown as written; anything taken from the configuration or an
// endpoint goes in a Code span, which renderers show verbatim.
type Span struct {
	Text   string `json:"text,omitempty"`
	Code   bool   `json:"code,omitempty"`   // text to copy as it is: a command, a key, a value
	Strong bool   `json:"strong,omitempty"` // what the reader must not miss
	// URL makes the span a link labelled Text; with no Text the URL itself
	// is shown (as code when Code is set).
	URL string `json:"url,omitempty"`
}

// Empty reports whether the remedy says nothing: the kind has no steps of
// its own for this outcome, and a notifier says its generic words.
func (r Remedy) Empty() bool { return len(r.Lines) == 0 }

// Prose, Code, Strong and Link build spans, so that a runbook reads as the
// sentences it holds.
func Prose(s string) Span { return Span{Text: s} }

// Code is text to copy as it is.
func Code(s string) Span { return Span{Text: s, Code: true} }

// Strong is prose the reader must not miss.
func Strong(s string) Span { return Span{Text: s, Strong: true} }

// Link is a link to url labelled label.
func Link(url, label string) Span { return Span{Text: label, URL: url} }

// CodeURL shows url itself as code, to copy when the link cannot be clicked.
func CodeURL(url string) Span { return Span{URL: url, Code: true} }
