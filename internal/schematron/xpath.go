package schematron

import (
	"fmt"
	"strconv"
	"strings"
)

// The XPath subset the official schematrons use, compiled to a small tree.
// Anything outside it is a compile error naming the construct.

type tokKind uint8

const (
	tEOF  tokKind = iota
	tName         // NCName or prefix:local or prefix:*
	tStr
	tNum
	tOp  // / // [ ] ( ) , | = != < <= > >= @ . .. * ::
	tVar // $name (s: the name)
)

type token struct {
	k   tokKind
	s   string
	n   float64
	off int // byte offset in the source
}

func lex(src string) ([]token, error) {
	var out []token
	i := 0
	isNameStart := func(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 }
	isName := func(c byte) bool { return isNameStart(c) || c == '-' || c == '.' || c >= '0' && c <= '9' }
	for i < len(src) {
		c := src[i]
		n := len(out)
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'' || c == '"':
			j := i + 1
			var sb strings.Builder
			for {
				if j >= len(src) {
					return nil, fmt.Errorf("unterminated string literal")
				}
				if src[j] == c {
					if j+1 < len(src) && src[j+1] == c { // doubled quote
						sb.WriteByte(c)
						j += 2
						continue
					}
					break
				}
				sb.WriteByte(src[j])
				j++
			}
			out = append(out, token{k: tStr, s: sb.String()})
			i = j + 1
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			f, err := strconv.ParseFloat(src[i:j], 64)
			if err != nil {
				return nil, fmt.Errorf("bad number %q", src[i:j])
			}
			out = append(out, token{k: tNum, n: f, s: src[i:j]})
			i = j
		case c == '$' && i+1 < len(src) && isNameStart(src[i+1]):
			j := i + 1
			for j < len(src) && isName(src[j]) {
				j++
			}
			out = append(out, token{k: tVar, s: src[i+1 : j]})
			i = j
		case isNameStart(c):
			j := i
			for j < len(src) && isName(src[j]) {
				j++
			}
			if j+1 < len(src) && src[j] == ':' && src[j+1] != ':' {
				if src[j+1] == '*' {
					j += 2
				} else if isNameStart(src[j+1]) {
					j++
					for j < len(src) && isName(src[j]) {
						j++
					}
				}
			}
			out = append(out, token{k: tName, s: src[i:j]})
			i = j
		default:
			two := ""
			if i+1 < len(src) {
				two = src[i : i+2]
			}
			switch two {
			case "//", "!=", "<=", ">=", "..", "::":
				out = append(out, token{k: tOp, s: two, off: i})
				i += 2
				continue
			}
			switch c {
			case '/', '[', ']', '(', ')', ',', '|', '=', '<', '>', '@', '.', '*', '+', '-':
				out = append(out, token{k: tOp, s: string(c)})
				i++
			default:
				return nil, fmt.Errorf("unsupported character %q", c)
			}
		}
		if len(out) > n {
			out[n].off = start
		}
	}
	return append(out, token{k: tEOF, off: len(src)}), nil
}

// Expression tree.

type expr interface{}

type (
	orExpr  struct{ a, b expr }
	andExpr struct{ a, b expr }
	cmpExpr struct {
		op   string
		a, b expr
	}
	unionExpr struct{ parts []expr }
	strLit    struct{ s string }
	numLit    struct{ n float64 }
	seqExpr   struct {
		items    []expr // (a, b) and the array constructor [a, b], atomized alike
		constant []atom // the atoms when every item is a literal
		allStr   bool   // constant is non-empty and holds only strings
	}
	callExpr struct {
		name string
		args []expr
		fn   *function
	}
	contextExpr struct{} // "." as a whole expression
	ifExpr      struct{ cond, a, b expr }
	varRef      struct {
		name   string
		global bool // a schema or pattern sch:let, else one of the rule's
		slot   int  // index into Schema.globals or the rule's lets
	}
	arithExpr struct {
		op   string // + - div mod, or "neg" (unary minus, a only)
		a, b expr
	}
	pathExpr struct {
		start  int     // source offset of the path
		end    int     // source offset after it (relative paths with steps)
		group  []int32 // rule context selections: per step, its value-index group (-1: none)
		lit    []string
		memo   []int32 // rule context selections: per step, the id of the prefix ending there
		root   bool    // starts at the document node
		filter expr    // a primary expression the path starts from (nil: the context node)
		preds  []expr
		steps  []step
	}
)

type axis uint8

const (
	axChild axis = iota
	axAttr
	axSelf
	axParent
	axDesc
	axDescSelf
	axAncestor
	axAncestorSelf
)

type testKind uint8

const (
	testName    testKind = iota // a QName
	testAnyName                 // *
	testText                    // text()
	testNode                    // node()
)

type nodeTest struct {
	k    testKind
	q    qname
	name int32 // schema name id (testName)
}

type step struct {
	axis       axis
	test       nodeTest
	preds      []expr
	positional bool // some predicate depends on position
	call       expr // a function call used as a step (XPath 2: title/normalize-space(text()))
	end        int  // source offset just after the step (memo keys of rule contexts)
	// need is 1 + the schema name id of a child element every node the
	// step keeps must have (0: none), for descendant::* whose first
	// predicate starts with that child (//*[identity:IdentityDoc/…]): the
	// candidates are the parents of those children, not every element.
	need int32
	// cpreds are the predicates compiled to conds, when none can be a
	// position test (nil otherwise): filterFast instead of filter.
	cpreds []cond
}

type parser struct {
	toks []token
	pos  int
	ns   map[string]string
	s    *Schema
	// sawPos is set when position() or last() is called, to mark the
	// enclosing predicate positional.
	sawPos bool
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token { t := p.toks[p.pos]; p.pos++; return t }
func (p *parser) isOp(s string) bool {
	t := p.peek()
	return t.k == tOp && t.s == s
}
func (p *parser) expect(s string) error {
	if !p.isOp(s) {
		return fmt.Errorf("expected %q, found %q", s, p.peek().s)
	}
	p.pos++
	return nil
}

// compileXPath parses src with the schema's namespace prefixes; unprefixed
// element names are in the default element namespace.
func (s *Schema) compileXPath(src string) (expr, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, fmt.Errorf("xpath %q: %w", src, err)
	}
	p := &parser{toks: toks, ns: s.ns, s: s}
	e, err := p.parseExpr()
	if err == nil && p.peek().k != tEOF {
		err = fmt.Errorf("unsupported construct at %q", p.peek().s)
	}
	if err != nil {
		return nil, fmt.Errorf("xpath %q: %w", src, err)
	}
	return e, nil
}

func (p *parser) parseExpr() (expr, error) {
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.isOp(",") {
		items := []expr{e}
		for p.isOp(",") {
			p.pos++
			e, err := p.parseOr()
			if err != nil {
				return nil, err
			}
			items = append(items, e)
		}
		return &seqExpr{items: items}, nil
	}
	return e, nil
}

func (p *parser) isKeyword(w string) bool {
	t := p.peek()
	return t.k == tName && t.s == w
}

func (p *parser) parseOr() (expr, error) {
	a, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("or") {
		p.pos++
		b, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		a = &orExpr{a, b}
	}
	return a, nil
}

func (p *parser) parseAnd() (expr, error) {
	a, err := p.parseCmp()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("and") {
		p.pos++
		b, err := p.parseCmp()
		if err != nil {
			return nil, err
		}
		a = &andExpr{a, b}
	}
	return a, nil
}

func (p *parser) parseCmp() (expr, error) {
	a, err := p.parseAdditive()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.k == tOp {
		switch t.s {
		case "=", "!=", "<", "<=", ">", ">=":
			p.pos++
			b, err := p.parseAdditive()
			if err != nil {
				return nil, err
			}
			return &cmpExpr{op: t.s, a: a, b: b}, nil
		}
	}
	if t.k == tName {
		switch t.s {
		case "eq", "ne", "lt", "le", "gt", "ge", "is", "to", "instance", "cast", "castable", "treat", "idiv", "union", "intersect", "except":
			return nil, fmt.Errorf("unsupported operator %q", t.s)
		}
	}
	return a, nil
}

// parseAdditive parses a + b and a - b over div and mod, over unary minus
// (no "*" multiplication: the files do not use it, and it would be read as
// the name wildcard).
func (p *parser) parseAdditive() (expr, error) {
	a, err := p.parseMultiplicative()
	if err != nil {
		return nil, err
	}
	for p.isOp("+") || p.isOp("-") {
		op := p.next().s
		b, err := p.parseMultiplicative()
		if err != nil {
			return nil, err
		}
		a = &arithExpr{op: op, a: a, b: b}
	}
	return a, nil
}

func (p *parser) parseMultiplicative() (expr, error) {
	a, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("div") || p.isKeyword("mod") {
		op := p.next().s
		b, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		a = &arithExpr{op: op, a: a, b: b}
	}
	return a, nil
}

func (p *parser) parseUnary() (expr, error) {
	if p.isOp("-") {
		p.pos++
		a, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &arithExpr{op: "neg", a: a}, nil
	}
	if p.isOp("+") {
		p.pos++
		return p.parseUnary()
	}
	return p.parseUnion()
}

func (p *parser) parseUnion() (expr, error) {
	a, err := p.parsePath()
	if err != nil {
		return nil, err
	}
	if !p.isOp("|") {
		return a, nil
	}
	u := &unionExpr{parts: []expr{a}}
	for p.isOp("|") {
		p.pos++
		b, err := p.parsePath()
		if err != nil {
			return nil, err
		}
		u.parts = append(u.parts, b)
	}
	return u, nil
}

var descOrSelfStep = step{axis: axDescSelf, test: nodeTest{k: testNode}}

func (p *parser) parsePath() (expr, error) {
	pe := &pathExpr{start: p.peek().off}
	ds := func() step { st := descOrSelfStep; st.end = p.peek().off; return st }
	switch {
	case p.isOp("/"):
		p.pos++
		pe.root = true
		if !p.startsStep() {
			return pe, nil
		}
	case p.isOp("//"):
		p.pos++
		pe.root = true
		pe.steps = append(pe.steps, ds())
	default:
		// A primary expression may start the path.
		prim, ok, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		if ok {
			for p.isOp("[") {
				pr, err := p.parsePred()
				if err != nil {
					return nil, err
				}
				pe.preds = append(pe.preds, pr)
			}
			if !p.isOp("/") && !p.isOp("//") && len(pe.preds) == 0 {
				return prim, nil
			}
			pe.filter = prim
			if !p.isOp("/") && !p.isOp("//") {
				return pe, nil
			}
			p.pos++
			if p.toks[p.pos-1].s == "//" {
				pe.steps = append(pe.steps, ds())
			}
		}
	}
	for {
		st, err := p.parseStep()
		if err != nil {
			return nil, err
		}
		pe.steps = append(pe.steps, st)
		if p.isOp("/") {
			p.pos++
			continue
		}
		if p.isOp("//") {
			p.pos++
			pe.steps = append(pe.steps, ds())
			continue
		}
		break
	}
	pe.steps = fuseDescendant(pe.steps)
	pe.end = p.peek().off
	return pe, nil
}

// fuseDescendant turns descendant-or-self::node()/child::x into descendant::x
// where no predicate of the child step depends on position (same nodes, one
// pass instead of a node set per level).
func fuseDescendant(steps []step) []step {
	out := steps[:0:0]
	for i := 0; i < len(steps); i++ {
		s := steps[i]
		if s.axis == axDescSelf && s.test.k == testNode && len(s.preds) == 0 && s.call == nil && i+1 < len(steps) {
			n := steps[i+1]
			if n.axis == axChild && !n.positional && n.call == nil {
				n.axis = axDesc
				n.need = neededChild(n)
				out = append(out, n)
				i++
				continue
			}
		}
		out = append(out, s)
	}
	return out
}

// neededChild is step.need for a descendant::* step: 1 + the name of the
// child its first predicate cannot be true without (a relative path whose
// first step is child::name, alone or as a side of "and"), 0 if none.
func neededChild(st step) int32 {
	if st.test.k != testAnyName || (st.axis != axDesc && st.axis != axDescSelf) || len(st.preds) == 0 {
		return 0
	}
	return requiredChild(st.preds[0])
}

func requiredChild(x expr) int32 {
	switch x := x.(type) {
	case *andExpr:
		if n := requiredChild(x.a); n > 0 {
			return n
		}
		return requiredChild(x.b)
	case *pathExpr:
		if x.root || x.filter != nil || len(x.preds) > 0 || len(x.steps) == 0 {
			return 0
		}
		if f := x.steps[0]; f.axis == axChild && f.test.k == testName && f.call == nil {
			return f.test.name + 1
		}
	}
	return 0
}

func (p *parser) startsStep() bool {
	t := p.peek()
	return t.k == tName || t.k == tOp && (t.s == "@" || t.s == "." || t.s == ".." || t.s == "*")
}

// parsePrimary parses a literal, a parenthesised expression, an array
// constructor, a function call or "."; ok is false when the next tokens start
// an axis step instead.
func (p *parser) parsePrimary() (expr, bool, error) {
	t := p.peek()
	switch {
	case t.k == tStr:
		p.pos++
		return &strLit{t.s}, true, nil
	case t.k == tNum:
		p.pos++
		return &numLit{t.n}, true, nil
	case t.k == tOp && t.s == "(":
		p.pos++
		if p.isOp(")") {
			p.pos++
			return &seqExpr{}, true, nil
		}
		e, err := p.parseExpr()
		if err != nil {
			return nil, false, err
		}
		return e, true, p.expect(")")
	case t.k == tOp && t.s == "[":
		p.pos++
		if p.isOp("]") {
			p.pos++
			return &seqExpr{}, true, nil
		}
		e, err := p.parseExpr()
		if err != nil {
			return nil, false, err
		}
		if s, ok := e.(*seqExpr); ok {
			return s, true, p.expect("]")
		}
		return &seqExpr{items: []expr{e}}, true, p.expect("]")
	case t.k == tName && p.toks[p.pos+1].k == tOp && p.toks[p.pos+1].s == "(":
		switch t.s {
		case "text", "node", "comment", "processing-instruction", "element", "attribute", "document-node":
			return nil, false, nil
		case "if":
			x, err := p.parseIf()
			return x, err == nil, err
		case "some", "every", "for", "let":
			return nil, false, fmt.Errorf("unsupported expression %q", t.s)
		}
		c, err := p.parseCall()
		return c, err == nil, err
	case t.k == tOp && t.s == "." && !(p.toks[p.pos+1].k == tOp && p.toks[p.pos+1].s == "["):
		// "." followed by a predicate is a step (self::node()[...]).
		p.pos++
		return &contextExpr{}, true, nil
	case t.k == tVar:
		p.pos++
		if slot, ok := p.s.locals[t.s]; ok {
			return &varRef{name: t.s, slot: slot}, true, nil
		}
		if slot, ok := p.s.globalIDs[t.s]; ok {
			return &varRef{name: t.s, global: true, slot: slot}, true, nil
		}
		return nil, false, fmt.Errorf("undeclared variable $%s", t.s)
	}
	return nil, false, nil
}

// parseIf parses if (Expr) then ExprSingle else ExprSingle.
func (p *parser) parseIf() (expr, error) {
	p.pos += 2 // if (
	cond, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	if !p.isKeyword("then") {
		return nil, fmt.Errorf("expected then, found %q", p.peek().s)
	}
	p.pos++
	a, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if !p.isKeyword("else") {
		return nil, fmt.Errorf("expected else, found %q", p.peek().s)
	}
	p.pos++
	b, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	return &ifExpr{cond: cond, a: a, b: b}, nil
}

func (p *parser) parseCall() (expr, error) {
	name := p.next().s
	p.pos++ // (
	c := &callExpr{name: name}
	if !p.isOp(")") {
		for {
			a, err := p.parseOr()
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, a)
			if p.isOp(",") {
				p.pos++
				continue
			}
			break
		}
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	f, ok := functions[strings.TrimPrefix(name, "fn:")]
	if !ok {
		return nil, fmt.Errorf("unsupported function %s()", name)
	}
	if len(c.args) < f.min || len(c.args) > f.max {
		return nil, fmt.Errorf("%s() takes %d to %d arguments, got %d", name, f.min, f.max, len(c.args))
	}
	c.fn = f
	if f.positional {
		p.sawPos = true
	}
	return c, nil
}

func (p *parser) parsePred() (expr, error) {
	p.pos++ // [
	e, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	return e, p.expect("]")
}

func (p *parser) parseStep() (st step, err error) {
	t := p.peek()
	switch {
	case t.k == tOp && t.s == ".":
		p.pos++
		st = step{axis: axSelf, test: nodeTest{k: testNode}}
	case t.k == tOp && t.s == "..":
		p.pos++
		st = step{axis: axParent, test: nodeTest{k: testNode}}
	case t.k == tName && p.toks[p.pos+1].k == tOp && p.toks[p.pos+1].s == "(" && !isNodeType(t.s):
		c, err := p.parseCall()
		if err != nil {
			return st, err
		}
		st = step{axis: axSelf, test: nodeTest{k: testNode}, call: c}
		if p.isOp("[") {
			return st, fmt.Errorf("unsupported predicate on a function step")
		}
		return st, nil
	default:
		st.axis = axChild
		if p.isOp("@") {
			p.pos++
			st.axis = axAttr
		} else if t.k == tName && p.toks[p.pos+1].k == tOp && p.toks[p.pos+1].s == "::" {
			switch t.s {
			case "child":
				st.axis = axChild
			case "attribute":
				st.axis = axAttr
			case "self":
				st.axis = axSelf
			case "parent":
				st.axis = axParent
			case "descendant":
				st.axis = axDesc
			case "descendant-or-self":
				st.axis = axDescSelf
			case "ancestor":
				st.axis = axAncestor
			case "ancestor-or-self":
				st.axis = axAncestorSelf
			default:
				return st, fmt.Errorf("unsupported axis %s::", t.s)
			}
			p.pos += 2
		}
		nt, err := p.parseNodeTest(st.axis == axAttr)
		if err != nil {
			return st, err
		}
		st.test = nt
	}
	defer func() { st.end = p.peek().off }()
	for p.isOp("[") {
		saw := p.sawPos
		p.sawPos = false
		pr, err := p.parsePred()
		if err != nil {
			return st, err
		}
		st.preds = append(st.preds, pr)
		if p.sawPos || maybeNumeric(pr) {
			st.positional = true
		}
		p.sawPos = saw
	}
	return st, nil
}

func isNodeType(s string) bool {
	switch s {
	case "text", "node", "comment", "processing-instruction", "element", "attribute", "document-node":
		return true
	}
	return false
}

func (p *parser) parseNodeTest(attr bool) (nodeTest, error) {
	t := p.next()
	if t.k == tOp && t.s == "*" {
		return nodeTest{k: testAnyName}, nil
	}
	if t.k != tName {
		return nodeTest{}, fmt.Errorf("expected a name test, found %q", t.s)
	}
	if p.isOp("(") {
		p.pos++
		if err := p.expect(")"); err != nil {
			return nodeTest{}, fmt.Errorf("unsupported kind test %s(…)", t.s)
		}
		switch t.s {
		case "text":
			return nodeTest{k: testText}, nil
		case "node":
			return nodeTest{k: testNode}, nil
		}
		return nodeTest{}, fmt.Errorf("unsupported kind test %s()", t.s)
	}
	if strings.HasSuffix(t.s, ":*") {
		return nodeTest{}, fmt.Errorf("unsupported name test %s", t.s)
	}
	q := qname{local: t.s}
	if i := strings.IndexByte(t.s, ':'); i >= 0 {
		uri, ok := p.ns[t.s[:i]]
		if !ok {
			return nodeTest{}, fmt.Errorf("undeclared prefix %q", t.s[:i])
		}
		q = qname{uri, t.s[i+1:]}
	} else if !attr {
		q.ns = p.s.defaultNS
	}
	return nodeTest{k: testName, q: q, name: p.s.nameID(q)}, nil
}

// maybeNumeric reports whether a predicate may yield a number, in which case
// it is a position test and needs the step's whole node list.
func maybeNumeric(e expr) bool {
	switch e := e.(type) {
	case *numLit:
		return true
	case *callExpr:
		return e.fn.numeric
	case *seqExpr:
		return true
	case *ifExpr:
		return maybeNumeric(e.a) || maybeNumeric(e.b)
	case *arithExpr:
		return true
	case *varRef:
		return true // its value may be a number
	}
	return false
}
