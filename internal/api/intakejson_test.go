package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/intake"
)

// plainBody is an intake body as a МИС sends it: base64 of a document
// of n bytes and two signatures.
func plainBody(n int) []byte {
	doc := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("<x>текст</x>"), n/16+1))
	b, _ := json.Marshal(intake.Request{Kind: "119", LocalID: "loc-1", Document: doc, Signatures: []intake.SignatureRequest{
		{Role: "doctor", CMS: base64.StdEncoding.EncodeToString([]byte{0x30, 1, 2})},
		{Role: "organization", CMS: "MIIB"},
	}})
	return b
}

// intakeBodies are bodies of every shape the two paths must agree on:
// the plain form, and what sends a body to the general path (escapes,
// nulls, other types, unknown, duplicate and case-mismatched keys, NUL,
// invalid UTF-8, trailing data, truncation).
var intakeBodies = []string{
	string(plainBody(2000)),
	`{}`,
	` { "kind" : "119" , "local_id":"a", "document" : "QUFB", "signatures" : [ ] } `,
	"{\n\t\"kind\":\"119\",\r\n\"signatures\":[{}]}",
	`{"signatures":[{"role":"doctor"},{"cms":"AA=="},{"cms":"AA==","role":"organization"}]}`,
	`{"kind":"1\u0031"}`,
	`{"kind":"1\"2"}`,
	`{"kind":"1\\2"}`,
	`{"kind":"\u0000"}`,
	`{"kind":null}`,
	`{"signatures":null}`,
	`{"kind":119}`,
	`{"kind":true}`,
	`{"signatures":{}}`,
	`{"signatures":[null]}`,
	`{"signatures":["x"]}`,
	`{"urgent":true}`,
	`{"KIND":"1"}`,
	`{"Kind":"1"}`,
	`{"kind":"1","kind":"2"}`,
	`{"signatures":[{"role":"a","role":"b"}]}`,
	`{"signatures":[{"Role":"a"}]}`,
	`{"signatures":[{"key":"a"}]}`,
	"{\"kind\":\"\xff\"}",
	"{\"kind\":\"тест\"}",
	"\xef\xbb\xbf{}",
	`{"kind":"1"} {}`,
	`{"kind":"1"}x`,
	`{"kind":"1"`,
	`{"kind":"1",}`,
	`{"kind" "1"}`,
	`{,}`,
	`{"signatures":[{"role":"a"},]}`,
	`{"signatures":[{"role":"a"}`,
	`null`,
	`[]`,
	``,
	"{\"kind\":\"a\tb\"}",
	`{"local_id":"` + strings.Repeat("я", 100) + `"}`,
}

// TestDecodeIntakeAgrees: the one-pass reader and the general path give
// the same request or the same error for every shape of body, and the
// body a МИС sends takes the one pass.
func TestDecodeIntakeAgrees(t *testing.T) {
	for i, body := range intakeBodies {
		var got, want intake.Request
		gotErr := decodeIntake([]byte(body), &got)
		wantErr := decodeStrict([]byte(body), &want)
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Errorf("body %d %q: error %v, the general path's %v", i, clip(body), gotErr, wantErr)
			continue
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("body %d %q: read %+v, the general path %+v", i, clip(body), got, want)
		}
	}
	for _, body := range []string{intakeBodies[0], intakeBodies[2], intakeBodies[3], intakeBodies[4]} {
		var r intake.Request
		if err := readPlain([]byte(body), &r); err != nil {
			t.Errorf("%q: not read in one pass: %v", clip(body), err)
		}
	}
}

// TestDecodeIntakeAllocates: the common body costs a few allocations
// (its strings, the signatures' slice, the reader's closures), not the
// general path's tokens, maps and buffers (154 for this body).
func TestDecodeIntakeAllocates(t *testing.T) {
	body := plainBody(13000)
	var r intake.Request
	n := testing.AllocsPerRun(20, func() {
		if err := decodeIntake(body, &r); err != nil {
			t.Fatal(err)
		}
	})
	if n > 20 {
		t.Fatalf("%.0f allocations to read an intake body, want ≤ 20", n)
	}
}

// FuzzDecodeIntake: whatever the one-pass reader accepts, the general
// path accepts as the same request.
//
//	go test ./internal/api -run XXX -fuzz FuzzDecodeIntake -fuzztime 1m
func FuzzDecodeIntake(f *testing.F) {
	for _, b := range intakeBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var plain, general intake.Request
		if readPlain(body, &plain) != nil {
			return
		}
		if err := decodeStrict(body, &general); err != nil {
			t.Fatalf("%q: read in one pass, refused by the general path: %v", body, err)
		}
		if !reflect.DeepEqual(plain, general) {
			t.Fatalf("%q: one pass %+v, general %+v", body, plain, general)
		}
	})
}

// TestCanonicalBase64 holds the one-decode check to its definition: the
// strict decoding succeeds and encodes back to the same text.
func TestCanonicalBase64(t *testing.T) {
	cases := []string{"", "QQ==", "QUI=", "QUJD", "QR==", "QUJ=", "QQ", "QQ=", "QUJD\n", "QU\r\nJD", "QU JD", " QUJD", "QUJD ",
		"QQ==QQ==", "Q===", "====", "-_-_", "QUJD\r", "\nQUJD", "4pyTIMOgIGxhIG1vZGU="}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 { // random texts over the alphabet, padding and line breaks
		const alpha = "ABCabc019+/=\n\r -_"
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		b, err := base64.StdEncoding.Strict().DecodeString(s)
		want := err == nil && base64.StdEncoding.EncodeToString(b) == s
		got, ok := canonicalBase64(s)
		if ok != want || (ok && !bytes.Equal(got, b)) {
			t.Errorf("canonicalBase64(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
