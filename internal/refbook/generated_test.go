package refbook

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"testing"

	"github.com/emdhub/hub/internal/semdgen"
)

// generatedKinds are the kinds the generator makes; the first four have
// official schematrons.
var generatedKinds = []string{"121", "58", "59", "76", "187", "130", "119", "75", "186", "110", "174", "77", "147", "158"}

// unheldInGenerated are the books the generator's documents name that the
// reference set lacks (shared/reference/README.md): warned, never passed.
var unheldInGenerated = map[string]map[string]bool{
	"121": {"1.2.643.5.1.13.13.99.2.991": true},
	"58":  {"1.2.643.5.1.13.13.11.1489": true},
	"59":  {"1.2.643.5.1.13.13.11.1489": true},
}

// TestGeneratedDocumentsPassTheBooks: 40 varied documents of every
// generated kind pass level 2 with the default settings — every code of a
// held book is in it, in a held version, with the book's displayName and
// full name (not invented: each such element carries both) — and the only
// warnings are the books the reference set lacks.
func TestGeneratedDocumentsPassTheBooks(t *testing.T) {
	books := bundled(t)
	for _, kind := range generatedKinds {
		t.Run(kind, func(t *testing.T) {
			codes := 0
			for n := range 40 {
				x := semdgen.MustBuild(semdgen.Varied(kind, 0xb00c5, n)).XML
				sc, err := ScanDocumentWith(books, DefaultSettings(), x)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range sc.Problems {
					t.Errorf("document %d: %s %s: %s", n, p.Code, p.Path, p.Message)
				}
				for _, w := range sc.Warnings {
					if !unheldInGenerated[kind][w.OID] || w.Reason != reasonNotHeld {
						t.Errorf("document %d: unexpected warning %+v", n, w)
					}
				}
				if len(unheldInGenerated[kind]) > 0 && len(sc.Warnings) == 0 {
					t.Errorf("document %d: the unheld books were passed silently", n)
				}
				codes += sc.Codes
				// Every coded element of a held book carries version, displayName and codeSystemName.
				s := scanner{d: x}
				var tg tag
				for {
					end, ok, err := s.next(&tg)
					if err != nil {
						t.Fatal(err)
					}
					if !ok {
						break
					}
					a := tg.attrs
					if end || a.null || len(a.code) == 0 || len(books.Versions(string(a.system))) == 0 {
						continue
					}
					if a.version == nil || a.display == nil || a.systemName == nil {
						t.Errorf("document %d: <%s code=%q codeSystem=%s> lacks codeSystemVersion, displayName or codeSystemName", n, tg.name, a.code, a.system)
					}
				}
			}
			if codes < 40*5 {
				t.Fatalf("only %d codes checked in 40 documents", codes)
			}
		})
	}
}

// TestScannerAgreesWithEncodingXML: the scanner sees the same start tags,
// in the same order, with the same attribute values, as encoding/xml, on
// generated documents of every kind and on hand-made awkward XML.
func TestScannerAgreesWithEncodingXML(t *testing.T) {
	docs := [][]byte{
		[]byte(`<?xml version="1.0"?><!-- <a code="x"/> --><!DOCTYPE r [<!ELEMENT r ANY>]><r><![CDATA[<b code="y"/>]]>` +
			`<?pi <c code="z"/>?><a:b xmlns:a="u" code='1' codeSystem = "2" displayName="&lt;&amp;&gt;&quot;&apos;&#1046;&#x416;"/>` +
			"<c\tcode=\"1\"\ncodeSystemName=\"a\tb\nc\r\nd\"></c></r>"),
	}
	for _, kind := range generatedKinds {
		for n := range 3 {
			docs = append(docs, semdgen.MustBuild(semdgen.Varied(kind, 0x5ca9, n)).XML)
		}
	}
	for i, x := range docs {
		want, err := viaEncodingXML(x)
		if err != nil {
			t.Fatalf("doc %d: %v", i, err)
		}
		var got []string
		s := scanner{d: x}
		var tg tag
		for {
			end, ok, err := s.next(&tg)
			if err != nil {
				t.Fatalf("doc %d: %v", i, err)
			}
			if !ok {
				break
			}
			if !end {
				got = append(got, describe(string(tg.name), tg.attrs))
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			for j := range min(len(got), len(want)) {
				if got[j] != want[j] {
					t.Fatalf("doc %d, element %d:\n got  %s\n want %s", i, j, got[j], want[j])
				}
			}
			t.Fatalf("doc %d: %d elements, want %d", i, len(got), len(want))
		}
	}
	// Truncated or broken input is an error, not a guess.
	for _, bad := range []string{`<a code="1`, `<a code=1/>`, `<a <!-- x`, `<a code/>`, `<a code="&bogus;"/>`} {
		if _, err := ScanDocument(&Books{}, []byte(bad)); err == nil {
			t.Errorf("%q scanned", bad)
		}
	}
}

func describe(name string, a attrs) string {
	if a.display != nil {
		a.display = decoded(a.display)
	}
	if a.systemName != nil {
		a.systemName = decoded(a.systemName)
	}
	f := func(b []byte) string {
		if b == nil {
			return "-"
		}
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%s code=%s system=%s version=%s sysname=%s display=%s root=%s ext=%s null=%v",
		name, f(a.code), f(a.system), f(a.version), f(a.systemName), f(a.display), f(a.root), f(a.ext), a.null)
}

// viaEncodingXML lists start tags as describe does, with encoding/xml
// (attribute whitespace normalised as XML 1.0 §3.3.3 says, which
// encoding/xml leaves to the caller).
func viaEncodingXML(x []byte) ([]string, error) {
	d := xml.NewDecoder(bytes.NewReader(x))
	var out []string
	norm := func(s string) []byte {
		return bytes.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, []byte(s))
	}
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		name := se.Name.Local
		if se.Name.Space != "" {
			name = se.Name.Space + ":" + name
		}
		var a attrs
		for _, at := range se.Attr {
			if at.Name.Space != "" {
				continue
			}
			v := norm(at.Value)
			switch at.Name.Local {
			case "code":
				a.code = v
			case "codeSystem":
				a.system = v
			case "codeSystemVersion":
				a.version = v
			case "codeSystemName":
				a.systemName = v
			case "displayName":
				a.display = v
			case "root":
				a.root = v
			case "extension":
				a.ext = v
			case "nullFlavor":
				a.null = true
			}
		}
		out = append(out, describe(name, a))
	}
}

// whitespaceRef is a character reference to a tab or a line end: such a
// reference is kept as the character (XML 1.0 §3.3.3), which
// viaEncodingXML's after-the-fact normalisation cannot tell from a literal one.
var whitespaceRef = regexp.MustCompile(`(?i)&#(0*9|0*10|0*13|x0*9|x0*a|x0*d);`)

// FuzzScanner: whatever encoding/xml tokenizes, the scanner reads with the
// same start tags and the same values of the attributes level 2 looks at.
func FuzzScanner(f *testing.F) {
	f.Add([]byte(`<a code="1" codeSystem='2' displayName="&lt;x&gt; &#1046;"><b:c xmlns:b="u" root="r" extension=""/></a>`))
	f.Add([]byte("<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"y\">]><a><!-- <b code=\"1\"/> --><![CDATA[<c/>]]><d\ncode\n=\n\"1\r\n2\"/></a>"))
	f.Fuzz(func(t *testing.T, x []byte) {
		if whitespaceRef.Match(x) {
			return
		}
		want, err := viaEncodingXML(x)
		if err != nil {
			return
		}
		var got []string
		s := scanner{d: x}
		var tg tag
		for {
			end, ok, err := s.next(&tg)
			if err != nil {
				t.Fatalf("encoding/xml reads it, the scanner fails: %v", err)
			}
			if !ok {
				break
			}
			if !end {
				got = append(got, describe(string(tg.name), tg.attrs))
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("got  %q\nwant %q", got, want)
		}
	})
}
