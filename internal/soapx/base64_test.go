package soapx

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// TestDecodeBase64: xs:base64Binary with any whitespace (spaces, tabs,
// line breaks) decodes to the bytes encoded, a bad one is refused, and a
// text without spaces or tabs — what peers send — is decoded in place,
// with no copy (one allocation, the result; two before).
func TestDecodeBase64(t *testing.T) {
	want := bytes.Repeat([]byte("СЭМД\x00\xff"), 300)
	enc := base64.StdEncoding.EncodeToString(want)
	var wrapped strings.Builder
	for i := 0; i < len(enc); i += 76 {
		wrapped.WriteString(enc[i:min(i+76, len(enc))] + "\r\n")
	}
	for name, text := range map[string]string{
		"plain": enc, "CRLF lines": wrapped.String(), "LF lines": strings.ReplaceAll(wrapped.String(), "\r", ""),
		"spaces and tabs": "  \t" + strings.ReplaceAll(wrapped.String(), "\r\n", " \n\t ") + " ",
	} {
		got, err := DecodeBase64([]byte(text))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v", name, len(got), err)
		}
	}
	if _, err := DecodeBase64([]byte("not base64!")); err == nil {
		t.Error("bad base64 accepted")
	}
	plain := []byte(wrapped.String())
	if n := testing.AllocsPerRun(20, func() { _, _ = DecodeBase64(plain) }); n != 1 {
		t.Errorf("%v allocations decoding base64 without spaces, want 1", n)
	}
}
