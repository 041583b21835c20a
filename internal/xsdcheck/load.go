// Package xsdcheck validates XML against the small subset of XML Schema 1.0
// that the hub's own contracts (wsdl/<svc>/<svc>.xsd) are written in, in pure
// Go: the simulators run inside `hub sim` and the demo, where neither
// xmllint nor cgo is available.
//
// Supported, and nothing else (Load fails on any other construct rather than
// silently accepting what it does not understand):
//
//   - one xs:schema with a targetNamespace and elementFormDefault="qualified";
//   - global xs:element with a named type or an anonymous xs:complexType;
//   - xs:complexType (named or anonymous) holding one xs:sequence of local
//     xs:element particles with type, minOccurs and maxOccurs (no two
//     particles of a sequence share a name, so greedy matching is exact);
//   - xs:simpleType with an xs:restriction of a built-in type and the facets
//     pattern, enumeration, length, minLength, maxLength (string and
//     base64Binary) and minInclusive, maxInclusive (int);
//   - the built-in types xs:string, xs:int, xs:base64Binary, xs:dateTime;
//   - xs:annotation anywhere it is allowed (ignored).
//
// Instances may carry namespace declarations and xsi:schemaLocation
// attributes only; any other attribute (xsi:type and xsi:nil included, which
// the contracts never need) is invalid.
package xsdcheck

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// XSDNS is the XML Schema namespace.
const XSDNS = "http://www.w3.org/2001/XMLSchema"

// Schema is a loaded contract: its global elements in its target namespace.
type Schema struct {
	NS       string
	elements map[string]*elemDecl
}

type elemDecl struct {
	name     string
	min, max int // max < 0: unbounded
	simple   *simpleType
	complex  *complexType
}

type complexType struct {
	name string
	seq  []*elemDecl
}

// simpleType is a built-in type restricted by facets.
type simpleType struct {
	name      string // the named type, or the built-in's name
	builtin   string // string, int, base64Binary, dateTime
	patterns  []pattern
	enum      []string
	length    *int
	minLength *int
	maxLength *int
	minIncl   *int64
	maxIncl   *int64
}

type pattern struct {
	src string
	re  *regexp.Regexp
}

var builtins = map[string]bool{"string": true, "int": true, "base64Binary": true, "dateTime": true}

// node is a parsed schema element with the namespace prefixes in scope.
type node struct {
	name  xml.Name
	attr  map[string]string // unqualified attributes only
	ns    map[string]string // prefix → namespace in scope
	kids  []*node
	where string
}

// Load reads and compiles the schema at path in fsys.
func Load(fsys fs.FS, path string) (*Schema, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return nil, fmt.Errorf("xsdcheck: %w", err)
	}
	defer f.Close()
	s, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("xsdcheck: %s: %w", path, err)
	}
	return s, nil
}

// Parse reads and compiles a schema document.
func Parse(r io.Reader) (*Schema, error) {
	root, err := parseTree(r)
	if err != nil {
		return nil, err
	}
	c := &compiler{simple: map[string]*simpleType{}, complex: map[string]*complexType{}, simpleDefs: map[string]*node{}, complexDefs: map[string]*node{}}
	return c.schema(root)
}

func parseTree(r io.Reader) (*node, error) {
	dec := xml.NewDecoder(r)
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name, attr: map[string]string{}, ns: map[string]string{}}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				for k, v := range parent.ns {
					n.ns[k] = v
				}
				parent.kids = append(parent.kids, n)
				n.where = parent.where + "/" + t.Name.Local
			} else {
				root, n.where = n, t.Name.Local
			}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns":
					n.ns[a.Name.Local] = a.Value
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					n.ns[""] = a.Value
				case a.Name.Space == "":
					n.attr[a.Name.Local] = a.Value
				default:
					return nil, fmt.Errorf("%s: unsupported qualified attribute {%s}%s", n.where, a.Name.Space, a.Name.Local)
				}
			}
			if v := n.attr["name"]; v != "" {
				n.where += "[" + v + "]"
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 && stack[len(stack)-1].name.Space == XSDNS && stack[len(stack)-1].name.Local != "documentation" && strings.TrimSpace(string(t)) != "" {
				return nil, fmt.Errorf("%s: unexpected text", stack[len(stack)-1].where)
			}
		case xml.Directive:
			return nil, errors.New("DOCTYPE is not supported")
		}
	}
	if root == nil {
		return nil, errors.New("empty document")
	}
	return root, nil
}

type compiler struct {
	tns         string
	simple      map[string]*simpleType
	complex     map[string]*complexType
	simpleDefs  map[string]*node
	complexDefs map[string]*node
	resolving   map[string]bool
}

// only fails if n has an attribute outside allowed or a child that is not
// an XSD element named in kids (annotation is always allowed and skipped).
func only(n *node, attrs []string, kids ...string) error {
	for a := range n.attr {
		ok := false
		for _, w := range attrs {
			ok = ok || a == w
		}
		if !ok {
			return fmt.Errorf("%s: attribute %q is not supported", n.where, a)
		}
	}
	for _, k := range n.kids {
		if k.name.Space != XSDNS {
			return fmt.Errorf("%s: foreign element {%s}%s is not supported", n.where, k.name.Space, k.name.Local)
		}
		if k.name.Local == "annotation" {
			continue
		}
		ok := false
		for _, w := range kids {
			ok = ok || k.name.Local == w
		}
		if !ok {
			return fmt.Errorf("%s: xs:%s is not supported here", n.where, k.name.Local)
		}
	}
	return nil
}

// content returns n's children other than annotations.
func content(n *node) []*node {
	var out []*node
	for _, k := range n.kids {
		if k.name.Local != "annotation" {
			out = append(out, k)
		}
	}
	return out
}

func (c *compiler) schema(root *node) (*Schema, error) {
	if root.name.Space != XSDNS || root.name.Local != "schema" {
		return nil, fmt.Errorf("root is {%s}%s, want xs:schema", root.name.Space, root.name.Local)
	}
	if err := only(root, []string{"targetNamespace", "elementFormDefault"}, "simpleType", "complexType", "element"); err != nil {
		return nil, err
	}
	c.tns = root.attr["targetNamespace"]
	if c.tns == "" {
		return nil, errors.New("xs:schema: a targetNamespace is required")
	}
	if root.attr["elementFormDefault"] != "qualified" {
		return nil, errors.New(`xs:schema: only elementFormDefault="qualified" is supported`)
	}
	var globals []*node
	for _, k := range content(root) {
		name := k.attr["name"]
		if name == "" {
			return nil, fmt.Errorf("%s: a global declaration needs a name", k.where)
		}
		switch k.name.Local {
		case "simpleType":
			if c.simpleDefs[name] != nil || c.complexDefs[name] != nil {
				return nil, fmt.Errorf("%s: type %s is declared twice", k.where, name)
			}
			c.simpleDefs[name] = k
		case "complexType":
			if c.simpleDefs[name] != nil || c.complexDefs[name] != nil {
				return nil, fmt.Errorf("%s: type %s is declared twice", k.where, name)
			}
			c.complexDefs[name] = k
		case "element":
			globals = append(globals, k)
		}
	}
	c.resolving = map[string]bool{}
	for name, n := range c.simpleDefs {
		st, err := c.simpleType(n)
		if err != nil {
			return nil, err
		}
		c.simple[name] = st
	}
	for name := range c.complexDefs {
		if _, err := c.namedComplex(name); err != nil {
			return nil, err
		}
	}
	s := &Schema{NS: c.tns, elements: map[string]*elemDecl{}}
	for _, n := range globals {
		if err := only(n, []string{"name", "type"}, "complexType"); err != nil {
			return nil, err
		}
		d := &elemDecl{name: n.attr["name"], min: 1, max: 1}
		if err := c.elementType(n, d); err != nil {
			return nil, err
		}
		if s.elements[d.name] != nil {
			return nil, fmt.Errorf("%s: element %s is declared twice", n.where, d.name)
		}
		s.elements[d.name] = d
	}
	return s, nil
}

// elementType sets d's type from n's type attribute or anonymous complexType.
func (c *compiler) elementType(n *node, d *elemDecl) error {
	kids := content(n)
	typ, hasType := n.attr["type"]
	switch {
	case hasType && len(kids) == 0:
		return c.resolve(n, typ, d)
	case !hasType && len(kids) == 1 && kids[0].name.Local == "complexType":
		if _, named := kids[0].attr["name"]; named {
			return fmt.Errorf("%s: an anonymous complexType has no name", kids[0].where)
		}
		ct, err := c.complexType(kids[0])
		d.complex = ct
		return err
	}
	return fmt.Errorf("%s: an element needs either a type attribute or one anonymous complexType", n.where)
}

// resolve sets d's type from a QName in n's scope.
func (c *compiler) resolve(n *node, qname string, d *elemDecl) error {
	prefix, local, ok := strings.Cut(qname, ":")
	if !ok {
		prefix, local = "", qname
	}
	ns, ok := n.ns[prefix]
	if !ok {
		return fmt.Errorf("%s: type %q: undeclared prefix %q", n.where, qname, prefix)
	}
	switch ns {
	case XSDNS:
		if !builtins[local] {
			return fmt.Errorf("%s: built-in type xs:%s is not supported", n.where, local)
		}
		d.simple = &simpleType{name: local, builtin: local}
	case c.tns:
		if st := c.simple[local]; st != nil {
			d.simple = st
			return nil
		}
		if c.complexDefs[local] != nil {
			ct, err := c.namedComplex(local)
			d.complex = ct
			return err
		}
		return fmt.Errorf("%s: type %q is not declared", n.where, qname)
	default:
		return fmt.Errorf("%s: type %q is in a foreign namespace %q", n.where, qname, ns)
	}
	return nil
}

func (c *compiler) namedComplex(name string) (*complexType, error) {
	if ct := c.complex[name]; ct != nil {
		return ct, nil
	}
	if c.resolving[name] {
		return nil, fmt.Errorf("complexType %s refers to itself, which is not supported", name)
	}
	c.resolving[name] = true
	ct, err := c.complexType(c.complexDefs[name])
	if err != nil {
		return nil, err
	}
	c.complex[name] = ct
	return ct, nil
}

func (c *compiler) complexType(n *node) (*complexType, error) {
	if err := only(n, []string{"name"}, "sequence"); err != nil {
		return nil, err
	}
	kids := content(n)
	if len(kids) != 1 {
		return nil, fmt.Errorf("%s: a complexType must hold exactly one xs:sequence", n.where)
	}
	seq := kids[0]
	if err := only(seq, nil, "element"); err != nil {
		return nil, err
	}
	ct := &complexType{name: n.attr["name"]}
	seen := map[string]bool{}
	for _, e := range content(seq) {
		if err := only(e, []string{"name", "type", "minOccurs", "maxOccurs"}); err != nil {
			return nil, err
		}
		d := &elemDecl{name: e.attr["name"], min: 1, max: 1}
		if d.name == "" {
			return nil, fmt.Errorf("%s: a local element needs a name (ref is not supported)", e.where)
		}
		if seen[d.name] {
			return nil, fmt.Errorf("%s: element %s appears twice in one sequence, which is not supported", e.where, d.name)
		}
		seen[d.name] = true
		if v, ok := e.attr["minOccurs"]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%s: minOccurs %q", e.where, v)
			}
			d.min = n
		}
		if v, ok := e.attr["maxOccurs"]; ok {
			if v == "unbounded" {
				d.max = -1
			} else if n, err := strconv.Atoi(v); err == nil && n >= 1 {
				d.max = n
			} else {
				return nil, fmt.Errorf("%s: maxOccurs %q", e.where, v)
			}
		}
		if d.max >= 0 && d.min > d.max {
			return nil, fmt.Errorf("%s: minOccurs > maxOccurs", e.where)
		}
		typ, ok := e.attr["type"]
		if !ok {
			return nil, fmt.Errorf("%s: a local element needs a type attribute (anonymous local types are not supported)", e.where)
		}
		if err := c.resolve(e, typ, d); err != nil {
			return nil, err
		}
		ct.seq = append(ct.seq, d)
	}
	return ct, nil
}

func (c *compiler) simpleType(n *node) (*simpleType, error) {
	if err := only(n, []string{"name"}, "restriction"); err != nil {
		return nil, err
	}
	kids := content(n)
	if len(kids) != 1 {
		return nil, fmt.Errorf("%s: a simpleType must hold exactly one xs:restriction", n.where)
	}
	r := kids[0]
	if err := only(r, []string{"base"}, "pattern", "enumeration", "length", "minLength", "maxLength", "minInclusive", "maxInclusive"); err != nil {
		return nil, err
	}
	var base elemDecl
	if err := c.resolve(r, r.attr["base"], &base); err != nil {
		return nil, err
	}
	if base.simple == nil || base.simple.name != base.simple.builtin {
		return nil, fmt.Errorf("%s: only a built-in base type is supported", r.where)
	}
	st := &simpleType{name: n.attr["name"], builtin: base.simple.builtin}
	for _, f := range content(r) {
		if err := only(f, []string{"value"}); err != nil {
			return nil, err
		}
		v, ok := f.attr["value"]
		if !ok {
			return nil, fmt.Errorf("%s: a facet needs a value", f.where)
		}
		if err := st.addFacet(f.name.Local, v); err != nil {
			return nil, fmt.Errorf("%s: %w", f.where, err)
		}
	}
	return st, nil
}

func (st *simpleType) addFacet(facet, v string) error {
	lengthy := st.builtin == "string" || st.builtin == "base64Binary"
	nonNeg := func(dst **int) error {
		if !lengthy {
			return fmt.Errorf("%s does not apply to xs:%s here", facet, st.builtin)
		}
		if *dst != nil {
			return fmt.Errorf("%s given twice", facet)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("%s %q is not a non-negative integer", facet, v)
		}
		*dst = &n
		return nil
	}
	bound := func(dst **int64) error {
		if st.builtin != "int" {
			return fmt.Errorf("%s is supported on xs:int only", facet)
		}
		if *dst != nil {
			return fmt.Errorf("%s given twice", facet)
		}
		n, err := parseInt(v)
		if err != nil {
			return fmt.Errorf("%s %q: %w", facet, v, err)
		}
		*dst = &n
		return nil
	}
	switch facet {
	case "pattern":
		re, err := translatePattern(v)
		if err != nil {
			return fmt.Errorf("pattern %q: %w", v, err)
		}
		st.patterns = append(st.patterns, pattern{src: v, re: re})
	case "enumeration":
		if st.builtin != "string" {
			return fmt.Errorf("enumeration is supported on xs:string only")
		}
		st.enum = append(st.enum, v)
	case "length":
		return nonNeg(&st.length)
	case "minLength":
		return nonNeg(&st.minLength)
	case "maxLength":
		return nonNeg(&st.maxLength)
	case "minInclusive":
		return bound(&st.minIncl)
	case "maxInclusive":
		return bound(&st.maxIncl)
	}
	return nil
}

// translatePattern turns an XSD regular expression into an anchored Go one.
// Only the common core both dialects read alike is accepted: literals,
// character classes without subtraction, groups, alternation, and the
// quantifiers ? * + {n,m}. XSD's \d, \w, \s, \i, \c and \p match other sets
// than Go's (or none), ^ and $ are literals in XSD, and XSD's . excludes \r:
// all refused.
func translatePattern(p string) (*regexp.Regexp, error) {
	inClass := false
	for i := 0; i < len(p); i++ {
		switch ch := p[i]; {
		case ch == '\\':
			if i+1 >= len(p) {
				return nil, errors.New("trailing backslash")
			}
			i++
			if !strings.ContainsRune(`.\-?*+{}()|[]nrt`, rune(p[i])) {
				return nil, fmt.Errorf(`escape \%c is not supported`, p[i])
			}
		case ch == '[':
			if inClass {
				return nil, errors.New("nested class (subtraction) is not supported")
			}
			inClass = true
			if i+1 < len(p) && p[i+1] == '^' {
				i++
			}
		case ch == ']':
			inClass = false
		case ch == '.' && !inClass:
			return nil, errors.New(`an unescaped . (XSD: any character but \n and \r) is not supported`)
		case ch == '^' || ch == '$':
			if !inClass {
				return nil, fmt.Errorf("%c is a literal in XSD; escape it", ch)
			}
		}
	}
	if inClass {
		return nil, errors.New("unterminated class")
	}
	return regexp.Compile(`^(?:` + p + `)$`)
}

func parseInt(v string) (int64, error) {
	if !intLex.MatchString(v) {
		return 0, errors.New("not an xs:int")
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, 64)
	if err != nil || n < math.MinInt32 || n > math.MaxInt32 {
		return 0, errors.New("out of the xs:int range")
	}
	return n, nil
}

var intLex = regexp.MustCompile(`^[+-]?[0-9]+$`)
