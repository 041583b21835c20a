package schematron

import (
	"fmt"
	"slices"
	"strings"
)

// cond is a compiled boolean test (an assert or report, or a predicate that
// cannot depend on position) stored by value where it is used: the shapes
// that make most of the official files' tests — @a='x', @a!='x',
// @a=['x','y'], @a, .!='x', count(child)=n and not() of those — are run by
// ev.holds from the fields here, without a closure (its own object
// somewhere on the heap, an indirect call) or the path structures behind
// it; anything else calls fn (compileBool). A validation of a 121 document
// runs some 1,400 tests and several hundred predicates, most of them one
// attribute compared with a literal.
type cond struct {
	op   condOp
	neg  bool // the result is inverted (not(…))
	eq   bool // the comparison is = (else !=)
	cmp  cmpOp
	name int32 // schema name id: the attribute or child element
	lit  string
	lits []atom // condAttrIn: string literals
	num  float64
	litK int32  // condGroup
	fn   boolFn // condFn
}

type condOp uint8

const (
	condFn      condOp = iota // fn(e, ctx)
	condAttr                  // @name exists
	condAttrCmp               // @name = lit (eq) or @name != lit
	condAttrIn                // @name = lits (eq: some equals) or @name != lits (some differs)
	condSelfCmp               // . = lit or . != lit (the context's string value)
	condCount                 // count(name) cmp num, name a child element
	condGroup                 // count(P[Q='lit']) cmp num: value group name, literal number litK (see countGroup)
)

// cmpOp is a comparison operator, decoded once at compile time.
type cmpOp uint8

const (
	cmpEq cmpOp = iota
	cmpNe
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

func cmpOpOf(op string) cmpOp {
	switch op {
	case "=":
		return cmpEq
	case "!=":
		return cmpNe
	case "<":
		return cmpLt
	case "<=":
		return cmpLe
	case ">":
		return cmpGt
	}
	return cmpGe
}

func (o cmpOp) num(a, b float64) bool {
	switch o {
	case cmpEq:
		return a == b
	case cmpNe:
		return a != b
	case cmpLt:
		return a < b
	case cmpLe:
		return a <= b
	case cmpGt:
		return a > b
	}
	return a >= b
}

// holds is the effective boolean value of c at node ctx.
func (e *ev) holds(c *cond, ctx int32) bool {
	var r bool
	switch c.op {
	case condFn:
		return c.fn(e, ctx)
	case condAttr:
		r = e.attrNamed(ctx, c.name) >= 0
	case condAttrCmp:
		if a := e.attrNamed(ctx, c.name); a >= 0 {
			r = (e.d.value(&e.d.nodes[a]) == c.lit) == c.eq
		}
	case condAttrIn:
		if a := e.attrNamed(ctx, c.name); a >= 0 {
			v := e.d.value(&e.d.nodes[a])
			for i := range c.lits {
				if (v == c.lits[i].s) == c.eq {
					r = true
					break
				}
			}
		}
	case condSelfCmp:
		r = (e.d.stringValue(ctx) == c.lit) == c.eq
	case condCount:
		r = c.cmp.num(float64(e.countKids(ctx, c.name)), c.num)
	case condGroup:
		r = c.cmp.num(float64(e.groupCount(c.name, ctx, c.litK)), c.num)
	}
	return r != c.neg
}

// condOf compiles the effective boolean value of x.
func (s *Schema) condOf(x expr) cond {
	if c, ok := s.inlineCond(x); ok {
		return c
	}
	return cond{op: condFn, fn: s.compileBool(x)}
}

// inlineCond recognises the shapes holds runs itself.
func (s *Schema) inlineCond(x expr) (cond, bool) {
	switch x := x.(type) {
	case *callExpr:
		if (x.name == "not" || x.name == "fn:not") && len(x.args) == 1 {
			c, ok := s.inlineCond(x.args[0])
			c.neg = !c.neg
			return c, ok
		}
	case *pathExpr:
		if n, ok := oneAttr(x); ok {
			return cond{op: condAttr, name: n}, true
		}
		if g, k, ok := s.countGroup(x); ok {
			return cond{op: condGroup, cmp: cmpGt, name: g, litK: k}, true
		}
	case *cmpExpr:
		if c, ok := x.a.(*callExpr); ok && (c.name == "count" || c.name == "fn:count") && len(c.args) == 1 {
			num, ok1 := x.b.(*numLit)
			n, ok2 := oneChild(c.args[0])
			if ok1 && ok2 {
				return cond{op: condCount, cmp: cmpOpOf(x.op), name: n, num: num.n}, true
			}
			if g, k, ok := s.countGroup(c.args[0]); ok && ok1 {
				return cond{op: condGroup, cmp: cmpOpOf(x.op), name: g, litK: k, num: num.n}, true
			}
			return cond{}, false
		}
		if x.op != "=" && x.op != "!=" {
			return cond{}, false
		}
		eq := x.op == "="
		if _, ok := x.a.(*contextExpr); ok {
			if lit, ok := x.b.(*strLit); ok {
				return cond{op: condSelfCmp, eq: eq, lit: lit.s}, true
			}
			return cond{}, false
		}
		p, ok := x.a.(*pathExpr)
		if !ok {
			return cond{}, false
		}
		n, ok := oneAttr(p)
		if !ok {
			return cond{}, false
		}
		switch b := x.b.(type) {
		case *strLit:
			return cond{op: condAttrCmp, eq: eq, name: n, lit: b.s}, true
		case *seqExpr:
			if b.allStr {
				return cond{op: condAttrIn, eq: eq, name: n, lits: b.constant}, true
			}
		}
	}
	return cond{}, false
}

// oneAttr recognises @name (relative, no predicate): its schema name id.
func oneAttr(x expr) (int32, bool) {
	p, ok := x.(*pathExpr)
	if !ok || p.root || p.filter != nil || len(p.preds) > 0 || len(p.steps) != 1 {
		return 0, false
	}
	st := &p.steps[0]
	if st.axis != axAttr || st.test.k != testName || len(st.preds) > 0 || st.call != nil {
		return 0, false
	}
	return st.test.name, true
}

// oneChild recognises child::name (relative, no predicate).
func oneChild(x expr) (int32, bool) {
	p, ok := x.(*pathExpr)
	if !ok || p.root || p.filter != nil || len(p.preds) > 0 || len(p.steps) != 1 {
		return 0, false
	}
	st := &p.steps[0]
	if st.axis != axChild || st.test.k != testName || len(st.preds) > 0 || st.call != nil {
		return 0, false
	}
	return st.test.name, true
}

// countGroup recognises P[Q='lit'], P child steps without predicates but
// the last, whose one predicate Q='lit' is a comparison eqLiteral knows
// (entry[observation/code[@code='4104']], component/section/code[@code='X']).
// The checks of a rule count such paths for a dozen literals over the same
// P and Q at the same context node: the paths with the same P and Q make a
// count group (id g), its literals numbered (k); ev.groupCount walks P and
// Q once per context node for all of them.
func (s *Schema) countGroup(x expr) (g, k int32, ok bool) {
	p, isPath := x.(*pathExpr)
	if !isPath || p.root || p.filter != nil || len(p.preds) > 0 || len(p.steps) == 0 {
		return 0, 0, false
	}
	var key strings.Builder
	bare := &pathExpr{}
	for i, st := range p.steps {
		if st.axis != axChild || st.test.k != testName || st.call != nil || st.positional {
			return 0, 0, false
		}
		if (i < len(p.steps)-1) != (len(st.preds) == 0) || i == len(p.steps)-1 && len(st.preds) != 1 {
			return 0, 0, false
		}
		fmt.Fprintf(&key, "/%d", st.test.name)
		st.preds, st.cpreds = nil, nil
		bare.steps = append(bare.steps, st)
	}
	qsteps, lit, ok := eqLiteral(p.steps[len(p.steps)-1].preds[0])
	if !ok {
		return 0, 0, false
	}
	key.WriteString("[")
	for _, q := range qsteps {
		fmt.Fprintf(&key, "/%d:%d", q.axis, q.test.name)
	}
	id, seen := s.countGroups[key.String()]
	if !seen {
		id = int32(len(s.countGroups))
		s.countGroups[key.String()] = id
		sp, _ := asSimple(bare)
		q, _ := asSimple(&pathExpr{steps: qsteps})
		s.cgroups = append(s.cgroups, countGroupDef{path: sp, q: q, lits: map[string]int32{}})
	}
	lits := s.cgroups[id].lits
	n, have := lits[lit]
	if !have {
		n = int32(len(lits))
		lits[lit] = n
	}
	return id, n, true
}

// countGroupDef is a count group: its path P (no predicates), the path Q
// of the predicate and the literals compared with Q's values.
type countGroupDef struct {
	path, q *simplePath
	lits    map[string]int32
}

// cgIx is a count group's counts at one context node: per literal, how
// many nodes of P have it among their Q values.
type cgIx struct {
	ctx    int32 // -1: none yet in this document
	counts []int32
}

// groupCount is count(P[Q=lit k]) at ctx for count group g, from the
// group's counts at ctx (computed when ctx is not the node they are of).
func (e *ev) groupCount(g, ctx, k int32) int32 {
	ix := &e.cgs[g]
	if ix.ctx != ctx {
		def := &e.s.cgroups[g]
		ix.counts = slices.Grow(ix.counts[:0], len(def.lits))[:len(def.lits)]
		clear(ix.counts)
		mark := len(e.arena)
		// cands stays valid: what simple appends below goes after it and
		// is released, and a grown arena leaves the old array as it was.
		cands := e.simple(def.path, ctx)
		for _, n := range cands {
			m := len(e.arena)
			first := len(e.ck)
			for _, v := range e.simple(def.q, n) {
				if k, ok := def.lits[e.d.stringValue(v)]; ok && !slices.Contains(e.ck[first:], k) {
					e.ck = append(e.ck, k)
					ix.counts[k]++
				}
			}
			e.ck = e.ck[:first]
			e.release(m)
		}
		e.release(mark)
		ix.ctx = ctx
	}
	return ix.counts[k]
}
