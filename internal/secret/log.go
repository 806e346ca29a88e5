package secret

import (
	"context"
	"fmt"
	"log/slog"
)

// LogHandler scrubs every registered secret from log messages and attribute
// values before they reach the wrapped handler: a last line of defence for an
// error string that quotes a URL or a server's echo of what it was sent.
type LogHandler struct {
	next     slog.Handler
	scrubber *Scrubber
}

// NewLogHandler wraps next so that nothing in s reaches it.
func NewLogHandler(next slog.Handler, s *Scrubber) *LogHandler {
	return &LogHandler{next: next, scrubber: s}
}

// Enabled implements slog.Handler.
func (h *LogHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	clean := slog.NewRecord(r.Time, r.Level, h.scrubber.Scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		clean.AddAttrs(h.scrubAttr(a))
		return true
	})
	return h.next.Handle(ctx, clean)
}

// WithAttrs implements slog.Handler.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.scrubAttr(a)
	}
	return &LogHandler{next: h.next.WithAttrs(clean), scrubber: h.scrubber}
}

// WithGroup implements slog.Handler.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return &LogHandler{next: h.next.WithGroup(name), scrubber: h.scrubber}
}

func (h *LogHandler) scrubAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.scrubber.Scrub(v.String()))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]any, len(group))
		for i, g := range group {
			clean[i] = h.scrubAttr(g)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		return slog.String(a.Key, h.scrubber.Scrub(fmt.Sprint(v.Any())))
	default:
		return slog.Attr{Key: a.Key, Value: v}
	}
}
