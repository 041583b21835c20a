package xsdcheck

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

const xsiNS = "http://www.w3.org/2001/XMLSchema-instance"

// Error is an instance that breaks the schema: where, which constraint, and
// how. Messages never quote the offending value (it may be a СНИЛС).
type Error struct {
	Path  string // e.g. /FetchResultsRequest/Limit, /SendReferralRequest/Referral/Signature[2]/Role
	Facet string // pattern, enumeration, length, minLength, maxLength, minInclusive, maxInclusive, type, minOccurs, maxOccurs, sequence, content, attribute, element, xml
	Msg   string
}

func (e *Error) Error() string { return e.Path + ": " + e.Msg + " (" + e.Facet + ")" }

// Elements lists the global element names, for callers that dispatch on them.
func (s *Schema) Elements() []string {
	var out []string
	for k := range s.elements {
		out = append(out, k)
	}
	return out
}

// ValidateDocument validates a standalone document whose root is one of the
// schema's global elements.
func (s *Schema) ValidateDocument(r io.Reader) error {
	dec := xml.NewDecoder(r)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return &Error{Path: "/", Facet: "xml", Msg: "no root element"}
		}
		if err != nil {
			return &Error{Path: "/", Facet: "xml", Msg: err.Error()}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := s.ValidateElement(dec, t); err != nil {
				return err
			}
			for {
				tok, err := dec.Token()
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return &Error{Path: "/", Facet: "xml", Msg: err.Error()}
				}
				if c, ok := tok.(xml.CharData); ok && len(strings.TrimSpace(string(c))) == 0 {
					continue
				}
				switch tok.(type) {
				case xml.Comment, xml.ProcInst:
					continue
				}
				return &Error{Path: "/", Facet: "xml", Msg: "content after the root element"}
			}
		case xml.Directive:
			return &Error{Path: "/", Facet: "xml", Msg: "DOCTYPE is not allowed"}
		}
	}
}

// ValidateElement validates the element that start opened, consuming dec up
// to and including its end.
func (s *Schema) ValidateElement(dec *xml.Decoder, start xml.StartElement) error {
	path := "/" + start.Name.Local
	d := s.elements[start.Name.Local]
	if start.Name.Space != s.NS || d == nil {
		return &Error{Path: path, Facet: "element", Msg: fmt.Sprintf("{%s}%s is not an element of this contract (namespace %s)", start.Name.Space, start.Name.Local, s.NS)}
	}
	return s.element(dec, start, d, path)
}

func (s *Schema) element(dec *xml.Decoder, start xml.StartElement, d *elemDecl, path string) error {
	for _, a := range start.Attr {
		switch {
		case a.Name.Space == "xmlns", a.Name.Space == "" && a.Name.Local == "xmlns":
		case a.Name.Space == xsiNS && (a.Name.Local == "schemaLocation" || a.Name.Local == "noNamespaceSchemaLocation"):
		default:
			return &Error{Path: path, Facet: "attribute", Msg: fmt.Sprintf("attribute %s is not allowed", a.Name.Local)}
		}
	}
	if d.simple != nil {
		return s.simpleContent(dec, d.simple, path)
	}
	return s.complexContent(dec, d.complex, path)
}

func token(dec *xml.Decoder, path string) (xml.Token, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, &Error{Path: path, Facet: "xml", Msg: err.Error()}
	}
	return tok, nil
}

func (s *Schema) simpleContent(dec *xml.Decoder, st *simpleType, path string) error {
	var text strings.Builder
	for {
		tok, err := token(dec, path)
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			text.Write(t)
		case xml.StartElement:
			return &Error{Path: path, Facet: "content", Msg: fmt.Sprintf("element %s is not allowed in a value of type %s", t.Name.Local, st.name)}
		case xml.EndElement:
			return st.check(text.String(), path)
		}
	}
}

func (s *Schema) complexContent(dec *xml.Decoder, ct *complexType, path string) error {
	i, n := 0, 0 // the particle being matched and how many times it has been
	missing := func(p *elemDecl, found string) error {
		return &Error{Path: path, Facet: "minOccurs", Msg: fmt.Sprintf("element %s is missing (minOccurs=%d)%s", p.name, p.min, found)}
	}
	for {
		tok, err := token(dec, path)
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(strings.TrimSpace(string(t))) > 0 {
				return &Error{Path: path, Facet: "content", Msg: "text is not allowed between elements"}
			}
		case xml.StartElement:
			name := t.Name.Local
			if t.Name.Space != s.NS {
				name = "{" + t.Name.Space + "}" + t.Name.Local
			}
			for {
				if i == len(ct.seq) {
					return &Error{Path: path, Facet: "sequence", Msg: fmt.Sprintf("element %s is not expected here", name)}
				}
				p := ct.seq[i]
				if t.Name.Space == s.NS && t.Name.Local == p.name {
					if p.max >= 0 && n == p.max {
						return &Error{Path: path, Facet: "maxOccurs", Msg: fmt.Sprintf("element %s occurs more than %d times (maxOccurs=%d)", p.name, p.max, p.max)}
					}
					n++
					break
				}
				if n < p.min {
					return missing(p, ", found "+name)
				}
				i, n = i+1, 0
			}
			p := ct.seq[i]
			child := path + "/" + p.name
			if p.max != 1 {
				child += "[" + strconv.Itoa(n) + "]"
			}
			if err := s.element(dec, t, p, child); err != nil {
				return err
			}
		case xml.EndElement:
			for ; i < len(ct.seq); i, n = i+1, 0 {
				if n < ct.seq[i].min {
					return missing(ct.seq[i], "")
				}
			}
			return nil
		}
	}
}

// collapse is the whiteSpace="collapse" normalisation of every built-in type
// here but xs:string (which preserves).
func collapse(v string) string { return strings.Join(strings.Fields(v), " ") }

func (st *simpleType) check(raw, path string) error {
	bad := func(facet, format string, args ...any) error {
		return &Error{Path: path, Facet: facet, Msg: "a value of type " + st.name + ": " + fmt.Sprintf(format, args...)}
	}
	v := raw
	length := utf8.RuneCountInString(v)
	var num int64
	switch st.builtin {
	case "int":
		v = collapse(raw)
		n, err := parseInt(v)
		if err != nil {
			return bad("type", "%v", err)
		}
		num = n
	case "base64Binary":
		v = collapse(raw)
		b, err := base64.StdEncoding.Strict().DecodeString(strings.ReplaceAll(v, " ", ""))
		if err != nil {
			return bad("type", "not xs:base64Binary")
		}
		length = len(b)
	case "dateTime":
		v = collapse(raw)
		if !validDateTime(v) {
			return bad("type", "not xs:dateTime")
		}
	}
	if st.length != nil && length != *st.length {
		return bad("length", "want length %d, have %d", *st.length, length)
	}
	if st.minLength != nil && length < *st.minLength {
		return bad("minLength", "want at least %d, have %d", *st.minLength, length)
	}
	if st.maxLength != nil && length > *st.maxLength {
		return bad("maxLength", "want at most %d, have %d", *st.maxLength, length)
	}
	if len(st.patterns) > 0 {
		// Patterns of one restriction step are alternatives (XSD 1.0 §4.3.4.3).
		ok := false
		var srcs []string
		for _, p := range st.patterns {
			ok = ok || p.re.MatchString(v)
			srcs = append(srcs, p.src)
		}
		if !ok {
			return bad("pattern", "does not match %s", strings.Join(srcs, " | "))
		}
	}
	if len(st.enum) > 0 {
		ok := false
		for _, e := range st.enum {
			ok = ok || e == v
		}
		if !ok {
			return bad("enumeration", "not one of %s", strings.Join(st.enum, ", "))
		}
	}
	if st.minIncl != nil && num < *st.minIncl {
		return bad("minInclusive", "want at least %d", *st.minIncl)
	}
	if st.maxIncl != nil && num > *st.maxIncl {
		return bad("maxInclusive", "want at most %d", *st.maxIncl)
	}
	return nil
}

var dateTimeLex = regexp.MustCompile(`^-?([1-9][0-9]{3,}|0[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?|24:00:00(\.0+)?)(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?$`)

func validDateTime(v string) bool {
	m := dateTimeLex.FindStringSubmatch(v)
	if m == nil {
		return false
	}
	year, err := strconv.Atoi(m[1])
	if err != nil {
		return false
	}
	if strings.HasPrefix(v, "-") {
		year = -year
	}
	month, _ := strconv.Atoi(m[2])
	day, _ := strconv.Atoi(m[3])
	days := []int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day <= days
}

// IsInvalid reports whether err says an instance breaks the schema (rather
// than, say, an I/O failure).
func IsInvalid(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
