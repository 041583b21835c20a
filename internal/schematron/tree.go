package schematron

import (
	"errors"

	"github.com/emdhub/hub/internal/semd"
)

// ParseFast is the door's one parse of a document (issue 16, "parse each
// document once"): the DOM when parseFast decides the document under lim
// (zero fields here are unlimited: pass semd.Limits.WithDefaults()), nil
// when it does not — then the door parses the bytes as before (semd's
// encoding/xml reader for the header and its refusal, ParseLimited for the
// rules). A DOM it returns is one encoding/xml (Strict) accepts with the same
// content, so semd.FromTree may read the header from it.
func ParseFast(b []byte, lim semd.Limits) *Document { return parseFast(b, lim) }

// ReadHeader is the door's one parse of a СЭМД: the pooled fast DOM, from
// which the header is read (semd.FromTree), when the fast parser decides
// the document under lim (zero fields: semd.DefaultLimits); otherwise
// (anything unusual, and every malformed document) semd.ParseLimited,
// which gives the refusal with its usual message, and dom is nil. A
// non-nil dom is over content itself (no copy): the caller releases it
// (Release) when done with it, and content must not change until then.
// The header's strings are copies and outlive both.
func ReadHeader(content []byte, lim semd.Limits) (header *semd.Document, dom *Document, err error) {
	if dom := ParsePooled(content, lim.WithDefaults()); dom != nil {
		header, err := semd.FromTree(dom, lim)
		if !errors.Is(err, semd.ErrUndecided) {
			return header, dom, err
		}
		dom.Release()
	}
	header, err = semd.ParseLimited(content, lim)
	return header, nil, err
}

// The methods below make *Document a semd.Tree.

var _ semd.Tree = (*Document)(nil)

// Root is the document element's id.
func (d *Document) Root() int32 {
	for c := d.nodes[0].first; c >= 0; c = d.nodes[c].next {
		if d.nodes[c].kind == elemNode {
			return c
		}
	}
	return -1
}

// Name is an element's or attribute's expanded name.
func (d *Document) Name(id int32) (ns, local string) {
	q := d.names[d.nodes[id].name]
	return q.ns, q.local
}

// FirstChild is the first element or text child of id, -1 if none.
func (d *Document) FirstChild(id int32) int32 { return d.nodes[id].first }

// Next is the next element or text sibling of id, -1 if none.
func (d *Document) Next(id int32) int32 { return d.nodes[id].next }

// IsElement tells an element from a text node.
func (d *Document) IsElement(id int32) bool { return d.nodes[id].kind == elemNode }

// Text is a text node's value.
func (d *Document) Text(id int32) string { return d.value(&d.nodes[id]) }

// Attr is the i-th attribute of element id (namespace declarations are not
// attributes here), ok false past the last.
func (d *Document) Attr(id int32, i int) (ns, local, value string, ok bool) {
	j := int(id) + 1 + i
	if j >= len(d.nodes) || d.nodes[j].kind != attrNode {
		return "", "", "", false
	}
	q := d.names[d.nodes[j].name]
	return q.ns, q.local, d.value(&d.nodes[j]), true
}

// Prefixes are the namespace prefixes the document declares (fast parse).
func (d *Document) Prefixes() []string { return d.prefixes }

// NamespaceDecls are the document's namespace declarations, by element in
// document order; ok is false when the parse did not record them (a
// document of encoding/xml's parse, not ParseFast's).
func (d *Document) NamespaceDecls() (decls []NSDecl, ok bool) { return d.nsDecls, d.src != "" }
