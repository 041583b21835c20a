package semd_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"
)

// fromTree is the door's parse-once header: the schematron engine's fast
// DOM read by semd.FromTree; decided false when the door would fall back to
// ParseLimited (the fast parser or FromTree declined). As at the door, the
// DOM is the pooled one over the bytes themselves and released after
// FromTree, and the bytes are then overwritten: the header must not change.
func fromTree(b []byte, lim semd.Limits) (doc *semd.Document, err error, decided bool) {
	own := slices.Clone(b)
	d := schematron.ParsePooled(own, lim.WithDefaults())
	if d == nil {
		return nil, nil, false
	}
	doc, err = semd.FromTree(d, lim)
	d.Release()
	for i := range own {
		own[i] = '#'
	}
	if errors.Is(err, semd.ErrUndecided) {
		return nil, nil, false
	}
	return doc, err, true
}

// agree fails t unless FromTree over the fast DOM reads b as ParseLimited
// does: the same header, or the same refusal (code, message, path). It
// tells whether the fast path decided b.
func agree(t *testing.T, b []byte, lim semd.Limits) bool {
	t.Helper()
	got, gotErr, decided := fromTree(b, lim)
	if !decided {
		return false
	}
	want, wantErr := semd.ParseLimited(b, lim)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("FromTree err %v, ParseLimited err %v\n%s", gotErr, wantErr, b)
	}
	if wantErr != nil {
		var g, w *semd.ParseError
		if !errors.As(gotErr, &g) || !errors.As(wantErr, &w) || *g != *w {
			t.Fatalf("refusals differ:\nFromTree      %#v\nParseLimited  %#v", gotErr, wantErr)
		}
		return true
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("headers differ:\nFromTree     %+v\nParseLimited %+v\n%s", got, want, b)
	}
	return true
}

// snippets are inserted into generated documents: repeated and foreign
// elements, declarations named like the attributes the header reads,
// comments inside text, entities, empty and odd values.
var snippets = []string{
	`<id root="1.2.3" extension="x"/>`, `<id root="9.9"/>`, `<title>T<!--c-->2<b/>3</title>`, `<title/>`,
	`<realmCode code="XX"/>`, `<code code="DOCINFO" codeSystem="1" displayName="d &amp; e"/>`,
	`<x:id xmlns:x="urn:hl7-org:v3" root="9" x:extension="y"/>`, `<id xmlns="urn:other" root="7"/>`,
	`<code xmlns:root="urn:x" code="Q"/>`, `<code xmlns:foo="urn:x" foo:code="P"/>`,
	`<setId root="5" extension=""/>`, `<versionNumber value="x"/>`, `<effectiveTime value="20240101"/>`,
	`<recordTarget><patientRole><id root="1.2.643.100.3" extension="11223344595"/></patientRole></recordTarget>`,
	`<author><assignedAuthor><id root="1"/><assignedPerson><name><family>F</family><family>G</family></name></assignedPerson></assignedAuthor></author>`,
	`<participant typeCode="IRCP"><associatedEntity><id root="1.2.643.100.3" extension="1"/></associatedEntity></participant>`,
	`<inFulfillmentOf><order><id root="1.2" extension="3"/></order></inFulfillmentOf>`,
	`<custodian><assignedCustodian><representedCustodianOrganization><name>N</name></representedCustodianOrganization></assignedCustodian></custodian>`,
	`<component><structuredBody><component><section><code code="LINKDOCS"/><entry><act><code code="5"/><reference typeCode="REFR"><externalDocument><id root="1" extension="2"/></externalDocument></reference></act></entry></section></component></structuredBody></component>`,
	`<component><structuredBody><component><section><code code="DOCINFO"/><entry><observation><code code="11002"/><value>S&lt;1</value></observation></entry></section></component></structuredBody></component>`,
	`<entry><observation><code code="11003"/><value value="77"/></observation></entry>`,
	`<entryRelationship><observation><code code="11002"/><value>  A </value></observation></entryRelationship>`,
	`<identity:Props xmlns:identity="urn:hl7-ru:identity"><identity:Ogrn>1</identity:Ogrn></identity:Props>`,
	`text`, ` `, `<!-- comment -->`, `&amp;`,
}

var (
	selfClosing = regexp.MustCompile(`<[A-Za-z][^<>]*/>`)
	attrValue   = regexp.MustCompile(`="[^"]*"`)
	gt          = regexp.MustCompile(`>`)
)

// mutate makes one structural change to b at random.
func mutate(r *rand.Rand, b []byte) []byte {
	s := string(b)
	pick := func(re *regexp.Regexp) []int {
		all := re.FindAllStringIndex(s, -1)
		if len(all) == 0 {
			return nil
		}
		return all[r.IntN(len(all))]
	}
	switch r.IntN(4) {
	case 0: // insert a snippet after a tag
		if m := pick(gt); m != nil {
			return []byte(s[:m[1]] + snippets[r.IntN(len(snippets))] + s[m[1]:])
		}
	case 1: // drop an empty element
		if m := pick(selfClosing); m != nil {
			return []byte(s[:m[0]] + s[m[1]:])
		}
	case 2: // duplicate an empty element
		if m := pick(selfClosing); m != nil {
			return []byte(s[:m[1]] + s[m[0]:m[1]] + s[m[1]:])
		}
	case 3: // change an attribute value
		if m := pick(attrValue); m != nil {
			vals := []string{``, `x`, `1.2.643.100.3`, `IRCP`, `LINKDOCS`, `DOCINFO`, `11002`, `a &amp; b`, `20240101`}
			return []byte(s[:m[0]] + `="` + vals[r.IntN(len(vals))] + `"` + s[m[1]:])
		}
	}
	return b
}

// TestFromTreeAgreesWithParse holds the door's parse-once header to
// ParseLimited's encoding/xml reading on generated documents of every kind
// and on thousands of mutations of them, under default and tight limits.
func TestFromTreeAgreesWithParse(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 12))
	org := semdgen.NewOrg(77, 1)
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.FixedZone("", 3*3600))
	var docs [][]byte
	for _, kind := range []string{"121", "58", "59", "76"} {
		for i := range 3 {
			o := semdgen.Options{Kind: kind, Org: org, Rand: rand.New(rand.NewPCG(uint64(i), 7)), Effective: now}
			if kind == "121" {
				for j := range i * 3 {
					o.Links = append(o.Links, semdgen.Link{Kind: "58", ID: fmt.Sprint("L", j%4), Date: now})
				}
			}
			docs = append(docs, semdgen.MustBuild(o).XML)
		}
	}
	seeds, _ := filepath.Glob("testdata/fuzz/FuzzParse/*")
	for _, f := range seeds {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if s := string(b); strings.HasPrefix(s, "go test fuzz v1\n[]byte(") {
			docs = append(docs, []byte(strings.TrimSuffix(strings.TrimPrefix(s, "go test fuzz v1\n[]byte("), ")\n")))
		}
	}
	limits := []semd.Limits{{}, {MaxLinks: 1}, {MaxDepth: 8, MaxAttrs: 4, MaxElements: 300}}
	decided, refused := 0, 0
	for _, doc := range docs {
		for _, lim := range limits {
			if agree(t, doc, lim) {
				decided++
			}
		}
		b := doc
		for range 80 {
			b = mutate(r, b)
			lim := limits[r.IntN(len(limits))]
			if !agree(t, b, lim) {
				b = doc // undecided: the door falls back; mutate the original again
				continue
			}
			decided++
			if _, err := semd.ParseLimited(b, lim); err != nil {
				refused++
			}
		}
	}
	// The comparison must have bitten: most mutants stay well-formed.
	if decided < 400 || refused == 0 {
		t.Fatalf("only %d documents decided by the fast path (%d refused): the differential proves little", decided, refused)
	}
	t.Logf("%d documents decided by the fast path and compared, %d of them refused", decided, refused)
}

// TestFromTreeUndecided: a declaration xmlns:root is an attribute "root" to
// encoding/xml, which the tree does not keep: FromTree declines it.
func TestFromTreeUndecided(t *testing.T) {
	b := []byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><id xmlns:root="urn:x" extension="1"/></ClinicalDocument>`)
	d := schematron.ParseFast(b, semd.DefaultLimits)
	if d == nil {
		t.Fatal("the fast parser declined a plain document")
	}
	if _, err := semd.FromTree(d, semd.Limits{}); !errors.Is(err, semd.ErrUndecided) {
		t.Fatalf("FromTree = %v, want ErrUndecided", err)
	}
	doc, err := semd.Parse(b)
	if err != nil || doc.ID.Root != "urn:x" {
		t.Fatalf("encoding/xml reads xmlns:root as root: %+v %v", doc, err)
	}
}

// FuzzFromTreeAgrees is TestFromTreeAgreesWithParse for go test -fuzz.
func FuzzFromTreeAgrees(f *testing.F) {
	f.Add([]byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><id root="1.2" extension="x"/><title>a<!--b-->c</title></ClinicalDocument>`))
	f.Add(semdgen.MustBuild(semdgen.Options{Kind: "58", Org: semdgen.NewOrg(77, 1), Rand: rand.New(rand.NewPCG(1, 2))}).XML)
	f.Fuzz(func(t *testing.T, b []byte) {
		agree(t, b, semd.Limits{})
		agree(t, b, semd.Limits{MaxLinks: 1, MaxDepth: 10})
	})
}

// TestFromTreeSectionCodeAnywhere: FromTree reads a section's code before
// its entries and skips the entries of sections other than DOCINFO and
// LINKDOCS; a code after the entries, a second code overriding the first,
// and a code element without the code attribute must still give
// encoding/xml's header (series and number from DOCINFO, or none).
func TestFromTreeSectionCodeAnywhere(t *testing.T) {
	doc := semdgen.MustBuild(semdgen.Options{Kind: "58", Rand: rand.New(rand.NewPCG(1, 7))}).XML
	const docinfo = `<code code="DOCINFO" codeSystem="1.2.643.5.1.13.13.99.2.197" codeSystemVersion="4.29" codeSystemName="Секции электронных медицинских документов" displayName="Сведения о документе"/>`
	if !strings.Contains(string(doc), docinfo) {
		t.Fatal("no DOCINFO section code in the generated 58")
	}
	at := func(old, new string) []byte { return []byte(strings.Replace(string(doc), old, new, 1)) }
	for name, b := range map[string][]byte{
		"code after the entries":       at(docinfo+"<title>", "<title>"),
		"DOCINFO overridden":           at(docinfo, docinfo+`<code code="OTHER"/>`),
		"DOCINFO set late":             at(docinfo, `<code code="OTHER"/>`+docinfo),
		"code without its attribute":   at(docinfo, docinfo+`<code codeSystem="x"/>`),
		"other section made DOCINFO":   at(`<code code="DEADPATINFO"`, `<code code="DOCINFO"`),
		"DOCINFO in another namespace": at(docinfo, `<code xmlns="urn:other" code="OTHER"/>`+docinfo),
	} {
		if name == "code after the entries" {
			b = []byte(strings.Replace(string(b), "</observation></entry></section>", "</observation></entry>"+docinfo+"</section>", 1))
		}
		t.Run(name, func(t *testing.T) {
			if !agree(t, b, semd.Limits{}) {
				t.Fatal("the fast path declined the document")
			}
		})
	}
}
