package logx_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/logx"
)

func TestMaskIdentifiers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"snils 11223344595 bad", "snils *** bad"},
		{"112-233-445 95", "***"},
		{`invalid input syntax for type uuid: "112-233-445-95"`, `invalid input syntax for type uuid: "***"`},
		{"enp=8451999122899990;", "enp=***;"},
		{"two: 11223344595, 8451999122899990", "two: ***, ***"},
		// Left alone: shorter numbers, OIDs, times, UUIDs, hex digests.
		{"1.2.643.5.1.13.13.12.2.86.3001", "1.2.643.5.1.13.13.12.2.86.3001"},
		{"2026-12-03 08:32:10.542086624 +0000 UTC", "2026-12-03 08:32:10.542086624 +0000 UTC"},
		{"01a23b08-495d-7670-8bfd-148502666512", "01a23b08-495d-7670-8bfd-148502666512"},
		{"sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"status 503 in 1234567890 ns", "status 503 in 1234567890 ns"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := logx.MaskIdentifiers(tt.in); got != tt.want {
			t.Errorf("MaskIdentifiers(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestRedactHandler: identifiers in the message, string and error
// attributes, groups and bound attributes are masked before writing.
func TestRedactHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(logx.NewRedact(slog.NewJSONHandler(&buf, nil)))
	err := fmt.Errorf("store: %w", errors.New(`duplicate key: "112-233-445 95"`))
	log.With(slog.String("patient", "11223344595")).Error("fetch of 8451999122899990 failed",
		slog.Any("error", err), slog.Group("peer", slog.String("fault", "ЕНП 8451999122899990 unknown")), slog.Int("attempt", 3))
	out := buf.String()
	for _, id := range []string{"11223344595", "112-233-445 95", "8451999122899990"} {
		if strings.Contains(out, id) {
			t.Fatalf("%s in %s", id, out)
		}
	}
	if strings.Count(out, "***") != 4 || !strings.Contains(out, `"attempt":3`) || !strings.Contains(out, `duplicate key`) {
		t.Fatalf("redacted record: %s", out)
	}
}
