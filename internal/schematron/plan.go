package schematron

// The evaluation plan: the compiled rules and their context selections laid
// out in flat arrays, built once by Compile. ValidateErr walks these instead
// of the rule → alternatives → path → steps pointers of the compiled tree:
// a validation visits every rule of the schema (121.sch: 586, a third of
// them matching nothing in a given document), and each pointer to follow
// was a cache miss on a schema of megabytes.

// prefixOp is one rule context prefix (see Schema.selection): the nodes of
// prefix parent (the document node when parent < 0) taken through step st,
// or through value group group with literal lit.
type prefixOp struct {
	parent int32
	group  int32
	st     *step
	lit    string
	litK   int32  // lit's number in its group (Schema.groupLits)
	rest   []cond // the step's predicates after the one its group indexes
}

// flatRule is a rule as ValidateErr needs it.
type flatRule struct {
	sel    []int32 // per alternative of the context, the id of its whole prefix
	checks []check
	r      *rule
	pat    int32 // index into Schema.patterns
}

// buildPlan fills Schema.pre and Schema.flat from the compiled patterns
// (after pruneGroups: the value groups are final).
func (s *Schema) buildPlan() {
	s.pre = make([]prefixOp, len(s.prefixes))
	n := 0
	s.eachSelection(func(q *pathExpr) {
		n++
		for k := range q.steps {
			parent := int32(-1)
			if k > 0 {
				parent = q.memo[k-1]
			}
			s.pre[q.memo[k]] = prefixOp{parent: parent, group: q.group[k], st: &q.steps[k], lit: q.lit[k]}
		}
	})
	s.groupLits = make([]map[string]int32, len(s.groupPath))
	s.groupSimple = make([]*simplePath, len(s.groupPath))
	for i := range s.pre {
		op := &s.pre[i]
		if op.group < 0 {
			continue
		}
		m := s.groupLits[op.group]
		if m == nil {
			m = map[string]int32{}
			s.groupLits[op.group] = m
			s.groupSimple[op.group], _ = asSimple(s.groupPath[op.group])
		}
		k, ok := m[op.lit]
		if !ok {
			k = int32(len(m))
			m[op.lit] = k
		}
		op.litK = k
		if len(op.st.preds) > 1 {
			op.rest = op.st.cpreds[1:]
		}
	}
	ids := make([]int32, 0, n)
	for pi, p := range s.patterns {
		for _, r := range p.rules {
			start := len(ids)
			for _, q := range r.sel {
				ids = append(ids, q.memo[len(q.memo)-1])
			}
			s.flat = append(s.flat, flatRule{sel: ids[start:len(ids):len(ids)], checks: r.checks, r: r, pat: int32(pi)})
		}
	}
}

// prefix is the node set of rule context prefix id, computed once per
// document (parents first).
func (e *ev) prefix(id int32) []int32 {
	if o := e.memoOff[id]; o >= 0 {
		return e.memoBuf[o : o+e.memoLen[id]]
	}
	op := &e.s.pre[id]
	var in []int32
	if op.parent < 0 {
		in = e.one(0)
	} else {
		in = e.prefix(op.parent)
	}
	var out []int32
	if len(in) > 0 {
		if op.group >= 0 {
			out = e.groupLookup(op.group, in, op.litK)
			if len(op.rest) > 0 && len(out) > 0 {
				start := len(e.arena)
				e.arena = append(e.arena, out...)
				e.filterFast(start, op.rest)
				out = e.arena[start:]
			}
		} else {
			out = e.step(op.st, in)
		}
	}
	off := len(e.memoBuf)
	e.memoBuf = append(e.memoBuf, out...)
	e.memoOff[id], e.memoLen[id] = int32(off), int32(len(out))
	return e.memoBuf[off:]
}
