package gost

import (
	"crypto/rand"
	"errors"
	"math/big"
	"testing"
)

// TestVerifyRFC7091 checks the signature example of RFC 7091 §A.1 (test
// parameter set, 256-bit key).
func TestVerifyRFC7091(t *testing.T) {
	k := &PublicKey{Curve: CurveTest256,
		X: hexInt("7F2B49E270DB6D90D8595BEC458B50C58585BA1D4E9B788F6689DBD8E56FD80B"),
		Y: hexInt("26F1B489D6701DD185C8413A977B3CBBAF64D1C593D26627DFFB101A87FF77DA")}
	if !CurveTest256.onCurve(k.X, k.Y) {
		t.Fatal("the example key is not on the test curve")
	}
	alpha := hexInt("2DFBC1B372D89A1188C09C52E0EEC61FCE52032AB1022E8E67ECE6672B043EE5")
	r := hexInt("41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493")
	s := hexInt("01456C64BA4642A1653C235A98A60249BCD6D3F746B631DF928014F6C5BF9C40")
	if err := k.Verify(alpha, r, s); err != nil {
		t.Fatalf("RFC 7091 example: %v", err)
	}
	for _, bad := range []struct{ a, r, s *big.Int }{
		{new(big.Int).Add(alpha, big.NewInt(1)), r, s},
		{alpha, new(big.Int).Add(r, big.NewInt(1)), s},
		{alpha, r, new(big.Int).Add(s, big.NewInt(1))},
		{alpha, big.NewInt(0), s},
		{alpha, r, CurveTest256.Q},
	} {
		if err := k.Verify(bad.a, bad.r, bad.s); !errors.Is(err, ErrBadSignature) {
			t.Errorf("a tampered signature verified: %v", err)
		}
	}
}

func TestCurvesAreConsistent(t *testing.T) {
	for oid, c := range curves {
		if !c.onCurve(c.X, c.Y) {
			t.Errorf("%s (%s): base point not on the curve", c.Name, oid)
		}
		if !c.P.ProbablyPrime(20) || !c.Q.ProbablyPrime(20) {
			t.Errorf("%s: p or q not prime", c.Name)
		}
		// q·G = O
		if _, ok := c.refCombinedMult(c.Q, big.NewInt(0), c.X, c.Y); ok {
			t.Errorf("%s: q·G is not the point at infinity", c.Name)
		}
		// The same with the fast arithmetic: (q−1)·G = −G.
		x, y := c.scalarBaseMult(new(big.Int).Sub(c.Q, big.NewInt(1)))
		if x.Cmp(c.X) != 0 || new(big.Int).Add(y, c.Y).Cmp(c.P) != 0 {
			t.Errorf("%s: (q−1)·G ≠ −G", c.Name)
		}
	}
}

// TestFastMatchesReference checks the fixed-width arithmetic against the
// math/big reference on random scalars and keys, every curve, both the
// fixed-window and the comb path for the key.
func TestFastMatchesReference(t *testing.T) {
	for _, c := range []*Curve{CurveTest256, CurveCryptoProA, CurveCryptoProB, CurveCryptoProC, CurveTC26256A, CurveTest512, CurveTC26512A, CurveTC26512B, CurveTC26512C} {
		switch ar := c.ops().(type) {
		case *arith[[4]uint64]:
			matchesReference(t, c, ar)
		case *arith[[8]uint64]:
			matchesReference(t, c, ar)
		default:
			t.Fatalf("%s: arithmetic %T", c.Name, ar)
		}
	}
}

func matchesReference[E limbs](t *testing.T, c *Curve, ar *arith[E]) {
	for i := 0; i < 8; i++ {
		k, err := GenerateKey(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		pub := k.Public()
		refX, _ := c.refCombinedMult(k.D, big.NewInt(0), big.NewInt(0), big.NewInt(0))
		if refX.Cmp(pub.X) != 0 || !c.onCurve(pub.X, pub.Y) {
			t.Fatalf("%s: d·G differs from the reference", c.Name)
		}
		z1, _ := rand.Int(rand.Reader, c.Q)
		z2, _ := rand.Int(rand.Reader, c.Q)
		// Edge scalars for the wNAF and the combs: 1, q−1, all ones (a
		// carry out of the top window), a lone top bit.
		switch i {
		case 1:
			z1, z2 = big.NewInt(1), new(big.Int).Sub(c.Q, big.NewInt(1))
		case 2:
			z1 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(c.Q.BitLen()-1)), big.NewInt(1))
			z2 = new(big.Int).Set(z1)
		case 3:
			z1 = new(big.Int).Lsh(big.NewInt(1), uint(c.Q.BitLen()-2))
			z2 = big.NewInt(0x7fff)
		}
		want, ok := c.refCombinedMult(z1, z2, pub.X, pub.Y)
		if !ok {
			continue
		}
		q := ar.affine(pub.X, pub.Y)
		for _, path := range []string{"window", "comb"} {
			var qz jpoint[E]
			if path == "window" {
				qz = ar.scalarMult(z2, ar.windowTable(q))
			} else {
				qz = ar.combMult(z2, ar.combTable(q, keyCombBits), keyCombBits)
			}
			p := ar.baseMultJ(z1)
			ar.add(&p, &p, &qz)
			got, _, _ := ar.affineXY(&p)
			if got.Cmp(want) != 0 {
				t.Fatalf("%s (%s): z1·G + z2·Q differs from the reference", c.Name, path)
			}
			if !ar.xEquals(&p, new(big.Int).Mod(want, c.Q), c.Q) {
				t.Fatalf("%s (%s): xEquals refuses the right x", c.Name, path)
			}
		}
	}
}

// TestVerifyAcrossCombSwitch verifies with one key before and after it
// gets its comb table: good signatures pass, altered ones fail, each time.
func TestVerifyAcrossCombSwitch(t *testing.T) {
	for _, c := range []*Curve{CurveTC26256A, CurveTC26512B} {
		k, _ := GenerateKey(c, nil)
		pub := &PublicKey{Curve: c, X: k.Public().X, Y: k.Public().Y}
		for i := 0; i < 2*CombAfter+2; i++ {
			dg := make([]byte, c.Size())
			dg[0], dg[5] = byte(i), 0x42
			sig, err := k.SignDigest(dg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := pub.VerifyDigest(dg, sig); err != nil {
				t.Fatalf("%s use %d: %v", c.Name, i, err)
			}
			dg[1] ^= 1
			if err := pub.VerifyDigest(dg, sig); err == nil {
				t.Fatalf("%s use %d: altered digest verified", c.Name, i)
			}
		}
		ready := false
		switch k := pub.ops().(type) {
		case *keyArith[[4]uint64]:
			ready = k.comb.Load() != nil
		case *keyArith[[8]uint64]:
			ready = k.comb.Load() != nil
		}
		if !ready {
			t.Fatalf("%s: no comb table after %d uses", c.Name, 2*CombAfter+2)
		}
	}
}

// TestWNAF checks the recoding: Σ d[i]·2^i = k, digits odd and below 2^(w−1)
// in magnitude, at most one nonzero in any w consecutive.
func TestWNAF(t *testing.T) {
	ks := []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(15), big.NewInt(16), big.NewInt(31), big.NewInt(0x7fffffff)}
	for _, c := range []*Curve{CurveTC26256A, CurveTC26512A} {
		ks = append(ks, new(big.Int).Sub(c.Q, big.NewInt(1)), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(c.Q.BitLen())), big.NewInt(1)))
	}
	for i := 0; i < 2000; i++ {
		k, _ := rand.Int(rand.Reader, CurveTC26512A.Q)
		ks = append(ks, k.Rsh(k, uint(i%300)))
	}
	for _, k := range ks {
		d := wnaf(k, wnafWidth)
		sum, last := new(big.Int), -wnafWidth
		for i := len(d) - 1; i >= 0; i-- {
			sum.Lsh(sum, 1)
			sum.Add(sum, big.NewInt(int64(d[i])))
		}
		for i, v := range d {
			if v == 0 {
				continue
			}
			if v%2 == 0 || v >= 1<<(wnafWidth-1) || v <= -(1<<(wnafWidth-1)) || i-last < wnafWidth {
				t.Fatalf("wnaf(%x): digit %d at %d (previous at %d)", k, v, i, last)
			}
			last = i
		}
		if sum.Cmp(k) != 0 {
			t.Fatalf("wnaf(%x) sums to %x", k, sum)
		}
	}
}
