// Package zags is the hub's client of the ЕГР ЗАГС medical certificate
// service (wsdl/zags). Failures come back as classified *soapx.Error.
package zags

import (
	"context"
	"time"

	"github.com/emdhub/hub/adapters/zags/zagssoap"
	"github.com/emdhub/hub/internal/kind"
	"github.com/emdhub/hub/internal/signed"
	"github.com/emdhub/hub/internal/soapx"
)

// Service is the name used in errors and the exchange log.
const Service = "zags"

// Certificate types.
const (
	Birth          = string(zagssoap.CertificateTypeBIRTH)
	Death          = string(zagssoap.CertificateTypeDEATH)
	PerinatalDeath = string(zagssoap.CertificateTypePERINATAL_DEATH)
)

// TypeOfKind maps НСИ 1520 kinds to the registry's certificate type; ok is
// false for kinds the registry does not take.
func TypeOfKind(k string) (string, bool) {
	c, ok := kind.CivilCertificateOf(kind.Code(k))
	return string(c), ok
}

// Client calls one ЕГР ЗАГС endpoint.
type Client struct {
	t       *soapx.Transport
	port    zagssoap.RegistryPort
	timeout time.Duration
}

// New returns a client of the registry at url.
func New(url string, o soapx.Options) *Client {
	t := o.NewTransport(Service)
	return &Client{t: t, port: zagssoap.NewRegistryPort(t.NewSOAPClient(url)), timeout: o.CallTimeout}
}

// Certificate is one submission.
type Certificate struct {
	MessageID    string
	SenderOrgOID string
	Type         string
	Series       string
	Number       string
	Document     signed.Document
}

// Receipt is the registry's answer.
type Receipt struct {
	RecordID   string
	Duplicate  bool
	ReceivedAt time.Time
}

// Submit delivers a certificate. A repeat of the message id, or of the
// series and number, gets the original receipt (Duplicate set).
func (c *Client) Submit(ctx context.Context, cert Certificate) (*Receipt, error) {
	req := &zagssoap.SubmitMedicalCertificateRequest{
		MessageID:       soapx.Ptr(zagssoap.MessageID(cert.MessageID)),
		SenderOrgOID:    soapx.Ptr(zagssoap.OID(cert.SenderOrgOID)),
		CertificateType: soapx.Ptr(zagssoap.CertificateType(cert.Type)),
		Series:          soapx.Ptr(zagssoap.NonEmpty(cert.Series)),
		Number:          soapx.Ptr(zagssoap.NonEmpty(cert.Number)),
		Document:        ToWire(cert.Document),
	}
	var res *zagssoap.SubmitMedicalCertificateResponse
	err := c.t.Call(ctx, "SubmitMedicalCertificate", c.timeout, func(ctx context.Context) (err error) {
		res, err = c.port.SubmitMedicalCertificateContext(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	if res.RecordID == nil || res.Status == nil {
		return nil, &soapx.Error{Service: Service, Operation: "SubmitMedicalCertificate", Class: soapx.Transient, Code: soapx.CodeBadResponse, Message: "no RecordID or Status"}
	}
	return &Receipt{RecordID: string(*res.RecordID), Duplicate: *res.Status == zagssoap.AcceptStatusDUPLICATE, ReceivedAt: res.ReceivedAt.ToGoTime()}, nil
}

// ToWire converts a document to the contract's type.
func ToWire(d signed.Document) *zagssoap.SignedDocument {
	w := &zagssoap.SignedDocument{
		Kind: soapx.Ptr(zagssoap.NonEmpty(d.Kind)), CDAIDRoot: soapx.Ptr(zagssoap.OID(d.Root)),
		CDAIDExtension: soapx.Ptr(zagssoap.NonEmpty(d.Extension)), SHA256: soapx.Ptr(zagssoap.SHA256Hex(d.SHA256())),
		Content: soapx.Ptr(zagssoap.Base64Data(d.Content)),
	}
	for _, s := range d.Signatures {
		w.Signature = append(w.Signature, &zagssoap.Signature{Role: soapx.Ptr(zagssoap.SignerRole(s.Role)), CMS: soapx.Ptr(zagssoap.Base64Data(s.CMS))})
	}
	return w
}
