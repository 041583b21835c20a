// Package strictjson checks a JSON body against the Go type it will be
// decoded into, refusing what encoding/json lets through silently:
//
//   - unknown fields (DisallowUnknownFields does this too, but after the
//     case-insensitive matching below);
//   - keys that differ from a field's name only in case ("KIND" for "kind":
//     encoding/json accepts them, so two spellings would mean one thing);
//   - duplicate keys (encoding/json keeps the last, so a reviewer and the
//     hub could read different values from the same body);
//   - NUL characters in strings (PostgreSQL text cannot hold them: the
//     request would fail as an internal error deep in the store);
//   - invalid UTF-8 (encoding/json replaces it silently with U+FFFD).
//
// The error names the field by its path, e.g. signatures[1].cms.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Check returns nil if data is one JSON value that fits t by the rules
// above. Type mismatches of values are left to encoding/json.
func Check(data []byte, t reflect.Type) error {
	if !utf8.Valid(data) {
		return errors.New("body is not valid UTF-8")
	}
	if st := deref(t); st != nil && st.Kind() == reflect.Struct && !bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{")) {
		// encoding/json reads null into a struct as "nothing to do": a body
		// of null would act as an empty request.
		return errors.New("body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walk(dec, t, ""); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON value")
	}
	return nil
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func name(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

func walk(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%s: %w", name(path), err)
	}
	t = deref(t)
	switch tok := tok.(type) {
	case json.Delim:
		switch tok {
		case '{':
			return walkObject(dec, t, path)
		case '[':
			var elem reflect.Type
			if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
				elem = t.Elem()
			}
			for i := 0; dec.More(); i++ {
				if err := walk(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			_, err := dec.Token()
			return err
		}
	case string:
		if strings.ContainsRune(tok, 0) {
			return fmt.Errorf("%s contains a NUL character", name(path))
		}
	}
	return nil
}

func walkObject(dec *json.Decoder, t reflect.Type, path string) error {
	var fields map[string]reflect.Type
	if t != nil && t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(unmarshaler) {
		fields = structFields(t)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%s: %w", name(path), err)
		}
		key := tok.(string)
		p := join(path, key)
		if strings.ContainsRune(key, 0) {
			return fmt.Errorf("a key in %s contains a NUL character", name(path))
		}
		if seen[key] {
			return fmt.Errorf("duplicate key %q", p)
		}
		seen[key] = true
		var child reflect.Type
		switch {
		case fields != nil:
			ft, ok := fields[key]
			if !ok {
				for fname := range fields {
					if strings.EqualFold(fname, key) {
						return fmt.Errorf("unknown field %q: keys are case-sensitive, did you mean %q?", p, join(path, fname))
					}
				}
				return fmt.Errorf("unknown field %q", p)
			}
			child = ft
		case t != nil && t.Kind() == reflect.Map:
			child = t.Elem()
		}
		if err := walk(dec, child, p); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

// unmarshaler types read their own JSON: their objects are not checked field by field.
var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// structFields maps the JSON names of t's fields to their types, as
// encoding/json names them (tags, untagged exported fields, embedded structs).
func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		n, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && n == "" {
			if et := deref(f.Type); et.Kind() == reflect.Struct {
				for k, v := range structFields(et) {
					if _, dup := out[k]; !dup {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if n == "" {
			n = f.Name
		}
		out[n] = f.Type
	}
	return out
}
