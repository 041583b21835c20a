package gost

import (
	"math/big"
	"sync"
	"sync/atomic"
)

// Curve arithmetic on the fixed-width field: Jacobian coordinates
// (X/Z², Y/Z³; Z = 0 is the point at infinity) with affine precomputed
// tables. Verification computes u₁·G + u₂·Q: u₁·G from a per-curve comb
// table of affine multiples j·256ⁱ·G (gCombBits: additions only, one per
// byte of u₁), u₂·Q with width-5 wNAF over the odd multiples Q, 3Q … 15Q
// for a key met for the first time (about 43 additions besides the
// doublings, where a 4-bit window needs 64), or from the key's own 4-bit
// comb table once the key is in regular use (CombAfter); the result is
// compared with r without an inversion.

type jpoint[E limbs] struct{ x, y, z E }
type apoint[E limbs] struct{ x, y E }

type arith[E limbs] struct {
	f      *field[E]
	a      E    // curve coefficient a, Montgomery form
	aM3    bool // a = −3: the cheaper doubling applies
	q      *big.Int
	gTable [][]apoint[E]
	qBits  int // bits of a scalar below q
}

// gCombBits is the window of the base point's comb table: 8 bits, so u₁·G
// is one mixed addition per byte of u₁ (32 for a 256-bit q, 64 for 512).
// The table is built once per curve in use: 255 points per byte, 0.5 MB
// (256-bit) or 2 MB (512-bit), a few milliseconds of start-up.
const gCombBits = 8

// keyCombBits is the window of a key's own comb table (CombAfter): 15
// points per nibble, 60 KB (256-bit) or 245 KB (512-bit), as thousands of
// keys may have one.
const keyCombBits = 4

func newArith[E limbs](c *Curve) *arith[E] {
	f := newField[E](c.P)
	ar := &arith[E]{f: f, a: f.fromInt(c.A), q: c.Q, qBits: c.Q.BitLen(),
		aM3: new(big.Int).Add(c.A, big.NewInt(3)).Cmp(c.P) == 0}
	ar.gTable = ar.combTable(ar.affine(c.X, c.Y), gCombBits)
	return ar
}

// curveOps is a curve's fast arithmetic, whichever its size.
type curveOps interface {
	// baseMult returns the affine k·G; ok is false at infinity.
	baseMult(k *big.Int) (x, y *big.Int, ok bool)
	// newKey prepares a public key for verifications.
	newKey(x, y *big.Int) keyOps
}

// keyOps is a public key's verification state.
type keyOps interface {
	// check reports whether the affine x of z1·G + z2·Q is ≡ r (mod q);
	// valid is false for a key of small order.
	check(z1, z2, r *big.Int) (match, valid bool)
}

// ops returns the curve's fast arithmetic, built on first use.
func (c *Curve) ops() curveOps {
	c.opsOnce.Do(func() {
		if c.size == 32 {
			c.fast = newArith[[4]uint64](c)
		} else {
			c.fast = newArith[[8]uint64](c)
		}
	})
	return c.fast
}

func (ar *arith[E]) affine(x, y *big.Int) apoint[E] {
	return apoint[E]{ar.f.fromInt(x), ar.f.fromInt(y)}
}

func (ar *arith[E]) jacobian(p *apoint[E]) jpoint[E] {
	return jpoint[E]{p.x, p.y, ar.f.one}
}

// double sets r = 2p (any a; dbl-2001-b when a = −3).
func (ar *arith[E]) double(r, p *jpoint[E]) {
	f := ar.f
	if f.isZero(&p.z) {
		*r = *p
		return
	}
	if ar.aM3 {
		ar.doubleM3(r, p)
		return
	}
	// 4M + 6S with the squaring in assembly is cheaper than dbl-2007-bl's
	// 2M + 8S once its extra additions count: S = 4·X·YY and Z3 = 2·Y·Z
	// as products, not (X+YY)² − XX − YYYY and (Y+Z)² − YY − ZZ.
	var xx, yy, yyyy, zz, s, m, t, x3, z3 E
	f.sqr(&xx, &p.x)
	f.sqr(&yy, &p.y)
	f.sqr(&zz, &p.z)
	f.mul(&s, &p.x, &yy)
	f.add(&s, &s, &s)
	f.add(&s, &s, &s) // S = 4·X·YY
	f.sqr(&yyyy, &yy)
	f.sqr(&t, &zz)
	f.mul(&t, &t, &ar.a)
	f.add(&m, &xx, &xx)
	f.add(&m, &m, &xx)
	f.add(&m, &m, &t) // M = 3XX + a·ZZ²
	f.mul(&z3, &p.y, &p.z)
	f.add(&z3, &z3, &z3) // Z3 = 2·Y·Z
	f.sqr(&x3, &m)
	f.sub(&x3, &x3, &s)
	f.sub(&x3, &x3, &s) // X3 = M² − 2S
	f.sub(&t, &s, &x3)
	f.mul(&t, &t, &m)
	f.add(&yyyy, &yyyy, &yyyy)
	f.add(&yyyy, &yyyy, &yyyy)
	f.add(&yyyy, &yyyy, &yyyy)
	f.sub(&r.y, &t, &yyyy) // Y3 = M(S − X3) − 8YYYY
	r.x = x3
	r.z = z3
}

// doubleM3 is dbl-2001-b (a = −3): 3M + 5S instead of 2M + 8S.
func (ar *arith[E]) doubleM3(r, p *jpoint[E]) {
	f := ar.f
	var delta, gamma, beta, alpha, t, u, x3, y3, z3 E
	f.sqr(&delta, &p.z)
	f.sqr(&gamma, &p.y)
	f.mul(&beta, &p.x, &gamma)
	f.sub(&t, &p.x, &delta)
	f.add(&u, &p.x, &delta)
	f.mul(&alpha, &t, &u)
	f.add(&t, &alpha, &alpha)
	f.add(&alpha, &alpha, &t) // α = 3(X − δ)(X + δ)
	f.add(&z3, &p.y, &p.z)
	f.sqr(&z3, &z3)
	f.sub(&z3, &z3, &gamma)
	f.sub(&z3, &z3, &delta) // Z3 = (Y + Z)² − γ − δ
	f.add(&beta, &beta, &beta)
	f.add(&beta, &beta, &beta) // 4β
	f.sqr(&x3, &alpha)
	f.sub(&x3, &x3, &beta)
	f.sub(&x3, &x3, &beta) // X3 = α² − 8β
	f.sub(&t, &beta, &x3)
	f.mul(&y3, &alpha, &t)
	f.sqr(&gamma, &gamma)
	f.add(&gamma, &gamma, &gamma)
	f.add(&gamma, &gamma, &gamma)
	f.add(&gamma, &gamma, &gamma) // 8γ²
	f.sub(&y3, &y3, &gamma)       // Y3 = α(4β − X3) − 8γ²
	r.x, r.y, r.z = x3, y3, z3
}

// addMixed sets r = p + q for affine q (madd-2007-bl).
func (ar *arith[E]) addMixed(r, p *jpoint[E], q *apoint[E]) {
	f := ar.f
	if f.isZero(&p.z) {
		*r = ar.jacobian(q)
		return
	}
	var z1z1, u2, s2, h, hh, i, j, rr, v E
	f.sqr(&z1z1, &p.z)
	f.mul(&u2, &q.x, &z1z1)
	f.mul(&s2, &q.y, &p.z)
	f.mul(&s2, &s2, &z1z1)
	f.sub(&h, &u2, &p.x)
	f.sub(&rr, &s2, &p.y)
	if f.isZero(&h) {
		if f.isZero(&rr) {
			ar.double(r, p)
			return
		}
		*r = jpoint[E]{}
		return
	}
	f.add(&rr, &rr, &rr)
	f.sqr(&hh, &h)
	f.add(&i, &hh, &hh)
	f.add(&i, &i, &i)
	f.mul(&j, &h, &i)
	f.mul(&v, &p.x, &i)
	var x3, y3, z3, t E
	f.sqr(&x3, &rr)
	f.sub(&x3, &x3, &j)
	f.sub(&x3, &x3, &v)
	f.sub(&x3, &x3, &v)
	f.sub(&t, &v, &x3)
	f.mul(&y3, &rr, &t)
	f.mul(&t, &p.y, &j)
	f.add(&t, &t, &t)
	f.sub(&y3, &y3, &t)
	f.add(&z3, &p.z, &h)
	f.sqr(&z3, &z3)
	f.sub(&z3, &z3, &z1z1)
	f.sub(&z3, &z3, &hh)
	r.x, r.y, r.z = x3, y3, z3
}

// add sets r = p + q (add-2007-bl).
func (ar *arith[E]) add(r, p, q *jpoint[E]) {
	f := ar.f
	if f.isZero(&p.z) {
		*r = *q
		return
	}
	if f.isZero(&q.z) {
		*r = *p
		return
	}
	var z1z1, z2z2, u1, u2, s1, s2, h, rr E
	f.sqr(&z1z1, &p.z)
	f.sqr(&z2z2, &q.z)
	f.mul(&u1, &p.x, &z2z2)
	f.mul(&u2, &q.x, &z1z1)
	f.mul(&s1, &p.y, &q.z)
	f.mul(&s1, &s1, &z2z2)
	f.mul(&s2, &q.y, &p.z)
	f.mul(&s2, &s2, &z1z1)
	f.sub(&h, &u2, &u1)
	f.sub(&rr, &s2, &s1)
	if f.isZero(&h) {
		if f.isZero(&rr) {
			ar.double(r, p)
			return
		}
		*r = jpoint[E]{}
		return
	}
	var i, j, v, x3, y3, z3, t E
	f.add(&i, &h, &h)
	f.sqr(&i, &i)
	f.mul(&j, &h, &i)
	f.add(&rr, &rr, &rr)
	f.mul(&v, &u1, &i)
	f.sqr(&x3, &rr)
	f.sub(&x3, &x3, &j)
	f.sub(&x3, &x3, &v)
	f.sub(&x3, &x3, &v)
	f.sub(&t, &v, &x3)
	f.mul(&y3, &rr, &t)
	f.mul(&t, &s1, &j)
	f.add(&t, &t, &t)
	f.sub(&y3, &y3, &t)
	f.add(&z3, &p.z, &q.z)
	f.sqr(&z3, &z3)
	f.sub(&z3, &z3, &z1z1)
	f.sub(&z3, &z3, &z2z2)
	f.mul(&z3, &z3, &h)
	r.x, r.y, r.z = x3, y3, z3
}

// toAffine converts points in batch with one inversion (Montgomery's
// trick). No point may be at infinity.
func (ar *arith[E]) toAffine(ps []jpoint[E]) []apoint[E] {
	f := ar.f
	out := make([]apoint[E], len(ps))
	if len(ps) == 0 {
		return out
	}
	prefix := make([]E, len(ps))
	acc := f.one
	for i := range ps {
		prefix[i] = acc
		f.mul(&acc, &acc, &ps[i].z)
	}
	var inv E
	f.inv(&inv, &acc)
	for i := len(ps) - 1; i >= 0; i-- {
		var zi, zi2, zi3 E
		f.mul(&zi, &inv, &prefix[i]) // 1/z_i
		f.mul(&inv, &inv, &ps[i].z)
		f.sqr(&zi2, &zi)
		f.mul(&zi3, &zi2, &zi)
		f.mul(&out[i].x, &ps[i].x, &zi2)
		f.mul(&out[i].y, &ps[i].y, &zi3)
	}
	return out
}

// combTable returns T[i][j-1] = j·2^(w·i)·P, affine, for every w-bit window
// i of a scalar below q (w divides 64).
func (ar *arith[E]) combTable(p apoint[E], w int) [][]apoint[E] {
	rows, per := (ar.qBits+w-1)/w, 1<<w-1
	all := make([]jpoint[E], rows*per)
	base := ar.jacobian(&p)
	for i := 0; i < rows; i++ {
		row := all[i*per : (i+1)*per]
		row[0] = base
		for j := 1; j < per; j++ {
			ar.add(&row[j], &row[j-1], &base)
		}
		ar.add(&base, &row[per-1], &base) // 2^w·base
	}
	aff := ar.toAffine(all)
	t := make([][]apoint[E], rows)
	for i := range t {
		t[i] = aff[i*per : (i+1)*per : (i+1)*per]
	}
	return t
}

// window returns w-bit window i of k (little-endian words; w divides 64).
func window(k []big.Word, i, w int) int {
	bit := w * i
	if bit/64 >= len(k) {
		return 0
	}
	return int(uint64(k[bit/64])>>(bit%64)) & (1<<w - 1)
}

// baseMultJ returns k·G (Jacobian) from the comb table: additions only.
func (ar *arith[E]) baseMultJ(k *big.Int) jpoint[E] { return ar.combMult(k, ar.gTable, gCombBits) }

func (ar *arith[E]) baseMult(k *big.Int) (x, y *big.Int, ok bool) {
	p := ar.baseMultJ(k)
	return ar.affineXY(&p)
}

// keyArith is a public key's verification state: the fixed-window table
// from its first use, a comb table once the key is in regular use.
type keyArith[E limbs] struct {
	ar       *arith[E]
	q        apoint[E]
	tabOnce  sync.Once
	tab      []apoint[E]
	uses     atomic.Int64
	combOnce sync.Once
	comb     atomic.Pointer[[][]apoint[E]]
}

func (ar *arith[E]) newKey(x, y *big.Int) keyOps {
	return &keyArith[E]{ar: ar, q: ar.affine(x, y)}
}

// mulQ returns z·Q by the comb table once the key is in regular use
// (CombAfter), by the fixed window before.
func (k *keyArith[E]) mulQ(z *big.Int) (jpoint[E], bool) {
	if t := k.comb.Load(); t != nil {
		return k.ar.combMult(z, *t, keyCombBits), true
	}
	k.tabOnce.Do(func() { k.tab = k.ar.windowTable(k.q) })
	if k.tab == nil {
		return jpoint[E]{}, false
	}
	if k.uses.Add(1) >= CombAfter {
		k.combOnce.Do(func() {
			t := k.ar.combTable(k.q, keyCombBits)
			k.comb.Store(&t)
		})
	}
	return k.ar.scalarMult(z, k.tab), true
}

func (k *keyArith[E]) check(z1, z2, r *big.Int) (match, valid bool) {
	q, ok := k.mulQ(z2)
	if !ok {
		return false, false
	}
	p := k.ar.baseMultJ(z1)
	k.ar.add(&p, &p, &q)
	return k.ar.xEquals(&p, r, k.ar.q), true
}

// combMult returns k·P from P's comb table of w-bit windows (k < q).
func (ar *arith[E]) combMult(k *big.Int, table [][]apoint[E], w int) jpoint[E] {
	var acc jpoint[E]
	words := k.Bits()
	for i := range table {
		if n := window(words, i, w); n != 0 {
			ar.addMixed(&acc, &acc, &table[i][n-1])
		}
	}
	return acc
}

// wnafWidth is the window of the wNAF for a first-use key: the odd
// multiples 1·Q … 15·Q (one doubling, seven additions, one inversion for
// all) and a nonzero digit every six bits on average.
const wnafWidth = 5

// windowTable returns the odd multiples Q, 3Q, …, 15Q, affine; nil for a Q
// of small order.
func (ar *arith[E]) windowTable(q apoint[E]) []apoint[E] {
	const n = 1 << (wnafWidth - 2)
	pts := make([]jpoint[E], n)
	pts[0] = ar.jacobian(&q)
	var q2 jpoint[E]
	ar.double(&q2, &pts[0])
	for j := 1; j < n; j++ {
		ar.add(&pts[j], &pts[j-1], &q2)
	}
	if ar.f.isZero(&q2.z) {
		return nil
	}
	for j := range pts {
		if ar.f.isZero(&pts[j].z) {
			return nil // Q of small order: not a valid key
		}
	}
	return ar.toAffine(pts)
}

// wnaf returns the width-w non-adjacent form of k ≥ 0: digits d[i] odd
// in (−2^(w−1), 2^(w−1)) or zero, any w consecutive of which hold at most one
// nonzero, with k = Σ d[i]·2^i.
func wnaf(k *big.Int, w int) []int8 {
	words := k.Bits()
	bit := func(i int) int {
		if i/64 >= len(words) {
			return 0
		}
		return int(uint64(words[i/64])>>(i%64)) & 1
	}
	// As crypto/internal/fips140/edwards25519's nonAdjacentForm: at each
	// position the bit plus the carry of the digit before; equal (0+0 or
	// 1+1) leaves a zero digit and the carry as it is; otherwise the w bits
	// from here plus the carry, an odd number, become a digit (minus 2^w
	// when it is at least 2^(w−1), which carries one into the next window).
	// The last carry lands within w positions past the top bit of k.
	out := make([]int8, k.BitLen()+w+1)
	carry := 0
	for i := 0; i < len(out); {
		if bit(i) == carry {
			i++
			continue
		}
		v := carry
		for j := 0; j < w; j++ {
			v += bit(i+j) << j
		}
		if v >= 1<<(w-1) {
			out[i], carry = int8(v-1<<w), 1
		} else {
			out[i], carry = int8(v), 0
		}
		i += w
	}
	return out
}

// scalarMult returns k·Q by width-5 wNAF over tab = windowTable(Q): about
// BitLen(k) doublings and BitLen(k)/6 mixed additions.
func (ar *arith[E]) scalarMult(k *big.Int, tab []apoint[E]) jpoint[E] {
	var acc jpoint[E]
	digits := wnaf(k, wnafWidth)
	for i := len(digits) - 1; i >= 0; i-- {
		ar.double(&acc, &acc)
		switch d := digits[i]; {
		case d > 0:
			ar.addMixed(&acc, &acc, &tab[d>>1])
		case d < 0:
			neg := apoint[E]{x: tab[(-d)>>1].x}
			ar.f.sub(&neg.y, &neg.y, &tab[(-d)>>1].y)
			ar.addMixed(&acc, &acc, &neg)
		}
	}
	return acc
}

// affineX returns the affine x of p as an integer; ok is false at infinity.
func (ar *arith[E]) affineXY(p *jpoint[E]) (x, y *big.Int, ok bool) {
	f := ar.f
	if f.isZero(&p.z) {
		return nil, nil, false
	}
	aff := ar.toAffine([]jpoint[E]{*p})
	return f.toInt(&aff[0].x), f.toInt(&aff[0].y), true
}

// xEquals reports whether the affine x of p, reduced mod q, equals r,
// without inverting Z: x ≡ r (mod q) with x < p means x = r + k·q for the
// few k with r + k·q < p; each is tested as X == (r + k·q)·Z².
func (ar *arith[E]) xEquals(p *jpoint[E], r, q *big.Int) bool {
	f := ar.f
	if f.isZero(&p.z) {
		return false
	}
	var zz E
	f.sqr(&zz, &p.z)
	cand := new(big.Int).Set(r)
	for cand.Cmp(f.pBig) < 0 {
		c := f.fromInt(cand)
		f.mul(&c, &c, &zz)
		if c == p.x {
			return true
		}
		cand.Add(cand, q)
	}
	return false
}
