package schematron

import (
	"slices"
	"testing"
)

// evDocs are the documents the evaluator's per-document indexes are checked
// on: a generated document of each official kind, and one with the shapes
// the indexes must get right — text between elements, an element name
// repeated at several depths, attributes no rule names before and after
// those it does, an empty element, attributes on the last element.
func evDocs(t *testing.T) map[string]*Document {
	docs := map[string]*Document{"tricky": mustDoc(t, `<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:x="urn:x" x:foo="1" code="a">
  text <code code="1" zz="2"/> more <id/>
  <code nullFlavor="NI"><code code="3"><code/></code></code>
  <x:code/>
  <component><section zz="" code="q" codeSystem="s"><code code="4" displayName="d"/></section></component>
  <id root="r" zz="z" extension="e"/>
</ClinicalDocument>`)}
	for _, k := range officialKinds {
		raw, _ := docOf(t, k)
		d, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		docs[k] = d
	}
	return docs
}

// TestChildAndAttributeIndexes holds ev's kids index and its attribute scan
// over ev.sn to the tree they replace: for every node and every name of
// 121.sch, the element children of that name (in document order, and their
// count), every element child, every child of node() and text(), and the
// attribute of that name are those the linked siblings and the node kinds
// give.
func TestChildAndAttributeIndexes(t *testing.T) {
	_, s := doc121(t)
	for name, d := range evDocs(t) {
		e := &ev{s: s}
		e.reset(d)
		nodes := d.nodes
		for n := range nodes {
			id := int32(n)
			var want []int32
			var all, text, elems []int32
			for ch := nodes[id].first; ch >= 0; ch = nodes[ch].next {
				all = append(all, ch)
				if nodes[ch].kind == textNode {
					text = append(text, ch)
				} else {
					elems = append(elems, ch)
				}
			}
			for _, c := range []struct {
				t    nodeTest
				want []int32
			}{{nodeTest{k: testNode}, all}, {nodeTest{k: testText}, text}, {nodeTest{k: testAnyName}, elems}} {
				e.arena = e.arena[:0]
				e.childElems(&c.t, id)
				if !slices.Equal(e.arena, c.want) && len(e.arena)+len(c.want) > 0 {
					t.Fatalf("%s: node %d, test %v: children %v, want %v", name, id, c.t.k, e.arena, c.want)
				}
			}
			for q, sid := range s.names {
				want = want[:0]
				for _, ch := range elems {
					if d.names[nodes[ch].name] == q {
						want = append(want, ch)
					}
				}
				e.arena = e.arena[:0]
				e.childElems(&nodeTest{k: testName, name: sid}, id)
				if !slices.Equal(e.arena, want) && len(e.arena)+len(want) > 0 {
					t.Fatalf("%s: node %d: children %v named %v, want %v", name, id, e.arena, q, want)
				}
				if got := e.countKids(id, sid); got != len(want) {
					t.Fatalf("%s: node %d: %d children named %v, want %d", name, id, got, q, len(want))
				}
				wantAttr := int32(-1)
				if nodes[id].kind == elemNode {
					for a := id + 1; int(a) < len(nodes) && nodes[a].kind == attrNode; a++ {
						if d.names[nodes[a].name] == q {
							wantAttr = a
						}
					}
				}
				if got := e.attrNamed(id, sid); got != wantAttr {
					t.Fatalf("%s: node %d: attribute %v is %d, want %d", name, id, q, got, wantAttr)
				}
			}
		}
	}
}
