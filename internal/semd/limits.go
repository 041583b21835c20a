package semd

import (
	"encoding/xml"
	"fmt"
	"strings"
)

// Limits bound what the door reads of a document, so that a hostile one
// costs little: the XML structure (checked while the document is read, the
// parse stopping at the first element that crosses a limit) and the MSE
// referral's LINKDOCS manifest (checked after duplicate links are merged).
// A zero field takes DefaultLimits' value.
type Limits struct {
	MaxDepth     int // deepest element nesting (the root is depth 1)
	MaxAttrs     int // most attributes on one element, namespace declarations included
	MaxAttrBytes int // largest attribute value, in bytes after entity decoding
	MaxElements  int // most elements in the document
	MaxLinks     int // most distinct LINKDOCS entries
}

// DefaultLimits are HUB_XML_MAX_DEPTH, HUB_XML_MAX_ATTRS,
// HUB_XML_MAX_ATTR_BYTES, HUB_XML_MAX_ELEMENTS and HUB_MAX_LINKS'
// defaults. A real СЭМД nests some 15 deep, has a handful of attributes per
// element, some thousand elements and a dozen links.
var DefaultLimits = Limits{MaxDepth: 64, MaxAttrs: 64, MaxAttrBytes: 64 << 10, MaxElements: 200_000, MaxLinks: 50}

// WithDefaults is l with every zero field set to DefaultLimits' value: the
// limits the door actually enforces, for a parser that takes zero as
// unlimited (the schematron DOM's).
func (l Limits) WithDefaults() Limits { return l.withDefaults() }

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxDepth > 0 {
		d.MaxDepth = l.MaxDepth
	}
	if l.MaxAttrs > 0 {
		d.MaxAttrs = l.MaxAttrs
	}
	if l.MaxAttrBytes > 0 {
		d.MaxAttrBytes = l.MaxAttrBytes
	}
	if l.MaxElements > 0 {
		d.MaxElements = l.MaxElements
	}
	if l.MaxLinks > 0 {
		d.MaxLinks = l.MaxLinks
	}
	return d
}

// limitError is a crossed limit, carried through encoding/xml's decoder
// out of the token reader.
type limitError struct {
	path, msg string
}

func (e *limitError) Error() string { return e.msg + " at " + e.path }

// limitedTokens sits under the namespace-aware decoder and counts what the
// raw tokens carry, failing at the first element over a limit: nothing
// beyond it is read, so a 100,000-deep document costs 65 elements.
type limitedTokens struct {
	raw      *xml.Decoder
	lim      Limits
	stack    []string // element names, for the path in a refusal
	elements int
}

func (r *limitedTokens) Token() (xml.Token, error) {
	tok, err := r.raw.RawToken()
	if err != nil {
		return tok, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		r.stack = append(r.stack, qname(t.Name))
		r.elements++
		switch {
		case len(r.stack) > r.lim.MaxDepth:
			return nil, r.fail("elements nest deeper than %d", r.lim.MaxDepth)
		case r.elements > r.lim.MaxElements:
			return nil, r.fail("the document has more than %d elements", r.lim.MaxElements)
		case len(t.Attr) > r.lim.MaxAttrs:
			return nil, r.fail("an element has %d attributes, more than %d", len(t.Attr), r.lim.MaxAttrs)
		}
		for _, a := range t.Attr {
			if len(a.Value) > r.lim.MaxAttrBytes {
				r.stack = append(r.stack, "@"+qname(a.Name))
				return nil, r.fail("an attribute value has %d bytes, more than %d", len(a.Value), r.lim.MaxAttrBytes)
			}
		}
	case xml.EndElement:
		if len(r.stack) > 0 {
			r.stack = r.stack[:len(r.stack)-1]
		}
	}
	return tok, nil
}

func (r *limitedTokens) fail(format string, args ...any) error {
	return &limitError{path: strings.Join(r.stack, "/"), msg: fmt.Sprintf(format, args...)}
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local // the raw prefix, as written
}
