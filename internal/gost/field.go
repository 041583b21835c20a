package gost

import (
	"math/big"
	"math/bits"
)

// Fixed-width Montgomery arithmetic modulo the curve prime: 4 limbs for the
// 256-bit curves, 8 for the 512-bit ones. math/big allocates and divides on
// every reduction; this does neither, which is most of the speed of
// verification. Not constant-time: the hub verifies public data and signs
// only with test keys (package comment).

const maxLimbs = 8

// fe is a field element in Montgomery form (x·R mod p, R = 2^(64·n)),
// little-endian limbs, fully reduced (< p), so equality is limb equality.
type fe [maxLimbs]uint64

type field struct {
	n    int
	p    fe
	pinv uint64 // -p⁻¹ mod 2^64
	rr   fe     // R² mod p, plain (not Montgomery) form
	one  fe     // R mod p: 1 in Montgomery form
	pBig *big.Int
}

func newField(p *big.Int) *field {
	f := &field{n: (p.BitLen() + 63) / 64, pBig: p}
	f.p = limbs(p)
	inv := uint64(1) // Newton: inv = p0⁻¹ mod 2^64
	for i := 0; i < 6; i++ {
		inv *= 2 - f.p[0]*inv
	}
	f.pinv = -inv
	r := new(big.Int).Lsh(big.NewInt(1), uint(64*f.n))
	f.one = limbs(new(big.Int).Mod(r, p))
	f.rr = limbs(new(big.Int).Mod(new(big.Int).Mul(r, r), p))
	return f
}

// limbs converts a non-negative integer below 2^512.
func limbs(v *big.Int) (out fe) {
	b := make([]byte, 8*maxLimbs)
	v.FillBytes(b)
	for i := 0; i < maxLimbs; i++ {
		for j := 0; j < 8; j++ {
			out[i] |= uint64(b[len(b)-1-8*i-j]) << (8 * j)
		}
	}
	return
}

func (f *field) toBig(x *fe) *big.Int {
	b := make([]byte, 8*f.n)
	for i := 0; i < f.n; i++ {
		for j := 0; j < 8; j++ {
			b[len(b)-1-8*i-j] = byte(x[i] >> (8 * j))
		}
	}
	return new(big.Int).SetBytes(b)
}

// fromInt returns v (0 ≤ v < p) in Montgomery form.
func (f *field) fromInt(v *big.Int) fe {
	x := limbs(v)
	var z fe
	f.mul(&z, &x, &f.rr)
	return z
}

// toInt returns the plain value of a Montgomery-form element.
func (f *field) toInt(x *fe) *big.Int {
	var one, z fe
	one[0] = 1
	f.mul(&z, x, &one)
	return f.toBig(&z)
}

// mul sets z = x·y·R⁻¹ mod p (CIOS Montgomery multiplication). z may alias x or y.
func (f *field) mul(z, x, y *fe) {
	n := f.n
	var t [maxLimbs + 2]uint64
	for i := 0; i < n; i++ {
		yi := y[i]
		var c uint64
		for j := 0; j < n; j++ {
			hi, lo := bits.Mul64(x[j], yi)
			var cc uint64
			lo, cc = bits.Add64(lo, t[j], 0)
			hi += cc
			lo, cc = bits.Add64(lo, c, 0)
			t[j], c = lo, hi+cc
		}
		var cc uint64
		t[n], cc = bits.Add64(t[n], c, 0)
		t[n+1] = cc
		m := t[0] * f.pinv
		hi, lo := bits.Mul64(m, f.p[0])
		_, cc = bits.Add64(lo, t[0], 0)
		c = hi + cc
		for j := 1; j < n; j++ {
			hi, lo := bits.Mul64(m, f.p[j])
			lo, cc = bits.Add64(lo, t[j], 0)
			hi += cc
			lo, cc = bits.Add64(lo, c, 0)
			t[j-1], c = lo, hi+cc
		}
		t[n-1], cc = bits.Add64(t[n], c, 0)
		t[n] = t[n+1] + cc
	}
	f.reduceOnce(z, &t)
}

// reduceOnce sets z = t mod p for t < 2p held in n+1 limbs.
func (f *field) reduceOnce(z *fe, t *[maxLimbs + 2]uint64) {
	n := f.n
	var d fe
	var b uint64
	for j := 0; j < n; j++ {
		d[j], b = bits.Sub64(t[j], f.p[j], b)
	}
	_, b = bits.Sub64(t[n], 0, b)
	if b == 0 {
		*z = d
		return
	}
	var r fe
	copy(r[:n], t[:n])
	*z = r
}

func (f *field) sqr(z, x *fe) { f.mul(z, x, x) }

// add sets z = x + y mod p.
func (f *field) add(z, x, y *fe) {
	var t [maxLimbs + 2]uint64
	var c uint64
	for j := 0; j < f.n; j++ {
		t[j], c = bits.Add64(x[j], y[j], c)
	}
	t[f.n] = c
	f.reduceOnce(z, &t)
}

// sub sets z = x − y mod p.
func (f *field) sub(z, x, y *fe) {
	var r fe
	var b uint64
	for j := 0; j < f.n; j++ {
		r[j], b = bits.Sub64(x[j], y[j], b)
	}
	if b != 0 {
		var c uint64
		for j := 0; j < f.n; j++ {
			r[j], c = bits.Add64(r[j], f.p[j], c)
		}
	}
	*z = r
}

func (f *field) isZero(x *fe) bool {
	var acc uint64
	for j := 0; j < f.n; j++ {
		acc |= x[j]
	}
	return acc == 0
}

// inv sets z = x⁻¹ (Montgomery form in and out); x ≠ 0.
func (f *field) inv(z, x *fe) {
	v := new(big.Int).ModInverse(f.toInt(x), f.pBig)
	*z = f.fromInt(v)
}
