package signature

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

// Subject attributes of Russian qualified certificates (Приказ ФСБ № 795).
var (
	OIDOGRN  = asn1.ObjectIdentifier{1, 2, 643, 100, 1}
	OIDSNILS = asn1.ObjectIdentifier{1, 2, 643, 100, 3}
	OIDINN   = asn1.ObjectIdentifier{1, 2, 643, 3, 131, 1, 1}

	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
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
		return nil, errors.New("signature: certificate ends before it starts")
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
		name.ExtraNames = append(name.ExtraNames, pkix.AttributeTypeAndValue{Type: OIDOGRN, Value: t.OGRN})
	}
	if t.SNILS != "" {
		name.ExtraNames = append(name.ExtraNames, pkix.AttributeTypeAndValue{Type: OIDSNILS, Value: t.SNILS})
	}
	subject, err := asn1.Marshal(name.ToRDNSequence())
	if err != nil {
		return nil, fmt.Errorf("signature: subject: %w", err)
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

// OGRN returns the ОГРН in a certificate's subject, or "".
func OGRN(c *x509.Certificate) string { return subjectAttr(c, OIDOGRN) }

// SNILS returns the СНИЛС in a certificate's subject, or "".
func SNILS(c *x509.Certificate) string { return subjectAttr(c, OIDSNILS) }

func subjectAttr(c *x509.Certificate, oid asn1.ObjectIdentifier) string {
	for _, a := range c.Subject.Names {
		if a.Type.Equal(oid) {
			if s, ok := a.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}
