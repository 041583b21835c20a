package intake

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/cdaxsd"
	"github.com/emdhub/hub/internal/refbook"
	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"

	"github.com/emdhub/hub/internal/testtool"
)

// BenchmarkDoor121 is the door's document checks on one generated 121
// document, as issue 12 measures them (README, "ФЛК: XSD"): header, the
// official XSD, the official schematron and the reference books (no
// organisations' query, no signatures). Run with -cpu 1; docs/cpu-s is the
// one-core rate. -xsd=libxml2 is BenchmarkDoor121Libxml2.
func BenchmarkDoor121(b *testing.B) { benchDoor(b) }

// BenchmarkFLK121 is issue 12's figure: what the door runs on a 121 with
// the ФЛК on, minus signatures and store — the one parse
// (schematron.ParseFast, the header read from its DOM), the official XSD,
// the official schematron on that DOM and the reference books (no
// organisations' query). The goal is ≥ 3,000 docs/cpu-s with -cpu 1. Its
// sub-benchmarks are the stages alone, to see where the time goes
// (books-bytes: level 2 on the bytes, as for a document without a DOM).
func BenchmarkFLK121(b *testing.B) {
	b.Run("door", benchDoor)
	svc, doc, _ := benchSetup(b)
	sch := svc.rulesOf("121")
	dom := schematron.ParseFast(doc, svc.Limits.WithDefaults())
	stages := []struct {
		name string
		run  func() error
	}{
		{"parse", func() error {
			if schematron.ParseFast(doc, svc.Limits.WithDefaults()) == nil {
				return errors.New("the fast parser declined a generated 121")
			}
			return nil
		}},
		{"header", func() error { _, err := semd.FromTree(dom, svc.Limits); return err }},
		{"xsd", func() error { return xsdCheck(sch.XSD, doc, dom) }}, // as the door does: on the DOM
		{"xsd-bytes", func() error { return sch.XSD.Validate(doc) }}, // the bytes read again (before)
		{"schematron", func() error {
			fs, err := sch.Schematron.ValidateErr(dom)
			if err == nil && len(fs) > 0 {
				err = fmt.Errorf("%d rules failed", len(fs))
			}
			return err
		}},
		{"books", func() error { // level 2 walking the DOM, as the door does
			_, err := svc.Level2.CheckDOMWith(context.Background(), doc, dom, sch.Books)
			return err
		}},
		{"books-bytes", func() error { // level 2 scanning the bytes: the door without a DOM
			_, err := svc.Level2.CheckWith(context.Background(), doc, sch.Books)
			return err
		}},
	}
	for _, st := range stages {
		b.Run(st.name, func(b *testing.B) {
			b.ReportAllocs()
			start := testtool.CPUTime()
			for b.Loop() {
				if err := st.run(); err != nil {
					b.Fatal(err)
				}
			}
			per := float64(testtool.CPUTime()-start) / float64(b.N)
			b.ReportMetric(per/1e3, "cpu-µs/op")
		})
	}
}

func benchDoor(b *testing.B) {
	svc, xml, claims := benchSetup(b)
	ctx := context.Background()
	c, err := svc.Check(ctx, xml, claims)
	if err != nil || !c.XSD || c.Rules == 0 || !c.Level2 {
		b.Fatalf("the door did not run every stage: %+v %v", c, err)
	}
	b.SetBytes(int64(len(xml)))
	b.ReportAllocs()
	start := testtool.CPUTime()
	for b.Loop() {
		if _, err := svc.Check(ctx, xml, claims); err != nil {
			b.Fatal(err)
		}
	}
	per := float64(testtool.CPUTime()-start) / float64(b.N)
	b.ReportMetric(per/1e3, "cpu-µs/op")
	b.ReportMetric(1e9/per, "docs/cpu-s")
}

// benchSetup is the door of the benchmarks (official schematrons, XSDs and
// books, default limits) and a generated 121 with its claims.
func benchSetup(b *testing.B) (*Service, []byte, semd.Claims) {
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
	return svc, doc.XML, semd.Claims{Kind: "121", SubmitterOrg: org.OID, Now: time.Now()}
}
