package semdgen

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/schematron/saxon"
	"github.com/emdhub/hub/internal/semd"
)

// officialSchematrons finds the registry's schematrons: in the engine's
// package once merged, else the shared reference copy beside the clone or
// under /work. Under CI=true a missing copy or a missing Saxon fails.
func officialSchematrons(t *testing.T) string {
	t.Helper()
	if err := saxon.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and the Saxon oracle cannot run: %v", err)
		}
		t.Skip(err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{
		filepath.Join(root, "internal", "schematron", "official"),
		filepath.Join(filepath.Dir(root), "shared", "reference", "schematron"),
		"/work/shared/reference/schematron",
	} {
		if _, err := os.Stat(filepath.Join(d, "121.sch")); err == nil {
			return d
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("the official schematrons are not found")
	}
	t.Skip("the official schematrons are not found")
	return ""
}

// TestOfficialSchematronsPass runs the registry's own schematrons (through
// the Saxon-HE oracle) over 50 varied documents of each kind with one: every
// document has 0 failed asserts and 0 fired reports, and the hub's door
// checks accept it too.
func TestOfficialSchematronsPass(t *testing.T) {
	dir := officialSchematrons(t)
	for _, kind := range []string{"121", "58", "59", "76"} {
		t.Run(kind, func(t *testing.T) {
			s, err := saxon.Compile(filepath.Join(dir, kind+".sch"))
			if err != nil {
				t.Fatal(err)
			}
			var docs [][]byte
			for n := range 50 {
				o := Varied(kind, 0x0ff1c1a1, n)
				d := MustBuild(o)
				doc, err := semd.Parse(d.XML)
				if err != nil {
					t.Fatalf("document %d: parse: %v", n, err)
				}
				if _, err := semd.Check(doc, semd.Claims{Kind: kind, LocalID: d.ID, SubmitterOrg: o.Org.OID, Now: o.Effective.Add(time.Hour)}); err != nil {
					t.Fatalf("document %d: door: %v", n, err)
				}
				docs = append(docs, d.XML)
			}
			got, err := s.Run(docs)
			if err != nil {
				t.Fatal(err)
			}
			distinct := map[string]int{}
			failing := 0
			for _, fs := range got {
				if len(fs) > 0 {
					failing++
				}
				for _, f := range fs {
					distinct[f.Kind+" "+f.Text]++
				}
			}
			if failing > 0 {
				keys := make([]string, 0, len(distinct))
				for k := range distinct {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					t.Errorf("%4d× %s", distinct[k], k)
				}
				t.Fatalf("%d of %d documents fail %s.sch (%d distinct failures)", failing, len(docs), kind, len(distinct))
			}
		})
	}
}
