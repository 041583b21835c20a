package schematron

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

type vkind uint8

const (
	vNodes vkind = iota
	vStr
	vNum
	vBool
	vAtoms
)

// atom kinds: an attribute's or element's value is untypedAtomic and compares
// as a string with strings and as a number with numbers (XPath 2 rules).
type akind uint8

const (
	aUntyped akind = iota
	aStr
	aNum
	aBool
)

type atom struct {
	k akind
	s string
	n float64
	b bool
}

type value struct {
	k     vkind
	nodes []int32
	s     string
	n     float64
	b     bool
	atoms []atom
}

// ev evaluates compiled expressions over one document. Node sets live in one
// bump-allocated arena that is released after each test, so a validation
// allocates almost nothing beyond element string values and failures.
type ev struct {
	s  *Schema
	d  *Document
	nm []int32 // document name id → schema name id (-1: no test names it)
	// sn is per node its schema name id (elements), that id + attrBit
	// (attributes), or -1: a name test is one load and compare.
	sn []int32
	// kids[kidOff[n]:kidOff[n+1]] are the element children of node n in
	// document order: child::name and count(name) scan a few int32s, not
	// the linked siblings (half of them whitespace text) 32 bytes apart.
	kids, kidOff []int32
	elems        []int32        // the document's elements (reset's scratch)
	reMemo       map[reKey]bool // matches() results of this document (non-fixed patterns)
	arena        []int32
	pos, size    int
	dynRe        map[string]*xre
	// byName[nameOff[n]:nameOff[n+1]] are the elements of schema name n in
	// document order: descendant::x is a binary search and a slice, not a walk.
	byName, nameOff []int32
	stamp           []int32 // per node: the last pattern (index+1) that took it
	cur             int32   // current(): the rule's context node of the check being run
	// Variables (sch:let), evaluated on first use: globals per document,
	// locals per context node of the rule being run.
	gvals, lvals []value
	gdone, ldone []bool
	lrule        *rule
	sel          []int32  // the current rule's nodes
	locs         []string // per node: its fn:path(), once computed
	// memoOff[id] locates in memoBuf the nodes of rule context prefix id
	// (-1: not yet selected in this document), memoLen their number.
	memoOff, memoLen []int32
	memoBuf          []int32
	groups           []groupIx // per value group, its index in this document
	gk, gn, gpos     []int32   // buildGroup's scratch
	cgs              []cgIx    // per count group, its counts at the last context node
	ck               []int32   // groupCount's scratch
	// err is the first dynamic error (XPath 2 type or cast error) met; Saxon
	// stops on such a document, so the engine reports it instead of a verdict.
	err error
}

// reset prepares the evaluator for a document, reusing its buffers.
func (e *ev) reset(d *Document) {
	e.d = d
	e.nm = e.nm[:0]
	for _, q := range d.names {
		id, ok := e.s.names[q]
		if !ok {
			id = -1
		}
		e.nm = append(e.nm, id)
	}
	// One pass over the nodes: ev.sn, and the sizes of the byName and kids
	// lists; a second over the elements alone fills both lists.
	n := len(e.s.names)
	e.nameOff = slices.Grow(e.nameOff[:0], n+1)[:n+1]
	clear(e.nameOff)
	e.sn = slices.Grow(e.sn[:0], len(d.nodes))[:len(d.nodes)]
	e.kidOff = slices.Grow(e.kidOff[:0], len(d.nodes)+1)[:len(d.nodes)+1]
	clear(e.kidOff)
	elems, named := e.elems[:0], 0
	for i := range d.nodes {
		nd := &d.nodes[i]
		v := int32(noName)
		switch nd.kind {
		case elemNode:
			if v = e.nm[nd.name]; v < 0 {
				v = noName
			} else {
				e.nameOff[v+1]++
				named++
			}
			e.kidOff[nd.parent+1]++
			elems = append(elems, int32(i))
		case attrNode:
			if v = e.nm[nd.name]; v < 0 {
				v = noName
			}
			v |= attrBit
		}
		e.sn[i] = v
	}
	e.elems = elems
	for i := 1; i <= n; i++ {
		e.nameOff[i] += e.nameOff[i-1]
	}
	for i := 1; i < len(e.kidOff); i++ {
		e.kidOff[i] += e.kidOff[i-1]
	}
	// Fill both lists in document order, each name's (parent's) from its
	// offset; fill (kidOff[p]) runs ahead while filling, kidOff is moved
	// back after.
	e.byName = slices.Grow(e.byName[:0], named)[:named]
	e.kids = slices.Grow(e.kids[:0], len(elems))[:len(elems)]
	fill := append(e.sel[:0], e.nameOff[:n]...)
	for _, i := range elems {
		if sid := e.sn[i]; sid != noName {
			e.byName[fill[sid]] = i
			fill[sid]++
		}
		p := d.nodes[i].parent
		e.kids[e.kidOff[p]] = i
		e.kidOff[p]++
	}
	e.sel = fill[:0]
	copy(e.kidOff[1:], e.kidOff[:len(e.kidOff)-1])
	e.kidOff[0] = 0
	clear(e.reMemo)
	e.stamp = slices.Grow(e.stamp[:0], len(d.nodes))[:len(d.nodes)]
	clear(e.stamp)
	e.locs = slices.Grow(e.locs[:0], len(d.nodes))[:len(d.nodes)]
	np := len(e.s.prefixes)
	e.memoOff = slices.Grow(e.memoOff[:0], np)[:np]
	e.memoLen = slices.Grow(e.memoLen[:0], np)[:np]
	for i := range e.memoOff {
		e.memoOff[i] = -1
	}
	e.memoBuf = e.memoBuf[:0]
	ngl := len(e.s.globals)
	e.gvals = slices.Grow(e.gvals[:0], ngl)[:ngl]
	e.gdone = slices.Grow(e.gdone[:0], ngl)[:ngl]
	clear(e.gdone)
	e.lrule = nil
	ncg := len(e.s.cgroups)
	e.cgs = slices.Grow(e.cgs[:0], ncg)[:ncg]
	for i := range e.cgs {
		e.cgs[i].ctx = -1
	}
	ng := len(e.s.groupPath)
	e.groups = slices.Grow(e.groups[:0], ng)[:ng]
	for i := range e.groups {
		e.groups[i].built = false
	}
}

// groupLookup is, for a value group (see Schema.valueGroup), the candidates
// of the step without its predicates whose predicate path has a string value
// equal to the group's literal number k — a general comparison with a
// string literal holds when any value equals it. The index is built on first
// use in a document.
func (e *ev) groupLookup(g int32, in []int32, k int32) []int32 {
	ix := &e.groups[g]
	if !ix.built {
		e.buildGroup(ix, g, in)
	}
	return ix.nodes[ix.off[k]:ix.off[k+1]]
}

// groupIx is a value group's index in one document: per literal of the
// group, the candidates having it (nodes[off[k]:off[k+1]], document order),
// in buffers kept across documents.
type groupIx struct {
	built bool
	off   []int32
	nodes []int32
}

// buildGroup evaluates the group's path on every candidate and files the
// candidate under each of the group's literals among its values (a counting
// sort: values no literal has are dropped, no strings are sorted).
func (e *ev) buildGroup(ix *groupIx, g int32, in []int32) {
	lits, sp := e.s.groupLits[g], e.s.groupSimple[g]
	mark := len(e.arena)
	cands := e.step(&e.s.groupStep[g], in)
	ks, ns := e.gk[:0], e.gn[:0]
	for _, n := range cands {
		first := len(ks)
		m := len(e.arena)
		for _, v := range e.simple(sp, n) {
			if k, ok := lits[e.d.stringValue(v)]; ok && !slices.Contains(ks[first:], k) {
				ks = append(ks, k)
				ns = append(ns, n)
			}
		}
		e.release(m)
	}
	e.release(mark)
	nl := len(lits)
	off := slices.Grow(ix.off[:0], nl+1)[:nl+1]
	clear(off)
	for _, k := range ks {
		off[k+1]++
	}
	for i := 1; i <= nl; i++ {
		off[i] += off[i-1]
	}
	pos := append(e.gpos[:0], off[:nl]...)
	nodes := slices.Grow(ix.nodes[:0], len(ks))[:len(ks)]
	for i, k := range ks {
		nodes[pos[k]] = ns[i]
		pos[k]++
	}
	ix.off, ix.nodes, ix.built = off, nodes, true
	e.gk, e.gn, e.gpos = ks, ns, pos
}

func (e *ev) location(id int32) string {
	if e.locs[id] == "" {
		e.locs[id] = e.d.path(id)
	}
	return e.locs[id]
}

func (e *ev) fail(format string, a ...any) {
	if e.err == nil {
		e.err = fmt.Errorf(format, a...)
	}
}

func boolV(b bool) value       { return value{k: vBool, b: b} }
func numV(n float64) value     { return value{k: vNum, n: n} }
func strV(s string) value      { return value{k: vStr, s: s} }
func nodesV(n []int32) value   { return value{k: vNodes, nodes: n} }
func atomsV(a []atom) value    { return value{k: vAtoms, atoms: a} }
func (e *ev) release(mark int) { e.arena = e.arena[:mark] }

func (e *ev) eval(x expr, ctx int32) value {
	switch x := x.(type) {
	case *pathExpr:
		return e.evalPath(x, ctx)
	case *cmpExpr:
		a := e.eval(x.a, ctx)
		if a.k == vNodes && (x.op == "=" || x.op == "!=") {
			// Nodes against string literals (@code='X', @codeSystem=['a','b']):
			// untypedAtomic against a string compares as strings, no atoms built.
			switch b := x.b.(type) {
			case *strLit:
				return boolV(e.nodesVsStrings(x.op == "=", a.nodes, b.s, nil))
			case *seqExpr:
				if b.allStr {
					return boolV(e.nodesVsStrings(x.op == "=", a.nodes, "", b.constant))
				}
			}
		}
		b := e.eval(x.b, ctx)
		return boolV(e.compare(x.op, &a, &b))
	case *orExpr:
		if e.ebv(e.eval(x.a, ctx)) {
			return boolV(true)
		}
		return boolV(e.ebv(e.eval(x.b, ctx)))
	case *andExpr:
		if !e.ebv(e.eval(x.a, ctx)) {
			return boolV(false)
		}
		return boolV(e.ebv(e.eval(x.b, ctx)))
	case *callExpr:
		return x.fn.call(e, x, ctx)
	case *strLit:
		return strV(x.s)
	case *numLit:
		return numV(x.n)
	case *contextExpr:
		return nodesV(e.one(ctx))
	case *arithExpr:
		return e.arith(x, ctx)
	case *varRef:
		return e.variable(x)
	case *ifExpr:
		mark := len(e.arena)
		c := e.ebv(e.eval(x.cond, ctx))
		e.release(mark)
		if c {
			return e.eval(x.a, ctx)
		}
		return e.eval(x.b, ctx)
	case *unionExpr:
		// Evaluate every part first: their scratch space must not end up
		// inside the union.
		var buf [4][]int32
		parts := buf[:0]
		for _, p := range x.parts {
			v := e.eval(p, ctx)
			if v.k != vNodes {
				return nodesV(nil) // rejected at compile time
			}
			parts = append(parts, v.nodes)
		}
		start := len(e.arena)
		for _, p := range parts {
			e.arena = append(e.arena, p...)
		}
		out := sortDedupe(e.arena[start:])
		e.arena = e.arena[:start+len(out)]
		return nodesV(out)
	case *seqExpr:
		if x.constant != nil {
			return atomsV(x.constant)
		}
		var out []atom
		for _, it := range x.items {
			v := e.eval(it, ctx)
			for i, n := 0, e.count(&v); i < n; i++ {
				out = append(out, e.atomAt(&v, i))
			}
		}
		return atomsV(out)
	}
	panic("schematron: unknown expression")
}

func (e *ev) one(id int32) []int32 {
	e.arena = append(e.arena, id)
	return e.arena[len(e.arena)-1:]
}

func (e *ev) evalPath(p *pathExpr, ctx int32) value {
	var in []int32
	switch {
	case p.root:
		in = e.one(0)
	case p.filter != nil:
		v := e.eval(p.filter, ctx)
		if v.k != vNodes {
			if len(p.steps) == 0 && len(p.preds) == 0 {
				return v
			}
			return nodesV(nil) // atomic filters are rejected at compile time
		}
		in = v.nodes
	default:
		in = e.one(ctx)
	}
	if len(p.preds) > 0 {
		start := len(e.arena)
		e.arena = append(e.arena, in...)
		in = e.filter(start, p.preds)
	}
	for i := range p.steps {
		st := &p.steps[i]
		if st.call != nil {
			var out []atom
			for _, n := range in {
				mark := len(e.arena)
				v := st.call.(*callExpr).fn.call(e, st.call.(*callExpr), n)
				for j, c := 0, e.count(&v); j < c; j++ {
					out = append(out, e.atomAt(&v, j))
				}
				e.release(mark)
			}
			return atomsV(out)
		}
		in = e.step(st, in)
		if len(in) == 0 {
			break
		}
	}
	return nodesV(in)
}

// step applies one axis step with its predicates to every input node.
func (e *ev) step(st *step, in []int32) []int32 {
	start := len(e.arena)
	nodes := e.d.nodes
	for _, c := range in {
		cs := len(e.arena)
		switch st.axis {
		case axChild:
			e.childElems(&st.test, c)
		case axAttr:
			if nodes[c].kind == elemNode {
				for i := c + 1; int(i) < len(nodes) && nodes[i].kind == attrNode; i++ {
					if e.test(&st.test, i, attrNode) {
						e.arena = append(e.arena, i)
					}
				}
			}
		case axSelf:
			if e.test(&st.test, c, principal(nodes[c].kind)) {
				e.arena = append(e.arena, c)
			}
		case axParent:
			if p := nodes[c].parent; p >= 0 && e.test(&st.test, p, elemNode) {
				e.arena = append(e.arena, p)
			}
		case axDescSelf, axDesc:
			if st.need > 0 && (nodes[c].kind == elemNode || nodes[c].kind == docNode) {
				// Only parents of the needed child can pass the predicate.
				list := e.byName[e.nameOff[st.need-1]:e.nameOff[st.need]]
				lo, _ := slices.BinarySearch(list, c+1)
				for _, i := range list[lo:] {
					if i > nodes[c].end {
						break
					}
					if p := nodes[i].parent; p > c || st.axis == axDescSelf && p == c && nodes[c].kind == elemNode {
						e.arena = append(e.arena, p)
					}
				}
				if seg := e.arena[cs:]; !strictlySorted(seg) {
					e.arena = e.arena[:cs+len(sortDedupe(seg))]
				}
				break
			}
			if st.axis == axDescSelf && e.test(&st.test, c, principal(nodes[c].kind)) {
				e.arena = append(e.arena, c)
			}
			if st.test.k == testName && (nodes[c].kind == elemNode || nodes[c].kind == docNode) {
				list := e.byName[e.nameOff[st.test.name]:e.nameOff[st.test.name+1]]
				lo, _ := slices.BinarySearch(list, c+1)
				for _, i := range list[lo:] {
					if i > nodes[c].end {
						break
					}
					e.arena = append(e.arena, i)
				}
			} else if nodes[c].kind == elemNode || nodes[c].kind == docNode {
				for i := c + 1; i <= nodes[c].end; i++ {
					if nodes[i].kind != attrNode && e.test(&st.test, i, elemNode) {
						e.arena = append(e.arena, i)
					}
				}
			}
		case axAncestor, axAncestorSelf:
			// Reverse axis: nearest first for the predicates, document order after.
			i := nodes[c].parent
			if st.axis == axAncestorSelf {
				i = c
			}
			for ; i >= 0; i = nodes[i].parent {
				if e.test(&st.test, i, elemNode) {
					e.arena = append(e.arena, i)
				}
			}
		}
		if st.cpreds != nil {
			e.filterFast(cs, st.cpreds)
		} else if len(st.preds) > 0 {
			e.filter(cs, st.preds)
		}
		if st.axis == axAncestor || st.axis == axAncestorSelf {
			slices.Reverse(e.arena[cs:])
		}
	}
	out := e.arena[start:]
	if len(in) > 1 && st.axis != axAttr && st.axis != axSelf && !strictlySorted(out) {
		out = sortDedupe(out)
		e.arena = e.arena[:start+len(out)]
	}
	return out
}

func principal(k nodeKind) nodeKind {
	if k == attrNode {
		return attrNode
	}
	return elemNode
}

// attrBit marks attribute names in ev.sn: every attribute's entry has it,
// no other node's does (an attribute run ends at the first entry without it).
const attrBit = 1 << 30

// noName is ev.sn of a node whose name no test uses (and of text and the
// document node): no name id equals it, and it has no attrBit.
const noName = attrBit - 1

func (e *ev) test(t *nodeTest, id int32, principal nodeKind) bool {
	if t.k == testName {
		if principal == attrNode {
			return e.sn[id] == t.name|attrBit
		}
		return e.sn[id] == t.name
	}
	n := &e.d.nodes[id]
	switch t.k {
	case testName:
		if principal == attrNode {
			return e.sn[id] == t.name|attrBit
		}
		return e.sn[id] == t.name
	case testAnyName:
		return n.kind == principal
	case testText:
		return n.kind == textNode
	}
	return true
}

// filter applies predicates to the node list arena[start:], keeping it there.
func (e *ev) filter(start int, preds []expr) []int32 {
	for _, p := range preds {
		list := e.arena[start:]
		size := len(list)
		k := 0
		for i := 0; i < size; i++ {
			n := list[i]
			mark := len(e.arena)
			sp, ss := e.pos, e.size
			e.pos, e.size = i+1, size
			v := e.eval(p, n)
			e.pos, e.size = sp, ss
			keep := false
			if v.k == vNum {
				keep = v.n == float64(i+1)
			} else {
				keep = e.ebv(v)
			}
			e.release(mark)
			if keep {
				list[k] = n
				k++
			}
		}
		// list may point at an older backing array if the arena grew meanwhile.
		copy(e.arena[start:], list[:k])
		e.arena = e.arena[:start+k]
	}
	return e.arena[start:]
}

func strictlySorted(s []int32) bool {
	for i := 1; i < len(s); i++ {
		if s[i] <= s[i-1] {
			return false
		}
	}
	return true
}

func sortDedupe(s []int32) []int32 {
	slices.Sort(s)
	return slices.Compact(s)
}

// ebv is XPath's effective boolean value.
func (e *ev) ebv(v value) bool {
	switch v.k {
	case vNodes:
		return len(v.nodes) > 0
	case vStr:
		return v.s != ""
	case vNum:
		return v.n != 0 && !math.IsNaN(v.n)
	case vBool:
		return v.b
	}
	atoms := v.atoms
	if len(atoms) == 0 {
		return false
	}
	if len(atoms) > 1 {
		e.fail("FORG0006: effective boolean value of a sequence of %d atomic values", len(atoms))
	}
	a := atoms[0]
	switch a.k {
	case aNum:
		return a.n != 0 && !math.IsNaN(a.n)
	case aBool:
		return a.b
	}
	return a.s != ""
}

func (e *ev) count(v *value) int {
	switch v.k {
	case vNodes:
		return len(v.nodes)
	case vAtoms:
		return len(v.atoms)
	}
	return 1
}

func (e *ev) atomAt(v *value, i int) atom {
	switch v.k {
	case vNodes:
		return atom{k: aUntyped, s: e.d.stringValue(v.nodes[i])}
	case vStr:
		return atom{k: aStr, s: v.s}
	case vNum:
		return atom{k: aNum, n: v.n}
	case vBool:
		return atom{k: aBool, b: v.b}
	}
	return v.atoms[i]
}

// str is the string of a singleton argument ("" for the empty sequence; the
// first item when there are more, where XPath 2 would raise an error).
func (e *ev) str(v value) string {
	switch n := e.count(&v); {
	case n == 0:
		return ""
	case n > 1:
		e.fail("XPTY0004: a sequence of %d items where one string is expected", n)
	}
	a := e.atomAt(&v, 0)
	switch a.k {
	case aNum:
		return formatNum(a.n)
	case aBool:
		return strconv.FormatBool(a.b)
	}
	return a.s
}

func formatNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// nodesVsStrings is the general comparison nodes = lits (eq) or nodes != lits
// where every literal is a string: lits is one string, or atoms when non-nil.
func (e *ev) nodesVsStrings(eq bool, nodes []int32, lit string, atoms []atom) bool {
	for _, n := range nodes {
		v := e.d.stringValue(n)
		if atoms == nil {
			if (v == lit) == eq {
				return true
			}
			continue
		}
		for _, a := range atoms {
			if (v == a.s) == eq {
				return true
			}
		}
	}
	return false
}

// compare is an XPath 2 general comparison: true if some pair of atoms compares.
func (e *ev) compare(op string, a, b *value) bool {
	na, nb := e.count(a), e.count(b)
	for i := 0; i < na; i++ {
		x := e.atomAt(a, i)
		for j := 0; j < nb; j++ {
			if e.compareAtoms(op, x, e.atomAt(b, j)) {
				return true
			}
		}
	}
	return false
}

func (e *ev) compareAtoms(op string, x, y atom) bool {
	switch {
	case x.k == aBool || y.k == aBool:
		bx, by := atomBool(x), atomBool(y)
		c := 0
		if bx != by {
			c = 1
			if !bx {
				c = -1
			}
		}
		return cmpResult(op, c)
	case x.k == aNum || y.k == aNum:
		if x.k == aStr || y.k == aStr {
			e.fail("XPTY0004: comparing a string with a number")
		}
		fx, fy := atomNum(x), atomNum(y)
		if x.k == aUntyped && math.IsNaN(fx) || y.k == aUntyped && math.IsNaN(fy) {
			e.fail("FORG0001: %q is not a number", x.s+y.s)
		}
		if math.IsNaN(fx) || math.IsNaN(fy) {
			return op == "!="
		}
		c := 0
		if fx < fy {
			c = -1
		} else if fx > fy {
			c = 1
		}
		return cmpResult(op, c)
	}
	return cmpResult(op, strings.Compare(x.s, y.s))
}

func cmpResult(op string, c int) bool {
	switch op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0
}

func atomNum(a atom) float64 {
	switch a.k {
	case aNum:
		return a.n
	case aBool:
		if a.b {
			return 1
		}
		return 0
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(a.s), 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

func atomBool(a atom) bool {
	switch a.k {
	case aBool:
		return a.b
	case aNum:
		return a.n != 0 && !math.IsNaN(a.n)
	case aUntyped:
		s := strings.TrimSpace(a.s)
		return s == "true" || s == "1"
	}
	return a.s != ""
}

// normalizeSpace is XPath normalize-space.
func normalizeSpace(s string) string {
	if !needsNormalizing(s) {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }), " ")
}

func needsNormalizing(s string) bool {
	prevSpace := true
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ':
			if prevSpace {
				return true
			}
			prevSpace = true
		case '\t', '\n', '\r':
			return true
		default:
			prevSpace = false
		}
	}
	return prevSpace && len(s) > 0
}

// arith is XPath 2 arithmetic on xs:double: an empty operand gives the empty
// sequence; a node's value is cast (a failed cast is a dynamic error, as is
// a string or several items).
func (e *ev) arith(x *arithExpr, ctx int32) value {
	operand := func(o expr) (float64, bool) {
		mark := len(e.arena)
		defer e.release(mark)
		v := e.eval(o, ctx)
		switch n := e.count(&v); {
		case n == 0:
			return 0, false
		case n > 1:
			e.fail("XPTY0004: a sequence of %d items in arithmetic", n)
		}
		a := e.atomAt(&v, 0)
		switch a.k {
		case aStr:
			e.fail("XPTY0004: a string in arithmetic")
		case aBool:
			e.fail("XPTY0004: a boolean in arithmetic")
		}
		f := atomNum(a)
		if a.k == aUntyped && math.IsNaN(f) && strings.TrimSpace(a.s) != "NaN" {
			e.fail("FORG0001: %q is not a number", a.s)
		}
		return f, true
	}
	a, ok := operand(x.a)
	if !ok {
		return atomsV(nil)
	}
	if x.op == "neg" {
		return numV(-a)
	}
	b, ok := operand(x.b)
	if !ok {
		return atomsV(nil)
	}
	switch x.op {
	case "+":
		return numV(a + b)
	case "-":
		return numV(a - b)
	case "div":
		return numV(a / b)
	}
	return numV(math.Mod(a, b))
}

// enterRule starts a context node of a rule with lets: none evaluated yet.
func (e *ev) enterRule(r *rule) {
	n := len(r.lets)
	e.lvals = slices.Grow(e.lvals[:0], n)[:n]
	e.ldone = slices.Grow(e.ldone[:0], n)[:n]
	clear(e.ldone)
	e.lrule = r
}

// variable is the value of $name, evaluated on first use (a global at the
// document node, a rule's let at the rule's context node) and kept outside
// the arena.
func (e *ev) variable(v *varRef) value {
	vals, done, ctx := e.lvals, e.ldone, e.cur
	var def *letDef
	if v.global {
		vals, done, ctx, def = e.gvals, e.gdone, 0, e.s.globals[v.slot]
	} else {
		def = e.lrule.lets[v.slot]
	}
	if !done[v.slot] {
		mark := len(e.arena)
		sp, ss := e.pos, e.size
		e.pos, e.size = 1, 1
		val := e.eval(def.x, ctx)
		e.pos, e.size = sp, ss
		val.nodes = slices.Clone(val.nodes)
		val.atoms = slices.Clone(val.atoms)
		e.release(mark)
		vals[v.slot], done[v.slot] = val, true
	}
	return vals[v.slot]
}
