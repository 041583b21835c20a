package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/api/openapitest"
	"github.com/emdhub/hub/internal/app"
	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

type bundle struct {
	t          testing.TB
	srv        *httptest.Server
	app        *app.App
	orgA, orgB semdgen.Org
	keyA, keyB string
	keyOp      string
	rand       *rand.Rand
}

func setup(t testing.TB, maxBody int64) *bundle {
	t.Helper()
	env := map[string]string{}
	if maxBody > 0 {
		env["HUB_MAX_BODY_BYTES"] = strconv.FormatInt(maxBody, 10)
	}
	return newBundle(t, nil, env, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, 7)
}

// newBundle builds a hub on pool (a fresh test database if nil) from env
// (the test CA trusted), logging to log, serves its API (passed through
// mutate first) and registers two МИС and an operator.
func newBundle(t testing.TB, pool *pgxpool.Pool, env map[string]string, log *slog.Logger, mutate func(http.Handler), seed uint64) *bundle {
	t.Helper()
	if pool == nil {
		pool = testdb.Pool(t)
	}
	caDir := t.TempDir()
	if err := semdgen.WriteTestCA(caDir); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(func(k string) string {
		if k == "HUB_TRUSTED_CA_DIR" {
			return caDir
		}
		return env[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Build(cfg, log, pool)
	if err != nil {
		t.Fatal(err)
	}
	h := a.API.Handler()
	if mutate != nil {
		mutate(h)
	}
	srv := httptest.NewServer(openapitest.Record(t, h))
	t.Cleanup(srv.Close)
	b := &bundle{t: t, srv: srv, app: a, orgA: semdgen.NewOrg(77, 11), orgB: semdgen.NewOrg(16, 12), rand: rand.New(rand.NewPCG(seed, seed))}
	b.registerKeys()
	return b
}

type resp struct {
	Status int
	Body   map[string]any
	Raw    []byte
	Header http.Header
}

func (b *bundle) do(method, path, key string, body any) resp {
	b.t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(v)
	default:
		j, err := json.Marshal(v)
		if err != nil {
			b.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, b.srv.URL+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{Status: res.StatusCode, Raw: raw, Header: res.Header}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

func (b *bundle) countDocuments() int {
	b.t.Helper()
	var n int
	if err := b.app.Pool.QueryRow(context.Background(), "SELECT count(*) FROM documents").Scan(&n); err != nil {
		b.t.Fatal(err)
	}
	var s int
	if err := b.app.Pool.QueryRow(context.Background(), "SELECT count(*) FROM document_signatures").Scan(&s); err != nil {
		b.t.Fatal(err)
	}
	return n + s
}

func (b *bundle) build(o semdgen.Options) semdgen.Doc {
	if o.Org.OID == "" {
		o.Org = b.orgA
	}
	o.Rand = b.rand
	return semdgen.MustBuild(o)
}

func TestEachKindAccepted(t *testing.T) {
	b := setup(t, 0)
	b.recordOGRNs() // 76 carries its organisation's ОГРН nowhere
	for _, kind := range []string{"121", "187", "130", "58", "59", "76", "125", "127", "167", "119", "75", "186", "110", "174", "77", "147", "158"} {
		t.Run(kind, func(t *testing.T) {
			o := semdgen.Options{Kind: kind}
			if kind == "121" {
				o.Links = []semdgen.Link{{Kind: "119", ID: "c1"}, {Kind: "186", ID: "l1"}, {Kind: "174", ID: "i1"}, {Kind: "147", ID: "e1"}, {Kind: "158", ID: "v1"}}
			}
			d := b.build(o)
			r := b.do("POST", "/api/v1/documents", b.keyA, d.Submission())
			if r.Status != http.StatusCreated {
				t.Fatalf("status %d: %s", r.Status, r.Raw)
			}
			if r.Body["kind"] != kind || r.Body["local_id"] != d.ID || r.Header.Get("Location") == "" {
				t.Fatalf("record: %s", r.Raw)
			}
			got := b.do("GET", r.Header.Get("Location"), b.keyA, nil)
			if got.Status != 200 || got.Body["id"] != r.Body["id"] {
				t.Fatalf("get: %d %s", got.Status, got.Raw)
			}
			hdr := got.Body["header"].(map[string]any)
			if kind == "121" && len(hdr["link_docs"].([]any)) != 5 {
				t.Fatalf("link docs not kept: %v", hdr["link_docs"])
			}
			if sigs := got.Body["signatures"].([]any); len(sigs) != 2 {
				t.Fatalf("signatures: %v", sigs)
			}
			content := b.do("GET", r.Header.Get("Location")+"/content", b.keyA, nil)
			if content.Status != 200 || !bytes.Equal(content.Raw, d.XML) {
				t.Fatalf("content differs from what was sent")
			}
		})
	}
}

func TestEachCheckRefusesAndStoresNothing(t *testing.T) {
	b := setup(t, 0)
	tests := []struct {
		name   string
		kind   string
		defect semdgen.Defect
		status int
		code   string
	}{
		{"bad snils", "121", semdgen.DefectBadSNILS, 422, codes.InvalidSNILS},
		{"no snils", "121", semdgen.DefectNoSNILS, 422, codes.NoSNILS},
		{"bad enp", "119", semdgen.DefectBadENP, 422, codes.InvalidENP},
		{"bad ogrn", "121", semdgen.DefectBadOGRN, 422, codes.InvalidOGRN},
		{"id root", "121", semdgen.DefectBadIDRoot, 422, codes.InvalidOID},
		{"setid root", "58", semdgen.DefectSetIDSameAsID, 422, codes.InvalidOID},
		{"patient root", "186", semdgen.DefectBadPatientRoot, 422, codes.InvalidOID},
		{"wrong code", "121", semdgen.DefectWrongCode, 422, codes.AttributeMismatch},
		{"wrong template", "76", semdgen.DefectWrongTemplate, 422, codes.AttributeMismatch},
		{"no series", "58", semdgen.DefectNoSeries, 422, codes.SeriesRequired},
		{"future", "119", semdgen.DefectFutureDate, 422, codes.WrongCreationDate},
		{"kind not yet valid", "121", semdgen.DefectBeforeKindStart, 422, codes.NoDocumentKindOnDate},
		{"no patient", "121", semdgen.DefectNoPatient, 422, codes.PatientOccurrence},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := b.build(semdgen.Options{Kind: tt.kind, Defects: []semdgen.Defect{tt.defect}})
			r := b.do("POST", "/api/v1/documents", b.keyA, d.Submission())
			if r.Status != tt.status || r.Body["code"] != tt.code {
				t.Fatalf("want %d %s, got %d %s", tt.status, tt.code, r.Status, r.Raw)
			}
			if r.Body["message"] == "" || r.Body["details"] == nil || r.Body["request_id"] == "" {
				t.Fatalf("error shape: %s", r.Raw)
			}
		})
	}
	// Requests refused before or beside the CDA checks.
	good := b.build(semdgen.Options{Kind: "119"})
	foreign := b.build(semdgen.Options{Kind: "119", Org: b.orgB})
	envelope := []struct {
		name   string
		mutate func(s *semdgen.Submission)
		status int
		code   string
	}{
		{"malformed xml", func(s *semdgen.Submission) {
			s.Document = base64.StdEncoding.EncodeToString([]byte("<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><id>"))
		}, 400, codes.InvalidContent},
		{"not base64", func(s *semdgen.Submission) { s.Document = "%%%" }, 400, codes.InvalidContent},
		{"not a CDA", func(s *semdgen.Submission) {
			s.Document = base64.StdEncoding.EncodeToString([]byte(`<Bundle xmlns="http://hl7.org/fhir"/>`))
		}, 422, codes.InvalidDocContentType},
		{"other organisation's document", func(s *semdgen.Submission) { *s = foreign.Submission() }, 422, codes.SignerOrgMismatch},
		{"declared kind disagrees", func(s *semdgen.Submission) { s.Kind = "121" }, 422, codes.AttributeMismatch},
		{"unknown kind", func(s *semdgen.Submission) { s.Kind = "77777" }, 422, codes.ObjectNotFound},
		{"local id disagrees", func(s *semdgen.Submission) { s.LocalID = "something-else" }, 422, codes.AttributeMismatch},
		{"no signatures", func(s *semdgen.Submission) { s.Signatures = nil }, 422, codes.NoSignature},
		{"no organisation signature", func(s *semdgen.Submission) { s.Signatures = s.Signatures[:1] }, 422, codes.OrgSignatureOccurrence},
		{"signature not DER", func(s *semdgen.Submission) { s.Signatures[0].CMS = base64.StdEncoding.EncodeToString([]byte("hello")) }, 422, codes.SignatureDecodingError},
		{"signature not base64", func(s *semdgen.Submission) { s.Signatures[1].CMS = "***" }, 422, codes.SignatureDecodingError},
		{"bad signer role", func(s *semdgen.Submission) { s.Signatures[0].Role = "nurse" }, 400, codes.BadRequest},
	}
	for _, tt := range envelope {
		t.Run(tt.name, func(t *testing.T) {
			s := good.Submission()
			tt.mutate(&s)
			r := b.do("POST", "/api/v1/documents", b.keyA, s)
			if r.Status != tt.status || r.Body["code"] != tt.code {
				t.Fatalf("want %d %s, got %d %s", tt.status, tt.code, r.Status, r.Raw)
			}
		})
	}
	if r := b.do("POST", "/api/v1/documents", b.keyA, []byte(`{"kind":`)); r.Status != 400 || r.Body["code"] != codes.BadRequest {
		t.Fatalf("broken JSON: %d %s", r.Status, r.Raw)
	}
	if n := b.countDocuments(); n != 0 {
		t.Fatalf("refused documents left %d rows behind", n)
	}
}

func TestIdempotentResubmission(t *testing.T) {
	b := setup(t, 0)
	d := b.build(semdgen.Options{Kind: "58"})
	first := b.do("POST", "/api/v1/documents", b.keyA, d.Submission())
	if first.Status != 201 {
		t.Fatalf("first: %d %s", first.Status, first.Raw)
	}
	again := b.do("POST", "/api/v1/documents", b.keyA, d.Submission())
	if again.Status != 200 || again.Body["id"] != first.Body["id"] || again.Body["received_at"] != first.Body["received_at"] {
		t.Fatalf("repeat must answer with the original record: %d %s", again.Status, again.Raw)
	}
	// Same CDA id, different bytes.
	changed := b.build(semdgen.Options{Kind: "58", ID: d.ID})
	conflict := b.do("POST", "/api/v1/documents", b.keyA, changed.Submission())
	if conflict.Status != 409 || conflict.Body["code"] != codes.NotUniqueProvidedID {
		t.Fatalf("conflict: %d %s", conflict.Status, conflict.Raw)
	}
	if n := b.countDocuments(); n != 3 { // one document, two signatures
		t.Fatalf("want 1 document + 2 signatures, have %d rows", n)
	}
}

func TestOrganisationIsolation(t *testing.T) {
	b := setup(t, 0)
	d := b.build(semdgen.Options{Kind: "119"})
	r := b.do("POST", "/api/v1/documents", b.keyA, d.Submission())
	if r.Status != 201 {
		t.Fatalf("submit: %d %s", r.Status, r.Raw)
	}
	loc := r.Header.Get("Location")
	if g := b.do("GET", loc, b.keyB, nil); g.Status != 404 || g.Body["code"] != codes.NotFound {
		t.Fatalf("system B read A's document: %d %s", g.Status, g.Raw)
	}
	if g := b.do("GET", loc+"/content", b.keyB, nil); g.Status != 404 {
		t.Fatalf("system B read A's content: %d", g.Status)
	}
	if l := b.do("GET", "/api/v1/documents", b.keyB, nil); l.Status != 200 || len(l.Body["items"].([]any)) != 0 {
		t.Fatalf("system B's list shows A's document: %s", l.Raw)
	}
	if l := b.do("GET", "/api/v1/documents", b.keyA, nil); len(l.Body["items"].([]any)) != 1 {
		t.Fatalf("system A's list: %s", l.Raw)
	}
	if g := b.do("GET", loc, b.keyOp, nil); g.Status != 200 {
		t.Fatalf("operator must see every document: %d", g.Status)
	}
	if g := b.do("GET", "/api/v1/documents/not-a-uuid", b.keyA, nil); g.Status != 404 {
		t.Fatalf("bad id: %d", g.Status)
	}
}

func TestAuthentication(t *testing.T) {
	b := setup(t, 0)
	d := b.build(semdgen.Options{Kind: "119"})
	for _, key := range []string{"", "hub_not-a-real-key"} {
		r := b.do("POST", "/api/v1/documents", key, d.Submission())
		if r.Status != 401 || r.Body["code"] != codes.Unauthenticated || r.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("key %q: %d %s", key, r.Status, r.Raw)
		}
		if r := b.do("GET", "/api/v1/documents", key, nil); r.Status != 401 {
			t.Fatalf("list without credentials: %d", r.Status)
		}
	}
	if r := b.do("POST", "/api/v1/documents", b.keyOp, d.Submission()); r.Status != 403 {
		t.Fatalf("operators do not submit documents: %d", r.Status)
	}
	if r := b.do("GET", "/api/v1/ops/systems", b.keyA, nil); r.Status != 403 || r.Body["code"] != codes.Forbidden {
		t.Fatalf("a МИС key on an operator endpoint: %d %s", r.Status, r.Raw)
	}
	if r := b.do("GET", "/api/v1/ops/systems", b.keyOp, nil); r.Status != 200 || len(r.Body["items"].([]any)) != 2 {
		t.Fatalf("operator systems: %d %s", r.Status, r.Raw)
	}
	if n := b.countDocuments(); n != 0 {
		t.Fatalf("unauthenticated requests stored %d rows", n)
	}
	// An operator connects a new МИС; its key works at once and sees nothing of others.
	reg := b.do("POST", "/api/v1/ops/systems", b.keyOp, map[string]string{
		"organization_oid": "1.2.643.5.1.13.13.12.2.86.3001", "organization_name": "БУ «Окружная больница»", "system_name": "МИС В"})
	if reg.Status != 201 {
		t.Fatalf("register: %d %s", reg.Status, reg.Raw)
	}
	key := reg.Body["api_key"].(string)
	if me := b.do("GET", "/api/v1/me", key, nil); me.Status != 200 || me.Body["organization_oid"] != "1.2.643.5.1.13.13.12.2.86.3001" {
		t.Fatalf("me: %s", me.Raw)
	}
	var region string
	if err := b.app.Pool.QueryRow(context.Background(), "SELECT region FROM organizations WHERE oid = $1", "1.2.643.5.1.13.13.12.2.86.3001").Scan(&region); err != nil || region != "86" {
		t.Fatalf("region from OID: %q %v", region, err)
	}
	var stored []byte
	if err := b.app.Pool.QueryRow(context.Background(), "SELECT key_hash FROM api_keys WHERE name = 'МИС В'").Scan(&stored); err != nil || bytes.Contains(stored, []byte(key)) || len(stored) != 32 {
		t.Fatalf("keys must be stored hashed only")
	}
	if dup := b.do("POST", "/api/v1/ops/systems", b.keyOp, map[string]string{
		"organization_oid": "1.2.643.5.1.13.13.12.2.86.3001", "organization_name": "x", "system_name": "МИС В"}); dup.Status != 409 {
		t.Fatalf("duplicate system: %d", dup.Status)
	}
}

func TestBodyLimits(t *testing.T) {
	b := setup(t, 64<<10)
	big := b.build(semdgen.Options{Kind: "119"}).Submission()
	big.Document = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("<a/>"), 40<<10))
	r := b.do("POST", "/api/v1/documents", b.keyA, big)
	if r.Status != 413 || r.Body["code"] != codes.BodyTooLarge {
		t.Fatalf("oversized: %d %s", r.Status, r.Raw)
	}
	// Without Content-Length (chunked), the cap applies while reading.
	j, _ := json.Marshal(big)
	req, _ := http.NewRequest("POST", b.srv.URL+"/api/v1/documents", io.MultiReader(bytes.NewReader(j)))
	req.Header.Set("Authorization", "Bearer "+b.keyA)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 413 {
		t.Fatalf("chunked oversized: %d", res.StatusCode)
	}
	if n := b.countDocuments(); n != 0 {
		t.Fatalf("oversized request stored %d rows", n)
	}
	if r := b.do("POST", "/api/v1/documents", b.keyA, nil); r.Status != 415 {
		t.Fatalf("no content type: %d", r.Status)
	}
}

func TestListPagination(t *testing.T) {
	b := setup(t, 0)
	var ids []string
	for i := 0; i < 5; i++ {
		r := b.do("POST", "/api/v1/documents", b.keyA, b.build(semdgen.Options{Kind: "119"}).Submission())
		if r.Status != 201 {
			t.Fatal(r.Status, string(r.Raw))
		}
		ids = append(ids, r.Body["id"].(string))
	}
	b.do("POST", "/api/v1/documents", b.keyA, b.build(semdgen.Options{Kind: "58"}).Submission())
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		r := b.do("GET", "/api/v1/documents?kind=119&limit=2&cursor="+cursor, b.keyA, nil)
		if r.Status != 200 || pages > 5 {
			t.Fatalf("page: %d %s", r.Status, r.Raw)
		}
		for _, it := range r.Body["items"].([]any) {
			seen = append(seen, it.(map[string]any)["id"].(string))
		}
		next, _ := r.Body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 5 || seen[0] != ids[4] || seen[4] != ids[0] {
		t.Fatalf("pages newest first: got %v, submitted %v", seen, ids)
	}
	if r := b.do("GET", "/api/v1/documents?cursor=zzz", b.keyA, nil); r.Status != 400 {
		t.Fatalf("bad cursor: %d", r.Status)
	}
	if r := b.do("GET", "/api/v1/documents?limit=0", b.keyA, nil); r.Status != 400 {
		t.Fatalf("bad limit: %d", r.Status)
	}
}

func TestEnrichmentAndHealth(t *testing.T) {
	b := setup(t, 0)
	r := b.do("GET", "/api/v1/enrichment/snils/112-233-445%2095", b.keyA, nil)
	if r.Status != 200 || r.Body["valid"] != true || r.Body["normalized"] != "11223344595" || r.Body["formatted"] != "112-233-445 95" {
		t.Fatalf("snils ok: %s", r.Raw)
	}
	r = b.do("GET", "/api/v1/enrichment/snils/11223344596", b.keyA, nil)
	if r.Body["valid"] != false || r.Body["reason"] != "CHECKSUM" {
		t.Fatalf("snils bad: %s", r.Raw)
	}
	r = b.do("GET", "/api/v1/enrichment/enp/8451999122899990", b.keyA, nil)
	if r.Body["valid"] != true {
		t.Fatalf("enp ok: %s", r.Raw)
	}
	r = b.do("GET", "/api/v1/enrichment/enp/7700000000000017", b.keyA, nil)
	if r.Body["valid"] != false || r.Body["reason"] != "CHECKSUM" {
		t.Fatalf("enp bad: %s", r.Raw)
	}
	if r := b.do("GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz: %d", r.Status)
	}
	if r := b.do("GET", "/readyz", "", nil); r.Status != 200 {
		t.Fatalf("readyz: %d", r.Status)
	}
	req, _ := http.NewRequest("GET", b.srv.URL+"/healthz", nil)
	req.Header.Set("X-Request-ID", "trace-123")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("X-Request-ID") != "trace-123" {
		t.Fatalf("request id not echoed: %q", res.Header.Get("X-Request-ID"))
	}
	if r := b.do("GET", "/nope", "", nil); r.Status != 404 || r.Body["code"] != codes.NotFound {
		t.Fatalf("no route: %d %s", r.Status, r.Raw)
	}
	b.app.Pool.Close()
	if r := b.do("GET", "/readyz", "", nil); r.Status != 503 || r.Body["code"] != codes.DBUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("readyz with the database gone: %d %s", r.Status, r.Raw)
	}
}
