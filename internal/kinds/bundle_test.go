package kinds_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/kinds"
	"github.com/emdhub/hub/internal/kinds/kindstest"
)

// lyingZip holds one entry whose header claims 100 bytes and whose
// deflated data expands to n zero bytes.
func lyingZip(t testing.TB, name string, n int) []byte {
	t.Helper()
	honest := kindstest.MustZip(map[string][]byte{name: make([]byte, n)})
	zr, err := zip.NewReader(bytes.NewReader(honest), int64(len(honest)))
	if err != nil {
		t.Fatal(err)
	}
	f := zr.File[0]
	raw, err := f.OpenRaw()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CompressedSize64: f.CompressedSize64,
		UncompressedSize64: 100, CRC32: crc32.ChecksumIEEE(make([]byte, 100))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func codeOf(err error) string {
	var ce *codes.Error
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ""
}

// TestReadBundleRefuses: every malformed bundle is refused with its coded
// error before anything is compiled, and a zip that lies about or bloats
// its sizes is stopped at the limit.
func TestReadBundleRefuses(t *testing.T) {
	sch := kindstest.Official("121")
	sample := []byte(`<x/>`)
	small := kinds.Limits{MaxZipBytes: 1 << 20, MaxEntries: 8, MaxEntryBytes: 1 << 20, MaxTotalBytes: 2 << 20}
	many := map[string][]byte{"121.sch": sch}
	for i := range 9 {
		many["samples/"+string(rune('a'+i))+".xml"] = sample
	}
	tests := []struct {
		name string
		kind string
		zip  []byte
		lim  kinds.Limits
		code string
		want string // in the message
	}{
		{"not a zip", "121", []byte("PK but not really"), kinds.DefaultLimits, codes.KindBundleInvalid, "not a readable zip"},
		{"traversal", "121", kindstest.RawZip([2]string{"121.sch", string(sch)}, [2]string{"samples/../../etc/x.xml", "<x/>"}), kinds.DefaultLimits, codes.KindBundleInvalid, "path traversal"},
		{"absolute", "121", kindstest.RawZip([2]string{"/121.sch", string(sch)}), kinds.DefaultLimits, codes.KindBundleInvalid, "absolute entry name"},
		{"backslash", "121", kindstest.RawZip([2]string{`samples\a.xml`, "<x/>"}), kinds.DefaultLimits, codes.KindBundleInvalid, "backslash"},
		{"dot element", "121", kindstest.RawZip([2]string{`./121.sch`, string(sch)}), kinds.DefaultLimits, codes.KindBundleInvalid, "clean form"},
		{"twice", "121", kindstest.RawZip([2]string{"121.sch", string(sch)}, [2]string{"121.sch", string(sch)}), kinds.DefaultLimits, codes.KindBundleInvalid, "twice"},
		{"stray file", "121", kindstest.MustZip(map[string][]byte{"121.sch": sch, "samples/a.xml": sample, "readme.txt": nil}), kinds.DefaultLimits, codes.KindBundleInvalid, "not part of a bundle"},
		{"schematron of another kind", "121", kindstest.MustZip(map[string][]byte{"58.sch": sch, "samples/a.xml": sample}), kinds.DefaultLimits, codes.KindBundleInvalid, "not part of a bundle"},
		{"no schematron", "121", kindstest.MustZip(map[string][]byte{"samples/a.xml": sample}), kinds.DefaultLimits, codes.KindBundleInvalid, "121.sch: missing"},
		{"no samples", "121", kindstest.MustZip(map[string][]byte{"121.sch": sch}), kinds.DefaultLimits, codes.KindBundleInvalid, "no sample documents"},
		{"xsd without entry", "121", kindstest.MustZip(map[string][]byte{"121.sch": sch, "samples/a.xml": sample, "xsd/other.xsd": nil}), kinds.DefaultLimits, codes.KindBundleInvalid, "xsd/CDA.xsd: missing"},
		{"bad books.json", "121", kindstest.MustZip(map[string][]byte{"121.sch": sch, "samples/a.xml": sample, "books.json": []byte(`[{"oid":"1.2","mode":"maybe"}]`)}), kinds.DefaultLimits, codes.KindBundleInvalid, "books.json"},
		{"unknown kind", "99999", kindstest.MustZip(map[string][]byte{"99999.sch": sch, "samples/a.xml": sample}), kinds.DefaultLimits, codes.ObjectNotFound, "not in the registry"},
		{"zip too big", "121", kindstest.MustZip(map[string][]byte{"121.sch": sch, "samples/a.xml": sample}), kinds.Limits{MaxZipBytes: 1000, MaxEntries: 8, MaxEntryBytes: 1 << 20, MaxTotalBytes: 1 << 20}, codes.KindBundleTooLarge, "the zip is"},
		{"too many entries", "121", kindstest.MustZip(many), small, codes.KindBundleTooLarge, "entries"},
		{"entry too big", "121", kindstest.MustZip(map[string][]byte{"121.sch": sch, "samples/a.xml": make([]byte, 2<<20)}), small, codes.KindBundleTooLarge, "samples/a.xml is"},
		{"total too big", "121", kindstest.MustZip(map[string][]byte{"121.sch": sch, "samples/a.xml": make([]byte, 900<<10), "samples/b.xml": make([]byte, 900<<10), "samples/c.xml": make([]byte, 900<<10)}), small, codes.KindBundleTooLarge, "uncompressed"},
		{"size lie (zip bomb)", "121", lyingZip(t, "samples/a.xml", 64<<20), kinds.DefaultLimits, codes.KindBundleInvalid, "samples/a.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := kinds.ReadBundle(tt.kind, tt.zip, tt.lim)
			if codeOf(err) != tt.code || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want %s %q, got %v", tt.code, tt.want, err)
			}
		})
	}
}

// TestReadBundleLayout: a well-formed bundle is read whole: schematron,
// samples, books, xsd rooted at xsd/.
func TestReadBundleLayout(t *testing.T) {
	z := kindstest.MustZip(map[string][]byte{
		"121.sch": kindstest.Official("121"), "samples/a.xml": []byte("<a/>"), "samples/b.xml": []byte("<b/>"),
		"books.json":  []byte(`[{"oid":"1.2.643.5.1.13.13.11.1005","mode":"code"}]`),
		"xsd/CDA.xsd": []byte("<xs:schema/>"), "xsd/coreschemas/datatypes.xsd": []byte("<xs:schema/>"),
	})
	b, err := kinds.ReadBundle("121", z, kinds.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.SampleNames(), ","); got != "a.xml,b.xml" {
		t.Fatalf("samples %s", got)
	}
	if b.Books["1.2.643.5.1.13.13.11.1005"].Mode != "code" {
		t.Fatalf("books %v", b.Books)
	}
	if _, err := fs.Stat(b.XSD, "coreschemas/datatypes.xsd"); err != nil {
		t.Fatalf("xsd tree: %v", err)
	}
}

// TestCompileAndTry: samples that keep the bundle's rules pass; one that
// breaks the added rule is refused naming it; a schematron that does not
// compile is refused with its file and line; an XSD cannot be enforced
// without the XSD validator and is refused as such.
func TestCompileAndTry(t *testing.T) {
	strict := kindstest.StrictSchematron("121")
	good := kindstest.Sample("121", kindstest.Prefix+"1", 1)
	bad := kindstest.Sample("121", "plain-2", 2)
	prepare := func(files map[string][]byte) error {
		b, err := kinds.ReadBundle("121", kindstest.MustZip(files), kinds.DefaultLimits)
		if err != nil {
			return err
		}
		set, err := kinds.Compile(b)
		if err != nil {
			return err
		}
		return set.Try(b)
	}
	if err := prepare(map[string][]byte{"121.sch": strict, "samples/good.xml": good}); err != nil {
		t.Fatalf("a sample keeping every rule: %v", err)
	}
	err := prepare(map[string][]byte{"121.sch": strict, "samples/good.xml": good, "samples/bad.xml": bad})
	var ce *codes.Error
	if !errors.As(err, &ce) || ce.Code != codes.KindSampleFailed {
		t.Fatalf("a sample breaking the added rule: %v", err)
	}
	probs := ce.Details.([]kinds.Problem)
	if len(probs) != 1 || probs[0].File != "samples/bad.xml" || probs[0].Rule != kindstest.Rule || probs[0].Message != kindstest.RuleText ||
		probs[0].Path != "/Q{urn:hl7-org:v3}ClinicalDocument[1]" {
		t.Fatalf("sample failures: %+v", probs)
	}

	// A construct the engine refuses, on a known line.
	lines := strings.Split(string(strict), "\n")
	at := -1
	for i, l := range lines {
		if strings.Contains(l, `<rule context="/ClinicalDocument">`) {
			at = i
		}
	}
	lines = append(lines[:at+1], append([]string{`            <assert test="for $x in title return 1">X</assert>`}, lines[at+1:]...)...)
	err = prepare(map[string][]byte{"121.sch": []byte(strings.Join(lines, "\n")), "samples/good.xml": good})
	if !errors.As(err, &ce) || ce.Code != codes.KindBundleInvalid {
		t.Fatalf("unsupported construct: %v", err)
	}
	if p := ce.Details.([]kinds.Problem)[0]; p.File != "121.sch" || p.Line != at+2 || !strings.Contains(p.Message, "for") {
		t.Fatalf("unsupported construct reported as %+v, want 121.sch line %d", p, at+2)
	}
	// Broken XML.
	err = prepare(map[string][]byte{"121.sch": []byte("<schema xmlns=\"http://purl.oclc.org/dsdl/schematron\">\n<pattern>\n<rule context=\"a\">\n</pattern>"), "samples/good.xml": good})
	if !errors.As(err, &ce) || ce.Code != codes.KindBundleInvalid {
		t.Fatalf("broken XML: %v", err)
	}
	if p := ce.Details.([]kinds.Problem)[0]; p.File != "121.sch" || p.Line != 4 {
		t.Fatalf("broken XML reported as %+v, want 121.sch line 4", p)
	}
	// An XSD while no validator is wired.
	defer func(old func(fs.FS, string) (kinds.Validator, error)) { kinds.CompileXSD = old }(kinds.CompileXSD)
	kinds.CompileXSD = nil
	err = prepare(map[string][]byte{"121.sch": strict, "samples/good.xml": good, "xsd/CDA.xsd": []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>`)})
	if codeOf(err) != codes.KindXSDUnavailable || !strings.Contains(err.Error(), "XSD validation not available") {
		t.Fatalf("xsd without a validator: %v", err)
	}
}

// elementValidator stands in for the XSD package behind kinds.CompileXSD:
// its "schema" (the entry file) names one element every document must hold.
type elementValidator struct{ want string }

func (v elementValidator) Validate(doc []byte) error {
	if !bytes.Contains(doc, []byte("<"+v.want)) {
		return errors.New("element " + v.want + " expected")
	}
	return nil
}

// TestXSDHook: with a validator wired into kinds.CompileXSD, the bundle's
// xsd/ is compiled from its entry through the bundle's own files, the set
// carries it, samples failing it are refused as KIND_SAMPLE_FAILED naming
// the XSD, and an XSD that does not compile is KIND_BUNDLE_INVALID at
// xsd/CDA.xsd.
func TestXSDHook(t *testing.T) {
	defer func(old func(fs.FS, string) (kinds.Validator, error)) { kinds.CompileXSD = old }(kinds.CompileXSD)
	kinds.CompileXSD = func(fsys fs.FS, entry string) (kinds.Validator, error) {
		b, err := fs.ReadFile(fsys, entry)
		if err != nil {
			return nil, err
		}
		if len(b) == 0 {
			return nil, errors.New("empty schema at line 1")
		}
		return elementValidator{strings.TrimSpace(string(b))}, nil
	}
	strict := kindstest.StrictSchematron("121")
	good := kindstest.Sample("121", kindstest.Prefix+"1", 1)
	try := func(xsd string) (*kinds.Set, error) {
		b, err := kinds.ReadBundle("121", kindstest.MustZip(map[string][]byte{"121.sch": strict, "samples/a.xml": good, "xsd/CDA.xsd": []byte(xsd)}), kinds.DefaultLimits)
		if err != nil {
			return nil, err
		}
		set, err := kinds.Compile(b)
		if err != nil {
			return nil, err
		}
		return set, set.Try(b)
	}
	set, err := try("recordTarget")
	if err != nil || set.XSD == nil {
		t.Fatalf("a sample the XSD accepts: %v", err)
	}
	_, err = try("nonexistentElement")
	var ce *codes.Error
	if !errors.As(err, &ce) || ce.Code != codes.KindSampleFailed {
		t.Fatalf("a sample the XSD refuses: %v", err)
	}
	if p := ce.Details.([]kinds.Problem)[0]; p.File != "samples/a.xml" || !strings.Contains(p.Message, "XSD: element nonexistentElement expected") {
		t.Fatalf("XSD failure reported as %+v", p)
	}
	_, err = try("")
	if !errors.As(err, &ce) || ce.Code != codes.KindBundleInvalid {
		t.Fatalf("an XSD that does not compile: %v", err)
	}
	if p := ce.Details.([]kinds.Problem)[0]; p.File != "xsd/CDA.xsd" || p.Line != 1 {
		t.Fatalf("XSD compile error reported as %+v", p)
	}
}
