package gost

import (
	"math/big"
	"strconv"
	"testing"

	"github.com/emdhub/hub/internal/testtool"
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

// TestSign512Example reproduces the 512-bit example of GOST R 34.10-2012
// appendix A.2 (the test parameter set of RFC 7091's second example): public
// key, signature with the given nonce, and its verification.
func TestSign512Example(t *testing.T) {
	k := &PrivateKey{Curve: CurveTest512, D: hexInt("0BA6048AADAE241BA40936D47756D7C93091A0E8514669700EE7508E508B102072E8123B2200A0563322DAD2827E2714A2636B7BFD18AADFC62967821FA18DD4")}
	pub := k.Public()
	if pub.X.Cmp(hexInt("115DC5BC96760C7B48598D8AB9E740D4C4A85A65BE33C1815B5C320C854621DD5A515856D13314AF69BC5B924C8B4DDFF75C45415C1D9DD9DD33612CD530EFE1")) != 0 ||
		pub.Y.Cmp(hexInt("37C7C90CD40B0F5621DC3AC1B751CFA0E2634FA0503B3D52639F5D7FB72AFD61EA199441D943FFE7F0C70A2759A3CDB84C114E1F9339FDF27F35ECA93677BEEC")) != 0 {
		t.Fatalf("public key: %x %x", pub.X, pub.Y)
	}
	alpha := hexInt("3754F3CFACC9E0615C4F4A7C4D8DAB531B09B6F9C170C533A71D147035B0C5917184EE536593F4414339976C647C5D5A407ADEDB1D560C4FC6777D2972075B8C")
	r, s := k.signWithK(alpha, hexInt("0359E7F4B1410FEACC570456C6801496946312120B39D019D455986E364F365886748ED7A44B3E794434006011842286212273A6D14CF70EA3AF71BB1AE679F1"))
	wantR := hexInt("2F86FA60A081091A23DD795E1E3C689EE512A3C82EE0DCC2643C78EEA8FCACD35492558486B20F1C9EC197C90699850260C93BCBCD9C5C3317E19344E173AE36")
	wantS := hexInt("1081B394696FFE8E6585E7A9362D26B6325F56778AADBC081C0BFBE933D52FF5823CE288E8C4F362526080DF7F70CE406A6EEB1F56919CB92A9853BDE73E5B4A")
	if r.Cmp(wantR) != 0 || s.Cmp(wantS) != 0 {
		t.Fatalf("signature: r=%x s=%x", r, s)
	}
	if err := pub.Verify(alpha, wantR, wantS); err != nil {
		t.Fatal(err)
	}
	if err := pub.Verify(alpha, wantR, new(big.Int).Add(wantS, big.NewInt(1))); err == nil {
		t.Fatal("altered s verified")
	}
}

// BenchmarkDigest is Streebog of a 64 KB buffer, per CPU time (the hash
// under every CMS verification of a document; scripts/bench-signatures puts
// it next to OpenSSL's gost engine).
func BenchmarkDigest(b *testing.B) {
	buf := make([]byte, 65536)
	for i := range buf {
		buf[i] = byte(i*31 + 7)
	}
	for _, size := range []int{256, 512} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			defer testtool.CPUPerOp(b)()
			b.SetBytes(int64(len(buf)))
			for i := 0; i < b.N; i++ {
				if size == 256 {
					Sum256(buf)
				} else {
					Sum512(buf)
				}
			}
		})
	}
}

// BenchmarkVerifyDigest is the bare curve operation: one signature over a
// digest, with a key used for the first time (fixed window) and with a key
// in regular use (comb table), on the curves of the fixtures (pseudo-Mersenne
// primes) and on two with Montgomery-form fields.
func BenchmarkVerifyDigest(b *testing.B) {
	for _, tc := range []struct {
		name  string
		curve *Curve
	}{{"256", CurveTC26256A}, {"512", CurveTC26512A}, {"256-montgomery", CurveCryptoProB}, {"512-montgomery", CurveTC26512B}} {
		k, _ := GenerateKey(tc.curve, nil)
		pub := k.Public()
		dg := make([]byte, tc.curve.Size())
		dg[3] = 7
		sig, _ := k.SignDigest(dg, nil)
		b.Run(tc.name+"/first-use", func(b *testing.B) {
			defer testtool.CPUPerOp(b)()
			for i := 0; i < b.N; i++ {
				fresh := &PublicKey{Curve: pub.Curve, X: pub.X, Y: pub.Y}
				if err := fresh.VerifyDigest(dg, sig); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/known-key", func(b *testing.B) {
			defer testtool.CPUPerOp(b)()
			for i := 0; i < b.N; i++ {
				if err := pub.VerifyDigest(dg, sig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
