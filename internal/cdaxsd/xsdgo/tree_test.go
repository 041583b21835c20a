package xsdgo_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/emdhub/hub/internal/cdaxsd/xsdgo"
	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/testtool"
)

// treeDeclines are the valid cases ValidateTree leaves to the bytes, and why.
var treeDeclines = map[string]string{
	"carriage returns":                 "the tree holds \\n where the bytes have \\r\\n",
	"one attribute under two prefixes": "the tree no longer tells the prefixes apart",
	"an empty prefix declaration":      "libxml2 reports xmlns:p=\"\"",
	"the xml prefix declared":          "a declaration of xml",
}

// parseDoor is the door's parse (intake: schematron.ParseFast under the
// door's limits); nil when the fast parser declines the document.
func parseDoor(doc []byte) *schematron.Document {
	return schematron.ParseFast(doc, semd.Limits{}.WithDefaults())
}

// TestTreeAgreesWithValidate: on every case of the constructs (their lines
// checked against xmllint by TestConstructsXmllint), the walk of the parsed
// tree accepts exactly the valid documents but those it declines on purpose
// (treeDeclines), and refuses nothing itself: every invalid document is
// ErrUndecided, for the bytes to report.
func TestTreeAgreesWithValidate(t *testing.T) {
	s, err := xsdgo.Compile(testSchema, "main.xsd")
	if err != nil {
		t.Fatal(err)
	}
	walked := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := []byte(c.doc)
			d := parseDoor(doc)
			if d == nil {
				return // the door validates the bytes
			}
			walked++
			err := s.ValidateTree(doc, d)
			if err != nil && !errors.Is(err, xsdgo.ErrUndecided) {
				t.Fatalf("ValidateTree answered %v; it accepts or leaves to the bytes", err)
			}
			_, declines := treeDeclines[c.name]
			if want := c.line == 0 && !declines; (err == nil) != want {
				t.Fatalf("ValidateTree accepted: %t, want %t (valid %t, declined on purpose %t)", err == nil, want, c.line == 0, declines)
			}
			if err == nil && s.Validate(doc) != nil {
				t.Fatal("the tree accepted what Validate refuses")
			}
		})
	}
	if walked < len(cases)-5 {
		t.Fatalf("only %d of %d cases had a tree: the test lost its subject", walked, len(cases))
	}
}

// TestTreeNeedsTheParsesDeclarations: a tree without the namespace
// declarations recorded (encoding/xml's parse) is never accepted.
func TestTreeNeedsTheParsesDeclarations(t *testing.T) {
	s, err := xsdgo.Compile(testSchema, "main.xsd")
	if err != nil {
		t.Fatal(err)
	}
	doc := []byte(cases[0].doc)
	d, err := schematron.Parse(append([]byte("<!-- x --><?pi?>"), doc...)) // a PI: the fast parser declines
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ValidateTree(doc, d); !errors.Is(err, xsdgo.ErrUndecided) {
		t.Fatalf("a tree without declarations: %v", err)
	}
}

// TestTreeTakesGeneratedDocuments: the generator's documents of the four
// kinds are decided on the tree (the door's fast path), not left to the bytes.
func TestTreeTakesGeneratedDocuments(t *testing.T) {
	for _, k := range []string{"121", "58", "59", "76"} {
		s := compileKind(t, k)
		for n := range 10 {
			doc := semdgen.MustBuild(semdgen.Varied(k, 0x7ee, n)).XML
			d := parseDoor(doc)
			if d == nil {
				t.Fatalf("kind %s document %d: the fast parser declined it", k, n)
			}
			if err := s.ValidateTree(doc, d); err != nil {
				t.Fatalf("kind %s document %d: %v", k, n, err)
			}
		}
	}
}

// FuzzTreeAcceptsOnlyValid: whatever the tree walk accepts, Validate (the
// bytes) accepts, on the constructs' schema.
func FuzzTreeAcceptsOnlyValid(f *testing.F) {
	s, err := xsdgo.Compile(testSchema, "main.xsd")
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		f.Add([]byte(c.doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		treeAccepts(t, s, doc)
	})
}

// TestTreeOnRandomMutants121: generated 121 documents with random bytes
// changed, inserted and cut out (what FuzzTreeAcceptsOnlyValid121 does, but
// deterministic and fast: the fuzzing engine runs documents of this size at
// under one a second): whatever the tree walk accepts, Validate accepts.
func TestTreeOnRandomMutants121(t *testing.T) {
	s := compileKind(t, "121")
	r := rand.New(rand.NewPCG(121, 7))
	accepted := 0
	for n := range 3 {
		seed := semdgen.MustBuild(semdgen.Varied("121", 0xf22, n)).XML
		for range 300 {
			doc := append([]byte(nil), seed...)
			for range 1 + r.IntN(4) {
				p := r.IntN(len(doc))
				switch r.IntN(3) {
				case 0:
					doc[p] = byte(r.IntN(256))
				case 1:
					doc = append(doc[:p], doc[min(len(doc), p+r.IntN(50)):]...)
				case 2:
					doc = append(doc[:p], append([]byte{byte(r.IntN(128))}, doc[p:]...)...)
				}
			}
			if treeAccepts(t, s, doc) {
				accepted++
			}
		}
	}
	if accepted == 0 {
		t.Fatal("the tree walk accepted no mutant: the test proves nothing")
	}
	t.Logf("%d of 900 mutants accepted on the tree (and by Validate)", accepted)
}

// FuzzTreeAcceptsOnlyValid121 is FuzzTreeAcceptsOnlyValid on the official
// schema of kind 121 and generated documents.
func FuzzTreeAcceptsOnlyValid121(f *testing.F) {
	s := compileKind(f, "121")
	for n := range 3 {
		f.Add(semdgen.MustBuild(semdgen.Varied("121", 0xf22, n)).XML)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		treeAccepts(t, s, doc)
	})
}

// treeAccepts fails t when the tree walk accepts doc and Validate does not;
// it tells whether the tree accepted.
func treeAccepts(t *testing.T, s *xsdgo.Schema, doc []byte) bool {
	d := parseDoor(doc)
	if d == nil {
		return false
	}
	err := s.ValidateTree(doc, d)
	if err != nil && !errors.Is(err, xsdgo.ErrUndecided) {
		t.Fatalf("ValidateTree answered %v", err)
	}
	if err == nil {
		if err := s.Validate(doc); err != nil {
			t.Fatalf("the tree accepted, Validate: %v", err)
		}
	}
	return err == nil
}

// BenchmarkValidateTree121 is BenchmarkValidate121 on the parsed tree.
func BenchmarkValidateTree121(b *testing.B) {
	s := compileKind(b, "121")
	doc := semdgen.MustBuild(semdgen.Varied("121", 0x0ff1c1a1, 0)).XML
	d := parseDoor(doc)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	start := testtool.CPUTime()
	for b.Loop() {
		if err := s.ValidateTree(doc, d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(testtool.CPUTime()-start)/float64(b.N)/1e3, "cpu-µs/op")
}
