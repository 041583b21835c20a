package semdgen

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkBuild measures how fast the generator renders a document of each
// kind with a published schematron (unsigned: signing is done lazily, when a
// document is wrapped for submission).
func BenchmarkBuild(b *testing.B) {
	for _, kind := range []string{"121", "58", "59", "76"} {
		b.Run(kind, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			org := NewOrg(77, 5)
			b.ReportAllocs()
			for b.Loop() {
				MustBuild(Options{Kind: kind, Org: org, Rand: r})
			}
		})
	}
}
