package schematron

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/testtool"
)

// sameDOM reports whether two parses built the same nodes and names: the
// same structure and the same values, wherever each parser keeps them.
func sameDOM(a, b *Document) bool {
	if len(a.nodes) != len(b.nodes) || !slices.Equal(a.names, b.names) {
		return false
	}
	for i := range a.nodes {
		x, y := a.nodes[i], b.nodes[i]
		if a.value(&x) != b.value(&y) {
			return false
		}
		x.voff, x.vlen, y.voff, y.vlen = 0, 0, 0, 0
		if x != y {
			return false
		}
	}
	return true
}

// checkFast holds parseFast to the reference: when it accepts, encoding/xml
// accepts too and builds the same DOM.
func checkFast(t *testing.T, b []byte, lim semd.Limits) bool {
	t.Helper()
	fast := parseFast(b, lim)
	if fast == nil {
		return false
	}
	std, err := parseStd(b, lim)
	if err != nil {
		t.Fatalf("fast parse accepted what encoding/xml refuses (%v):\n%q", err, b)
	}
	if !sameDOM(fast, std) {
		t.Fatalf("fast parse and encoding/xml differ on:\n%q", b)
	}
	// The pooled parse (a parser and buffers that have parsed other
	// documents, the values left in b) builds the same DOM.
	own := slices.Clone(b)
	pooled := ParsePooled(own, lim)
	if pooled == nil {
		t.Fatalf("the pooled parse declined what the fast parse took:\n%q", b)
	}
	if !sameDOM(pooled, std) {
		t.Fatalf("pooled parse and encoding/xml differ on:\n%q", b)
	}
	pooled.Release()
	return true
}

// TestParsePooledStartsClean: a pooled parser's next document shares
// nothing with its last one. The same raw names under other namespaces at
// the same offsets must not hit the name cache of the previous document,
// and a released Document is empty (a use after Release fails rather than
// reading the next document).
func TestParsePooledStartsClean(t *testing.T) {
	docs := []string{
		`<p:r xmlns:p="u1"><p:x p:a="1"/><y/></p:r>`,
		`<p:r xmlns:p="u2"><p:x p:a="2"/><y/></p:r>`,
		`<p:r xmlns:p="u1" xmlns="d"><p:x p:a="3"/><y/></p:r>`,
		`<q:r xmlns:q="u3"><y/><q:x q:a="4"/></q:r>`,
	}
	for round := 0; round < 3; round++ {
		for _, s := range docs {
			b := []byte(s)
			want, err := parseStd(b, semd.DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			d := ParsePooled(b, semd.DefaultLimits)
			if d == nil || !sameDOM(d, want) {
				t.Fatalf("round %d: the pooled parse of %s differs from encoding/xml's", round, s)
			}
			d.Release()
			if len(d.nodes) != 0 || len(d.names) != 0 || d.src != "" {
				t.Fatalf("a released Document still holds its content: %d nodes", len(d.nodes))
			}
		}
	}
}

// TestParseFastTakesTheDoorsDocuments: every generated document of every
// kind, also with CRLF line ends, entities and comments, is parsed by the
// fast path (else the speed-up is void) into the reference's DOM.
func TestParseFastTakesTheDoorsDocuments(t *testing.T) {
	for ki, k := range officialKinds {
		for seed := uint64(1); seed <= 3; seed++ {
			x := semdgen.MustBuild(semdgen.Options{Kind: k, Rand: rand.New(rand.NewPCG(seed, uint64(ki)))}).XML
			variants := [][]byte{
				x,
				bytes.ReplaceAll(x, []byte("\n"), []byte("\r\n")),
				bytes.Replace(x, []byte("<title>"), []byte("<!-- a comment --><title>&lt;&amp;&gt;&quot;&apos;<!---->"), 1),
			}
			for i, v := range variants {
				if !checkFast(t, v, semd.DefaultLimits) {
					t.Errorf("%s seed %d variant %d: the fast parse declined a generated document", k, seed, i)
				}
			}
		}
	}
}

// TestParseFastNamesFollowTheScope: the fast parser caches a raw name's
// expanded name under the namespace scope; a prefix or default namespace
// declared again deeper, and going out of scope again, must resolve as
// encoding/xml resolves it, for elements and attributes alike.
func TestParseFastNamesFollowTheScope(t *testing.T) {
	for _, s := range []string{
		`<a xmlns:p="u1"><p:x p:y="1"/><b xmlns:p="u2"><p:x p:y="2"/></b><p:x p:y="3"/></a>`,
		`<a xmlns="d1"><x y="1"/><b xmlns="d2"><x y="2"/></b><x y="3"/></a>`,
		`<a xmlns:p="u1"><p:x/><b xmlns:p="u2"/><p:x/><c xmlns:p="u3"><p:x/></c><p:x/></a>`,
		`<a><x/><b xmlns="d"><x/></b><x/></a>`,
		"<p:a xmlns:p=\"u\"><c></c\t></p:a >",
	} {
		if !checkFast(t, []byte(s), semd.DefaultLimits) {
			t.Errorf("the fast parse declined %q", s)
		}
	}
}

// TestParseFastDeclines: constructs the fast path leaves to encoding/xml,
// which must then give its verdict (the errors and limits are its own).
func TestParseFastDeclines(t *testing.T) {
	for _, s := range []string{
		`<!DOCTYPE a><a/>`, `<a><![CDATA[x]]></a>`, `<a>&#65;</a>`, `<a><?pi x?></a>`,
		`<a>]]></a>`, `<a b="<"/>`, `<a:b:c/>`, `<é/>`, `<a></b>`, `<a>`, `<a/><b/>`, `x<a/>`,
		`<a><!-- -- --></a>`, "<a>\x00</a>", "<a b='\x00'/>",
		// end tags are compared with the start tag's raw name
		`<a></ab>`, `<ab></a>`, `<a></a:b>`, `<a:b xmlns:a="u"></a>`, `<a></a:>`, `<a></a/>`, `<a></a`, "<a></a\xd0\xb1>", `<?xml version="1.1"?><a/>`, `<?xml version="1.0" encoding="latin1"?><a/>`,
		`<a b="1"c="2"/>`, `<a b/>`, `<p:a/>`, "<a>\x01</a>", "<a>\xff</a>", `<a>&nbsp;</a>`,
		`<a xmlns:p="u" p:b="1" q:c="2"/>`,
		// broken two-byte sequences: a lead byte without its continuation
		"<a>\xd0</a>", "<a>\xd0A</a>", "<a b=\"\xd0\"/>", "<a>\xc0\x80</a>", "<a>\xd0\xd0</a>",
	} {
		if parseFast([]byte(s), semd.DefaultLimits) != nil {
			t.Errorf("fast parse accepted %q", s)
		}
	}
	lim := semd.Limits{MaxDepth: 2, MaxAttrs: 1, MaxAttrBytes: 3, MaxElements: 3}
	for _, s := range []string{`<a><b><c/></b></a>`, `<a x="1" y="2"/>`, `<a x="1234"/>`, `<a><b/><b/><b/></a>`} {
		if parseFast([]byte(s), lim) != nil {
			t.Errorf("fast parse accepted %q beyond the limits", s)
		}
		if _, err := ParseLimited([]byte(s), lim); err == nil {
			t.Errorf("%q beyond the limits parsed", s)
		}
	}
}

// FuzzParseFastAgreesWithStd: on any input, whenever the fast parse accepts,
// encoding/xml accepts and builds the same DOM.
//
//	go test ./internal/schematron -run XXX -fuzz FuzzParseFastAgreesWithStd -fuzztime 60s
func FuzzParseFastAgreesWithStd(f *testing.F) {
	f.Add([]byte(testDoc))
	f.Add(semdgen.MustBuild(semdgen.Options{Kind: "76", Rand: rand.New(rand.NewPCG(1, 1))}).XML)
	for _, s := range []string{
		`<?xml version="1.0" encoding="utf-8" standalone="yes"?><a xmlns="u" xmlns:p="v" p:x='1&amp;2' y="&lt;"> t&gt;<!--c-->u<p:b/>` + "\r\n" + `</a>`,
		`<a><b>x</b><b/>y</a>  <!-- end -->`, `<a xml:lang="ru">текст</a>`, `<a b = "1" c='"'/>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFast(t, b, semd.DefaultLimits)
		checkFast(t, b, semd.Limits{MaxDepth: 3, MaxAttrs: 2, MaxAttrBytes: 8, MaxElements: 6})
	})
}

// BenchmarkParsePooled121 is the door's parse of a 121 (ParsePooled, then
// Release): no copy of the document, the buffers reused. Compare with
// BenchmarkParse121 (a fresh Document each time).
//
//	go test ./internal/schematron -run XXX -bench 'Parse(Pooled)?121$' -cpu 1 -benchmem
func BenchmarkParsePooled121(b *testing.B) {
	raw, _ := doc121(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	c := testtool.CPUTime()
	for b.Loop() {
		d := ParsePooled(raw, semd.DefaultLimits)
		if d == nil {
			b.Fatal("the fast parser declined a generated 121")
		}
		d.Release()
	}
	reportCPU(b, c)
}
