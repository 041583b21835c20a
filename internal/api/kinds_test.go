package api_test

import (
	"context"
	"crypto/rand"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/app"
	"github.com/emdhub/hub/internal/cdaxsd"
	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/kinds/kindstest"
	"github.com/emdhub/hub/internal/semdgen"
)

// secondHub builds another hub on b's database, as a second process would
// be: its own app, intake, API server and kinds registry, sharing nothing
// with b but PostgreSQL. Both registries run their LISTEN loops with an
// hour's poll, so what either sees within seconds came by NOTIFY.
func secondHub(t *testing.T, b *bundle) *bundle {
	t.Helper()
	caDir := t.TempDir()
	if err := semdgen.WriteTestCA(caDir); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(func(k string) string {
		if k == "HUB_TRUSTED_CA_DIR" {
			return caDir
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Build(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), b.app.Pool)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.API.Handler())
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go a.Kinds.Run(ctx, time.Hour)
	go b.app.Kinds.Run(ctx, time.Hour)
	waitFor(t, "both hubs listen on hub_kinds", func() bool {
		return b.count(`SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN hub_kinds'`) >= 2
	})
	b2 := *b
	b2.srv, b2.app = srv, a
	return &b2
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("not within 10 s: %s", what)
}

func (b *bundle) uploadKind(key, kind, query string, zip []byte) resp {
	b.t.Helper()
	return b.raw("POST", "/api/v1/ops/kinds/"+kind+query, key, "application/zip", zip)
}

// TestKindAddedAtRunTime: an operator uploads, through hub A, a bundle for
// kind 121 whose schematron adds rule К1-1, which the generated documents
// break; hub B — another app on the same database, not restarted — refuses
// such a document with FLK_FAILED naming К1-1 within seconds, storing
// nothing; after a rollback through A, B accepts the same document again.
// A bundle for kind 119, which has no bundled schematron, adds one: B then
// refuses 119 documents it accepted before.
// The upload and the rollback are in the audit log under the operator's
// key; a МИС key gets 403 on every kinds route.
func TestKindAddedAtRunTime(t *testing.T) {
	a := setup(t, 0)
	b := secondHub(t, a)
	doc := a.build(semdgen.Options{Kind: "121"})
	bundleZip := kindstest.Bundle("121", kindstest.StrictSchematron("121"), kindstest.Sample("121", kindstest.Prefix+"sample-1", 1))

	for _, r := range []resp{
		a.uploadKind(a.keyA, "121", "", bundleZip),
		a.do("GET", "/api/v1/ops/kinds", a.keyA, nil),
		a.do("GET", "/api/v1/ops/kinds/121", a.keyA, nil),
		a.do("POST", "/api/v1/ops/kinds/121/rollback", a.keyA, nil),
		a.do("POST", "/api/v1/ops/kinds/121/versions/1/activate", a.keyA, nil),
	} {
		assertErrorShape(t, r, http.StatusForbidden, codes.Forbidden)
	}
	if n := a.count(`SELECT count(*) FROM kind_bundles`); n != 0 {
		t.Fatalf("a МИС's upload stored %d bundles", n)
	}

	up := a.uploadKind(a.keyOp, "121", "?note=ids+must+start+with+MSE-", bundleZip)
	if up.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", up.Status, up.Raw)
	}
	if v := up.Body["version"].(map[string]any); v["version"] != float64(1) || v["state"] != "active" || v["note"] != "ids must start with MSE-" {
		t.Fatalf("upload answer: %s", up.Raw)
	}
	uploaded := time.Now()
	waitFor(t, "hub B enforces version 1", func() bool { return b.app.Kinds.Lookup("121").Version == 1 })
	t.Logf("hub B enforced the upload %v after hub A answered (NOTIFY, compile of 121.sch)", time.Since(uploaded).Round(time.Millisecond))
	r := b.do("POST", "/api/v1/documents", b.keyA, doc.Submission())
	if r.Status != http.StatusUnprocessableEntity || r.Body["code"] != codes.FLKFailed {
		t.Fatalf("hub B after the upload: %d %s", r.Status, r.Raw)
	}
	var named bool
	for _, d := range r.Body["details"].([]any) {
		d := d.(map[string]any)
		named = named || (d["rule"] == kindstest.Rule && d["message"] == kindstest.RuleText && d["path"] == "/Q{urn:hl7-org:v3}ClinicalDocument[1]")
	}
	if !named {
		t.Fatalf("refusal does not name rule %s: %s", kindstest.Rule, r.Raw)
	}
	if n := b.countDocuments(); n != 0 {
		t.Fatalf("the refused document left %d rows", n)
	}

	rb := a.do("POST", "/api/v1/ops/kinds/121/rollback", a.keyOp, nil)
	if rb.Status != http.StatusOK || rb.Body["version"] != nil || rb.Body["in_force"].(map[string]any)["version"] != float64(0) {
		t.Fatalf("rollback: %d %s", rb.Status, rb.Raw)
	}
	rolledBack := time.Now()
	waitFor(t, "hub B is back on the bundled 121", func() bool { return b.app.Kinds.Lookup("121").Version == 0 })
	t.Logf("hub B followed the rollback %v after hub A answered", time.Since(rolledBack).Round(time.Millisecond))
	if r := b.do("POST", "/api/v1/documents", b.keyA, doc.Submission()); r.Status != http.StatusCreated {
		t.Fatalf("hub B after the rollback: %d %s", r.Status, r.Raw)
	}

	// A kind the hub has no schematron for (119) gets one: B accepted its
	// documents on the header checks alone, and now runs the new rule.
	if b.app.Kinds.Lookup("119") != nil {
		t.Fatal("kind 119 has a schematron before any upload")
	}
	if r := b.do("POST", "/api/v1/documents", b.keyA, a.build(semdgen.Options{Kind: "119"}).Submission()); r.Status != http.StatusCreated {
		t.Fatalf("kind 119 before the upload: %d %s", r.Status, r.Raw)
	}
	if up := a.uploadKind(a.keyOp, "119", "", kindstest.Bundle("119", kindstest.NewKindSchematron(), kindstest.Sample("119", kindstest.Prefix+"1", 3))); up.Status != http.StatusCreated {
		t.Fatalf("upload for 119: %d %s", up.Status, up.Raw)
	}
	waitFor(t, "hub B runs a schematron for 119", func() bool { return b.app.Kinds.Lookup("119") != nil })
	if r := b.do("POST", "/api/v1/documents", b.keyA, a.build(semdgen.Options{Kind: "119"}).Submission()); r.Status != http.StatusUnprocessableEntity ||
		r.Body["code"] != codes.FLKFailed || !strings.Contains(string(r.Raw), kindstest.RuleText) {
		t.Fatalf("kind 119 after the upload: %d %s", r.Status, r.Raw)
	}

	list := b.do("GET", "/api/v1/ops/kinds/121", b.keyOp, nil)
	if vs := list.Body["versions"].([]any); list.Status != 200 || len(vs) != 1 || vs[0].(map[string]any)["state"] != "superseded" {
		t.Fatalf("list: %d %s", list.Status, list.Raw)
	}
	var opKey string
	if err := a.app.Pool.QueryRow(context.Background(), `SELECT id::text FROM api_keys WHERE role = 'operator'`).Scan(&opKey); err != nil {
		t.Fatal(err)
	}
	audit := a.do("GET", "/api/v1/ops/audit", a.keyOp, nil)
	var actions []string
	for _, it := range audit.Body["items"].([]any) {
		it := it.(map[string]any)
		if strings.HasPrefix(it["action"].(string), "kind.") {
			if it["actor"] != "operator" || it["actor_key_id"] != opKey || it["details"].(map[string]any)["kind"] == nil {
				t.Fatalf("audit row: %v (operator key %v)", it, opKey)
			}
			actions = append(actions, it["action"].(string))
		}
	}
	if strings.Join(actions, " ") != "kind.upload kind.rollback kind.upload" {
		t.Fatalf("audit actions %v: %s", actions, audit.Raw)
	}
}

// TestKindBundleRefusedOverHTTP: each bad bundle gets its coded error with
// the file (and line) at fault, and nothing is stored or audited.
func TestKindBundleRefusedOverHTTP(t *testing.T) {
	b := setup(t, 0)
	strict := kindstest.StrictSchematron("121")
	good := kindstest.Sample("121", kindstest.Prefix+"1", 1)
	random := make([]byte, 9<<20)
	_, _ = rand.Read(random)
	broken := strings.Replace(string(strict), `<rule context="/ClinicalDocument">`, `<rule context="/ClinicalDocument"><let name="x"/>`, 1) // a let without value= (element content) is refused
	brokenLine := strings.Count(broken[:strings.Index(broken, "<let ")], "\n") + 1
	tests := []struct {
		name        string
		kind        string
		contentType string
		body        []byte
		status      int
		code        string
		file        string
		line        int
		rule        string
	}{
		{"traversal", "121", "application/zip", kindstest.RawZip([2]string{"121.sch", string(strict)}, [2]string{"../samples/a.xml", string(good)}), 422, codes.KindBundleInvalid, "../samples/a.xml", 0, ""},
		{"zip too big", "121", "application/zip", random, 413, codes.KindBundleTooLarge, "", 0, ""},
		{"zip bomb", "121", "application/zip", kindstest.MustZip(map[string][]byte{"121.sch": strict, "samples/a.xml": make([]byte, 40<<20)}), 413, codes.KindBundleTooLarge, "", 0, ""},
		{"no samples", "121", "application/zip", kindstest.MustZip(map[string][]byte{"121.sch": strict}), 422, codes.KindBundleInvalid, "samples/", 0, ""},
		{"sample fails", "121", "application/zip", kindstest.Bundle("121", strict, good, kindstest.Sample("121", "plain", 2)), 422, codes.KindSampleFailed, "samples/2.xml", 0, kindstest.Rule},
		{"schematron does not compile", "121", "application/octet-stream", kindstest.Bundle("121", []byte(broken), good), 422, codes.KindBundleInvalid, "121.sch", brokenLine, ""},
		{"xsd that does not compile", "121", "application/zip", kindstest.MustZip(map[string][]byte{"121.sch": strict, "samples/a.xml": good, "xsd/CDA.xsd": []byte("<schema/>")}), 422, codes.KindBundleInvalid, "xsd/CDA.xsd", 0, ""},
		{"unknown kind", "99999", "application/zip", kindstest.Bundle("99999", strict, good), 422, codes.ObjectNotFound, "", 0, ""},
		{"not a zip", "121", "application/zip", []byte("hello"), 422, codes.KindBundleInvalid, "", 0, ""},
		{"JSON instead of a zip", "121", "application/json", []byte(`{}`), 415, codes.UnsupportedMedia, "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.raw("POST", "/api/v1/ops/kinds/"+tt.kind, b.keyOp, tt.contentType, tt.body)
			assertErrorShape(t, r, tt.status, tt.code)
			if tt.file == "" {
				return
			}
			d, _ := r.Body["details"].([]any)
			if len(d) == 0 {
				t.Fatalf("no details: %s", r.Raw)
			}
			first := d[0].(map[string]any)
			if first["file"] != tt.file || (tt.line > 0 && first["line"] != float64(tt.line)) || (tt.rule != "" && first["rule"] != tt.rule) {
				t.Fatalf("details[0] %v, want file %s line %d rule %s", first, tt.file, tt.line, tt.rule)
			}
		})
	}
	if n := b.count(`SELECT count(*) FROM kind_bundles`) + b.count(`SELECT count(*) FROM audit_log WHERE action LIKE 'kind.%'`); n != 0 {
		t.Fatalf("refused bundles left %d rows", n)
	}
}

// strictIDSchema is the official 121 XSD tree with one change: the
// document's own id must have an extension starting with kindstest.Prefix
// (a restriction of II), which the bundle's samples have and documents
// generated otherwise have not. It stands for a registry that publishes a
// stricter schema for a kind.
func strictIDSchema(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := fs.WalkDir(cdaxsd.Bundled, "xsd/121", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(cdaxsd.Bundled, p)
		files["xsd/"+strings.TrimPrefix(p, "xsd/121/")] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	const pocd = "xsd/POCD_MT000040.xsd"
	s := string(files[pocd])
	cd := strings.Index(s, `<xs:complexType name="POCD_MT000040.ClinicalDocument">`)
	idAt := strings.Index(s[cd:], `<xs:element name="id" type="II"/>`)
	if cd < 0 || idAt < 0 {
		t.Fatal("the official 121 schema no longer declares ClinicalDocument/id as II")
	}
	idAt += cd
	s = s[:idAt] + `<xs:element name="id" type="HubStrictDocumentII"/>` + s[idAt+len(`<xs:element name="id" type="II"/>`):]
	s = strings.Replace(s, `<xs:complexType name="POCD_MT000040.ClinicalDocument">`, `<xs:complexType name="HubStrictDocumentII">
		<xs:complexContent>
			<xs:restriction base="II">
				<xs:attribute name="extension" use="required">
					<xs:simpleType>
						<xs:restriction base="st">
							<xs:pattern value="`+kindstest.Prefix+`.*"/>
						</xs:restriction>
					</xs:simpleType>
				</xs:attribute>
			</xs:restriction>
		</xs:complexContent>
	</xs:complexType>
	<xs:complexType name="POCD_MT000040.ClinicalDocument">`, 1)
	files[pocd] = []byte(s)
	return files
}

// TestKindXSDUploadedAtRunTime: an operator uploads through hub A a bundle
// for kind 121 whose xsd/ is stricter than the bundled official schema;
// hub B, another app on the same database, not restarted, refuses a
// document that breaks only the new schema with XSD_INVALID naming the
// attribute, stores nothing, and accepts the same document again after a
// rollback through A. The bundle's schematron is the official one: what
// refuses is the uploaded XSD.
func TestKindXSDUploadedAtRunTime(t *testing.T) {
	a := setup(t, 0)
	b := secondHub(t, a)
	doc := a.build(semdgen.Options{Kind: "121"})
	if r := b.do("POST", "/api/v1/documents", b.keyA, a.build(semdgen.Options{Kind: "121"}).Submission()); r.Status != http.StatusCreated {
		t.Fatalf("hub B before the upload: %d %s", r.Status, r.Raw)
	}
	files := strictIDSchema(t)
	files["121.sch"] = kindstest.Official("121")
	files["samples/1.xml"] = kindstest.Sample("121", kindstest.Prefix+"sample-1", 1)
	up := a.uploadKind(a.keyOp, "121", "", kindstest.MustZip(files))
	if up.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", up.Status, up.Raw)
	}
	waitFor(t, "hub B enforces version 1", func() bool { return b.app.Kinds.Lookup("121").Version == 1 })
	before := b.countDocuments()
	r := b.do("POST", "/api/v1/documents", b.keyA, doc.Submission())
	if r.Status != http.StatusUnprocessableEntity || r.Body["code"] != codes.XSDInvalid {
		t.Fatalf("hub B after the upload: %d %s", r.Status, r.Raw)
	}
	if !strings.Contains(string(r.Raw), "extension") {
		t.Fatalf("the refusal does not name the attribute the new schema restricts: %s", r.Raw)
	}
	t.Logf("hub B's refusal: %s", r.Body["message"])
	if n := b.countDocuments(); n != before {
		t.Fatalf("the refused document left %d rows", n-before)
	}
	// A document that meets the new schema passes hub B's door.
	if r := b.do("POST", "/api/v1/documents", b.keyA, a.build(semdgen.Options{Kind: "121", ID: kindstest.Prefix + "42"}).Submission()); r.Status != http.StatusCreated {
		t.Fatalf("a document meeting the uploaded schema: %d %s", r.Status, r.Raw)
	}
	if rb := a.do("POST", "/api/v1/ops/kinds/121/rollback", a.keyOp, nil); rb.Status != http.StatusOK {
		t.Fatalf("rollback: %d %s", rb.Status, rb.Raw)
	}
	waitFor(t, "hub B is back on the bundled 121", func() bool { return b.app.Kinds.Lookup("121").Version == 0 })
	if r := b.do("POST", "/api/v1/documents", b.keyA, doc.Submission()); r.Status != http.StatusCreated {
		t.Fatalf("hub B after the rollback: %d %s", r.Status, r.Raw)
	}
}
