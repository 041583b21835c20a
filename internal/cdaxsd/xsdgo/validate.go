package xsdgo

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Schema is a compiled schema set, read-only and safe for concurrent use.
type Schema struct {
	elements map[qname]*elemDecl
	types    map[qname]typeRef // named types, for xsi:type
}

// ErrUnsupported is a document this validator does not read itself (a
// DOCTYPE, an entity reference other than the predefined ones and character
// references): the caller asks libxml2.
var ErrUnsupported = errors.New("xsdgo: the document uses XML this validator does not read (DOCTYPE or entity)")

// Invalid is the first problem of a document the schema refuses, or of one
// that is not well-formed.
type Invalid struct {
	Line     int // where the element's start tag ends, as xmllint reports it
	Column   int // of the start tag's '<', in characters, when on Line; else 0
	Element  string
	Path     string   // /ClinicalDocument/…/name, the names as written, without libxml2's [n] positions
	Expected []string // local names the content model allowed there; "##other" for a wildcard
	Message  string
}

func (e *Invalid) Error() string {
	return fmt.Sprintf("xsdgo: line %d: %s", e.Line, e.Message)
}

type binding struct{ prefix, uri string }

type frame struct {
	ct       *complexType
	st       *simpleType // simple content (ct nil)
	state    int32
	skip     bool // inside a wildcard's skipped subtree
	lax      bool // anyType or lax wildcard: unknown children skipped
	name     string
	line     int
	lt       int // offset of the start tag's '<'
	nsDepth  int
	text     []byte
	textBuf  bool
	hasChild bool
}

type run struct {
	s *Schema
	// tree: the walk of an already parsed document (ValidateTree): no
	// lines, no messages; every refusal is ErrUndecided.
	tree  bool
	doc   []byte
	pos   int
	line  int
	scope []binding
	stack []frame
	ids   idSink
	attrs []rawAttr
	err   *Invalid
}

type rawAttr struct {
	prefix, local string
	value         string
	ns            string // the prefix's namespace ("" when unprefixed or undeclared)
}

// display is the attribute's name as written (for messages).
func (a *rawAttr) display() string {
	if a.prefix != "" {
		return a.prefix + ":" + a.local
	}
	return a.local
}

// Validate checks doc: nil when valid, an *Invalid (the first problem) when
// refused, ErrUnsupported when the caller must ask another validator.
//
// It reads UTF-8 only: a document declaring another encoding, with a byte
// order mark of UTF-16, with invalid UTF-8 or characters XML 1.0 forbids,
// or with constructs it does not parse (DOCTYPE, entities), is
// ErrUnsupported, so that libxml2, which refuses or converts them, decides.
func (s *Schema) Validate(doc []byte) error {
	doc = bytes.TrimPrefix(doc, []byte("\xEF\xBB\xBF"))
	if !utf8Declared(doc) {
		return ErrUnsupported
	}
	r := &run{s: s, doc: doc, line: 1, scope: make([]binding, 0, 16), stack: make([]frame, 0, 32)}
	r.scope = append(r.scope, binding{"xml", nsXML})
	if err := r.document(); err != nil {
		return err
	}
	return nil
}

// charsOK tells whether b is valid UTF-8 holding no control character XML
// 1.0 forbids; the tokenizer calls it on every stretch of character data
// (names are looked up in the schema, so a bad byte there is refused anyway).
func charsOK(b []byte) bool {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= 0x80:
			return utf8.Valid(b[i:]) && noControls(b[i:])
		case c < ' ' && c != '\t' && c != '\n' && c != '\r':
			return false
		}
	}
	return true
}

func noControls(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

var encodingDecl = regexp.MustCompile(`^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']`)

// utf8Declared tells whether doc's XML declaration, if any, says UTF-8 (or
// says nothing of the encoding).
func utf8Declared(doc []byte) bool {
	if !bytes.HasPrefix(doc, []byte("<?xml")) {
		return len(doc) < 2 || (doc[0] != 0xFE && doc[0] != 0xFF && doc[0] != 0)
	}
	end := bytes.Index(doc, []byte("?>"))
	if end < 0 {
		return true // not well-formed: the parse says so
	}
	m := encodingDecl.FindSubmatch(doc[:end])
	if m == nil {
		return true
	}
	e := strings.ToLower(string(m[1]))
	return e == "utf-8" || e == "utf8"
}

func (r *run) fail(line, lt int, name, msg string, expected []string) error {
	if r.tree {
		return ErrUndecided
	}
	r.err = &Invalid{Line: line, Column: r.column(lt, line), Element: name, Path: r.path(name), Expected: expected, Message: msg}
	return r.err
}

func (r *run) path(last string) string {
	var b strings.Builder
	for _, f := range r.stack {
		b.WriteByte('/')
		b.WriteString(f.name)
	}
	if len(r.stack) == 0 || r.stack[len(r.stack)-1].name != last {
		b.WriteByte('/')
		b.WriteString(last)
	}
	return b.String()
}

func (r *run) column(lt, line int) int {
	if lt < 0 || 1+bytes.Count(r.doc[:lt], []byte{'\n'}) != line {
		return 0
	}
	start := bytes.LastIndexByte(r.doc[:lt], '\n') + 1
	return utf8.RuneCount(r.doc[start:lt]) + 1
}

func (r *run) notWellFormed(msg string) error {
	if r.tree {
		return ErrUndecided
	}
	return &Invalid{Line: r.line, Message: "not well-formed: " + msg}
}

func (r *run) advanceLines(from, to int) {
	r.line += bytes.Count(r.doc[from:to], []byte{'\n'})
}

func (r *run) document() error {
	d := r.doc
	rootSeen := false
	for r.pos < len(d) {
		i := bytes.IndexByte(d[r.pos:], '<')
		if i < 0 {
			if len(r.stack) > 0 {
				return r.notWellFormed("premature end of data")
			}
			if len(bytes.TrimSpace(d[r.pos:])) > 0 {
				return r.notWellFormed("content after the root element")
			}
			break
		}
		if i > 0 {
			if err := r.text(d[r.pos : r.pos+i]); err != nil {
				return err
			}
			r.advanceLines(r.pos, r.pos+i)
			r.pos += i
		}
		rest := d[r.pos:]
		if len(rest) > 1 && rest[1] != '?' && rest[1] != '!' && rest[1] != '/' { // the common case: a start tag
			if len(r.stack) == 0 {
				if rootSeen {
					return r.notWellFormed("more than one root element")
				}
				rootSeen = true
			}
			if err := r.startTag(); err != nil {
				return err
			}
			continue
		}
		switch {
		case bytes.HasPrefix(rest, []byte("<?")):
			if err := r.skipTo("?>"); err != nil {
				return err
			}
		case bytes.HasPrefix(rest, []byte("<!--")):
			if err := r.skipTo("-->"); err != nil {
				return err
			}
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			if len(r.stack) == 0 {
				return r.notWellFormed("CDATA outside the root element")
			}
			end := bytes.Index(rest, []byte("]]>"))
			if end < 0 {
				return r.notWellFormed("unterminated CDATA")
			}
			if !charsOK(rest[9:end]) {
				return ErrUnsupported
			}
			if err := r.charData(rest[9:end], true); err != nil {
				return err
			}
			r.advanceLines(r.pos, r.pos+end+3)
			r.pos += end + 3
		case bytes.HasPrefix(rest, []byte("<!")):
			return ErrUnsupported
		case bytes.HasPrefix(rest, []byte("</")):
			if err := r.endTag(); err != nil {
				return err
			}
		default:
			if len(r.stack) == 0 {
				if rootSeen {
					return r.notWellFormed("more than one root element")
				}
				rootSeen = true
			}
			if err := r.startTag(); err != nil {
				return err
			}
		}
	}
	if !rootSeen || len(r.stack) > 0 {
		return r.notWellFormed("premature end of data")
	}
	return nil
}

func (r *run) skipTo(end string) error {
	i := bytes.Index(r.doc[r.pos:], []byte(end))
	if i < 0 {
		return r.notWellFormed("unterminated " + end)
	}
	if !charsOK(r.doc[r.pos : r.pos+i]) {
		return ErrUnsupported
	}
	r.advanceLines(r.pos, r.pos+i+len(end))
	r.pos += i + len(end)
	return nil
}

// nameBytes marks the bytes a name may hold (any non-ASCII byte: the
// names of the schemas are ASCII, so a wrong one is refused by the lookup).
var nameBytes = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':' || c >= 0x80
	}
	return t
}()

func isNameByte(c byte) bool { return nameBytes[c] }

func (r *run) name() (string, bool) {
	d := r.doc
	start := r.pos
	for r.pos < len(d) && isNameByte(d[r.pos]) {
		r.pos++
	}
	return bytesString(d[start:r.pos]), r.pos > start
}

// bytesString views b as a string without copying: the document is not
// modified while it is validated, and nothing of it outlives Validate
// except through fmt (messages), which copies.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (r *run) space() {
	d := r.doc
	for r.pos < len(d) {
		switch d[r.pos] {
		case '\n':
			r.line++
		case ' ', '\t', '\r':
		default:
			return
		}
		r.pos++
	}
}

func splitName(n string) (string, string) {
	if i := strings.IndexByte(n, ':'); i >= 0 {
		return n[:i], n[i+1:]
	}
	return "", n
}

func (r *run) lookup(prefix string) (string, bool) {
	for i := len(r.scope) - 1; i >= 0; i-- {
		if r.scope[i].prefix == prefix {
			return r.scope[i].uri, true
		}
	}
	return "", prefix == ""
}

func hasCtl(b []byte) bool {
	for _, c := range b {
		if c < ' ' {
			return true
		}
	}
	return false
}

// decode resolves the predefined entities and character references of raw.
func decode(raw []byte, attr bool) (string, error) {
	if bytes.IndexByte(raw, '&') < 0 && (!attr || !hasCtl(raw)) {
		return bytesString(raw), nil
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '&':
			end := bytes.IndexByte(raw[i:], ';')
			if end < 0 {
				return "", errors.New("unterminated entity reference")
			}
			ent := string(raw[i+1 : i+end])
			switch ent {
			case "lt":
				b.WriteByte('<')
			case "gt":
				b.WriteByte('>')
			case "amp":
				b.WriteByte('&')
			case "quot":
				b.WriteByte('"')
			case "apos":
				b.WriteByte('\'')
			default:
				if !strings.HasPrefix(ent, "#") {
					return "", ErrUnsupported
				}
				var n int
				var err error
				if strings.HasPrefix(ent, "#x") {
					_, err = fmt.Sscanf(ent[2:], "%x", &n)
				} else {
					_, err = fmt.Sscanf(ent[1:], "%d", &n)
				}
				if err != nil || n <= 0 || n > utf8.MaxRune {
					return "", fmt.Errorf("bad character reference &%s;", ent)
				}
				b.WriteRune(rune(n))
			}
			i += end
		case attr && (c == '\t' || c == '\n' || c == '\r'):
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func (r *run) startTag() error {
	d := r.doc
	lt := r.pos
	r.pos++
	name, ok := r.name()
	if !ok {
		return r.notWellFormed("a start tag without a name")
	}
	r.attrs = r.attrs[:0]
	nsDepth := len(r.scope)
	empty := false
	for {
		r.space()
		if r.pos >= len(d) {
			return r.notWellFormed("unterminated start tag")
		}
		if d[r.pos] == '>' {
			r.pos++
			break
		}
		if d[r.pos] == '/' {
			if r.pos+1 >= len(d) || d[r.pos+1] != '>' {
				return r.notWellFormed("'/' not followed by '>'")
			}
			r.pos += 2
			empty = true
			break
		}
		an, ok := r.name()
		if !ok {
			return r.notWellFormed("bad attribute in start tag of " + name)
		}
		r.space()
		if r.pos >= len(d) || d[r.pos] != '=' {
			return r.notWellFormed("attribute " + an + " without a value")
		}
		r.pos++
		r.space()
		if r.pos >= len(d) || (d[r.pos] != '"' && d[r.pos] != '\'') {
			return r.notWellFormed("attribute " + an + " value not quoted")
		}
		q := d[r.pos]
		// One pass over the value: its end, and whether it needs decoding.
		start, special, nonASCII := r.pos+1, false, false
		i := start
		for ; i < len(d) && d[i] != q; i++ {
			switch c := d[i]; {
			case c == '<':
				return r.notWellFormed("'<' in attribute value")
			case c == '&':
				special = true
			case c >= 0x80:
				nonASCII = true
			case c < ' ':
				if c != '\t' && c != '\n' && c != '\r' {
					return ErrUnsupported
				}
				special = true
				if c == '\n' {
					r.line++
				}
			}
		}
		if nonASCII && !utf8.Valid(d[start:i]) {
			return ErrUnsupported
		}
		if i >= len(d) {
			return r.notWellFormed("unterminated attribute value")
		}
		raw := d[start:i]
		r.pos = i + 1
		if r.pos < len(d) && d[r.pos] != '>' && d[r.pos] != '/' && d[r.pos] != ' ' && d[r.pos] != '\t' && d[r.pos] != '\n' && d[r.pos] != '\r' {
			return r.notWellFormed("attributes construct error")
		}
		v := bytesString(raw)
		if special {
			var err error
			if v, err = decode(raw, true); err != nil {
				if err == ErrUnsupported {
					return err
				}
				return r.notWellFormed(err.Error())
			}
		}
		p, l := splitName(an)
		switch {
		case an == "xmlns":
			r.scope = append(r.scope, binding{"", v})
		case p == "xmlns":
			r.scope = append(r.scope, binding{l, v})
		default:
			for _, a := range r.attrs {
				if a.prefix == p && a.local == l {
					return r.notWellFormed("attribute " + an + " redefined")
				}
			}
			r.attrs = append(r.attrs, rawAttr{prefix: p, local: l, value: v})
		}
	}
	// Prefixes resolve under the element's own declarations, wherever they
	// stand in the tag.
	for i := range r.attrs {
		if r.attrs[i].prefix != "" {
			r.attrs[i].ns, _ = r.lookup(r.attrs[i].prefix)
		}
	}
	prefix, local := splitName(name)
	uri, ok := r.lookup(prefix)
	if !ok {
		return r.notWellFormed("namespace prefix " + prefix + " is not defined")
	}
	line := r.line
	if err := r.open(name, qname{uri, local}, lt, line, nsDepth); err != nil {
		return err
	}
	if empty {
		return r.close()
	}
	return nil
}

func (r *run) endTag() error {
	d := r.doc
	r.pos += 2
	name, _ := r.name()
	r.space()
	if r.pos >= len(d) || d[r.pos] != '>' {
		return r.notWellFormed("bad end tag")
	}
	r.pos++
	if len(r.stack) == 0 || r.stack[len(r.stack)-1].name != name {
		return r.notWellFormed("end tag " + name + " does not match")
	}
	return r.close()
}

func (r *run) text(raw []byte) error {
	if !charsOK(raw) {
		return ErrUnsupported
	}
	if len(r.stack) == 0 {
		if !white(raw) {
			return r.notWellFormed("text outside the root element")
		}
		return nil
	}
	return r.charData(raw, false)
}

// charData is text of the element on top: kept for a simple type, refused
// (non-white) in element-only or empty content.
func (r *run) charData(raw []byte, cdata bool) error {
	f := &r.stack[len(r.stack)-1]
	if f.skip {
		return nil
	}
	if f.st != nil {
		if !cdata {
			v, err := decode(raw, false)
			if err != nil {
				if err == ErrUnsupported {
					return err
				}
				return r.notWellFormed(err.Error())
			}
			f.text = append(f.text, v...)
		} else {
			f.text = append(f.text, raw...)
		}
		return nil
	}
	if f.ct.mixed {
		if !cdata && bytes.IndexByte(raw, '&') >= 0 {
			if _, err := decode(raw, false); err != nil {
				if err == ErrUnsupported {
					return err
				}
				return r.notWellFormed(err.Error())
			}
		}
		return nil
	}
	if !white(raw) {
		kind := "element-only"
		if f.ct.model == nil {
			kind = "empty"
		}
		return r.fail(f.line, f.lt, f.name, "Character content other than whitespace is not allowed because the content type is '"+kind+"'.", nil)
	}
	return nil
}

// white tells whether raw is XML white space only (bytes.Trim builds its
// cut set on every call: a few per cent of a document's validation).
func white(raw []byte) bool {
	for _, c := range raw {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

func expectedNames(a *automaton, state int32) []string {
	if a == nil {
		return nil
	}
	var out []string
	for local := range a.trans[state] {
		out = append(out, local)
	}
	for _, w := range a.wild[state] {
		if wc := a.wc[w]; wc != nil {
			out = append(out, "##other")
		}
	}
	sortStrings(out)
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// open starts element name (q expanded): finds its declaration (the
// parent's content model or a global element), its type (xsi:type) and
// checks its attributes (r.attrs, their namespaces resolved).
func (r *run) open(name string, q qname, lt, line, nsDepth int) error {
	uri, local := q.ns, q.local
	nf := frame{name: name, line: line, lt: lt, nsDepth: nsDepth, state: 0}
	var decl *elemDecl
	if len(r.stack) == 0 {
		decl = r.s.elements[q]
		if decl == nil {
			return r.fail(line, lt, name, "No matching global declaration available for the validation root.", nil)
		}
	} else {
		p := &r.stack[len(r.stack)-1]
		p.hasChild = true
		switch {
		case p.skip:
			nf.skip = true
		case p.st != nil:
			return r.fail(line, lt, name, "Element '"+name+"': This element is not expected.", nil)
		case p.ct.anyType:
			decl = r.s.elements[q]
			if decl == nil {
				nf.ct, nf.lax = anyType, true
			}
		default:
			a := p.ct.model
			if a == nil {
				return r.fail(line, lt, name, "Element '"+name+"': This element is not expected.", nil)
			}
			e, ok := a.trans[p.state][local]
			ok = ok && e.ns == uri
			next := e.next
			if !ok {
				for _, w := range a.wild[p.state] {
					if a.wc[w].allows(uri) {
						next, ok = w, true
						break
					}
				}
			}
			if !ok {
				return r.fail(line, lt, name, "Element '"+name+"': This element is not expected.", expectedNames(a, p.state))
			}
			p.state = next
			if wc := a.wc[next]; wc != nil {
				switch wc.process {
				case skip:
					nf.skip = true
				default:
					decl = r.s.elements[q]
					if decl == nil {
						if wc.process == strict {
							return r.fail(line, lt, name, "Element '"+name+"': No matching global element declaration available, but demanded by the strict wildcard.", nil)
						}
						nf.ct, nf.lax = anyType, true
					}
				}
			} else {
				decl = a.elem[next]
			}
		}
	}
	if nf.skip || nf.lax {
		r.stack = append(r.stack, nf)
		return nil
	}
	t := decl.typ
	// xsi:type substitution.
	for _, at := range r.attrs {
		if at.local != "type" || at.ns != nsXSI {
			continue
		}
		tp, tl := splitName(strings.TrimSpace(at.value))
		tns, ok := r.lookup(tp)
		if !ok {
			return r.fail(line, lt, name, "Element '"+name+"', attribute 'xsi:type': The QName value '"+at.value+"' has no corresponding namespace declaration in scope.", nil)
		}
		sub, ok := r.s.typeNamed(qname{tns, tl})
		if !ok {
			return r.fail(line, lt, name, "Element '"+name+"', attribute 'xsi:type': The QName value '"+at.value+"' does not resolve to a type definition.", nil)
		}
		switch {
		case t.c != nil && sub.c != nil && sub.c.derivesFrom(t.c):
		case t.s != nil && sub.s == t.s:
		default:
			return r.fail(line, lt, name, "Element '"+name+"', attribute 'xsi:type': The type definition '"+at.value+"' is not validly derived from the type definition of the element declaration.", nil)
		}
		t = sub
	}
	nf.ct, nf.st = t.c, t.s
	if nf.ct != nil && nf.ct.abstract {
		return r.fail(line, lt, name, "Element '"+name+"': The type definition is abstract.", nil)
	}
	if err := r.checkAttrs(nf.ct, name, line, lt); err != nil {
		return err
	}
	r.stack = append(r.stack, nf)
	return nil
}

func (r *run) checkAttrs(ct *complexType, name string, line, lt int) error {
	var seen [16]*attrUse
	n := 0
	for i := range r.attrs {
		a := &r.attrs[i]
		ns := a.ns
		if a.prefix != "" && ns == "" {
			return r.notWellFormed("namespace prefix " + a.prefix + " is not defined")
		}
		if ns == nsXSI {
			switch a.local {
			case "type", "schemaLocation", "noNamespaceSchemaLocation":
				continue
			}
		}
		if ct == nil { // simple type: no attributes but xsi:*
			an := a.display()
			return r.fail(line, lt, name, "Element '"+name+"', attribute '"+an+"': The attribute '"+an+"' is not allowed.", nil)
		}
		u := ct.attr(ns, a.local)
		if u == nil {
			if ct.anyAttr != nil && ct.anyAttr.allows(ns) {
				if ct.anyAttr.process == strict {
					an := a.display()
					return r.fail(line, lt, name, "Element '"+name+"', attribute '"+an+"': No matching global attribute declaration available, but demanded by the strict wildcard.", nil)
				}
				continue
			}
			an := a.display()
			return r.fail(line, lt, name, "Element '"+name+"', attribute '"+an+"': The attribute '"+an+"' is not allowed.", nil)
		}
		if msg := u.typ.check(a.value, r.idSink()); msg != "" {
			return r.fail(line, lt, name, "Element '"+name+"', attribute '"+a.display()+"': "+msg+".", nil)
		}
		if u.hasFixed && normalize(a.value, u.typ.ws) != normalize(u.fixed, u.typ.ws) {
			return r.fail(line, lt, name, "Element '"+name+"', attribute '"+a.display()+"': The value '"+a.value+"' does not match the fixed value constraint '"+u.fixed+"'.", nil)
		}
		if u.required && n < len(seen) {
			seen[n] = u
			n++
		}
	}
	if ct == nil {
		return nil
	}
	for _, u := range ct.required {
		found := false
		for _, s := range seen[:n] {
			if s == u {
				found = true
			}
		}
		if !found && n >= len(seen) { // more required attributes than the fast path holds
			for _, a := range r.attrs {
				if (qname{a.ns, a.local}) == u.name {
					found = true
				}
			}
		}
		if !found {
			return r.fail(line, lt, name, "Element '"+name+"': The attribute '"+u.name.local+"' is required but missing.", nil)
		}
	}
	return nil
}

func (r *run) idSink() idSink {
	if r.ids == nil {
		r.ids = idSink{}
	}
	return r.ids
}

// close ends the element on top: its content model must accept, its
// simple content must be valid.
func (r *run) close() error {
	f := &r.stack[len(r.stack)-1]
	if !f.skip && !f.lax {
		switch {
		case f.st != nil:
			if msg := f.st.check(string(f.text), r.idSink()); msg != "" {
				return r.fail(f.line, f.lt, f.name, "Element '"+f.name+"': "+msg+".", nil)
			}
		case f.ct.model != nil && !f.ct.model.accept[f.state]:
			return r.fail(f.line, f.lt, f.name, "Element '"+f.name+"': Missing child element(s).", expectedNames(f.ct.model, f.state))
		}
	}
	r.scope = r.scope[:f.nsDepth]
	r.stack = r.stack[:len(r.stack)-1]
	return nil
}

// typeNamed finds a named type for xsi:type.
func (s *Schema) typeNamed(q qname) (typeRef, bool) {
	t, ok := s.types[q]
	return t, ok
}
