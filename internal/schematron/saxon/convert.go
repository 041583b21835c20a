package saxon

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

const (
	nsSch  = "http://purl.oclc.org/dsdl/schematron"
	nsXSL  = "http://www.w3.org/1999/XSL/Transform"
	nsHL7  = "urn:hl7-org:v3"
	nsSelf = "urn:x-hub:schematron-saxon" // prefix "hubsx" in the stylesheet: our own variables
)

// Options change how a schema is read.
type Options struct {
	// DefaultElementNamespace is the namespace of unprefixed element names
	// in XPath (xpath-default-namespace); "" means no namespace.
	DefaultElementNamespace string
}

// DefaultOptions are those of Compile: unprefixed names are CDA (see the
// package doc for why).
var DefaultOptions = Options{DefaultElementNamespace: nsHL7}

// node is a parsed element of the schema (or a text node when name is zero).
type node struct {
	name  xml.Name
	attr  map[string]string // no-namespace attributes only
	kids  []*node
	text  string // text nodes
	line  int
	isTxt bool
}

func (n *node) sch(local string) bool { return n.name.Space == nsSch && n.name.Local == local }

func (n *node) elems(local string) []*node {
	var out []*node
	for _, k := range n.kids {
		if !k.isTxt && k.sch(local) {
			out = append(out, k)
		}
	}
	return out
}

func (n *node) where() string {
	prefix := "sch"
	if n.name.Space == nsXSL {
		prefix = "xsl"
	}
	return fmt.Sprintf("%s:%s on line %d", prefix, n.name.Local, n.line)
}

// parseSchema reads the .sch into a tree, keeping text (mixed content of
// asserts) and the line of each element for error messages.
func parseSchema(src []byte) (*node, error) {
	src = bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
	d := xml.NewDecoder(bytes.NewReader(src))
	var stack []*node
	var root *node
	for {
		line, _ := d.InputPos()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse schematron: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name, attr: map[string]string{}, line: line}
			for _, a := range t.Attr {
				if a.Name.Space == "" {
					n.attr[a.Name.Local] = a.Value
				}
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, &node{text: string(t), isTxt: true})
			}
		}
	}
	if root == nil || !root.sch("schema") {
		return nil, fmt.Errorf("parse schematron: the root is not sch:schema in %s", nsSch)
	}
	return root, nil
}

// known lists the Schematron elements the converter understands, per parent;
// anything else in the Schematron namespace is refused.
var known = map[string]map[string]bool{
	"schema":  {"title": true, "p": true, "ns": true, "let": true, "phase": true, "pattern": true, "diagnostics": true, "properties": true},
	"phase":   {"p": true, "let": true, "active": true},
	"pattern": {"title": true, "p": true, "let": true, "rule": true},
	"rule":    {"let": true, "assert": true, "report": true, "extends": true, "p": true, "title": true},
}

func checkKids(n *node) error {
	allowed := known[n.name.Local]
	for _, k := range n.kids {
		if k.isTxt {
			continue
		}
		if k.name.Space == nsXSL {
			return fmt.Errorf("%s: embedded XSLT (xsl:%s) is not supported", k.where(), k.name.Local)
		}
		if k.name.Space != nsSch {
			continue
		}
		if !allowed[k.name.Local] {
			return fmt.Errorf("%s: unsupported sch:%s inside sch:%s", k.where(), k.name.Local, n.name.Local)
		}
	}
	return nil
}

// converter holds what the whole stylesheet needs while writing it.
type converter struct {
	out      strings.Builder
	abstract map[string]*node // abstract rules by id
}

// Convert turns a Schematron schema into the XSLT 3.0 stylesheet Run uses.
// The stylesheet writes, for each document, <r><f k="assert|report"
// i="ID" p="PATTERN" l="LOCATION">TEXT</f>…</r> (no namespace).
func Convert(src []byte, opt Options) ([]byte, error) {
	root, err := parseSchema(src)
	if err != nil {
		return nil, err
	}
	if err := checkKids(root); err != nil {
		return nil, err
	}
	switch qb := root.attr["queryBinding"]; qb {
	case "", "xslt", "xslt2", "xslt3":
	default:
		return nil, fmt.Errorf("schematron: unsupported queryBinding %q", qb)
	}
	c := &converter{abstract: map[string]*node{}}
	patterns, err := activePatterns(root)
	if err != nil {
		return nil, err
	}
	for _, p := range root.elems("pattern") {
		if err := checkKids(p); err != nil {
			return nil, err
		}
		for _, r := range p.elems("rule") {
			if err := checkKids(r); err != nil {
				return nil, err
			}
			if r.attr["abstract"] == "true" {
				id := r.attr["id"]
				if id == "" {
					return nil, fmt.Errorf("%s: abstract rule without id", r.where())
				}
				if c.abstract[id] != nil {
					return nil, fmt.Errorf("%s: abstract rule %q defined twice", r.where(), id)
				}
				c.abstract[id] = r
			}
		}
	}

	w := &c.out
	w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.WriteString(`<xsl:stylesheet version="3.0" xmlns:xsl="` + nsXSL + `" xmlns:hubsx="` + nsSelf + `"`)
	seen := map[string]string{}
	for _, ns := range root.elems("ns") {
		prefix, uri := ns.attr["prefix"], ns.attr["uri"]
		if prefix == "" || uri == "" {
			return nil, fmt.Errorf("%s: prefix and uri are required", ns.where())
		}
		if prefix == "xsl" || prefix == "hubsx" || prefix == "xml" {
			return nil, fmt.Errorf("%s: prefix %q is reserved", ns.where(), prefix)
		}
		if old, ok := seen[prefix]; ok && old != uri {
			return nil, fmt.Errorf("%s: prefix %q bound to two namespaces", ns.where(), prefix)
		}
		seen[prefix] = uri
		fmt.Fprintf(w, " xmlns:%s=%s", prefix, attr(uri))
	}
	fmt.Fprintf(w, " xpath-default-namespace=%s exclude-result-prefixes=\"#all\">\n", attr(opt.DefaultElementNamespace))
	w.WriteString(`<xsl:output method="xml" encoding="UTF-8" indent="no"/>` + "\n")

	// Global variables: schema lets, then the active phase's, then the
	// active patterns' (as the ISO skeleton does).
	globals := map[string]bool{}
	global := func(lets []*node) error {
		for _, l := range lets {
			name := l.attr["name"]
			if globals[name] {
				return fmt.Errorf("%s: variable %q defined twice at the top level", l.where(), name)
			}
			globals[name] = true
			if err := c.let(l); err != nil {
				return err
			}
		}
		return nil
	}
	if err := global(root.elems("let")); err != nil {
		return nil, err
	}
	if ph := phase(root); ph != nil {
		if err := global(ph.elems("let")); err != nil {
			return nil, err
		}
	}
	for _, p := range patterns {
		if err := global(p.elems("let")); err != nil {
			return nil, err
		}
	}

	w.WriteString("<xsl:template match=\"/\"><r>")
	for i := range patterns {
		fmt.Fprintf(w, "<xsl:apply-templates select=\".\" mode=\"hubsx:p%d\"/>", i)
	}
	w.WriteString("</r></xsl:template>\n")

	for i, p := range patterns {
		if err := c.pattern(i, p); err != nil {
			return nil, err
		}
	}
	w.WriteString("</xsl:stylesheet>\n")
	return []byte(w.String()), nil
}

// phase returns the schema's default phase, or nil for #ALL.
func phase(root *node) *node {
	name := root.attr["defaultPhase"]
	if name == "" || name == "#ALL" {
		return nil
	}
	for _, ph := range root.elems("phase") {
		if ph.attr["id"] == name {
			return ph
		}
	}
	return nil
}

// activePatterns returns the patterns the default phase runs, in document
// order, refusing the pattern forms the converter does not support.
func activePatterns(root *node) ([]*node, error) {
	all := root.elems("pattern")
	for _, p := range all {
		if p.attr["abstract"] == "true" || p.attr["is-a"] != "" {
			return nil, fmt.Errorf("%s: abstract patterns are not supported", p.where())
		}
	}
	name := root.attr["defaultPhase"]
	if name == "" || name == "#ALL" {
		return all, nil
	}
	ph := phase(root)
	if ph == nil {
		return nil, fmt.Errorf("schematron: defaultPhase %q is not defined", name)
	}
	if err := checkKids(ph); err != nil {
		return nil, err
	}
	active := map[string]bool{}
	for _, a := range ph.elems("active") {
		active[a.attr["pattern"]] = true
	}
	var out []*node
	for _, p := range all {
		if id := p.attr["id"]; id != "" && active[id] {
			out = append(out, p)
		}
	}
	return out, nil
}

func (c *converter) let(l *node) error {
	name, value := l.attr["name"], l.attr["value"]
	if name == "" {
		return fmt.Errorf("%s: let without name", l.where())
	}
	if value == "" {
		return fmt.Errorf("%s: let without value (element content is not supported)", l.where())
	}
	fmt.Fprintf(&c.out, "<xsl:variable name=%s select=%s/>\n", attr(name), attr(value))
	return nil
}

// pattern writes the mode of one pattern: its rules as templates whose
// priorities fall with rule order (so only the first matching rule fires),
// and the default templates that visit every node.
func (c *converter) pattern(i int, p *node) error {
	w := &c.out
	mode := fmt.Sprintf("hubsx:p%d", i)
	var rules []*node
	for _, r := range p.elems("rule") {
		if r.attr["abstract"] != "true" {
			rules = append(rules, r)
		}
	}
	fmt.Fprintf(w, "<!-- pattern %d%s -->\n", i, comment(p.attr["id"]))
	for j, r := range rules {
		ctx := r.attr["context"]
		if strings.TrimSpace(ctx) == "" {
			return fmt.Errorf("%s: rule without context", r.where())
		}
		fmt.Fprintf(w, "<xsl:template match=%s mode=%q priority=\"%d\">\n", attr(ctx), mode, len(rules)-j)
		if err := c.ruleBody(r, p.attr["id"], nil); err != nil {
			return err
		}
		fmt.Fprintf(w, "<xsl:apply-templates select=\"@*|node()\" mode=%q/>\n</xsl:template>\n", mode)
	}
	fmt.Fprintf(w, "<xsl:template match=\"document-node()|*\" mode=%q priority=\"-10\"><xsl:apply-templates select=\"@*|node()\" mode=%q/></xsl:template>\n", mode, mode)
	fmt.Fprintf(w, "<xsl:template match=\"@*|text()|comment()|processing-instruction()\" mode=%q priority=\"-10\"/>\n", mode)
	return nil
}

// ruleBody writes the lets, asserts and reports of a rule in document
// order, inlining abstract rules named by sch:extends.
func (c *converter) ruleBody(r *node, pattern string, visiting []string) error {
	for _, k := range r.kids {
		if k.isTxt || k.name.Space != nsSch {
			continue
		}
		switch k.name.Local {
		case "let":
			if err := c.let(k); err != nil {
				return err
			}
		case "assert", "report":
			if err := c.check(k, pattern); err != nil {
				return err
			}
		case "extends":
			if k.attr["href"] != "" {
				return fmt.Errorf("%s: extends/@href is not supported", k.where())
			}
			id := k.attr["rule"]
			a := c.abstract[id]
			if a == nil {
				return fmt.Errorf("%s: no abstract rule %q", k.where(), id)
			}
			for _, v := range visiting {
				if v == id {
					return fmt.Errorf("%s: abstract rule %q extends itself", k.where(), id)
				}
			}
			if err := c.ruleBody(a, pattern, append(visiting, id)); err != nil {
				return err
			}
		}
	}
	return nil
}

// check writes one assert or report: the record it outputs when it fires.
func (c *converter) check(k *node, pattern string) error {
	w := &c.out
	test := k.attr["test"]
	if strings.TrimSpace(test) == "" {
		return fmt.Errorf("%s: test is required", k.where())
	}
	// The test goes into xsl:when as written (not wrapped in not(), which
	// would break on a top-level comma), as the ISO skeleton does.
	kind := k.name.Local
	if kind == "assert" {
		fmt.Fprintf(w, "<xsl:choose><xsl:when test=%s/><xsl:otherwise>", attr(test))
	} else {
		fmt.Fprintf(w, "<xsl:if test=%s>", attr(test))
	}
	fmt.Fprintf(w, "<f k=%q i=%s p=%s l=\"{path()}\"><xsl:variable name=\"hubsx:m\">", kind, avt(k.attr["id"]), avt(pattern))
	if err := c.message(k); err != nil {
		return err
	}
	w.WriteString("</xsl:variable><xsl:value-of select=\"normalize-space($hubsx:m)\"/></f>")
	if kind == "assert" {
		w.WriteString("</xsl:otherwise></xsl:choose>\n")
	} else {
		w.WriteString("</xsl:if>\n")
	}
	return nil
}

// message writes the content of an assert/report (or of an element inside
// it) as instructions producing its text.
func (c *converter) message(n *node) error {
	w := &c.out
	for _, k := range n.kids {
		switch {
		case k.isTxt:
			if k.text != "" {
				w.WriteString("<xsl:text>")
				xml.EscapeText(w, []byte(k.text))
				w.WriteString("</xsl:text>")
			}
		case k.sch("value-of"):
			sel := k.attr["select"]
			if strings.TrimSpace(sel) == "" {
				return fmt.Errorf("%s: select is required", k.where())
			}
			fmt.Fprintf(w, "<xsl:value-of select=%s/>", attr(sel))
		case k.sch("name"):
			path := k.attr["path"]
			if path == "" {
				path = "."
			}
			fmt.Fprintf(w, "<xsl:value-of select=%s/>", attr("name("+path+")"))
		case k.sch("emph"), k.sch("dir"), k.sch("span"), k.name.Space != nsSch:
			if err := c.message(k); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unsupported inside sch:%s", k.where(), n.name.Local)
		}
	}
	return nil
}

// attr quotes s as an XML attribute value.
func attr(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString("&quot;")
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\n':
			b.WriteString("&#10;")
		case '\r':
			b.WriteString("&#13;")
		case '\t':
			b.WriteString("&#9;")
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// avt quotes s as the value of an attribute value template that yields s.
func avt(s string) string {
	s = strings.ReplaceAll(s, "{", "{{")
	s = strings.ReplaceAll(s, "}", "}}")
	return attr(s)
}

func comment(s string) string {
	if s == "" {
		return ""
	}
	return " " + strconv.Quote(strings.ReplaceAll(s, "--", "- -"))
}
