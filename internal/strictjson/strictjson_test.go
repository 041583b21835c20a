package strictjson_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/strictjson"
)

type sig struct {
	Role string `json:"role"`
	CMS  string `json:"cms"`
}

type Embedded struct {
	Note string `json:"note"`
}

type request struct {
	Embedded
	Kind       string            `json:"kind"`
	Signatures []sig             `json:"signatures"`
	Labels     map[string]string `json:"labels,omitempty"`
	Extra      any               `json:"extra"`
	When       time.Time         `json:"when"`
	Plain      int
	Ignored    string `json:"-"`
	hidden     string // unexported: not a JSON field
}

func TestCheck(t *testing.T) {
	typ := reflect.TypeFor[request]()
	tests := []struct {
		name string
		body string
		err  string // "" accepted; else a fragment of the error
	}{
		{"well-formed", `{"kind":"119","signatures":[{"role":"doctor","cms":"AA=="}],"labels":{"a":"b"},"extra":{"any":[1,{"x":null}]},"when":"2026-01-01T00:00:00Z","Plain":1,"note":"n"}`, ""},
		{"null field values", `{"signatures":null,"labels":null,"extra":null}`, ""},
		{"whitespace around", " \n{\"kind\":\"1\"}\n ", ""},
		{"unknown field", `{"kind":"1","urgent":true}`, `unknown field "urgent"`},
		{"unknown nested field", `{"signatures":[{"role":"x","key":"y"}]}`, `unknown field "signatures[0].key"`},
		{"case mismatch", `{"KIND":"1"}`, `did you mean "kind"`},
		{"case mismatch nested", `{"signatures":[{},{"Cms":"x"}]}`, `"signatures[1].Cms"`},
		{"case mismatch untagged", `{"plain":1}`, `did you mean "Plain"`},
		{"ignored field", `{"Ignored":"x"}`, `unknown field "Ignored"`},
		{"unexported field", `{"hidden":"x"}`, `unknown field "hidden"`},
		{"duplicate key", `{"kind":"1","kind":"2"}`, `duplicate key "kind"`},
		{"duplicate in a map", `{"labels":{"a":"1","a":"2"}}`, `duplicate key "labels.a"`},
		{"duplicate in free JSON", `{"extra":{"x":1,"x":2}}`, `duplicate key "extra.x"`},
		{"NUL in a value", `{"kind":"1\u0000"}`, "kind contains a NUL"},
		{"NUL in a nested value", `{"signatures":[{"cms":"\u0000"}]}`, "signatures[0].cms contains a NUL"},
		{"NUL in a map key", `{"labels":{"a\u0000":"1"}}`, "NUL"},
		{"invalid UTF-8", "{\"kind\":\"\xff\"}", "UTF-8"},
		{"not an object", `null`, "JSON object"},
		{"an array", `[{"kind":"1"}]`, "JSON object"},
		{"trailing data", `{"kind":"1"} {}`, "data after"},
		{"truncated", `{"kind":`, "kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := strictjson.Check([]byte(tt.body), typ)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				var r request
				if err := json.Unmarshal([]byte(tt.body), &r); err != nil {
					t.Fatalf("accepted what encoding/json cannot read: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.err)
			}
		})
	}
}
