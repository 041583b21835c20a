package main

import (
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/schematron/saxon"
	"github.com/emdhub/hub/internal/testtool"
)

// TestValidate: saxon-validate prints every failure with its location and
// text, and exits 1 only when a document has one.
func TestValidate(t *testing.T) {
	testtool.Require(t, "Saxon-HE", saxon.Available())
	td := "../../testdata/"
	for _, tc := range []struct {
		doc  string
		code int
		want string
	}{
		{"constructs-2.xml", 0, td + "constructs-2.xml: 0\n"},
		{"constructs-3.xml", 1, td + "constructs-3.xml: 1\n  assert id=D1 pattern=nodes at /\n    the document has 0 items, not 3\n"},
	} {
		var out strings.Builder
		code, err := validate(&out, []string{td + "constructs.sch", td + tc.doc})
		if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || out.String() != tc.want {
			t.Errorf("%s: status %d, output\n%s\nwant %d,\n%s", tc.doc, code, out.String(), tc.code, tc.want)
		}
	}
}
