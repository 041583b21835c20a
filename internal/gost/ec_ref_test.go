package gost

// The first, math/big implementation of the curve arithmetic, kept as the
// reference the fixed-width field and point code are checked against
// (TestFastMatchesReference).

import "math/big"

// Points in Jacobian coordinates (X/Z², Y/Z³); Z = 0 is the point at infinity.
type jac struct{ x, y, z *big.Int }

func (c *Curve) mod(v *big.Int) *big.Int { return v.Mod(v, c.P) }

func (c *Curve) mul(a, b *big.Int) *big.Int { return c.mod(new(big.Int).Mul(a, b)) }

func (c *Curve) sub(a, b *big.Int) *big.Int { return c.mod(new(big.Int).Sub(a, b)) }

func (c *Curve) double(p jac) jac {
	if p.z.Sign() == 0 || p.y.Sign() == 0 {
		return jac{new(big.Int), new(big.Int), new(big.Int)}
	}
	xx := c.mul(p.x, p.x)
	yy := c.mul(p.y, p.y)
	yyyy := c.mul(yy, yy)
	zz := c.mul(p.z, p.z)
	s := c.mul(p.x, yy)
	s.Lsh(s, 2)
	c.mod(s)
	m := new(big.Int).Mul(xx, big.NewInt(3))
	m.Add(m, c.mul(c.A, c.mul(zz, zz)))
	c.mod(m)
	x3 := c.sub(c.mul(m, m), new(big.Int).Lsh(s, 1))
	y3 := c.sub(c.mul(m, c.sub(s, x3)), new(big.Int).Lsh(yyyy, 3))
	z3 := c.mul(p.y, p.z)
	z3.Lsh(z3, 1)
	c.mod(z3)
	return jac{x3, y3, z3}
}

func (c *Curve) add(p, q jac) jac {
	if p.z.Sign() == 0 {
		return q
	}
	if q.z.Sign() == 0 {
		return p
	}
	z1z1 := c.mul(p.z, p.z)
	z2z2 := c.mul(q.z, q.z)
	u1 := c.mul(p.x, z2z2)
	u2 := c.mul(q.x, z1z1)
	s1 := c.mul(p.y, c.mul(q.z, z2z2))
	s2 := c.mul(q.y, c.mul(p.z, z1z1))
	if u1.Cmp(u2) == 0 {
		if s1.Cmp(s2) == 0 {
			return c.double(p)
		}
		return jac{new(big.Int), new(big.Int), new(big.Int)}
	}
	h := c.sub(u2, u1)
	r := c.sub(s2, s1)
	hh := c.mul(h, h)
	hhh := c.mul(h, hh)
	v := c.mul(u1, hh)
	x3 := c.sub(c.sub(c.mul(r, r), hhh), new(big.Int).Lsh(v, 1))
	y3 := c.sub(c.mul(r, c.sub(v, x3)), c.mul(s1, hhh))
	z3 := c.mul(c.mul(p.z, q.z), h)
	return jac{x3, y3, z3}
}

// combinedMult returns the affine x of z1·G + z2·(qx, qy) by Shamir's trick;
// ok is false for the point at infinity.
func (c *Curve) refCombinedMult(z1, z2, qx, qy *big.Int) (*big.Int, bool) {
	one := big.NewInt(1)
	g := jac{new(big.Int).Set(c.X), new(big.Int).Set(c.Y), new(big.Int).Set(one)}
	q := jac{new(big.Int).Set(qx), new(big.Int).Set(qy), new(big.Int).Set(one)}
	gq := c.add(g, q)
	acc := jac{new(big.Int), new(big.Int), new(big.Int)}
	n := z1.BitLen()
	if z2.BitLen() > n {
		n = z2.BitLen()
	}
	for i := n - 1; i >= 0; i-- {
		acc = c.double(acc)
		switch {
		case z1.Bit(i) == 1 && z2.Bit(i) == 1:
			acc = c.add(acc, gq)
		case z1.Bit(i) == 1:
			acc = c.add(acc, g)
		case z2.Bit(i) == 1:
			acc = c.add(acc, q)
		}
	}
	if acc.z.Sign() == 0 {
		return nil, false
	}
	zinv := new(big.Int).ModInverse(acc.z, c.P)
	zinv2 := c.mul(zinv, zinv)
	return c.mul(acc.x, zinv2), true
}
