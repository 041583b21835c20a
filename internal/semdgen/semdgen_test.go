package semdgen

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/semd"
)

// TestGeneratedDocumentsPassTheDoorChecks builds every kind the hub handles
// and runs the real parser and checks over it.
func TestGeneratedDocumentsPassTheDoorChecks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	org := NewOrg(77, 5)
	for _, kind := range []string{"121", "187", "130", "58", "59", "76", "119", "75", "186", "110", "174", "77", "147", "158"} {
		t.Run(kind, func(t *testing.T) {
			o := Options{Kind: kind, Org: org, Rand: r}
			if kind == "121" {
				o.Links = []Link{{Kind: "119", ID: "c-1"}, {Kind: "186", ID: "l-1"}, {Kind: "147", ID: "e-1", Series: "A", Number: "7"}}
			}
			if kind == "187" || kind == "130" {
				o.Fulfills = &[2]string{org.Root("51"), "ref-1"}
			}
			d := MustBuild(o)
			doc, err := semd.Parse(d.XML)
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, d.XML)
			}
			if _, err := semd.Check(doc, semd.Claims{Kind: kind, LocalID: d.ID, SubmitterOrg: org.OID, Now: time.Now()}); err != nil {
				t.Fatalf("check: %v", err)
			}
			if doc.ID.Extension != d.ID || doc.Patient.SNILS != d.Patient.SNILS {
				t.Fatalf("header mismatch: %+v", doc.ID)
			}
			if d.Series != doc.Series || d.Number != doc.Number {
				t.Fatalf("series/number %q/%q, parsed %q/%q", d.Series, d.Number, doc.Series, doc.Number)
			}
			if kind == "121" && (len(doc.LinkDocs) != 3 || doc.LinkDocs[2].Series != "A" || doc.LinkDocs[2].Number != "7" || doc.LinkDocs[0].DocType != "5") {
				t.Fatalf("link docs: %+v", doc.LinkDocs)
			}
			if (kind == "187" || kind == "130") && (len(doc.InFulfillmentOf) != 1 || doc.InFulfillmentOf[0].Extension != "ref-1") {
				t.Fatalf("inFulfillmentOf: %+v", doc.InFulfillmentOf)
			}
		})
	}
}
