package saxon

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/testtool"
)

// needSaxon skips without Saxon, except in CI, where the oracle must run.
func needSaxon(t testing.TB) {
	t.Helper()
	testtool.Require(t, "Saxon-HE", Available())
}

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const cd = "/Q{urn:hl7-org:v3}ClinicalDocument[1]"

// TestConstructs runs the hand-written schema over three documents whose
// failures were worked out by hand: first rule wins within a pattern,
// patterns are independent, phases, lets at three levels, value-of and name,
// emph, namespaces (sch:ns, CDA as the default element namespace, namespaced
// attributes), abstract rules, contexts on the document node, attributes and
// text nodes (whitespace text counted), the bracket (array) comparison,
// duplicates kept, sorted output.
func TestConstructs(t *testing.T) {
	needSaxon(t)
	s, err := Compile(filepath.Join("testdata", "constructs.sch"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Run([][]byte{read(t, "constructs-1.xml"), read(t, "constructs-2.xml"), read(t, "constructs-3.xml")})
	if err != nil {
		t.Fatal(err)
	}
	h := func(s string) string { return cd + "/Q{urn:hl7-org:v3}" + s }
	flag := cd + "/Q{urn:test:ext}flag[1]"
	want := [][]Failure{
		{
			{"assert", "D1", "nodes", "/", "the document has 4 items, not 3"},
			{"assert", "", "dup", h("code[1]"), "same"},
			{"assert", "", "dup", h("code[1]"), "same"},
			{"assert", "A1", "first", h("item[1]"), "item a: n=5 must exceed 10"},
			{"assert", "A2", "first", h("item[2]"), "item b: n=50 must exceed 100"},
			{"assert", "A1", "first", h("item[3]"), "item a: n=1 must exceed 10"},
			{"assert", "L1", "lets", h("item[3]"), "n=1 below 3 in document X1"},
			{"assert", "B1", "abs", h("section[1]"), "element section needs @code"},
			{"assert", "B2", "abs", h("section[1]"), "code must have 2 characters"},
			{"assert", "N1", "ns", flag, "ext:flag value maybe is not a boolean (BL)"},
			{"report", "N2", "ns", flag + "/@value", "attribute value of ext:flag seen"},
			{"report", "T1", "nodes", flag + "/text()[1]", "text node inside flag"},
			{"report", "T2", "nodes", cd + "/text()[2]", "loose text, values: 5 50 1 200"},
		},
		nil,
		// No namespace: unprefixed names are CDA, so only the rule on "/" fires.
		{{"assert", "D1", "nodes", "/", "the document has 0 items, not 3"}},
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("document %d:\n got %q\nwant %q", i+1, got[i], want[i])
		}
	}
}

// TestNoDefaultNamespace: with CompileWith and no default element namespace,
// unprefixed names are in no namespace, as ISO Schematron has it.
func TestNoDefaultNamespace(t *testing.T) {
	needSaxon(t)
	s, err := CompileWith(filepath.Join("testdata", "constructs.sch"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Run([][]byte{read(t, "constructs-3.xml")})
	if err != nil {
		t.Fatal(err)
	}
	want := []Failure{
		{"assert", "D1", "nodes", "/", "the document has 1 items, not 3"},
		{"assert", "A1", "first", "/Q{}ClinicalDocument[1]/Q{}item[1]", "item a: n=1 must exceed 10"},
		{"assert", "L1", "lets", "/Q{}ClinicalDocument[1]/Q{}item[1]", "n=1 below 3 in document X3"},
	}
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("got %q\nwant %q", got[0], want)
	}
}

// TestRunErrors: a dynamic XPath error or a document that is not
// well-formed fails the run, naming the document; the others do not hide it.
func TestRunErrors(t *testing.T) {
	needSaxon(t)
	sch := filepath.Join(t.TempDir(), "ebv.sch")
	err := os.WriteFile(sch, []byte(`<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <pattern><rule context="x"><assert test="if (@b) then (string(@a), string(@b)) else @a">two strings have no boolean value</assert></rule></pattern>
</schema>`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s, err := CompileWith(sch, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		bad  string
	}{
		{"dynamic error", `<x a="1" b="2"/>`},
		{"not well-formed", `<x a="1">`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Run([][]byte{[]byte(`<x a="1"/>`), []byte(tc.bad), []byte(`<x/>`)})
			if err == nil || !strings.Contains(err.Error(), "failed on documents 1 ") {
				t.Fatalf("err = %v, want a failure of document 1", err)
			}
		})
	}
	got, err := s.Run([][]byte{[]byte(`<x a="1"/>`), []byte(`<x/>`)})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]Failure{nil, {{"assert", "", "", "/Q{}x[1]", "two strings have no boolean value"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestConvertRefuses: constructs the converter does not implement fail
// loudly at Compile instead of silently changing the results.
func TestConvertRefuses(t *testing.T) {
	wrap := func(body string) string {
		return `<schema xmlns="http://purl.oclc.org/dsdl/schematron" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" queryBinding="xslt2">` + body + `</schema>`
	}
	for _, tc := range []struct{ name, sch, want string }{
		{"not schematron", `<schema/>`, "root is not sch:schema"},
		{"query binding", `<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="exslt"/>`, `unsupported queryBinding "exslt"`},
		{"include", wrap(`<include href="x.sch"/>`), "unsupported sch:include"},
		{"abstract pattern", wrap(`<pattern abstract="true" id="p"><rule context="a"><assert test="$x">x</assert></rule></pattern>`), "abstract patterns"},
		{"is-a", wrap(`<pattern is-a="p"><param name="x" value="1"/></pattern>`), "abstract patterns"},
		{"param", wrap(`<pattern><param name="x" value="1"/></pattern>`), "unsupported sch:param"},
		{"embedded xslt", wrap(`<xsl:key name="k" match="a" use="@id"/>`), "embedded XSLT (xsl:key)"},
		{"rule without context", wrap(`<pattern><rule><assert test="1">x</assert></rule></pattern>`), "rule without context"},
		{"undefined abstract rule", wrap(`<pattern><rule context="a"><extends rule="nope"/></rule></pattern>`), `no abstract rule "nope"`},
		{"extends href", wrap(`<pattern><rule context="a"><extends href="r.sch"/></rule></pattern>`), "extends/@href"},
		{"recursive extends", wrap(`<pattern><rule abstract="true" id="r"><extends rule="r"/></rule><rule context="a"><extends rule="r"/></rule></pattern>`), "extends itself"},
		{"undefined phase", `<schema xmlns="http://purl.oclc.org/dsdl/schematron" defaultPhase="x"><pattern/></schema>`, `defaultPhase "x" is not defined`},
		{"assert without test", wrap(`<pattern><rule context="a"><assert>x</assert></rule></pattern>`), "test is required"},
		{"let without value", wrap(`<let name="x"><a/></let>`), "let without value"},
		{"unknown in assert", wrap(`<pattern><rule context="a"><assert test="1"><rule/></assert></rule></pattern>`), "unsupported inside sch:assert"},
		{"duplicate global", wrap(`<let name="x" value="1"/><pattern><let name="x" value="2"/></pattern>`), `variable "x" defined twice`},
		{"value-of outside a message", wrap(`<pattern><rule context="a"><value-of select="1"/></rule></pattern>`), "unsupported sch:value-of inside sch:rule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Convert([]byte(tc.sch), DefaultOptions)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// TestConvertEscapes: tests and texts with XML and AVT metacharacters reach
// Saxon intact (and a schema compiles from memory).
func TestConvertEscapes(t *testing.T) {
	needSaxon(t)
	s, err := CompileSource("esc.sch", []byte(`<schema xmlns="http://purl.oclc.org/dsdl/schematron">
  <pattern id="p{1}&amp;&quot;"><rule context="x">
    <assert id="a{&lt;}" test="@v &lt; 2 and @w != &quot;&amp;&quot; and not(contains(@v, '{'))">v &lt; 2 &amp; {braces} "q" <value-of select="concat('{', @v, '}')"/></assert>
    <assert id="c" test="@nope, @none">a top-level comma</assert>
  </rule></pattern>
</schema>`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Run([][]byte{[]byte(`<x v="3" w="&amp;"/>`)})
	if err != nil {
		t.Fatal(err)
	}
	want := []Failure{
		{"assert", "a{<}", `p{1}&"`, "/Q{}x[1]", `v < 2 & {braces} "q" {3}`},
		{"assert", "c", `p{1}&"`, "/Q{}x[1]", "a top-level comma"},
	}
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("got %q, want %q", got[0], want)
	}
}

var titleRE = regexp.MustCompile(`<title>[^<]*</title>`)

// TestOfficialSchematrons runs each official schematron over generated
// documents of its kind: the run succeeds, a document given twice gets the
// same result, every record is well-formed, and a document whose title was
// removed fails the rule on ClinicalDocument that asks for one.
func TestOfficialSchematrons(t *testing.T) {
	needSaxon(t)
	for _, kind := range []string{"121", "58", "59", "76"} {
		t.Run(kind, func(t *testing.T) {
			s, err := CompileOfficial(kind)
			if err != nil {
				t.Fatal(err)
			}
			var docs [][]byte
			for seed := range 3 {
				d := semdgen.MustBuild(semdgen.Options{Kind: kind, Rand: rand.New(rand.NewPCG(uint64(seed), 11))})
				docs = append(docs, d.XML)
			}
			noTitle := titleRE.ReplaceAll(docs[0], nil) // the first <title> is ClinicalDocument's
			docs = append(docs, docs[1], noTitle)
			got, err := s.Run(docs)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got[1], got[3]) {
				t.Errorf("the same document twice: %d then %d failures", len(got[1]), len(got[3]))
			}
			for i, fs := range got {
				for _, f := range fs {
					if (f.Kind != "assert" && f.Kind != "report") || !strings.HasPrefix(f.Location, "/") ||
						f.Text == "" || f.Text != strings.Join(strings.Fields(f.Text), " ") {
						t.Errorf("document %d: malformed record %q", i, f)
					}
				}
			}
			found := false
			for _, f := range got[4] {
				if f.Kind == "assert" && f.Location == cd && strings.Contains(f.Text, "должен иметь 1 элемент title") {
					found = true
				}
			}
			if !found {
				t.Errorf("no failure for the missing title among %q", got[4])
			}
			t.Logf("%s.sch: failures per generated document %d, %d, %d; without title %d",
				kind, len(got[0]), len(got[1]), len(got[2]), len(got[4]))
		})
	}
}
