package schematron

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
)

// span is one element of a document as byte offsets: [start, tagEnd) is its
// start tag, [closeStart, end) its end tag (empty for <x/>).
type span struct {
	start, tagEnd, closeStart, end int
	depth                          int
}

func elementSpans(b []byte) ([]span, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	var (
		out   []span
		stack []int
	)
	for {
		off := int(dec.InputOffset())
		tok, err := dec.RawToken()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch tok.(type) {
		case xml.StartElement:
			stack = append(stack, len(out))
			out = append(out, span{start: off, tagEnd: int(dec.InputOffset()), depth: len(stack)})
		case xml.EndElement:
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			out[i].closeStart, out[i].end = off, int(dec.InputOffset())
		}
	}
}

var attrRE = regexp.MustCompile(`\s([A-Za-z:]+)="([^"]*)"`)

// badValues are what a careless МИС writes: an empty value, a code system
// nobody publishes, a date that is no date, a broken OID, a flag where a value
// belongs.
var badValues = []string{"", "1.2.643.5.1.13.13.99.2.999", "2024-13-45", "20241345", "1..2.643", "NI", "abc", "0", "true", "CD", "ST", "99999"}

// mutate breaks a document in one place, chosen by r: it removes an element,
// duplicates one, changes, removes or adds an attribute, or empties a text.
// It returns the mutated document and what it did.
func mutate(b []byte, r *rand.Rand) ([]byte, string) {
	spans, err := elementSpans(b)
	if err != nil || len(spans) < 2 {
		return b, "none"
	}
	sp := spans[1+r.IntN(len(spans)-1)]
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tag := b[sp.start:sp.tagEnd]
	attrs := attrRE.FindAllSubmatchIndex(tag, -1)
	switch op := r.IntN(7); {
	case op == 0:
		return cat(b[:sp.start], b[sp.end:]), fmt.Sprintf("remove element at %d", sp.start)
	case op == 1:
		return cat(b[:sp.end], b[sp.start:sp.end], b[sp.end:]), fmt.Sprintf("duplicate element at %d", sp.start)
	case (op == 2 || op == 3) && len(attrs) > 0:
		a := attrs[r.IntN(len(attrs))]
		v := badValues[r.IntN(len(badValues))]
		if r.IntN(3) == 0 && a[5] > a[4] { // damage the value instead: append or cut a character
			old := tag[a[4]:a[5]]
			if r.IntN(2) == 0 {
				v = string(old) + "x"
			} else {
				v = string([]rune(string(old))[:len([]rune(string(old)))-1])
			}
		}
		return cat(b[:sp.start+a[4]], []byte(v), b[sp.start+a[5]:]), fmt.Sprintf("set %s=%q at %d", tag[a[2]:a[3]], v, sp.start)
	case op == 4 && len(attrs) > 0:
		a := attrs[r.IntN(len(attrs))]
		if bytes.HasPrefix(tag[a[2]:a[3]], []byte("xmlns")) {
			return cat(b[:sp.start], b[sp.end:]), fmt.Sprintf("remove element at %d", sp.start)
		}
		return cat(b[:sp.start+a[0]], b[sp.start+a[1]:]), fmt.Sprintf("remove attribute %s at %d", tag[a[2]:a[3]], sp.start)
	case op == 5:
		at := sp.tagEnd - 1
		if bytes.HasSuffix(tag, []byte("/>")) {
			at = sp.tagEnd - 2
		}
		if bytes.Contains(tag, []byte(`nullFlavor=`)) {
			return cat(b[:sp.start], b[sp.end:]), fmt.Sprintf("remove element at %d", sp.start)
		}
		return cat(b[:sp.start+(at-sp.start)], []byte(` nullFlavor="NI"`), b[at:]), fmt.Sprintf("add nullFlavor at %d", sp.start)
	default:
		if sp.closeStart > sp.tagEnd && !bytes.Contains(b[sp.tagEnd:sp.closeStart], []byte("<")) {
			return cat(b[:sp.tagEnd], []byte(" "), b[sp.closeStart:]), fmt.Sprintf("empty text at %d", sp.start)
		}
		return cat(b[:sp.start], b[sp.end:]), fmt.Sprintf("remove element at %d", sp.start)
	}
}
