package xsdgo

import (
	"bytes"
	"errors"
	"strings"
	"unsafe"

	"github.com/emdhub/hub/internal/schematron"
)

// ErrUndecided is ValidateTree's answer for every document it does not
// accept: the caller validates the bytes (Validate, then libxml2), which
// give the verdict and, for a refusal, its line and column.
var ErrUndecided = errors.New("xsdgo: not decided on the tree")

// ValidateTree checks a document the door has already parsed: d is
// schematron.ParseFast of doc. nil means valid — exactly when Validate(doc)
// is nil —, anything else is ErrUndecided.
//
// It runs the same checks as Validate (open, checkAttrs, charData, close)
// driven by the tree instead of a second tokenization of the bytes (~45% of
// Validate's time). It only ever accepts: the tree has no lines, prefixes
// or comments, so every refusal, and whatever it is not sure of, is left
// to the bytes:
//   - a document with a carriage return (the parse turned \r\n into \n,
//     where Validate reads the bytes as written);
//   - a tree the parse did not record namespace declarations for (not
//     ParseFast's), and a declaration Validate would take differently from
//     libxml2 (xmlns:p="", the prefixes xml and xmlns);
//   - an element with two attributes of one expanded name (Validate refuses
//     two of one prefixed name; the tree no longer tells the prefixes).
//
// What the tree drops does not change the verdict: comments (text on both
// sides is one text node; a comment's characters are checked by the parse),
// the raw form of values (the parse decoded the same five entities; an
// attribute's tabs and newlines become spaces here as in Validate's decode).
// ParseFast declines CDATA, character references, processing instructions
// and DOCTYPEs, so no tree has them.
func (s *Schema) ValidateTree(doc []byte, d *schematron.Document) error {
	decls, ok := d.NamespaceDecls()
	if !ok || bytes.IndexByte(doc, '\r') >= 0 {
		return ErrUndecided
	}
	root := d.Root()
	if root < 0 {
		return ErrUndecided
	}
	r := &run{s: s, tree: true, scope: make([]binding, 0, 16), stack: make([]frame, 0, 32)}
	r.scope = append(r.scope, binding{"xml", nsXML})
	w := walker{r: r, d: d, decls: decls}
	if err := w.element(root); err != nil {
		return ErrUndecided
	}
	if w.k != len(decls) {
		return ErrUndecided
	}
	return nil
}

type walker struct {
	r     *run
	d     *schematron.Document
	decls []schematron.NSDecl
	k     int // next declaration
}

// element validates element id and its subtree as startTag, the content
// between the tags and endTag do on the bytes.
func (w *walker) element(id int32) error {
	r, d := w.r, w.d
	nsDepth := len(r.scope)
	for ; w.k < len(w.decls) && w.decls[w.k].Elem <= id; w.k++ {
		x := w.decls[w.k]
		if x.Elem != id || x.Prefix != "" && x.URI == "" || x.Prefix == "xml" || x.Prefix == "xmlns" {
			return ErrUndecided
		}
		r.scope = append(r.scope, binding{x.Prefix, x.URI})
	}
	r.attrs = r.attrs[:0]
	for i := 0; ; i++ {
		ns, local, v, ok := d.Attr(id, i)
		if !ok {
			break
		}
		for j := range r.attrs {
			if r.attrs[j].local == local && r.attrs[j].ns == ns {
				return ErrUndecided
			}
		}
		if strings.IndexByte(v, '\n') >= 0 || strings.IndexByte(v, '\t') >= 0 { // (ContainsAny builds a set per call)
			v = strings.NewReplacer("\t", " ", "\n", " ").Replace(v)
		}
		r.attrs = append(r.attrs, rawAttr{local: local, value: v, ns: ns})
	}
	ns, local := d.Name(id)
	if err := r.open("", qname{ns, local}, 0, 0, nsDepth); err != nil {
		return err
	}
	for c := d.FirstChild(id); c >= 0; c = d.Next(c) {
		if d.IsElement(c) {
			if err := w.element(c); err != nil {
				return err
			}
			continue
		}
		// Decoded text: charData takes it as it takes CDATA (no decoding);
		// it is read, never written.
		t := d.Text(c)
		if err := r.charData(unsafe.Slice(unsafe.StringData(t), len(t)), true); err != nil {
			return err
		}
	}
	return r.close()
}
