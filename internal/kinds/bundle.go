// Package kinds lets operators add or replace a document kind at run time
// (issue 12 item 4). A kind bundle is a zip uploaded for one НСИ 1520 kind
// code; it is read under limits, compiled, tried on its own sample
// documents, stored as a new version of the kind (table kind_bundles) and,
// once active, enforced by the door of every hub process within seconds: a
// Registry in each process holds the compiled sets behind an atomic pointer
// and reloads on PostgreSQL NOTIFY (channel hub_kinds), with polling as the
// fallback for a lost connection.
//
// Bundle layout (names are case-sensitive, "/" separated):
//
//	<kind>.sch         the kind's schematron (required), e.g. 121.sch
//	xsd/…              the kind's XSD with its includes (optional); entry xsd/CDA.xsd
//	books.json         per-book settings of ФЛК level 2 (optional; refbook.ParseSettings)
//	samples/*.xml      documents that must pass (at least one)
//
// Anything else in the zip is refused, so a misnamed file is never silently
// ignored.
package kinds

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"
	"testing/fstest"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/nsi"
	"github.com/emdhub/hub/internal/refbook"
)

// Limits bound what one bundle may cost to read. A zip is refused before
// anything is decompressed when it is over MaxZipBytes or lists more than
// MaxEntries entries; entries are decompressed through a counting reader, so
// a zip that lies about its sizes (a zip bomb) is stopped at the limit, not
// after.
type Limits struct {
	MaxZipBytes   int64 // the zip itself
	MaxEntries    int   // entries in the zip, directories included
	MaxEntryBytes int64 // one entry, uncompressed
	MaxTotalBytes int64 // every entry together, uncompressed
}

// DefaultLimits fit the official material with room to spare: the largest
// official schematron (121) is 0.5 MB, an XSD with its core schemas 0.4 MB.
var DefaultLimits = Limits{MaxZipBytes: 8 << 20, MaxEntries: 512, MaxEntryBytes: 8 << 20, MaxTotalBytes: 32 << 20}

// Bundle is a read (not yet compiled) kind bundle.
type Bundle struct {
	Kind       string
	Schematron []byte           // <kind>.sch
	XSD        fs.FS            // the xsd/ subtree, rooted there (entry "CDA.xsd"); nil without xsd/
	Books      refbook.Settings // books.json; nil without it
	Samples    map[string][]byte
}

// XSDEntry is the schema the XSD validator starts from, inside xsd/.
const XSDEntry = "CDA.xsd"

// Problem is one detail of a refused bundle: the file (and line, when
// known) at fault, or the sample and the rule it broke.
type Problem struct {
	Code    string `json:"code"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

func invalid(file string, line int, format string, args ...any) *codes.Error {
	msg := fmt.Sprintf(format, args...)
	where := file
	if line > 0 {
		where = fmt.Sprintf("%s:%d", file, line)
	}
	if where != "" {
		msg = where + ": " + msg
	}
	e := codes.Unprocessable(codes.KindBundleInvalid, "kind bundle refused: %s", msg)
	e.Details = []Problem{{Code: codes.KindBundleInvalid, File: file, Line: line, Message: msg}}
	return e
}

func tooLarge(format string, args ...any) *codes.Error {
	return codes.New(http.StatusRequestEntityTooLarge, codes.KindBundleTooLarge, "kind bundle refused: "+format, args...)
}

// CheckKind refuses a kind code that is not in НСИ 1520: the door refuses
// documents of such kinds (OBJECT_NOT_FOUND) before any schematron runs, so
// a bundle for one would never be used.
func CheckKind(kind string) error {
	if _, ok := nsi.LookupKind(kind); !ok {
		return codes.Unprocessable(codes.ObjectNotFound, "kind %q is not in the registry of document kinds (НСИ 1.2.643.5.1.13.13.11.1520)", kind)
	}
	return nil
}

// ReadBundle reads a kind bundle from zip bytes under lim: the layout, the
// entry names (no absolute names, no "..", no backslashes, no duplicates)
// and the sizes. It compiles nothing (see Compile). Refusals are
// *codes.Error: KIND_BUNDLE_TOO_LARGE (413) or KIND_BUNDLE_INVALID (422).
func ReadBundle(kind string, zb []byte, lim Limits) (*Bundle, error) {
	if err := CheckKind(kind); err != nil {
		return nil, err
	}
	if int64(len(zb)) > lim.MaxZipBytes {
		return nil, tooLarge("the zip is %d bytes, more than the %d allowed", len(zb), lim.MaxZipBytes)
	}
	zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
	if err != nil {
		return nil, invalid("", 0, "not a readable zip: %v", err)
	}
	if len(zr.File) > lim.MaxEntries {
		return nil, tooLarge("the zip has %d entries, more than the %d allowed", len(zr.File), lim.MaxEntries)
	}
	b := &Bundle{Kind: kind, Samples: map[string][]byte{}}
	xsd := fstest.MapFS{}
	seen := map[string]bool{}
	var total int64
	schName := kind + ".sch"
	for _, f := range zr.File {
		name := f.Name
		if err := checkName(name); err != nil {
			return nil, invalid(name, 0, "%v", err)
		}
		if f.FileInfo().IsDir() {
			continue
		}
		if seen[name] {
			return nil, invalid(name, 0, "the zip holds this name twice")
		}
		seen[name] = true
		if f.UncompressedSize64 > uint64(lim.MaxEntryBytes) {
			return nil, tooLarge("%s is %d bytes uncompressed, more than the %d allowed for one file", name, f.UncompressedSize64, lim.MaxEntryBytes)
		}
		data, err := readEntry(f, lim.MaxEntryBytes)
		if err != nil {
			return nil, err
		}
		total += int64(len(data))
		if total > lim.MaxTotalBytes {
			return nil, tooLarge("the files come to more than %d bytes uncompressed", lim.MaxTotalBytes)
		}
		switch dir, file := path.Split(name); {
		case name == schName:
			b.Schematron = data
		case name == "books.json":
			if b.Books, err = refbook.ParseSettings(data); err != nil {
				return nil, invalid(name, 0, "%v", err)
			}
		case strings.HasPrefix(name, "xsd/"):
			xsd[strings.TrimPrefix(name, "xsd/")] = &fstest.MapFile{Data: data, Mode: 0o444}
		case dir == "samples/" && path.Ext(file) == ".xml":
			b.Samples[file] = data
		default:
			return nil, invalid(name, 0, "not part of a bundle for kind %s: want %s, xsd/…, books.json and samples/*.xml", kind, schName)
		}
	}
	if b.Schematron == nil {
		return nil, invalid(schName, 0, "missing: the bundle must hold the kind's schematron %s at its top", schName)
	}
	if len(b.Samples) == 0 {
		return nil, invalid("samples/", 0, "no sample documents: at least one samples/*.xml that must pass is required")
	}
	if len(xsd) > 0 {
		if _, ok := xsd[XSDEntry]; !ok {
			return nil, invalid("xsd/"+XSDEntry, 0, "missing: an xsd/ directory must hold the entry schema %s", XSDEntry)
		}
		b.XSD = xsd
	}
	return b, nil
}

// checkName refuses entry names that could escape a directory or mean
// different files on different systems.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty entry name")
	case strings.Contains(name, `\`):
		return errors.New("backslash in an entry name")
	case strings.HasPrefix(name, "/") || (len(name) > 1 && name[1] == ':'):
		return errors.New("absolute entry name")
	case strings.ContainsRune(name, 0):
		return errors.New("NUL in an entry name")
	}
	for _, el := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if el == ".." {
			return errors.New("path traversal (..) in an entry name")
		}
		if el == "." || el == "" {
			return errors.New("entry name not in clean form (empty or . element)")
		}
	}
	return nil
}

func readEntry(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, invalid(f.Name, 0, "cannot read: %v", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, invalid(f.Name, 0, "cannot read: %v", err)
	}
	if int64(len(data)) > limit {
		return nil, tooLarge("%s is more than %d bytes uncompressed", f.Name, limit)
	}
	return data, nil
}

// SampleNames lists the samples, sorted.
func (b *Bundle) SampleNames() []string {
	names := make([]string, 0, len(b.Samples))
	for n := range b.Samples {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Zip packs files (bundle path → content) into a zip, in name order, so the
// same files give the same bytes (and the same sha256). `hub kinds upload`
// uses it for a bundle given as a directory.
func Zip(files map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate})
		if err != nil {
			return nil, fmt.Errorf("kinds: zip %s: %w", n, err)
		}
		if _, err := w.Write(files[n]); err != nil {
			return nil, fmt.Errorf("kinds: zip %s: %w", n, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("kinds: zip: %w", err)
	}
	return buf.Bytes(), nil
}

// ZipDir packs a bundle laid out in a directory (dir/<kind>.sch,
// dir/samples/…) with Zip. Symbolic links and other non-regular files are
// refused rather than followed.
func ZipDir(dir string) ([]byte, error) {
	files := map[string][]byte{}
	fsys := os.DirFS(dir)
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", p)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[p] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kinds: bundle directory %s: %w", dir, err)
	}
	return Zip(files)
}
