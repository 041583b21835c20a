package semd_test

import (
	"testing"
	"time"

	"github.com/emdhub/hub/internal/semd"
)

// FuzzParse feeds arbitrary bytes to the CDA parser and the door checks: they
// must never panic, and a document that parses must parse the same way twice.
// The seed corpus in testdata/fuzz/FuzzParse holds generated documents of
// every kind and the malformed inputs of TestParseRefusesNonCDA.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><id root="1.2" extension="x"/></ClinicalDocument>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := semd.Parse(b)
		if err != nil {
			if _, ok := err.(*semd.ParseError); !ok {
				t.Fatalf("Parse returned %T, want *semd.ParseError", err)
			}
			return
		}
		for _, kind := range []string{"121", "58", "76"} {
			_, _ = semd.Check(doc, semd.Claims{Kind: kind, SubmitterOrg: doc.Custodian.OID, Now: time.Now()})
		}
		again, err := semd.Parse(b)
		if err != nil || again.ID != doc.ID || again.SetID != doc.SetID || len(again.LinkDocs) != len(doc.LinkDocs) {
			t.Fatalf("second parse differs: %v", err)
		}
	})
}
