package refbook

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"unsafe"

	"github.com/emdhub/hub/internal/schematron"
)

// ScanDOMWith is ScanDocumentWith(books, settings, content) read from dom,
// the DOM schematron.ParseFast made of content: the door has parsed the
// document once already, and walking that DOM costs a fraction of
// scanning the bytes again. The result is the byte scan's, problems,
// paths, organisations and warnings alike (TestDOMAgreesWithScan,
// FuzzDOMAgreesWithScan); dom nil is the byte scan.
//
// The walk takes the concrete *schematron.Document rather than an
// interface such as semd.Tree: its accessors inline, ~10–15% of the walk
// (docs/performance.md, "Books on the DOM").
//
// dom must come from ParseFast, not from the encoding/xml parser
// (schematron.ParseLimited's fallback): ParseFast declines character
// references, so every tab or line break in dom's attribute values was one
// literally in content, which XML makes a space (the byte scan does;
// encoding/xml does not) — a &#9; kept as a tab would be made a space here.
//
// Paths name elements as written, prefix:local, and count positions among
// siblings of that written name, which the DOM does not keep (it has
// namespace URIs). The walk writes each element's prefix from the
// document's namespace declarations, as the fast parser recorded them, when they decide
// it: every prefix bound to one URI only and every URI to one prefix (or to
// the default namespace) only, no prefix bound to no namespace, no element
// outside every namespace where a default one is declared. A document
// otherwise (none of the four kinds' generated ones) is scanned as bytes.
func ScanDOMWith(books *Books, settings Settings, content []byte, dom *schematron.Document) (*Scan, error) {
	if dom == nil {
		return ScanDocumentWith(books, settings, content)
	}
	sc, ok := scanDOM(books, settings, content, dom)
	if !ok {
		return ScanDocumentWith(books, settings, content)
	}
	return sc, nil
}

// scanDOM is the DOM walk; ok false when it cannot give the byte scan's
// result (see ScanDOMWith).
func scanDOM(books *Books, settings Settings, content []byte, t *schematron.Document) (*Scan, bool) {
	w := newWalk(books, settings)
	defer w.release()
	if !w.declarations(t) {
		return nil, false
	}
	w.t = t
	if !w.tree() {
		return nil, false
	}
	return w.finish(), true
}

// tree walks the elements in document order (the byte scan's order), each
// with the attributes level 2 reads. Nothing is allocated per element:
// attribute values are read in place, paths are built only for what is
// reported.
func (w *walk) tree() bool {
	t := w.t
	id := t.Root()
	if id < 0 {
		return true
	}
	for {
		ns, local := t.Name(id)
		if len(ns) == 0 && w.dflt {
			return false // unprefixed beside elements of a default namespace: positions differ
		}
		w.n++
		if w.depth == len(w.stack) {
			w.stack = append(w.stack, frame{})
		}
		f := &w.stack[w.depth]
		f.id, f.local = id, view(local)
		w.depth++
		w.treeElement(id)
		if w.undecided {
			return false
		}
		if c := nextElement(t, t.FirstChild(id)); c >= 0 {
			id = c
			continue
		}
		for {
			w.depth--
			if w.depth == 0 {
				return true
			}
			if s := nextElement(t, t.Next(w.stack[w.depth].id)); s >= 0 {
				id = s
				break
			}
		}
	}
}

// nextElement is id or the first element sibling after it, -1 if none.
func nextElement(t *schematron.Document, id int32) int32 {
	for id >= 0 && !t.IsElement(id) {
		id = t.Next(id)
	}
	return id
}

// treeElement reads element id's attributes as the scanner's startTag
// does (unprefixed names; the last of a repeated one) and checks them.
func (w *walk) treeElement(id int32) {
	var a attrs
	for i := 0; ; i++ {
		ns, local, v, ok := w.t.Attr(id, i)
		if !ok {
			break
		}
		if len(ns) != 0 {
			continue
		}
		switch local {
		case "code":
			a.code = attrView(v)
		case "codeSystem":
			a.system = attrView(v)
		case "codeSystemVersion":
			a.version = attrView(v)
		case "codeSystemName": // normalised only when compared (treeSameName)
			a.systemName = view(v)
		case "displayName":
			a.display = view(v)
		case "root":
			a.root = attrView(v)
		case "extension":
			a.ext = attrView(v)
		case "nullFlavor":
			a.null = true
		}
	}
	w.element(&a)
}

// empty is a present attribute's empty value (nil is an absent one).
var empty = []byte{}

// view is s's bytes, not copied: level 2 only reads them and copies what
// it keeps (string conversions), so the DOM's strings are read in place.
func view(s string) []byte {
	if len(s) == 0 {
		return empty
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// attrView is an attribute's value as the byte scan gives it: XML's
// attribute-value normalisation, which encoding/xml and the DOM leave
// undone, makes each tab and line break a space (the DOM has made \r\n and
// \r one \n already, as the scanner makes each one space).
func attrView(v string) []byte { return normalised(view(v)) }

// normalised is v with each tab and line break a space, v itself when it
// has none.
func normalised(v []byte) []byte {
	if !hasBreak(v) {
		return v
	}
	out := bytes.Clone(v)
	for i, c := range out {
		if c == '\t' || c == '\n' || c == '\r' {
			out[i] = ' '
		}
	}
	return out
}

// hasBreak tells whether v has a byte below 0x20: in an XML value only a
// tab or a line break. Eight bytes at a time: ((x - 0x20…) & ^x & 0x80…)
// is non-zero exactly when some byte of x is below 0x20 (bytes from 0x80
// up, UTF-8's, have their top bit set and are masked out by ^x).
func hasBreak(v []byte) bool {
	const ones, highs = 0x2020202020202020, 0x8080808080808080
	i := 0
	for ; i+8 <= len(v); i += 8 {
		x := binary.LittleEndian.Uint64(v[i:])
		if (x-ones)&^x&highs != 0 {
			return true
		}
	}
	for ; i < len(v); i++ {
		if v[i] < 0x20 {
			return true
		}
	}
	return false
}

// treeSameName is sameName for a value from the DOM (references decoded,
// \r\n and \r made \n, tabs and line breaks not yet spaces), exactly as
// sameName decides on the attribute as written. sameName is true when the
// attribute as written is the name (and the name has no '&'), or when its
// normalised value is. With no tab or line break in v both come to v ==
// name (the attribute as written was then v with references at most, and
// a written attribute equal to a name without '&' has none). With one,
// the normalised value decides when it is the name; when it is not, the
// written attribute can be the name only if the name has a tab or line
// break itself (no book or setting should), and whether it was cannot be
// told from the DOM: the walk hands the document to the byte scan.
func (w *walk) treeSameName(v []byte, name string) bool {
	if !hasBreak(v) {
		return string(v) == name
	}
	if len(v) == len(name) {
		same := true
		for i, c := range v {
			if c == '\t' || c == '\n' || c == '\r' {
				c = ' '
			}
			if c != name[i] {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	if hasBreak(view(name)) {
		w.undecided = true
	}
	return false
}

// treePath is pathOf for the DOM walk: each element as written (its
// prefix from the declarations) and its position among its parent's
// children of that name. It marks the walk undecided if a prefix is not
// known.
func (w *walk) treePath() string {
	t := w.t
	var b strings.Builder
	b.Grow(192) // a 121's deepest reported paths: one allocation
	for i, f := range w.stack[:w.depth] {
		ns, local := t.Name(f.id)
		prefix, ok := w.prefixOf(ns)
		if !ok {
			w.undecided = true
			return ""
		}
		b.WriteByte('/')
		if len(prefix) > 0 {
			b.Write(prefix)
			b.WriteByte(':')
		}
		b.WriteString(local)
		if i == 0 {
			continue
		}
		pos := 1
		for c := t.FirstChild(w.stack[i-1].id); c >= 0 && c != f.id; c = t.Next(c) {
			if t.IsElement(c) {
				if cns, cl := t.Name(c); cl == local && cns == ns {
					pos++
				}
			}
		}
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(pos))
		b.WriteByte(']')
	}
	return b.String()
}

// decl is a namespace declaration: prefix (empty for the default
// namespace) and URI as written.
type decl struct{ prefix, uri []byte }

// xmlDecl is the xml prefix's binding, declared in every document.
var xmlDecl = decl{[]byte("xml"), []byte("http://www.w3.org/XML/1998/namespace")}

// prefixOf is the prefix of the elements of namespace ns: the one bound to
// it (declarations decides one at most), none for no namespace.
func (w *walk) prefixOf(ns string) ([]byte, bool) {
	if ns == "" {
		return nil, true
	}
	for _, d := range w.decls {
		if string(d.uri) == ns {
			return d.prefix, true
		}
	}
	return nil, false
}

// declarations takes the document's namespace declarations as the fast
// parser recorded them (schematron.Document.NamespaceDecls: every
// declaration, its URI as the DOM's names carry it) into w.decls, and
// tells whether they decide each element's prefix from its namespace (see
// ScanDOMWith). A DOM without that record (not from the fast parser) is
// undecided.
func (w *walk) declarations(t *schematron.Document) bool {
	w.decls = append(w.decls[:0], xmlDecl)
	ds, ok := t.NamespaceDecls()
	if !ok {
		return false
	}
	for _, d := range ds {
		if !w.bind(view(d.Prefix), view(d.URI)) {
			return false
		}
	}
	return true
}

// bind adds a declaration, false if it makes a prefix or a URI ambiguous
// or binds a prefix to no namespace.
func (w *walk) bind(prefix, uri []byte) bool {
	if len(prefix) > 0 && len(uri) == 0 {
		return false
	}
	for _, d := range w.decls {
		samePrefix, sameURI := bytes.Equal(d.prefix, prefix), bytes.Equal(d.uri, uri)
		if samePrefix && sameURI {
			return true
		}
		if samePrefix || sameURI {
			return false
		}
	}
	if len(prefix) == 0 && len(uri) > 0 {
		w.dflt = true
	}
	w.decls = append(w.decls, decl{prefix, uri})
	return true
}
