package sim

import (
	"math/rand/v2"
	"testing"

	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"
)

// TestSeriesNumberReadsAsParse: ЕГР ЗАГС's header read finds the
// series and number semd.Parse finds, in every certificate kind the
// generator makes and in hand-written edge cases (value attribute, nested
// observations and other sections ignored, first of each code kept), and
// refuses XML that is not well-formed.
func TestSeriesNumberReadsAsParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 2))
	org := semdgen.Org{OID: "1.2.643.5.1.13.13.12.2.77.7777", Name: "ГБУЗ Тест", OGRN: "1027700000001"}
	for _, kind := range []string{"58", "59", "76"} {
		for range 5 {
			d := semdgen.MustBuild(semdgen.Options{Kind: kind, Org: org, Rand: rng})
			h, err := semd.Parse(d.XML)
			if err != nil {
				t.Fatal(err)
			}
			s, n, err := certificateSeriesNumber(d.XML)
			if err != nil || s != h.Series || n != h.Number || s == "" || n == "" {
				t.Fatalf("kind %s: scan %q %q %v, parse %q %q", kind, s, n, err, h.Series, h.Number)
			}
		}
	}
	const head = `<ClinicalDocument xmlns="urn:hl7-org:v3"><component><structuredBody>`
	const tail = `</structuredBody></component></ClinicalDocument>`
	for _, c := range []struct {
		name, body   string
		series, numb string
		bad          bool
	}{
		{"value attribute and text", `<component><section><code code="DOCINFO"/>
			<entry><observation><code code="4120"/><value value="12 A"/></observation></entry>
			<entry><observation><code code="4121"/><value>  345 </value></observation></entry></section></component>`, "12 A", "345", false},
		{"first of each code; nested and other sections ignored", `<component><section><code code="OTHER"/>
			<entry><observation><code code="5013"/><value>NO</value></observation></entry></section></component>
			<component><section><code code="DOCINFO"/>
			<entry><observation><code code="X"/><entryRelationship><observation><code code="5013"/><value>NESTED</value></observation></entryRelationship></observation></entry>
			<entry><observation><code code="5013"/><value>S1</value></observation></entry>
			<entry><observation><code code="5013"/><value>S2</value></observation></entry>
			<entry><observation><code code="5014"/><value>N1</value></observation></entry></section></component>`, "S1", "N1", false},
		{"none", `<component><section><code code="DOCINFO"/></section></component>`, "", "", false},
		{"not well-formed", `<component><section><code code="DOCINFO"/><entry><observation>`, "", "", true},
	} {
		doc := []byte(head + c.body + tail)
		if c.bad {
			doc = []byte(head + c.body)
		}
		s, n, err := certificateSeriesNumber(doc)
		if c.bad {
			if err == nil {
				t.Errorf("%s: no error", c.name)
			}
			continue
		}
		if err != nil || s != c.series || n != c.numb {
			t.Errorf("%s: %q %q %v, want %q %q", c.name, s, n, err, c.series, c.numb)
		}
		if h, err := semd.Parse(doc); err == nil && (h.Series != s || h.Number != n) {
			t.Errorf("%s: semd.Parse reads %q %q, the scan %q %q", c.name, h.Series, h.Number, s, n)
		}
	}
}

// BenchmarkZAGSSeriesNumber compares the door's fast header read with the full parse it
// replaces, on a death certificate (kind 58).
//
//	go test ./internal/sim -run XXX -bench ZAGSSeriesNumber
func BenchmarkZAGSSeriesNumber(b *testing.B) {
	org := semdgen.Org{OID: "1.2.643.5.1.13.13.12.2.77.7777", Name: "ГБУЗ Тест", OGRN: "1027700000001"}
	d := semdgen.MustBuild(semdgen.Options{Kind: "58", Org: org, Rand: rand.New(rand.NewPCG(1, 2))})
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			if _, err := semd.Parse(d.XML); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("header", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := certificateSeriesNumber(d.XML); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestDocumentIDReadsAsParse: the bureau's read of a linked document's
// id finds what semd.Parse finds, and refuses what is not a СЭМД.
func TestDocumentIDReadsAsParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 3))
	org := semdgen.Org{OID: "1.2.643.5.1.13.13.12.2.77.7777", Name: "ГБУЗ Тест", OGRN: "1027700000001"}
	for _, kind := range []string{"119", "186", "174", "147", "158", "121", "58"} {
		d := semdgen.MustBuild(semdgen.Options{Kind: kind, Org: org, Rand: rng})
		h, err := semd.Parse(d.XML)
		if err != nil {
			t.Fatal(err)
		}
		id, err := documentID(d.XML)
		if err != nil || id != h.ID || id.Extension == "" {
			t.Fatalf("kind %s: scan %v %v, parse %v", kind, id, err, h.ID)
		}
	}
	for _, bad := range []string{`<Other xmlns="urn:hl7-org:v3"><id root="1" extension="2"/></Other>`,
		`<ClinicalDocument xmlns="urn:hl7-org:v3"><code code="1"/></ClinicalDocument>`, `<ClinicalDocument><`} {
		if id, err := documentID([]byte(bad)); err == nil {
			t.Errorf("%q: read id %v", bad, id)
		}
	}
}
