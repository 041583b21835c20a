package refbook

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gender is a patient's gender element with the given attributes after code/codeSystem.
func gender(attrs string) []byte {
	return docWith(`<administrativeGenderCode code="2" codeSystem="1.2.643.5.1.13.13.11.1040" ` + attrs + `/>`)
}

const genderPath = "/ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]/administrativeGenderCode[1]/@"

// TestNamesAgainstTheBook: displayName and codeSystemName are compared with
// the book (exactly, after XML's attribute-value normalisation), and the
// refusal carries the book's OID, version, the code and what the book expects.
func TestNamesAgainstTheBook(t *testing.T) {
	books := bundled(t)
	c := &Checker{Books: func() *Books { return books }}
	tests := []struct {
		name, attrs string
		want        *Problem // nil: accepted
	}{
		{"book's names", `codeSystemVersion="2.1" codeSystemName="Пол пациента" displayName="Женский"`, nil},
		{"names absent: nothing to compare", `codeSystemVersion="2.1"`, nil},
		{"line break in a name is a space (XML normalisation)", "codeSystemVersion=\"2.1\" codeSystemName=\"Пол\nпациента\" displayName=\"Женский\"", nil},
		{"a character reference is the character", `codeSystemVersion="2.1" codeSystemName="Пол&#32;пациента" displayName="&#x416;енский"`, nil},
		{"wrong displayName", `codeSystemVersion="2.1" codeSystemName="Пол пациента" displayName="Мужской"`,
			&Problem{Code: "INVALID_ELEMENT_VALUE_NAME", Path: genderPath + "displayName", OID: "1.2.643.5.1.13.13.11.1040", Version: "2.1", Value: "Мужской", CodeOf: "2", Expected: "Женский"}},
		{"displayName case differs", `codeSystemVersion="2.1" displayName="женский"`,
			&Problem{Code: "INVALID_ELEMENT_VALUE_NAME", Path: genderPath + "displayName", OID: "1.2.643.5.1.13.13.11.1040", Version: "2.1", Value: "женский", CodeOf: "2", Expected: "Женский"}},
		{"displayName with a trailing space", `codeSystemVersion="2.1" displayName="Женский "`,
			&Problem{Code: "INVALID_ELEMENT_VALUE_NAME", Path: genderPath + "displayName", OID: "1.2.643.5.1.13.13.11.1040", Version: "2.1", Value: "Женский ", CodeOf: "2", Expected: "Женский"}},
		{"wrong codeSystemName", `codeSystemVersion="2.1" codeSystemName="Пол" displayName="Женский"`,
			&Problem{Code: "INVALID_DICTIONARY_OID", Path: genderPath + "codeSystemName", OID: "1.2.643.5.1.13.13.11.1040", Version: "2.1", Value: "Пол", Expected: "Пол пациента"}},
		{"unknown codeSystemVersion", `codeSystemVersion="2.2" codeSystemName="Пол пациента" displayName="Женский"`,
			&Problem{Code: "INVALID_DICTIONARY_VERSION", Path: genderPath + "codeSystemVersion", OID: "1.2.643.5.1.13.13.11.1040", Version: "2.2", Value: "2.2", Expected: "2.1"}},
		{"by the old OID, no version: the newest", `codeSystemName="Пол пациента" displayName="Женский"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := gender(tt.attrs)
			if strings.Contains(tt.name, "old OID") {
				d = []byte(strings.Replace(string(d), `code="2" codeSystem="1.2.643.5.1.13.13.11.1040"`, `code="2" codeSystem="1.2.643.5.1.13.2.1.1.156"`, 1))
			}
			err := c.Check(context.Background(), d)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *CheckError
			if !errors.As(err, &ce) || len(ce.Problems) != 1 {
				t.Fatalf("want one problem, got %v", err)
			}
			got := ce.Problems[0]
			got.Message, got.at = "", 0
			if got != *tt.want {
				t.Fatalf("got  %+v\nwant %+v", got, *tt.want)
			}
			if m := ce.Problems[0].Message; !strings.Contains(m, tt.want.OID) || !strings.Contains(m, tt.want.Value) {
				t.Fatalf("message does not name the book and the value: %s", m)
			}
		})
	}
}

// TestEntitiesInNames: a name written with references is decoded before
// the comparison (НСИ 1053 code 4 is «Категория "ребенок-инвалид"»).
func TestEntitiesInNames(t *testing.T) {
	books := bundled(t)
	c := &Checker{Books: func() *Books { return books }}
	el := `<value code="4" codeSystem="1.2.643.5.1.13.13.11.1053" codeSystemVersion="3.4" displayName="Категория &quot;ребенок-инвалид&#x22;"/>`
	if err := c.Check(context.Background(), docWith(el)); err != nil {
		t.Fatal(err)
	}
	el = `<value code="4" codeSystem="1.2.643.5.1.13.13.11.1053" codeSystemVersion="3.4" displayName='Категория "ребёнок-инвалид"'/>`
	var ce *CheckError
	if err := c.Check(context.Background(), docWith(el)); !errors.As(err, &ce) || ce.Code() != "INVALID_ELEMENT_VALUE_NAME" {
		t.Fatalf("ё for е must be refused (names are the book's own): %v", err)
	}
}

// TestSettingModes: a skip book is not checked and is reported as
// unchecked; a code book checks the code and codeSystemName but not the
// displayName; a kind's settings go on top of the checker's.
func TestSettingModes(t *testing.T) {
	books := bundled(t)
	badName := gender(`codeSystemVersion="2.1" codeSystemName="Пол пациента" displayName="Мужской"`)
	badCode := docWith(`<administrativeGenderCode code="9" codeSystem="1.2.643.5.1.13.13.11.1040" codeSystemVersion="2.1" displayName="Мужской"/>`)
	badSystem := gender(`codeSystemVersion="2.1" codeSystemName="Пол" displayName="Женский"`)
	with := func(mode Mode) *Checker {
		return &Checker{Books: func() *Books { return books },
			Settings: DefaultSettings().Overlay(Settings{"1.2.643.5.1.13.13.11.1040": {OID: "1.2.643.5.1.13.13.11.1040", Mode: mode}})}
	}
	refusedWith := func(t *testing.T, err error, code string) {
		t.Helper()
		var ce *CheckError
		if !errors.As(err, &ce) || ce.Code() != code {
			t.Fatalf("want %s, got %v", code, err)
		}
	}
	ctx := context.Background()

	code := with(ModeCode)
	if err := code.Check(ctx, badName); err != nil {
		t.Fatalf("code mode compares no displayName: %v", err)
	}
	refusedWith(t, code.Check(ctx, badCode), "INVALID_ELEMENT_VALUE_CODE")
	refusedWith(t, code.Check(ctx, badSystem), "INVALID_DICTIONARY_OID")

	skip := with(ModeSkip)
	for _, d := range [][]byte{badName, badCode, badSystem} {
		res, err := skip.CheckWith(ctx, d, nil)
		if err != nil {
			t.Fatalf("skip mode checks nothing: %v", err)
		}
		if len(res.Warnings) != 1 || res.Warnings[0].OID != "1.2.643.5.1.13.13.11.1040" || res.Warnings[0].Reason != "skipped by setting" ||
			res.Warnings[0].Code != "DICTIONARY_NOT_CHECKED" || !strings.Contains(res.Warnings[0].Message, "skip") {
			t.Fatalf("skipped book not reported: %+v", res.Warnings)
		}
	}
	if n := skip.Unchecked()["1.2.643.5.1.13.13.11.1040"]; n.Documents != 3 || n.Codes != 3 {
		t.Fatalf("counter: %+v", n)
	}

	// The default (code+name) checker with a kind's skip setting on top.
	def := &Checker{Books: func() *Books { return books }}
	refusedWith(t, def.Check(ctx, badName), "INVALID_ELEMENT_VALUE_NAME")
	res, err := def.CheckWith(ctx, badName, Settings{"1.2.643.5.1.13.13.11.1040": {OID: "1.2.643.5.1.13.13.11.1040", Mode: ModeSkip}})
	if err != nil || len(res.Warnings) != 1 {
		t.Fatalf("kind's skip: %v %+v", err, res)
	}
	// A setting under the OID the document writes (the old one) wins.
	old := []byte(strings.Replace(string(badName), `codeSystem="1.2.643.5.1.13.13.11.1040"`, `codeSystem="1.2.643.5.1.13.2.1.1.156"`, 1))
	if _, err := def.CheckWith(ctx, old, Settings{"1.2.643.5.1.13.2.1.1.156": {OID: "1.2.643.5.1.13.2.1.1.156", Mode: ModeCode}}); err != nil {
		t.Fatalf("setting under the written OID: %v", err)
	}

	// system_names accepts a former full name.
	alt := &Checker{Books: func() *Books { return books }, Settings: DefaultSettings().Overlay(Settings{
		"1.2.643.5.1.13.13.11.1040": {OID: "1.2.643.5.1.13.13.11.1040", Mode: ModeCodeName, SystemNames: []string{"Пол"}}})}
	if err := alt.Check(ctx, badSystem); err != nil {
		t.Fatalf("system_names: %v", err)
	}
}

// TestUncheckedBooks: a book of the НСИ arcs the hub does not hold is a
// warning (per OID and version, with the number of codes) and counted, never
// passed silently; local and HL7 code systems are no books.
func TestUncheckedBooks(t *testing.T) {
	books := bundled(t)
	c := &Checker{Books: func() *Books { return books }}
	el := `<administrativeGenderCode code="2" codeSystem="1.2.643.5.1.13.13.11.1040" codeSystemVersion="2.1"/>` +
		`<value code="I21.0" codeSystem="1.2.643.5.1.13.13.11.1489" codeSystemVersion="1.1" displayName="x"/>` +
		`<value code="I21.1" codeSystem="1.2.643.5.1.13.13.11.1489" codeSystemVersion="1.1"/>` +
		`<value code="1" codeSystem="1.2.643.5.1.13.13.99.2.991"/>`
	for range 2 {
		res, err := c.CheckWith(context.Background(), docWith(el), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Warnings) != 2 {
			t.Fatalf("warnings: %+v", res.Warnings)
		}
		w := res.Warnings[0]
		if w.OID != "1.2.643.5.1.13.13.11.1489" || w.Version != "1.1" || w.Codes != 2 || w.Reason != "not held" ||
			w.Message != "НСИ 1.2.643.5.1.13.13.11.1489, version 1.1: 2 code(s) not checked: the hub does not hold this book (its export can be added to HUB_NSI_DIR)" {
			t.Fatalf("warning: %+v", w)
		}
		if res.Warnings[1].OID != "1.2.643.5.1.13.13.99.2.991" || res.Warnings[1].Version != "" {
			t.Fatalf("warning: %+v", res.Warnings[1])
		}
	}
	got := c.Unchecked()
	if got["1.2.643.5.1.13.13.11.1489"] != (UncheckedCount{Documents: 2, Codes: 4}) || got["1.2.643.5.1.13.13.99.2.991"] != (UncheckedCount{Documents: 2, Codes: 2}) || len(got) != 2 {
		t.Fatalf("counters: %+v", got)
	}
	// docTemplate's local (MO) and HL7 code systems are no books: no warning.
	if res, err := c.CheckWith(context.Background(), doc(), nil); err != nil || len(res.Warnings) != 0 {
		t.Fatalf("template: %v %+v", err, res)
	}
}

// TestLoadSettings: HUB_NSI_SETTINGS goes on top of the defaults (an entry
// keeps the default columns it does not give); a file that does not parse,
// names an unknown mode or field, or lists an OID twice is an error; a
// column setting a bundled book cannot follow is refused at start.
func TestLoadSettings(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s, err := LoadSettings(write("ok.json", `[{"oid": "1.2.643.5.1.13.13.11.1005", "mode": "code"}, {"oid": "1.2.643.5.1.13.13.11.1040", "mode": "skip"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if st := s["1.2.643.5.1.13.13.11.1005"]; st.Mode != ModeCode || st.KeyColumn != "MKB_CODE" {
		t.Fatalf("МКБ-10 entry: %+v", st)
	}
	if s["1.2.643.5.1.13.13.11.1040"].Mode != ModeSkip || s["1.2.643.5.1.13.13.11.1038"].Mode != ModeCode {
		t.Fatalf("settings: %+v", s)
	}
	if _, err := NewRegistryWith("", s); err != nil {
		t.Fatalf("registry with the settings: %v", err)
	}
	for name, body := range map[string]string{
		"bad.json":     `[{"oid": "1.2.643.5.1.13.13.11.1040", "mode": "skip"`,
		"mode.json":    `[{"oid": "1.2.643.5.1.13.13.11.1040", "mode": "names"}]`,
		"field.json":   `[{"oid": "1.2.643.5.1.13.13.11.1040", "level": "ERROR"}]`,
		"twice.json":   `[{"oid": "1.2.643.5.1.13.13.11.1040"}, {"oid": "1.2.643.5.1.13.13.11.1040"}]`,
		"object.json":  `{"oid": "1.2.643.5.1.13.13.11.1040"}`,
		"nooid.json":   `[{"mode": "code"}]`,
		"missing.json": "",
	} {
		p := filepath.Join(dir, name)
		if body != "" {
			p = write(name, body)
		}
		if _, err := LoadSettings(p); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	cols, err := LoadSettings(write("cols.json", `[{"oid": "1.2.643.5.1.13.13.11.1040", "key_column": "CODE"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewRegistryWith("", cols); err == nil || !strings.Contains(err.Error(), "key column CODE") {
		t.Fatalf("a key column the bundle cannot follow: %v", err)
	}
}

// TestDefaultSettings: every default entry says why it is there and names a
// held book, and the bundle was built with its columns.
func TestDefaultSettings(t *testing.T) {
	books := bundled(t)
	for oid, st := range DefaultSettings() {
		if st.Reason == "" {
			t.Errorf("%s: no reason", oid)
		}
		if len(books.Versions(oid)) == 0 {
			t.Errorf("%s: not a held book", oid)
		}
	}
	if err := books.CheckColumns(DefaultSettings()); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentChecks: one checker (as at the door) used by many requests
// at once gives each its own result, and the counter adds them all up (run
// with -race: the walks are pooled, the counters shared).
func TestConcurrentChecks(t *testing.T) {
	books := bundled(t)
	c := &Checker{Books: func() *Books { return books }}
	good := docWith(`<value code="I21.0" codeSystem="1.2.643.5.1.13.13.11.1489"/>`)
	bad := gender(`codeSystemVersion="2.1" displayName="Мужской"`)
	const workers, rounds = 8, 50
	errs := make(chan error, workers)
	for i := range workers {
		go func() {
			for range rounds {
				d, wantRefusal := good, false
				if i%2 == 1 {
					d, wantRefusal = bad, true
				}
				res, err := c.CheckWith(context.Background(), d, nil)
				var ce *CheckError
				switch {
				case wantRefusal && (!errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Value != "Мужской"):
					errs <- errors.New("bad document: " + fmt.Sprint(err))
					return
				case !wantRefusal && (err != nil || len(res.Warnings) != 1):
					errs <- errors.New("good document: " + fmt.Sprint(err, res))
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Unchecked()["1.2.643.5.1.13.13.11.1489"]; n.Documents != workers/2*rounds {
		t.Fatalf("counter %+v, want %d documents", n, workers/2*rounds)
	}
}

func TestSameName(t *testing.T) {
	for _, tt := range []struct {
		raw, book string
		want      bool
	}{
		{"Женский", "Женский", true},
		{"Женский ", "Женский", false},
		{"женский", "Женский", false},
		{"ребенок", "ребёнок", false},
		{"A &amp; B", "A & B", true},
		{"A &amp; B", "A &amp; B", false},
		{"A\nB", "A B", true},
		{"A\r\nB", "A B", true},
		{"A&#10;B", "A B", false},
		{"&#x416;", "Ж", true},
		{"&bogus;", "&bogus;", false},
	} {
		if got := sameName([]byte(tt.raw), tt.book); got != tt.want {
			t.Errorf("sameName(%q, %q) = %v", tt.raw, tt.book, got)
		}
	}
}
