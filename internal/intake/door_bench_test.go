package intake

import (
	"context"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/cdaxsd"
	"github.com/emdhub/hub/internal/refbook"
	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"
)

// BenchmarkDoor121 is the door's document checks on one generated 121
// document, as issue 12 measures them (README, "ФЛК: XSD"): header, the
// official XSD, the official schematron and the reference books (no
// organisations' query, no signatures). Run with -cpu 1; docs/cpu-s is the
// one-core rate. -xsd=libxml2 is BenchmarkDoor121Libxml2.
func BenchmarkDoor121(b *testing.B) { benchDoor(b) }

func benchDoor(b *testing.B) {
	set, err := schematron.OfficialSet()
	if err != nil {
		b.Fatal(err)
	}
	xsd, err := cdaxsd.LoadDir("")
	if err != nil {
		b.Fatal(err)
	}
	books, err := refbook.NewRegistryWith("", refbook.DefaultSettings())
	if err != nil {
		b.Fatal(err)
	}
	svc := &Service{Schematrons: set, XSD: xsd, Level2: &refbook.Checker{Books: books.Books, Settings: books.Settings()}}
	org := semdgen.NewOrg(77, 1)
	doc := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Rand: rand.New(rand.NewPCG(1, 0))})
	claims := semd.Claims{Kind: "121", SubmitterOrg: org.OID, Now: time.Now()}
	ctx := context.Background()
	c, err := svc.Check(ctx, doc.XML, claims)
	if err != nil || !c.XSD || c.Rules == 0 || !c.Level2 {
		b.Fatalf("the door did not run every stage: %+v %v", c, err)
	}
	b.SetBytes(int64(len(doc.XML)))
	b.ReportAllocs()
	start := cpuNow()
	for b.Loop() {
		if _, err := svc.Check(ctx, doc.XML, claims); err != nil {
			b.Fatal(err)
		}
	}
	per := float64(cpuNow()-start) / float64(b.N)
	b.ReportMetric(per/1e3, "cpu-µs/op")
	b.ReportMetric(1e9/per, "docs/cpu-s")
}

// cpuNow is the process's CPU time (the machine is shared: wall time says
// more about the neighbours).
func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
