// Package signature checks the detached CMS (PKCS#7 SignedData) signatures
// that come with every СЭМД: GOST R 34.10-2012 with Streebog (internal/gost),
// one signer per container, the signer's certificate embedded, chained to a
// trusted CA, valid on the document's date and at the check time, with a key
// usage that allows signing. Failures carry the federal registry's codes.
//
// Signed attributes are optional, as RFC 5652 allows: without them the
// signature is over the Streebog digest of the content itself. The chain is
// built for every container from the certificates it carries and the
// configured intermediates (SetIntermediates) only, never from what earlier
// containers carried.
//
// Cryptographic results are cached by (signature, signed bytes): a signature
// already verified — a linked document submitted earlier, a replay — is not
// verified again. Date checks are not cached: they depend on the clock.
package signature

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// OIDs (RFC 4490, RFC 7836, TC26).
var (
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidStreebog256   = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 2, 2}
	oidStreebog512   = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 2, 3}
	oidGost256       = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 1, 1}
	oidGost512       = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 1, 2}
	oidGost256Sign   = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 3, 2}
	oidGost512Sign   = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 3, 3}
)

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     asn1.RawValue `asn1:"optional,explicit,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    algorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm algorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

// Parsed is a decoded detached signature with one signer.
type Parsed struct {
	Signer        *x509.Certificate
	Certificates  []*x509.Certificate
	DigestOID     asn1.ObjectIdentifier
	SignatureOID  asn1.ObjectIdentifier
	MessageDigest []byte // nil when NoSignedAttrs
	SigningTime   time.Time
	// NoSignedAttrs: the signer info carries no signed attributes, so the
	// signature is over the content's digest itself (RFC 5652 §5.4).
	NoSignedAttrs bool
	signedAttrs   []byte // DER of the SET the signature covers
	signature     []byte
	keyBits       int      // set once the signature verified
	certSum       [32]byte // SHA-256 of the signer's certificate, likewise
	result        *Result  // what Verify returns, less the checks of the clock (describe)
}

func decodingError(format string, a ...any) error {
	return &Error{Code: CodeDecoding, Message: fmt.Sprintf(format, a...)}
}

// Parse decodes a CMS SignedData with exactly one signer: DER, or base64 of
// it (with or without PEM armour), as МИС produce them.
func Parse(der []byte) (*Parsed, error) { return parse(der, x509.ParseCertificate) }

// parse is Parse with the container's certificates read by cert (the
// Verifier's: a certificate met before is not parsed again).
func parse(der []byte, cert func(raw []byte) (*x509.Certificate, error)) (*Parsed, error) {
	der = unwrapText(der)
	var ci contentInfo
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, decodingError("not a DER CMS ContentInfo: %v", err)
	}
	if len(rest) > 0 {
		return nil, decodingError("%d bytes after the CMS structure", len(rest))
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, &Error{Code: CodeWrongFormat, Message: fmt.Sprintf("content type %s is not SignedData", ci.ContentType)}
	}
	var sd signedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, decodingError("SignedData: %v", err)
	}
	if len(sd.EncapContentInfo.EContent.Bytes) > 0 {
		return nil, &Error{Code: CodeWrongFormat, Message: "the signature is attached; a detached signature is required"}
	}
	if n := len(sd.SignerInfos); n != 1 {
		return nil, &Error{Code: CodeMultipleSigners, Message: fmt.Sprintf("the container holds %d signers; exactly one is allowed", n)}
	}
	p := &Parsed{}
	for b := sd.Certificates.Bytes; len(b) > 0; {
		var raw asn1.RawValue
		var err error
		if b, err = asn1.Unmarshal(b, &raw); err != nil {
			return nil, decodingError("certificates: %v", err)
		}
		c, err := cert(raw.FullBytes)
		if err != nil {
			return nil, decodingError("certificate: %v", err)
		}
		p.Certificates = append(p.Certificates, c)
	}
	si := sd.SignerInfos[0]
	p.DigestOID, p.SignatureOID, p.signature = si.DigestAlgorithm.Algorithm, si.SignatureAlgorithm.Algorithm, si.Signature
	// The signer's certificate, by issuer and serial (or subject key id).
	var ias issuerAndSerial
	if si.SID.Class == asn1.ClassUniversal {
		if _, err := asn1.Unmarshal(si.SID.FullBytes, &ias); err != nil {
			return nil, decodingError("signer identifier: %v", err)
		}
	}
	for _, c := range p.Certificates {
		switch {
		case ias.Serial != nil && c.SerialNumber.Cmp(ias.Serial) == 0 && string(c.RawIssuer) == string(ias.Issuer.FullBytes):
			p.Signer = c
		case si.SID.Class == asn1.ClassContextSpecific && string(c.SubjectKeyId) == string(si.SID.Bytes):
			p.Signer = c
		}
	}
	if p.Signer == nil {
		return nil, &Error{Code: CodeNoCertificate, Message: "the signer's certificate is not in the container"}
	}
	if len(si.SignedAttrs.FullBytes) == 0 {
		// Accepted (RFC 5652 §5.4): then the content type must be id-data
		// and the signature covers the content's digest; see verifyParsed.
		if !sd.EncapContentInfo.EContentType.Equal(oidData) {
			return nil, &Error{Code: CodeWrongFormat, Message: fmt.Sprintf("a signature without signed attributes must be over id-data content, not %s", sd.EncapContentInfo.EContentType)}
		}
		p.NoSignedAttrs = true
		return p, nil
	}
	// The signature covers the attributes DER-encoded as a SET (tag 0x31), not [0].
	p.signedAttrs = append([]byte{0x31}, si.SignedAttrs.FullBytes[1:]...)
	for b := si.SignedAttrs.Bytes; len(b) > 0; {
		var a attribute
		var err error
		if b, err = asn1.Unmarshal(b, &a); err != nil {
			return nil, decodingError("signed attributes: %v", err)
		}
		switch {
		case a.Type.Equal(oidMessageDigest):
			if _, err := asn1.Unmarshal(a.Values.Bytes, &p.MessageDigest); err != nil {
				return nil, decodingError("messageDigest: %v", err)
			}
		case a.Type.Equal(oidSigningTime):
			if _, err := asn1.Unmarshal(a.Values.Bytes, &p.SigningTime); err != nil {
				return nil, decodingError("signingTime: %v", err)
			}
		case a.Type.Equal(oidContentType):
			var ct asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(a.Values.Bytes, &ct); err != nil || !ct.Equal(oidData) {
				return nil, &Error{Code: CodeWrongFormat, Message: "signed contentType is not id-data"}
			}
		}
	}
	if p.MessageDigest == nil {
		return nil, &Error{Code: CodeWrongFormat, Message: "no messageDigest attribute"}
	}
	return p, nil
}

// unwrapText turns base64 (or PEM) text into DER; DER is returned as is.
func unwrapText(b []byte) []byte {
	if len(b) == 0 || b[0] == 0x30 {
		return b
	}
	if blk, _ := pem.Decode(b); blk != nil {
		return blk.Bytes
	}
	clean := make([]byte, 0, len(b))
	for _, c := range b {
		if c != '\n' && c != '\r' && c != ' ' && c != '\t' {
			clean = append(clean, c)
		}
	}
	if d, err := base64.StdEncoding.DecodeString(string(clean)); err == nil && len(d) > 0 && d[0] == 0x30 {
		return d
	}
	return b
}
