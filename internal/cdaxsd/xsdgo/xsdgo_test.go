package xsdgo_test

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/emdhub/hub/internal/cdaxsd"
	"github.com/emdhub/hub/internal/cdaxsd/xsdgo"
	"github.com/emdhub/hub/internal/semdgen"
)

func compileKind(t testing.TB, k string) *xsdgo.Schema {
	t.Helper()
	sub, err := fs.Sub(cdaxsd.Bundled, "xsd/"+k)
	if err != nil {
		t.Fatal(err)
	}
	s, err := xsdgo.Compile(sub, cdaxsd.Entry)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGeneratedDocumentsValid: the generator's documents of the four kinds
// pass the Go validator compiled from their official XSDs.
func TestGeneratedDocumentsValid(t *testing.T) {
	for _, k := range []string{"121", "58", "59", "76"} {
		s := compileKind(t, k)
		for n := range 10 {
			d := semdgen.MustBuild(semdgen.Varied(k, 0x5eed, n))
			if err := s.Validate(d.XML); err != nil {
				var e *xsdgo.Invalid
				errors.As(err, &e)
				t.Fatalf("kind %s document %d: %v %+v", k, n, err, e)
			}
		}
	}
}

// BenchmarkValidate121 is the Go validator alone on one generated 121
// document (cdaxsd's BenchmarkXSD121Go reports CPU µs beside libxml2).
func BenchmarkValidate121(b *testing.B) {
	s := compileKind(b, "121")
	doc := semdgen.MustBuild(semdgen.Varied("121", 0x0ff1c1a1, 0)).XML
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Validate(doc); err != nil {
			b.Fatal(err)
		}
	}
}
