package schematron

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/emdhub/hub/internal/schematron/official"
)

// Set maps a document kind (the code of the registry of document kinds
// 1.2.643.5.1.13.13.11.1520, e.g. "121") to its compiled schematron. A kind
// whose schematron does not compile maps to a Schema with only Err set: it is
// unconfigured, and the door refuses its documents (KIND_UNCONFIGURED)
// instead of checking them with part of the rules.
type Set map[string]*Schema

// Load compiles every <kind>.sch in fsys (its top directory). A file that does
// not compile does not stop the others: its kind is recorded as unconfigured
// with the *CompileError (file, line, rule); see Unconfigured. err is only
// for a directory or file that cannot be read.
func Load(fsys fs.FS) (Set, error) {
	ents, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("schematron: %w", err)
	}
	set := Set{}
	for _, e := range ents {
		if e.IsDir() || path.Ext(e.Name()) != ".sch" {
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("schematron: %w", err)
		}
		kind := strings.TrimSuffix(e.Name(), ".sch")
		s, err := Compile(b)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				ce = &CompileError{Err: err}
			}
			ce.File = e.Name()
			set[kind] = &Schema{Err: ce}
			continue
		}
		set[kind] = s
	}
	return set, nil
}

// Kinds lists the kinds the set has a working schematron for, sorted.
func (s Set) Kinds() []string {
	var k []string
	for kind, sch := range s {
		if sch.Err == nil {
			k = append(k, kind)
		}
	}
	sort.Strings(k)
	return k
}

// Unconfigured is every kind whose schematron did not compile, with why
// (a *CompileError naming file, line and rule).
func (s Set) Unconfigured() map[string]error {
	m := map[string]error{}
	for kind, sch := range s {
		if sch.Err != nil {
			m[kind] = sch.Err
		}
	}
	return m
}

var officialSet = sync.OnceValues(func() (Set, error) { return Load(official.FS) })

// Official is the compiled bundled schematron of a kind (121, 58, 59, 76),
// compiled once on first use.
func Official(kind string) (*Schema, error) {
	set, err := officialSet()
	if err != nil {
		return nil, err
	}
	s, ok := set[kind]
	if !ok {
		return nil, fmt.Errorf("schematron: no official schematron for kind %q", kind)
	}
	if s.Err != nil {
		return nil, s.Err
	}
	return s, nil
}

// OfficialSet is every bundled schematron, compiled once.
func OfficialSet() (Set, error) { return officialSet() }

// LoadDir is the door's start-up: every <kind>.sch of HUB_SCHEMATRON_DIR,
// or the bundled ones when dir is empty.
func LoadDir(dir string) (Set, error) {
	if dir == "" {
		return OfficialSet()
	}
	return Load(os.DirFS(dir))
}
