package refbook

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/semd"

	"github.com/emdhub/hub/internal/semdgen"
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

// heldVersions puts held book versions where today's generator writes
// others, so the benchmark measures documents that pass (see README).
var heldVersions = strings.NewReplacer(
	`codeSystemVersion="5.1"`, `codeSystemVersion="7.2"`,
	`codeSystemVersion="7.1"`, `codeSystemVersion="6.5"`,
	`codeSystemVersion="8.4"`, `codeSystemVersion="9.6"`,
	`codeSystemVersion="1.17"`, `codeSystemVersion="4.29"`,
	`code="MOTHERINFO"`, `code="SCOPORG"`, `code="CHILDINFO"`, `code="SCOPORG"`)

// BenchmarkCheck is level 2 over one generated document of each kind
// (codes, СНИЛС, the organisation look-up against an in-memory set), with
// the door's header parse (semd.Parse) beside it for scale.
func BenchmarkCheck(b *testing.B) {
	r, err := NewRegistry("")
	if err != nil {
		b.Fatal(err)
	}
	org := semdgen.NewOrg(77, 1)
	for _, kind := range []string{"121", "58", "59", "76"} {
		x := []byte(heldVersions.Replace(string(semdgen.MustBuild(semdgen.Options{Kind: kind, Org: org}).XML)))
		c := &Checker{Books: r.Books, Orgs: orgSet{org.OID: true}}
		if err := c.Check(context.Background(), x); err != nil {
			b.Fatalf("%s: %v", kind, err)
		}
		b.Run(kind, func(b *testing.B) {
			b.SetBytes(int64(len(x)))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Check(context.Background(), x); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("semd.Parse/"+kind, func(b *testing.B) {
			b.SetBytes(int64(len(x)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := semd.Parse(x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
