package logx

import (
	"context"
	"log/slog"
	"strings"
)

// Redact is a slog.Handler that masks what looks like a СНИЛС or an ЕНП (any
// run of 11 or more digits, separators such as "-" and " " allowed between
// them) in the message and in every string and error attribute before the
// next handler writes them. The hub does not log identifiers on purpose (the
// request log masks them); this catches the ones that arrive by accident, in
// a database error echoing a value or a peer's fault text.
type Redact struct{ next slog.Handler }

// NewRedact wraps next.
func NewRedact(next slog.Handler) *Redact { return &Redact{next: next} }

// Enabled defers to the next handler.
func (h *Redact) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// WithAttrs masks the bound attributes once.
func (h *Redact) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = redactAttr(a)
	}
	return &Redact{next: h.next.WithAttrs(out)}
}

// WithGroup keeps redacting inside the group.
func (h *Redact) WithGroup(name string) slog.Handler { return &Redact{next: h.next.WithGroup(name)} }

// Handle masks r and passes it on.
func (h *Redact) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, MaskIdentifiers(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); s != MaskIdentifiers(s) {
			return slog.String(a.Key, MaskIdentifiers(s))
		}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, MaskIdentifiers(err.Error()))
		}
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, ga := range g {
			out[i] = redactAttr(ga)
		}
		return slog.Group(a.Key, out...)
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// minDigits is the shortest run masked: a СНИЛС has 11 digits, an ЕНП 16.
const minDigits = 11

// MaskIdentifiers replaces every run of at least 11 digits, possibly
// separated by single "-" or " " (112-233-445 95), with "***". Runs that
// are part of a hexadecimal token (a UUID's groups) are left alone.
func MaskIdentifiers(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		// A run: digits with single separators between them.
		j, digits, end := i, 0, i
		for j < len(s) {
			if isDigit(s[j]) {
				digits++
				j++
				end = j
				continue
			}
			if (s[j] == '-' || s[j] == ' ') && j+1 < len(s) && isDigit(s[j+1]) {
				j++
				continue
			}
			break
		}
		inHex := hexBefore(s, i) || hexAfter(s, end)
		if digits >= minDigits && !inHex {
			b.WriteString(s[last:i])
			b.WriteString("***")
			last = end
		}
		i = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// hexBefore tells whether the run at i continues a hexadecimal token: a hex
// letter right before it, or before a joining "-" (a UUID's last group).
func hexBefore(s string, i int) bool {
	return i > 0 && isHexLetter(s[i-1]) || i > 1 && s[i-1] == '-' && isHexLetter(s[i-2])
}

// hexAfter is hexBefore for the end of a run.
func hexAfter(s string, end int) bool {
	return end < len(s) && isHexLetter(s[end]) || end+1 < len(s) && s[end] == '-' && isHexLetter(s[end+1])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexLetter(c byte) bool { return c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
