package gost

import (
	"crypto/rand"
	"errors"
	"io"
	"math/big"
)

// PrivateKey is a GOST R 34.10-2012 signing key. The hub itself never signs
// medical documents; signing exists for the test-document generator and the
// simulators, which sign with fixture keys so flows carry real signatures.
type PrivateKey struct {
	Curve *Curve
	D     *big.Int
}

// NewPrivateKey decodes a raw private key: Size() bytes, little-endian (as
// in a GOST PKCS#8 key's OCTET STRING).
func NewPrivateKey(c *Curve, raw []byte) (*PrivateKey, error) {
	d := leInt(raw)
	if d.Sign() <= 0 || d.Cmp(c.Q) >= 0 {
		return nil, errors.New("gost: private key out of range")
	}
	return &PrivateKey{Curve: c, D: d}, nil
}

// Public returns the key's public point Q = d·G.
func (k *PrivateKey) Public() *PublicKey {
	x, y := k.Curve.scalarBaseMult(k.D)
	return &PublicKey{Curve: k.Curve, X: x, Y: y}
}

// SignDigest signs a digest (bytes as the hash produced them) and returns
// s‖r, big-endian, the format VerifyDigest reads.
func (k *PrivateKey) SignDigest(digest []byte, rnd io.Reader) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	c := k.Curve
	for {
		kk, err := rand.Int(rnd, new(big.Int).Sub(c.Q, big.NewInt(1)))
		if err != nil {
			return nil, err
		}
		kk.Add(kk, big.NewInt(1))
		r, s := k.signWithK(leInt(digest), kk)
		if r.Sign() == 0 || s.Sign() == 0 {
			continue
		}
		out := make([]byte, 2*c.size)
		s.FillBytes(out[:c.size])
		r.FillBytes(out[c.size:])
		return out, nil
	}
}

// signWithK is GOST R 34.10-2012 §6.1 with a given nonce (for test vectors).
func (k *PrivateKey) signWithK(alpha, kk *big.Int) (r, s *big.Int) {
	c := k.Curve
	e := new(big.Int).Mod(alpha, c.Q)
	if e.Sign() == 0 {
		e.SetInt64(1)
	}
	x, _ := c.scalarBaseMult(kk)
	r = new(big.Int).Mod(x, c.Q)
	s = new(big.Int).Mul(r, k.D)
	s.Add(s, new(big.Int).Mul(kk, e))
	s.Mod(s, c.Q)
	return r, s
}

// scalarBaseMult returns the affine point n·G (0 ≤ n < q).
func (c *Curve) scalarBaseMult(n *big.Int) (*big.Int, *big.Int) {
	x, y, ok := c.ops().baseMult(n)
	if !ok {
		return new(big.Int), new(big.Int)
	}
	return x, y
}

// GenerateKey makes a new private key on c (for test PKIs and simulators).
func GenerateKey(c *Curve, rnd io.Reader) (*PrivateKey, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	d, err := rand.Int(rnd, new(big.Int).Sub(c.Q, big.NewInt(1)))
	if err != nil {
		return nil, err
	}
	return &PrivateKey{Curve: c, D: d.Add(d, big.NewInt(1))}, nil
}
