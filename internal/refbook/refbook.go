// Package refbook holds the ФНСИ reference books the hub checks documents
// against (ФЛК level 2, "сверка с реестрами"): every code whose codeSystem
// is a book the hub holds must be in that book and version, with the book's
// displayName and full name (codeSystemName), as each book's setting says
// (settings.go: skip, code, code+name; key and name columns; the default
// set in settings.json, HUB_NSI_SETTINGS on top). Books a document names
// that the hub does not hold are warnings and counted (Checker.Unchecked),
// never passed. check.go is the checker, scan.go its token scanner.
//
// Books are keyed by OID and version. A book answers to its primary OID and
// to every other OID its passport lists (the ФНСИ "codes" of type
// TYPE_OTHER: old OIDs such as 1.2.643.5.1.13.2.1.1.156 for
// 1.2.643.5.1.13.13.11.1040, which the schematrons accept as code systems).
//
// The code of a row is the passport's PRIMARY key column, except for the
// books whose CDA code is another column (the key_column of the settings,
// DefaultSettings: МКБ-10 uses MKB_CODE "U12.9", not the surrogate ID;
// sections use CODE "DGN"; confidentiality CODE "N"; medical services
// S_CODE "A27.05.046"). The name is the passport's VALUE key column, or the
// setting's name_column.
//
// The 62 books of shared/reference/nsi are bundled in a compact generated
// form (books/bundle.tsv.gz, `go generate ./internal/refbook`); a directory
// of ФНСИ exports (HUB_NSI_DIR) adds books and versions on top of them and is
// reread without a restart (Registry).
package refbook

//go:generate go run gen.go

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Book is one version of one reference book.
type Book struct {
	OID     string   // primary OID
	Version string   // ФНСИ version, "2.1"
	Name    string   // full name from the passport
	Also    []string // other OIDs the passport lists for it
	// CodeColumn and NameColumn are the export columns codes and names were taken from.
	CodeColumn, NameColumn string

	codes map[string]string // code → name
}

// Has reports whether code is in the book.
func (b *Book) Has(code string) bool {
	_, ok := b.codes[code]
	return ok
}

// NameOf returns the book's name for code ("" when absent or unnamed).
func (b *Book) NameOf(code string) string { return b.codes[code] }

// Len is the number of codes.
func (b *Book) Len() int { return len(b.codes) }

func (b *Book) key() string { return b.OID + "_" + b.Version }

// sameCodes reports whether two versions carry the same codes and names.
func (b *Book) sameCodes(o *Book) bool {
	if len(b.codes) != len(o.codes) {
		return false
	}
	for k, v := range b.codes {
		if w, ok := o.codes[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Books is an immutable set of books; the zero value holds none.
type Books struct {
	byOID map[string][]*Book // any OID of a book → its versions, oldest first
	all   []*Book            // sorted by OID, then version
}

// CompareVersions orders ФНСИ versions numerically by component ("4.29" > "3.19", "2.10" > "2.9").
func CompareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, errx := strconv.Atoi(as[i])
		y, erry := strconv.Atoi(bs[i])
		if errx != nil || erry != nil {
			if c := strings.Compare(as[i], bs[i]); c != 0 {
				return c
			}
			continue
		}
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(as), len(bs))
}

// newBooks indexes books; a later book of the same OID and version replaces
// an earlier one (the directory's over the bundle's). An OID that is the
// primary OID of one book and another's alias stays the primary's.
func newBooks(list []*Book) *Books {
	byKey := map[string]*Book{}
	for _, b := range list {
		byKey[b.key()] = b
	}
	s := &Books{byOID: map[string][]*Book{}}
	for _, b := range byKey {
		s.all = append(s.all, b)
	}
	slices.SortFunc(s.all, func(a, b *Book) int {
		return cmp.Or(strings.Compare(a.OID, b.OID), CompareVersions(a.Version, b.Version))
	})
	primary := map[string]bool{}
	for _, b := range s.all {
		primary[b.OID] = true
		s.byOID[b.OID] = append(s.byOID[b.OID], b)
	}
	for _, b := range s.all {
		for _, o := range b.Also {
			if !primary[o] && !slices.Contains(s.byOID[o], b) {
				s.byOID[o] = append(s.byOID[o], b)
			}
		}
	}
	for o, vs := range s.byOID {
		slices.SortStableFunc(vs, func(a, b *Book) int { return CompareVersions(a.Version, b.Version) })
		s.byOID[o] = vs
	}
	return s
}

// All returns every book, by OID then version. The slice is shared.
func (s *Books) All() []*Book { return s.all }

// Versions returns the versions held under oid (primary or other), oldest first.
func (s *Books) Versions(oid string) []*Book { return s.byOID[oid] }

// Lookup finds the book for a code system and version. An empty version
// means the newest held version. ok is false when the hub holds no book
// under oid; book is nil with ok true when the book is held but not in that
// version.
func (s *Books) Lookup(oid, version string) (book *Book, ok bool) {
	vs := s.byOID[oid]
	if len(vs) == 0 {
		return nil, false
	}
	if version == "" {
		return vs[len(vs)-1], true
	}
	for _, b := range vs {
		if b.Version == version {
			return b, true
		}
	}
	return nil, true
}

// ---- the ФНСИ export format ----

type exportFile struct {
	List [][]struct {
		Column string  `json:"column"`
		Value  *string `json:"value"`
	} `json:"list"`
}

type passportFile struct {
	OID      string `json:"oid"`
	Version  string `json:"version"`
	FullName string `json:"fullName"`
	Keys     []struct {
		Field string `json:"field"`
		Type  string `json:"type"`
	} `json:"keys"`
	Codes []struct {
		Value string `json:"value"`
		Type  string `json:"type"`
	} `json:"codes"`
}

// ReadExport reads one book as the ФНСИ API exports it: rows (path, a
// <OID>_<version>.json) and the passport beside it (<OID>_<version>.passport.json),
// with the default settings' columns.
func ReadExport(path string) (*Book, error) { return ReadExportWith(path, defaultSettings) }

// ReadExportWith is ReadExport with the key and name columns of settings.
func ReadExportWith(path string, settings Settings) (*Book, error) {
	ppath := strings.TrimSuffix(path, ".json") + ".passport.json"
	pb, err := os.ReadFile(ppath)
	if err != nil {
		return nil, fmt.Errorf("refbook: passport of %s: %w", filepath.Base(path), err)
	}
	var p passportFile
	if err := json.Unmarshal(pb, &p); err != nil {
		return nil, fmt.Errorf("refbook: %s: %w", filepath.Base(ppath), err)
	}
	if p.OID == "" || p.Version == "" {
		return nil, fmt.Errorf("refbook: %s: no oid or version", filepath.Base(ppath))
	}
	b := &Book{OID: p.OID, Version: p.Version, Name: p.FullName, codes: map[string]string{}}
	for _, c := range p.Codes {
		if c.Type != "TYPE_PRIMARY" && c.Value != "" && c.Value != p.OID && !slices.Contains(b.Also, c.Value) {
			b.Also = append(b.Also, c.Value)
		}
	}
	slices.Sort(b.Also)
	for _, k := range p.Keys {
		switch k.Type {
		case "PRIMARY":
			b.CodeColumn = k.Field
		case "VALUE":
			b.NameColumn = k.Field
		}
	}
	st := settings.columnsFor(p.OID, b.Also)
	if st.KeyColumn != "" {
		b.CodeColumn = st.KeyColumn
	}
	if st.NameColumn != "" {
		b.NameColumn = st.NameColumn
	}
	if b.CodeColumn == "" {
		return nil, fmt.Errorf("refbook: %s: the passport names no PRIMARY key (INVALID_DICTIONARY_MAPPING)", filepath.Base(ppath))
	}
	rb, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("refbook: %w", err)
	}
	var e exportFile
	if err := json.Unmarshal(rb, &e); err != nil {
		return nil, fmt.Errorf("refbook: %s: %w", filepath.Base(path), err)
	}
	seen := false
	for _, row := range e.List {
		var code, name string
		for _, c := range row {
			if c.Value == nil {
				continue
			}
			switch c.Column {
			case b.CodeColumn:
				code, seen = strings.TrimSpace(*c.Value), true
			case b.NameColumn: // as a document's attribute would read it: no tab or line break
				name = strings.TrimSpace(clean(*c.Value))
			}
		}
		if code == "" {
			continue
		}
		if _, dup := b.codes[code]; !dup { // a code on several rows (1070 S_CODE): the first row's name
			b.codes[code] = name
		}
	}
	if !seen && len(e.List) > 0 {
		return nil, fmt.Errorf("refbook: %s: no column %s in the rows (INVALID_DICTIONARY_MAPPING)", filepath.Base(path), b.CodeColumn)
	}
	return b, nil
}

// ReadExportDir reads every book of a directory of ФНСИ exports (every
// *.json but the passports) with the default settings' columns. The same
// OID and version twice with different codes is an error (the directory is
// inconsistent); twice the same is one.
func ReadExportDir(dir string) ([]*Book, error) { return ReadExportDirWith(dir, defaultSettings) }

// ReadExportDirWith is ReadExportDir with the key and name columns of settings.
func ReadExportDirWith(dir string, settings Settings) ([]*Book, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("refbook: books directory: %w", err)
	}
	var out []*Book
	byKey := map[string]*Book{}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".passport.json") {
			continue
		}
		b, err := ReadExportWith(filepath.Join(dir, n), settings)
		if err != nil {
			return nil, err
		}
		if prev := byKey[b.key()]; prev != nil {
			if !prev.sameCodes(b) {
				return nil, fmt.Errorf("refbook: %s: book %s version %s is also in another file, with other codes", n, b.OID, b.Version)
			}
			continue
		}
		byKey[b.key()] = b
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b *Book) int {
		return cmp.Or(strings.Compare(a.OID, b.OID), CompareVersions(a.Version, b.Version))
	})
	return out, nil
}

// ---- the compact bundle ----

// The bundle is text, gzipped: per book a header line
//
//	#book\t<oid>\t<version>\t<code column>\t<name column>\t<other OIDs, comma-separated>\t<name>
//
// then one line per code, "<code>\t<name>", sorted by code. Tabs and
// newlines inside values are replaced by spaces.

//go:embed books/bundle.tsv.gz
var bundleGz []byte

func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// WriteBundle writes books in the bundle's text form (not compressed).
func WriteBundle(w io.Writer, books []*Book) error {
	bw := bufio.NewWriter(w)
	for _, b := range books {
		fmt.Fprintf(bw, "#book\t%s\t%s\t%s\t%s\t%s\t%s\n", b.OID, b.Version, b.CodeColumn, b.NameColumn, strings.Join(b.Also, ","), clean(b.Name))
		codes := make([]string, 0, len(b.codes))
		for c := range b.codes {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		for _, c := range codes {
			fmt.Fprintf(bw, "%s\t%s\n", clean(c), clean(b.codes[c]))
		}
	}
	return bw.Flush()
}

// ReadBundle parses the bundle's text form.
func ReadBundle(text []byte) ([]*Book, error) {
	var out []*Book
	var cur *Book
	for n, line := range bytes.Split(text, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		s := string(line)
		if strings.HasPrefix(s, "#book\t") {
			f := strings.SplitN(s, "\t", 7)
			if len(f) != 7 {
				return nil, fmt.Errorf("refbook: bundle line %d: bad book header", n+1)
			}
			cur = &Book{OID: f[1], Version: f[2], CodeColumn: f[3], NameColumn: f[4], Name: f[6], codes: map[string]string{}}
			if f[5] != "" {
				cur.Also = strings.Split(f[5], ",")
			}
			out = append(out, cur)
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("refbook: bundle line %d: code before any book", n+1)
		}
		code, name, _ := strings.Cut(s, "\t")
		cur.codes[code] = name
	}
	return out, nil
}

// BundledText is the bundle's text form, uncompressed.
func BundledText() ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(bundleGz))
	if err != nil {
		return nil, fmt.Errorf("refbook: bundle: %w", err)
	}
	return io.ReadAll(zr)
}

// Bundled returns the books bundled in the binary.
func Bundled() ([]*Book, error) {
	text, err := BundledText()
	if err != nil {
		return nil, err
	}
	return ReadBundle(text)
}
