package intake

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/nsi"
	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/signature"
	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// TestSubmitGoesThroughTheDoor: a МИС's submission is checked by the one
// door, CheckEntering, with its options, never by the door's parts called
// one by one (which is how a check added to the door would miss the МИС).
func TestSubmitGoesThroughTheDoor(t *testing.T) {
	fs := token.NewFileSet()
	file, err := parser.ParseFile(fs, "intake.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	found := false
	for _, d := range file.Decls {
		fn, ok := d.(*ast.FuncDecl)
		// Submit records the attempt around submit, which does the work.
		if !ok || (fn.Name.Name != "Submit" && fn.Name.Name != "submit") || fn.Recv == nil {
			continue
		}
		found = true
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
					calls[sel.Sel.Name]++
				}
			}
			return true
		})
	}
	if !found {
		t.Fatal("no Service.Submit in intake.go")
	}
	if calls["CheckEntering"] != 1 {
		t.Errorf("Submit calls CheckEntering %d times, want once", calls["CheckEntering"])
	}
	for _, part := range []string{"Check", "CheckAll", "check", "flk"} {
		if calls[part] > 0 {
			t.Errorf("Submit calls %s itself: go through CheckEntering", part)
		}
	}
}

// submission is a request for doc signed by sigs.
func submission(kind, localID string, doc []byte, sigs []store.NewSignature) *Request {
	req := &Request{Kind: kind, LocalID: localID, Document: base64.StdEncoding.EncodeToString(doc)}
	for _, s := range sigs {
		req.Signatures = append(req.Signatures, SignatureRequest{Role: s.Role, CMS: base64.StdEncoding.EncodeToString(s.CMS)})
	}
	return req
}

func wantRefusal(t *testing.T, err error, status int, code string) {
	t.Helper()
	var ce *codes.Error
	if !errors.As(err, &ce) {
		t.Fatalf("want %d %s, got %v", status, code, err)
	}
	if ce.Code != code || (status != 0 && ce.Status != status) {
		t.Fatalf("refused with %d %s (%s), want %d %s", ce.Status, ce.Code, ce.Message, status, code)
	}
}

// TestSubmitRefusals: the door's refusals in the door's order — the
// request, then the document's own checks, then its signatures (read, then
// verified). The service has no store: a refusal that touched it would panic.
func TestSubmitRefusals(t *testing.T) {
	set, err := schematron.OfficialSet()
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{Schematrons: set, Signatures: &Signatures{Verifier: signature.NewVerifier([]*x509.Certificate{semdgen.TestCA()})}}
	org := semdgen.NewOrg(77, 1)
	good := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Rand: rand.New(rand.NewPCG(5, 0))})
	other := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Rand: rand.New(rand.NewPCG(6, 0))})
	sigs := signedBy(t, good.XML, org)()
	otherSigs := signedBy(t, other.XML, org)()
	sub := Submitter{OrgOID: org.OID}
	unreadable := []SignatureRequest{{Role: store.SignerDoctor, CMS: "not base64!"}}
	tests := []struct {
		name   string
		req    *Request
		sub    Submitter
		status int
		code   string
	}{
		{"no kind", &Request{Document: "PA=="}, sub, http.StatusBadRequest, codes.BadRequest},
		{"document not base64", &Request{Kind: "121", Document: "%%%"}, sub, http.StatusBadRequest, codes.InvalidContent},
		{"another local id, before an unreadable signature", &Request{Kind: "121", LocalID: "other",
			Document: base64.StdEncoding.EncodeToString(good.XML), Signatures: unreadable}, sub, 0, codes.AttributeMismatch},
		{"signature not base64, after the document's checks", &Request{Kind: "121", LocalID: good.ID,
			Document: base64.StdEncoding.EncodeToString(good.XML), Signatures: unreadable}, sub, http.StatusUnprocessableEntity, codes.SignatureDecodingError},
		{"unknown signer role", &Request{Kind: "121", Document: base64.StdEncoding.EncodeToString(good.XML),
			Signatures: []SignatureRequest{{Role: "nurse", CMS: "AA=="}}}, sub, http.StatusBadRequest, codes.BadRequest},
		{"no signatures", submission("121", good.ID, good.XML, nil), sub, 0, codes.NoSignature},
		{"signatures of another document", submission("121", good.ID, good.XML, otherSigs), sub, 0, signature.CodeDigestMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.Submit(context.Background(), tt.sub, tt.req)
			wantRefusal(t, err, tt.status, tt.code)
		})
	}
	if len(sigs) != 2 {
		t.Fatalf("%d signatures made", len(sigs))
	}
}

// TestSubmitStores: an accepted document is stored with its verified
// signatures and the hooks run in its transaction; a repeat is idempotent
// (no hook), the same id with other bytes is 409 NOT_UNIQUE_PROVIDED_ID,
// and a failing hook leaves nothing stored.
func TestSubmitStores(t *testing.T) {
	ctx := context.Background()
	st := store.New(testdb.Pool(t))
	org := semdgen.NewOrg(77, 3)
	reg, err := st.RegisterSystem(ctx, org.OID, "ГБУЗ Тест", "МИС Тест")
	if err != nil {
		t.Fatal(err)
	}
	sub := Submitter{OrgID: reg.Organization.ID, OrgOID: org.OID, SystemID: reg.System.ID}
	hooked := 0
	var failHook error
	svc := &Service{Store: st, Signatures: &Signatures{Verifier: signature.NewVerifier([]*x509.Certificate{semdgen.TestCA()})},
		Hooks: []Hook{func(ctx context.Context, tx pgx.Tx, doc *store.Document, header *semd.Document, kind *nsi.Kind) error {
			hooked++
			return failHook
		}}}

	good := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Rand: rand.New(rand.NewPCG(7, 0))})
	req := submission("121", good.ID, good.XML, signedBy(t, good.XML, org)())
	res, err := svc.Submit(ctx, sub, req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || hooked != 1 || len(res.Document.Signatures) != 2 || res.Document.Signatures[0].Signer == nil || res.Document.Signatures[1].Signer == nil {
		t.Fatalf("created %v, hooks run %d, signatures %+v", res.Created, hooked, res.Document.Signatures)
	}
	stored, err := st.GetDocument(ctx, st.Pool, sub.OrgID, res.Document.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.CDAID.Extension != good.ID || len(stored.Signatures) != 2 || stored.Signatures[1].Signer == nil {
		t.Fatalf("stored %+v", stored)
	}

	again, err := svc.Submit(ctx, sub, req)
	if err != nil || again.Created || again.Document.ID != res.Document.ID || hooked != 1 {
		t.Fatalf("repeat: %+v, %v (hooks run %d)", again, err, hooked)
	}

	same := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, ID: good.ID, Rand: rand.New(rand.NewPCG(8, 0))})
	if string(same.XML) == string(good.XML) {
		t.Fatal("the generator made the same bytes")
	}
	_, err = svc.Submit(ctx, sub, submission("121", good.ID, same.XML, signedBy(t, same.XML, org)()))
	wantRefusal(t, err, http.StatusConflict, codes.NotUniqueProvidedID)

	failHook = errors.New("hook failed")
	next := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Rand: rand.New(rand.NewPCG(9, 0))})
	_, err = svc.Submit(ctx, sub, submission("121", next.ID, next.XML, signedBy(t, next.XML, org)()))
	if !errors.Is(err, failHook) {
		t.Fatalf("failing hook: %v", err)
	}
	page, err := st.ListDocuments(ctx, store.DocumentFilter{OrgID: sub.OrgID, Since: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 {
		t.Fatalf("%d documents stored, want 1 (the failing hook's rolled back)", len(page.Items))
	}
}
