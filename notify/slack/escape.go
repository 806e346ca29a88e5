package slack

import (
	"strings"

	"github.com/tokenwatch/tokenwatch/notify"
)

// How words tokenwatch did not write are shown.
//
// Slack renders mrkdwn in sections, fields and context, and in a message's
// top-level text: the fallback of push notifications, where a <!channel>
// pings everyone. mrkdwn has no escape character, so server words (a
// verdict's detail, which quotes the partner's error, error_description or
// description, a courier 403 body, a Content-Type or a Retry-After; the
// reason of the state-reset notice; a summary's lines) are quoted verbatim
// inside an inline code span, where Slack applies no formatting: no *bold*,
// _italics_, ~strike~, emoji, links or mentions. Every such string goes
// through inert, wherever it lands, the fallback included:
//   - & < > become &amp; &lt; &gt; (Slack's rule, which holds inside code
//     too), so no <!channel>, <@U…>, <#C…> or <url|label> can form;
//   - a backtick, which would close the span and cannot be escaped, is
//     shown as ˋ (U+02CB MODIFIER LETTER GRAVE ACCENT);
//   - control and format characters (ANSI escapes, newlines that would end
//     the span, bidi overrides that reorder what is shown) are shown as Go
//     escapes (\x1b, \n, \u202e), as notify.Printable does for a terminal.
//
// A detail mixes tokenwatch's words with the server's, and notify cannot tell
// them apart: the whole detail is treated as server words. Check names are
// configuration ([a-z0-9_-]), but take the same path where they are cheap to.
// notify.Text, the plain-text renderer, shows the same words unformatted
// (but for ˋ) with their control characters escaped.

// inert quotes s in an inline code span that Slack shows as it is; "" stays "".
func inert(s string) string {
	if s == "" {
		return ""
	}
	return "`" + escape(strings.ReplaceAll(s, "`", "ˋ")) + "`"
}

// escape applies Slack's escaping of &, < and > (so that text cannot form a
// link or a mention) and shows control characters as notify.Printable does. It
// leaves formatting marks alone: for our own text and configured values.
func escape(s string) string {
	return entityEscaper.Replace(notify.Printable(s))
}

var entityEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
