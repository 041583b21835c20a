package refbook

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"
)

// treeKinds are the kinds with official schematrons, whose documents the
// door parses into a DOM.
var treeKinds = []string{"121", "58", "59", "76"}

// codedTag is a start tag with @code and @codeSystem, as the generator
// writes them.
var codedTag = regexp.MustCompile(`<([A-Za-z:]+)([^<>]*?) code="([^"]*)" codeSystem="([^"]*)"([^<>]*?)(/?)>`)

// mutation changes one generated document; want says what the walk must
// do with the result: decide it from the DOM (true) or fall back to the
// bytes (false: the namespace declarations do not decide the prefixes).
type mutation struct {
	name string
	dom  bool
	f    func(x []byte, r *rand.Rand) []byte
}

// onCoded rewrites one coded tag chosen by r (its whole text, the groups of
// codedTag) with g.
func onCoded(x []byte, r *rand.Rand, g func(m []string) string) []byte {
	locs := codedTag.FindAllSubmatchIndex(x, -1)
	if len(locs) == 0 {
		return x
	}
	l := locs[r.IntN(len(locs))]
	m := make([]string, len(l)/2)
	for i := range m {
		if l[2*i] >= 0 {
			m[i] = string(x[l[2*i]:l[2*i+1]])
		}
	}
	return slicesConcat(x[:l[0]], []byte(g(m)), x[l[1]:])
}

func slicesConcat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// setAttr replaces (or adds, value nil removes) attribute name in a tag's text.
func setAttr(tag, name string, value *string) string {
	re := regexp.MustCompile(` ` + name + `="[^"]*"`)
	repl := ""
	if value != nil {
		repl = ` ` + name + `="` + *value + `"`
	}
	if re.MatchString(tag) {
		return re.ReplaceAllLiteralString(tag, repl)
	}
	end := strings.LastIndex(tag, "/>")
	if end < 0 {
		end = len(tag) - 1
	}
	return tag[:end] + repl + tag[end:]
}

func ptr(s string) *string { return &s }

// withAttr is a mutation setting one attribute of a coded tag to one of values.
func withAttr(name string, values ...*string) func(x []byte, r *rand.Rand) []byte {
	return func(x []byte, r *rand.Rand) []byte {
		return onCoded(x, r, func(m []string) string { return setAttr(m[0], name, values[r.IntN(len(values))]) })
	}
}

// v3Prefixed writes every element of the HL7 namespace with the prefix v3
// instead of the default namespace.
func v3Prefixed(x []byte) []byte {
	s := string(x)
	s = strings.Replace(s, `xmlns="urn:hl7-org:v3"`, `xmlns:v3="urn:hl7-org:v3"`, 1)
	s = regexp.MustCompile(`<(/?)([A-Za-z][A-Za-z0-9]*)([ />])`).ReplaceAllString(s, `<${1}v3:${2}${3}`)
	return []byte(s)
}

var mutations = []mutation{
	{"as generated", true, func(x []byte, _ *rand.Rand) []byte { return x }},
	{"wrong code", true, withAttr("code", ptr("ZZZ.99"), ptr(""), ptr(" 1"))},
	{"wrong displayName", true, withAttr("displayName", ptr("Не то"), ptr(""), ptr("A &amp; B &lt;c&gt; &quot;d&quot; &apos;e&apos;"), ptr("Муж\tской\nи\r\nпр."))},
	{"wrong codeSystemName", true, withAttr("codeSystemName", ptr("Нет такого"), ptr("&amp;"), ptr("x\ty"))},
	{"unknown book", true, withAttr("codeSystem", ptr("1.2.643.5.1.13.13.11.99999"), ptr("1.2.643.5.1.13.13.99.2.99999"), ptr("2.16.840.1.113883.5.1"), ptr(""))},
	{"codeSystemVersion", true, withAttr("codeSystemVersion", nil, ptr("0.1"), ptr(""), ptr(" 1.2"), ptr("1.2\t"), ptr("99.99"))},
	{"nullFlavor", true, withAttr("nullFlavor", ptr("UNK"))},
	{"repeated attribute", true, func(x []byte, r *rand.Rand) []byte {
		return onCoded(x, r, func(m []string) string {
			return strings.Replace(m[0], ` codeSystem=`, ` code="ZZZ" codeSystem=`, 1)
		})
	}},
	{"prefixed code attribute", true, func(x []byte, r *rand.Rand) []byte {
		return onCoded(x, r, func(m []string) string {
			return strings.Replace(m[0], ` code=`, ` xsi:code=`, 1)
		})
	}},
	{"bad СНИЛС", true, func(x []byte, r *rand.Rand) []byte {
		re := regexp.MustCompile(`root="1\.2\.643\.100\.3" extension="[^"]*"`)
		locs := re.FindAllIndex(x, -1)
		if len(locs) == 0 {
			return x
		}
		l := locs[r.IntN(len(locs))]
		return slicesConcat(x[:l[0]], []byte(`root="1.2.643.100.3" extension="00150881501"`), x[l[1]:])
	}},
	{"v3 prefix for the HL7 namespace", true, func(x []byte, r *rand.Rand) []byte {
		return withAttr("code", ptr("ZZZ"))(v3Prefixed(x), r)
	}},
	{"elements of no namespace", true, func(x []byte, r *rand.Rand) []byte {
		x = bytes.Replace(x, []byte(`xmlns="urn:hl7-org:v3"`), []byte(`xmlns:hl7="urn:hl7-org:v3"`), 1)
		return withAttr("code", ptr("ZZZ"))(x, r)
	}},
	// The declarations do not decide the prefixes: the bytes are scanned.
	{"one namespace, two prefixes", false, func(x []byte, r *rand.Rand) []byte {
		x = bytes.Replace(x, []byte(`xmlns="urn:hl7-org:v3"`), []byte(`xmlns="urn:hl7-org:v3" xmlns:v3="urn:hl7-org:v3"`), 1)
		x = bytes.Replace(x, []byte(`<recordTarget>`), []byte(`<v3:recordTarget>`), 1)
		x = bytes.Replace(x, []byte(`</recordTarget>`), []byte(`</v3:recordTarget>`), 1)
		return withAttr("code", ptr("ZZZ"))(x, r)
	}},
	{"a prefix redeclared", false, func(x []byte, r *rand.Rand) []byte {
		return bytes.Replace(x, []byte(`<recordTarget>`), []byte(`<recordTarget><p:x xmlns:p="urn:a"/><p:x xmlns:p="urn:b"/>`), 1)
	}},
	{"default namespace undeclared inside", false, func(x []byte, r *rand.Rand) []byte {
		return bytes.Replace(x, []byte(`<recordTarget>`), []byte(`<recordTarget><id xmlns="" root="1.2.643.100.3" extension="00150881501"/>`), 1)
	}},
	{"a default namespace beside elements of none", false, func(x []byte, r *rand.Rand) []byte {
		x = bytes.Replace(x, []byte(`xmlns="urn:hl7-org:v3"`), []byte(`xmlns:hl7="urn:hl7-org:v3"`), 1)
		return bytes.Replace(x, []byte(`<recordTarget>`), []byte(`<recordTarget><id xmlns="urn:other" root="1.2.643.100.3" extension="00150881501"/><id root="1.2.643.100.3" extension="00150881501"/>`), 1)
	}},
	// Decided on the DOM since the walk takes the parser's record of the
	// declarations: a look-alike in a comment is not one (the byte rescan
	// it replaced counted it and fell back to the bytes).
	{"a declaration in a comment", true, func(x []byte, r *rand.Rand) []byte {
		return bytes.Replace(x, []byte(`<recordTarget>`), []byte(`<!-- xmlns:identity="urn:elsewhere" --><recordTarget>`), 1)
	}},
	{"a prefix bound to no namespace", false, func(x []byte, r *rand.Rand) []byte {
		return bytes.Replace(x, []byte(`<recordTarget>`), []byte(`<recordTarget xmlns:p=""><p:id p:code="1"/>`), 1)
	}},
}

// treeSettings are the settings the differential test runs under: the
// defaults, and a skip and a code-only setting for books the generated
// documents name.
func treeSettings() []Settings {
	skip := DefaultSettings().Overlay(Settings{
		"1.2.643.5.1.13.13.11.1040":  {OID: "1.2.643.5.1.13.13.11.1040", Mode: ModeSkip},
		"1.2.643.5.1.13.13.99.2.206": {OID: "1.2.643.5.1.13.13.99.2.206", Mode: ModeCode},
		"1.2.643.5.1.13.13.11.1522":  {OID: "1.2.643.5.1.13.13.11.1522", Mode: ModeCodeName, SystemNames: []string{"x\ty"}},
	})
	return []Settings{DefaultSettings(), skip}
}

// TestDOMAgreesWithScan: on generated documents of the four kinds and on
// mutants of them (codes, names, books, versions, entities and line breaks
// in names, repeated and prefixed attributes, СНИЛС, namespace prefixes),
// under the default settings and with skip and code-only books, walking
// ParseFast's DOM gives exactly the byte scan's Scan: problems with their
// paths and messages, organisations, codes, warnings. The documents whose
// declarations decide every prefix are really walked on the DOM (not
// handed to the byte scan), the others are handed over.
func TestDOMAgreesWithScan(t *testing.T) {
	books := bundled(t)
	lim := semd.Limits{}.WithDefaults()
	settings := treeSettings()
	problems := map[string]int{}
	for _, kind := range treeKinds {
		for _, mu := range mutations {
			for n := range 6 {
				r := rand.New(rand.NewPCG(uint64(n), 0x7ee))
				x := mu.f(semdgen.MustBuild(semdgen.Varied(kind, 0x7ee, n)).XML, r)
				dom := schematron.ParseFast(x, lim)
				if dom == nil {
					t.Fatalf("%s %q %d: ParseFast declined the document", kind, mu.name, n)
				}
				for si, st := range settings {
					want, err := ScanDocumentWith(books, st, x)
					if err != nil {
						t.Fatalf("%s %q %d: byte scan: %v", kind, mu.name, n, err)
					}
					got, ok := scanDOM(books, st, x, dom)
					if ok != mu.dom {
						t.Fatalf("%s %q %d: decided on the DOM %v, want %v", kind, mu.name, n, ok, mu.dom)
					}
					via, err := ScanDOMWith(books, st, x, dom)
					if err != nil {
						t.Fatalf("%s %q %d: %v", kind, mu.name, n, err)
					}
					if !ok {
						got = via
					}
					if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(via, want) {
						t.Fatalf("%s %q %d settings %d:\n DOM   %s\n bytes %s", kind, mu.name, n, si, dump(got), dump(want))
					}
					for _, p := range want.Problems {
						problems[p.Code]++
					}
					if len(want.OrgRefs) == 0 || want.Codes == 0 {
						t.Fatalf("%s %q %d: nothing compared: %s", kind, mu.name, n, dump(want))
					}
				}
			}
		}
	}
	// The mutants reach every kind of problem, so paths and messages are compared.
	for _, code := range []string{"INVALID_ELEMENT_VALUE_CODE", "INVALID_ELEMENT_VALUE_NAME", "INVALID_DICTIONARY_OID", "INVALID_DICTIONARY_VERSION", "INVALID_SNILS"} {
		if problems[code] == 0 {
			t.Errorf("no mutant gave %s: %v", code, problems)
		}
	}
}

func dump(sc *Scan) string {
	if sc == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%+v", *sc)
}

// TestDOMPaths: the DOM walk writes paths as the document writes names —
// v3:-prefixed elements, identity: elements, positions counted among
// siblings of the same name — checked against literal paths, not only
// against the byte scan.
func TestDOMPaths(t *testing.T) {
	books := bundled(t)
	x := []byte(`<v3:ClinicalDocument xmlns:v3="urn:hl7-org:v3" xmlns:identity="urn:hl7-ru:identity">` +
		`<v3:recordTarget/><v3:recordTarget><v3:patientRole><v3:id root="1.2.643.100.3" extension="00150881500"/>` +
		`<identity:id/><v3:id root="1.2.643.100.3" extension="00150881501"/>` +
		`<identity:IdentityCardType code="999" codeSystem="1.2.643.5.1.13.13.99.2.48"/></v3:patientRole></v3:recordTarget>` +
		`<v3:custodian><v3:assignedCustodian><v3:representedCustodianOrganization><v3:id root="1.2.3"/></v3:representedCustodianOrganization></v3:assignedCustodian></v3:custodian>` +
		`</v3:ClinicalDocument>`)
	dom := schematron.ParseFast(x, semd.Limits{}.WithDefaults())
	sc, ok := scanDOM(books, DefaultSettings(), x, dom)
	if !ok {
		t.Fatal("not decided on the DOM")
	}
	var paths []string
	for _, p := range sc.Problems {
		paths = append(paths, p.Code+" "+p.Path)
	}
	for _, o := range sc.OrgRefs {
		paths = append(paths, o.Role+" "+o.Path)
	}
	want := []string{
		"INVALID_SNILS /v3:ClinicalDocument/v3:recordTarget[2]/v3:patientRole[1]/v3:id[2]/@extension",
		"INVALID_ELEMENT_VALUE_CODE /v3:ClinicalDocument/v3:recordTarget[2]/v3:patientRole[1]/identity:IdentityCardType[1]/@code",
		"custodian /v3:ClinicalDocument/v3:custodian[1]/v3:assignedCustodian[1]/v3:representedCustodianOrganization[1]/v3:id[1]/@root",
	}
	if !reflect.DeepEqual(paths, want) {
		t.Fatalf("paths:\n%s\nwant\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
}

// TestCheckDOMWith: the checker on the DOM refuses and warns as on the
// bytes (organisations merged in document order, counters), and a nil tree
// is the byte scan.
func TestCheckDOMWith(t *testing.T) {
	books := bundled(t)
	x := doc("{{GENDER}}", `<administrativeGenderCode code="9" codeSystem="1.2.643.5.1.13.13.11.1040" codeSystemVersion="2.1"/><value code="1" codeSystem="1.2.643.5.1.13.13.99.2.991"/>`,
		"{{AUTHOR2_ORG}}", "1.2.643.5.1.13.13.12.2.77.9999")
	dom := schematron.ParseFast(x, semd.Limits{}.WithDefaults())
	if dom == nil {
		t.Fatal("ParseFast declined the document")
	}
	var results [3]*Result
	var errs [3]error
	var counts [3]map[string]UncheckedCount
	for i, tree := range []*schematron.Document{nil, dom, nil} { // bytes, DOM, CheckWith
		c := &Checker{Books: func() *Books { return books }, Orgs: orgSet{"1.2.643.5.1.13.13.12.2.77.1001": true}}
		if i == 2 {
			results[i], errs[i] = c.CheckWith(t.Context(), x, nil)
		} else {
			results[i], errs[i] = c.CheckDOMWith(t.Context(), x, tree, nil)
		}
		counts[i] = c.Unchecked()
	}
	ce, ok := errs[1].(*CheckError)
	if !ok || len(ce.Problems) != 2 || ce.Problems[0].Code != "INVALID_ELEMENT_VALUE_CODE" || ce.Problems[1].Code != OrgNotFound || len(results[1].Warnings) != 1 {
		t.Fatalf("on the DOM: %v %+v", errs[1], results[1])
	}
	for i := range 3 {
		if !reflect.DeepEqual(errs[i], errs[1]) || !reflect.DeepEqual(results[i], results[1]) || !reflect.DeepEqual(counts[i], counts[1]) {
			t.Fatalf("%d: %v %+v %v, DOM: %v %+v %v", i, errs[i], results[i], counts[i], errs[1], results[1], counts[1])
		}
	}
}

// FuzzDOMAgreesWithScan: whatever ParseFast accepts, the DOM walk gives
// the byte scan's Scan (or hands the document to it).
func FuzzDOMAgreesWithScan(f *testing.F) {
	for _, kind := range treeKinds {
		f.Add(semdgen.MustBuild(semdgen.Varied(kind, 0xf22, 0)).XML)
	}
	f.Add(doc())
	f.Add(v3Prefixed(doc("{{GENDER}}", `<administrativeGenderCode code="9" codeSystem="1.2.643.5.1.13.13.11.1040"/>`)))
	f.Add([]byte(`<r xmlns:p=""><p:id p:code="1" root="1.2.643.100.3" extension="1"/><x xmlns="u"/><x/></r>`))
	f.Add([]byte(`<r xmlns="u" xmlns:v="u"><v:x code="9" codeSystem="1.2.643.5.1.13.13.11.1040"/><x/><!-- xmlns:w="z" --></r>`))
	f.Add([]byte(`<a xmlns="u" xmlns:b="v"><b:c code="1" codeSystem="1.2.643.5.1.13.13.11.1040" displayName="x&amp;y"/><id root="1.2.643.100.3" extension="1"/></a>`))
	f.Add([]byte("<r><a:x xmlns:a=\"u\" code=\"9\" codeSystem=\"1.2.643.5.1.13.13.11.1040\"/><x code=\"9\"\tcodeSystem=\"1.2.643.5.1.13.13.11.1040\" codeSystemName=\"a\r\nb\"/></r>"))
	books := bundled(f)
	settings := treeSettings()
	lim := semd.Limits{}.WithDefaults()
	f.Fuzz(func(t *testing.T, x []byte) {
		dom := schematron.ParseFast(x, lim)
		if dom == nil {
			return
		}
		for _, st := range settings {
			want, werr := ScanDocumentWith(books, st, x)
			got, gerr := ScanDOMWith(books, st, x, dom)
			if (werr != nil) != (gerr != nil) || !reflect.DeepEqual(got, want) {
				t.Fatalf("DOM   %s %v\nbytes %s %v", dump(got), gerr, dump(want), werr)
			}
		}
	})
}

// TestDOMNamesWithBreaks: names with tabs, line breaks and references
// compare on the DOM exactly as on the bytes, where the byte scan accepts
// a name written exactly as a book's or a setting's name, or one whose
// normalised value is; the one case the DOM cannot tell (a setting's name
// with a tab, a value with one) is handed to the byte scan.
func TestDOMNamesWithBreaks(t *testing.T) {
	books := bundled(t)
	const oid = "1.2.643.5.1.13.13.11.1040"
	tests := []struct {
		systemName, display string
		also                []string
		dom                 bool // decided on the DOM
		problems            int
	}{
		{"Пол пациента", "Мужской", nil, true, 0},
		{"Пол\tпациента", "Муж\tской", nil, true, 1},
		{"Пол\r\nпациента", "Мужской", nil, true, 0},
		{"Пол\nпациента", "Мужской", nil, true, 0},
		{"Пол  пациента", "Мужской", nil, true, 1},
		{"x\ty", "Мужской", []string{"x\ty"}, false, 0},
		{"x y", "Мужской", []string{"x\ty"}, true, 1},
		{"x\ty", "Мужской", []string{"x y"}, true, 0},
		{"x\r\ny", "Мужской", []string{"x\ny"}, false, 1},
		{"a&amp;b", "Мужской", []string{"a&b"}, true, 0},
		{"a&amp;b", "Мужской", []string{"a&amp;b"}, true, 1},
		{"&quot;q&quot; &lt;&gt;", "Мужской", []string{`"q" <>`}, true, 0},
	}
	for _, tc := range tests {
		x := docWith(`<administrativeGenderCode code="1" codeSystem="` + oid + `" codeSystemVersion="2.1" codeSystemName="` +
			tc.systemName + `" displayName="` + tc.display + `"/>`)
		st := DefaultSettings().Overlay(Settings{oid: {OID: oid, Mode: ModeCodeName, SystemNames: tc.also}})
		dom := schematron.ParseFast(x, semd.Limits{}.WithDefaults())
		if dom == nil {
			t.Fatalf("%q: ParseFast declined", tc.systemName)
		}
		want, err := ScanDocumentWith(books, st, x)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := scanDOM(books, st, x, dom)
		if ok != tc.dom {
			t.Errorf("%q %q %q: decided on the DOM %v, want %v", tc.systemName, tc.display, tc.also, ok, tc.dom)
			continue
		}
		if len(want.Problems) != tc.problems {
			t.Errorf("%q %q %q: bytes: %d problems, want %d: %+v", tc.systemName, tc.display, tc.also, len(want.Problems), tc.problems, want.Problems)
		}
		if ok && !reflect.DeepEqual(got, want) {
			t.Errorf("%q %q %q:\n DOM   %s\n bytes %s", tc.systemName, tc.display, tc.also, dump(got), dump(want))
		}
	}
}

// TestManyCodeSystems: a document naming more code systems than the walk
// indexes (sysSlots/2) still has each system resolved once: every unheld
// book is one warning with all its codes, the held book's codes are all
// checked, on the bytes and on the DOM.
func TestManyCodeSystems(t *testing.T) {
	books := bundled(t)
	var el strings.Builder
	const n = sysSlots
	for range 2 {
		for i := range n {
			fmt.Fprintf(&el, `<value code="1" codeSystem="1.2.643.5.1.13.13.11.%d"/>`, 90000+i*7)
			if i%9 == 0 {
				el.WriteString(`<value code="9" codeSystem="1.2.643.5.1.13.13.11.1040" codeSystemVersion="2.1"/>`)
			}
		}
	}
	x := docWith(el.String())
	dom := schematron.ParseFast(x, semd.Limits{}.WithDefaults())
	for _, name := range []string{"bytes", "DOM"} {
		var sc *Scan
		var err error
		if name == "bytes" {
			sc, err = ScanDocumentWith(books, DefaultSettings(), x)
		} else {
			var ok bool
			if sc, ok = scanDOM(books, DefaultSettings(), x, dom); !ok {
				t.Fatal("not decided on the DOM")
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(sc.Warnings) != n {
			t.Fatalf("%s: %d warnings, want %d", name, len(sc.Warnings), n)
		}
		for i, w := range sc.Warnings {
			if w.OID != fmt.Sprintf("1.2.643.5.1.13.13.11.%d", 90000+i*7) || w.Codes != 2 {
				t.Fatalf("%s: warning %d: %+v", name, i, w)
			}
		}
		wrong := 0
		for _, p := range sc.Problems {
			if p.Code == "INVALID_ELEMENT_VALUE_CODE" && p.OID == "1.2.643.5.1.13.13.11.1040" {
				wrong++
			}
		}
		held := 2 * ((n + 8) / 9)
		if wrong != held || sc.Codes < held {
			t.Fatalf("%s: %d wrong gender codes of %d checked, want %d", name, wrong, sc.Codes, held)
		}
	}
	// Each system is resolved once: the same entry every time it is named.
	w := newWalk(books, DefaultSettings())
	defer w.release()
	for round := range 3 {
		for i := range n + 5 {
			oid := fmt.Sprintf("1.2.643.5.1.13.13.11.%d", 90000+i*7)
			if got := w.resolve([]byte(oid)); string(got.oid) != oid {
				t.Fatalf("round %d: %s resolved to %s", round, oid, got.oid)
			}
		}
	}
	if len(w.systems) != n+5 {
		t.Fatalf("%d systems resolved for %d OIDs", len(w.systems), n+5)
	}
}

// TestHasBreak: the eight-bytes-at-a-time test finds a byte below 0x20
// exactly when a byte loop does: every byte value at every position of
// slices up to 24 bytes long among UTF-8 and ASCII filler.
func TestHasBreak(t *testing.T) {
	naive := func(v []byte) bool {
		for _, c := range v {
			if c < 0x20 {
				return true
			}
		}
		return false
	}
	fillers := [][]byte{[]byte("a"), []byte("Ж"), {0xff}, {0x80}, {0x20}, {0x7f}}
	for n := range 25 {
		for _, fill := range fillers {
			base := bytes.Repeat(fill, n)[:n]
			if hasBreak(base) != naive(base) {
				t.Fatalf("%q: %v", base, hasBreak(base))
			}
			for pos := range n {
				for c := range 256 {
					v := bytes.Clone(base)
					v[pos] = byte(c)
					if got, want := hasBreak(v), naive(v); got != want {
						t.Fatalf("%q: %v, want %v", v, got, want)
					}
				}
			}
		}
	}
}
