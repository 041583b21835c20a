package schematron

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

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
	name   int32  // index into Document.names (elements and attributes), -1 otherwise
	parent int32  // -1 for the document node
	first  int32  // first child (element or text), -1 if none
	next   int32  // next sibling (element or text), -1 if none
	end    int32  // last descendant id (itself if none)
	value  string // attribute value or text content
}

// Document is a parsed XML document in the engine's compact form. It is
// read-only after Parse and may be validated by many schemas concurrently.
type Document struct {
	nodes []node
	names []qname
	// prefixes are the namespace prefixes declared in the document (fast
	// parse only): semd.FromTree must know of xmlns:root and the like.
	prefixes []string
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
		d.nodes = append(d.nodes, node{kind: textNode, name: -1, parent: stack[len(stack)-1].id, first: -1, next: -1, end: id, value: text.String()})
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
				d.nodes = append(d.nodes, node{kind: attrNode, name: intern(qname{auri, a.Name.Local}), parent: id, first: -1, next: -1, end: aid, value: a.Value})
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

// stringValue is the XPath string value of a node: an element's is the
// concatenation of its descendant text nodes.
func (d *Document) stringValue(id int32) string {
	n := &d.nodes[id]
	switch n.kind {
	case attrNode, textNode:
		return n.value
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
		return d.nodes[first].value
	}
	var sb strings.Builder
	for i := id + 1; i <= n.end; i++ {
		if d.nodes[i].kind == textNode {
			sb.WriteString(d.nodes[i].value)
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
