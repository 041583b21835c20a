package semdgen

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
)

// row is one line of a ФНСИ book: its code and display name.
type row struct{ Code, Name string }

// book is a ФНСИ book as books_gen.go holds it.
type book struct {
	Version, Name string
	Rows          []row
}

// OIDs of the books the bodies use most.
const (
	f166  = "1.2.643.5.1.13.13.99.2.166" // Кодируемые поля CDA документов
	f197  = "1.2.643.5.1.13.13.99.2.197" // Секции электронных медицинских документов
	f1005 = "1.2.643.5.1.13.13.11.1005"  // МКБ-10
)

func lookup(oid, code string) (book, string) {
	b, ok := books[oid]
	if !ok {
		panic("semdgen: no book " + oid)
	}
	for _, r := range b.Rows {
		if r.Code == code {
			return b, r.Name
		}
	}
	panic(fmt.Sprintf("semdgen: no code %s in book %s", code, oid))
}

// coded renders the attributes of a code from a book: code, codeSystem,
// codeSystemVersion, codeSystemName and displayName.
func coded(oid, code string) string {
	key := oid + "|" + code
	if v, ok := codedCache.Load(key); ok {
		return v.(string)
	}
	b, name := lookup(oid, code)
	v := fmt.Sprintf(`code="%s" codeSystem="%s" codeSystemVersion="%s" codeSystemName="%s" displayName="%s"`, code, oid, b.Version, esc(b.Name), esc(name))
	codedCache.Store(key, v)
	return v
}

// codedCache keeps rendered codes: the books do not change at run time.
var codedCache sync.Map

// anyOf picks one of codes (all of them must be in the book).
func anyOf(r *rand.Rand, codes ...string) string { return codes[r.IntN(len(codes))] }

// body is a builder of structured body XML.
type body struct {
	strings.Builder
	n int // observations with a narrative reference so far
}

func (b *body) f(format string, args ...any) { fmt.Fprintf(b, format, args...) }

// open starts a section coded from НСИ 99.2.197 with its narrative text.
func (b *body) open(code, text string) {
	_, name := lookup(f197, code)
	b.f(`<component><section><code %s/><title>%s</title><text>%s</text>`, coded(f197, code), esc(name), esc(text))
}

func (b *body) close() { b.WriteString("</section></component>\n") }

// obs writes an entry with one observation coded from НСИ 99.2.166 and the
// given value element(s) (already rendered).
func (b *body) obs(code166, inner string) {
	b.f(`<entry><observation classCode="OBS" moodCode="EVN"><code %s/>%s</observation></entry>`, coded(f166, code166), inner)
}

func valST(s string) string { return `<value xsi:type="ST">` + esc(s) + `</value>` }
func valCD(oid, code string) string {
	return `<value xsi:type="CD" ` + coded(oid, code) + `/>`
}
func valINT(n int) string { return fmt.Sprintf(`<value xsi:type="INT" value="%d"/>`, n) }
func valPQ(v, unit string) string {
	return fmt.Sprintf(`<value xsi:type="PQ" value="%s" unit="%s"/>`, v, unit)
}
func valTS(v string) string { return `<value xsi:type="TS" value="` + v + `"/>` }
func valBL(v bool) string   { return fmt.Sprintf(`<value xsi:type="BL" value="%t"/>`, v) }
