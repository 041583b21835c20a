package xsdgo_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/emdhub/hub/internal/cdaxsd/xsdgo"
	"github.com/emdhub/hub/internal/testtool"
)

const head = `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="urn:t" targetNamespace="urn:t" elementFormDefault="qualified">`

// testSchema exercises the constructs of the CDA schemas in miniature: a
// chameleon include, an abstract base, extension and restriction, xsi:type,
// choice, a repeated ##other wildcard after an unbounded element, simple
// types with enumeration, pattern, length, range, list and union, ID.
var testSchema = fstest.MapFS{
	"main.xsd": {Data: []byte(head + `<xs:include schemaLocation="types.xsd"/>
<xs:element name="Doc" type="Doc"/>
<xs:complexType name="Doc"><xs:sequence>
  <xs:element name="id" type="II" maxOccurs="unbounded"/>
  <xs:any namespace="##other" processContents="skip" minOccurs="0" maxOccurs="unbounded"/>
  <xs:choice minOccurs="0"><xs:element name="a" type="Code"/><xs:element name="b" type="Code"/></xs:choice>
  <xs:element name="value" type="ANY" minOccurs="0" maxOccurs="2"/>
  <xs:element name="text" type="Text" minOccurs="0"/>
  <xs:element name="n" type="Small" minOccurs="0"/>
</xs:sequence>
<xs:attribute name="use" type="Uses"/>
<xs:attribute name="classCode" type="Class" fixed="DOC"/>
<xs:attribute name="ID" type="xs:ID"/>
<xs:attribute name="words" type="Words"/>
<xs:anyAttribute namespace="##other" processContents="skip"/>
</xs:complexType>
<xs:complexType name="Text" mixed="true"><xs:sequence><xs:element name="br" minOccurs="0" maxOccurs="unbounded"><xs:complexType/></xs:element></xs:sequence><xs:attribute name="ID" type="xs:ID"/></xs:complexType>
</xs:schema>`)},
	"types.xsd": {Data: []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
<xs:complexType name="ANY" abstract="true"><xs:attribute name="nullFlavor" type="Code"/></xs:complexType>
<xs:complexType name="II"><xs:complexContent><xs:extension base="ANY"><xs:attribute name="root" type="oid" use="required"/></xs:extension></xs:complexContent></xs:complexType>
<xs:complexType name="PQ"><xs:complexContent><xs:extension base="ANY"><xs:sequence><xs:element name="translation" type="II" minOccurs="0"/></xs:sequence><xs:attribute name="value" type="xs:double"/></xs:extension></xs:complexContent></xs:complexType>
<xs:complexType name="PQR"><xs:complexContent><xs:restriction base="PQ"><xs:sequence><xs:element name="translation" type="II" minOccurs="0" maxOccurs="0"/></xs:sequence><xs:attribute name="nullFlavor" use="prohibited"/></xs:restriction></xs:complexContent></xs:complexType>
<xs:complexType name="Other"><xs:attribute name="x" type="xs:string"/></xs:complexType>
<xs:simpleType name="Words"><xs:restriction base="xs:string"><xs:pattern value="[a-z ]*"/></xs:restriction></xs:simpleType>
<xs:simpleType name="oid"><xs:restriction base="xs:string"><xs:pattern value="[0-2](\.(0|[1-9][0-9]*))*"/></xs:restriction></xs:simpleType>
<xs:simpleType name="Code"><xs:restriction base="xs:token"><xs:minLength value="1"/><xs:maxLength value="4"/></xs:restriction></xs:simpleType>
<xs:simpleType name="Use"><xs:restriction base="xs:NMTOKEN"><xs:enumeration value="H"/><xs:enumeration value="WP"/></xs:restriction></xs:simpleType>
<xs:simpleType name="Uses"><xs:list itemType="Use"/></xs:simpleType>
<xs:simpleType name="Class"><xs:union memberTypes="Use"><xs:simpleType><xs:restriction base="xs:token"><xs:enumeration value="DOC"/></xs:restriction></xs:simpleType></xs:union></xs:simpleType>
<xs:simpleType name="Small"><xs:restriction base="xs:double"><xs:minInclusive value="0.0"/><xs:maxInclusive value="1.0"/></xs:restriction></xs:simpleType>
</xs:schema>`)},
}

const open = `<Doc xmlns="urn:t" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:e="urn:ext"`

type docCase struct {
	name, doc string
	line      int    // 0: valid
	msg       string // part of the message
}

// cases are documents of testSchema with the first problem's line as
// xmllint reports it (TestConstructsXmllint checks the lines with xmllint).
var cases = []docCase{
	{"minimal", open + `><id root="1.2"/></Doc>`, 0, ""},
	{"everything", open + ` use="H WP" classCode="DOC" ID="d1" e:flag="1">
<id root="1.2.643"/><id root="0"/><e:ext><anything/></e:ext>
<b>X</b><value xsi:type="PQ" value="1.5e3"><translation root="2.1"/></value><value xsi:type="II" root="1"/>
<text ID="t1">words <br/> and &amp; more</text><n>0.25</n></Doc>`, 0, ""},
	{"libxml2 reopens id after the wildcard", open + `><id root="1"/><e:x/><id root="2"/></Doc>`, 0, ""},
	{"missing required child", open + `>
</Doc>`, 1, "Missing child element(s)"},
	{"unexpected element", open + `><id root="1"/>
<c/></Doc>`, 2, "not expected"},
	{"choice takes one", open + `><id root="1"/><a>x</a>
<b>y</b></Doc>`, 2, "not expected"},
	{"too many", open + `><id root="1"/><value xsi:type="II" root="1"/><value xsi:type="II" root="1"/>
<value xsi:type="II" root="1"/></Doc>`, 2, "not expected"},
	{"abstract type", open + `><id root="1"/>
<value/></Doc>`, 2, "abstract"},
	{"xsi:type not derived", open + `><id root="1"/>
<value xsi:type="Other"/></Doc>`, 2, "not validly derived"},
	{"xsi:type unknown", open + `><id root="1"/>
<value xsi:type="Nope"/></Doc>`, 2, "does not resolve"},
	{"maxOccurs 0 allows one, as in libxml2", open + `><id root="1"/>
<value xsi:type="PQR"><translation root="1"/></value></Doc>`, 0, ""},
	{"maxOccurs 0 allows no second", open + `><id root="1"/><value xsi:type="PQR"><translation root="1"/>
<translation root="1"/></value></Doc>`, 2, "not expected"},
	{"text in a restricted element-only type", open + `><id root="1"/>
<value xsi:type="PQR">text</value></Doc>`, 2, "element-only"},
	{"restriction prohibits an attribute", open + `><id root="1"/>
<value xsi:type="PQR" nullFlavor="NI"/></Doc>`, 2, "not allowed"},
	{"pattern", open + `>
<id root="1.02"/></Doc>`, 2, "pattern"},
	{"required attribute", open + `>
<id/></Doc>`, 2, "required"},
	{"enumeration in a list", "\n" + open + ` use="H XX"><id root="1"/></Doc>`, 2, "list"},
	{"union", open + ` classCode="H"><id root="1"/></Doc>`, 1, "fixed"},
	{"union member", open + ` classCode="ZZ"><id root="1"/></Doc>`, 1, "union"},
	{"length", open + `><id root="1"/>
<a>ABCDE</a></Doc>`, 2, "length"},
	{"range", open + `><id root="1"/>
<n>1.5</n></Doc>`, 2, "range"},
	{"double", open + `><id root="1"/>
<value xsi:type="PQ" value="1,5"/></Doc>`, 2, "double"},
	{"duplicate ID", open + ` ID="x"><id root="1"/>
<text ID="x"/></Doc>`, 2, "ID"},
	{"foreign attribute of the target namespace", open + ` xmlns:t="urn:t" t:x="1"><id root="1"/></Doc>`, 1, "not allowed"},
	{"no-namespace attribute", open + ` x="1"><id root="1"/></Doc>`, 1, "not allowed"},
	{"text in element-only content", open + `><id root="1"/>
oops</Doc>`, 1, "element-only"},
	{"element in empty content", open + `><id root="1"><x/></id></Doc>`, 1, "not expected"},
	{"element in simple content", open + `><id root="1"/><a><x/></a></Doc>`, 1, "not expected"},
	{"unknown root", `<Other xmlns="urn:t"/>`, 1, "global declaration"},
	{"root in another namespace", `<Doc/>`, 1, "global declaration"},
	{"not well-formed", open + `><id root="1"></Doc>`, 1, "not well-formed"},
	{"multi-line start tag: line of its end", open + `><id
   root="1.02"
/></Doc>`, 3, "pattern"},
	// What a parsed tree holds differently from the bytes (ValidateTree).
	{"xsi:type prefix declared on the element", open + `><id root="1"/>
<value xmlns:h="urn:t" xsi:type="h:PQ" value="2"/></Doc>`, 0, ""},
	{"xsi bound to another prefix", open + ` xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><id root="1"/>
<value i:type="II" root="1"/></Doc>`, 0, ""},
	{"xsi:type prefix out of scope", open + `><id root="1"/><value xmlns:h="urn:t" xsi:type="h:II" root="1"/>
<value xsi:type="h:II" root="1"/></Doc>`, 2, "no corresponding namespace"},
	{"xsi:type prefix redeclared deeper", open + ` xmlns:h="urn:wrong"><id root="1"/>
<value xmlns:h="urn:t" xsi:type="h:II" root="1"/></Doc>`, 0, ""},
	{"xsi:type prefix of the wrong namespace", open + ` xmlns:h="urn:t"><id root="1"/>
<value xmlns:h="urn:wrong" xsi:type="h:II" root="1"/></Doc>`, 2, "does not resolve"},
	{"comment inside simple content", open + `><id root="1"/>
<n>0.<!-- c -->25</n></Doc>`, 0, ""},
	{"comment splitting a bad value", open + `><id root="1"/>
<n>1.<!-- c -->5</n></Doc>`, 2, "range"},
	{"comments in element-only content", open + `><!-- a --><id root="1"/><!-- b -->
</Doc>`, 0, ""},
	{"tab and newline in an attribute value", open + `><id root="1"/>
<value xsi:type="PQ" value="	1.5
"/></Doc>`, 0, ""},
	{"tab and newline where a pattern allows spaces only", open + ` words="a	b
c"><id root="1"/></Doc>`, 0, ""},
	{"a pattern allowing spaces only", open + ` words="a-b"><id root="1"/></Doc>`, 1, "pattern"},
	{"tab in a pattern-checked attribute", open + `><id root="1"/>
<id root="1.2	"/></Doc>`, 2, "pattern"},
	{"entities in text and attributes", open + `><id root="1"/><a>&lt;&amp;</a>
<value xsi:type="Other" x="&quot;&apos;&gt;"/></Doc>`, 2, "not validly derived"},
	{"text in empty content", open + `><id root="1">
x</id></Doc>`, 1, "empty"},
	{"carriage returns", open + ">\r\n<id root=\"1\"/>\r\n<n>0.5</n>\r\n</Doc>", 0, ""},
	{"one attribute under two prefixes", open + ` xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><id root="1"/>
<value xsi:type="II" i:type="II" root="1"/></Doc>`, 0, ""},
	{"an empty prefix declaration", open + `><id root="1"/>
<value xmlns:p="" xsi:type="II" root="1"/></Doc>`, 0, ""},
	{"the xml prefix declared", open + `><id root="1"/>
<value xmlns:xml="http://www.w3.org/XML/1998/namespace" xsi:type="II" root="1"/></Doc>`, 0, ""},
}

func TestConstructs(t *testing.T) {
	s, err := xsdgo.Compile(testSchema, "main.xsd")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.Validate([]byte(c.doc))
			if c.line == 0 {
				if err != nil {
					t.Fatalf("valid document refused: %v", err)
				}
				return
			}
			var e *xsdgo.Invalid
			if !errors.As(err, &e) {
				t.Fatalf("want *Invalid, got %v", err)
			}
			if e.Line != c.line || !strings.Contains(e.Message, c.msg) {
				t.Fatalf("line %d %q, want line %d and %q", e.Line, e.Message, c.line, c.msg)
			}
		})
	}
}

// TestProblemShape: the first problem names the element, its path, the
// start tag's column and what the content model expected.
func TestProblemShape(t *testing.T) {
	s, err := xsdgo.Compile(testSchema, "main.xsd")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Validate([]byte("<Doc xmlns=\"urn:t\"><id root=\"1\"/>\n  <value/><zz/></Doc>"))
	var e *xsdgo.Invalid
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	if e.Line != 2 || e.Column != 3 || e.Element != "value" || e.Path != "/Doc/value" {
		t.Fatalf("%+v", e)
	}
	err = s.Validate([]byte("<Doc xmlns=\"urn:t\"><id root=\"1\"/><zz/></Doc>"))
	if !errors.As(err, &e) || strings.Join(e.Expected, ",") != "##other,a,b,id,n,text,value" {
		t.Fatalf("%+v", e)
	}
}

// TestUnsupportedDocuments: what the Go validator does not read itself is
// ErrUnsupported (the caller asks libxml2), never a verdict.
func TestUnsupportedDocuments(t *testing.T) {
	s, err := xsdgo.Compile(testSchema, "main.xsd")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{
		`<!DOCTYPE Doc><Doc xmlns="urn:t"><id root="1"/></Doc>`,
		`<Doc xmlns="urn:t"><id root="1"/><a>&nbsp;</a></Doc>`,
		`<?xml version="1.0" encoding="windows-1251"?><Doc xmlns="urn:t"><id root="1"/></Doc>`,
		"<Doc xmlns=\"urn:t\"><id root=\"1\"/><a>\x01</a></Doc>",
		"<Doc xmlns=\"urn:t\"><id root=\"1\"/><a>\xff</a></Doc>",
	} {
		if err := s.Validate([]byte(doc)); !errors.Is(err, xsdgo.ErrUnsupported) {
			t.Errorf("%q: %v", doc, err)
		}
	}
}

// TestRefusedConstructs: a schema using what the Go validator does not
// implement fails to compile, naming the construct; it is never half-checked.
func TestRefusedConstructs(t *testing.T) {
	for name, body := range map[string]string{
		"xs:all":            `<xs:complexType name="T"><xs:all><xs:element name="a"/></xs:all></xs:complexType>`,
		"xs:group":          `<xs:group name="G"><xs:sequence/></xs:group>`,
		"xs:attributeGroup": `<xs:attributeGroup name="G"/>`,
		"xs:import":         `<xs:import namespace="urn:x"/>`,
		"xs:simpleContent":  `<xs:complexType name="T"><xs:simpleContent><xs:extension base="xs:string"/></xs:simpleContent></xs:complexType>`,
		"substitutionGroup": `<xs:element name="A" substitutionGroup="B"/>`,
		"nillable":          `<xs:element name="A" nillable="true"/>`,
		"xs:key":            `<xs:element name="A"><xs:key name="k"><xs:selector xpath="."/><xs:field xpath="@a"/></xs:key></xs:element>`,
		"totalDigits":       `<xs:simpleType name="S"><xs:restriction base="xs:decimal"><xs:totalDigits value="3"/></xs:restriction></xs:simpleType>`,
		"\\i in a pattern":  `<xs:simpleType name="S"><xs:restriction base="xs:string"><xs:pattern value="\i\c*"/></xs:restriction></xs:simpleType>`,
		"UPA":               `<xs:complexType name="T"><xs:choice><xs:element name="a"/><xs:sequence><xs:element name="a"/></xs:sequence></xs:choice></xs:complexType>`,
		"unknown type":      `<xs:element name="A" type="Nope"/>`,
		"include outside":   `<xs:include schemaLocation="../x.xsd"/>`,
	} {
		fsys := fstest.MapFS{"s.xsd": {Data: []byte(head + body + `</xs:schema>`)}}
		if _, err := xsdgo.Compile(fsys, "s.xsd"); err == nil {
			t.Errorf("%s compiled", name)
		}
	}
}

// TestConstructsXmllint: xmllint agrees with the lines the cases expect
// (verdict and first error line), so the cases test agreement with libxml2,
// not our reading of the XSD recommendation (they differ: see the maxOccurs
// 0 and wildcard cases). Under CI=true a missing xmllint fails the test.
func TestConstructsXmllint(t *testing.T) {
	_, err := exec.LookPath("xmllint")
	testtool.Require(t, "xmllint (Debian: libxml2-utils)", err)
	dir := t.TempDir()
	for name, f := range testSchema {
		if err := os.WriteFile(filepath.Join(dir, name), f.Data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cases {
		file := filepath.Join(dir, fmt.Sprintf("case%d.xml", i))
		if err := os.WriteFile(file, []byte(c.doc), 0o600); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command("xmllint", "--noout", "--schema", filepath.Join(dir, "main.xsd"), file).CombinedOutput()
		got := -1
		if strings.Contains(string(out), file+" validates") {
			got = 0
		} else if rest, ok := strings.CutPrefix(string(out), file+":"); ok {
			got, _ = strconv.Atoi(rest[:strings.IndexByte(rest, ':')])
		}
		if got != c.line {
			t.Errorf("%s: xmllint line %d, case says %d: %s", c.name, got, c.line, out)
		}
	}
}
