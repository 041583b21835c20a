package schematron

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
)

const schNS = "http://purl.oclc.org/dsdl/schematron"

// HL7NS is the default element namespace of unprefixed names in the rules.
const HL7NS = "urn:hl7-org:v3"

// Failure is one failed assert or successful report (the record the Saxon
// oracle produces too, compared with ==).
type Failure struct {
	Kind     string // "assert" (a failed assert) or "report" (a successful report)
	ID       string // the assert/report @id as written in the .sch ("" if none)
	Pattern  string // the enclosing pattern's @id ("" if none)
	Location string // fn:path() of the rule's context node, Saxon's spelling
	Text     string // the message, whitespace-normalised
}

var ruleNumber = regexp.MustCompile(`^([^\s.]*\d[^\s.]*)\.(\s|$)`)

// Number is the rule number the official files put at the head of each
// message ("У1-15. Элемент …" → "У1-15"); the files carry no @id. Empty when
// the message has none (the "Общие ограничения." rules).
func (f Failure) Number() string {
	if f.ID != "" {
		return f.ID
	}
	if m := ruleNumber.FindStringSubmatch(f.Text); m != nil {
		return m[1]
	}
	return ""
}

// Schema is a compiled schematron; safe for concurrent Validate calls.
type Schema struct {
	defaultNS string
	ns        map[string]string
	names     map[qname]int32
	patterns  []*pattern
	regexps   map[string]*xre
	prefixes  map[string]int32 // rule context prefixes (see selection)
	groups    map[string]int32 // value-index groups (see valueGroup)
	groupPath []*pathExpr      // per group, the predicate's path
	groupStep []step           // per group, the step without its predicates (the candidates)
	// groupLits is per group its literals, each numbered (see buildPlan),
	// groupSimple its path compiled as a simplePath.
	groupLits   []map[string]int32
	groupSimple []*simplePath
	// countGroups and cgroups are the count groups of the tests (see
	// countGroup), by key and by id.
	countGroups map[string]int32
	cgroups     []countGroupDef
	pre         []prefixOp // per rule context prefix, how to select it (see plan.go)
	flat        []flatRule // the rules of the active patterns, in order
	pool        sync.Pool
	// globals are the schema's and patterns' sch:let (context: the
	// document node), globalIDs their slots by name; locals is, while a rule
	// is compiled, its lets visible so far.
	globals   []*letDef
	globalIDs map[string]int
	locals    map[string]int
	// Asserts and Rules count what was compiled.
	Asserts, Reports, Rules int
	// Err is set, and nothing else, on the entry Load makes for a kind whose
	// schematron does not compile (a *CompileError): the kind is
	// unconfigured, and ValidateErr returns Err rather than check a subset.
	Err error
}

// CompileError is a construct the engine cannot compile, located in the
// schematron: the door refuses the kind (unconfigured) rather than check it
// with part of its rules.
type CompileError struct {
	File    string // the .sch file (set by Load; "" for Compile of bytes)
	Line    int    // line in the file of the element at fault (rule, assert, report, …)
	Rule    int    // the rule's number, 1-based in document order (0: outside any rule)
	Context string // the rule's context ("" outside any rule)
	Err     error  // what is not supported, with the construct named
}

func (e *CompileError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ":")
	}
	fmt.Fprintf(&b, "%d: ", e.Line)
	if e.Rule > 0 {
		fmt.Fprintf(&b, "rule %d (context %q): ", e.Rule, e.Context)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *CompileError) Unwrap() error { return e.Err }

type pattern struct {
	idx   int
	id    string
	rules []*rule
}

type rule struct {
	pattern *pattern
	idx     int
	num     int // 1-based, in document order over the whole schema
	line    int // in the .sch
	context string
	sel     []*pathExpr // per alternative (a|b) of the context, the path selecting what it matches
	checks  []check
	lets    []*letDef // the rule's sch:let, in order
}

// letDef is a compiled sch:let: evaluated lazily, once per document
// (global) or per context node (rule), as Saxon does — a let never
// referenced raises no dynamic error.
type letDef struct {
	name string
	src  string
	line int
	x    expr
}

type check struct {
	cond   // test, compiled
	report bool
	id     string
	test   expr
	text   string
}

// Option adjusts compilation.
type Option func(*Schema)

// DefaultElementNamespace sets the namespace of unprefixed element names in
// the rules' XPath (XSLT's xpath-default-namespace). The default is HL7NS:
// the official files name CDA elements without a prefix and declare no
// namespace for them, and the registry applies them to urn:hl7-org:v3
// documents, where a no-namespace reading would match nothing.
func DefaultElementNamespace(uri string) Option { return func(s *Schema) { s.defaultNS = uri } }

// Compile compiles an ISO Schematron (queryBinding xslt2): ns, pattern,
// rule/@context, assert and report with plain-text messages, abstract rules
// with extends, phases (the default phase's patterns), let. Anything else
// (value-of, name, abstract patterns, includes, XPath outside the supported
// subset — see the package doc) is a *CompileError naming it with its line
// and rule, never silently ignored.
func Compile(sch []byte, opts ...Option) (*Schema, error) {
	s := &Schema{defaultNS: HL7NS, ns: map[string]string{"xml": "http://www.w3.org/XML/1998/namespace"}, names: map[qname]int32{}, regexps: map[string]*xre{}, prefixes: map[string]int32{}, groups: map[string]int32{}, countGroups: map[string]int32{}, globalIDs: map[string]int{}}
	for _, o := range opts {
		o(s)
	}
	if err := s.read(sch); err != nil {
		return nil, fmt.Errorf("schematron: %w", err)
	}
	s.buildPlan()
	return s, nil
}

func attr(t xml.StartElement, name string) (string, bool) {
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

func checkAttrs(t xml.StartElement, allowed ...string) error {
	for _, a := range t.Attr {
		if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" || a.Name.Space == "http://www.w3.org/XML/1998/namespace" {
			continue
		}
		if a.Name.Space != "" || !slices.Contains(allowed, a.Name.Local) {
			return fmt.Errorf("unsupported attribute %s on sch:%s", a.Name.Local, t.Name.Local)
		}
	}
	return nil
}

// read walks the .sch. Namespace prefixes are gathered first (sch:ns may
// follow the patterns that use them in principle), then rules compiled.
// Every refusal is a *CompileError with the line and rule.
func (s *Schema) read(sch []byte) error {
	type pending struct {
		r     *rule
		tests []string
		lines []int
		ext   []string // abstract rules this rule extends, by id
		extAt []int    // the lines of those sch:extends
		lets  []*letDef
		letAt []int // per let, how many checks precede it
	}
	dec := xml.NewDecoder(bytes.NewReader(sch))
	var (
		stack    []string
		pat      *pattern
		ru       *rule
		chk      *check
		text     strings.Builder
		todo     []pending
		abstract = map[string]*pending{}
		phases   = map[string][]string{} // phase id → its active patterns
		phase    string                  // the phase being read
		defPhase string
		sawRoot  bool
		line     int
		cur      *pending // the rule being read (concrete or abstract)
	)
	// start handles one schematron element.
	start := func(t xml.StartElement) error {
		if t.Name.Space != schNS {
			return fmt.Errorf("unsupported element {%s}%s", t.Name.Space, t.Name.Local)
		}
		parent := ""
		if len(stack) > 0 {
			parent = stack[len(stack)-1]
		}
		stack = append(stack, t.Name.Local)
		switch {
		case t.Name.Local == "schema" && parent == "":
			sawRoot = true
			if err := checkAttrs(t, "queryBinding", "schemaVersion", "defaultPhase", "id"); err != nil {
				return err
			}
			if qb, _ := attr(t, "queryBinding"); qb != "" && qb != "xslt2" && qb != "xpath2" && qb != "xslt" && qb != "xpath" {
				return fmt.Errorf("unsupported queryBinding %q", qb)
			}
			defPhase, _ = attr(t, "defaultPhase")
		case t.Name.Local == "phase" && parent == "schema":
			if err := checkAttrs(t, "id", "fpi", "icon"); err != nil {
				return err
			}
			phase, _ = attr(t, "id")
			if _, dup := phases[phase]; dup || phase == "" {
				return fmt.Errorf("phase %q without id or defined twice", phase)
			}
			phases[phase] = []string{}
		case t.Name.Local == "active" && parent == "phase":
			if err := checkAttrs(t, "pattern"); err != nil {
				return err
			}
			a, _ := attr(t, "pattern")
			phases[phase] = append(phases[phase], a)
		case t.Name.Local == "ns" && parent == "schema":
			if err := checkAttrs(t, "prefix", "uri"); err != nil {
				return err
			}
			p, _ := attr(t, "prefix")
			u, _ := attr(t, "uri")
			s.ns[p] = u
		case (t.Name.Local == "title" || t.Name.Local == "p") && (parent == "schema" || parent == "pattern" || parent == "phase" || parent == "rule"):
			if err := dec.Skip(); err != nil {
				return err
			}
			stack = stack[:len(stack)-1]
		case t.Name.Local == "pattern" && parent == "schema":
			if a, _ := attr(t, "abstract"); a == "true" {
				return errors.New("unsupported abstract pattern")
			}
			if err := checkAttrs(t, "id", "see", "fpi", "icon"); err != nil {
				return err
			}
			id, _ := attr(t, "id")
			pat = &pattern{idx: len(s.patterns), id: id}
			s.patterns = append(s.patterns, pat)
		case t.Name.Local == "rule" && parent == "pattern":
			c, ok := attr(t, "context")
			s.Rules++
			ru = &rule{pattern: pat, idx: len(pat.rules), num: s.Rules, line: line, context: c}
			if err := checkAttrs(t, "context", "id", "role", "flag", "see", "fpi", "icon", "abstract"); err != nil {
				return err
			}
			if a, _ := attr(t, "abstract"); a == "true" {
				// An abstract rule: its checks join the rules that extend it.
				id, _ := attr(t, "id")
				if id == "" || ok || abstract[id] != nil {
					return fmt.Errorf("abstract rule %q without id, with a context or defined twice", id)
				}
				cur = &pending{r: ru}
				abstract[id] = cur
				break
			}
			if !ok {
				return errors.New("rule without @context")
			}
			pat.rules = append(pat.rules, ru)
			todo = append(todo, pending{r: ru})
			cur = &todo[len(todo)-1]
		case t.Name.Local == "let" && (parent == "schema" || parent == "pattern" || parent == "rule"):
			if err := checkAttrs(t, "name", "value"); err != nil {
				return err
			}
			name, _ := attr(t, "name")
			value, ok := attr(t, "value")
			if name == "" || !ok {
				return errors.New("unsupported sch:let without name or value (element content)")
			}
			l := &letDef{name: name, src: value, line: line}
			if parent != "rule" {
				if _, dup := s.globalIDs[name]; dup {
					return fmt.Errorf("variable $%s defined twice at the top level", name)
				}
				s.globalIDs[name] = len(s.globals)
				s.globals = append(s.globals, l)
				break
			}
			if cur == nil || abstractRule(cur, abstract) {
				return errors.New("unsupported sch:let in an abstract rule")
			}
			cur.lets = append(cur.lets, l)
			cur.letAt = append(cur.letAt, len(cur.tests))
		case t.Name.Local == "extends" && parent == "rule":
			if err := checkAttrs(t, "rule"); err != nil {
				return err
			}
			id, _ := attr(t, "rule")
			cur.ext = append(cur.ext, id)
			cur.extAt = append(cur.extAt, line)
		case (t.Name.Local == "assert" || t.Name.Local == "report") && parent == "rule":
			if err := checkAttrs(t, "test", "id", "role", "flag", "see", "fpi", "icon", "diagnostics", "properties", "subject"); err != nil {
				return err
			}
			if d, _ := attr(t, "diagnostics"); d != "" {
				return errors.New("unsupported diagnostics")
			}
			if d, _ := attr(t, "properties"); d != "" {
				return errors.New("unsupported properties")
			}
			if d, _ := attr(t, "subject"); d != "" {
				return errors.New("unsupported subject")
			}
			test, ok := attr(t, "test")
			if !ok {
				return fmt.Errorf("sch:%s without @test", t.Name.Local)
			}
			id, _ := attr(t, "id")
			ru.checks = append(ru.checks, check{report: t.Name.Local == "report", id: id})
			chk = &ru.checks[len(ru.checks)-1]
			cur.tests = append(cur.tests, test)
			cur.lines = append(cur.lines, line)
			text.Reset()
			if chk.report {
				s.Reports++
			} else {
				s.Asserts++
			}
		default:
			where := parent
			if where == "" {
				where = "the top"
			}
			return fmt.Errorf("unsupported sch:%s in sch:%s", t.Name.Local, where)
		}
		return nil
	}
	for {
		line, _ = dec.InputPos()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := start(t); err != nil {
				ce := &CompileError{Line: line, Err: err}
				if ru != nil {
					ce.Rule, ce.Context = ru.num, ru.context
				}
				return ce
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "assert", "report":
				chk.text = normalizeSpace(text.String())
				chk = nil
			case "rule":
				ru, cur = nil, nil
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if chk != nil {
				text.Write(t)
			}
		}
	}
	if !sawRoot {
		return errors.New("not a schematron: no sch:schema root")
	}
	if defPhase != "" && defPhase != "#ALL" { // only the default phase's patterns run
		act, ok := phases[defPhase]
		if !ok {
			return fmt.Errorf("defaultPhase %q is not defined", defPhase)
		}
		s.patterns = slices.DeleteFunc(s.patterns, func(p *pattern) bool { return p.id == "" || !slices.Contains(act, p.id) })
	}
	// extend appends the checks of the abstract rules p extends (and those
	// they extend) to the rule of to.
	var extend func(to, p *pending, seen []string) error
	extend = func(to, p *pending, seen []string) error {
		for i, id := range p.ext {
			a := abstract[id]
			fail := &CompileError{Line: p.extAt[i], Rule: to.r.num, Context: to.r.context}
			if a == nil {
				fail.Err = fmt.Errorf("no abstract rule %q", id)
				return fail
			}
			if slices.Contains(seen, id) {
				fail.Err = fmt.Errorf("abstract rule %q extends itself", id)
				return fail
			}
			to.r.checks = append(to.r.checks, a.r.checks...)
			to.tests = append(to.tests, a.tests...)
			to.lines = append(to.lines, a.lines...)
			if err := extend(to, a, append(seen, id)); err != nil {
				return err
			}
		}
		return nil
	}
	s.Asserts, s.Reports, s.Rules = 0, 0, 0
	for i := range todo {
		p := &todo[i]
		if err := extend(p, &pending{r: p.r, ext: p.ext, extAt: p.extAt}, nil); err != nil {
			return err
		}
		if !slices.Contains(s.patterns, p.r.pattern) {
			continue
		}
		s.Rules++
		for _, c := range p.r.checks {
			if c.report {
				s.Reports++
			} else {
				s.Asserts++
			}
		}
	}
	defer s.pruneGroups()
	for i, l := range s.globals { // each sees the globals before it
		s.locals = nil
		ids := s.globalIDs
		s.globalIDs = map[string]int{}
		for k, v := range ids {
			if v < i {
				s.globalIDs[k] = v
			}
		}
		x, err := s.compileXPath(l.src)
		if err == nil {
			err = s.check(x)
		}
		s.globalIDs = ids
		if err != nil {
			return &CompileError{Line: l.line, Err: fmt.Errorf("sch:let $%s: %w", l.name, err)}
		}
		l.x = x
	}
	for _, p := range todo {
		if !slices.Contains(s.patterns, p.r.pattern) {
			continue // not in the default phase
		}
		s.locals = map[string]int{}
		p.r.lets = p.lets
		nextLet := 0
		// scope makes visible the rule's lets that precede check i.
		scope := func(i int) error {
			for nextLet < len(p.lets) && p.letAt[nextLet] <= i {
				l := p.lets[nextLet]
				x, err := s.compileXPath(l.src)
				if err == nil {
					err = s.check(x)
				}
				if err != nil {
					return &CompileError{Line: l.line, Rule: p.r.num, Context: p.r.context, Err: fmt.Errorf("sch:let $%s: %w", l.name, err)}
				}
				l.x = x
				s.locals[l.name] = nextLet
				nextLet++
			}
			return nil
		}
		fail := func(line int, err error) error {
			return &CompileError{Line: line, Rule: p.r.num, Context: p.r.context, Err: err}
		}
		if err := s.compileContext(p.r); err != nil {
			return fail(p.r.line, err)
		}
		for i, src := range p.tests {
			if err := scope(i); err != nil {
				return err
			}
			e, err := s.compileXPath(src)
			if err != nil {
				return fail(p.lines[i], err)
			}
			if err := s.check(e); err != nil {
				return fail(p.lines[i], fmt.Errorf("xpath %q: %w", src, err))
			}
			p.r.checks[i].test = e
			p.r.checks[i].cond = s.condOf(e)
		}
		if err := scope(len(p.tests)); err != nil { // lets after the last check
			return err
		}
	}
	s.locals = nil
	return nil
}

// abstractRule reports whether p is one of the abstract rules.
func abstractRule[P comparable](p P, abstract map[string]P) bool {
	for _, a := range abstract {
		if a == p {
			return true
		}
	}
	return false
}

func (s *Schema) nameID(q qname) int32 {
	if id, ok := s.names[q]; ok {
		return id
	}
	id := int32(len(s.names))
	s.names[q] = id
	return id
}

// check walks a compiled expression: precompiles literal regular
// expressions, folds literal sequences and refuses what the evaluator cannot do.
func (s *Schema) check(x expr) error {
	switch x := x.(type) {
	case *orExpr:
		return errors.Join(s.check(x.a), s.check(x.b))
	case *andExpr:
		return errors.Join(s.check(x.a), s.check(x.b))
	case *cmpExpr:
		return errors.Join(s.check(x.a), s.check(x.b))
	case *unionExpr:
		for _, p := range x.parts {
			if _, ok := p.(*pathExpr); !ok {
				return errors.New("unsupported union of non-paths")
			}
			if err := s.check(p); err != nil {
				return err
			}
		}
	case *seqExpr:
		lits := true
		for _, it := range x.items {
			if err := s.check(it); err != nil {
				return err
			}
			switch it := it.(type) {
			case *strLit:
				x.constant = append(x.constant, atom{k: aStr, s: it.s})
			case *numLit:
				x.constant = append(x.constant, atom{k: aNum, n: it.n})
			default:
				lits = false
			}
		}
		if !lits || len(x.items) == 0 {
			x.constant = nil
			if len(x.items) == 0 {
				x.constant = []atom{}
			}
		}
		x.allStr = len(x.constant) > 0
		for _, a := range x.constant {
			x.allStr = x.allStr && a.k == aStr
		}
	case *ifExpr:
		return errors.Join(s.check(x.cond), s.check(x.a), s.check(x.b))
	case *arithExpr:
		if x.b == nil {
			return s.check(x.a)
		}
		return errors.Join(s.check(x.a), s.check(x.b))
	case *callExpr:
		for _, a := range x.args {
			if err := s.check(a); err != nil {
				return err
			}
		}
		if x.name == "matches" {
			if lit, ok := x.args[1].(*strLit); ok {
				re, err := compileXPathRegexp(lit.s, true)
				if err != nil {
					return err
				}
				s.regexps[lit.s] = re
			}
		}
	case *pathExpr:
		if x.filter != nil {
			if err := s.check(x.filter); err != nil {
				return err
			}
			switch f := x.filter.(type) {
			case *pathExpr, *unionExpr, *contextExpr, *varRef:
			case *callExpr:
				if f.fn != functions["current"] && (len(x.steps) > 0 || len(x.preds) > 0) {
					return errors.New("unsupported path or predicate over an atomic value")
				}
			default:
				if len(x.steps) > 0 || len(x.preds) > 0 {
					return errors.New("unsupported path or predicate over an atomic value")
				}
			}
		}
		for _, p := range x.preds {
			if err := s.check(p); err != nil {
				return err
			}
		}
		for i, st := range x.steps {
			if st.call != nil && i != len(x.steps)-1 {
				return errors.New("unsupported function call step before the last step")
			}
			if st.call != nil {
				if err := s.check(st.call); err != nil {
					return err
				}
			}
			for _, p := range st.preds {
				if err := s.check(p); err != nil {
					return err
				}
			}
			if len(st.preds) > 0 && !st.positional {
				var fs []cond
				for _, p := range st.preds {
					if f, ok := s.predCond(p); ok {
						fs = append(fs, f)
					}
				}
				if len(fs) == len(st.preds) {
					x.steps[i].cpreds = fs
				}
			}
		}
	}
	return nil
}

// compileContext compiles a rule context as an XSLT match pattern: one or more
// alternatives, each a path of child (/), descendant (//) and attribute steps
// ending in an element name test or *, matched right to left.
func (s *Schema) compileContext(r *rule) error {
	e, err := s.compileXPath(r.context)
	if err != nil {
		return fmt.Errorf("rule context: %w", err)
	}
	if strings.Contains(r.context, "current(") {
		return fmt.Errorf("unsupported current() in a rule context %q", r.context)
	}
	if err := s.check(e); err != nil {
		return fmt.Errorf("rule context %q: %w", r.context, err)
	}
	var alts []expr
	if u, ok := e.(*unionExpr); ok {
		alts = u.parts
	} else {
		alts = []expr{e}
	}
	for _, a := range alts {
		p, ok := a.(*pathExpr)
		if !ok || p.filter != nil || len(p.preds) > 0 || len(p.steps) == 0 {
			return fmt.Errorf("unsupported rule context %q (only location path patterns)", r.context)
		}
		for i, st := range p.steps {
			switch {
			case st.call != nil:
				return fmt.Errorf("unsupported rule context %q: function step", r.context)
			case st.axis == axChild || st.axis == axDesc:
			case st.axis == axDescSelf && st.test.k == testNode && len(st.preds) == 0 && i+1 < len(p.steps) && p.steps[i+1].axis == axChild:
			default:
				return fmt.Errorf("unsupported rule context %q: axis", r.context)
			}
			if st.positional && st.axis != axChild {
				return fmt.Errorf("unsupported rule context %q: positional predicate after //", r.context)
			}
		}
		last := p.steps[len(p.steps)-1]
		if last.test.k != testName && last.test.k != testAnyName {
			return fmt.Errorf("unsupported rule context %q: must end in an element name or *", r.context)
		}
		r.sel = append(r.sel, s.selection(p, r.context))
	}
	return nil
}

// selection turns a context pattern into the path that selects, from the
// document node, exactly the elements it matches: a relative pattern a/b
// matches the b children of an a anywhere, i.e. //a/b; a rooted one is its own
// selection. Positional predicates keep their meaning (child positions).
//
// Each step's prefix gets an id from its source text, so that rules sharing a
// context, or the start of one (121.sch has 586 rules but 651 distinct
// prefixes), select those nodes once per document.
func (s *Schema) selection(p *pathExpr, src string) *pathExpr {
	q := *p
	mark := "R:"
	if !p.root {
		mark = "D:"
		q.root = true
		q.steps = fuseDescendant(append([]step{descOrSelfStep}, p.steps...))
	}
	prev := int32(-1)
	for _, st := range q.steps {
		key := mark + src[p.start:st.end]
		id, ok := s.prefixes[key]
		if !ok {
			id = int32(len(s.prefixes))
			s.prefixes[key] = id
		}
		q.memo = append(q.memo, id)
		g, lit := s.valueGroup(prev, &st, src)
		q.group = append(q.group, g)
		q.lit = append(q.lit, lit)
		prev = id
	}
	return &q
}

// valueGroup recognises a context step whose only predicate tests one path
// against one string literal: section[code/@code='SOCANAM'] (a hundred codes
// over the same sections in 121.sch), observation[code[@code='4102']],
// entry[observation/code[@code='4055']] — each is "the path's value equals
// the literal" (P[Q='x'] holds exactly when P/Q='x'). All such steps over the
// same prefix, name and path share one index from value to nodes, built once
// per document, so each literal is a lookup instead of a pass over the
// candidates.
func (s *Schema) valueGroup(prev int32, st *step, _ string) (int32, string) {
	if len(st.preds) == 0 || st.positional || st.call != nil || st.test.k != testName {
		return -1, ""
	}
	if len(st.preds) > 1 && st.cpreds == nil { // the others filter what the index gives
		return -1, ""
	}
	steps, lit, ok := eqLiteral(st.preds[0])
	if !ok {
		return -1, ""
	}
	var key strings.Builder
	fmt.Fprintf(&key, "%d\x00%d\x00%d", prev, st.axis, st.test.name)
	for _, ps := range steps {
		fmt.Fprintf(&key, "/%d:%d", ps.axis, ps.test.name)
	}
	id, ok := s.groups[key.String()]
	if !ok {
		id = int32(len(s.groups))
		s.groups[key.String()] = id
		s.groupPath = append(s.groupPath, &pathExpr{steps: steps})
		bare := *st
		bare.preds, bare.cpreds = nil, nil
		s.groupStep = append(s.groupStep, bare)
	}
	return id, lit
}

// minGroupUses is how many distinct context prefixes must share a value
// group for its index to pay: building it evaluates the path on every
// candidate and fills a map, filtering evaluates the predicate on every
// candidate once per prefix (measured on 121.sch: most groups have 1–2 uses,
// and indexing those made validation slower).
const minGroupUses = 3

// pruneGroups turns off the value index of groups used by fewer than
// minGroupUses prefixes; those steps filter their candidates directly.
func (s *Schema) pruneGroups() {
	uses := make([]int, len(s.groupPath))
	seen := map[int32]bool{}
	s.eachSelection(func(q *pathExpr) {
		for k, g := range q.group {
			if g >= 0 && !seen[q.memo[k]] {
				seen[q.memo[k]] = true
				uses[g]++
			}
		}
	})
	s.eachSelection(func(q *pathExpr) {
		for k, g := range q.group {
			if g >= 0 && uses[g] < minGroupUses {
				q.group[k] = -1
			}
		}
	})
}

func (s *Schema) eachSelection(f func(*pathExpr)) {
	for _, p := range s.patterns {
		for _, r := range p.rules {
			for _, q := range r.sel {
				f(q)
			}
		}
	}
}

// eqLiteral recognises path = 'literal' and P[Q = 'literal'] (recursively)
// over child and attribute name steps, and returns the path's steps
// (predicates removed) and the literal: P[Q='x'] is true exactly when some
// node of P/Q has the string value x.
func eqLiteral(x expr) ([]step, string, bool) {
	var path *pathExpr
	var lit string
	tail := false // the path's last step carries the comparison as its predicate
	switch x := x.(type) {
	case *cmpExpr:
		p, ok1 := x.a.(*pathExpr)
		l, ok2 := x.b.(*strLit)
		if x.op != "=" || !ok1 || !ok2 {
			return nil, "", false
		}
		path, lit = p, l.s
	case *pathExpr:
		path, tail = x, true
	default:
		return nil, "", false
	}
	if path.root || path.filter != nil || len(path.preds) > 0 || len(path.steps) == 0 {
		return nil, "", false
	}
	var out []step
	for i, ps := range path.steps {
		if (ps.axis != axChild && ps.axis != axAttr) || ps.call != nil || ps.test.k != testName || ps.positional {
			return nil, "", false
		}
		last := i == len(path.steps)-1
		if len(ps.preds) > 0 && !(tail && last && len(ps.preds) == 1) {
			return nil, "", false
		}
		ps.preds, ps.cpreds = nil, nil
		out = append(out, ps)
	}
	if !tail {
		return out, lit, true
	}
	if len(path.steps[len(path.steps)-1].preds) != 1 {
		return nil, "", false
	}
	inner, lit, ok := eqLiteral(path.steps[len(path.steps)-1].preds[0])
	if !ok {
		return nil, "", false
	}
	return append(out, inner...), lit, true
}

// Validate runs every pattern over the document with ISO semantics: in each
// pattern an element is handled by the first rule whose context matches it.
// The result is sorted by (Location, Pattern, ID, Kind, Text). A dynamic
// error is dropped here; callers that must refuse such documents use ValidateErr.
func (s *Schema) Validate(d *Document) []Failure {
	fs, _ := s.ValidateErr(d)
	return fs
}

// ValidateErr is Validate that also reports the first XPath dynamic error met
// (a type or cast error, e.g. matches() given two values): Saxon stops on such
// a document with no verdict, and so does the door.
func (s *Schema) ValidateErr(d *Document) ([]Failure, error) {
	if s.Err != nil {
		return nil, s.Err
	}
	e, _ := s.pool.Get().(*ev)
	if e == nil {
		e = &ev{s: s}
	}
	e.reset(d)
	var out []Failure
	for fi := range s.flat {
		fr := &s.flat[fi]
		// The rule's nodes, minus those an earlier rule of the pattern took.
		mark := fr.pat + 1
		e.sel = e.sel[:0]
		for _, pid := range fr.sel {
			e.arena = e.arena[:0]
			for _, id := range e.prefix(pid) {
				if e.stamp[id] != mark {
					e.stamp[id] = mark
					e.sel = append(e.sel, id)
				}
			}
		}
		if len(e.sel) == 0 {
			continue
		}
		r := fr.r
		for _, id := range e.sel {
			if len(r.lets) > 0 {
				e.enterRule(r)
			}
			for i := range fr.checks {
				c := &fr.checks[i]
				e.arena = e.arena[:0]
				e.pos, e.size, e.cur = 1, 1, id
				if e.holds(&c.cond, id) != c.report {
					continue
				}
				kind := "assert"
				if c.report {
					kind = "report"
				}
				out = append(out, Failure{Kind: kind, ID: c.id, Pattern: s.patterns[fr.pat].id, Location: e.location(id), Text: c.text})
			}
		}
	}
	err := e.err
	e.d, e.dynRe, e.err = nil, nil, nil
	clear(e.locs)
	s.pool.Put(e)
	slices.SortFunc(out, func(a, b Failure) int {
		return cmp.Or(strings.Compare(a.Location, b.Location), strings.Compare(a.Pattern, b.Pattern),
			strings.Compare(a.ID, b.ID), strings.Compare(a.Kind, b.Kind), strings.Compare(a.Text, b.Text))
	})
	if err != nil {
		return out, fmt.Errorf("schematron: dynamic error: %w", err)
	}
	return out, nil
}
