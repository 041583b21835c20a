package gost

import (
	"testing"
)

// TestSignRFC7091 reproduces the signing example of RFC 7091 §A.1: the
// public key of d and the signature (r, s) made with the given nonce k.
func TestSignRFC7091(t *testing.T) {
	k := &PrivateKey{Curve: CurveTest256, D: hexInt("7A929ADE789BB9BE10ED359DD39A72C11B60961F49397EEE1D19CE9891EC3B28")}
	pub := k.Public()
	if pub.X.Cmp(hexInt("7F2B49E270DB6D90D8595BEC458B50C58585BA1D4E9B788F6689DBD8E56FD80B")) != 0 ||
		pub.Y.Cmp(hexInt("26F1B489D6701DD185C8413A977B3CBBAF64D1C593D26627DFFB101A87FF77DA")) != 0 {
		t.Fatalf("public key: %x %x", pub.X, pub.Y)
	}
	r, s := k.signWithK(hexInt("2DFBC1B372D89A1188C09C52E0EEC61FCE52032AB1022E8E67ECE6672B043EE5"),
		hexInt("77105C9B20BCD3122823C8CF6FCC7B956DE33814E95B7FE64FED924594DCEAB3"))
	if r.Cmp(hexInt("41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493")) != 0 ||
		s.Cmp(hexInt("01456C64BA4642A1653C235A98A60249BCD6D3F746B631DF928014F6C5BF9C40")) != 0 {
		t.Fatalf("signature: r=%x s=%x", r, s)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, c := range []*Curve{CurveTC26256A, CurveCryptoProA, CurveTC26512A, CurveTC26512C} {
		raw := make([]byte, c.Size())
		raw[0], raw[5], raw[c.Size()-2] = 7, 99, 1
		k, err := NewPrivateKey(c, raw)
		if err != nil {
			t.Fatal(err)
		}
		d := Sum256([]byte("document"))
		sig, err := k.SignDigest(d[:], nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := k.Public().VerifyDigest(d[:], sig); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		d[0] ^= 1
		if err := k.Public().VerifyDigest(d[:], sig); err == nil {
			t.Fatalf("%s: a signature verified for another digest", c.Name)
		}
	}
}
