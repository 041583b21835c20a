package schematron

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/schematron/official"
	"github.com/emdhub/hub/internal/semdgen"

	"github.com/emdhub/hub/internal/testtool"
)

func docOf(tb testing.TB, kind string) ([]byte, *Schema) {
	tb.Helper()
	s, err := Official(kind)
	if err != nil {
		tb.Fatal(err)
	}
	return semdgen.MustBuild(semdgen.Options{Kind: kind, Rand: rand.New(rand.NewPCG(1, 0))}).XML, s
}

func doc121(tb testing.TB) ([]byte, *Schema) { return docOf(tb, "121") }

func benchValidate(b *testing.B, kind string) {
	raw, s := docOf(b, kind)
	d, err := Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	c := testtool.CPUTime()
	for b.Loop() {
		s.Validate(d)
	}
	reportCPU(b, c)
}

// BenchmarkValidate121 is the figure: one 121 document, parsed once,
// against 121.sch (run with -cpu 1).
func BenchmarkValidate121(b *testing.B) { benchValidate(b, "121") }

// BenchmarkValidate is every official kind, named …/KIND as
// scripts/bench-schematron expects for its ratio to Saxon.
func BenchmarkValidate(b *testing.B) {
	for _, k := range officialKinds {
		b.Run(k, func(b *testing.B) { benchValidate(b, k) })
	}
}

// BenchmarkParseValidate121 is what the door pays per document: parse and validate.
func BenchmarkParseValidate121(b *testing.B) {
	raw, s := doc121(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	c := testtool.CPUTime()
	for b.Loop() {
		d, err := Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		s.Validate(d)
	}
	reportCPU(b, c)
}

// BenchmarkParse121 is the DOM parse alone of the same document.
func BenchmarkParse121(b *testing.B) {
	raw, _ := doc121(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	c := testtool.CPUTime()
	for b.Loop() {
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, c)
}

func reportCPU(b *testing.B, start time.Duration) {
	per := float64(testtool.CPUTime()-start) / float64(b.N)
	b.ReportMetric(per/1e3, "cpu-µs/op")
	b.ReportMetric(1e9/per, "docs/cpu-s")
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

// compiledBudget bounds the heap of the four official schematrons compiled
// (measured: see the package doc); a change that blows it up fails here.
const compiledBudget = 24 << 20

// TestCompiledSchematronsMemory measures the heap taken by all official
// schematrons compiled (live heap after a GC, minus before) and holds it to
// compiledBudget. The figure is in the package doc and the README:
//
//	go test ./internal/schematron -run CompiledSchematronsMemory -v
func TestCompiledSchematronsMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	set, err := Load(official.FS)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	runtime.KeepAlive(set)
	t.Logf("compiled %v: %.1f MB of heap", set.Kinds(), float64(heap)/(1<<20))
	if len(set) != 4 || heap > compiledBudget {
		t.Errorf("%d schematrons take %d B, budget %d B", len(set), heap, compiledBudget)
	}
}
