package signature

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emdhub/hub/internal/gost"
)

// Codes: the federal registry's (НСИ 305) for signature failures.
const (
	CodeDecoding         = "SIGNATURE_DECODING_ERROR"
	CodeWrongFormat      = "WRONG_SIGNATURE_FORMAT"
	CodeUnknownAlgorithm = "UNKNOWN_ALGORITHM"
	CodeDigestMismatch   = "DIGEST_MISMATCH"
	CodeVerification     = "SIGNATURE_VERIFICATION_ERROR"
	CodeMultipleSigners  = "MULTIPLE_SIGNERS"
	CodeNoCertificate    = "NO_END_ENTITY_CERTIFICATE"
	CodeNotBefore        = "DOC_DATE_MISMATCH_CERT_NOT_BEFORE"
	CodeNotAfter         = "DOC_DATE_MISMATCH_CERT_NOT_AFTER"
	CodeNotActualNow     = "PERSONAL_SIG_CERT_NOT_ACTUAL_ON_CHECK_DT"
	CodeKeyUsage         = "INVALID_CERT_KEY_USAGE"
	CodeNoChain          = "CANT_BUILD_CERT_CHAIN_TO_ACCREDITED_CA_CERT"
)

// Error is a refused signature with its registry code.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return "signature: " + e.Code + ": " + e.Message }

// Verifier checks signatures against a set of trusted CA certificates.
type Verifier struct {
	roots    []*x509.Certificate
	rootKeys []*gost.PublicKey // parsed once: every new signer's chain check uses them
	rootSums [][32]byte        // SHA-256 of each root, for the edge cache
	// intermediates are the configured intermediate CAs (SetIntermediates),
	// usable by every chain besides those a container carries.
	intermediates []*x509.Certificate
	mu            sync.Mutex
	cache         map[[32]byte]cached            // verified (or refused) cryptographic results, by cacheKey
	fp            cipher.AEAD                    // keyed fingerprint of cacheKey (newFingerprint)
	edges         map[[64]byte]bool              // (certificate, issuer) → the issuer's key signed it
	keys          map[[32]byte]*signer           // signers met: one parsed certificate and key each
	certs         map[[32]byte]*x509.Certificate // certificates met in containers, parsed once (certificate)
	crls          map[string]*revocations        // by issuer (DER subject), from LoadCRLs
	// max bounds cache and edges (entries); reaching it empties the map:
	// a crude bound, cheap to refill. A cached result shares its signer's
	// certificate and keeps only a few hundred bytes of its own.
	max int
	// verifications counts cryptographic verifications actually performed
	// (cache misses), for tests and metrics.
	verifications int
	digests       atomic.Int64 // Streebog digests of content (ContentDigests)
	parsedCerts   atomic.Int64 // certificates parsed from containers (certificate)
}

// Verifications is the number of cryptographic verifications performed so
// far; a signature met again is answered from the cache and not counted.
func (v *Verifier) Verifications() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.verifications
}

type cached struct {
	parsed *Parsed
	err    error
}

// NewVerifier trusts the given CA certificates.
func NewVerifier(roots []*x509.Certificate) *Verifier {
	v := &Verifier{cache: map[[32]byte]cached{}, edges: map[[64]byte]bool{}, keys: map[[32]byte]*signer{}, certs: map[[32]byte]*x509.Certificate{}, max: 20000, fp: newFingerprint()}
	for _, r := range roots {
		if pub, err := PublicKey(r); err == nil { // a CA without a GOST key can issue no certificate we accept
			v.roots = append(v.roots, r)
			v.rootKeys = append(v.rootKeys, pub)
			v.rootSums = append(v.rootSums, sha256.Sum256(r.Raw))
		}
	}
	return v
}

// SetIntermediates configures intermediate CA certificates
// (HUB_INTERMEDIATE_CA_DIR, read with LoadRoots) that chains may pass
// through besides those a container carries; certificates that are no CA
// are ignored. Call it before the first Verify: cached results assume the
// configuration does not change. It returns how many were kept.
func (v *Verifier) SetIntermediates(cs []*x509.Certificate) int {
	var keep []*x509.Certificate
	for _, c := range cs {
		if c.BasicConstraintsValid && c.IsCA {
			keep = append(keep, c)
		}
	}
	v.mu.Lock()
	v.intermediates = keep
	v.mu.Unlock()
	return len(keep)
}

// LoadRoots reads every certificate in dir (*.pem, *.crt, *.cer): the
// trusted CAs, or the configured intermediates.
func LoadRoots(dir string) ([]*x509.Certificate, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("signature: trusted CA directory: %w", err)
	}
	var out []*x509.Certificate
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".pem" && ext != ".crt" && ext != ".cer") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		cs, err := ParseCertificates(b)
		if err != nil {
			return nil, fmt.Errorf("signature: %s: %w", e.Name(), err)
		}
		out = append(out, cs...)
	}
	return out, nil
}

// ParseCertificates reads certificates as CAs publish them: DER, or PEM
// with any number of CERTIFICATE blocks (other blocks, such as a CRL kept
// alongside, are skipped).
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	if len(data) > 0 && data[0] == 0x30 {
		c, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, err
		}
		return []*x509.Certificate{c}, nil
	}
	var out []*x509.Certificate
	for rest := data; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Result describes a verified signature.
type Result struct {
	Subject     string
	Issuer      string
	Serial      string
	NotBefore   time.Time
	NotAfter    time.Time
	SigningTime time.Time
	KeyBits     int
	OGRN        string // subject ОГРН (1.2.643.100.1), if any
	SNILS       string // subject СНИЛС (1.2.643.100.3), if any
	CertSHA256  [32]byte
	IssuerDER   []byte // the issuer's DER name: with Serial, what a CRL lists
}

func newHash(oid asn1.ObjectIdentifier) (hash.Hash, bool) {
	switch {
	case oid.Equal(oidStreebog256):
		return gost.New256(), true
	case oid.Equal(oidStreebog512):
		return gost.New512(), true
	}
	return nil, false
}

type spki struct {
	Algorithm algorithmIdentifier
	PublicKey asn1.BitString
}

type keyParams struct {
	ParamSet  asn1.ObjectIdentifier
	DigestSet asn1.ObjectIdentifier `asn1:"optional"`
}

// PublicKey extracts the GOST public key of a certificate.
func PublicKey(c *x509.Certificate) (*gost.PublicKey, error) {
	var k spki
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &k); err != nil {
		return nil, &Error{Code: CodeDecoding, Message: "certificate public key: " + err.Error()}
	}
	if !k.Algorithm.Algorithm.Equal(oidGost256) && !k.Algorithm.Algorithm.Equal(oidGost512) {
		return nil, &Error{Code: CodeUnknownAlgorithm, Message: fmt.Sprintf("public key algorithm %s is not GOST R 34.10-2012", k.Algorithm.Algorithm)}
	}
	var params keyParams
	if _, err := asn1.Unmarshal(k.Algorithm.Parameters.FullBytes, &params); err != nil {
		return nil, &Error{Code: CodeDecoding, Message: "public key parameters: " + err.Error()}
	}
	curve, ok := gost.CurveByOID(params.ParamSet.String())
	if !ok {
		return nil, &Error{Code: CodeUnknownAlgorithm, Message: fmt.Sprintf("parameter set %s is not supported", params.ParamSet)}
	}
	var raw []byte
	if _, err := asn1.Unmarshal(k.PublicKey.Bytes, &raw); err != nil {
		return nil, &Error{Code: CodeDecoding, Message: "public key value: " + err.Error()}
	}
	pub, err := gost.NewPublicKey(curve, raw)
	if err != nil {
		return nil, &Error{Code: CodeDecoding, Message: err.Error()}
	}
	return pub, nil
}

// certificate is the outer structure of an X.509 certificate: crypto/x509
// does not expose the signature algorithm OID of algorithms it does not know.
type certificate struct {
	TBS       asn1.RawValue
	Algorithm algorithmIdentifier
	Signature asn1.BitString
}

// checkCertSignature verifies that the issuer's key signed c.
func checkCertSignature(c *x509.Certificate, pub *gost.PublicKey) error {
	var outer certificate
	if _, err := asn1.Unmarshal(c.Raw, &outer); err != nil {
		return fmt.Errorf("certificate structure: %w", err)
	}
	return checkIssuerSignature(c.RawTBSCertificate, outer.Algorithm.Algorithm, outer.Signature.Bytes, pub)
}

// checkIssuerSignature verifies a CA's signature over the DER of a
// certificate's or a CRL's TBS part, for the GOST algorithm named.
func checkIssuerSignature(tbs []byte, alg asn1.ObjectIdentifier, sig []byte, pub *gost.PublicKey) error {
	var h hash.Hash
	switch {
	case alg.Equal(oidGost256Sign):
		h = gost.New256()
	case alg.Equal(oidGost512Sign):
		h = gost.New512()
	default:
		return fmt.Errorf("signature algorithm %s is not GOST R 34.10-2012 with Streebog", alg)
	}
	h.Write(tbs)
	return pub.VerifyDigest(h.Sum(nil), sig)
}

// Content is a document's bytes with what every signature over them
// needs of them, computed once: the Streebog digest of each size and the
// result cache's tag. A document comes with two signatures (the doctor's
// and the organisation's), usually with the same digest algorithm; hashing
// 13 KB with Streebog is ~0.2 ms, as much as a GOST verification with a
// known key, so the second signature gets the first one's digest.
// A Content is used by one goroutine at a time (one door check).
type Content struct {
	b          []byte
	d256, d512 []byte
	tag        [16]byte
	tagged     bool
}

// NewContent wraps the signed bytes b; they must not change while in use.
func NewContent(b []byte) *Content { return &Content{b: b} }

// digest is the Streebog digest of the content for the digest algorithm
// oid (false: not Streebog), computed at most once per size.
func (c *Content) digest(v *Verifier, oid asn1.ObjectIdentifier) ([]byte, bool) {
	var d *[]byte
	switch {
	case oid.Equal(oidStreebog256):
		d = &c.d256
	case oid.Equal(oidStreebog512):
		d = &c.d512
	default:
		return nil, false
	}
	if *d == nil {
		h, _ := newHash(oid)
		h.Write(c.b)
		*d = h.Sum(nil)
		v.digests.Add(1)
	}
	return *d, true
}

// ContentDigests is the number of Streebog digests of signed content
// computed so far (one per document and digest size when its signatures
// are verified through one Content).
func (v *Verifier) ContentDigests() int64 { return v.digests.Load() }

// Verify checks a detached signature over content. docTime is the
// document's creation time, now the check time.
func (v *Verifier) Verify(content, der []byte, docTime, now time.Time) (*Result, error) {
	return v.VerifyContent(NewContent(content), der, docTime, now)
}

// VerifyContent is Verify over a Content: the signatures of one document
// verified through one Content share its digest.
func (v *Verifier) VerifyContent(content *Content, der []byte, docTime, now time.Time) (*Result, error) {
	k := v.cacheKey(content, der)
	v.mu.Lock()
	c, hit := v.cache[k]
	v.mu.Unlock()
	if !hit {
		c.parsed, c.err = v.verifyObserved(content, der)
		v.mu.Lock()
		v.verifications++
		if len(v.cache) >= v.max {
			v.cache = map[[32]byte]cached{} // crude bound; results are cheap to recompute
		}
		v.cache[k] = c
		v.mu.Unlock()
	}
	if c.err != nil {
		return nil, c.err
	}
	return v.checkDates(c.parsed, docTime, now)
}

// cacheKey names a (signature, content) pair in the result cache: the GMAC
// (AES-GCM authenticating without encrypting) of the signature and, under
// another nonce, of the content, with the Verifier's own random AES key
// (newFingerprint). SHA-256 of the same bytes was 93 % of a cached
// verification (5 µs for a 7 KB СЭМД); GMAC runs on the CPU's carry-less
// multiplication four times as fast. A false hit needs a second (signature,
// content) whose tags collide with a cached one under a key that never
// leaves the process and tags that are never shown: GHASH is almost
// XOR-universal, so each attempt succeeds with probability below
// blocks/2^128 (below 2^-110 for a 1 MB document), and the lengths are
// authenticated, so the split between signature and content cannot shift.
func (v *Verifier) cacheKey(content *Content, der []byte) (k [32]byte) {
	var nonce [12]byte
	v.fp.Seal(k[:0], nonce[:], nil, der)
	if !content.tagged {
		nonce[0] = 1
		v.fp.Seal(content.tag[:0], nonce[:], nil, content.b)
		content.tagged = true
	}
	copy(k[16:], content.tag[:])
	return k
}

// newFingerprint returns AES-128-GCM under a fresh random key, used only to
// compute cacheKey's tags (its fixed nonces encrypt nothing).
func newFingerprint() cipher.AEAD {
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		panic("signature: no randomness for the cache key: " + err.Error())
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	g, err := cipher.NewGCM(blk)
	if err != nil {
		panic(err)
	}
	return g
}

func (v *Verifier) verifyCrypto(content *Content, der []byte) (*Parsed, error) {
	p, err := parse(der, v.certificate)
	if err != nil {
		return nil, err
	}
	return v.verifyParsed(content, p)
}

func (v *Verifier) verifyParsed(content *Content, p *Parsed) (*Parsed, error) {
	if _, ok := newHash(p.DigestOID); !ok {
		return nil, &Error{Code: CodeUnknownAlgorithm, Message: fmt.Sprintf("digest algorithm %s is not Streebog", p.DigestOID)}
	}
	if !p.SignatureOID.Equal(oidGost256) && !p.SignatureOID.Equal(oidGost512) && !p.SignatureOID.Equal(oidGost256Sign) && !p.SignatureOID.Equal(oidGost512Sign) {
		return nil, &Error{Code: CodeUnknownAlgorithm, Message: fmt.Sprintf("signature algorithm %s is not GOST R 34.10-2012", p.SignatureOID)}
	}
	contentDigest, _ := content.digest(v, p.DigestOID)
	if !p.NoSignedAttrs && !bytes.Equal(contentDigest, p.MessageDigest) {
		return nil, &Error{Code: CodeDigestMismatch, Message: "the signature was made over other bytes than this document"}
	}
	sg, err := v.signerOf(p.Signer)
	if err != nil {
		return nil, err
	}
	pub := sg.pub
	// What the cached result keeps: the signer's one shared certificate, its
	// key size and hash — not the container (parsed certificates, raw bytes).
	defer func() { p.Certificates, p.signedAttrs, p.signature = nil, nil, nil }()
	p.Signer, p.keyBits, p.certSum = sg.cert, 8*pub.Curve.Size(), sg.sum
	if p.NoSignedAttrs {
		// RFC 5652 §5.4: without signed attributes the signature is over the
		// content's digest itself. A mismatch cannot be told from a bad
		// signature value, so it is a verification error.
		if err := pub.VerifyDigest(contentDigest, p.signature); err != nil {
			return nil, &Error{Code: CodeVerification, Message: "the signature has no signed attributes, so it is made over the document's Streebog digest directly, and it does not verify over these bytes with the signer's key (other bytes were signed, or the value is damaged)"}
		}
	} else {
		ah, _ := newHash(p.DigestOID)
		ah.Write(p.signedAttrs)
		if err := pub.VerifyDigest(ah.Sum(nil), p.signature); err != nil {
			return nil, &Error{Code: CodeVerification, Message: "the signature value does not verify with the signer's key"}
		}
	}
	if !v.chained(p.Signer, sg.sum, v.issuerPool(p.Certificates), 0) {
		return nil, &Error{Code: CodeNoChain, Message: fmt.Sprintf("no trusted CA issued the signer's certificate (issuer %s), directly or through the intermediate CAs the container carries or the hub is configured with", p.Signer.Issuer)}
	}
	if ku := p.Signer.KeyUsage; ku != 0 && ku&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return nil, &Error{Code: CodeKeyUsage, Message: "the certificate's key usage does not allow signing"}
	}
	p.result = describe(p, sg)
	return p, nil
}

// checkDates is the part of a verification that is never cached: the
// dates (against the document's time and the clock) and revocation. The
// rest of the Result was built once, when the signature verified
// (describe), so a cached verification costs a copy, not the formatting of
// two distinguished names.
func (v *Verifier) checkDates(p *Parsed, docTime, now time.Time) (*Result, error) {
	c := p.Signer
	if !docTime.IsZero() && docTime.Before(c.NotBefore) {
		return nil, &Error{Code: CodeNotBefore, Message: fmt.Sprintf("the document (%s) predates the certificate (valid from %s)", docTime.Format(time.RFC3339), c.NotBefore.Format(time.RFC3339))}
	}
	if !docTime.IsZero() && docTime.After(c.NotAfter) {
		return nil, &Error{Code: CodeNotAfter, Message: fmt.Sprintf("the document (%s) was created after the certificate expired (%s)", docTime.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339))}
	}
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return nil, &Error{Code: CodeNotActualNow, Message: fmt.Sprintf("the certificate is not valid now (valid %s – %s)", c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339))}
	}
	res := *p.result
	if at, ok := v.Revoked(c.RawIssuer, res.Serial, now); ok {
		return nil, &Error{Code: CodeRevoked, Message: fmt.Sprintf("the certificate (serial %s) was revoked by its CA on %s", res.Serial, at.Format(time.RFC3339))}
	}
	return &res, nil
}

// describe builds the Result of a verified signature: what does not depend
// on the clock, kept with the cached result. The certificate's part (names,
// serial, ОГРН, СНИЛС) is formatted once per signer and its strings shared
// by every result of that signer.
func describe(p *Parsed, sg *signer) *Result {
	sg.descOnce.Do(func() {
		c := sg.cert
		sg.desc = Result{Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: c.SerialNumber.Text(16), NotBefore: c.NotBefore,
			NotAfter: c.NotAfter, OGRN: OGRN(c), SNILS: SNILS(c), CertSHA256: sg.sum, IssuerDER: c.RawIssuer}
	})
	r := sg.desc
	r.SigningTime, r.KeyBits = p.SigningTime, p.keyBits
	return &r
}

// maxChain bounds the intermediate CAs between a signer and a trusted CA.
const maxChain = 3

// issuerPool is what a chain may pass through: the CA certificates the
// container carries, then the configured intermediates — and nothing else.
func (v *Verifier) issuerPool(carried []*x509.Certificate) []*x509.Certificate {
	v.mu.Lock()
	configured := v.intermediates
	v.mu.Unlock()
	pool := make([]*x509.Certificate, 0, len(carried)+len(configured))
	for _, c := range carried {
		if c.BasicConstraintsValid && c.IsCA {
			pool = append(pool, c)
		}
	}
	return append(pool, configured...)
}

// chained reports whether c (whose SHA-256 is sum) chains to a trusted CA:
// signed by one directly, or by a CA certificate in pool that itself chains,
// at most maxChain deep. The chain is built anew for every container, from
// that container's certificates and the configured intermediates only, so
// acceptance never depends on what earlier submissions carried. What is
// cached is only the fact "this issuer's key signed this certificate" per
// (certificate, issuer) pair — true or false whatever container it came in —
// which spares the signature checks of a chain met again.
func (v *Verifier) chained(c *x509.Certificate, sum [32]byte, pool []*x509.Certificate, depth int) bool {
	for i, root := range v.roots {
		if bytes.Equal(root.RawSubject, c.RawIssuer) && v.signedBy(c, sum, v.rootSums[i], v.rootKeys[i]) {
			return true
		}
	}
	if depth >= maxChain {
		return false
	}
	for _, ca := range pool {
		if ca == c || !bytes.Equal(ca.RawSubject, c.RawIssuer) {
			continue
		}
		sg, err := v.signerOf(ca)
		if err == nil && sg.sum != sum && v.signedBy(c, sum, sg.sum, sg.pub) && v.chained(sg.cert, sg.sum, pool, depth+1) {
			return true
		}
	}
	return false
}

// signedBy checks, once per pair, that the issuer's key (issuerSum, pub)
// signed certificate c (sum).
func (v *Verifier) signedBy(c *x509.Certificate, sum, issuerSum [32]byte, pub *gost.PublicKey) bool {
	var k [64]byte
	copy(k[:32], sum[:])
	copy(k[32:], issuerSum[:])
	v.mu.Lock()
	ok, hit := v.edges[k]
	v.mu.Unlock()
	if hit {
		return ok
	}
	ok = checkCertSignature(c, pub) == nil
	v.mu.Lock()
	if len(v.edges) >= v.max {
		v.edges = map[[64]byte]bool{}
	}
	v.edges[k] = ok
	v.mu.Unlock()
	return ok
}

// signer is a certificate met in signatures, parsed once, with its key.
type signer struct {
	cert     *x509.Certificate
	pub      *gost.PublicKey
	sum      [32]byte
	descOnce sync.Once
	desc     Result // describe: the certificate's part of every Result
}

// certificate is the parsed certificate of DER raw: one met before in a
// container (a signer's, a CA's) is shared, not parsed again
// (x509.ParseCertificate is ~20 µs, a tenth of a verification with a known
// key); others are parsed, kept and counted (parsedCerts). The same bytes
// parse to the same certificate, so what a container proves does not
// depend on what came before it.
func (v *Verifier) certificate(raw []byte) (*x509.Certificate, error) {
	k := sha256.Sum256(raw)
	v.mu.Lock()
	c, hit := v.certs[k]
	v.mu.Unlock()
	if hit {
		return c, nil
	}
	v.parsedCerts.Add(1)
	c, err := x509.ParseCertificate(raw)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	if len(v.certs) >= 2000 { // as keys: the working set, refilled at a parse each
		v.certs = map[[32]byte]*x509.Certificate{}
	}
	v.certs[k] = c
	v.mu.Unlock()
	return c, nil
}

// signerOf returns c's signer, parsed once per certificate and kept: the
// keys that sign most documents get their comb tables (gost.CombAfter), and
// every cached result of one signer shares one certificate.
func (v *Verifier) signerOf(c *x509.Certificate) (*signer, error) {
	k := sha256.Sum256(c.Raw)
	v.mu.Lock()
	sg, hit := v.keys[k]
	v.mu.Unlock()
	if hit {
		return sg, nil
	}
	pub, err := PublicKey(c)
	if err != nil {
		return nil, err
	}
	sg = &signer{cert: c, pub: pub, sum: k}
	v.mu.Lock()
	if len(v.keys) >= 2000 { // a comb table is 60 KB (256-bit) or 245 KB (512-bit): keep the working set, drop the rest
		v.keys = map[[32]byte]*signer{}
	}
	if prev, ok := v.keys[k]; ok {
		sg = prev
	} else {
		v.keys[k] = sg
	}
	v.mu.Unlock()
	return sg, nil
}
