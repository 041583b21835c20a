package schematron

import (
	"fmt"
	"strings"
	"testing"
)

// condDoc has what count groups must count right: an entry with two
// observations of the same code (counted once), one with two codes, an
// entry without observation, an attribute no literal has, a value twice
// under one section.
const condDoc = `<ClinicalDocument xmlns="urn:hl7-org:v3">
  <section>
    <code code="S"/>
    <entry><observation><code code="A"/></observation><observation><code code="A"/></observation></entry>
    <entry><observation><code code="A"/><code code="B"/></observation></entry>
    <entry><observation><code code="C"/></observation></entry>
    <entry/>
    <entry><act><code code="A"/></act></entry>
  </section>
  <section><code code="T"/><entry><observation><code code="B"/></observation></entry></section>
  <component><section><code code="A"/></section></component>
  <component><section><code code="A"/><code code="A"/></section></component>
  <component><section/></component>
</ClinicalDocument>`

// TestCondsAgreeWithEval holds every compiled test (cond: the inline
// shapes, count groups, closures) to the interpreter it replaces: at every
// node each rule selects, in the generated documents of the four kinds and
// mutants of them, ev.holds gives the effective boolean value ev.eval gives;
// so do the compiled predicates of the rule contexts at every node of the
// name their step tests.
func TestCondsAgreeWithEval(t *testing.T) {
	docs := corpus(t, 1, 25)
	for _, kind := range officialKinds {
		s, err := Official(kind)
		if err != nil {
			t.Fatal(err)
		}
		inline, evals := 0, 0
		for _, cd := range docs {
			d, err := Parse(cd.xml)
			if err != nil {
				t.Fatal(err)
			}
			evals += condsAgree(t, s, d, cd.name, &inline)
		}
		t.Logf("%s: %d tests compared, %d of them inline", kind, evals, inline)
		if inline == 0 {
			t.Errorf("%s: no test ran inline", kind)
		}
	}
}

// TestCountGroups checks count(P[Q='x']) through count groups on condDoc
// against the interpreter and against the counts worked out by hand.
func TestCountGroups(t *testing.T) {
	cases := []struct {
		context, test string
		want          bool
	}{
		{"ClinicalDocument/section[code/@code='S']", "count(entry[observation/code[@code='A']])=2", true},
		{"ClinicalDocument/section[code/@code='S']", "count(entry[observation/code[@code='B']])=1", true},
		{"ClinicalDocument/section[code/@code='S']", "count(entry[observation/code[@code='C']])=1", true},
		{"ClinicalDocument/section[code/@code='S']", "count(entry[observation/code[@code='D']])=0", true},
		{"ClinicalDocument/section[code/@code='S']", "count(entry[observation/code[@code='A']])>=3", false},
		{"ClinicalDocument/section[code/@code='S']", "entry[act/code[@code='A']]", true},
		{"ClinicalDocument/section[code/@code='S']", "entry[act/code[@code='B']]", false},
		{"ClinicalDocument/section[code/@code='T']", "count(entry[observation/code[@code='A']])=0", true},
		{"ClinicalDocument/section[code/@code='T']", "count(entry[observation/code[@code='B']])=1", true},
		{"ClinicalDocument", "count(component/section/code[@code='A'])=3", true},
		{"ClinicalDocument", "count(component[section/code[@code='A']])=2", true},
		{"ClinicalDocument", "count(component[section/code/@code='A'])&lt;=1", false},
	}
	var body strings.Builder
	for _, c := range cases {
		fmt.Fprintf(&body, `<pattern><rule context="%s"><assert test="%s">x</assert></rule></pattern>`, c.context, c.test)
	}
	s, err := Compile(schemaWith("", body.String()))
	if err != nil {
		t.Fatal(err)
	}
	d := mustDoc(t, condDoc)
	inline := 0
	condsAgree(t, s, d, "condDoc", &inline)
	if len(s.cgroups) == 0 || inline < len(cases) {
		t.Errorf("%d count groups, %d of %d tests inline", len(s.cgroups), inline, len(cases))
	}
	e := &ev{s: s}
	e.reset(d)
	for i, fr := range s.flat {
		nodes := e.prefix(fr.sel[0])
		if len(nodes) != 1 {
			t.Fatalf("case %d: context %q selects %d nodes", i, cases[i].context, len(nodes))
		}
		if got := e.holds(&fr.checks[0].cond, nodes[0]); got != cases[i].want {
			t.Errorf("%s at %s: %v, want %v", cases[i].test, cases[i].context, got, cases[i].want)
		}
	}
}

// condsAgree compares holds with eval for every check at every node its
// rule selects in d; it counts the checks compared and, in inline, those
// holds runs without a closure.
func condsAgree(t *testing.T, s *Schema, d *Document, name string, inline *int) int {
	t.Helper()
	e := &ev{s: s}
	e.reset(d)
	n := 0
	for _, fr := range s.flat {
		var nodes []int32
		for _, pid := range fr.sel {
			e.arena = e.arena[:0]
			nodes = append(nodes, e.prefix(pid)...)
		}
		for _, id := range nodes {
			if len(fr.r.lets) > 0 {
				e.enterRule(fr.r)
			}
			for i := range fr.checks {
				c := &fr.checks[i]
				e.arena = e.arena[:0]
				e.pos, e.size, e.cur = 1, 1, id
				got := e.holds(&c.cond, id)
				e.arena = e.arena[:0]
				want := e.ebv(e.eval(c.test, id))
				if got != want {
					t.Fatalf("%s: rule %q, check %d at node %d: holds %v, eval %v", name, fr.r.context, i, id, got, want)
				}
				if c.op != condFn {
					*inline++
				}
				n++
			}
		}
	}
	// The context steps' predicates, at every node their name test takes.
	for _, op := range s.pre {
		st := op.st
		for i := range st.cpreds {
			for id := range d.nodes {
				if st.test.k == testName && e.sn[id] != st.test.name || st.test.k != testName && d.nodes[id].kind != elemNode {
					continue
				}
				e.arena = e.arena[:0]
				e.pos, e.size, e.cur = 1, 1, int32(id)
				got := e.holds(&st.cpreds[i], int32(id))
				e.arena = e.arena[:0]
				if want := e.ebv(e.eval(st.preds[i], int32(id))); got != want {
					t.Fatalf("%s: predicate %d of a step %v at node %d: holds %v, eval %v", name, i, st.test.q, id, got, want)
				}
				n++
			}
		}
	}
	return n
}
