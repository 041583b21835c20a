package refbook

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// The scanner below walks a document's tags without building tokens: level
// 2 runs on every document at the door after the header parse and the
// schematron have already proved it well-formed, so all it needs is each
// start tag's name and a handful of attributes. It allocates nothing per
// element (names and values are slices of the input) except for values
// with entity or character references or literal tabs and newlines, which
// are decoded and normalised (XML 1.0 §3.3.3: each is one space) into a
// fresh slice. It is not a validating parser: it refuses what it cannot
// walk (an unterminated tag, comment or value) rather than guessing.

var errTruncated = errors.New("refbook: the document ends inside a tag")

// attrs are the attributes level 2 looks at, as slices of the document
// (decoded when they needed it, except the two names: see sameName). A nil
// slice is an absent attribute.
type attrs struct {
	code, system, version, systemName, display []byte
	root, ext                                  []byte
	null                                       bool
}

// tag is one start tag.
type tag struct {
	name  []byte // as written, prefix:local
	local []byte
	empty bool // <x/>
	attrs attrs
}

type scanner struct {
	d   []byte
	pos int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// stop marks the bytes that end an element or attribute name: white
// space, '>', '/', '=' (a table: the scan's innermost loops test it per byte).
var stop = func() (t [256]bool) {
	for _, c := range []byte(" \t\n\r>/=") {
		t[c] = true
	}
	return t
}()

// skipTo moves past the next occurrence of end, or fails.
func (s *scanner) skipTo(end string) error {
	i := bytes.Index(s.d[s.pos:], []byte(end))
	if i < 0 {
		return errTruncated
	}
	s.pos += i + len(end)
	return nil
}

// next returns the next start tag (end tags are reported with end set and
// only the name), or io.EOF-like ok=false at the end of the document.
func (s *scanner) next(t *tag) (end, ok bool, err error) {
	for {
		i := bytes.IndexByte(s.d[s.pos:], '<')
		if i < 0 {
			return false, false, nil
		}
		s.pos += i + 1
		if s.pos >= len(s.d) {
			return false, false, errTruncated
		}
		switch c := s.d[s.pos]; c {
		case '?':
			if err := s.skipTo("?>"); err != nil {
				return false, false, err
			}
			continue
		case '!':
			rest := s.d[s.pos:]
			switch {
			case bytes.HasPrefix(rest, []byte("!--")):
				s.pos += 3
				err = s.skipTo("-->")
			case bytes.HasPrefix(rest, []byte("![CDATA[")):
				err = s.skipTo("]]>")
			default: // <!DOCTYPE …[ … ]>: skip brackets and quoted strings
				err = s.skipDecl()
			}
			if err != nil {
				return false, false, err
			}
			continue
		case '/':
			s.pos++
			j := bytes.IndexByte(s.d[s.pos:], '>')
			if j < 0 {
				return false, false, errTruncated
			}
			s.pos += j + 1
			return true, true, nil
		}
		return false, true, s.startTag(t)
	}
}

// skipDecl skips a directive (<!DOCTYPE …>) as encoding/xml reads one —
// the door's parser, which has accepted the document: the character after
// "<!" is taken as it is, quoted text is skipped, a "<" opens a nesting
// level that a ">" closes (a "<!--" a comment up to "-->"), and the ">" at
// level 0 ends it. s.pos is at the "!".
func (s *scanner) skipDecl() error {
	d := s.d
	s.pos += 2
	var quote byte
	depth := 0
	for ; s.pos < len(d); s.pos++ {
		c := d[s.pos]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '>' && depth == 0:
			s.pos++
			return nil
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			depth--
		case c == '<':
			if bytes.HasPrefix(d[s.pos:], []byte("<!--")) {
				s.pos += 4
				if err := s.skipTo("-->"); err != nil {
					return err
				}
				s.pos--
				continue
			}
			depth++
		}
	}
	return errTruncated
}

// startTag reads a start tag from its name (s.pos is just after '<').
func (s *scanner) startTag(t *tag) error {
	d := s.d
	start := s.pos
	colon := -1
	for s.pos < len(d) && !stop[d[s.pos]] {
		if d[s.pos] == ':' {
			colon = s.pos
		}
		s.pos++
	}
	if s.pos == start {
		return fmt.Errorf("refbook: empty element name at byte %d", start)
	}
	t.name = d[start:s.pos]
	t.local = t.name
	if colon >= 0 {
		t.local = d[colon+1 : s.pos]
	}
	t.attrs = attrs{}
	t.empty = false
	for {
		for s.pos < len(d) && isSpace(d[s.pos]) {
			s.pos++
		}
		if s.pos >= len(d) {
			return errTruncated
		}
		switch d[s.pos] {
		case '>':
			s.pos++
			return nil
		case '/':
			if s.pos+1 >= len(d) || d[s.pos+1] != '>' {
				return fmt.Errorf("refbook: bad '/' in a tag at byte %d", s.pos)
			}
			s.pos += 2
			t.empty = true
			return nil
		}
		ns := s.pos
		for s.pos < len(d) && !stop[d[s.pos]] {
			s.pos++
		}
		name := d[ns:s.pos]
		for s.pos < len(d) && isSpace(d[s.pos]) {
			s.pos++
		}
		if s.pos >= len(d) || d[s.pos] != '=' || len(name) == 0 {
			return fmt.Errorf("refbook: attribute without a value at byte %d", ns)
		}
		s.pos++
		for s.pos < len(d) && isSpace(d[s.pos]) {
			s.pos++
		}
		if s.pos >= len(d) || (d[s.pos] != '"' && d[s.pos] != '\'') {
			return fmt.Errorf("refbook: unquoted attribute value at byte %d", ns)
		}
		q := d[s.pos]
		s.pos++
		j := bytes.IndexByte(d[s.pos:], q)
		if j < 0 {
			return errTruncated
		}
		raw := d[s.pos : s.pos+j : s.pos+j]
		s.pos += j + 1
		var dst *[]byte
		switch string(name) {
		case "code":
			dst = &t.attrs.code
		case "codeSystem":
			dst = &t.attrs.system
		case "codeSystemVersion":
			dst = &t.attrs.version
		case "codeSystemName": // long: decoded only when compared (sameName)
			t.attrs.systemName = raw
			continue
		case "displayName":
			t.attrs.display = raw
			continue
		case "root":
			dst = &t.attrs.root
		case "extension":
			dst = &t.attrs.ext
		case "nullFlavor":
			t.attrs.null = true
			continue
		default:
			continue
		}
		v, err := attrValue(raw)
		if err != nil {
			return fmt.Errorf("refbook: attribute %s at byte %d: %w", name, ns, err)
		}
		*dst = v
	}
}

// attrValue is an attribute's value: entity and character references
// decoded, literal whitespace characters made spaces. A value with neither
// is returned as it is (never nil).
func attrValue(raw []byte) ([]byte, error) {
	plain := true
	for _, c := range raw {
		if c == '&' || c == '\t' || c == '\n' || c == '\r' {
			plain = false
			break
		}
	}
	if plain {
		if raw == nil {
			return []byte{}, nil
		}
		return raw, nil
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '\r': // a line end is one space, \r\n included (XML 1.0 §2.11)
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			out = append(out, ' ')
			continue
		case '\t', '\n':
			out = append(out, ' ')
			continue
		case '&':
		default:
			out = append(out, c)
			continue
		}
		j := bytes.IndexByte(raw[i:], ';')
		if j < 0 {
			return nil, errors.New("unterminated reference")
		}
		ref := string(raw[i+1 : i+j])
		i += j
		switch ref {
		case "lt":
			out = append(out, '<')
		case "gt":
			out = append(out, '>')
		case "amp":
			out = append(out, '&')
		case "quot":
			out = append(out, '"')
		case "apos":
			out = append(out, '\'')
		default:
			if len(ref) < 2 || ref[0] != '#' {
				return nil, fmt.Errorf("unknown entity &%s;", ref)
			}
			var n uint64
			var err error
			if ref[1] == 'x' {
				n, err = strconv.ParseUint(ref[2:], 16, 32)
			} else {
				n, err = strconv.ParseUint(ref[1:], 10, 32)
			}
			if err != nil || !utf8.ValidRune(rune(n)) {
				return nil, fmt.Errorf("bad character reference &%s;", ref)
			}
			out = utf8.AppendRune(out, rune(n))
		}
	}
	return out, nil
}
