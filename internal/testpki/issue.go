package testpki

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/emdhub/hub/internal/gost"
)

// Template describes a certificate to issue.
type Template struct {
	CommonName   string
	Organization string
	OGRN         string // subject 1.2.643.100.1; empty: none (a personal certificate)
	SNILS        string // subject 1.2.643.100.3
	NotBefore    time.Time
	NotAfter     time.Time
	// KeyUsage defaults to digitalSignature|nonRepudiation (contentCommitment),
	// or keyCertSign|cRLSign for a CA.
	KeyUsage x509.KeyUsage
	// IsCA makes an (intermediate) CA certificate.
	IsCA bool
}

// Issue makes a certificate for pub signed by the CA (caCert, caKey). The
// hub never issues certificates: this is for the test PKI of the generator,
// the simulators and the demo, where certificates must carry each
// organisation's ОГРН and chosen validity windows.
func Issue(t Template, pub *gost.PublicKey, caCert *x509.Certificate, caKey *gost.PrivateKey) (*x509.Certificate, error) {
	if t.NotAfter.Before(t.NotBefore) {
		return nil, errors.New("testpki: certificate ends before it starts")
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	name := pkix.Name{CommonName: t.CommonName}
	if t.Organization != "" {
		name.Organization = []string{t.Organization}
	}
	if t.OGRN != "" {
		name.ExtraNames = append(name.ExtraNames, pkix.AttributeTypeAndValue{Type: oidOGRN, Value: t.OGRN})
	}
	if t.SNILS != "" {
		name.ExtraNames = append(name.ExtraNames, pkix.AttributeTypeAndValue{Type: oidSNILS, Value: t.SNILS})
	}
	subject, err := asn1.Marshal(name.ToRDNSequence())
	if err != nil {
		return nil, fmt.Errorf("testpki: subject: %w", err)
	}
	keyOID := oidGost256
	if pub.Curve.Size() == 64 {
		keyOID = oidGost512
	}
	paramOID, err := x509.ParseOID(pub.Curve.OID)
	if err != nil {
		return nil, err
	}
	paramDER, err := paramOID.MarshalBinary()
	if err != nil {
		return nil, err
	}
	raw := pub.Bytes()
	spkiDER := tlv(0x30,
		tlv(0x30, mustMarshal(keyOID), tlv(0x30, tlv(0x06, paramDER))),
		mustMarshal(asn1.BitString{Bytes: tlv(0x04, raw), BitLength: 8 * len(tlv(0x04, raw))}),
	)
	ku := t.KeyUsage
	switch {
	case ku == 0 && t.IsCA:
		ku = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	case ku == 0:
		ku = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	}
	basic := tlv(0x30) // CA:FALSE (the default, omitted)
	if t.IsCA {
		basic = tlv(0x30, mustMarshal(true))
	}
	kuBits := asn1.BitString{Bytes: []byte{reverseBits(byte(ku)), reverseBits(byte(ku >> 8))}}
	for i := 15; i >= 0; i-- { // DER: no trailing zero bits
		if ku&(1<<i) != 0 {
			kuBits.BitLength = i + 1
			break
		}
	}
	kuBits.Bytes = kuBits.Bytes[:(kuBits.BitLength+7)/8]
	exts := tlv(0xA3, tlv(0x30,
		tlv(0x30, mustMarshal(oidBasicConstraints), mustMarshal(true), tlv(0x04, basic)),
		tlv(0x30, mustMarshal(oidKeyUsage), mustMarshal(true), tlv(0x04, mustMarshal(kuBits))),
	))
	sigAlg := oidGost256Sign
	newH := gost.New256
	if caKey.Curve.Size() == 64 {
		sigAlg, newH = oidGost512Sign, gost.New512
	}
	tbs := tlv(0x30,
		tlv(0xA0, mustMarshal(2)),
		mustMarshal(serial),
		tlv(0x30, mustMarshal(sigAlg)),
		caCert.RawSubject,
		tlv(0x30, mustMarshal(t.NotBefore.UTC().Truncate(time.Second)), mustMarshal(t.NotAfter.UTC().Truncate(time.Second))),
		subject,
		spkiDER,
		exts,
	)
	h := newH()
	h.Write(tbs)
	sig, err := caKey.SignDigest(h.Sum(nil), nil)
	if err != nil {
		return nil, err
	}
	der := tlv(0x30, tbs, tlv(0x30, mustMarshal(sigAlg)), mustMarshal(asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}))
	return x509.ParseCertificate(der)
}

// reverseBits maps x509.KeyUsage bit i (1<<i) to DER BIT STRING bit i (the
// high bit of the first byte is bit 0).
func reverseBits(b byte) byte {
	var r byte
	for i := 0; i < 8; i++ {
		if b&(1<<i) != 0 {
			r |= 0x80 >> i
		}
	}
	return r
}

// IssueCRL makes a CRL of the CA (caCert, caKey) revoking serials at
// revokedAt — for tests and the demo; the hub never issues CRLs.
func IssueCRL(caCert *x509.Certificate, caKey *gost.PrivateKey, serials []*big.Int, revokedAt, thisUpdate, nextUpdate time.Time) ([]byte, error) {
	sigAlg := oidGost256Sign
	newH := gost.New256
	if caKey.Curve.Size() == 64 {
		sigAlg, newH = oidGost512Sign, gost.New512
	}
	var entries [][]byte
	for _, s := range serials {
		entries = append(entries, tlv(0x30, mustMarshal(s), mustMarshal(revokedAt.UTC().Truncate(time.Second))))
	}
	tbs := tlv(0x30,
		mustMarshal(1),
		tlv(0x30, mustMarshal(sigAlg)),
		caCert.RawSubject,
		mustMarshal(thisUpdate.UTC().Truncate(time.Second)),
		mustMarshal(nextUpdate.UTC().Truncate(time.Second)),
		tlv(0x30, entries...),
	)
	h := newH()
	h.Write(tbs)
	sig, err := caKey.SignDigest(h.Sum(nil), nil)
	if err != nil {
		return nil, err
	}
	return tlv(0x30, tbs, tlv(0x30, mustMarshal(sigAlg)), mustMarshal(asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)})), nil
}
