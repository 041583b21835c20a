package refbook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/emdhub/hub/internal/strictjson"
)

// Mode says how much of a code the door checks against its book.
type Mode string

const (
	// ModeSkip: the book is not checked at all (the code is reported as unchecked).
	ModeSkip Mode = "skip"
	// ModeCode: the code must be in the book; displayName is not compared.
	ModeCode Mode = "code"
	// ModeCodeName: the code must be in the book and displayName must equal its name.
	ModeCodeName Mode = "code+name"
)

// Setting is the per-book setting an operator gives (as the peer validator
// has): how much to check, and which export columns are the key and the
// name when the passport's own keys are not the ones CDA documents carry.
// Empty columns mean the defaults (codeColumns/nameColumns, else the
// passport's keys).
type Setting struct {
	OID        string `json:"oid"`
	Mode       Mode   `json:"mode"`
	KeyColumn  string `json:"key_column,omitempty"`
	NameColumn string `json:"name_column,omitempty"`
}

// Settings are per-book settings by OID.
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
