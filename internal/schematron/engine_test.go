package schematron

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

const testDoc = `<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:identity="urn:hl7-ru:identity">
  <code code="121" codeSystem="1.2.643.5.1.13.13.11.1522" codeSystemName="Виды"/>
  <id root="1.2.643.5.1.13.13.12.2.77.7973.100.1.1.51" extension="42"/>
  <setId root="1.2.643.5.1.13.13.12.2.77.7973.100.1.1.51" extension="s"/>
  <title>  Направление
   на МСЭ </title>
  <recordTarget>
    <patientRole>
      <id root="1.2.643.100.3" extension="123-456-789 00"/>
      <id root="1.2.643.100.1"/>
      <patient>
        <name><family>Иванов</family><given>Иван</given><identity:Patronymic xsi:type="ST">Иванович</identity:Patronymic></name>
        <birthTime value="19800101"/>
      </patient>
    </patientRole>
  </recordTarget>
  <component><structuredBody>
    <component><section><code code="A"/><entry><observation><code code="1"/><value xsi:type="BL" value="true"/></observation></entry></section></component>
    <component><section><code code="B"/><entry><observation><code code="2"/><value xsi:type="PQ" value="12.5"/></observation></entry>
      <entry><observation><code code="3"/><value xsi:type="ST">текст</value></observation></entry></section></component>
  </structuredBody></component>
</ClinicalDocument>`

func mustDoc(t *testing.T, s string) *Document {
	t.Helper()
	d, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// schemaWith wraps one rule with asserts in a schematron.
func schemaWith(ns, body string) []byte {
	return []byte(`<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
<ns prefix="xsi" uri="http://www.w3.org/2001/XMLSchema-instance"/><ns prefix="identity" uri="urn:hl7-ru:identity"/>` + ns + body + `</schema>`)
}

func TestXPathEvaluation(t *testing.T) {
	d := mustDoc(t, testDoc)
	cases := []struct {
		context, test string
		want          bool
	}{
		{"ClinicalDocument", "count(recordTarget)=1", true},
		{"ClinicalDocument", "count(recordTarget/patientRole/id)=2", true},
		{"ClinicalDocument", "count(//id)=3", true},
		{"ClinicalDocument", "count(//observation/value)>=3", true},
		{"ClinicalDocument", "count(//observation/value)<3", false},
		{"ClinicalDocument", "count(title)<=1", true},
		{"ClinicalDocument", "not(custodian)", true},
		{"ClinicalDocument", "not(code)", false},
		{"ClinicalDocument", "code/@code='121'", true},
		{"ClinicalDocument", "code/@code!='121'", false},
		{"ClinicalDocument", "code/@codeSystemName!=''", true},
		{"ClinicalDocument", "code/@missing!=''", false},        // empty sequence: no pair compares
		{"ClinicalDocument", "code/@code=('58','121')", true},   // sequence
		{"ClinicalDocument", "code/@code=['58','121']", true},   // XPath 3.1 array, atomized
		{"ClinicalDocument", "code/@code=['58','59']", false},   //
		{"ClinicalDocument", "//section/code/@code='B'", true},  // existential over many nodes
		{"ClinicalDocument", "//section/code/@code!='A'", true}, // some node differs
		{"ClinicalDocument", "code/@code>100", true},            // untyped vs number: numeric
		{"ClinicalDocument", "code/@code>'2'", false},           // untyped vs string: codepoints
		{"ClinicalDocument", "title!=''", true},                 // element string value
		{"ClinicalDocument", "normalize-space(title)='Направление на МСЭ'", true},
		{"ClinicalDocument", "title/normalize-space(text())!=''", true}, // function as a step
		{"ClinicalDocument", "matches(id/@root,'^[0-2](\\.([1-9][0-9]*|0))+\\.100([.]([1-9][0-9]*|0))+\\.51$')", true},
		{"ClinicalDocument", "matches(id/@root,setId/@root)", true}, // pattern from the document
		{"ClinicalDocument", "matches(recordTarget/patientRole/id[@root='1.2.643.100.3'][@extension][1]/@extension,'^([0-9]{3}[-\\s]{0,1}){3}[0-9]{2}$')", true},
		{"ClinicalDocument", "recordTarget/patientRole/id[2]/@root='1.2.643.100.1'", true}, // position
		{"ClinicalDocument", "recordTarget/patientRole/id[@extension][2]", false},          // position after a filter
		{"ClinicalDocument", "recordTarget/patientRole/id[last()]/@root='1.2.643.100.1'", true},
		{"ClinicalDocument", "(.!='' and not(@nullFlavor)) or @nullFlavor='NA'", true},
		{"ClinicalDocument", "recordTarget and custodian", false},
		{"ClinicalDocument", "count(recordTarget|code|recordTarget)=2", true}, // union removes duplicates
		{"ClinicalDocument", "recordTarget/patientRole/patient/name/identity:Patronymic/@xsi:type='ST'", true},
		{"ClinicalDocument", "count(//name[family|given|identity:Patronymic])=1", true},
		{"ClinicalDocument", "count(//code[ancestor::section[code/@code='B']])=3", true},
		{"ClinicalDocument", "count(//*[identity:Patronymic])=1", true},
		{"ClinicalDocument", "count(recordTarget/patientRole/patient/..)=1", true},
		{"ClinicalDocument", "count(component/structuredBody/component[section[code/@code='B']]/section/entry)=2", true},
		{"ClinicalDocument", "//observation/value[@xsi:type='PQ']/@value>12", true},
		{"ClinicalDocument", "//observation/value[@xsi:type='PQ']/@value<=12", false},
		{"ClinicalDocument/component/structuredBody/component/section[code/@code='B']", "count(entry)=2", true},
		{"//observation/value[@xsi:type='BL'][not(@nullFlavor)]", "@value=['true','false']", true},
		{"//observation/value[@xsi:type='ST']", ".!=''", true},
		{"ClinicalDocument/recordTarget/patientRole/id[1]", "@root='1.2.643.100.3'", true},
		{"ClinicalDocument/recordTarget/patientRole/id[2]", "@root='1.2.643.100.1'", true},
	}
	for _, c := range cases {
		t.Run(c.context+" "+c.test, func(t *testing.T) {
			// A report fires when its test is true: "matched" proves the
			// context matched, "true" that the test holds.
			s, err := Compile(schemaWith("", `<pattern><rule context="`+xmlEscape(c.context)+`">
				<report test="true()">matched</report><report test="`+xmlEscape(c.test)+`">true</report></rule></pattern>`))
			if err != nil {
				t.Fatal(err)
			}
			fs, err := s.ValidateErr(d)
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for _, f := range fs {
				texts = append(texts, f.Text)
			}
			if !slices.Contains(texts, "matched") {
				t.Fatalf("the context matched nothing: %v", texts)
			}
			if got := slices.Contains(texts, "true"); got != c.want {
				t.Errorf("test is %v, want %v", got, c.want)
			}
		})
	}
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// TestISOSemantics: in a pattern the first matching rule takes a node and
// later rules of that pattern do not fire for it; patterns are independent;
// failures carry Saxon's fn:path() and the normalised text, sorted.
func TestISOSemantics(t *testing.T) {
	d := mustDoc(t, testDoc)
	s, err := Compile(schemaWith("", `
<pattern id="p1">
  <rule context="//section[code/@code='A']"><assert test="false()" id="a1">first   rule
     A</assert></rule>
  <rule context="//section"><assert test="false()" id="a2">second rule</assert></rule>
</pattern>
<pattern id="p2">
  <rule context="//section"><report test="entry" id="r1">independent</report></rule>
</pattern>
<pattern>
  <rule context="ClinicalDocument/recordTarget/patientRole/id[2]"><assert test="@extension">no extension</assert></rule>
</pattern>`))
	if err != nil {
		t.Fatal(err)
	}
	const sec = "/Q{urn:hl7-org:v3}ClinicalDocument[1]/Q{urn:hl7-org:v3}component[1]/Q{urn:hl7-org:v3}structuredBody[1]/Q{urn:hl7-org:v3}component[%d]/Q{urn:hl7-org:v3}section[1]"
	loc := func(i int) string { return strings.Replace(sec, "%d", string(rune('0'+i)), 1) }
	want := []Failure{
		{Kind: "assert", ID: "a1", Pattern: "p1", Location: loc(1), Text: "first rule A"},
		{Kind: "report", ID: "r1", Pattern: "p2", Location: loc(1), Text: "independent"},
		{Kind: "assert", ID: "a2", Pattern: "p1", Location: loc(2), Text: "second rule"},
		{Kind: "report", ID: "r1", Pattern: "p2", Location: loc(2), Text: "independent"},
		{Kind: "assert", Location: "/Q{urn:hl7-org:v3}ClinicalDocument[1]/Q{urn:hl7-org:v3}recordTarget[1]/Q{urn:hl7-org:v3}patientRole[1]/Q{urn:hl7-org:v3}id[2]", Text: "no extension"},
	}
	if got := s.Validate(d); !slices.Equal(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
}

func TestLocationPaths(t *testing.T) {
	d := mustDoc(t, `<a xmlns:x="urn:x"><b/><x:b x:at="1" plain="2">t<c/>u</x:b><b/></a>`)
	cases := map[int32]string{0: "/", 1: "/Q{}a[1]", 2: "/Q{}a[1]/Q{}b[1]", 3: "/Q{}a[1]/Q{urn:x}b[1]",
		4: "/Q{}a[1]/Q{urn:x}b[1]/@Q{urn:x}at", 5: "/Q{}a[1]/Q{urn:x}b[1]/@plain", 6: "/Q{}a[1]/Q{urn:x}b[1]/text()[1]",
		7: "/Q{}a[1]/Q{urn:x}b[1]/Q{}c[1]", 8: "/Q{}a[1]/Q{urn:x}b[1]/text()[2]", 9: "/Q{}a[1]/Q{}b[2]"}
	for id, want := range cases {
		if got := d.path(id); got != want {
			t.Errorf("node %d: %s, want %s", id, got, want)
		}
	}
}

// TestCompileRefusesWhatItDoesNotSupport: a construct outside the supported
// set is an error naming it, never silently ignored.
func TestCompileRefusesWhatItDoesNotSupport(t *testing.T) {
	cases := map[string]string{
		`<let name="x">1</let>`: "sch:let without name or value",
		`<pattern><rule context="a"><assert test="$y">x</assert><let name="y" value="1"/></rule></pattern>`:                      "undeclared variable $y",
		`<pattern><rule context="a"><assert test="1">x <value-of select="."/></assert></rule></pattern>`:                         "sch:value-of",
		`<pattern><rule context="a"><assert test="1">x <name/></assert></rule></pattern>`:                                        "sch:name",
		`<pattern abstract="true" id="p"><rule context="a"><assert test="1">x</assert></rule></pattern>`:                         "abstract pattern",
		`<pattern><rule context="a"><extends rule="r"/></rule></pattern>`:                                                        "no abstract rule",
		`<pattern><rule abstract="true" id="r"><extends rule="r"/></rule><rule context="a"><extends rule="r"/></rule></pattern>`: "extends itself",
		`<phase id="x"><let name="v" value="1"/></phase>`:                                                                        "sch:let",
		`<pattern><rule context="a"><assert test="$v">x</assert></rule></pattern>`:                                               "undeclared variable",
		`<pattern><rule context="a"><assert test="string-join(b,',')">x</assert></rule></pattern>`:                               "string-join",
		`<pattern><rule context="a"><assert test="following-sibling::b">x</assert></rule></pattern>`:                             "following-sibling",
		`<pattern><rule context="a"><assert test="b eq 'c'">x</assert></rule></pattern>`:                                         "eq",
		`<pattern><rule context="a[@x = current()/@y]"><assert test="1">x</assert></rule></pattern>`:                             "current()",
		`<pattern><rule context="a"><assert test="b * 2 = 4">x</assert></rule></pattern>`:                                        "unsupported construct",
		`<pattern><rule context="a"><assert test="matches(b,'\p{IsCyrillic}')">x</assert></rule></pattern>`:                      `\p{Is`,
		`<pattern><rule context="@a"><assert test="1">x</assert></rule></pattern>`:                                               "unsupported rule context",
		`<pattern><rule context="a"><assert test="z:b">x</assert></rule></pattern>`:                                              "undeclared prefix",
	}
	for body, want := range cases {
		_, err := Compile(schemaWith("", body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one naming %q", body, err, want)
		}
		var ce *CompileError
		if err != nil && (!errors.As(err, &ce) || ce.Line < 2 || strings.HasPrefix(body, "<pattern><rule context=\"a\"><assert") && ce.Rule != 1) {
			t.Errorf("%s: %v is not located in the file", body, err)
		}
	}
}

// TestDynamicErrors: where Saxon stops with a type error the engine reports
// one instead of a verdict.
func TestDynamicErrors(t *testing.T) {
	d := mustDoc(t, testDoc)
	for _, test := range []string{
		"matches(//id/@root,'^1')",          // more than one string
		"matches(code/@code,missing/@root)", // empty pattern argument
		"code/@codeSystem>1",                // not a number
		"normalize-space(recordTarget//id/@root)!=''",
	} {
		s, err := Compile(schemaWith("", `<pattern><rule context="ClinicalDocument"><assert test="`+xmlEscape(test)+`">x</assert></rule></pattern>`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ValidateErr(d); err == nil {
			t.Errorf("%s: no dynamic error", test)
		}
	}
}

func TestFailureNumber(t *testing.T) {
	for text, want := range map[string]string{
		"У1-15. Элемент ClinicalDocument/author должен…": "У1-15",
		"Core01-2. Элемент //name должен…":               "Core01-2",
		"Общие ограничения. Элемент //code должен…":      "",
	} {
		if got := (Failure{Text: text}).Number(); got != want {
			t.Errorf("%q: %q, want %q", text, got, want)
		}
	}
}

func TestParseLimits(t *testing.T) {
	deep := strings.Repeat("<a>", 70) + strings.Repeat("</a>", 70)
	if _, err := Parse([]byte(deep)); err == nil {
		t.Error("70 levels deep parsed under the default limit of 64")
	}
	for _, bad := range []string{"<a><b></a>", "<a/><b/>", "<p:a/>", "text<a/>", "<a>"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestDescendantAnyByNeededChild covers //*[child…] (step.need): only the
// parents of that child are candidates, and they come out in document order
// even when a later child's parent encloses an earlier one's.
func TestDescendantAnyByNeededChild(t *testing.T) {
	d := mustDoc(t, `<r xmlns="urn:hl7-org:v3"><p><q><a/></q><a><b/></a></p><a x="1"/></r>`)
	cases := []struct {
		context string
		want    []string // local names of the reported nodes' paths, in order
	}{
		{"//*[a]", []string{"r", "p", "q"}},
		{"//*[a/b]", []string{"p"}},
		{"//*[a and not(a/@x)]", []string{"p", "q"}},
		{"/*//*[a]", []string{"p", "q"}},
	}
	for _, c := range cases {
		s, err := Compile(schemaWith("", `<pattern><rule context="`+c.context+`"><report test="true()">hit</report></rule></pattern>`))
		if err != nil {
			t.Fatalf("%s: %v", c.context, err)
		}
		need := false
		for _, sel := range s.patterns[0].rules[0].sel {
			for _, st := range sel.steps {
				need = need || st.need > 0
			}
		}
		if !need {
			t.Errorf("%s: no step narrowed to the parents of the needed child", c.context)
		}
		var got []string
		for _, f := range s.Validate(d) {
			parts := strings.Split(f.Location, "}")
			got = append(got, strings.TrimSuffix(parts[len(parts)-1], "[1]"))
		}
		slices.Sort(got)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: reported at %v, want %v", c.context, got, want)
		}
	}
}
