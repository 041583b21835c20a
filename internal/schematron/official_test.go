package schematron

import (
	"testing"
)

func TestOfficialSchematronsCompile(t *testing.T) {
	want := map[string][3]int{"121": {586, 1482, 27}, "58": {401, 712, 113}, "59": {413, 876, 92}, "76": {204, 385, 60}}
	for kind, w := range want {
		s, err := Official(kind)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if got := [3]int{s.Rules, s.Asserts, s.Reports}; got != w {
			t.Errorf("%s: rules/asserts/reports %v, want %v", kind, got, w)
		}
	}
}
