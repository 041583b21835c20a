package semd_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"
)

const cdaOpen = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ClinicalDocument xmlns="urn:hl7-org:v3">`

// TestXMLLimits: a document over one of the structure limits is refused
// with XML_LIMIT_EXCEEDED, naming the limit and the path where it was
// crossed; one just within them parses.
func TestXMLLimits(t *testing.T) {
	deep := func(n int) []byte {
		return []byte(cdaOpen + strings.Repeat("<a>", n) + strings.Repeat("</a>", n) + `</ClinicalDocument>`)
	}
	attrs := func(n int) []byte {
		var b strings.Builder
		b.WriteString(cdaOpen + `<title`)
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, ` a%d="v"`, i)
		}
		b.WriteString(`/></ClinicalDocument>`)
		return []byte(b.String())
	}
	elements := func(n int) []byte { // the root and n-1 children
		return []byte(cdaOpen + strings.Repeat("<b/>", n-1) + `</ClinicalDocument>`)
	}
	bigAttr := func(n int) []byte {
		return []byte(cdaOpen + `<code code="` + strings.Repeat("x", n) + `"/></ClinicalDocument>`)
	}
	tests := []struct {
		name string
		doc  []byte
		msg  string // in the refusal; empty: accepted
		path string
	}{
		{"100,000-deep nesting", deep(100_000), "deeper than 64", "ClinicalDocument" + strings.Repeat("/a", 64)},
		{"63 nested under the root", deep(63), "", ""},
		{"10 MB attribute", bigAttr(10 << 20), "10485760 bytes, more than 65536", "ClinicalDocument/code/@code"},
		{"64 KB attribute", bigAttr(64 << 10), "", ""},
		{"65 attributes", attrs(65), "65 attributes, more than 64", "ClinicalDocument/title"},
		{"64 attributes", attrs(64), "", ""},
		{"200,001 elements", elements(200_001), "more than 200000 elements", "ClinicalDocument/b"},
		{"200,000 elements", elements(200_000), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := semd.Parse(tt.doc)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var pe *semd.ParseError
			if !errors.As(err, &pe) || pe.Code != codes.XMLLimitExceeded {
				t.Fatalf("got %v, want %s", err, codes.XMLLimitExceeded)
			}
			if !strings.Contains(pe.Message, tt.msg) || pe.Path != tt.path {
				t.Fatalf("message %q path %q; want %q at %q", pe.Message, pe.Path, tt.msg, tt.path)
			}
		})
	}
	// Configured limits replace the defaults; a generated СЭМД fits them.
	d := semdgen.MustBuild(semdgen.Options{Kind: "121", Rand: rand.New(rand.NewPCG(1, 2)),
		Links: []semdgen.Link{{Kind: "119", ID: "c-1"}}})
	if _, err := semd.ParseLimited(d.XML, semd.Limits{MaxDepth: 30, MaxAttrs: 16, MaxAttrBytes: 1024, MaxElements: 2000}); err != nil {
		t.Fatalf("generated referral: %v", err)
	}
	var pe *semd.ParseError
	if _, err := semd.ParseLimited(d.XML, semd.Limits{MaxDepth: 5}); !errors.As(err, &pe) || pe.Code != codes.XMLLimitExceeded {
		t.Fatalf("depth 5: %v", err)
	}
	if _, err := semd.ParseLimited(d.XML, semd.Limits{MaxElements: 100}); !errors.As(err, &pe) || pe.Code != codes.XMLLimitExceeded {
		t.Fatalf("100 elements: %v", err)
	}
}

// TestLinkDocs: links listed twice are merged (first occurrence order
// kept), and more distinct links than the limit are refused with
// TOO_MANY_LINKS.
func TestLinkDocs(t *testing.T) {
	build := func(links []semdgen.Link) []byte {
		return semdgen.MustBuild(semdgen.Options{Kind: "121", Links: links, Rand: rand.New(rand.NewPCG(5, 6))}).XML
	}
	var dup []semdgen.Link
	for i := 0; i < 10; i++ {
		dup = append(dup, semdgen.Link{Kind: "119", ID: "c-2"}, semdgen.Link{Kind: "186", ID: "l-1"})
	}
	doc, err := semd.Parse(build(dup))
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.LinkDocs) != 2 || doc.LinkDocs[0].Ref.Extension != "c-2" || doc.LinkDocs[1].Ref.Extension != "l-1" {
		t.Fatalf("links: %+v", doc.LinkDocs)
	}
	if _, err := semd.Check(doc, semd.Claims{Kind: "121", SubmitterOrg: doc.Custodian.OID, Now: time.Now()}); err != nil {
		t.Fatalf("merged links refused: %v", err)
	}
	links := func(n int) []semdgen.Link {
		var out []semdgen.Link
		for i := 0; i < n; i++ {
			out = append(out, semdgen.Link{Kind: "119", ID: fmt.Sprintf("c-%d", i)})
		}
		return out
	}
	if doc, err := semd.Parse(build(links(50))); err != nil || len(doc.LinkDocs) != 50 {
		t.Fatalf("50 links: %v", err)
	}
	var pe *semd.ParseError
	if _, err := semd.Parse(build(links(51))); !errors.As(err, &pe) || pe.Code != codes.TooManyLinks || !strings.Contains(pe.Message, "51") {
		t.Fatalf("51 links: %v", err)
	}
	if _, err := semd.Parse(build(append(links(50), links(50)...))); err != nil {
		t.Fatalf("50 links listed twice: %v", err)
	}
	if _, err := semd.ParseLimited(build(links(3)), semd.Limits{MaxLinks: 2}); !errors.As(err, &pe) || pe.Code != codes.TooManyLinks {
		t.Fatalf("3 links over a limit of 2: %v", err)
	}
}
