package gost

import (
	"math/big"
)

// Curve arithmetic on the fixed-width field: Jacobian coordinates
// (X/Z², Y/Z³; Z = 0 is the point at infinity) with affine precomputed
// tables. Verification computes u₁·G + u₂·Q: u₁·G from a per-curve comb
// table of affine multiples j·16ⁱ·G (additions only), u₂·Q with a 4-bit
// fixed window; the result is compared with r without an inversion.

type jpoint struct{ x, y, z fe }
type apoint struct{ x, y fe }

type arith struct {
	f      *field
	a      fe // curve coefficient a, Montgomery form
	gTable [][15]apoint
	nibs   int // 4-bit windows in a scalar below q
}

// arith returns the curve's fast arithmetic, built on first use.
func (c *Curve) arith() *arith {
	c.arithOnce.Do(func() {
		f := newField(c.P)
		ar := &arith{f: f, a: f.fromInt(c.A), nibs: (c.Q.BitLen() + 3) / 4}
		ar.gTable = ar.combTable(ar.affine(c.X, c.Y))
		c.ar = ar
	})
	return c.ar
}

func (ar *arith) affine(x, y *big.Int) apoint {
	return apoint{ar.f.fromInt(x), ar.f.fromInt(y)}
}

func (ar *arith) jacobian(p *apoint) jpoint {
	return jpoint{p.x, p.y, ar.f.one}
}

// double sets r = 2p (dbl-2007-bl, any a).
func (ar *arith) double(r, p *jpoint) {
	f := ar.f
	if f.isZero(&p.z) {
		*r = *p
		return
	}
	var xx, yy, yyyy, zz, s, m, t, u fe
	f.sqr(&xx, &p.x)
	f.sqr(&yy, &p.y)
	f.sqr(&yyyy, &yy)
	f.sqr(&zz, &p.z)
	f.add(&s, &p.x, &yy)
	f.sqr(&s, &s)
	f.sub(&s, &s, &xx)
	f.sub(&s, &s, &yyyy)
	f.add(&s, &s, &s) // S = 2((X+YY)² − XX − YYYY)
	f.add(&m, &xx, &xx)
	f.add(&m, &m, &xx)
	f.sqr(&t, &zz)
	f.mul(&t, &t, &ar.a)
	f.add(&m, &m, &t) // M = 3XX + a·ZZ²
	var z3 fe
	f.add(&z3, &p.y, &p.z)
	f.sqr(&z3, &z3)
	f.sub(&z3, &z3, &yy)
	f.sub(&z3, &z3, &zz) // Z3 = (Y+Z)² − YY − ZZ
	f.sqr(&t, &m)
	f.sub(&t, &t, &s)
	f.sub(&t, &t, &s) // X3 = M² − 2S
	f.sub(&u, &s, &t)
	f.mul(&u, &u, &m)
	f.add(&yyyy, &yyyy, &yyyy)
	f.add(&yyyy, &yyyy, &yyyy)
	f.add(&yyyy, &yyyy, &yyyy)
	f.sub(&r.y, &u, &yyyy) // Y3 = M(S − X3) − 8YYYY
	r.x = t
	r.z = z3
}

// addMixed sets r = p + q for affine q (madd-2007-bl).
func (ar *arith) addMixed(r, p *jpoint, q *apoint) {
	f := ar.f
	if f.isZero(&p.z) {
		*r = ar.jacobian(q)
		return
	}
	var z1z1, u2, s2, h, hh, i, j, rr, v fe
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
		*r = jpoint{}
		return
	}
	f.add(&rr, &rr, &rr)
	f.sqr(&hh, &h)
	f.add(&i, &hh, &hh)
	f.add(&i, &i, &i)
	f.mul(&j, &h, &i)
	f.mul(&v, &p.x, &i)
	var x3, y3, z3, t fe
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
func (ar *arith) add(r, p, q *jpoint) {
	f := ar.f
	if f.isZero(&p.z) {
		*r = *q
		return
	}
	if f.isZero(&q.z) {
		*r = *p
		return
	}
	var z1z1, z2z2, u1, u2, s1, s2, h, rr fe
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
		*r = jpoint{}
		return
	}
	var i, j, v, x3, y3, z3, t fe
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
func (ar *arith) toAffine(ps []jpoint) []apoint {
	f := ar.f
	out := make([]apoint, len(ps))
	if len(ps) == 0 {
		return out
	}
	prefix := make([]fe, len(ps))
	acc := f.one
	for i := range ps {
		prefix[i] = acc
		f.mul(&acc, &acc, &ps[i].z)
	}
	var inv fe
	f.inv(&inv, &acc)
	for i := len(ps) - 1; i >= 0; i-- {
		var zi, zi2, zi3 fe
		f.mul(&zi, &inv, &prefix[i]) // 1/z_i
		f.mul(&inv, &inv, &ps[i].z)
		f.sqr(&zi2, &zi)
		f.mul(&zi3, &zi2, &zi)
		f.mul(&out[i].x, &ps[i].x, &zi2)
		f.mul(&out[i].y, &ps[i].y, &zi3)
	}
	return out
}

// combTable returns T[i][j-1] = j·16ⁱ·P, affine, for every 4-bit window i.
func (ar *arith) combTable(p apoint) [][15]apoint {
	all := make([]jpoint, 0, ar.nibs*15)
	base := ar.jacobian(&p)
	for i := 0; i < ar.nibs; i++ {
		row := make([]jpoint, 15)
		row[0] = base
		for j := 1; j < 15; j++ {
			ar.add(&row[j], &row[j-1], &base)
		}
		all = append(all, row...)
		next := row[14]
		ar.add(&next, &next, &base) // 16·base
		base = next
	}
	aff := ar.toAffine(all)
	t := make([][15]apoint, ar.nibs)
	for i := range t {
		copy(t[i][:], aff[15*i:15*i+15])
	}
	return t
}

// nibble returns 4-bit window i of k (little-endian words).
func nibble(k []big.Word, i int) int {
	bit := 4 * i
	w := bit / 64
	if w >= len(k) {
		return 0
	}
	return int(uint64(k[w])>>(bit%64)) & 15
}

// baseMult returns k·G (Jacobian) from the comb table: additions only.
func (ar *arith) baseMult(k *big.Int) jpoint { return ar.combMult(k, ar.gTable) }

// combMult returns k·P from P's comb table (k < q).
func (ar *arith) combMult(k *big.Int, table [][15]apoint) jpoint {
	var acc jpoint
	words := k.Bits()
	for i := 0; i < ar.nibs; i++ {
		if n := nibble(words, i); n != 0 {
			ar.addMixed(&acc, &acc, &table[i][n-1])
		}
	}
	return acc
}

// windowTable returns 1·Q … 15·Q, affine.
func (ar *arith) windowTable(q apoint) []apoint {
	pts := make([]jpoint, 15)
	pts[0] = ar.jacobian(&q)
	for j := 1; j < 15; j++ {
		ar.addMixed(&pts[j], &pts[j-1], &q)
	}
	for j := range pts {
		if ar.f.isZero(&pts[j].z) {
			return nil // Q of small order: not a valid key
		}
	}
	return ar.toAffine(pts)
}

// scalarMult returns k·Q with a fixed 4-bit window over tab = windowTable(Q).
func (ar *arith) scalarMult(k *big.Int, tab []apoint) jpoint {
	var acc jpoint
	words := k.Bits()
	top := (k.BitLen() + 3) / 4
	for i := top - 1; i >= 0; i-- {
		for d := 0; d < 4; d++ {
			ar.double(&acc, &acc)
		}
		if n := nibble(words, i); n != 0 {
			ar.addMixed(&acc, &acc, &tab[n-1])
		}
	}
	return acc
}

// affineX returns the affine x of p as an integer; ok is false at infinity.
func (ar *arith) affineXY(p *jpoint) (x, y *big.Int, ok bool) {
	f := ar.f
	if f.isZero(&p.z) {
		return nil, nil, false
	}
	aff := ar.toAffine([]jpoint{*p})
	return f.toInt(&aff[0].x), f.toInt(&aff[0].y), true
}

// xEquals reports whether the affine x of p, reduced mod q, equals r,
// without inverting Z: x ≡ r (mod q) with x < p means x = r + k·q for the
// few k with r + k·q < p; each is tested as X == (r + k·q)·Z².
func (ar *arith) xEquals(p *jpoint, r, q *big.Int) bool {
	f := ar.f
	if f.isZero(&p.z) {
		return false
	}
	var zz fe
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
