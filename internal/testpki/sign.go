package testpki

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/emdhub/hub/internal/gost"
)

// privateKeyInfo is PKCS#8 as OpenSSL's gost engine writes GOST keys: the
// raw key, little-endian, directly in the OCTET STRING.
type privateKeyInfo struct {
	Version    int
	Algorithm  algorithmIdentifier
	PrivateKey []byte
}

// ParsePrivateKey reads a GOST R 34.10-2012 PKCS#8 key (PEM or DER). Only
// the test-document generator and the simulators sign; the hub never does.
func ParsePrivateKey(data []byte) (*gost.PrivateKey, error) {
	if blk, _ := pem.Decode(data); blk != nil {
		data = blk.Bytes
	}
	var k privateKeyInfo
	if _, err := asn1.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("testpki: private key: %w", err)
	}
	var params keyParams
	if _, err := asn1.Unmarshal(k.Algorithm.Parameters.FullBytes, &params); err != nil {
		return nil, fmt.Errorf("testpki: private key parameters: %w", err)
	}
	curve, ok := gost.CurveByOID(params.ParamSet.String())
	if !ok {
		return nil, fmt.Errorf("testpki: parameter set %s is not supported", params.ParamSet)
	}
	return gost.NewPrivateKey(curve, k.PrivateKey)
}

// tlv encodes one DER element.
func tlv(tag byte, content ...[]byte) []byte {
	n := 0
	for _, c := range content {
		n += len(c)
	}
	out := []byte{tag}
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	case n < 0x10000:
		out = append(out, 0x82, byte(n>>8), byte(n))
	default:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	for _, c := range content {
		out = append(out, c...)
	}
	return out
}

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Sign makes a detached CMS SignedData over content with one signer, signed
// attributes (contentType, signingTime, messageDigest) and the signer's
// certificate embedded — the shape МИС produce and Verify reads. chain adds
// intermediate CA certificates to the container, as CryptoPro does.
func Sign(content []byte, cert *x509.Certificate, key *gost.PrivateKey, signingTime time.Time, chain ...*x509.Certificate) ([]byte, error) {
	return sign(content, cert, key, signingTime, true, chain)
}

// SignWithoutAttributes makes the same container with no signed attributes:
// the signature is over the content's Streebog digest itself (RFC 5652
// §5.4), as `openssl cms -sign -noattr` makes it.
func SignWithoutAttributes(content []byte, cert *x509.Certificate, key *gost.PrivateKey, chain ...*x509.Certificate) ([]byte, error) {
	return sign(content, cert, key, time.Time{}, false, chain)
}

func sign(content []byte, cert *x509.Certificate, key *gost.PrivateKey, signingTime time.Time, withAttrs bool, chain []*x509.Certificate) ([]byte, error) {
	digestOID, keyOID := oidStreebog256, oidGost256
	newH := gost.New256
	if key.Curve.Size() == 64 {
		digestOID, keyOID, newH = oidStreebog512, oidGost512, gost.New512
	}
	h := newH()
	h.Write(content)
	digest := h.Sum(nil)
	var signedAttrs []byte // [0] IMPLICIT SET OF Attribute, or nothing
	if withAttrs {
		attrs := [][]byte{
			tlv(0x30, mustMarshal(oidContentType), tlv(0x31, mustMarshal(oidData))),
			tlv(0x30, mustMarshal(oidSigningTime), tlv(0x31, mustMarshal(signingTime.UTC().Truncate(time.Second)))),
			tlv(0x30, mustMarshal(oidMessageDigest), tlv(0x31, tlv(0x04, digest))),
		}
		sort.Slice(attrs, func(i, j int) bool { return bytes.Compare(attrs[i], attrs[j]) < 0 }) // DER SET OF order
		ah := newH()
		ah.Write(tlv(0x31, attrs...))
		digest = ah.Sum(nil)
		signedAttrs = tlv(0xA0, attrs...)
	}
	sig, err := key.SignDigest(digest, nil)
	if err != nil {
		return nil, err
	}
	digestAlg := tlv(0x30, mustMarshal(digestOID))
	signer := tlv(0x30,
		mustMarshal(1),
		tlv(0x30, cert.RawIssuer, mustMarshal(new(big.Int).Set(cert.SerialNumber))),
		digestAlg,
		signedAttrs,
		tlv(0x30, mustMarshal(keyOID)),
		tlv(0x04, sig),
	)
	sd := tlv(0x30,
		mustMarshal(1),
		tlv(0x31, digestAlg),
		tlv(0x30, mustMarshal(oidData)),
		tlv(0xA0, append([][]byte{cert.Raw}, raws(chain)...)...),
		tlv(0x31, signer),
	)
	return tlv(0x30, mustMarshal(oidSignedData), tlv(0xA0, sd)), nil
}

func raws(cs []*x509.Certificate) [][]byte {
	out := make([][]byte, len(cs))
	for i, c := range cs {
		out[i] = c.Raw
	}
	return out
}
