package schematron

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/emdhub/hub/internal/schematron/saxon"
	"github.com/emdhub/hub/internal/testtool"
)

// TestXPath2ConstructsAgainstSaxon: the XPath 2.0 constructs other published
// schematrons use beyond the four official files — substring(),
// string-length(), last(), empty(), exists(), if … then … else, current()
// (testdata/xpath2.sch) — give Saxon-HE's failures, document by document.
func TestXPath2ConstructsAgainstSaxon(t *testing.T) {
	sameAsSaxon(t, "xpath2.sch", 10)
}

// TestAbstractRulesAndPhasesAgainstSaxon: abstract rules (sch:extends,
// nested, used from another pattern, the failure in the extending rule's
// pattern) and the default phase (testdata/abstract.sch) as Saxon-HE runs them.
func TestAbstractRulesAndPhasesAgainstSaxon(t *testing.T) {
	s := sameAsSaxon(t, "abstract.sch", 6)
	if len(s.patterns) != 2 || s.Rules != 3 || s.Asserts != 6 || s.Reports != 3 {
		t.Errorf("patterns %d, rules %d, asserts %d, reports %d", len(s.patterns), s.Rules, s.Asserts, s.Reports)
	}
}

// TestLetAgainstSaxon: sch:let at the schema and pattern level (global, at
// the document node) and in rules (at the context node, visible to what
// follows, referring to current() and to other lets; one never used whose
// evaluation would fail) as Saxon-HE runs them (testdata/let.sch).
func TestLetAgainstSaxon(t *testing.T) { sameAsSaxon(t, "let.sch", 5) }

// sameAsSaxon runs testdata/NAME over the testdata/xpath2-*.xml documents
// with the engine and with Saxon-HE and requires the same failures; the
// engine must report at least minFail of them (the constructs are exercised).
func sameAsSaxon(t *testing.T, name string, minFail int) *Schema {
	sch := filepath.Join("testdata", name)
	src, err := os.ReadFile(sch)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{"xpath2-1.xml", "xpath2-2.xml", "xpath2-3.xml"}
	var raw [][]byte
	var have [][]Failure
	total := 0
	for _, name := range docs {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b)
		fs, err := s.ValidateErr(mustDoc(t, string(b)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		have = append(have, fs)
		total += len(fs)
	}
	if total < minFail {
		t.Errorf("only %d failures over the three documents: the constructs are not exercised", total)
	}
	if err := saxon.Available(); err != nil {
		testtool.Require(t, "Saxon-HE", err)
		return s
	}
	ss, err := saxon.Compile(sch)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ss.Run(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i := range docs {
		want := make([]Failure, len(got[i]))
		for k, f := range got[i] {
			want[k] = Failure(f)
		}
		if !slices.Equal(have[i], want) {
			t.Errorf("%s: engine and Saxon differ:\n%s", docs[i], diff(have[i], want))
		}
	}
	return s
}
