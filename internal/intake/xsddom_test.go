package intake

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/emdhub/hub/internal/cdaxsd"
	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semdgen"
)

// seenXSD is the kind's real schema, recording how the door asked it.
type seenXSD struct {
	*cdaxsd.Schema
	bytes, tree int
	dom         *schematron.Document
}

func (x *seenXSD) Validate(doc []byte) error { x.bytes++; return x.Schema.Validate(doc) }

func (x *seenXSD) ValidateTree(doc []byte, d *schematron.Document) error {
	x.tree++
	x.dom = d
	return x.Schema.ValidateTree(doc, d)
}

// TestXSDCheckOnTheDOM: the door's XSD check takes the document's parse
// when there is one (the tree walk, not a second reading of the bytes) and
// the bytes when semd's reader parsed it (dom nil); a refusal found on the
// DOM path is the bytes' refusal, line and column included.
func TestXSDCheckOnTheDOM(t *testing.T) {
	svc := flkService(t)
	doc := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: semdgen.NewOrg(77, 1), Rand: rand.New(rand.NewPCG(5, 1))}).XML
	bad := bytes.Replace(doc, []byte("<title>"), []byte("<title><b/>"), 1)
	for _, c := range []struct {
		name    string
		doc     []byte
		tree    bool // parsed by the fast parser: the check gets the DOM
		refused bool
	}{
		{"valid", doc, true, false},
		{"refused", bad, true, true},
		{"valid, parsed by semd's reader", bytes.Replace(doc, []byte("</title>"), []byte("<![CDATA[]]></title>"), 1), false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, dom, err := svc.parse(c.doc)
			if err != nil {
				t.Fatal(err)
			}
			if (dom != nil) != c.tree {
				t.Fatalf("the door's parse gave a DOM: %t, want %t", dom != nil, c.tree)
			}
			x := &seenXSD{Schema: svc.XSD["121"]}
			err = xsdCheck(x, c.doc, dom)
			if c.tree && (x.tree != 1 || x.bytes != 0 || x.dom != dom) || !c.tree && (x.tree != 0 || x.bytes != 1) {
				t.Fatalf("ValidateTree %d times (with the door's DOM: %t), Validate %d times", x.tree, x.dom == dom, x.bytes)
			}
			var ce *codes.Error
			if (err != nil) != c.refused || err != nil && !errors.As(err, &ce) {
				t.Fatalf("refused: %v", err)
			}
			if c.refused {
				var want *codes.Error
				if !errors.As(xsdCheck(svc.XSD["121"], c.doc, nil), &want) || !reflect.DeepEqual(ce, want) || len(ce.Message) == 0 {
					t.Fatalf("on the DOM: %+v\non the bytes: %+v", ce, want)
				}
			}
		})
	}
}
