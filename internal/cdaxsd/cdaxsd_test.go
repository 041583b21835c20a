package cdaxsd_test

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/emdhub/hub/internal/cdaxsd"
	"github.com/emdhub/hub/internal/cdaxsd/xsdgo"
	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/testtool"
)

var kinds = []string{"121", "58", "59", "76"}

var (
	bundledOnce sync.Once
	bundled     cdaxsd.Set
	bundledErr  error
)

func set(t testing.TB) cdaxsd.Set {
	t.Helper()
	bundledOnce.Do(func() { bundled, bundledErr = cdaxsd.LoadDir("") })
	if bundledErr != nil {
		t.Fatal(bundledErr)
	}
	return bundled
}

func TestBundledKinds(t *testing.T) {
	if got := strings.Join(set(t).Kinds(), ","); got != "121,58,59,76" {
		t.Fatalf("bundled kinds: %s", got)
	}
}

// TestGoValidatorCompiles: the pure-Go validator compiles every bundled
// kind, so the door's verdict on a valid document is its own (a set it
// refused would fall back to libxml2 alone, silently slower); an uploaded
// schema it does not support keeps libxml2 and says why.
func TestGoValidatorCompiles(t *testing.T) {
	for _, k := range kinds {
		if err := set(t)[k].GoErr; err != nil {
			t.Errorf("kind %s: %v", k, err)
		}
	}
	head := `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="urn:t" targetNamespace="urn:t" elementFormDefault="qualified">`
	fsys := fstest.MapFS{"all.xsd": {Data: []byte(head + `<xs:element name="A"><xs:complexType><xs:all><xs:element name="b"/></xs:all></xs:complexType></xs:element></xs:schema>`)}}
	s, err := cdaxsd.Compile(fsys, "all.xsd")
	if err != nil {
		t.Fatal(err)
	}
	if s.GoErr == nil || !strings.Contains(s.GoErr.Error(), "xs:all") {
		t.Fatalf("GoErr %v", s.GoErr)
	}
	if err := s.Validate([]byte(`<A xmlns="urn:t"><b/></A>`)); err != nil {
		t.Fatalf("libxml2 alone: %v", err)
	}
	if err := s.Validate([]byte(`<A xmlns="urn:t"><c/></A>`)); err == nil {
		t.Fatal("libxml2 alone accepted an unknown element")
	}
	if err := s.ValidateGo([]byte(`<A xmlns="urn:t"><b/></A>`)); err == nil {
		t.Fatal("ValidateGo without a Go validator gave a verdict")
	}
}

// TestGeneratedDocumentsValid: every generated document of the four kinds
// passes its kind's official XSD (they all failed it before issue 12).
func TestGeneratedDocumentsValid(t *testing.T) {
	s := set(t)
	for _, k := range kinds {
		for n := range 20 {
			d := semdgen.MustBuild(semdgen.Varied(k, 0x5eed, n))
			if err := s[k].Validate(d.XML); err != nil {
				t.Fatalf("kind %s document %d: %v", k, n, problems(err))
			}
		}
	}
}

func problems(err error) string {
	var e *cdaxsd.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %d:%d %s %s", p.Line, p.Column, p.Path, p.Message)
	}
	return b.String()
}

// TestProblemDetails: a refusal says where (line, column, element, path)
// and what the schema expected there, and turns into 422 XSD_INVALID.
func TestProblemDetails(t *testing.T) {
	d := semdgen.MustBuild(semdgen.Varied("121", 1, 0))
	doc := string(d.XML)
	// An unknown element where the patient's name expects validTime or nothing.
	i := strings.Index(doc, "</name>")
	doc = doc[:i] + "<nickname>x</nickname>" + doc[i:]
	err := set(t)["121"].Validate([]byte(doc))
	var e *cdaxsd.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *cdaxsd.Error, got %v", err)
	}
	p := e.Problems[0]
	line := strings.Count(doc[:i], "\n") + 1
	col := len([]rune(doc[strings.LastIndex(doc[:i], "\n")+1:i])) + 1
	if p.Line != line || p.Column != col || p.Element != "nickname" || p.Code != codes.XSDInvalid ||
		!strings.HasSuffix(p.Path, "/patient/name/nickname") || !strings.Contains(p.Message, "not expected") {
		t.Fatalf("problem %+v, want line %d column %d", p, line, col)
	}
	if e.Kind != "121" || e.Total != len(e.Problems) {
		t.Fatalf("kind %q total %d of %d", e.Kind, e.Total, len(e.Problems))
	}
	r := e.Refusal()
	if r.Status != 422 || r.Code != codes.XSDInvalid || !strings.Contains(r.Message, "kind 121") {
		t.Fatalf("refusal %+v", r)
	}

	// A required element removed: the schema's expectation is listed.
	doc = string(d.XML)
	doc = regexp.MustCompile(`(?s)<custodian>.*</custodian>`).ReplaceAllString(doc, "")
	err = set(t)["121"].Validate([]byte(doc))
	if !errors.As(err, &e) || len(e.Problems[0].Expected) == 0 || !contains(e.Problems[0].Expected, "custodian") {
		t.Fatalf("custodian removed: %v", problems(err))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestNotWellFormed: what libxml2 cannot parse is refused with its parser
// error's line, never accepted.
func TestNotWellFormed(t *testing.T) {
	for _, doc := range []string{"", "<ClinicalDocument", "<a>\n<b></a>"} {
		err := set(t)["121"].Validate([]byte(doc))
		var e *cdaxsd.Error
		if !errors.As(err, &e) || e.Total == 0 || len(e.Problems) == 0 || e.Problems[0].Line == 0 {
			t.Fatalf("%q: %v", doc, err)
		}
	}
}

// TestNoExternalLoads: a document's DTD, external entities and
// xsi:schemaLocation are never fetched or read.
func TestNoExternalLoads(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(secret, []byte("СЕКРЕТ-12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := `<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument SYSTEM "file://` + secret + `" [<!ENTITY x SYSTEM "file://` + secret + `">]>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:hl7-org:v3 http://127.0.0.1:1/CDA.xsd"><title>&x;</title></ClinicalDocument>`
	err := set(t)["121"].Validate([]byte(doc))
	var e *cdaxsd.Error
	if !errors.As(err, &e) {
		t.Fatalf("want a refusal, got %v", err)
	}
	for _, p := range e.Problems {
		if strings.Contains(p.Message, "СЕКРЕТ") {
			t.Fatalf("the external entity was read: %+v", p)
		}
	}
}

// TestCompileFromFS: a schema set compiles from any fs.FS (an uploaded
// bundle's files), includes resolved inside it; an include that leaves the
// set, or a broken schema, fails to compile with the file's error.
func TestCompileFromFS(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "other.xsd")
	if err := os.WriteFile(outside, []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t"><xs:element name="B"/></xs:schema>`), 0o600); err != nil {
		t.Fatal(err)
	}
	head := `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="urn:t" targetNamespace="urn:t" elementFormDefault="qualified">`
	fsys := fstest.MapFS{
		"main.xsd":      {Data: []byte(head + `<xs:include schemaLocation="sub/types.xsd"/><xs:element name="A" type="T"/></xs:schema>`)},
		"sub/types.xsd": {Data: []byte(head + `<xs:simpleType name="T"><xs:restriction base="xs:int"/></xs:simpleType></xs:schema>`)},
		"escape.xsd":    {Data: []byte(head + `<xs:include schemaLocation="` + outside + `"/></xs:schema>`)},
		"up.xsd":        {Data: []byte(head + `<xs:include schemaLocation="../other.xsd"/></xs:schema>`)},
		"web.xsd":       {Data: []byte(head + `<xs:include schemaLocation="http://127.0.0.1:1/x.xsd"/></xs:schema>`)},
		"broken.xsd":    {Data: []byte(head + `<xs:element name="A" type="Nope"/></xs:schema>`)},
	}
	s, err := cdaxsd.Compile(fsys, "main.xsd")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate([]byte(`<A xmlns="urn:t">42</A>`)); err != nil {
		t.Fatalf("valid: %v", err)
	}
	if err := s.Validate([]byte(`<A xmlns="urn:t">forty-two</A>`)); err == nil {
		t.Fatal("an int of letters passed")
	}
	for _, bad := range []string{"escape.xsd", "up.xsd", "web.xsd", "broken.xsd", "missing.xsd", "../main.xsd"} {
		if _, err := cdaxsd.Compile(fsys, bad); err == nil {
			t.Errorf("%s compiled", bad)
		}
	}
}

// TestConcurrent: one compiled schema serves many goroutines at once,
// each with its own verdicts.
func TestConcurrent(t *testing.T) {
	s := set(t)["58"]
	good := semdgen.MustBuild(semdgen.Varied("58", 2, 0)).XML
	bad := bytes.Replace(good, []byte("<title>"), []byte("<titel>"), 1)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				doc, want := good, true
				if (g+i)%2 == 1 {
					doc, want = bad, false
				}
				if got := s.Validate(doc) == nil; got != want {
					errs <- fmt.Errorf("goroutine %d round %d: valid %v", g, i, got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// span is one element of a document: its bytes and its parent's index.
type span struct {
	start, end int // [start, end) of the whole element
	tagEnd     int // end of its start tag
	parent     int
	name       string // as written, prefix included
}

var startTag = regexp.MustCompile(`^<([A-Za-z_][\w.:-]*)`)

// spans lists the elements of doc in document order.
func spans(t testing.TB, doc []byte) []span {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var out []span
	var stack []int
	for {
		before := int(dec.InputOffset())
		tok, err := dec.RawToken()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch tok.(type) {
		case xml.StartElement:
			parent := -1
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			m := startTag.FindSubmatch(doc[before:])
			if m == nil {
				t.Fatalf("no start tag at %d", before)
			}
			out = append(out, span{start: before, tagEnd: int(dec.InputOffset()), parent: parent, name: string(m[1])})
			stack = append(stack, len(out)-1)
		case xml.EndElement:
			out[stack[len(stack)-1]].end = int(dec.InputOffset())
			stack = stack[:len(stack)-1]
		}
	}
}

// mutate applies mutation m (0..9) to doc at a random place: remove an
// element, swap an element with its next sibling, give an attribute a
// value of the wrong type, insert an unknown element, move an element to
// a wrong namespace; and what a parsed tree holds differently from the
// bytes (the door's check on the DOM): an xsi:type QName with a prefix
// declared on the element (of the right namespace or a wrong one), a
// comment at the start of an element's content, the document's lines
// ended by CRLF, text at the start of an element's content, a tab and a
// newline around an attribute value. ok is false when doc has no place
// for it.
func mutate(t testing.TB, doc []byte, m int, r *rand.Rand) ([]byte, bool) {
	sp := spans(t, doc)
	pick := r.IntN(len(sp)-1) + 1 // never the root
	e := sp[pick]
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	switch m {
	case 0: // removed element (required or not: the verdicts must agree either way)
		return cat(doc[:e.start], doc[e.end:]), true
	case 1: // out of order: swap with the next sibling
		for j := pick + 1; j < len(sp); j++ {
			if sp[j].parent == e.parent && sp[j].start >= e.end {
				n := sp[j]
				return cat(doc[:e.start], doc[n.start:n.end], doc[e.end:n.start], doc[e.start:e.end], doc[n.end:]), true
			}
		}
		return nil, false
	case 2: // an attribute value of the wrong type
		tag := string(doc[e.start:e.tagEnd])
		attrs := regexp.MustCompile(`\s((?:classCode|moodCode|typeCode|value|nullFlavor|inversionInd|negationInd|use|determinerCode|unit)="[^"]*")`).FindAllStringSubmatchIndex(tag, -1)
		if len(attrs) == 0 {
			return nil, false
		}
		a := attrs[r.IntN(len(attrs))]
		name := tag[a[2] : strings.Index(tag[a[2]:], "=")+a[2]]
		bad := []string{"НЕ-КОД", "", "1 2", "true-ish", "-x"}[r.IntN(5)]
		tag = tag[:a[2]] + name + `="` + bad + `"` + tag[a[3]:]
		return cat(doc[:e.start], []byte(tag), doc[e.tagEnd:]), true
	case 3: // an unknown element of the v3 namespace before this one
		return cat(doc[:e.start], []byte(`<hubUnknown/>`), doc[e.start:]), true
	case 4: // wrong namespace: the element (only, not its children) moves to urn:wrong
		local := e.name
		if i := strings.IndexByte(local, ':'); i >= 0 {
			local = local[i+1:]
		}
		rest := doc[e.start+1+len(e.name) : e.end]
		renamed := []byte(`<w:` + local + ` xmlns:w="urn:wrong"`)
		if bytes.HasSuffix(rest, []byte("</"+e.name+">")) {
			rest = cat(rest[:len(rest)-len(e.name)-3], []byte("</w:"+local+">"))
		}
		return cat(doc[:e.start], renamed, rest, doc[e.end:]), true
	case 5: // xsi:type="X" → xmlns:hq="…" xsi:type="hq:X", hq of the v3 namespace or a wrong one
		ns := []string{"urn:hl7-org:v3", "urn:wrong"}[r.IntN(2)]
		for j := range sp {
			e := sp[(pick+j)%len(sp)]
			tag := string(doc[e.start:e.tagEnd])
			m := regexp.MustCompile(`xsi:type="([A-Za-z_]+)"`).FindStringSubmatchIndex(tag)
			if m == nil {
				continue
			}
			tag = tag[:m[0]] + `xmlns:hq="` + ns + `" xsi:type="hq:` + tag[m[2]:m[3]] + `"` + tag[m[1]:]
			return cat(doc[:e.start], []byte(tag), doc[e.tagEnd:]), true
		}
		return nil, false
	case 6, 8: // a comment, or text, at the start of the element's content
		if doc[e.tagEnd-2] == '/' {
			return nil, false
		}
		ins := []byte("<!-- hub -->")
		if m == 8 {
			ins = []byte("hub")
		}
		return cat(doc[:e.tagEnd], ins, doc[e.tagEnd:]), true
	case 7: // CRLF line ends
		return bytes.ReplaceAll(doc, []byte("\n"), []byte("\r\n")), true
	case 9: // a tab before an attribute value and a newline after it
		tag := string(doc[e.start:e.tagEnd])
		a := regexp.MustCompile(`\s[A-Za-z]+="([^"]*)"`).FindAllStringSubmatchIndex(tag, -1)
		if len(a) == 0 {
			return nil, false
		}
		v := a[r.IntN(len(a))]
		tag = tag[:v[2]] + "\t" + tag[v[2]:v[3]] + "\n" + tag[v[3]:]
		return cat(doc[:e.start], []byte(tag), doc[e.tagEnd:]), true
	}
	return nil, false
}

// xmllintVerdicts runs xmllint over files and tells, per file, whether it
// is valid and the line of its first error.
func xmllintVerdicts(t testing.TB, xsd string, files []string) map[string][2]int {
	out := map[string][2]int{}
	cmd := exec.Command("xmllint", append([]string{"--noout", "--schema", xsd}, files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	_ = cmd.Run() // exit status 3 when a file is invalid
	sc := bufio.NewScanner(&stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		l := sc.Text()
		for _, f := range files {
			switch {
			case l == f+" validates":
				out[f] = [2]int{1, 0}
			case l == f+" fails to validate":
				v := out[f]
				v[0] = 0
				out[f] = v
			case strings.HasPrefix(l, f+":"):
				rest := l[len(f)+1:]
				n, err := strconv.Atoi(rest[:strings.IndexByte(rest, ':')])
				if v, seen := out[f]; err == nil && (!seen || v[1] == 0) {
					out[f] = [2]int{0, n}
				}
			}
		}
	}
	if len(out) != len(files) {
		t.Fatalf("xmllint answered for %d of %d files: %s", len(out), len(files), stderr.String())
	}
	return out
}

// TestDifferentialXmllint: on every generated document of the four kinds
// and on about 450 mutated ones (removed element, element out of order, attribute
// of the wrong type, unknown element, wrong namespace), the hub and
// `xmllint --noout --schema CDA.xsd` give the same verdict and, for an
// invalid document, the same first error line. Under CI=true a missing
// xmllint fails the test.
func TestDifferentialXmllint(t *testing.T) {
	_, err := exec.LookPath("xmllint")
	testtool.Require(t, "xmllint (Debian: libxml2-utils)", err)
	dir := t.TempDir()
	if d := os.Getenv("XSD_KEEP"); d != "" {
		dir = d
	}
	r := rand.New(rand.NewPCG(12, 0x0ff1c1a1))
	mutated, invalid, goCompared, treeAccepted, treeLeft := 0, 0, 0, 0, 0
	for _, k := range kinds {
		s := set(t)[k]
		var files []string
		docs := map[string][]byte{}
		for n := range 15 {
			doc := semdgen.MustBuild(semdgen.Varied(k, 0xd1ff, n)).XML
			f := filepath.Join(dir, fmt.Sprintf("%s_gen_%d.xml", k, n))
			docs[f] = doc
			files = append(files, f)
			for i := range 15 {
				m := i % 10
				bad, ok := mutate(t, doc, m, r)
				if !ok {
					continue
				}
				f := filepath.Join(dir, fmt.Sprintf("%s_mut_%d_%d_m%d.xml", k, n, i, m))
				docs[f] = bad
				files = append(files, f)
				mutated++
			}
		}
		for f, doc := range docs {
			if err := os.WriteFile(f, doc, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		want := xmllintVerdicts(t, filepath.Join("xsd", k, cdaxsd.Entry), files)
		for _, f := range files {
			verdict := func(err error) [2]int {
				var e *cdaxsd.Error
				if err == nil {
					return [2]int{1, 0}
				}
				if !errors.As(err, &e) {
					t.Fatalf("%s: %v", f, err)
				}
				return [2]int{0, e.Problems[0].Line}
			}
			// The door's validator (Go verdict on valid documents, libxml2 on the rest).
			err := s.Validate(docs[f])
			got := verdict(err)
			if got[0] == 0 {
				invalid++
			}
			if got != want[f] {
				t.Errorf("%s: hub (valid, first error line) %v, xmllint %v%s", filepath.Base(f), got, want[f], problems(err))
			}
			// libxml2 alone.
			was := cdaxsd.SetGo(false)
			err = s.Validate(docs[f])
			cdaxsd.SetGo(was)
			if got := verdict(err); got != want[f] {
				t.Errorf("%s: libxml2 (valid, first error line) %v, xmllint %v%s", filepath.Base(f), got, want[f], problems(err))
			}
			// The pure-Go validator alone: same verdict and same first error line.
			err = s.ValidateGo(docs[f])
			if got := verdict(err); got != want[f] {
				t.Errorf("%s: Go validator (valid, first error line) %v, xmllint %v%s", filepath.Base(f), got, want[f], problems(err))
			}
			goCompared++
			// The door's check on its parse of the document (the tree
			// walk, the bytes when it does not accept), and the tree walk
			// alone: it accepts exactly what the Go validator accepts,
			// but for documents with a carriage return, which it leaves
			// to the bytes.
			dom := schematron.ParseFast(docs[f], semd.Limits{}.WithDefaults())
			if dom == nil {
				continue
			}
			err = s.ValidateTree(docs[f], dom)
			if got := verdict(err); got != want[f] {
				t.Errorf("%s: the door on the DOM (valid, first error line) %v, xmllint %v%s", filepath.Base(f), got, want[f], problems(err))
			}
			tree := s.GoTree(docs[f], dom)
			if tree != nil && !errors.Is(tree, xsdgo.ErrUndecided) {
				t.Errorf("%s: the tree walk answered %v", filepath.Base(f), tree)
			}
			if want := s.ValidateGo(docs[f]) == nil && !bytes.Contains(docs[f], []byte("\r")); (tree == nil) != want {
				t.Errorf("%s: the tree walk accepted %t, the Go validator on the bytes %t", filepath.Base(f), tree == nil, want)
			}
			if tree == nil {
				treeAccepted++
			} else {
				treeLeft++
			}
		}
	}
	t.Logf("%d documents compared (each by the door, libxml2 alone and the Go validator alone: %d), %d mutated, %d invalid; on the DOM: %d accepted by the tree walk, %d left to the bytes",
		60+mutated, goCompared, mutated, invalid, treeAccepted, treeLeft)
	if mutated < 200 || invalid < 200 {
		t.Fatalf("only %d mutated documents (%d invalid): the test needs at least 200 of each", mutated, invalid)
	}
	if treeAccepted < 100 || treeLeft < 100 {
		t.Fatalf("the tree walk accepted %d documents and left %d to the bytes: the test needs at least 100 of each", treeAccepted, treeLeft)
	}
}

// BenchmarkXSD121 validates one generated 121 document against the official
// XSD as the door does (the pure-Go verdict on a valid document; README,
// "ФЛК: XSD").
func BenchmarkXSD121(b *testing.B) {
	benchXSD(b, func(s *cdaxsd.Schema, doc []byte) error { return s.Validate(doc) })
}

// BenchmarkXSD121Go is the pure-Go validator alone.
func BenchmarkXSD121Go(b *testing.B) {
	benchXSD(b, func(s *cdaxsd.Schema, doc []byte) error { return s.ValidateGo(doc) })
}

// BenchmarkXSD121Libxml2 is libxml2 alone (its streaming pass), the door's
// validator before the pure-Go one.
func BenchmarkXSD121Libxml2(b *testing.B) {
	defer cdaxsd.SetGo(cdaxsd.SetGo(false))
	BenchmarkXSD121(b)
}

func benchXSD(b *testing.B, validate func(*cdaxsd.Schema, []byte) error) {
	s := set(b)["121"]
	doc := semdgen.MustBuild(semdgen.Varied("121", 0x0ff1c1a1, 0)).XML
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	start := testtool.CPUTime()
	for b.Loop() {
		if err := validate(s, doc); err != nil {
			b.Fatal(err)
		}
	}
	per := float64(testtool.CPUTime()-start) / float64(b.N)
	b.ReportMetric(per/1e3, "cpu-µs/op")
	b.ReportMetric(1e9/per, "docs/cpu-s")
}

// BenchmarkXSD121Tree is libxml2 without its streaming first pass.
func BenchmarkXSD121Tree(b *testing.B) {
	defer cdaxsd.SetFast(cdaxsd.SetFast(false))
	BenchmarkXSD121Libxml2(b)
}

// TestLoadDir: HUB_XSD_DIR is a directory of <kind>/CDA.xsd; each kind
// found is compiled (other entries are ignored), and a broken schema stops
// the load naming its kind.
func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	sub, err := fs.Sub(cdaxsd.Bundled, "xsd/59")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "59"), sub); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "notes"), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := cdaxsd.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Kinds(), ","); got != "59" || s["59"].Kind != "59" {
		t.Fatalf("kinds %q", got)
	}
	if err := s["59"].Validate(semdgen.MustBuild(semdgen.Varied("59", 3, 0)).XML); err != nil {
		t.Fatal(problems(err))
	}
	if err := os.MkdirAll(filepath.Join(dir, "999"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "999", cdaxsd.Entry), []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="A" type="Nope"/></xs:schema>`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := cdaxsd.LoadDir(dir); err == nil || !strings.Contains(err.Error(), "kind 999") {
		t.Fatalf("a broken kind: %v", err)
	}
	if _, err := cdaxsd.LoadDir(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing directory loaded")
	}
}
