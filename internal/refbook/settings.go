package refbook

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"

	"github.com/emdhub/hub/internal/strictjson"
)

// Mode says how much of a code the door checks against its book.
type Mode string

const (
	// ModeSkip: the book is not checked at all (the code is reported as unchecked).
	ModeSkip Mode = "skip"
	// ModeCode: the code must be in the book and codeSystemName must be the
	// book's full name; displayName is not compared.
	ModeCode Mode = "code"
	// ModeCodeName: ModeCode, and displayName must equal the book's name for the code.
	ModeCodeName Mode = "code+name"
)

// Setting is the per-book setting an operator gives (as the peer validator
// has): how much to check, and which export columns are the key and the
// name when the passport's own keys are not the ones CDA documents carry.
// Empty columns mean the defaults (DefaultSettings, else the passport's
// keys).
//
// Columns pick what is read from a book's export, so they take effect when
// books are loaded (the bundle is built with the default columns; other
// columns need the book's export in HUB_NSI_DIR); Mode and SystemNames take
// effect per document.
type Setting struct {
	OID        string `json:"oid"`
	Mode       Mode   `json:"mode"`
	KeyColumn  string `json:"key_column,omitempty"`
	NameColumn string `json:"name_column,omitempty"`
	// SystemNames are further codeSystemName values accepted besides the
	// passport's full name (names a book had in earlier versions).
	SystemNames []string `json:"system_names,omitempty"`
	// Reason says why the entry is there (for people; not used).
	Reason string `json:"reason,omitempty"`
}

// Settings are per-book settings by OID (the book's primary OID or any
// other OID it answers to; an entry under the OID the document writes wins
// over one under the book's primary OID).
type Settings map[string]Setting

// ParseSettings reads a JSON list of Setting (the books.json of a kind
// bundle, or HUB_NSI_SETTINGS). Unknown fields, an unknown mode or a
// repeated OID are errors.
func ParseSettings(b []byte) (Settings, error) {
	var list []Setting
	if err := strictjson.Check(b, reflect.TypeOf(list)); err != nil {
		return nil, fmt.Errorf("book settings: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("book settings: %w", err)
	}
	out := Settings{}
	for i, s := range list {
		if s.OID == "" {
			return nil, fmt.Errorf("book settings: entry %d: no oid", i)
		}
		switch s.Mode {
		case ModeSkip, ModeCode, ModeCodeName:
		case "":
			s.Mode = ModeCodeName
		default:
			return nil, fmt.Errorf("book settings: %s: unknown mode %q (skip, code, code+name)", s.OID, s.Mode)
		}
		if _, dup := out[s.OID]; dup {
			return nil, fmt.Errorf("book settings: %s listed twice", s.OID)
		}
		out[s.OID] = s
	}
	return out, nil
}

// defaultSettingsJSON is the default set, each entry with its reason.
//
//go:embed settings.json
var defaultSettingsJSON []byte

var defaultSettings = func() Settings {
	s, err := ParseSettings(defaultSettingsJSON)
	if err != nil {
		panic("refbook: settings.json: " + err.Error())
	}
	return s
}()

// DefaultSettings returns the hub's default per-book settings
// (internal/refbook/settings.json, where each entry says why it is there).
// The map is a copy.
func DefaultSettings() Settings { return maps.Clone(defaultSettings) }

// Overlay returns s with the entries of over on top: an entry of over
// replaces the mode and system names of s's entry for the same OID, and its
// columns where it gives them (an operator switching МКБ-10 to "code" keeps
// the MKB_CODE key column). Neither s nor over is changed.
func (s Settings) Overlay(over Settings) Settings {
	out := maps.Clone(s)
	if out == nil {
		out = Settings{}
	}
	for oid, o := range over {
		if base, ok := out[oid]; ok {
			if o.KeyColumn == "" {
				o.KeyColumn = base.KeyColumn
			}
			if o.NameColumn == "" {
				o.NameColumn = base.NameColumn
			}
		}
		out[oid] = o
	}
	return out
}

// LoadSettings is the default settings with the JSON file at path (HUB_NSI_SETTINGS)
// on top; path "" gives the defaults. A file that cannot be read or parsed is an error.
func LoadSettings(path string) (Settings, error) {
	if path == "" {
		return DefaultSettings(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("refbook: book settings: %w", err)
	}
	over, err := ParseSettings(b)
	if err != nil {
		return nil, fmt.Errorf("refbook: %s: %w", path, err)
	}
	return DefaultSettings().Overlay(over), nil
}

// forBook is the setting for a book under the OID a document writes: the
// entry for that OID, else for the book's primary OID, else for another OID
// of the book, else code+name with the book's own columns.
func (s Settings) forBook(system string, b *Book) Setting {
	if st, ok := s[system]; ok {
		return st
	}
	return s.columnsFor(b.OID, b.Also)
}

// columnsFor is the entry for a book by its primary OID, else by its other
// OIDs (in order); the zero entry (code+name) when none.
func (s Settings) columnsFor(oid string, also []string) Setting {
	if st, ok := s[oid]; ok {
		return st
	}
	for _, o := range also {
		if st, ok := s[o]; ok {
			return st
		}
	}
	return Setting{OID: oid, Mode: ModeCodeName}
}

// acceptsSystemName reports whether name is the book's full name or one the
// setting adds, as same compares names (sameName, or the DOM walk's).
func (st Setting) acceptsSystemName(b *Book, name []byte, same func(name []byte, book string) bool) bool {
	return same(name, b.Name) || slices.ContainsFunc(st.SystemNames, func(n string) bool { return same(name, n) })
}
