package refbook

import (
	"context"
	"runtime"
	"testing"

	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semd"

	"github.com/emdhub/hub/internal/semdgen"

	"github.com/emdhub/hub/internal/testtool"
)

// BenchmarkLoadBundled measures loading the bundled books (gunzip, parse,
// index): what NewRegistry("") costs at start. heap-MB is the live heap the
// loaded books keep.
func BenchmarkLoadBundled(b *testing.B) {
	var keep *Registry
	for b.Loop() {
		r, err := NewRegistry("")
		if err != nil {
			b.Fatal(err)
		}
		keep = r
	}
	b.StopTimer()
	var before, after runtime.MemStats
	keep = nil
	runtime.GC()
	runtime.ReadMemStats(&before)
	keep, _ = NewRegistry("")
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MB")
	runtime.KeepAlive(keep)
}

// BenchmarkLoadExports measures reading all 62 ФНСИ exports (20 MB of
// JSON) from a directory: what HUB_NSI_DIR holding all of them costs.
func BenchmarkLoadExports(b *testing.B) {
	src, err := ExportSource()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ReadExportDir(src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLevel2 is level 2 over one generated document of each kind with
// a schematron (codes and names against the books, СНИЛС, the organisation
// look-up against an in-memory set), with a bare loop over the document's
// bytes and the door's header parse (semd.Parse) beside it for scale;
// dom/<kind> is the same check walking the door's DOM (CheckDOMWith). The README's "ФЛК level 2" quotes
// `go test ./internal/refbook -run XXX -bench Level2 -cpu 1`.
func BenchmarkLevel2(b *testing.B) {
	r, err := NewRegistry("")
	if err != nil {
		b.Fatal(err)
	}
	for _, kind := range []string{"121", "58", "59", "76"} {
		o := semdgen.Varied(kind, 1, 0)
		x := semdgen.MustBuild(o).XML
		c := &Checker{Books: r.Books, Settings: r.Settings(), Orgs: orgSet{o.Org.OID: true}}
		res, err := c.CheckWith(context.Background(), x, nil)
		if err != nil {
			b.Fatalf("%s: %v", kind, err)
		}
		b.Run(kind, func(b *testing.B) {
			b.SetBytes(int64(len(x)))
			b.ReportAllocs()
			start := testtool.CPUTime()
			for b.Loop() {
				if _, err := c.CheckWith(context.Background(), x, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(testtool.CPUTime()-start)/float64(b.N)/1e3, "cpu-µs/op")
			b.ReportMetric(float64(res.Codes), "codes")
		})
		// The same on the DOM the door has parsed (ScanDOMWith).
		dom := schematron.ParseFast(x, semd.Limits{}.WithDefaults())
		if dom == nil {
			b.Fatalf("%s: ParseFast declined the document", kind)
		}
		b.Run("dom/"+kind, func(b *testing.B) {
			b.SetBytes(int64(len(x)))
			b.ReportAllocs()
			start := testtool.CPUTime()
			for b.Loop() {
				if _, err := c.CheckDOMWith(context.Background(), x, dom, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(testtool.CPUTime()-start)/float64(b.N)/1e3, "cpu-µs/op")
		})
		// The floor: a bare loop over the document's bytes, so that figures
		// taken on a busy machine can be read as a ratio.
		b.Run("byteloop/"+kind, func(b *testing.B) {
			b.SetBytes(int64(len(x)))
			start := testtool.CPUTime()
			n := 0
			for b.Loop() {
				for _, c := range x {
					if c == '<' {
						n++
					}
				}
			}
			b.ReportMetric(float64(testtool.CPUTime()-start)/float64(b.N)/1e3, "cpu-µs/op")
			runtime.KeepAlive(n)
		})
		b.Run("semd.Parse/"+kind, func(b *testing.B) {
			b.SetBytes(int64(len(x)))
			b.ReportAllocs()
			start := testtool.CPUTime()
			for b.Loop() {
				if _, err := semd.Parse(x); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(testtool.CPUTime()-start)/float64(b.N)/1e3, "cpu-µs/op")
		})
	}
}
