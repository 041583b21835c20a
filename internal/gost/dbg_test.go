package gost
import ("testing";"math/big")
func BenchmarkDbgDirect(b *testing.B) {
	f4 := newField[[4]uint64](CurveTC26256A.P)
	x := f4.fromInt(big.NewInt(12345678))
	y := f4.fromInt(new(big.Int).Sub(CurveTC26256A.P, big.NewInt(99)))
	b.Run("mul", func(b *testing.B) { for i := 0; i < b.N; i++ { pmMulAsm4(&x, &x, &y, 617) } })
	b.Run("sqr", func(b *testing.B) { for i := 0; i < b.N; i++ { pmSqrAsm4(&x, &x, 617) } })
	b.Run("fsqr", func(b *testing.B) { for i := 0; i < b.N; i++ { f4.sqr(&x, &x) } })
	b.Run("fadd", func(b *testing.B) { for i := 0; i < b.N; i++ { f4.add(&x, &x, &y) } })
	b.Run("add", func(b *testing.B) { for i := 0; i < b.N; i++ { montAdd4(&x, &x, &y, &f4.p) } })
	ar := CurveTC26256A.ops().(*arith[[4]uint64])
	pt := ar.jacobian(&ar.gTable[0][0])
	b.Run("dbl", func(b *testing.B) { for i := 0; i < b.N; i++ { ar.double(&pt, &pt) } })
}
