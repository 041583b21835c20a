package intake

import (
	"context"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"
)

// TestUnconfiguredKindIsRefused: a kind whose schematron does not compile
// (here a 121.sch using "some … satisfies", which the engine refuses) is loaded as
// unconfigured, and its documents — even valid ones — are refused with 422
// KIND_UNCONFIGURED naming the file and line, before any signature and with
// nothing stored (no store: touching it would panic); other kinds still load.
func TestUnconfiguredKindIsRefused(t *testing.T) {
	dir := t.TempDir()
	broken := `<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
<pattern><rule context="ClinicalDocument"><assert test="some $t in title satisfies $t">x</assert></rule></pattern>
</schema>`
	if err := os.WriteFile(filepath.Join(dir, "121.sch"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	official, err := os.ReadFile(filepath.Join("..", "schematron", "official", "58.sch"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "58.sch"), official, 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := schematron.LoadDir(dir)
	if err != nil {
		t.Fatalf("a broken schematron stopped the load: %v", err)
	}
	org := semdgen.NewOrg(77, 1)
	d := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Rand: rand.New(rand.NewPCG(1, 0))})
	svc := &Service{Schematrons: set}
	req := &Request{Kind: "121", LocalID: d.ID, Document: base64.StdEncoding.EncodeToString(d.XML),
		Signatures: []SignatureRequest{{Role: "doctor", CMS: "not base64!"}}}
	_, err = svc.Submit(context.Background(), Submitter{OrgOID: org.OID}, req)
	var ce *codes.Error
	if !errors.As(err, &ce) || ce.Code != codes.KindUnconfigured || ce.Status != http.StatusUnprocessableEntity {
		t.Fatalf("got %v, want 422 KIND_UNCONFIGURED", err)
	}
	if !strings.Contains(ce.Message, "121.sch:2") {
		t.Errorf("message %q does not locate the construct", ce.Message)
	}
	// The other kind is checked as usual: a valid 58 passes the ФЛК.
	d58 := semdgen.MustBuild(semdgen.Options{Kind: "58", Org: org, Rand: rand.New(rand.NewPCG(1, 0))})
	c, err := svc.Check(context.Background(), d58.XML, semd.Claims{Kind: "58", LocalID: d58.ID, SubmitterOrg: org.OID})
	if err != nil || c.Rules == 0 {
		t.Errorf("58 with its schematron: %v", err)
	}
}
