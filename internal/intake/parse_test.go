package intake

import (
	"bytes"
	"context"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/cdaxsd"
	"github.com/emdhub/hub/internal/refbook"
	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/testtool"
)

// flkService is the door with the official schematrons, XSDs and books.
func flkService(t testing.TB) *Service {
	t.Helper()
	set, err := schematron.OfficialSet()
	if err != nil {
		t.Fatal(err)
	}
	xsd, err := cdaxsd.LoadDir("")
	if err != nil {
		t.Fatal(err)
	}
	books, err := refbook.NewRegistryWith("", refbook.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	return &Service{Schematrons: set, XSD: xsd, Level2: &refbook.Checker{Books: books.Books, Settings: books.Settings()}}
}

// TestParseOnceSameVerdicts: the door's one parse (the fast DOM, the header
// read from it) gives exactly the verdicts of the old path (semd's
// encoding/xml reader, then a second parse for the ФЛК), which the door
// still takes for what the fast parser does not decide: an empty CDATA
// section in the title changes nothing in the document but sends it down
// the old path. Accepted and refused documents of every kind, under every
// stage, must come out the same (header, rules, warnings, refusals).
func TestParseOnceSameVerdicts(t *testing.T) {
	svc := flkService(t)
	org := semdgen.NewOrg(77, 1)
	now := time.Now()
	cases := 0
	for _, kind := range []string{"121", "58", "59", "76"} {
		doc := semdgen.MustBuild(semdgen.Options{Kind: kind, Org: org, Rand: rand.New(rand.NewPCG(3, 1))}).XML
		variants := map[string][]byte{
			"as generated":      doc,
			"wrong custodian":   bytes.Replace(doc, []byte(org.OID), []byte("1.2.643.5.1.13.13.12.2.77.99999"), 1),
			"broken schematron": bytes.Replace(doc, []byte(`codeSystem="1.2.643.5.1.13.13.99.2.285"`), []byte(`codeSystem="1.2.643.5.1.13.13.99.2.999"`), 1),
			"broken xsd":        bytes.Replace(doc, []byte("<title>"), []byte("<title><b/>"), 1),
			"wrong display":     bytes.Replace(doc, []byte(`displayName="`), []byte(`displayName="x`), 3),
		}
		for name, v := range variants {
			old := bytes.Replace(v, []byte("</title>"), []byte("<![CDATA[]]></title>"), 1)
			if bytes.Equal(old, v) {
				t.Fatalf("%s %s: no title to put a CDATA section in", kind, name)
			}
			if schematron.ParseFast(v, semd.DefaultLimits) == nil || schematron.ParseFast(old, semd.DefaultLimits) != nil {
				t.Fatalf("%s %s: the variants do not take the two paths", kind, name)
			}
			claims := semd.Claims{Kind: kind, SubmitterOrg: org.OID, Now: now}
			gotC, gotR, gotErr := svc.CheckAll(context.Background(), v, claims)
			wantC, wantR, wantErr := svc.CheckAll(context.Background(), old, claims)
			if gotErr != nil || wantErr != nil {
				t.Fatalf("%s %s: %v / %v", kind, name, gotErr, wantErr)
			}
			if !reflect.DeepEqual(gotC, wantC) || !reflect.DeepEqual(gotR, wantR) {
				t.Errorf("%s %s: parse once and the old path differ:\n%+v %+v %v\n%+v %+v %v", kind, name, gotC, gotC.Header, gotR, wantC, wantC.Header, wantR)
			}
			if name != "as generated" && len(gotR) == 0 {
				t.Errorf("%s %s: the variant was not refused: it proves nothing", kind, name)
			}
			cases++
		}
	}
	t.Logf("%d documents compared", cases)
}

// TestCheckReadsTheHeaderFromTheDOM: the header is no longer read with
// encoding/xml, whose token objects cost thousands of allocations for a
// 121 (5,263 per door check before the change); the one parse allocates a
// few dozen times. An allocation count, not a speed: it does not vary
// with the machine's load.
func TestCheckReadsTheHeaderFromTheDOM(t *testing.T) {
	svc := flkService(t)
	org := semdgen.NewOrg(77, 1)
	doc := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Rand: rand.New(rand.NewPCG(1, 0))}).XML
	claims := semd.Claims{Kind: "121", SubmitterOrg: org.OID, Now: time.Now()}
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := svc.Check(context.Background(), doc, claims); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1000 {
		t.Fatalf("a door check of a 121 allocates %.0f times: the header or the ФЛК parses the bytes with encoding/xml again", allocs)
	}
	t.Logf("%.0f allocations per door check", allocs)
}

// TestDoorHeaderOutlivesThePooledDOM: the door parses into a pooled DOM over
// the submitted bytes and releases it when its checks end; the header it
// returns must not point into either. Document A is checked, its bytes are
// overwritten (a caller may reuse its buffer once Check returns) and B is
// checked with the same pooled parser: A's header must still be the one
// ParseLimited reads from A. With FromTree's strings left pointing into the
// DOM's memory, A's names and identifiers would read as B's or as '#'.
func TestDoorHeaderOutlivesThePooledDOM(t *testing.T) {
	svc := flkService(t)
	org := semdgen.NewOrg(77, 1)
	claims := semd.Claims{Kind: "121", SubmitterOrg: org.OID, Now: time.Now()}
	a := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Rand: rand.New(rand.NewPCG(5, 1))}).XML
	b := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Rand: rand.New(rand.NewPCG(6, 2))}).XML
	want, err := semd.ParseLimited(a, svc.Limits)
	if err != nil {
		t.Fatal(err)
	}
	buf := bytes.Clone(a)
	gotA, err := svc.Check(context.Background(), buf, claims)
	if err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = '#'
	}
	copy(buf, b)
	if _, err := svc.Check(context.Background(), b, claims); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotA.Header, want) {
		t.Fatalf("A's header changed after its DOM was released and B parsed:\n%+v\nwant %+v", gotA.Header, want)
	}
	if gotA.Header.Patient == nil || gotA.Header.Patient.Family == "" || gotA.Header.ID.Root == "" {
		t.Fatalf("A's header is empty: the test proves nothing: %+v", gotA.Header)
	}
}

// BenchmarkDoorParse121 is the door's parse stage of a 121 as the door runs
// it: the pooled DOM over the bytes (no copy, the buffers reused), the
// header read from it (FromTree, with its strings copied) and the DOM
// released. BenchmarkFLK121's parse and header stages are the same work
// with a fresh DOM each time.
//
//	go test ./internal/intake -run XXX -bench 'DoorParse121|FLK121/(parse|header)$' -cpu 1 -benchmem
func BenchmarkDoorParse121(b *testing.B) {
	svc, doc, _ := benchSetup(b)
	b.ReportAllocs()
	start := testtool.CPUTime()
	for b.Loop() {
		header, dom, err := svc.parse(doc)
		if err != nil || dom == nil || header == nil {
			b.Fatalf("the door did not take the one parse: %v", err)
		}
		dom.Release()
	}
	b.ReportMetric(float64(testtool.CPUTime()-start)/float64(b.N)/1e3, "cpu-µs/op")
}

// TestDoorReleasesEveryDOM: the door gives its pooled DOM back on every
// path out of the checks — accepted, refused by the header, the XSD, the
// schematron or the books, a root that is not a ClinicalDocument (FromTree
// refuses), a declaration FromTree leaves to encoding/xml (xmlns:root), with
// CheckAll going on after a refusal — so the pool never leaks a parser.
func TestDoorReleasesEveryDOM(t *testing.T) {
	svc := flkService(t)
	org := semdgen.NewOrg(77, 1)
	claims := semd.Claims{Kind: "121", SubmitterOrg: org.OID, Now: time.Now()}
	doc := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Rand: rand.New(rand.NewPCG(3, 1))}).XML
	for name, v := range map[string][]byte{
		"as generated":      doc,
		"wrong custodian":   bytes.Replace(doc, []byte(org.OID), []byte("1.2.643.5.1.13.13.12.2.77.99999"), 1),
		"broken schematron": bytes.Replace(doc, []byte(`codeSystem="1.2.643.5.1.13.13.99.2.285"`), []byte(`codeSystem="1.2.643.5.1.13.13.99.2.999"`), 1),
		"broken xsd":        bytes.Replace(doc, []byte("<title>"), []byte("<title><b/>"), 1),
		"wrong display":     bytes.Replace(doc, []byte(`displayName="`), []byte(`displayName="x`), 3),
		"not a CDA root":    []byte(`<a xmlns="urn:x"><b/></a>`),
		"xmlns:root":        bytes.Replace(doc, []byte("<title>"), []byte(`<title xmlns:root="urn:x">`), 1),
	} {
		if schematron.ParseFast(v, semd.DefaultLimits) == nil {
			t.Fatalf("%s: the fast parser declines it: the door's pool is not used", name)
		}
		before := schematron.PooledInUse()
		_, _ = svc.Check(context.Background(), v, claims)
		_, _, _ = svc.CheckAll(context.Background(), v, claims)
		if after := schematron.PooledInUse(); after != before {
			t.Errorf("%s: %d pooled DOMs not released", name, after-before)
		}
	}
}
