package schematron

import (
	"errors"
	"fmt"
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
// with no code change; one that does not compile leaves its kind
// unconfigured, with file, line and rule, and the others loaded.
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
	os.WriteFile(filepath.Join(dir, "998.sch"), schemaWith("", `<pattern><rule context="a"><assert test="true()">x</assert></rule>
<rule context="b">
  <assert test="true()">ok</assert>
  <assert test="$x">x</assert></rule></pattern>`), 0o644)
	set, err = LoadDir(dir)
	if err != nil {
		t.Fatalf("a broken .sch stopped the load: %v", err)
	}
	if got := set.Kinds(); !slices.Equal(got, []string{"999"}) {
		t.Fatalf("kinds %v", got)
	}
	bad := set.Unconfigured()["998"]
	var ce *CompileError
	if !errors.As(bad, &ce) || ce.File != "998.sch" || ce.Line != 5 || ce.Rule != 2 || ce.Context != "b" {
		t.Fatalf("unconfigured 998: %#v", bad)
	}
	if !strings.Contains(bad.Error(), "998.sch:5: rule 2") {
		t.Errorf("message %q", bad)
	}
	if _, err := set["998"].ValidateErr(mustDoc(t, "<a/>")); !errors.Is(err, bad) {
		t.Errorf("an unconfigured kind validated: %v", err)
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

// TestValidateConcurrently: one compiled Schema validates from several
// goroutines at once (the door's case) with the results of a sequential run;
// run under -race it also checks the evaluator state is per validation.
func TestValidateConcurrently(t *testing.T) {
	s, err := Official("121")
	if err != nil {
		t.Fatal(err)
	}
	var docs []*Document
	var want [][]Failure
	for seed := uint64(1); seed <= 4; seed++ {
		x := semdgen.MustBuild(semdgen.Options{Kind: "121", Rand: rand.New(rand.NewPCG(seed, 0))}).XML
		if seed%2 == 0 { // some failures to compare as well
			x = []byte(strings.Replace(string(x), `codeSystem="1.2.643.5.1.13.13.99.2.285"`, `codeSystem="1.2.3"`, 1))
		}
		d, err := Parse(x)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
		want = append(want, s.Validate(d))
	}
	errs := make(chan string, 64)
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for k := range 6 {
				i := (g + k) % len(docs)
				if got := s.Validate(docs[i]); !slices.Equal(got, want[i]) {
					errs <- fmt.Sprintf("goroutine %d, document %d: %d failures, want %d", g, i, len(got), len(want[i]))
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if len(want[1]) == 0 {
		t.Error("the broken document passed")
	}
}
