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
