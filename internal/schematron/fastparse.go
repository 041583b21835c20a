package schematron

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	"github.com/emdhub/hub/internal/semd"
)

// parseFast is the DOM parse for the documents the door sees: its own
// tokenizer over one string copy of the input, whose text and attribute
// values are substrings of that copy (no allocation per token, unlike
// encoding/xml's RawToken, which cost ~3× the validation).
//
// It is deliberately partial: it accepts only what it is sure encoding/xml
// (Strict) accepts with the same result — ASCII names with at most one colon,
// the five predefined entities, UTF-8 text of XML characters, comments, an
// XML declaration of version 1.0 in UTF-8 — and returns nil on anything else
// (a DOCTYPE, CDATA, a character reference, a processing instruction, any
// error, any limit exceeded). ParseLimited then parses with encoding/xml,
// which gives the verdict and the error message. So the fast path can never
// accept what the reference refuses, and FuzzParseFastAgreesWithStd holds it
// to the same DOM whenever it accepts.
func parseFast(b []byte, lim semd.Limits) *Document {
	p := &fastParser{tabs: new(nameTables)}
	return p.parse(string(b), lim)
}

// parse parses s with p, whose buffers it reuses (a pooled parser's from
// its previous document): nil when not decided here.
func (p *fastParser) parse(s string, lim semd.Limits) *Document {
	// The name tables are stale as soon as the generation moves on, so
	// a reused parser needs no clearing unless the counter would wrap.
	gen := p.gen + 1
	if gen >= 1<<30 {
		*p.tabs = nameTables{}
		gen = 1
	}
	names := p.names // empty: a pooled parser's was cleared by keep
	if names == nil {
		names = make(map[qname]int32, 64)
	}
	nodes := p.bufs.nodes
	if nodes == nil {
		nodes = make([]node, 0, len(s)/24+8)
	}
	// A fresh parser value and a fresh Document: a field added to either
	// starts zeroed, only the buffers below carry over.
	*p = fastParser{s: s, lim: lim, gen: gen, tabs: p.tabs, names: names, bufs: p.bufs,
		scope: p.scope[:0], stack: p.stack[:0], attrs: p.attrs[:0]}
	p.d = &Document{nodes: nodes[:1], names: p.bufs.names[:0], src: s, extra: p.bufs.extra[:0], prefixes: p.bufs.prefixes[:0]}
	p.d.nodes[0] = node{kind: docNode, name: -1, parent: -1, first: -1, next: -1}
	p.scope = append(p.scope, binding{"xml", "http://www.w3.org/XML/1998/namespace"})
	p.stack = append(p.stack, fastFrame{id: 0, last: -1})
	if !p.run() {
		return nil
	}
	return p.d
}

// The door's pooled parse (ParsePooled, Document.Release): a parser and the
// buffers of the document it built last, reused for the next document.
var parserPool sync.Pool

// maxPooledNodes bounds what the pool keeps: the buffers of a document far
// larger than the usual (~2,000 nodes for a 121) go to the GC instead.
const maxPooledNodes = 1 << 16

// docBufs are the slices of a released Document that the next one reuses.
type docBufs struct {
	nodes    []node
	names    []qname
	extra    []string
	prefixes []string
}

// ParsePooled is ParseFast for the door, which releases the Document
// (Release) when its checks are done: the parser, the node slice, names and
// extra values are reused for the next document, and the document is not
// copied — its values point into b. So b must not change until Release.
// Strings read from the Document (names, values) are substrings of b or
// strings of their own, never the pool's memory: they stay valid after
// Release for as long as b does not change; whatever outlives the caller's
// use of b must copy them (semd.FromTree's header does). Callers that keep
// the DOM use ParseFast or ParseLimited, which build fresh Documents.
func ParsePooled(b []byte, lim semd.Limits) *Document {
	p, _ := parserPool.Get().(*fastParser)
	if p == nil {
		p = &fastParser{tabs: new(nameTables)}
	}
	d := p.parse(unsafe.String(unsafe.SliceData(b), len(b)), lim)
	if d == nil {
		p.keep(p.d)
		parserPool.Put(p)
		return nil
	}
	d.parser = p
	pooledInUse.Add(1)
	return d
}

// pooledInUse counts the Documents from ParsePooled not yet released.
var pooledInUse atomic.Int64

// PooledInUse is the number of Documents from ParsePooled not yet
// released: it goes back to what it was once a caller is done, unless the
// caller leaks them (tests of the door hold it to that).
func PooledInUse() int64 { return pooledInUse.Load() }

// Release gives a Document from ParsePooled back to the pool; it is empty
// afterwards (any further use fails loudly rather than reading the next
// document). A no-op on nil and on Documents not from ParsePooled.
func (d *Document) Release() {
	if d == nil || d.parser == nil {
		return
	}
	p := d.parser
	pooledInUse.Add(-1)
	p.keep(d)
	*d = Document{}
	if cap(p.bufs.nodes) <= maxPooledNodes {
		parserPool.Put(p)
	}
}

// keep takes d's buffers for the parser's next document, dropping what
// they point to (the strings point into the caller's bytes or are the
// document's rewritten values: nothing of them may outlive the document).
func (p *fastParser) keep(d *Document) {
	clear(d.names)
	clear(d.extra)
	clear(d.prefixes)
	p.bufs = docBufs{nodes: d.nodes[:0], names: d.names[:0], extra: d.extra[:0], prefixes: d.prefixes[:0]}
	clear(p.scope[:cap(p.scope)])
	clear(p.stack[:cap(p.stack)])
	clear(p.attrs[:cap(p.attrs)])
	clear(p.names)
	p.s, p.text, p.d = "", "", nil
}

type binding struct{ prefix, uri string }

type fastFrame struct {
	id, last int32
	// the element's raw name (prefix:local as written) is s[nstart:nend]
	nstart, nend int32
	nsDepth      int
}

type fastAttr struct {
	prefix, local, value string
	start, end           int // the raw name in the input
	hash                 uint32
}

// nameSlot caches the interned name of a raw element or attribute name
// (prefix:local as written, at s[off:off+n]) under the namespace scope of
// generation gen: most names repeat under the root's declarations, and
// resolving and hashing the expanded name each time was ~15% of the parse.
type nameSlot struct {
	off, n, id int32
	gen        uint32
}

const nameSlots = 256 // a power of two; a 121 has ~100 distinct names

type fastParser struct {
	s        string
	i        int
	d        *Document
	lim      semd.Limits
	names    map[qname]int32
	scope    []binding
	stack    []fastFrame
	attrs    []fastAttr
	elements int
	rootSeen bool
	text     string // character data of the open text node
	textOpen bool
	// the raw name name() read last: s[nstart:p.i], its nameHash
	nstart int
	nhash  uint32
	// gen is the namespace scope's generation: it changes whenever a
	// declaration comes into or goes out of scope, which makes every
	// cached name stale. Elements and attributes resolve unprefixed names
	// differently, hence two tables.
	gen  uint32
	tabs *nameTables
	// bufs are the buffers the next Document reuses (ParsePooled).
	bufs docBufs
}

// nameTables are the parser's name caches (behind a pointer: resetting a
// pooled parser must not copy them).
type nameTables struct {
	elem, attr [nameSlots]nameSlot
}

// cachedName looks the raw name s[start:end] up in tab: its id when it was
// interned under the current scope, else the slot to fill (nil: the probe
// sequence is full, do not cache).
func (p *fastParser) cachedName(tab *[nameSlots]nameSlot, start, end int, h uint32) (*nameSlot, int32, bool) {
	raw := p.s[start:end]
	for k := uint32(0); k < 8; k++ {
		e := &tab[(h+k)&(nameSlots-1)]
		if e.gen != p.gen {
			return e, 0, false
		}
		if int(e.n) == len(raw) && p.s[e.off:e.off+e.n] == raw {
			return e, e.id, true
		}
	}
	return nil, 0, false
}

// remember fills slot e (from cachedName) with the id of s[start:end].
func (p *fastParser) remember(e *nameSlot, start, end int, id int32) {
	if e != nil {
		*e = nameSlot{off: int32(start), n: int32(end - start), id: id, gen: p.gen}
	}
}

func (p *fastParser) intern(q qname) int32 {
	if id, ok := p.names[q]; ok {
		return id
	}
	id := int32(len(p.d.names))
	p.d.names = append(p.d.names, q)
	p.names[q] = id
	return id
}

func (p *fastParser) lookup(prefix string) (string, bool) {
	for i := len(p.scope) - 1; i >= 0; i-- {
		if p.scope[i].prefix == prefix {
			return p.scope[i].uri, true
		}
	}
	return "", prefix == ""
}

func (p *fastParser) link(id int32) {
	top := &p.stack[len(p.stack)-1]
	if top.last < 0 {
		p.d.nodes[top.id].first = id
	} else {
		p.d.nodes[top.last].next = id
	}
	top.last = id
}

func (p *fastParser) flush() {
	if !p.textOpen {
		return
	}
	p.textOpen = false
	id := int32(len(p.d.nodes))
	off, n := p.d.locate(p.text)
	p.d.nodes = append(p.d.nodes, node{kind: textNode, name: -1, parent: p.stack[len(p.stack)-1].id, first: -1, next: -1, end: id, voff: off, vlen: n})
	p.text = ""
	p.link(id)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *fastParser) skipSpace() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

// run parses the whole input; false: not decided here.
func (p *fastParser) run() bool {
	s := p.s
	if strings.HasPrefix(s, "<?xml") && len(s) > 5 && isSpace(s[5]) && !p.xmlDecl() {
		return false
	}
	for p.i < len(s) {
		c := s[p.i]
		if c != '<' {
			if len(p.stack) == 1 { // outside the root: whitespace only
				if !isSpace(c) {
					return false
				}
				p.i++
				continue
			}
			t, ok := p.chars(0)
			if !ok {
				return false
			}
			if p.textOpen {
				p.text += t
			} else {
				p.text, p.textOpen = t, true
			}
			continue
		}
		if p.i+1 >= len(s) {
			return false
		}
		switch s[p.i+1] {
		case '/':
			if !p.endTag() {
				return false
			}
		case '!':
			if !p.comment() {
				return false
			}
		case '?':
			return false
		default:
			if !p.startTag() {
				return false
			}
		}
	}
	if len(p.stack) != 1 || !p.rootSeen {
		return false
	}
	p.d.nodes[0].end = int32(len(p.d.nodes) - 1)
	return true
}

// xmlDecl accepts <?xml version="1.0" [encoding="utf-8"] [standalone="…"]?>
// (either quote, encoding in any case) at the start of the input.
func (p *fastParser) xmlDecl() bool {
	end := strings.Index(p.s, "?>")
	if end < 0 {
		return false
	}
	body := p.s[6:end]
	for i, want := range []string{"version", "encoding", "standalone"} {
		body = strings.TrimLeft(body, " \t\r\n")
		if !strings.HasPrefix(body, want+"=") {
			if i == 0 {
				return false
			}
			continue
		}
		body = body[len(want)+1:]
		if body == "" || body[0] != '"' && body[0] != '\'' {
			return false
		}
		q := strings.IndexByte(body[1:], body[0])
		if q < 0 {
			return false
		}
		v := body[1 : 1+q]
		body = body[2+q:]
		switch {
		case want == "version" && v != "1.0",
			want == "encoding" && !strings.EqualFold(v, "utf-8"),
			want == "standalone" && v != "yes" && v != "no":
			return false
		}
		if body != "" && !isSpace(body[0]) {
			return false
		}
	}
	if strings.TrimLeft(body, " \t\r\n") != "" {
		return false
	}
	p.i = end + 2
	return true
}

// comment skips <!-- … -->; "--" inside is an error (left to the reference).
func (p *fastParser) comment() bool {
	s := p.s
	if !strings.HasPrefix(s[p.i:], "<!--") {
		return false // DOCTYPE, CDATA: the reference parser's business
	}
	body := s[p.i+4:]
	k := strings.Index(body, "--")
	if k < 0 || k+2 >= len(body) || body[k+2] != '>' || !xmlChars(body[:k]) {
		return false
	}
	p.i += 4 + k + 3
	return true
}

// name reads prefix:local or local of ASCII name characters; anything else
// (non-ASCII names, two colons) is left to the reference parser.
func (p *fastParser) name() (prefix, local string, ok bool) {
	s := p.s
	start := p.i
	colon := -1
	i := p.i
	if i >= len(s) || byteClass[s[i]]&nameStartByte == 0 {
		return "", "", false
	}
	i++
	for {
		for i < len(s) && byteClass[s[i]]&nameByte != 0 {
			i++
		}
		if i+1 < len(s) && s[i] == ':' && colon < 0 && byteClass[s[i+1]]&nameStartByte != 0 {
			colon = i
			i += 2
			continue
		}
		break
	}
	p.nstart, p.nhash = start, nameHash(s[start:i])
	if i < len(s) && (s[i] >= utf8.RuneSelf || s[i] == ':') {
		return "", "", false
	}
	p.i = i
	if colon < 0 {
		return "", s[start:i], true
	}
	return s[start:colon], s[colon+1 : i], true
}

// nameHash is the name cache's hash of a raw name (not empty): its length
// and three of its bytes, mixed. Cheaper than hashing every byte, and the
// cache compares the whole name anyway: a collision costs a probe.
func nameHash(n string) uint32 {
	h := uint32(len(n))<<24 | uint32(n[0])<<16 | uint32(n[len(n)/2])<<8 | uint32(n[len(n)-1])
	return (h * 0x9E3779B1) >> 16
}

// byteClass: what the tokenizer must know of a byte, one table lookup.
const (
	nameStartByte = 1 << iota // a name may start with it (ASCII only)
	nameByte                  // a name may go on with it
	stopText                  // chars must look at it in text
	stopDQ                    // … in a "-quoted value
	stopSQ                    // … in a '-quoted value
)

var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			t[c] = nameStartByte | nameByte
		case c >= '0' && c <= '9' || c == '-' || c == '.':
			t[c] = nameByte
		case c == '\t' || c == '\n':
		case c < 0x20 || c >= utf8.RuneSelf || c == '<' || c == '&' || c == '\r':
			t[c] = stopText | stopDQ | stopSQ
		case c == ']':
			t[c] = stopText
		case c == '"':
			t[c] = stopDQ
		case c == '\'':
			t[c] = stopSQ
		}
	}
	return t
}()

// chars reads character data up to '<' (quote 0) or up to the closing quote
// of an attribute value, leaving p.i on the terminator. The value is a
// substring of the input unless it has entities or carriage returns. Runs
// of ordinary bytes cost one table lookup each.
func (p *fastParser) chars(quote byte) (string, bool) {
	s := p.s
	start := p.i
	i := p.i
	rewrite := false
	stop := uint8(stopText)
	switch quote {
	case '"':
		stop = stopDQ
	case '\'':
		stop = stopSQ
	}
	for {
		for i < len(s) && byteClass[s[i]]&stop == 0 {
			i++
		}
		if i >= len(s) {
			break
		}
		switch c := s[i]; {
		case c == '<':
			if quote != 0 {
				return "", false
			}
			goto done
		case c == quote && quote != 0:
			goto done
		case c == '&' || c == '\r':
			rewrite = true
			i++
		case c == ']':
			if strings.HasPrefix(s[i:], "]]>") {
				return "", false
			}
			i++
		case c < 0x20:
			return "", false
		case c >= 0xC2 && c <= 0xDF && i+1 < len(s) && s[i+1]&0xC0 == 0x80:
			// A two-byte sequence (Cyrillic): always a valid XML character.
			i += 2
			for i+1 < len(s) && s[i] >= 0xC2 && s[i] <= 0xDF && s[i+1]&0xC0 == 0x80 {
				i += 2
			}
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 || !inCharRange(r) {
				return "", false
			}
			i += n
		}
	}
	if quote != 0 {
		return "", false // unterminated attribute value
	}
done:
	p.i = i
	if !rewrite {
		return s[start:i], true
	}
	return unescape(s[start:i])
}

// xmlChars tells whether s is UTF-8 of XML characters only. encoding/xml
// does not look inside comments, but libxml2 (the XSD's verdict) refuses a
// comment holding a control character or a bad byte, so a DOM that passes
// the XSD check on the tree (cdaxsd) must not come from such a document.
func xmlChars(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf || c == '\t' || c == '\n' || c == '\r' {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || !inCharRange(r) {
			return false
		}
		i += n
	}
	return true
}

func inCharRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// unescape replaces the five predefined entities and turns \r\n and \r into
// \n, as encoding/xml does; other references are left to the reference parser.
func unescape(v string) (string, bool) {
	var sb strings.Builder
	sb.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '\r':
			sb.WriteByte('\n')
			if i+1 < len(v) && v[i+1] == '\n' {
				i++
			}
		case '&':
			semi := strings.IndexByte(v[i:], ';')
			if semi < 0 {
				return "", false
			}
			switch v[i+1 : i+semi] {
			case "lt":
				sb.WriteByte('<')
			case "gt":
				sb.WriteByte('>')
			case "amp":
				sb.WriteByte('&')
			case "apos":
				sb.WriteByte('\'')
			case "quot":
				sb.WriteByte('"')
			default:
				return "", false
			}
			i += semi
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String(), true
}

func (p *fastParser) startTag() bool {
	s := p.s
	p.i++ // <
	prefix, local, ok := p.name()
	if !ok {
		return false
	}
	estart, eend, ehash := p.nstart, p.i, p.nhash
	p.flush()
	if len(p.stack) == 1 {
		if p.rootSeen {
			return false
		}
		p.rootSeen = true
	}
	p.attrs = p.attrs[:0]
	empty := false
	for {
		sp := p.i
		p.skipSpace()
		if p.i >= len(s) {
			return false
		}
		if s[p.i] == '>' {
			p.i++
			break
		}
		if s[p.i] == '/' {
			if p.i+1 >= len(s) || s[p.i+1] != '>' {
				return false
			}
			p.i += 2
			empty = true
			break
		}
		if p.i == sp { // attributes must be separated by white space here
			return false
		}
		ap, al, ok := p.name()
		if !ok {
			return false
		}
		astart, aend, ahash := p.nstart, p.i, p.nhash
		p.skipSpace()
		if p.i >= len(s) || s[p.i] != '=' {
			return false
		}
		p.i++
		p.skipSpace()
		if p.i >= len(s) || s[p.i] != '"' && s[p.i] != '\'' {
			return false
		}
		q := s[p.i]
		p.i++
		v, ok := p.chars(q)
		if !ok {
			return false
		}
		p.i++ // closing quote
		p.attrs = append(p.attrs, fastAttr{ap, al, v, astart, aend, ahash})
	}
	lim := p.lim
	p.elements++
	if lim.MaxElements > 0 && p.elements > lim.MaxElements ||
		lim.MaxDepth > 0 && len(p.stack) > lim.MaxDepth ||
		lim.MaxAttrs > 0 && len(p.attrs) > lim.MaxAttrs {
		return false
	}
	nsDepth := len(p.scope)
	for _, a := range p.attrs {
		if lim.MaxAttrBytes > 0 && len(a.value) > lim.MaxAttrBytes {
			return false
		}
		switch {
		case a.prefix == "xmlns":
			p.scope = append(p.scope, binding{a.local, a.value})
			p.d.prefixes = append(p.d.prefixes, a.local)
			p.d.nsDecls = append(p.d.nsDecls, NSDecl{int32(len(p.d.nodes)), a.local, a.value}) // the element's id-to-be
		case a.prefix == "" && a.local == "xmlns":
			p.scope = append(p.scope, binding{"", a.value})
			p.d.nsDecls = append(p.d.nsDecls, NSDecl{int32(len(p.d.nodes)), "", a.value})
		}
	}
	if len(p.scope) != nsDepth {
		p.gen++
	}
	slot, name, hit := p.cachedName(&p.tabs.elem, estart, eend, ehash)
	if !hit {
		uri, ok := p.lookup(prefix)
		if !ok {
			return false
		}
		name = p.intern(qname{uri, local})
		p.remember(slot, estart, eend, name)
	}
	id := int32(len(p.d.nodes))
	p.d.nodes = append(p.d.nodes, node{kind: elemNode, name: name, parent: p.stack[len(p.stack)-1].id, first: -1, next: -1})
	p.link(id)
	for _, a := range p.attrs {
		if a.prefix == "xmlns" || a.prefix == "" && a.local == "xmlns" {
			continue
		}
		slot, name, hit := p.cachedName(&p.tabs.attr, a.start, a.end, a.hash)
		if !hit {
			auri := ""
			if a.prefix != "" {
				var ok bool
				if auri, ok = p.lookup(a.prefix); !ok {
					return false
				}
			}
			name = p.intern(qname{auri, a.local})
			p.remember(slot, a.start, a.end, name)
		}
		aid := int32(len(p.d.nodes))
		off, n := p.d.locate(a.value)
		p.d.nodes = append(p.d.nodes, node{kind: attrNode, name: name, parent: id, first: -1, next: -1, end: aid, voff: off, vlen: n})
	}
	if empty {
		p.d.nodes[id].end = int32(len(p.d.nodes) - 1)
		if len(p.scope) != nsDepth {
			p.scope = p.scope[:nsDepth]
			p.gen++
		}
		return true
	}
	p.stack = append(p.stack, fastFrame{id: id, last: -1, nstart: int32(estart), nend: int32(eend), nsDepth: nsDepth})
	return true
}

func (p *fastParser) endTag() bool {
	p.i += 2 // </
	top := p.stack[len(p.stack)-1]
	if len(p.stack) == 1 {
		return false
	}
	// The end tag repeats the open element's raw name and ends there:
	// compared as bytes, not scanned as a name again. Anything else (another
	// name, a longer one, a malformed one) is not well-formed.
	raw := p.s[top.nstart:top.nend]
	if !strings.HasPrefix(p.s[p.i:], raw) {
		return false
	}
	p.i += len(raw)
	if p.i < len(p.s) && p.s[p.i] != '>' && !isSpace(p.s[p.i]) {
		return false
	}
	p.skipSpace()
	if p.i >= len(p.s) || p.s[p.i] != '>' {
		return false
	}
	p.i++
	p.flush()
	p.d.nodes[top.id].end = int32(len(p.d.nodes) - 1)
	if len(p.scope) != top.nsDepth {
		p.scope = p.scope[:top.nsDepth]
		p.gen++
	}
	p.stack = p.stack[:len(p.stack)-1]
	return true
}
