package schematron

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/emdhub/hub/internal/semdgen"
)

func doc121(tb testing.TB) ([]byte, *Schema) {
	tb.Helper()
	s, err := Official("121")
	if err != nil {
		tb.Fatal(err)
	}
	return semdgen.MustBuild(semdgen.Options{Kind: "121", Rand: rand.New(rand.NewPCG(1, 0))}).XML, s
}

// BenchmarkValidate121 is one 121 document, parsed once, against 121.sch.
func BenchmarkValidate121(b *testing.B) {
	raw, s := doc121(b)
	d, err := Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Validate(d)
	}
}

// BenchmarkParseValidate121 is what the door pays per document: parse and validate.
func BenchmarkParseValidate121(b *testing.B) {
	raw, s := doc121(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		d, err := Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		s.Validate(d)
	}
}

func allocBytes(f func()) uint64 {
	f() // warm pools and caches
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	const n = 20
	for range n {
		f()
	}
	runtime.ReadMemStats(&b)
	return (b.TotalAlloc - a.TotalAlloc) / n
}

// TestValidateAllocatesLessThanTwiceTheDocument holds the engine to the
// issue's memory budget: validating allocates no more than twice what
// parsing the document does.
func TestValidateAllocatesLessThanTwiceTheDocument(t *testing.T) {
	raw, s := doc121(t)
	d, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	parse := allocBytes(func() { Parse(raw) })
	validate := allocBytes(func() { s.Validate(d) })
	t.Logf("parse %d B, validate %d B (%d failures)", parse, validate, len(s.Validate(d)))
	if validate > 2*parse {
		t.Errorf("validate allocates %d B, more than twice the parse's %d B", validate, parse)
	}
}
