package gost

import (
	"math/big"
	"math/bits"
)

// Fixed-width Montgomery arithmetic modulo the curve prime: [4]uint64 for the
// 256-bit curves, [8]uint64 for the 512-bit ones. math/big allocates and
// divides on every reduction; this does neither, which is most of the speed
// of verification. The code is generic over the two array types so each
// size is compiled with its own constant bounds. Not constant-time: the hub
// verifies public data and signs only with test keys (package comment).

// limbs are the element representations: little-endian 64-bit limbs.
type limbs interface{ [4]uint64 | [8]uint64 }

// field is GF(p). Elements are fully reduced (< p), so equality is limb
// equality. For a pseudo-Mersenne prime p = 2^(64·n) − c with c < 2^32
// (TC26 256-A, CryptoPro-A, TC26 512-A and 512-C) elements are plain and a
// product is reduced by folding: hi·2^(64·n) ≡ hi·c, a few small
// multiplications instead of Montgomery's n² (−30 % at 256 bits, −45 % at
// 512). Other primes use Montgomery form: x held as x·R mod p, R = 2^(64·n).
type field[E limbs] struct {
	p    E
	c    uint64 // p = 2^(64·n) − c, or 0: Montgomery form
	pinv uint64 // -p⁻¹ mod 2^64
	rr   E      // R² mod p, plain form
	one  E      // 1 in the element form
	pBig *big.Int
}

func newField[E limbs](p *big.Int) *field[E] {
	f := &field[E]{pBig: p}
	n := len(f.p)
	f.p = toLimbs[E](p)
	inv := uint64(1) // Newton: inv = p0⁻¹ mod 2^64
	for i := 0; i < 6; i++ {
		inv *= 2 - f.p[0]*inv
	}
	f.pinv = -inv
	r := new(big.Int).Lsh(big.NewInt(1), uint(64*n))
	if c := new(big.Int).Sub(r, p); c.Sign() > 0 && c.BitLen() <= 32 {
		f.c = c.Uint64()
		f.one = toLimbs[E](big.NewInt(1))
		return f
	}
	f.one = toLimbs[E](new(big.Int).Mod(r, p))
	f.rr = toLimbs[E](new(big.Int).Mod(new(big.Int).Mul(r, r), p))
	return f
}

// toLimbs converts a non-negative integer below 2^(64·n).
func toLimbs[E limbs](v *big.Int) (out E) {
	b := make([]byte, 8*len(out))
	v.FillBytes(b)
	for i := 0; i < len(out); i++ {
		for j := 0; j < 8; j++ {
			out[i] |= uint64(b[len(b)-1-8*i-j]) << (8 * j)
		}
	}
	return
}

func fromLimbs[E limbs](x *E) *big.Int {
	xv := *x
	b := make([]byte, 8*len(xv))
	for i := 0; i < len(xv); i++ {
		for j := 0; j < 8; j++ {
			b[len(b)-1-8*i-j] = byte(xv[i] >> (8 * j))
		}
	}
	return new(big.Int).SetBytes(b)
}

// fromInt returns v (0 ≤ v < p) in the element form.
func (f *field[E]) fromInt(v *big.Int) E {
	x := toLimbs[E](v)
	if f.c != 0 {
		return x
	}
	var z E
	f.mul(&z, &x, &f.rr)
	return z
}

// toInt returns the value of an element.
func (f *field[E]) toInt(x *E) *big.Int {
	if f.c != 0 {
		return fromLimbs(x)
	}
	var one, z E
	one[0] = 1
	f.mul(&z, x, &one)
	return fromLimbs(&z)
}

//go:generate go run gen_mont.go

// mac returns a·b + t + c as (hi, lo); it cannot overflow 128 bits.
func mac(a, b, t, c uint64) (hi, lo uint64) {
	hi, lo = bits.Mul64(a, b)
	var cc uint64
	lo, cc = bits.Add64(lo, t, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	return hi + cc, lo
}

// mul sets z = x·y in the element form: folding for a pseudo-Mersenne p,
// CIOS Montgomery multiplication (x·y·R⁻¹) otherwise; both unrolled in
// mont_gen.go. z may alias x or y.
func (f *field[E]) mul(z, x, y *E) {
	switch zz := any(z).(type) {
	case *[4]uint64:
		if f.c != 0 {
			if hasMULX {
				pmMulAsm4(zz, any(x).(*[4]uint64), any(y).(*[4]uint64), f.c)
				return
			}
			pmMul4(zz, any(x).(*[4]uint64), any(y).(*[4]uint64), f.c)
			return
		}
		montMul4(zz, any(x).(*[4]uint64), any(y).(*[4]uint64), any(&f.p).(*[4]uint64), f.pinv)
	case *[8]uint64:
		if f.c != 0 {
			if hasMULX {
				pmMulAsm8(zz, any(x).(*[8]uint64), any(y).(*[8]uint64), f.c)
				return
			}
			pmMul8(zz, any(x).(*[8]uint64), any(y).(*[8]uint64), f.c)
			return
		}
		montMul8(zz, any(x).(*[8]uint64), any(y).(*[8]uint64), any(&f.p).(*[8]uint64), f.pinv)
	}
}

// sqr sets z = x²: a dedicated squaring for pseudo-Mersenne primes (each
// cross product once), mul otherwise.
func (f *field[E]) sqr(z, x *E) {
	if f.c != 0 && hasMULX {
		switch zz := any(z).(type) {
		case *[4]uint64:
			pmSqrAsm4(zz, any(x).(*[4]uint64), f.c)
			return
		case *[8]uint64:
			pmSqrAsm8(zz, any(x).(*[8]uint64), f.c)
			return
		}
	}
	if f.c != 0 {
		switch zz := any(z).(type) {
		case *[4]uint64:
			pmSqr4(zz, any(x).(*[4]uint64), f.c)
			return
		case *[8]uint64:
			pmSqr8(zz, any(x).(*[8]uint64), f.c)
			return
		}
	}
	f.mul(z, x, x)
}

// add sets z = x + y mod p.
func (f *field[E]) add(z, x, y *E) {
	switch zz := any(z).(type) {
	case *[4]uint64:
		if f.c != 0 && hasMULX {
			pmAddAsm4(zz, any(x).(*[4]uint64), any(y).(*[4]uint64), f.c)
			return
		}
		montAdd4(zz, any(x).(*[4]uint64), any(y).(*[4]uint64), any(&f.p).(*[4]uint64))
	case *[8]uint64:
		montAdd8(zz, any(x).(*[8]uint64), any(y).(*[8]uint64), any(&f.p).(*[8]uint64))
	}
}

// sub sets z = x − y mod p.
func (f *field[E]) sub(z, x, y *E) {
	switch zz := any(z).(type) {
	case *[4]uint64:
		if f.c != 0 && hasMULX {
			pmSubAsm4(zz, any(x).(*[4]uint64), any(y).(*[4]uint64), f.c)
			return
		}
		montSub4(zz, any(x).(*[4]uint64), any(y).(*[4]uint64), any(&f.p).(*[4]uint64))
	case *[8]uint64:
		montSub8(zz, any(x).(*[8]uint64), any(y).(*[8]uint64), any(&f.p).(*[8]uint64))
	}
}

func (f *field[E]) isZero(x *E) bool {
	xv := *x
	var acc uint64
	for j := 0; j < len(xv); j++ {
		acc |= xv[j]
	}
	return acc == 0
}

// inv sets z = x⁻¹ (Montgomery form in and out); x ≠ 0.
func (f *field[E]) inv(z, x *E) {
	v := new(big.Int).ModInverse(f.toInt(x), f.pBig)
	*z = f.fromInt(v)
}
