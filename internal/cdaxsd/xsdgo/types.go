package xsdgo

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	satomic "sync/atomic"
	"unicode"
	"unicode/utf8"
)

type variety uint8

const (
	atomic variety = iota
	list
	union
)

type wsMode uint8

const (
	preserve wsMode = iota
	replace
	collapse
)

// prim is the built-in type whose lexical space an atomic type starts from.
type prim uint8

const (
	pString prim = iota
	pBoolean
	pDecimal
	pInteger
	pInt
	pDouble
	pAnyURI
	pNMTOKEN
	pName
	pNCName
	pID
	pBase64
)

func numeric(p prim) bool { return p == pDecimal || p == pInteger || p == pInt || p == pDouble }

// facets are one restriction step's constraining facets; a value must pass
// every step (patterns of one step are alternatives, of steps conjunctive).
type facets struct {
	enum           []string
	hasEnum        bool
	enumSet        map[string]struct{} // enum, built when the type is compiled
	patterns       []*regexp.Regexp
	fast           []func(string) bool // knownPatterns, instead of patterns
	matched        *sync.Map           // values that matched (match)
	cached         *satomic.Int64      // how many matched holds
	minLen, maxLen int                 // maxLen -1: none
	hasLen         bool
	min, max       float64
	hasMin, hasMax bool
}

type simpleType struct {
	name    string
	variety variety
	prim    prim
	ws      wsMode
	steps   []facets
	item    *simpleType   // list
	members []*simpleType // union
	hasLen  bool          // some step has a length facet (count characters)
	// exactLen: some step has length or maxLength (characters must be
	// counted); minLenAll is the largest minLength.
	exactLen  bool
	minLenAll int
	// memo remembers valid values (not of ID types, whose validity depends
	// on the document): a direct-mapped, lock-free cache, since documents
	// repeat classCode="OBS", codeSystem OIDs and the like hundreds of times.
	memo    [memoSlots]satomic.Pointer[string]
	noMemo  bool // an ID type, or one with an ID member or item
	useMemo bool // !noMemo && memoize(), set when compiled
}

const memoSlots = 128

func memoSlot(v string) int {
	if v == "" {
		return 0
	}
	n := uint(len(v))
	h := n*0x9e37 ^ uint(v[0])*31 ^ uint(v[n-1])*0x3b5 ^ uint(v[n/2])*0x1f1 ^ uint(v[n/3])*0x61 ^ uint(v[2*n/3])*0x2d
	return int(h % memoSlots)
}

// memoize tells whether checking a value costs more than the memo: unions
// and lists (several members or items), and regular expressions.
func (t *simpleType) memoize() bool {
	if t.variety != atomic {
		return true
	}
	for i := range t.steps {
		if len(t.steps[i].patterns) > 0 && t.steps[i].fast == nil {
			return true
		}
	}
	return false
}

var builtins = map[string]*simpleType{}

func init() {
	atom := func(name string, p prim, ws wsMode) *simpleType {
		st := &simpleType{name: "xs:" + name, prim: p, ws: ws}
		builtins[name] = st
		return st
	}
	atom("anySimpleType", pString, preserve)
	atom("string", pString, preserve)
	atom("normalizedString", pString, replace)
	atom("token", pString, collapse)
	atom("boolean", pBoolean, collapse)
	atom("decimal", pDecimal, collapse)
	atom("integer", pInteger, collapse)
	atom("int", pInt, collapse)
	atom("double", pDouble, collapse)
	atom("anyURI", pAnyURI, collapse)
	atom("base64Binary", pBase64, collapse)
	nm := atom("NMTOKEN", pNMTOKEN, collapse)
	atom("Name", pName, collapse)
	atom("NCName", pNCName, collapse)
	atom("ID", pID, collapse).noMemo = true
	idref := atom("IDREF", pNCName, collapse)
	one := facets{minLen: 1, maxLen: -1, hasLen: true}
	builtins["NMTOKENS"] = &simpleType{name: "xs:NMTOKENS", variety: list, item: nm, ws: collapse, steps: []facets{one}}
	builtins["IDREFS"] = &simpleType{name: "xs:IDREFS", variety: list, item: idref, ws: collapse, steps: []facets{one}}
	builtins["NMTOKENS"].useMemo = true
	builtins["IDREFS"].useMemo = true
}

func normalize(v string, ws wsMode) string {
	switch ws {
	case replace:
		return strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, v)
	case collapse:
		if !needsCollapse(v) {
			return v
		}
		return strings.Join(strings.FieldsFunc(v, isXMLSpace), " ")
	}
	return v
}

func isXMLSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

func needsCollapse(v string) bool {
	if v == "" {
		return false
	}
	if isXMLSpace(rune(v[0])) || isXMLSpace(rune(v[len(v)-1])) {
		return true
	}
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\t', '\n', '\r':
			return true
		case ' ':
			if v[i+1] == ' ' {
				return true
			}
		}
	}
	return false
}

// idSink collects the document's ID values (unique in a document).
type idSink map[string]bool

// check validates v (as written) against t: "" when valid, else why not.
func (t *simpleType) check(v string, ids idSink) string {
	if t.valid(v, ids) {
		return ""
	}
	return t.why(v)
}

// valid is check's fast path: no message, no allocation for a valid value.
func (t *simpleType) valid(v string, ids idSink) bool {
	if !t.useMemo {
		return t.validate(v, ids)
	}
	slot := &t.memo[memoSlot(v)]
	if p := slot.Load(); p != nil && *p == v {
		return true
	}
	if !t.validate(v, ids) {
		return false
	}
	if slot.Load() == nil { // first come: a busy slot is not churned
		c := strings.Clone(v)
		slot.CompareAndSwap(nil, &c)
	}
	return true
}

func (t *simpleType) validate(v string, ids idSink) bool {
	switch t.variety {
	case union:
		for _, m := range t.members {
			if m.valid(v, nil) {
				if ids != nil && !m.valid(v, ids) {
					return false
				}
				return t.stepsOK(normalize(v, collapse), 0)
			}
		}
		return false
	case list:
		nv := normalize(v, collapse)
		n := 0
		for rest := nv; rest != ""; {
			item := rest
			if i := strings.IndexByte(rest, ' '); i >= 0 {
				item, rest = rest[:i], rest[i+1:]
			} else {
				rest = ""
			}
			if !t.item.valid(item, ids) {
				return false
			}
			n++
		}
		return t.stepsOK(nv, n)
	}
	nv := normalize(v, t.ws)
	if !lexical(t.prim, nv) {
		return false
	}
	if t.prim == pID && ids != nil {
		if ids[nv] {
			return false
		}
		ids[nv] = true
	}
	n := 0
	if t.hasLen {
		n = len(nv) // enough when every length facet is a minLength the bytes/4 bound meets
		if t.exactLen || len(nv)/4 < t.minLenAll {
			n = utf8.RuneCountInString(nv)
		}
	}
	return t.stepsOK(nv, n)
}

func (t *simpleType) stepsOK(nv string, n int) bool {
	for i := range t.steps {
		f := &t.steps[i]
		if f.enumSet != nil {
			if _, ok := f.enumSet[nv]; !ok {
				return false
			}
		}
		if len(f.patterns) > 0 && !f.match(nv) {
			return false
		}
		if f.hasLen && (n < f.minLen || (f.maxLen >= 0 && n > f.maxLen)) {
			return false
		}
		if f.hasMin || f.hasMax {
			x, _ := parseDouble(nv)
			if (f.hasMin && x < f.min) || (f.hasMax && x > f.max) {
				return false
			}
		}
	}
	return true
}

// match tells whether nv matches one of the step's patterns. Values that
// matched are remembered (up to maxMatchCache per step): documents repeat
// the same OIDs and codes, and a map lookup is ~20× cheaper than RE2.
func (f *facets) match(nv string) bool {
	if f.fast != nil {
		for _, m := range f.fast {
			if m(nv) {
				return true
			}
		}
		return false
	}
	if _, ok := f.matched.Load(nv); ok {
		return true
	}
	for _, re := range f.patterns {
		if re.MatchString(nv) {
			if f.cached.Load() < maxMatchCache {
				f.cached.Add(1)
				f.matched.Store(strings.Clone(nv), struct{}{})
			}
			return true
		}
	}
	return false
}

const maxMatchCache = 4096

// why says, in libxml2's words, why v is not valid for t.
func (t *simpleType) why(v string) string {
	switch t.variety {
	case union:
		return fmt.Sprintf("'%s' is not a valid value of the union type '%s'", v, t.name)
	case list:
		return fmt.Sprintf("'%s' is not a valid value of the list type '%s'", v, t.name)
	}
	nv := normalize(v, t.ws)
	if !lexical(t.prim, nv) {
		return fmt.Sprintf("'%s' is not a valid value of the atomic type '%s'", v, t.name)
	}
	n := utf8.RuneCountInString(nv)
	for i := range t.steps {
		f := &t.steps[i]
		if f.enumSet != nil {
			if _, ok := f.enumSet[nv]; !ok {
				return fmt.Sprintf("[facet 'enumeration'] The value '%s' is not an element of the set of the type '%s'", nv, t.name)
			}
		}
		if len(f.patterns) > 0 && !f.match(nv) {
			return fmt.Sprintf("[facet 'pattern'] The value '%s' is not accepted by the pattern of the type '%s'", nv, t.name)
		}
		if f.hasLen && (n < f.minLen || (f.maxLen >= 0 && n > f.maxLen)) {
			return fmt.Sprintf("[facet 'length'] The value '%s' has a length of %d, outside what the type '%s' allows", nv, n, t.name)
		}
		if f.hasMin || f.hasMax {
			return fmt.Sprintf("[facet 'inclusive'] The value '%s' is out of the range of the type '%s'", nv, t.name)
		}
	}
	return fmt.Sprintf("'%s' is not a valid value of the atomic type '%s' (a duplicate ID)", v, t.name)
}

func parseDouble(v string) (float64, bool) {
	switch v {
	case "INF", "+INF":
		return math.Inf(1), true
	case "-INF":
		return math.Inf(-1), true
	case "NaN":
		return math.NaN(), true
	}
	if v == "" || strings.ContainsAny(v, "_xXpPnNiI") {
		return 0, false
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		var ne *strconv.NumError
		if e, ok := err.(*strconv.NumError); ok {
			ne = e
		}
		return x, ne != nil && ne.Err == strconv.ErrRange
	}
	return x, true
}

func lexical(p prim, v string) bool {
	switch p {
	case pString, pAnyURI:
		return true
	case pBase64:
		return base64Lexical(v)
	case pBoolean:
		return v == "true" || v == "false" || v == "1" || v == "0"
	case pDouble:
		_, ok := parseDouble(v)
		return ok
	case pDecimal:
		return decimalRe.MatchString(v)
	case pInteger:
		return integerRe.MatchString(v)
	case pInt:
		if !integerRe.MatchString(v) {
			return false
		}
		_, err := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, 32)
		return err == nil
	case pNMTOKEN:
		if v == "" {
			return false
		}
		for _, r := range v {
			if !nameChar(r) {
				return false
			}
		}
		return true
	case pName, pNCName, pID:
		if v == "" {
			return false
		}
		for i, r := range v {
			if r == ':' && p != pName {
				return false
			}
			if i == 0 && !nameStart(r) || !nameChar(r) {
				return false
			}
		}
		return true
	}
	return false
}

// base64Lexical: XSD's base64Binary, spaces allowed between characters,
// a multiple of four characters, '=' only as padding at the end.
func base64Lexical(v string) bool {
	n, pad := 0, 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ' ':
		case c == '=':
			pad++
			n++
		case pad > 0:
			return false
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			n++
		default:
			return false
		}
	}
	return n%4 == 0 && pad <= 2
}

var (
	decimalRe = regexp.MustCompile(`^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$`)
	integerRe = regexp.MustCompile(`^[+-]?[0-9]+$`)
)

func nameStart(r rune) bool {
	return r == '_' || r == ':' || unicode.IsLetter(r) || unicode.Is(unicode.Nl, r)
}

func nameChar(r rune) bool {
	return nameStart(r) || r == '-' || r == '.' || r == 0xB7 || unicode.IsDigit(r) ||
		unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Lm, r) || unicode.Is(unicode.Nd, r)
}

type process uint8

const (
	strict process = iota
	lax
	skip
)

type wildcard struct {
	any, other bool
	list       []string
	tns        string
	process    process
}

func (w *wildcard) allows(ns string) bool {
	switch {
	case w.any:
		return true
	case w.other:
		return ns != w.tns && ns != ""
	}
	for _, x := range w.list {
		if x == ns {
			return true
		}
	}
	return false
}

type attrUse struct {
	name                 qname
	typ                  *simpleType
	required, prohibited bool
	fixed                string
	hasFixed             bool
}

type elemDecl struct {
	name qname
	typ  typeRef
}

type complexType struct {
	name     string
	abstract bool
	mixed    bool
	base     *complexType
	particle *particle
	model    *automaton // nil: empty content
	attrs    map[qname]*attrUse
	attrList []*attrUse // attrs, for a linear search (a handful per type)
	required []*attrUse
	anyAttr  *wildcard
	anyType  bool
}

// attr finds the attribute use of ns:local.
func (t *complexType) attr(ns, local string) *attrUse {
	for _, u := range t.attrList {
		if u.name.local == local && u.name.ns == ns {
			return u
		}
	}
	return nil
}

// anyType is xs:anyType: any attributes, any content, processed laxly.
var anyType = &complexType{name: "xs:anyType", mixed: true, anyType: true, attrs: map[qname]*attrUse{},
	anyAttr: &wildcard{any: true, process: lax}}

// derivesFrom tells whether t is base or derived from it (xsi:type).
func (t *complexType) derivesFrom(base *complexType) bool {
	if base == anyType {
		return true
	}
	for x := t; x != nil; x = x.base {
		if x == base {
			return true
		}
	}
	return false
}

type pkind uint8

const (
	pElem pkind = iota
	pAny
	pSeq
	pChoice
)

type particle struct {
	kind     pkind
	min, max int // max -1: unbounded
	elem     *elemDecl
	wc       *wildcard
	kids     []*particle
}

// automaton is a content model's Glushkov automaton. State 0 is the start,
// state i+1 is position i.
type automaton struct {
	trans  []map[string]edge // per state: element local name → namespace and next state
	wild   [][]int32         // per state: wildcard positions' states
	accept []bool
	elem   []*elemDecl // per state: the declaration of the position (nil for the start and wildcards)
	wc     []*wildcard // per state: the wildcard of the position
}

type edge struct {
	ns   string
	next int32
}

type frag struct {
	nullable    bool
	first, last []int32
}

type glushkov struct {
	follow [][]int32
	src    []*particle // the particle each position copies
}

func (g *glushkov) build(p *particle) frag {
	if p.max == 0 {
		return frag{nullable: true}
	}
	one := func() frag { return g.once(p) }
	var parts []frag
	for i := 0; i < p.min; i++ {
		parts = append(parts, one())
	}
	switch {
	case p.max < 0 && p.min == 0:
		parts = append(parts, g.star(one()))
	case p.max < 0:
		last := parts[len(parts)-1]
		g.link(last.last, last.first) // the last required copy repeats
	default:
		for i := p.min; i < p.max; i++ {
			f := one()
			f.nullable = true
			parts = append(parts, f)
		}
	}
	out := frag{nullable: true}
	for _, f := range parts {
		out = g.seq(out, f)
	}
	return out
}

func (g *glushkov) once(p *particle) frag {
	switch p.kind {
	case pElem, pAny:
		id := int32(len(g.follow))
		g.follow = append(g.follow, nil)
		g.src = append(g.src, p)
		return frag{first: []int32{id}, last: []int32{id}}
	case pSeq:
		out := frag{nullable: true}
		var prev frag
		for i, k := range p.kids {
			f := g.build(k)
			out = g.seq(out, f)
			// libxml2 (and so xmllint) compiles a repeated wildcard as a
			// counted loop back to the state where it starts, which is the
			// end state of the particle before it; when that is an unbounded
			// element, its self-loop is open again after the wildcard:
			// "id*, ##other*" accepts <id/><ext:x/><id/>. XSD itself would
			// not; agreeing with the validator the senders run wins.
			if i > 0 && k.kind == pAny && k.max != 1 && p.kids[i-1].kind == pElem && p.kids[i-1].max < 0 && p.kids[i-1].min < 2 {
				g.link(f.last, prev.last)
			}
			prev = f
		}
		return out
	}
	out := frag{nullable: len(p.kids) == 0}
	for _, k := range p.kids {
		f := g.build(k)
		out.nullable = out.nullable || f.nullable
		out.first = append(out.first, f.first...)
		out.last = append(out.last, f.last...)
	}
	return out
}

func (g *glushkov) link(from, to []int32) {
	for _, l := range from {
		g.follow[l] = append(g.follow[l], to...)
	}
}

func (g *glushkov) star(f frag) frag {
	g.link(f.last, f.first)
	f.nullable = true
	return f
}

func (g *glushkov) seq(a, b frag) frag {
	g.link(a.last, b.first)
	out := frag{nullable: a.nullable && b.nullable}
	out.first = append(out.first, a.first...)
	if a.nullable {
		out.first = append(out.first, b.first...)
	}
	out.last = append(out.last, b.last...)
	if b.nullable {
		out.last = append(out.last, a.last...)
	}
	return out
}

func buildAutomaton(p *particle) (*automaton, error) {
	if p == nil {
		return nil, nil
	}
	g := &glushkov{}
	f := g.build(p)
	n := len(g.follow) + 1
	a := &automaton{trans: make([]map[string]edge, n), wild: make([][]int32, n), accept: make([]bool, n),
		elem: make([]*elemDecl, n), wc: make([]*wildcard, n)}
	for i, src := range g.src {
		a.elem[i+1], a.wc[i+1] = src.elem, src.wc
	}
	a.accept[0] = f.nullable
	for _, l := range f.last {
		a.accept[l+1] = true
	}
	fill := func(state int, next []int32) error {
		m := map[string]edge{}
		for _, pos := range next {
			src := g.src[pos]
			if src.kind == pAny {
				if !contains32(a.wild[state], pos+1) {
					a.wild[state] = append(a.wild[state], pos+1)
				}
				continue
			}
			if prev, ok := m[src.elem.name.local]; ok {
				if prev.ns != src.elem.name.ns {
					return fmt.Errorf("elements %s and {%s}%s in one state are not supported by the Go validator", src.elem.name, prev.ns, src.elem.name.local)
				}
				if prev.next == pos+1 || g.src[prev.next-1] == src {
					continue // a copy of the same particle: the first wins (greedy)
				}
				return fmt.Errorf("element %s is ambiguous in the content model (Unique Particle Attribution)", src.elem.name)
			}
			m[src.elem.name.local] = edge{src.elem.name.ns, pos + 1}
		}
		a.trans[state] = m
		return nil
	}
	if err := fill(0, f.first); err != nil {
		return nil, err
	}
	for pos, next := range g.follow {
		if err := fill(pos+1, next); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func contains32(s []int32, x int32) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
