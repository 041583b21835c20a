package semdgen

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/emdhub/hub/internal/gost"
	"github.com/emdhub/hub/internal/signature"
	"github.com/emdhub/hub/internal/signature/fixtures"
	"github.com/emdhub/hub/internal/signed"
	"github.com/emdhub/hub/internal/testpki"
)

// Submission is the JSON body of POST /api/v1/documents.
type Submission struct {
	Kind       string          `json:"kind"`
	LocalID    string          `json:"local_id"`
	Document   string          `json:"document"`
	Signatures []SubmissionSig `json:"signatures"`
}

// SubmissionSig is one detached signature in a Submission.
type SubmissionSig struct {
	Role string `json:"role"`
	CMS  string `json:"cms"`
}

// Signer is a certificate with its private key.
type Signer struct {
	Cert *x509.Certificate
	Key  *gost.PrivateKey
}

// Signers sign a document: the doctor (GOST 256-bit key, TC26 set A, as
// personal certificates mostly are) and the organisation (512-bit, TC26
// set A). Org may be nil for kinds signed by the doctor alone.
type Signers struct {
	Doctor *Signer
	Org    *Signer
}

var testCA = sync.OnceValues(func() (*x509.Certificate, *gost.PrivateKey) {
	certs, err := signature.ParseCertificates(fixtures.File("ca.pem"))
	if err != nil || len(certs) != 1 {
		panic(fmt.Sprintf("semdgen: fixture CA: %d certificates, %v", len(certs), err))
	}
	cert := certs[0]
	key, err := testpki.ParsePrivateKey(fixtures.File("ca.key"))
	if err != nil {
		panic(fmt.Sprintf("semdgen: fixture CA key: %v", err))
	}
	return cert, key
})

// TestCA is the fixture CA (internal/signature/fixtures) that issues the
// generator's certificates; the hub trusts it in tests and the demo only.
func TestCA() *x509.Certificate { c, _ := testCA(); return c }

// TestCAPEM is TestCA in PEM, for a trusted-CA directory.
func TestCAPEM() []byte { return fixtures.File("ca.pem") }

// IssueSigners makes fresh keys for org's doctor and organisation with
// certificates from the fixture CA valid from notBefore to notAfter; the
// subjects carry the organisation's ОГРН, as qualified certificates do.
func IssueSigners(org Org, doctor Person, notBefore, notAfter time.Time) (Signers, error) {
	ca, caKey := testCA()
	issue := func(curve *gost.Curve, t testpki.Template) (*Signer, error) {
		key, err := gost.GenerateKey(curve, nil)
		if err != nil {
			return nil, err
		}
		t.NotBefore, t.NotAfter = notBefore, notAfter
		cert, err := testpki.Issue(t, key.Public(), ca, caKey)
		if err != nil {
			return nil, err
		}
		return &Signer{Cert: cert, Key: key}, nil
	}
	d, err := issue(gost.CurveTC26256A, testpki.Template{CommonName: doctor.Family + " " + doctor.Given + " " + doctor.Patronymic,
		Organization: org.Name, OGRN: org.OGRN, SNILS: doctor.SNILS})
	if err != nil {
		return Signers{}, fmt.Errorf("semdgen: doctor certificate: %w", err)
	}
	o, err := issue(gost.CurveTC26512A, testpki.Template{CommonName: org.Name, Organization: org.Name, OGRN: org.OGRN})
	if err != nil {
		return Signers{}, fmt.Errorf("semdgen: organisation certificate: %w", err)
	}
	return Signers{Doctor: d, Org: o}, nil
}

var signersByOrg sync.Map // OID+OGRN → *Signers

// TestSigners returns org's standing signers (made once per process),
// valid 2025-01-01 to 2035-12-31.
func TestSigners(org Org) *Signers {
	k := org.OID + "/" + org.OGRN
	if s, ok := signersByOrg.Load(k); ok {
		return s.(*Signers)
	}
	doctor := Person{Family: "Иванов", Given: "Иван", Patronymic: "Иванович", SNILS: "11223344595"}
	s, err := IssueSigners(org, doctor, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2035, 12, 31, 23, 59, 59, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	v, _ := signersByOrg.LoadOrStore(k, &s)
	return v.(*Signers)
}

// sigs signs a document once, however often it is wrapped.
type sigs struct {
	once        sync.Once
	doctor, org []byte
	signers     *Signers
	content     []byte
	signingTime time.Time
	tamperSig   bool // DefectTamperedSignature
}

func (s *sigs) get() (doctor, org []byte) {
	s.once.Do(func() {
		sign := func(sg *Signer) []byte {
			if sg == nil {
				return nil
			}
			b, err := testpki.Sign(s.content, sg.Cert, sg.Key, s.signingTime)
			if err != nil {
				panic(fmt.Sprintf("semdgen: sign: %v", err))
			}
			if s.tamperSig {
				b[len(b)-5] ^= 0x01 // inside the signature value, the last element
			}
			return b
		}
		s.doctor, s.org = sign(s.signers.Doctor), sign(s.signers.Org)
	})
	return s.doctor, s.org
}

// Submission wraps the document for the intake API, with a doctor's and an
// organisation's signature.
func (d Doc) Submission() Submission {
	enc := base64.StdEncoding
	doctor, org := d.sigs.get()
	s := Submission{Kind: d.Kind, LocalID: d.ID, Document: enc.EncodeToString(d.XML)}
	if doctor != nil {
		s.Signatures = append(s.Signatures, SubmissionSig{Role: "doctor", CMS: enc.EncodeToString(doctor)})
	}
	if org != nil {
		s.Signatures = append(s.Signatures, SubmissionSig{Role: "organization", CMS: enc.EncodeToString(org)})
	}
	return s
}

// Signed returns the document as it travels between peers, with a doctor's
// and an organisation's signature.
func (d Doc) Signed() signed.Document {
	doctor, org := d.sigs.get()
	out := signed.Document{Kind: d.Kind, Root: d.Root, Extension: d.ID, Content: d.XML}
	if doctor != nil {
		out.Signatures = append(out.Signatures, signed.Signature{Role: signed.RoleDoctor, CMS: doctor})
	}
	if org != nil {
		out.Signatures = append(out.Signatures, signed.Signature{Role: signed.RoleOrganization, CMS: org})
	}
	return out
}

// WriteTestCA writes the fixture CA into dir as emdhub-test-ca.pem, making
// dir usable as HUB_TRUSTED_CA_DIR for tests and the demo.
func WriteTestCA(dir string) error {
	return os.WriteFile(filepath.Join(dir, "emdhub-test-ca.pem"), TestCAPEM(), 0o644)
}

// TestCRL is a revocation list of the fixture CA revoking certs from a
// minute ago, valid for a day: for tests and demos of revocation.
func TestCRL(certs ...*x509.Certificate) ([]byte, error) {
	ca, key := testCA()
	var serials []*big.Int
	for _, c := range certs {
		serials = append(serials, c.SerialNumber)
	}
	now := time.Now()
	return testpki.IssueCRL(ca, key, serials, now.Add(-time.Minute), now.Add(-time.Minute), now.Add(24*time.Hour))
}
