package gost

import (
	"errors"
	"fmt"
	"math/big"
	"sync"
)

// Curve is a GOST R 34.10 curve in short Weierstrass form
// y² = x³ + ax + b over GF(p), with base point (X, Y) of prime order Q.
type Curve struct {
	Name       string
	OID        string
	P, A, B, Q *big.Int
	X, Y       *big.Int
	Cofactor   int64
	size       int // bytes of a coordinate: 32 or 64

	opsOnce sync.Once
	fast    curveOps
}

func hexInt(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("gost: bad constant " + s)
	}
	return v
}

func newCurve(name, oid string, size int, p, a, b, q, x, y string, cof int64) *Curve {
	return &Curve{Name: name, OID: oid, size: size, P: hexInt(p), A: hexInt(a), B: hexInt(b), Q: hexInt(q), X: hexInt(x), Y: hexInt(y), Cofactor: cof}
}

// The parameter sets of RFC 4357 (CryptoPro) and RFC 7836 (TC26), by the
// OID carried in a certificate's GostR3410-2012-PublicKeyParameters.
var (
	CurveTest256 = newCurve("id-GostR3410-2001-TestParamSet", "1.2.643.2.2.35.0", 32,
		"8000000000000000000000000000000000000000000000000000000000000431", "7",
		"5FBFF498AA938CE739B8E022FBAFEF40563F6E6A3472FC2A514C0CE9DAE23B7E",
		"8000000000000000000000000000000150FE8A1892976154C59CFC193ACCF5B3", "2",
		"08E2A8A0E65147D4BD6316030E16D19C85C97F0A9CA267122B96ABBCEA7E8FC8", 1)
	CurveCryptoProA = newCurve("id-GostR3410-2001-CryptoPro-A-ParamSet", "1.2.643.2.2.35.1", 32,
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD97",
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD94", "A6",
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF6C611070995AD10045841B09B761B893", "1",
		"8D91E471E0989CDA27DF505A453F2B7635294F2DDF23E3B122ACC99C9E9F1E14", 1)
	CurveCryptoProB = newCurve("id-GostR3410-2001-CryptoPro-B-ParamSet", "1.2.643.2.2.35.2", 32,
		"8000000000000000000000000000000000000000000000000000000000000C99",
		"8000000000000000000000000000000000000000000000000000000000000C96",
		"3E1AF419A269A5F866A7D3C25C3DF80AE979259373FF2B182F49D4CE7E1BBC8B",
		"800000000000000000000000000000015F700CFFF1A624E5E497161BCC8A198F", "1",
		"3FA8124359F96680B83D1C3EB2C070E5C545C9858D03ECFB744BF8D717717EFC", 1)
	CurveCryptoProC = newCurve("id-GostR3410-2001-CryptoPro-C-ParamSet", "1.2.643.2.2.35.3", 32,
		"9B9F605F5A858107AB1EC85E6B41C8AACF846E86789051D37998F7B9022D759B",
		"9B9F605F5A858107AB1EC85E6B41C8AACF846E86789051D37998F7B9022D7598", "805A",
		"9B9F605F5A858107AB1EC85E6B41C8AA582CA3511EDDFB74F02F3A6598980BB9", "0",
		"41ECE55743711A8C3CBF3783CD08C0EE4D4DC440D4641A8F366E550DFDB3BB67", 1)
	CurveTC26256A = newCurve("id-tc26-gost-3410-2012-256-paramSetA", "1.2.643.7.1.2.1.1.1", 32,
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD97",
		"C2173F1513981673AF4892C23035A27CE25E2013BF95AA33B22C656F277E7335",
		"295F9BAE7428ED9CCC20E7C359A9D41A22FCCD9108E17BF7BA9337A6F8AE9513",
		"400000000000000000000000000000000FD8CDDFC87B6635C115AF556C360C67",
		"91E38443A5E82C0D880923425712B2BB658B9196932E02C78B2582FE742DAA28",
		"32879423AB1A0375895786C4BB46E9565FDE0B5344766740AF268ADB32322E5C", 4)
	CurveTest512 = newCurve("id-tc26-gost-3410-2012-512-paramSetTest", "1.2.643.7.1.2.1.2.0", 64,
		"4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15DF1D852741AF4704A0458047E80E4546D35B8336FAC224DD81664BBF528BE6373", "7",
		"1CFF0806A31116DA29D8CFA54E57EB748BC5F377E49400FDD788B649ECA1AC4361834013B2AD7322480A89CA58E0CF74BC9E540C2ADD6897FAD0A3084F302ADC",
		"4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15DA82F2D7ECB1DBAC719905C5EECC423F1D86E25EDBE23C595D644AAF187E6E6DF",
		"24D19CC64572EE30F396BF6EBBFD7A6C5213B3B3D7057CC825F91093A68CD762FD60611262CD838DC6B60AA7EEE804E28BC849977FAC33B4B530F1B120248A9A",
		"2BB312A43BD2CE6E0D020613C857ACDDCFBF061E91E5F2C3F32447C259F39B2C83AB156D77F1496BF7EB3351E1EE4E43DC1A18B91B24640B6DBB92CB1ADD371E", 1)
	CurveTC26512A = newCurve("id-tc26-gost-3410-12-512-paramSetA", "1.2.643.7.1.2.1.2.1", 64,
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDC7",
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDC4",
		"E8C2505DEDFC86DDC1BD0B2B6667F1DA34B82574761CB0E879BD081CFD0B6265EE3CB090F30D27614CB4574010DA90DD862EF9D4EBEE4761503190785A71C760",
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF27E69532F48D89116FF22B8D4E0560609B4B38ABFAD2B85DCACDB1411F10B275", "3",
		"7503CFE87A836AE3A61B8816E25450E6CE5E1C93ACF1ABC1778064FDCBEFA921DF1626BE4FD036E93D75E6A50E3A41E98028FE5FC235F5B889A589CB5215F2A4", 1)
	CurveTC26512B = newCurve("id-tc26-gost-3410-12-512-paramSetB", "1.2.643.7.1.2.1.2.2", 64,
		"8000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006F",
		"8000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006C",
		"687D1B459DC841457E3E06CF6F5E2517B97C7D614AF138BCBF85DC806C4B289F3E965D2DB1416D217F8B276FAD1AB69C50F78BEE1FA3106EFB8CCBC7C5140116",
		"800000000000000000000000000000000000000000000000000000000000000149A1EC142565A545ACFDB77BD9D40CFA8B996712101BEA0EC6346C54374F25BD", "2",
		"1A8F7EDA389B094C2C071E3647A8940F3C123B697578C213BE6DD9E6C8EC7335DCB228FD1EDF4A39152CBCAAF8C0398828041055F94CEEEC7E21340780FE41BD", 1)
	CurveTC26512C = newCurve("id-tc26-gost-3410-2012-512-paramSetC", "1.2.643.7.1.2.1.2.3", 64,
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDC7",
		"DC9203E514A721875485A529D2C722FB187BC8980EB866644DE41C68E143064546E861C0E2C9EDD92ADE71F46FCF50FF2AD97F951FDA9F2A2EB6546F39689BD3",
		"B4C4EE28CEBC6C2C8AC12952CF37F16AC7EFB6A9F69F4B57FFDA2E4F0DE5ADE038CBC2FFF719D2C18DE0284B8BFEF3B52B8CC7A5F5BF0A3C8D2319A5312557E1",
		"3FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC98CDBA46506AB004C33A9FF5147502CC8EDA9E7A769A12694623CEF47F023ED",
		"E2E31EDFC23DE7BDEBE241CE593EF5DE2295B7A9CBAEF021D385F7074CEA043AA27272A7AE602BF2A7B9033DB9ED3610C6FB85487EAE97AAC5BC7928C1950148",
		"F5CE40D95B5EB899ABBCCFF5911CB8577939804D6527378B8C108C3D2090FF9BE18E2D33E3021ED2EF32D85822423B6304F726AA854BAE07D0396E9A9ADDC40F", 4)
)

// curves by parameter-set OID. The XchA/XchB sets of RFC 4357 reuse CryptoPro-A/C.
var curves = map[string]*Curve{}

func init() {
	for _, c := range []*Curve{CurveTest256, CurveCryptoProA, CurveCryptoProB, CurveCryptoProC, CurveTC26256A, CurveTest512, CurveTC26512A, CurveTC26512B, CurveTC26512C} {
		curves[c.OID] = c
	}
	curves["1.2.643.2.2.36.0"] = CurveCryptoProA // XchA
	curves["1.2.643.2.2.36.1"] = CurveCryptoProC // XchB
	// TC26 aliases of the CryptoPro sets (RFC 7836 §A): paramSetB/C/D.
	curves["1.2.643.7.1.2.1.1.2"] = CurveCryptoProA
	curves["1.2.643.7.1.2.1.1.3"] = CurveCryptoProB
	curves["1.2.643.7.1.2.1.1.4"] = CurveCryptoProC
}

// CurveByOID finds a parameter set.
func CurveByOID(oid string) (*Curve, bool) {
	c, ok := curves[oid]
	return c, ok
}

// Size is the coordinate (and half-signature) size in bytes: 32 or 64.
func (c *Curve) Size() int { return c.size }

// PublicKey is a point on a curve.
type PublicKey struct {
	Curve *Curve
	X, Y  *big.Int

	keyOnce sync.Once
	key     keyOps
}

// CombAfter is the number of verifications with one key after which the
// key gets a comb table like the base point's: building it costs about
// five verifications and makes every later one about three times as fast.
// A doctor's or organisation's key verifies hundreds of documents, so a
// caller that keeps PublicKeys (signature.Verifier does, per certificate)
// soon pays only additions for both halves of u₁·G + u₂·Q.
const CombAfter = 4

func (k *PublicKey) ops() keyOps {
	k.keyOnce.Do(func() { k.key = k.Curve.ops().newKey(k.X, k.Y) })
	return k.key
}

// Errors of verification.
var (
	ErrBadSignature = errors.New("gost: signature does not verify")
	ErrBadKey       = errors.New("gost: public key is not a point of the curve")
)

// NewPublicKey decodes the raw key of a certificate (the OCTET STRING inside
// subjectPublicKey): X‖Y, each little-endian, Size() bytes.
func NewPublicKey(c *Curve, raw []byte) (*PublicKey, error) {
	if len(raw) != 2*c.size {
		return nil, fmt.Errorf("gost: public key of %d bytes, want %d for %s", len(raw), 2*c.size, c.Name)
	}
	k := &PublicKey{Curve: c, X: leInt(raw[:c.size]), Y: leInt(raw[c.size:])}
	if !c.onCurve(k.X, k.Y) {
		return nil, ErrBadKey
	}
	return k, nil
}

// Bytes encodes the key as NewPublicKey reads it: X‖Y, little-endian.
func (k *PublicKey) Bytes() []byte {
	n := k.Curve.size
	out := make([]byte, 2*n)
	k.X.FillBytes(out[:n])
	k.Y.FillBytes(out[n:])
	reverse(out[:n])
	reverse(out[n:])
	return out
}

func reverse(b []byte) {
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
}

func leInt(b []byte) *big.Int {
	r := append([]byte(nil), b...)
	reverse(r)
	return new(big.Int).SetBytes(r)
}

func (c *Curve) onCurve(x, y *big.Int) bool {
	if x.Sign() < 0 || x.Cmp(c.P) >= 0 || y.Sign() < 0 || y.Cmp(c.P) >= 0 {
		return false
	}
	l := new(big.Int).Mul(y, y)
	l.Mod(l, c.P)
	r := new(big.Int).Mul(x, x)
	r.Mul(r, x)
	ax := new(big.Int).Mul(c.A, x)
	r.Add(r, ax)
	r.Add(r, c.B)
	r.Mod(r, c.P)
	return l.Cmp(r) == 0
}

// VerifyDigest checks a signature over a digest as CMS and OpenSSL carry
// them: digest bytes as the hash produced them (little-endian integer), and
// the signature as s‖r, big-endian, Size() bytes each (GOST R 34.10-2012 §6.2;
// RFC 4491 §2.2.2).
func (k *PublicKey) VerifyDigest(digest, sig []byte) error {
	n := k.Curve.size
	if len(sig) != 2*n {
		return fmt.Errorf("gost: signature of %d bytes, want %d", len(sig), 2*n)
	}
	s := new(big.Int).SetBytes(sig[:n])
	r := new(big.Int).SetBytes(sig[n:])
	return k.Verify(leInt(digest), r, s)
}

// Verify checks (r, s) for the integer α of a hash (GOST R 34.10-2012 §6.2).
func (k *PublicKey) Verify(alpha, r, s *big.Int) error {
	c := k.Curve
	if r.Sign() <= 0 || r.Cmp(c.Q) >= 0 || s.Sign() <= 0 || s.Cmp(c.Q) >= 0 {
		return ErrBadSignature
	}
	e := new(big.Int).Mod(alpha, c.Q)
	if e.Sign() == 0 {
		e.SetInt64(1)
	}
	v := new(big.Int).ModInverse(e, c.Q)
	z1 := new(big.Int).Mul(s, v)
	z1.Mod(z1, c.Q)
	z2 := new(big.Int).Mul(r, v)
	z2.Mod(z2, c.Q)
	z2.Sub(c.Q, z2)
	match, valid := k.ops().check(z1, z2, r)
	if !valid {
		return ErrBadKey
	}
	if !match {
		return ErrBadSignature
	}
	return nil
}
