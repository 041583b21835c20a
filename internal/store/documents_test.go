package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/internal/testdb"
)

func newDocument(org, system uuid.UUID, ext, kind, snils string, content string, sigs ...store.NewSignature) store.NewDocument {
	h := &semd.Document{ID: semd.II{Root: "1.2.643.5.1.13.13.12.2.77.9.100.1.1.51", Extension: ext}, SetID: semd.II{Root: "set", Extension: ext},
		Code: semd.Code{Code: "1"}, Title: "t", EffectiveTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), VersionNumber: 1}
	if snils != "" {
		h.Patient = &semd.Patient{SNILS: snils}
	}
	return store.NewDocument{OrgID: org, SystemID: system, Kind: kind, LocalID: ext, Content: []byte(content), Header: h, Signatures: sigs}
}

// TestDocuments: a document and its signatures round-trip (a verified
// signer's columns, and NULL ones for a signature stored unverified); a
// repeat is idempotent, other bytes under the same CDA id conflict; lists
// filter, page by cursor, and keep organisations apart.
func TestDocuments(t *testing.T) {
	ctx := context.Background()
	st := store.New(testdb.Pool(t))
	a, err := st.RegisterSystem(ctx, "1.2.643.5.1.13.13.12.2.77.9", "МО А", "МИС А")
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.RegisterSystem(ctx, "1.2.643.5.1.13.13.12.2.16.9", "МО Б", "МИС Б")
	if err != nil {
		t.Fatal(err)
	}
	orgA, sysA, orgB, sysB := a.Organization.ID, a.System.ID, b.Organization.ID, b.System.ID
	nb, na := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	signer := &store.Signer{Subject: "CN=Врач", Issuer: "CN=УЦ", Serial: "01", SNILS: "11223344595", KeyBits: 512,
		NotBefore: nb, NotAfter: na, CertSHA256: []byte{1, 2}, IssuerDER: []byte{3}}
	first := newDocument(orgA, sysA, "d1", "121", "11223344595", "<a/>",
		store.NewSignature{Role: store.SignerDoctor, CMS: []byte("cms1"), Signer: signer},
		store.NewSignature{Role: store.SignerOrganization, CMS: []byte("cms2")})
	doc, created, err := st.InsertDocument(ctx, st.Pool, first)
	if err != nil || !created {
		t.Fatalf("insert: %v (created %v)", err, created)
	}
	got, err := st.GetDocument(ctx, st.Pool, orgA, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PatientSNILS != "11223344595" || got.Size != 4 || got.ContentSHA256 != doc.ContentSHA256 || len(got.Header) == 0 || len(got.Signatures) != 2 {
		t.Fatalf("stored %+v", got)
	}
	s1, s2 := got.Signatures[0], got.Signatures[1]
	if s1.Ordinal != 1 || s1.Role != store.SignerDoctor || s1.Signer == nil || s1.Signer.Subject != "CN=Врач" || s1.Signer.OGRN != "" ||
		s1.Signer.SNILS != "11223344595" || s1.Signer.KeyBits != 512 || !s1.Signer.NotAfter.Equal(na) {
		t.Errorf("verified signature stored as %+v (signer %+v)", s1, s1.Signer)
	}
	if s2.Ordinal != 2 || s2.Role != store.SignerOrganization || s2.Signer != nil || s2.Size != 4 {
		t.Errorf("unverified signature stored as %+v (signer %+v)", s2, s2.Signer)
	}
	if _, err := st.GetDocument(ctx, st.Pool, orgB, doc.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another organisation's document: %v", err)
	}
	if err := st.CheckDocument(ctx, uuid.Nil, doc.ID); err != nil {
		t.Errorf("operator check: %v", err)
	}
	if c, err := st.DocumentContent(ctx, orgA, doc.ID); err != nil || string(c) != "<a/>" {
		t.Errorf("content %q, %v", c, err)
	}

	again, created, err := st.InsertDocument(ctx, st.Pool, first)
	if err != nil || created || again.ID != doc.ID {
		t.Fatalf("repeat: %v, created %v, id %v", err, created, again)
	}
	var ce *store.ConflictError
	if _, _, err := st.InsertDocument(ctx, st.Pool, newDocument(orgA, sysA, "d1", "121", "", "<b/>")); !errors.As(err, &ce) || ce.ExistingID != doc.ID {
		t.Fatalf("other bytes under the same id: %v", err)
	}

	for i, d := range []store.NewDocument{
		newDocument(orgA, sysA, "d2", "58", "", "<c/>"),
		newDocument(orgA, sysA, "d3", "121", "", "<d/>"),
		newDocument(orgB, sysB, "d4", "121", "", "<e/>"),
	} {
		if _, _, err := st.InsertDocument(ctx, st.Pool, d); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
	}
	exts := func(f store.DocumentFilter) []string {
		t.Helper()
		p, err := st.ListDocuments(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range p.Items {
			out = append(out, d.CDAID.Extension)
		}
		if p.NextCursor != "" {
			out = append(out, "more")
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    store.DocumentFilter
		want string
	}{
		{"one organisation, newest first", store.DocumentFilter{OrgID: orgA}, "d3 d2 d1"},
		{"every organisation", store.DocumentFilter{}, "d4 d3 d2 d1"},
		{"kind", store.DocumentFilter{OrgID: orgA, Kind: "121"}, "d3 d1"},
		{"patient", store.DocumentFilter{PatientSNILS: "11223344595"}, "d1"},
		{"system", store.DocumentFilter{SystemID: sysB}, "d4"},
		{"another organisation's system", store.DocumentFilter{OrgID: orgA, SystemID: sysB}, ""},
		{"received since", store.DocumentFilter{Since: time.Now().Add(-time.Hour)}, "d4 d3 d2 d1"},
		{"received until", store.DocumentFilter{Until: time.Now().Add(-time.Hour)}, ""},
		{"a page", store.DocumentFilter{Limit: 2}, "d4 d3 more"},
	} {
		if got := strings.Join(exts(tc.f), " "); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	p, err := st.ListDocuments(ctx, store.DocumentFilter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(exts(store.DocumentFilter{Limit: 2, Cursor: p.NextCursor}), " "); got != "d2 d1" {
		t.Errorf("second page %q", got)
	}
	if _, err := st.ListDocuments(ctx, store.DocumentFilter{Cursor: "!!"}); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
}
