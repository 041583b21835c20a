package schematron

import (
	"math/rand/v2"
	"os"
	"testing"

	"github.com/emdhub/hub/internal/semdgen"
)

func TestDumpGenerated(t *testing.T) {
	dir := os.Getenv("SCH_DUMP")
	if dir == "" {
		t.Skip()
	}
	for _, k := range []string{"121", "58", "59", "76"} {
		d := semdgen.MustBuild(semdgen.Options{Kind: k, Rand: rand.New(rand.NewPCG(1, 2))})
		os.WriteFile(dir+"/"+k+".xml", d.XML, 0o644)
		s, err := Official(k)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := Parse(d.XML)
		if err != nil {
			t.Fatal(err)
		}
		fs := s.Validate(doc)
		t.Logf("%s: %d bytes, %d failures", k, len(d.XML), len(fs))
		for _, f := range fs[:min(5, len(fs))] {
			t.Logf("  %+v", f)
		}
	}
}
