package schematron

// A second compilation pass over the expression tree: the boolean
// expressions the rules are made of (asserts, reports, non-positional
// predicates) become Go closures specialised for their shape, so the common
// tests (@code='X', @x!='', count(child)=1, matches(@value,'^…$'),
// not(…), and/or) run without building value structs or walking the
// interpretive eval. Shapes it does not know fall back to eval, so the
// semantics stay those of eval (and of the oracle): every fast form is a
// special case of a general comparison or function call whose result and
// dynamic errors it reproduces.

// boolFn is a compiled boolean expression (the effective boolean value of the
// expression) at a context node. It leaves the arena as it found it.
type boolFn func(e *ev, ctx int32) bool

// sstep is a step of a simple path: child or attribute axis, no position
// dependence, predicates compiled.
type sstep struct {
	attr  bool
	test  nodeTest
	preds []cond
}

// simplePath is a relative location path of child and attribute steps (or
// ".", no steps): from one context node it yields distinct nodes in document
// order, so it needs no sorting, and its predicates are boolFns.
type simplePath struct{ steps []sstep }

// asSimple recognises a simple path; ok is false for anything else.
func asSimple(x expr) (*simplePath, bool) {
	switch x := x.(type) {
	case *contextExpr:
		return &simplePath{}, true
	case *pathExpr:
		if x.root || x.filter != nil || len(x.preds) > 0 || len(x.steps) == 0 {
			return nil, false
		}
		sp := &simplePath{}
		for i := range x.steps {
			st := &x.steps[i]
			if st.call != nil || st.positional || (st.axis != axChild && st.axis != axAttr) {
				return nil, false
			}
			if len(st.preds) > 0 && st.cpreds == nil {
				return nil, false
			}
			sp.steps = append(sp.steps, sstep{attr: st.axis == axAttr, test: st.test, preds: st.cpreds})
		}
		return sp, true
	}
	return nil, false
}

// simple selects a simple path's nodes from ctx onto the arena and returns
// them; the caller releases the arena to its mark.
func (e *ev) simple(p *simplePath, ctx int32) []int32 {
	nodes := e.d.nodes
	if len(p.steps) == 1 && p.steps[0].attr && p.steps[0].test.k == testName {
		// @name: the commonest test operand.
		if a := e.attrNamed(ctx, p.steps[0].test.name); a >= 0 {
			if len(p.steps[0].preds) == 0 {
				return e.one(a)
			}
		} else {
			return nil
		}
	}
	lo := len(e.arena)
	e.arena = append(e.arena, ctx)
	for si := range p.steps {
		st := &p.steps[si]
		hi := len(e.arena)
		for i := lo; i < hi; i++ {
			c := e.arena[i]
			if st.attr {
				if nodes[c].kind != elemNode {
					continue
				}
				for a := c + 1; int(a) < len(nodes) && nodes[a].kind == attrNode; a++ {
					if e.test(&st.test, a, attrNode) {
						e.arena = append(e.arena, a)
					}
				}
				continue
			}
			e.childElems(&st.test, c)
		}
		if len(st.preds) > 0 {
			e.filterFast(hi, st.preds)
		}
		lo = hi
		if lo == len(e.arena) {
			break
		}
	}
	return e.arena[lo:]
}

// attrNamed is the attribute of element id with schema name n, or -1.
func (e *ev) attrNamed(id, n int32) int32 {
	if e.d.nodes[id].kind != elemNode {
		return -1
	}
	sn, want := e.sn, n|attrBit
	for a := int(id) + 1; a < len(sn) && sn[a]&attrBit != 0; a++ {
		if sn[a] == want {
			return int32(a)
		}
	}
	return -1
}

// countKids is the number of element children of n with schema name name.
func (e *ev) countKids(n, name int32) int {
	c, sn := 0, e.sn
	for _, k := range e.kids[e.kidOff[n]:e.kidOff[n+1]] {
		if sn[k] == name {
			c++
		}
	}
	return c
}

// childElems appends to the arena the children of n that pass t, in
// document order: elements from the kids index, text (text(), node()) from
// the linked siblings.
func (e *ev) childElems(t *nodeTest, n int32) {
	kids := e.kids[e.kidOff[n]:e.kidOff[n+1]]
	switch t.k {
	case testName:
		sn := e.sn
		for _, k := range kids {
			if sn[k] == t.name {
				e.arena = append(e.arena, k)
			}
		}
	case testAnyName:
		e.arena = append(e.arena, kids...)
	case testNode:
		// Elements and text, in document order: the linked siblings.
		nodes := e.d.nodes
		for ch := nodes[n].first; ch >= 0; ch = nodes[ch].next {
			e.arena = append(e.arena, ch)
		}
	case testText:
		nodes := e.d.nodes
		for ch := nodes[n].first; ch >= 0; ch = nodes[ch].next {
			if nodes[ch].kind == textNode {
				e.arena = append(e.arena, ch)
			}
		}
	}
}

// filterFast is filter for predicates that cannot depend on position.
func (e *ev) filterFast(start int, preds []cond) {
	for pi := range preds {
		f := &preds[pi]
		list := e.arena[start:]
		k := 0
		for i := 0; i < len(list); i++ {
			n := list[i]
			mark := len(e.arena)
			keep := e.holds(f, n)
			e.release(mark)
			if keep {
				list[k] = n
				k++
			}
		}
		copy(e.arena[start:], list[:k])
		e.arena = e.arena[:start+k]
	}
}

// predCond compiles a predicate when it cannot be a position test (a
// number or something that may yield one); ok is false otherwise.
func (s *Schema) predCond(x expr) (cond, bool) {
	if maybeNumeric(x) {
		return cond{}, false
	}
	if p, ok := x.(*pathExpr); ok && len(p.steps) > 0 && p.steps[len(p.steps)-1].call != nil {
		return cond{}, false
	}
	return s.condOf(x), true
}

// compileBool compiles the effective boolean value of x.
func (s *Schema) compileBool(x expr) boolFn {
	switch x := x.(type) {
	case *ifExpr:
		c, a, b := s.compileBool(x.cond), s.compileBool(x.a), s.compileBool(x.b)
		return func(e *ev, ctx int32) bool {
			if c(e, ctx) {
				return a(e, ctx)
			}
			return b(e, ctx)
		}
	case *andExpr:
		a, b := s.compileBool(x.a), s.compileBool(x.b)
		return func(e *ev, ctx int32) bool { return a(e, ctx) && b(e, ctx) }
	case *orExpr:
		a, b := s.compileBool(x.a), s.compileBool(x.b)
		return func(e *ev, ctx int32) bool { return a(e, ctx) || b(e, ctx) }
	case *callExpr:
		if f := s.compileCall(x); f != nil {
			return f
		}
	case *cmpExpr:
		if f := s.compileCmp(x); f != nil {
			return f
		}
	case *unionExpr:
		// a|b|c is non-empty when some part is: each part's existence,
		// no union built, sorted and deduplicated (family|given|identity:Patronymic).
		var parts []*simplePath
		for _, p := range x.parts {
			if sp, ok := asSimple(p); ok {
				parts = append(parts, sp)
			}
		}
		if len(parts) == len(x.parts) {
			return func(e *ev, ctx int32) bool {
				for _, sp := range parts {
					mark := len(e.arena)
					ok := len(e.simple(sp, ctx)) > 0
					e.release(mark)
					if ok {
						return true
					}
				}
				return false
			}
		}
	case *pathExpr, *contextExpr:
		if sp, ok := asSimple(x); ok {
			return func(e *ev, ctx int32) bool {
				mark := len(e.arena)
				ok := len(e.simple(sp, ctx)) > 0
				e.release(mark)
				return ok
			}
		}
	}
	return func(e *ev, ctx int32) bool {
		mark := len(e.arena)
		b := e.ebv(e.eval(x, ctx))
		e.release(mark)
		return b
	}
}

func (s *Schema) compileCall(x *callExpr) boolFn {
	switch x.name {
	case "not", "fn:not", "boolean", "fn:boolean":
		a := s.compileBool(x.args[0])
		if x.name == "not" || x.name == "fn:not" {
			return func(e *ev, ctx int32) bool { return !a(e, ctx) }
		}
		return a
	case "exists", "fn:exists", "empty", "fn:empty":
		n := s.countFn(x.args[0])
		if n == nil {
			return nil
		}
		if x.name == "exists" || x.name == "fn:exists" {
			return func(e *ev, ctx int32) bool { return n(e, ctx) > 0 }
		}
		return func(e *ev, ctx int32) bool { return n(e, ctx) == 0 }
	case "matches", "fn:matches":
		lit, ok := x.args[1].(*strLit)
		sp, ok2 := asSimple(x.args[0])
		if !ok || !ok2 {
			return nil
		}
		re := s.regexps[lit.s]
		return func(e *ev, ctx int32) bool {
			mark := len(e.arena)
			ns := e.simple(sp, ctx)
			s := ""
			if len(ns) > 1 {
				e.fail("XPTY0004: a sequence of %d items where one string is expected", len(ns))
			}
			if len(ns) > 0 {
				s = e.d.stringValue(ns[0])
			}
			e.release(mark)
			return re != nil && e.match(re, s)
		}
	}
	return nil
}

// countFn is the number of nodes a node-valued expression selects, or nil
// when x is not node-valued.
func (s *Schema) countFn(x expr) func(e *ev, ctx int32) int {
	if sp, ok := asSimple(x); ok && len(sp.steps) == 1 && !sp.steps[0].attr && sp.steps[0].test.k == testName && len(sp.steps[0].preds) == 0 {
		// count(name): the children of that name, counted in place.
		name := sp.steps[0].test.name
		return func(e *ev, ctx int32) int { return e.countKids(ctx, name) }
	}
	if sp, ok := asSimple(x); ok {
		return func(e *ev, ctx int32) int {
			mark := len(e.arena)
			n := len(e.simple(sp, ctx))
			e.release(mark)
			return n
		}
	}
	if _, ok := x.(*pathExpr); ok && !endsInCall(x) {
		return func(e *ev, ctx int32) int {
			mark := len(e.arena)
			v := e.eval(x, ctx)
			n := e.count(&v)
			e.release(mark)
			return n
		}
	}
	return nil
}

func endsInCall(x expr) bool {
	p, ok := x.(*pathExpr)
	return ok && len(p.steps) > 0 && p.steps[len(p.steps)-1].call != nil
}

func (s *Schema) compileCmp(x *cmpExpr) boolFn {
	// count(nodes) op number(s)
	if c, ok := x.a.(*callExpr); ok && (c.name == "count" || c.name == "fn:count") {
		n := s.countFn(c.args[0])
		var nums []float64
		switch b := x.b.(type) {
		case *numLit:
			nums = []float64{b.n}
		case *seqExpr:
			for _, a := range b.constant {
				if a.k != aNum {
					return nil
				}
				nums = append(nums, a.n)
			}
			if len(b.constant) == 0 || len(b.items) != len(b.constant) {
				return nil
			}
		default:
			return nil
		}
		if n == nil {
			return nil
		}
		op := x.op
		return func(e *ev, ctx int32) bool {
			f := float64(n(e, ctx))
			for _, m := range nums {
				c := 0
				if f < m {
					c = -1
				} else if f > m {
					c = 1
				}
				if cmpResult(op, c) {
					return true
				}
			}
			return false
		}
	}
	// nodes = / != string literal(s)
	if x.op != "=" && x.op != "!=" {
		return nil
	}
	sp, ok := asSimple(x.a)
	if !ok {
		return nil
	}
	eq := x.op == "="
	if lit, ok := x.b.(*strLit); ok && len(sp.steps) == 1 && sp.steps[0].attr && sp.steps[0].test.k == testName && len(sp.steps[0].preds) == 0 {
		// @name = 'x' / @name != 'x': one attribute, compared in place.
		name, lit := sp.steps[0].test.name, lit.s
		return func(e *ev, ctx int32) bool {
			a := e.attrNamed(ctx, name)
			return a >= 0 && (e.d.value(&e.d.nodes[a]) == lit) == eq
		}
	}
	switch b := x.b.(type) {
	case *strLit:
		lit := b.s
		return func(e *ev, ctx int32) bool {
			mark := len(e.arena)
			r := e.nodesVsStrings(eq, e.simple(sp, ctx), lit, nil)
			e.release(mark)
			return r
		}
	case *seqExpr:
		if !b.allStr {
			return nil
		}
		atoms := b.constant
		return func(e *ev, ctx int32) bool {
			mark := len(e.arena)
			r := e.nodesVsStrings(eq, e.simple(sp, ctx), "", atoms)
			e.release(mark)
			return r
		}
	}
	return nil
}

type reKey struct {
	re *xre
	s  string
}

// match is re.MatchString, remembered for the document when the pattern
// needs the regexp machine: the same values (an organisation's OID in a dozen
// @root attributes) are tested against the same pattern many times.
func (e *ev) match(re *xre, s string) bool {
	if re.re == nil || re.fixed != nil || re.dfa != nil {
		return re.MatchString(s)
	}
	k := reKey{re, s}
	if m, ok := e.reMemo[k]; ok {
		return m
	}
	m := re.re.MatchString(s)
	if e.reMemo == nil {
		e.reMemo = map[reKey]bool{}
	}
	e.reMemo[k] = m
	return m
}
