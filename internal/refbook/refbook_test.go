package refbook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/codes"
)

// TestBundleIsCurrent regenerates the bundle's text from the ФНСИ exports
// in shared/reference/nsi and compares it with the committed bundle
// (uncompressed: gzip's bytes may change with the Go version).
func TestBundleIsCurrent(t *testing.T) {
	src, err := ExportSource()
	if err != nil {
		t.Fatal(err)
	}
	books, err := ReadExportDir(src)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := WriteBundle(&want, books); err != nil {
		t.Fatal(err)
	}
	got, err := BundledText()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("books/bundle.tsv.gz is stale (%d bytes, exports give %d): run go generate ./internal/refbook", len(got), want.Len())
	}
	// 62 export files; 1.2.643.5.1.13.13.11.1076_3.1 is 99.2.795 v3.1 again.
	if len(books) != 61 {
		t.Fatalf("%d distinct books, want 61", len(books))
	}
}

func bundled(t testing.TB) *Books {
	t.Helper()
	r, err := NewRegistry("")
	if err != nil {
		t.Fatal(err)
	}
	return r.Books()
}

func TestLookup(t *testing.T) {
	s := bundled(t)
	tests := []struct {
		name, oid, version, code string
		held, versionHeld, has   bool
		wantVersion              string
	}{
		{"gender", "1.2.643.5.1.13.13.11.1040", "2.1", "1", true, true, true, "2.1"},
		{"gender absent code", "1.2.643.5.1.13.13.11.1040", "2.1", "9", true, true, false, "2.1"},
		{"gender by its old OID", "1.2.643.5.1.13.2.1.1.156", "", "2", true, true, true, "2.1"},
		{"gender, version not held", "1.2.643.5.1.13.13.11.1040", "1.0", "1", true, false, false, ""},
		{"МКБ-10 by MKB_CODE", "1.2.643.5.1.13.13.11.1005", "2.24", "U12.9", true, true, true, "2.24"},
		{"МКБ-10 surrogate ID is no code", "1.2.643.5.1.13.13.11.1005", "2.24", "16055", true, true, false, "2.24"},
		{"services by S_CODE", "1.2.643.5.1.13.13.11.1070", "", "A27.05.046", true, true, true, "2.10"},
		{"sections: newest version by default", "1.2.643.5.1.13.13.99.2.197", "", "DGN", true, true, true, "4.29"},
		{"sections: older version held too", "1.2.643.5.1.13.13.99.2.197", "3.19", "TEMPORARYDISABILITY", true, true, true, "3.19"},
		{"sections by old OID 1379", "1.2.643.5.1.13.13.11.1379", "4.29", "SCOPORG", true, true, true, "4.29"},
		{"confidentiality by CODE", "1.2.643.5.1.13.13.99.2.285", "", "N", true, true, true, "1.2"},
		{"confidentiality surrogate ID is no code", "1.2.643.5.1.13.13.99.2.285", "1.2", "1", true, true, false, "1.2"},
		{"confidentiality old OID 1116 v1.1", "1.2.643.5.1.13.13.11.1116", "1.1", "R", true, true, true, "1.1"},
		{"diagnosis basis via 1076", "1.2.643.5.1.13.13.11.1076", "3.1", "52", true, true, true, "3.1"},
		{"regions", "1.2.643.5.1.13.13.99.2.206", "6.5", "77", true, true, true, "6.5"},
		{"positions for ФРМСС", "1.2.643.5.1.13.13.99.2.700", "1.4", "99", true, true, true, "1.4"},
		{"not a book", "1.2.643.100.3", "", "x", false, false, false, ""},
		{"a book not held", "1.2.643.5.1.13.13.11.1039", "", "1", false, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, held := s.Lookup(tt.oid, tt.version)
			if held != tt.held || (b != nil) != tt.versionHeld {
				t.Fatalf("held %v, book %v", held, b)
			}
			if b == nil {
				return
			}
			if b.Version != tt.wantVersion || b.Has(tt.code) != tt.has {
				t.Fatalf("version %s, has %q: %v", b.Version, tt.code, b.Has(tt.code))
			}
		})
	}
	if b, _ := s.Lookup("1.2.643.5.1.13.13.11.1040", ""); b.NameOf("2") != "Женский" {
		t.Errorf("1040 name of 2: %q", b.NameOf("2"))
	}
	if b, _ := s.Lookup("1.2.643.5.1.13.13.11.1005", ""); b.Len() != 15038 {
		t.Errorf("МКБ-10: %d codes", b.Len())
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"4.29", "3.19", 1}, {"2.10", "2.9", 1}, {"1.2", "1.2", 0}, {"1.2", "1.2.1", -1}, {"9.6", "10.0", -1}} {
		if got := CompareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("%s vs %s: %d", tt.a, tt.b, got)
		}
	}
}

// writeExport writes a book in the ФНСИ export format.
func writeExport(t *testing.T, dir, oid, version string, rows map[string]string, also ...string) {
	t.Helper()
	type cell struct {
		Column string  `json:"column"`
		Value  *string `json:"value"`
	}
	var list [][]cell
	for id, name := range rows {
		id, name := id, name
		list = append(list, []cell{{"ID", &id}, {"NAME", &name}, {"COMMENT", nil}})
	}
	codes := []map[string]string{{"value": oid, "type": "TYPE_PRIMARY"}}
	for _, a := range also {
		codes = append(codes, map[string]string{"value": a, "type": "TYPE_OTHER"})
	}
	pass := map[string]any{"oid": oid, "version": version, "fullName": "Пол пациента",
		"keys": []map[string]string{{"field": "NAME", "type": "VALUE"}, {"field": "ID", "type": "PRIMARY"}}, "codes": codes}
	for name, v := range map[string]any{".json": map[string]any{"result": "OK", "list": list}, ".passport.json": pass} {
		b, _ := json.Marshal(v)
		if err := os.WriteFile(filepath.Join(dir, oid+"_"+version+name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReloadWithoutRestart: a book version dropped into the directory is
// used after Reload (and by Watch) with no restart; a broken directory keeps
// the previous books.
func TestReloadWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	r, err := NewRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	const gender = "1.2.643.5.1.13.13.11.1040"
	if b, held := r.Books().Lookup(gender, "9.9"); !held || b != nil {
		t.Fatal("9.9 held before it was dropped in")
	}
	if changed, err := r.Reload(); err != nil || changed {
		t.Fatalf("unchanged directory: changed %v, %v", changed, err)
	}
	writeExport(t, dir, gender, "9.9", map[string]string{"1": "Мужской", "2": "Женский", "3": "Неопределенный", "4": "Иной"}, "1.2.643.5.1.13.2.1.1.156")
	if changed, err := r.Reload(); err != nil || !changed {
		t.Fatalf("reload: changed %v, %v", changed, err)
	}
	b, _ := r.Books().Lookup(gender, "9.9")
	if b == nil || !b.Has("4") || b.NameOf("4") != "Иной" {
		t.Fatalf("9.9 after reload: %+v", b)
	}
	if b, _ := r.Books().Lookup(gender, ""); b.Version != "9.9" {
		t.Fatalf("newest version %s, want the dropped 9.9", b.Version)
	}
	if b, _ := r.Books().Lookup(gender, "2.1"); b == nil || b.Has("4") {
		t.Fatal("the bundled 2.1 must stay as it is")
	}
	if b, _ := r.Books().Lookup("1.2.643.5.1.13.2.1.1.156", "9.9"); b == nil {
		t.Fatal("the dropped version answers to its other OID")
	}
	// A document checked against the dropped version.
	doc := docWith(`<administrativeGenderCode code="4" codeSystem="1.2.643.5.1.13.13.11.1040" codeSystemVersion="9.9"/>`)
	if err := (&Checker{Books: r.Books}).Check(context.Background(), doc); err != nil {
		t.Fatalf("code 4 of the dropped 9.9: %v", err)
	}

	// A broken file: the reload fails and the previous books stay.
	if err := os.WriteFile(filepath.Join(dir, gender+"_9.10.json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reload(); err == nil {
		t.Fatal("broken directory reloaded")
	}
	if b, _ := r.Books().Lookup(gender, "9.9"); b == nil {
		t.Fatal("previous books dropped after a failed reload")
	}

	// Watch picks up the fixed directory by itself.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Watch(ctx, 10*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	writeExport(t, dir, gender, "9.10", map[string]string{"1": "Мужской", "5": "Пятый"})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, _ := r.Books().Lookup(gender, ""); b.Version == "9.10" && b.Has("5") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Watch did not load the new version")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The same OID and version twice with other codes is inconsistent.
	dir2 := t.TempDir()
	writeExport(t, dir2, gender, "9.9", map[string]string{"1": "Мужской"})
	if err := os.MkdirAll(filepath.Join(dir2, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(filepath.Join(dir2, gender+"_9.9.passport.json"))
	os.WriteFile(filepath.Join(dir2, "copy_9.9.passport.json"), b1, 0o644)
	os.WriteFile(filepath.Join(dir2, "copy_9.9.json"), []byte(`{"list":[[{"column":"ID","value":"7"}]]}`), 0o644)
	if _, err := NewRegistry(dir2); err == nil || !strings.Contains(err.Error(), "other codes") {
		t.Fatalf("inconsistent directory: %v", err)
	}
}

// docTemplate is a hand-made СЭМД with codes in the header and the body,
// two authors, a custodian and an author organisation.
const docTemplate = `<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:identity="urn:hl7-ru:identity" xmlns:address="urn:hl7-ru:address" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <realmCode code="RU"/>
 <code code="34" codeSystem="1.2.643.5.1.13.13.11.1522" codeSystemVersion="7.24" codeSystemName="Виды медицинской документации" displayName="Направление на медико-социальную экспертизу медицинской организацией"/>
 <confidentialityCode code="N" codeSystem="1.2.643.5.1.13.13.99.2.285" codeSystemVersion="1.2"/>
 <languageCode code="ru-RU"/>
 <recordTarget><patientRole>
  <id root="1.2.643.5.1.13.13.12.2.77.1001.100.1.1.10" extension="p1"/>
  <id root="1.2.643.100.3" extension="{{PATIENT_SNILS}}"/>
  <addr><address:stateCode xsi:type="CD" code="77" codeSystem="1.2.643.5.1.13.13.99.2.206" codeSystemVersion="6.5"/></addr>
  <patient>{{GENDER}}</patient>
  <providerOrganization><id root="1.2.643.5.1.13.13.12.2.50.4242"/></providerOrganization>
 </patientRole></recordTarget>
 <author><assignedAuthor>
  <id root="1.2.643.5.1.13.13.12.2.77.1001.100.1.1.70" extension="a1"/>
  <id root="1.2.643.100.3" extension="112-233-445 95"/>
  <code code="109" codeSystem="1.2.643.5.1.13.13.11.1002" codeSystemVersion="9.6"/>
  <representedOrganization><id root="1.2.643.5.1.13.13.12.2.77.1001"/><id root="1.2.643.5.1.13.2.1.1.1504.101" extension="x"/></representedOrganization>
 </assignedAuthor></author>
 <author><assignedAuthor>
  <id root="1.2.643.5.1.13.13.12.2.77.1001.100.1.1.70" extension="a2"/>
  <id root="1.2.643.100.3" extension="{{AUTHOR2_SNILS}}"/>
  <representedOrganization><id root="{{AUTHOR2_ORG}}"/></representedOrganization>
 </assignedAuthor></author>
 <custodian><assignedCustodian><representedCustodianOrganization><id root="1.2.643.5.1.13.13.12.2.77.1001"/></representedCustodianOrganization></assignedCustodian></custodian>
 <informationRecipient><intendedRecipient><receivedOrganization><id root="1.2.643.5.1.13"/></receivedOrganization></intendedRecipient></informationRecipient>
 <component><structuredBody>
  <component><section><code code="SCOPORG" codeSystem="1.2.643.5.1.13.13.99.2.197" codeSystemVersion="4.29"/>
   <entry><observation><code code="4061" codeSystem="1.2.643.5.1.13.13.99.2.166" codeSystemVersion="5.41"/><value xsi:type="BL" value="true"/></observation></entry>
  </section></component>
  <component><section><code code="{{SECTION}}" codeSystem="1.2.643.5.1.13.13.99.2.197" codeSystemVersion="4.29"/>
   <entry><act><code code="{{DIAG}}" codeSystem="1.2.643.5.1.13.13.11.1005" codeSystemVersion="2.24"/></act></entry>
   <entry><observation><code code="LOCAL-7" codeSystem="1.2.643.5.1.13.13.12.2.77.1001.100.1.1.99"/><value xsi:type="CD" code="whatever" codeSystem="2.16.840.1.113883.5.4"/></observation></entry>
   <entry><observation><code nullFlavor="NI" codeSystem="1.2.643.5.1.13.13.99.2.166"/></observation></entry>
  </section></component>
 </structuredBody></component>
</ClinicalDocument>`

var docDefaults = map[string]string{
	"{{PATIENT_SNILS}}": "123-456-789 64",
	"{{GENDER}}":        `<administrativeGenderCode code="2" codeSystem="1.2.643.5.1.13.13.11.1040" codeSystemVersion="2.1"/>`,
	"{{AUTHOR2_SNILS}}": "00150881500",
	"{{AUTHOR2_ORG}}":   "1.2.643.5.1.13.13.12.2.77.1001.0.2787.2107", // a subdivision of 77.1001
	"{{SECTION}}":       "DGN",
	"{{DIAG}}":          "U12.9",
}

// doc fills the template, overriding placeholders by pairs.
func doc(over ...string) []byte {
	m := map[string]string{}
	for k, v := range docDefaults {
		m[k] = v
	}
	for i := 0; i+1 < len(over); i += 2 {
		m[over[i]] = over[i+1]
	}
	s := docTemplate
	for k, v := range m {
		s = strings.ReplaceAll(s, k, v)
	}
	return []byte(s)
}

func docWith(gender string) []byte { return doc("{{GENDER}}", gender) }

// orgSet is the set of registered organisations for the checker tests.
type orgSet map[string]bool

func (s orgSet) RegisteredOrgs(_ context.Context, oids []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, o := range oids {
		if s[o] {
			out[o] = true
		}
	}
	return out, nil
}

// wantProblem is a code, a path, and a fragment of the message.
type wantProblem struct{ code, path, msg string }

func TestChecker(t *testing.T) {
	books := bundled(t)
	c := &Checker{Books: func() *Books { return books }, Orgs: orgSet{"1.2.643.5.1.13.13.12.2.77.1001": true}}
	tests := []struct {
		name string
		doc  []byte
		want []wantProblem
	}{
		{"valid: codes of held books, unknown systems, local codes, subdivision of a registered org", doc(), nil},
		{"gender absent from its book", doc("{{GENDER}}", `<administrativeGenderCode code="9" codeSystem="1.2.643.5.1.13.13.11.1040" codeSystemVersion="2.1"/>`),
			[]wantProblem{{codes.InvalidElementValueCode, "/ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]/administrativeGenderCode[1]/@code", `НСИ 1.2.643.5.1.13.13.11.1040 «Пол пациента», version 2.1, has no code "9"`}}},
		{"body: section and diagnosis absent", doc("{{SECTION}}", "NOSUCH", "{{DIAG}}", "16055"),
			[]wantProblem{
				{codes.InvalidElementValueCode, "/ClinicalDocument/component[1]/structuredBody[1]/component[2]/section[1]/code[1]/@code", `version 4.29, has no code "NOSUCH"`},
				{codes.InvalidElementValueCode, "/ClinicalDocument/component[1]/structuredBody[1]/component[2]/section[1]/entry[1]/act[1]/code[1]/@code", `НСИ 1.2.643.5.1.13.13.11.1005`},
			}},
		{"version not held", docWith(`<administrativeGenderCode code="1" codeSystem="1.2.643.5.1.13.13.11.1040" codeSystemVersion="1.0"/>`),
			[]wantProblem{{codes.InvalidDictionaryVersion, "/ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]/administrativeGenderCode[1]/@codeSystemVersion", "version 1.0 is not held by the hub (held: 2.1)"}}},
		{"no version: the newest held", docWith(`<administrativeGenderCode code="3" codeSystem="1.2.643.5.1.13.2.1.1.156"/>`), nil},
		{"unknown code system ignored", docWith(`<administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>`), nil},
		{"bad second author СНИЛС", doc("{{AUTHOR2_SNILS}}", "00150881501"),
			[]wantProblem{{codes.InvalidSNILS, "/ClinicalDocument/author[2]/assignedAuthor[1]/id[2]/@extension", `СНИЛС "00150881501"`}}},
		{"bad patient СНИЛС", doc("{{PATIENT_SNILS}}", "123-456-789 65"),
			[]wantProblem{{codes.InvalidSNILS, "/ClinicalDocument/recordTarget[1]/patientRole[1]/id[2]/@extension", "123-456-789 65"}}},
		{"unregistered author organisation, in document order", doc("{{AUTHOR2_ORG}}", "1.2.643.5.1.13.13.12.2.16.77", "{{DIAG}}", "nope"),
			[]wantProblem{
				{OrgNotFound, "/ClinicalDocument/author[2]/assignedAuthor[1]/representedOrganization[1]/id[1]/@root", "organisation 1.2.643.5.1.13.13.12.2.16.77 (author's organisation) is not registered"},
				{codes.InvalidElementValueCode, "/ClinicalDocument/component[1]/structuredBody[1]/component[2]/section[1]/entry[1]/act[1]/code[1]/@code", `has no code "nope"`},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Check(context.Background(), tt.doc)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("want a refusal, got %v", err)
			}
			if len(ce.Problems) != len(tt.want) {
				t.Fatalf("problems: %+v", ce.Problems)
			}
			for i, w := range tt.want {
				p := ce.Problems[i]
				if p.Code != w.code || p.Path != w.path || !strings.Contains(p.Message, w.msg) {
					t.Errorf("problem %d: %+v\nwant %+v", i, p, w)
				}
			}
		})
	}
	// Without Orgs, organisations are not looked up.
	if err := (&Checker{Books: c.Books}).Check(context.Background(), doc("{{AUTHOR2_ORG}}", "1.2.643.5.1.13.13.12.2.16.77")); err != nil {
		t.Fatalf("no Orgs: %v", err)
	}
	// The custodian too must be registered.
	err := (&Checker{Books: c.Books, Orgs: orgSet{}}).Check(context.Background(), doc())
	var ce *CheckError
	if !errors.As(err, &ce) || len(ce.Problems) != 3 || ce.Code() != OrgNotFound {
		t.Fatalf("nothing registered: %v", err)
	}
	if !strings.Contains(fmt.Sprint(ce.Problems), "custodian") {
		t.Fatalf("custodian not named: %+v", ce.Problems)
	}
}

func TestOrgCandidates(t *testing.T) {
	got := orgCandidates("1.2.643.5.1.13.13.12.2.77.1001.0.2787.0.5")
	want := []string{"1.2.643.5.1.13.13.12.2.77.1001.0.2787.0.5", "1.2.643.5.1.13.13.12.2.77.1001.0.2787", "1.2.643.5.1.13.13.12.2.77.1001"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%v", got)
	}
}

// TestSchematronBooks ties the bundle to the official schematrons beside
// the exports: every code system they name is a held book (by a primary or
// other OID) or one of the books that could not be had
// (shared/reference/README.md), and every section code they name is in a
// held version of НСИ 99.2.197 (which guards its CODE column).
func TestSchematronBooks(t *testing.T) {
	src, err := ExportSource()
	if err != nil {
		t.Fatal(err)
	}
	schs, err := filepath.Glob(filepath.Join(src, "..", "schematron", "*.sch"))
	if err != nil || len(schs) != 4 {
		t.Fatalf("schematrons beside %s: %v %v", src, schs, err)
	}
	unavailable := map[string]bool{}
	for _, o := range strings.Fields(`1.2.643.5.1.13.13.11.1039 1.2.643.5.1.13.13.11.1252 1.2.643.5.1.13.13.11.1410
		1.2.643.5.1.13.13.11.1420 1.2.643.5.1.13.13.11.1489 1.2.643.5.1.13.13.11.1521 1.2.643.5.1.13.13.99.2.18
		1.2.643.5.1.13.13.99.2.25 1.2.643.5.1.13.13.99.2.325 1.2.643.5.1.13.13.99.2.545 1.2.643.5.1.13.13.99.2.692
		1.2.643.5.1.13.13.99.2.857 1.2.643.5.1.13.13.99.2.991 1.2.643.5.1.13.2.1.1.1504.67 1.2.643.5.1.13.2.1.1.1504.68`) {
		unavailable[o] = true
	}
	books := bundled(t)
	systems := regexp.MustCompile(`codeSystem=(?:\[([^\]]*)\]|'([0-9.]+)')`)
	oid := regexp.MustCompile(`[0-9]+(?:\.[0-9]+)+`)
	sections := regexp.MustCompile(`section\[code/@code='([A-Z0-9_]+)'\]`)
	nSys, nSec := 0, 0
	for _, p := range schs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range systems.FindAllStringSubmatch(string(b), -1) {
			for _, o := range oid.FindAllString(m[1]+m[2], -1) {
				nSys++
				if _, held := books.Lookup(o, ""); !held && !unavailable[o] {
					t.Errorf("%s names code system %s: neither held nor listed as unavailable", filepath.Base(p), o)
				}
			}
		}
		for _, m := range sections.FindAllStringSubmatch(string(b), -1) {
			nSec++
			found := false
			for _, v := range books.Versions("1.2.643.5.1.13.13.99.2.197") {
				found = found || v.Has(m[1])
			}
			if !found {
				t.Errorf("%s names section %s: not in НСИ 99.2.197", filepath.Base(p), m[1])
			}
		}
	}
	if nSys < 100 || nSec < 20 {
		t.Fatalf("only %d code systems and %d sections found: the patterns no longer match", nSys, nSec)
	}
}
