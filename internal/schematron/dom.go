package schematron

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unsafe"

	"github.com/emdhub/hub/internal/semd"
)

type nodeKind uint8

const (
	docNode nodeKind = iota
	elemNode
	attrNode
	textNode
)

// qname is an expanded name: namespace URI and local part.
type qname struct{ ns, local string }

// node is one node of the compact DOM. Nodes live in one slice in document
// order (an element, then its attributes, then its children), so document
// order is id order, an element's attributes are the ids right after it and
// its descendants are the ids up to end.
type node struct {
	kind   nodeKind
	name   int32 // index into Document.names (elements and attributes), -1 otherwise
	parent int32 // -1 for the document node
	first  int32 // first child (element or text), -1 if none
	next   int32 // next sibling (element or text), -1 if none
	end    int32 // last descendant id (itself if none)
	// voff, vlen locate an attribute value or text content in
	// Document.src; vlen < 0: the value is Document.extra[voff] (one
	// rewritten by the parser: entities, \r\n, text around a comment). No
	// pointer in a node, so the node slice is no work for the GC (no
	// scanning, no write barriers when it grows).
	voff, vlen int32
}

// Document is a parsed XML document in the engine's compact form. It is
// read-only after Parse and may be validated by many schemas concurrently.
type Document struct {
	nodes []node
	names []qname
	// src is the parsed text (fast parse) of which most values are
	// substrings; extra holds the values that are not (see node.voff).
	src   string
	extra []string
	// prefixes are the namespace prefixes declared in the document (fast
	// parse only): semd.FromTree must know of xmlns:root and the like.
	prefixes []string
	// nsDecls are the namespace declarations by element, in document order
	// (fast parse only): the XSD check on the tree resolves xsi:type QNames
	// with them (cdaxsd).
	nsDecls []NSDecl
	// parser is the pooled parser whose buffers these are (ParsePooled),
	// nil for a Document of its own.
	parser *fastParser
}

// NSDecl is a namespace declaration: xmlns:Prefix="URI" (Prefix "" for
// xmlns="URI") on the element Elem.
type NSDecl struct {
	Elem        int32
	Prefix, URI string
}

// Parse reads an XML document into the engine's DOM under semd.DefaultLimits.
func Parse(b []byte) (*Document, error) { return ParseLimited(b, semd.DefaultLimits) }

// ParseLimited reads an XML document, refusing one beyond the door's XML limits
// (depth, attributes per element, attribute size, element count; zero fields
// are unlimited). Comments and processing instructions are dropped (none of the
// rules look at them); adjacent character data and CDATA make one text node,
// as in the XPath data model. Namespaces are resolved here, once.
//
// Documents of the usual shape take parseFast; anything it does not decide
// (and every refusal) goes through encoding/xml, the reference.
func ParseLimited(b []byte, lim semd.Limits) (*Document, error) {
	if d := parseFast(b, lim); d != nil {
		return d, nil
	}
	return parseStd(b, lim)
}

// parseStd is ParseLimited over encoding/xml's RawToken: the reference
// parseFast is held to, and the parser of whatever parseFast leaves.
func parseStd(b []byte, lim semd.Limits) (*Document, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	d := &Document{nodes: make([]node, 1, len(b)/24+8)}
	d.nodes[0] = node{kind: docNode, name: -1, parent: -1, first: -1, next: -1}
	names := map[qname]int32{}
	intern := func(q qname) int32 {
		if id, ok := names[q]; ok {
			return id
		}
		id := int32(len(d.names))
		d.names = append(d.names, q)
		names[q] = id
		return id
	}
	type frame struct {
		id      int32
		last    int32 // last child so far
		raw     xml.Name
		nsDepth int
	}
	stack := []frame{{id: 0, last: -1}}
	scope := []binding{{"xml", "http://www.w3.org/XML/1998/namespace"}}
	lookup := func(prefix string) (string, bool) {
		for i := len(scope) - 1; i >= 0; i-- {
			if scope[i].prefix == prefix {
				return scope[i].uri, true
			}
		}
		return "", prefix == ""
	}
	link := func(id int32) {
		top := &stack[len(stack)-1]
		if top.last < 0 {
			d.nodes[top.id].first = id
		} else {
			d.nodes[top.last].next = id
		}
		top.last = id
	}
	elements, rootSeen := 0, false
	var text strings.Builder
	textOpen := false
	flush := func() {
		if !textOpen {
			return
		}
		textOpen = false
		if len(stack) == 1 { // character data outside the root element: whitespace only
			text.Reset()
			return
		}
		id := int32(len(d.nodes))
		off, n := d.locate(text.String())
		d.nodes = append(d.nodes, node{kind: textNode, name: -1, parent: stack[len(stack)-1].id, first: -1, next: -1, end: id, voff: off, vlen: n})
		text.Reset()
		link(id)
	}
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("schematron: parse: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			flush()
			if len(stack) == 1 {
				if rootSeen {
					return nil, errors.New("schematron: parse: more than one root element")
				}
				rootSeen = true
			}
			elements++
			if lim.MaxElements > 0 && elements > lim.MaxElements {
				return nil, fmt.Errorf("schematron: parse: more than %d elements", lim.MaxElements)
			}
			if lim.MaxDepth > 0 && len(stack) > lim.MaxDepth {
				return nil, fmt.Errorf("schematron: parse: deeper than %d", lim.MaxDepth)
			}
			if lim.MaxAttrs > 0 && len(t.Attr) > lim.MaxAttrs {
				return nil, fmt.Errorf("schematron: parse: more than %d attributes on %s", lim.MaxAttrs, t.Name.Local)
			}
			nsDepth := len(scope)
			for _, a := range t.Attr {
				if lim.MaxAttrBytes > 0 && len(a.Value) > lim.MaxAttrBytes {
					return nil, fmt.Errorf("schematron: parse: attribute %s longer than %d bytes", a.Name.Local, lim.MaxAttrBytes)
				}
				switch {
				case a.Name.Space == "xmlns":
					scope = append(scope, binding{a.Name.Local, a.Value})
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					scope = append(scope, binding{"", a.Value})
				}
			}
			uri, ok := lookup(t.Name.Space)
			if !ok {
				return nil, fmt.Errorf("schematron: parse: undeclared prefix %q", t.Name.Space)
			}
			id := int32(len(d.nodes))
			d.nodes = append(d.nodes, node{kind: elemNode, name: intern(qname{uri, t.Name.Local}), parent: stack[len(stack)-1].id, first: -1, next: -1})
			link(id)
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				auri := ""
				if a.Name.Space != "" {
					if auri, ok = lookup(a.Name.Space); !ok {
						return nil, fmt.Errorf("schematron: parse: undeclared prefix %q", a.Name.Space)
					}
				}
				aid := int32(len(d.nodes))
				off, n := d.locate(a.Value)
				d.nodes = append(d.nodes, node{kind: attrNode, name: intern(qname{auri, a.Name.Local}), parent: id, first: -1, next: -1, end: aid, voff: off, vlen: n})
			}
			stack = append(stack, frame{id: id, last: -1, raw: t.Name, nsDepth: nsDepth})
		case xml.EndElement:
			flush()
			top := stack[len(stack)-1]
			if len(stack) == 1 || top.raw != t.Name {
				return nil, fmt.Errorf("schematron: parse: unexpected end element %s", t.Name.Local)
			}
			d.nodes[top.id].end = int32(len(d.nodes) - 1)
			scope = scope[:top.nsDepth]
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 1 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, errors.New("schematron: parse: text outside the root element")
				}
				continue
			}
			text.Write(t)
			textOpen = true
		case xml.Comment, xml.ProcInst, xml.Directive:
			// Not part of what the rules see; text on both sides stays one node.
		}
	}
	if len(stack) != 1 || !rootSeen {
		return nil, errors.New("schematron: parse: unexpected end of document")
	}
	d.nodes[0].end = int32(len(d.nodes) - 1)
	return d, nil
}

// value is an attribute's value or a text node's content.
func (d *Document) value(n *node) string {
	if n.vlen < 0 {
		return d.extra[n.voff]
	}
	return d.src[n.voff : n.voff+n.vlen]
}

// locate is where v lives for a node: offsets into src when v is a
// substring of it (the fast parser's values, without a copy), else a new
// entry of extra.
func (d *Document) locate(v string) (off, n int32) {
	if v == "" {
		return 0, 0
	}
	if d.src != "" {
		base := uintptr(unsafe.Pointer(unsafe.StringData(d.src)))
		at := uintptr(unsafe.Pointer(unsafe.StringData(v)))
		if at >= base && at+uintptr(len(v)) <= base+uintptr(len(d.src)) {
			return int32(at - base), int32(len(v))
		}
	}
	d.extra = append(d.extra, v)
	return int32(len(d.extra) - 1), -1
}

// stringValue is the XPath string value of a node: an element's is the
// concatenation of its descendant text nodes.
func (d *Document) stringValue(id int32) string {
	n := &d.nodes[id]
	switch n.kind {
	case attrNode, textNode:
		return d.value(n)
	}
	var first = int32(-1)
	count := 0
	for i := id + 1; i <= n.end; i++ {
		if d.nodes[i].kind == textNode {
			if count == 0 {
				first = i
			}
			count++
		}
	}
	switch count {
	case 0:
		return ""
	case 1:
		return d.value(&d.nodes[first])
	}
	var sb strings.Builder
	for i := id + 1; i <= n.end; i++ {
		if d.nodes[i].kind == textNode {
			sb.WriteString(d.value(&d.nodes[i]))
		}
	}
	return sb.String()
}

// Path is XPath 3.1 fn:path() of a node, as Saxon prints it:
// /Q{urn:hl7-org:v3}ClinicalDocument[1]/Q{urn:hl7-org:v3}recordTarget[1]/@classCode,
// .../text()[1], and "/" for the document node.
func (d *Document) path(id int32) string {
	if id == 0 {
		return "/"
	}
	var steps []int32
	for i := id; i > 0; i = d.nodes[i].parent {
		steps = append(steps, i)
	}
	var sb strings.Builder
	for k := len(steps) - 1; k >= 0; k-- {
		i := steps[k]
		n := &d.nodes[i]
		sb.WriteByte('/')
		switch n.kind {
		case attrNode:
			q := d.names[n.name]
			sb.WriteByte('@')
			if q.ns != "" {
				sb.WriteString("Q{" + q.ns + "}")
			}
			sb.WriteString(q.local)
		case textNode:
			fmt.Fprintf(&sb, "text()[%d]", d.siblingPos(i))
		case elemNode:
			q := d.names[n.name]
			fmt.Fprintf(&sb, "Q{%s}%s[%d]", q.ns, q.local, d.siblingPos(i))
		}
	}
	return sb.String()
}

// siblingPos is the 1-based position of a node among its preceding siblings of
// the same kind and name.
func (d *Document) siblingPos(id int32) int {
	n := &d.nodes[id]
	pos := 1
	for c := d.nodes[n.parent].first; c >= 0 && c != id; c = d.nodes[c].next {
		if d.nodes[c].kind == n.kind && d.nodes[c].name == n.name {
			pos++
		}
	}
	return pos
}
