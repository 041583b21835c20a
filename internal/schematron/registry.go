package schematron

import (
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
// 1.2.643.5.1.13.13.11.1520, e.g. "121") to its compiled schematron.
type Set map[string]*Schema

// Load compiles every <kind>.sch in fsys (its top directory). A file that does
// not compile is an error: the door must not start with a schematron it would
// silently half-apply.
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
		s, err := Compile(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		set[strings.TrimSuffix(e.Name(), ".sch")] = s
	}
	return set, nil
}

// Kinds lists the kinds the set has a schematron for, sorted.
func (s Set) Kinds() []string {
	var k []string
	for kind := range s {
		k = append(k, kind)
	}
	sort.Strings(k)
	return k
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
