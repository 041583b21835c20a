package schematron

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/semdgen"
)

func TestOfficialSchematronsCompile(t *testing.T) {
	want := map[string][3]int{"121": {586, 1482, 27}, "58": {401, 712, 113}, "59": {413, 876, 92}, "76": {204, 385, 60}}
	for kind, w := range want {
		s, err := Official(kind)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if got := [3]int{s.Rules, s.Asserts, s.Reports}; got != w {
			t.Errorf("%s: rules/asserts/reports %v, want %v", kind, got, w)
		}
	}
}

// TestLoadDir: a .sch dropped into the directory is compiled under its kind
// with no code change; one that does not compile stops the start.
func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "999.sch"), schemaWith("", `<pattern><rule context="ClinicalDocument"><assert test="title">У1-1. title</assert></rule></pattern>`), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644)
	set, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Kinds(); !slices.Equal(got, []string{"999"}) {
		t.Fatalf("kinds %v", got)
	}
	if set, err := LoadDir(""); err != nil || !slices.Equal(set.Kinds(), []string{"121", "58", "59", "76"}) {
		t.Fatalf("bundled: %v %v", set.Kinds(), err)
	}
	os.WriteFile(filepath.Join(dir, "998.sch"), schemaWith("", `<pattern><rule context="a"><assert test="$x">x</assert></rule></pattern>`), 0o644)
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "998.sch") {
		t.Fatalf("a broken .sch loaded: %v", err)
	}
}

// TestGeneratedDocumentsPassTheEngine: what internal/semdgen makes passes the
// official schematron of its kind with 0 failures, by this engine too.
func TestGeneratedDocumentsPassTheEngine(t *testing.T) {
	for ki, k := range officialKinds {
		s, err := Official(k)
		if err != nil {
			t.Fatal(err)
		}
		for seed := 1; seed <= 20; seed++ {
			x := semdgen.MustBuild(semdgen.Options{Kind: k, Rand: rand.New(rand.NewPCG(uint64(seed), uint64(ki)))}).XML
			d, err := Parse(x)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := s.ValidateErr(d)
			if err != nil || len(fs) > 0 {
				t.Errorf("%s seed %d: %v, %d failures, first %+v", k, seed, err, len(fs), fs[:min(1, len(fs))])
			}
		}
	}
}
