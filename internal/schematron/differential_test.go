package schematron

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/schematron/saxon"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/testtool"
)

var officialKinds = []string{"121", "58", "59", "76"}

// corpus is what the differential test runs: for every kind, generated
// documents of several seeds, and mutants of them each broken in one place.
type corpusDoc struct {
	name string
	xml  []byte
}

func corpus(t testing.TB, seeds, mutantsPerKind int) []corpusDoc {
	var docs []corpusDoc
	for ki, k := range officialKinds {
		var base [][]byte
		for s := 1; s <= seeds; s++ {
			d := semdgen.MustBuild(semdgen.Options{Kind: k, Rand: rand.New(rand.NewPCG(uint64(s), uint64(ki)))})
			base = append(base, d.XML)
			docs = append(docs, corpusDoc{fmt.Sprintf("%s seed %d", k, s), d.XML})
		}
		r := rand.New(rand.NewPCG(uint64(ki), 42))
		for i := 0; i < mutantsPerKind; i++ {
			b := base[r.IntN(len(base))]
			m, what := mutate(b, r)
			if _, err := Parse(m); err != nil {
				t.Fatalf("mutant %s/%d (%s) does not parse: %v", k, i, what, err)
			}
			docs = append(docs, corpusDoc{fmt.Sprintf("%s mutant %d: %s", k, i, what), m})
		}
	}
	return docs
}

var failedDocs = regexp.MustCompile(`failed on documents ([0-9, ]+) \(`)

// TestDifferentialAgainstSaxon runs every official schematron over every
// generated document and ≥ 500 mutants with the engine and with Saxon-HE
// (the oracle), and requires the same failures document by document.
// Documents on which Saxon stops with a dynamic error must be the ones on
// which the engine reports one.
func TestDifferentialAgainstSaxon(t *testing.T) {
	testtool.Require(t, "Saxon-HE", saxon.Available())
	docs := corpus(t, 5, 130)
	raw := make([][]byte, len(docs))
	parsed := make([]*Document, len(docs))
	for i, d := range docs {
		raw[i] = d.xml
		var err error
		if parsed[i], err = Parse(d.xml); err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
	}
	totalFail, compared := 0, 0
	for _, kind := range officialKinds {
		sch, err := Official(kind)
		if err != nil {
			t.Fatal(err)
		}
		ss, err := saxon.Compile("official/" + kind + ".sch")
		if err != nil {
			t.Fatal(err)
		}
		idx := make([]int, len(docs))
		for i := range idx {
			idx[i] = i
		}
		got, err := ss.Run(raw)
		if err != nil {
			// Saxon stopped on some documents with a dynamic error: the engine
			// must report one on exactly those, and the rest are compared.
			m := failedDocs.FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatalf("%s: %v", kind, err)
			}
			var bad []int
			for _, f := range strings.Split(m[1], ", ") {
				n, _ := strconv.Atoi(strings.TrimSpace(f))
				bad = append(bad, n)
			}
			for i, d := range parsed {
				_, verr := sch.ValidateErr(d)
				if (verr != nil) != slices.Contains(bad, i) {
					t.Errorf("%s over %s: engine error %v, Saxon failed: %v", kind, docs[i].name, verr, slices.Contains(bad, i))
				}
			}
			idx = slices.DeleteFunc(idx, func(i int) bool { return slices.Contains(bad, i) })
			var rest [][]byte
			for _, i := range idx {
				rest = append(rest, raw[i])
			}
			if got, err = ss.Run(rest); err != nil {
				t.Fatalf("%s: second run: %v", kind, err)
			}
			t.Logf("%s: %d documents stop Saxon with a dynamic error (the engine agrees)", kind, len(bad))
		}
		for j, i := range idx {
			want := make([]Failure, len(got[j]))
			for k, f := range got[j] {
				want[k] = Failure(f)
			}
			have, verr := sch.ValidateErr(parsed[i])
			if verr != nil {
				t.Errorf("%s over %s: engine error %v where Saxon gave a verdict", kind, docs[i].name, verr)
				continue
			}
			compared++
			totalFail += len(want)
			if !slices.Equal(have, want) {
				t.Errorf("%s over %s: engine and Saxon differ:\n%s", kind, docs[i].name, diff(have, want))
			}
		}
	}
	t.Logf("%d documents (%d mutants), %d schema×document comparisons, %d failures compared", len(docs), len(docs)-5*len(officialKinds), compared, totalFail)
}

func diff(have, want []Failure) string {
	var sb strings.Builder
	for _, f := range have {
		if !slices.Contains(want, f) {
			fmt.Fprintf(&sb, "  engine only: %s | %s\n", f.Location, f.Text)
		}
	}
	for _, f := range want {
		if !slices.Contains(have, f) {
			fmt.Fprintf(&sb, "  saxon only:  %s | %s\n", f.Location, f.Text)
		}
	}
	if sb.Len() == 0 {
		fmt.Fprintf(&sb, "  same set, different multiplicity or order (%d vs %d)\n", len(have), len(want))
	}
	s := sb.String()
	if len(s) > 3000 {
		s = s[:3000] + "…\n"
	}
	return s
}
