package gost

import (
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
		if _, ok := c.combinedMult(c.Q, big.NewInt(0), c.X, c.Y); ok {
			t.Errorf("%s: q·G is not the point at infinity", c.Name)
		}
	}
}
