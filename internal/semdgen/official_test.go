package semdgen

import (
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/cdaxsd"
	"github.com/emdhub/hub/internal/schematron/saxon"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/testtool"
)

// needSaxon fails under CI=true, and skips elsewhere, when the Saxon oracle
// cannot run.
func needSaxon(t *testing.T) {
	t.Helper()
	testtool.Require(t, "Saxon-HE", saxon.Available())
}

// TestOfficialSchematronsPass runs the registry's own schematrons (through
// the Saxon-HE oracle) over 50 varied documents of each kind with one: every
// document is valid against the kind's official XSD (libxml2, as xmllint),
// has 0 failed asserts and 0 fired reports, and the hub's door checks
// accept it too.
func TestOfficialSchematronsPass(t *testing.T) {
	needSaxon(t)
	xsd, err := cdaxsd.LoadDir("")
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"121", "58", "59", "76"} {
		t.Run(kind, func(t *testing.T) {
			s, err := saxon.CompileOfficial(kind)
			if err != nil {
				t.Fatal(err)
			}
			x := xsd[kind]
			if x == nil {
				t.Fatalf("no official XSD of kind %s", kind)
			}
			var docs [][]byte
			for n := range 50 {
				o := Varied(kind, 0x0ff1c1a1, n)
				d := MustBuild(o)
				doc, err := semd.Parse(d.XML)
				if err != nil {
					t.Fatalf("document %d: parse: %v", n, err)
				}
				if _, err := semd.Check(doc, semd.Claims{Kind: kind, LocalID: d.ID, SubmitterOrg: o.Org.OID, Now: o.Effective.Add(time.Hour)}); err != nil {
					t.Fatalf("document %d: door: %v", n, err)
				}
				if err := x.Validate(d.XML); err != nil {
					var e *cdaxsd.Error
					if errors.As(err, &e) {
						t.Fatalf("document %d fails the official XSD: %+v", n, e.Problems)
					}
					t.Fatalf("document %d: XSD: %v", n, err)
				}
				docs = append(docs, d.XML)
			}
			got, err := s.Run(docs)
			if err != nil {
				t.Fatal(err)
			}
			distinct := map[string]int{}
			failing := 0
			for _, fs := range got {
				if len(fs) > 0 {
					failing++
				}
				for _, f := range fs {
					distinct[f.Kind+" "+f.Text]++
				}
			}
			if failing > 0 {
				keys := make([]string, 0, len(distinct))
				for k := range distinct {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					t.Errorf("%4d× %s", distinct[k], k)
				}
				t.Fatalf("%d of %d documents fail %s.sch (%d distinct failures)", failing, len(docs), kind, len(distinct))
			}
		})
	}
}
