package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"unicode/utf8"

	"github.com/emdhub/hub/internal/intake"
	"github.com/emdhub/hub/internal/strictjson"
)

// decodeStrict is the general way a body becomes v: strictjson's checks
// (unknown, duplicate or case-mismatched keys, NUL, invalid UTF-8, data
// after the value), then encoding/json with unknown fields refused.
func decodeStrict(body []byte, v any) error {
	if err := strictjson.Check(body, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// errNotPlain sends a body to decodeStrict: the one-pass reader does not
// judge it.
var errNotPlain = errors.New("api: not a plain intake body")

// decodeIntake reads an intake body (POST /api/v1/documents) into req.
//
// The general path (decodeStrict) reads a 20 KB body three times over with
// encoding/json's tokenizer (strictjson's walk, then the decoder's scan
// and its unmarshal): ~0.5 ms of CPU per document, a sixth of the hub's
// cost outside the door's checks (issue 16). Almost every МИС sends the
// plain form — one object with the Request's keys, each at most once,
// string values without escapes, a signatures array of objects with
// "role" and "cms" — and readPlain reads that form in one pass. Anything
// else (an escape, a null, a number, an unknown, duplicate or
// case-mismatched key, malformed JSON) goes to the general path, which
// gives its verdict and its error message, so what is accepted and what
// is refused with which words does not change; TestDecodeIntakeAgrees and
// FuzzDecodeIntake hold the two paths to the same result.
func decodeIntake(body []byte, req *intake.Request) error {
	var plain intake.Request
	if readPlain(body, &plain) == nil {
		*req = plain
		return nil
	}
	return decodeStrict(body, req)
}

// plainReader is a cursor over a body that readPlain is reading.
type plainReader struct {
	b []byte
	i int
}

// space skips JSON whitespace (RFC 8259: space, tab, CR, LF).
func (p *plainReader) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

// next skips whitespace and takes c if it comes next.
func (p *plainReader) next(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string without escapes or control characters (the body was
// checked as UTF-8 as a whole): its bytes are its value.
func (p *plainReader) str() (string, error) {
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", errNotPlain
	}
	start := p.i + 1
	n := bytes.IndexByte(p.b[start:], '"')
	if n < 0 {
		return "", errNotPlain
	}
	s := p.b[start : start+n]
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return "", errNotPlain
		}
	}
	p.i = start + n + 1
	return string(s), nil
}

// object reads an object whose values field reads by key; field refuses a
// key it does not know or has seen.
func (p *plainReader) object(field func(key string) error) error {
	if !p.next('{') {
		return errNotPlain
	}
	if p.next('}') {
		return nil
	}
	for {
		key, err := p.str()
		if err != nil {
			return err
		}
		if !p.next(':') {
			return errNotPlain
		}
		if err := field(key); err != nil {
			return err
		}
		if p.next(',') {
			continue
		}
		if p.next('}') {
			return nil
		}
		return errNotPlain
	}
}

// readPlain reads the plain form of an intake body into req, or returns
// errNotPlain having judged nothing (req is then partly filled: the caller
// discards it).
func readPlain(body []byte, req *intake.Request) error {
	if !utf8.Valid(body) {
		return errNotPlain
	}
	p := &plainReader{b: body}
	var seen [4]bool
	once := func(i int) error {
		if seen[i] {
			return errNotPlain
		}
		seen[i] = true
		return nil
	}
	err := p.object(func(key string) (err error) {
		switch key {
		case "kind":
			if err = once(0); err == nil {
				req.Kind, err = p.str()
			}
		case "local_id":
			if err = once(1); err == nil {
				req.LocalID, err = p.str()
			}
		case "document":
			if err = once(2); err == nil {
				req.Document, err = p.str()
			}
		case "signatures":
			if err = once(3); err == nil {
				req.Signatures, err = p.signatures()
			}
		default:
			err = errNotPlain
		}
		return err
	})
	if err != nil {
		return err
	}
	if p.space(); p.i != len(p.b) {
		return errNotPlain
	}
	return nil
}

// signatures reads the array of signatures; an empty array is an empty,
// non-nil slice, as encoding/json makes it.
func (p *plainReader) signatures() ([]intake.SignatureRequest, error) {
	if !p.next('[') {
		return nil, errNotPlain
	}
	out := make([]intake.SignatureRequest, 0, 2)
	if p.next(']') {
		return out, nil
	}
	for {
		var s intake.SignatureRequest
		var role, cms bool
		err := p.object(func(key string) (err error) {
			switch {
			case key == "role" && !role:
				role = true
				s.Role, err = p.str()
			case key == "cms" && !cms:
				cms = true
				s.CMS, err = p.str()
			default:
				err = errNotPlain
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		if p.next(',') {
			continue
		}
		if p.next(']') {
			return out, nil
		}
		return nil, errNotPlain
	}
}
