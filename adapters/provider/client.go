// Package provider is the hub's client of a МИС document provider
// (wsdl/provider): fetch a linked document by its CDA id. NOT_FOUND is
// permanent; SERVICE_UNAVAILABLE and INTERNAL_ERROR are worth a retry.
package provider

import (
	"context"
	"time"

	"github.com/emdhub/hub/adapters/provider/providersoap"
	"github.com/emdhub/hub/internal/signed"
	"github.com/emdhub/hub/internal/soapx"
)

// Service is the name used in errors and the exchange log.
const Service = "provider"

// Client calls one МИС provider endpoint.
type Client struct {
	t       *soapx.Transport
	port    providersoap.ProviderPort
	timeout time.Duration
}

// New returns a client of the provider at url.
func New(url string, o soapx.Options) *Client {
	t := o.NewTransport(Service)
	return &Client{t: t, port: providersoap.NewProviderPort(t.NewSOAPClient(url)), timeout: o.CallTimeout}
}

// GetDocument fetches the document with ClinicalDocument/id root^extension.
func (c *Client) GetDocument(ctx context.Context, messageID, root, extension string) (*signed.Document, error) {
	req := &providersoap.GetDocumentRequest{
		MessageID:      soapx.Ptr(providersoap.MessageID(messageID)),
		CDAIDRoot:      soapx.Ptr(providersoap.OID(root)),
		CDAIDExtension: soapx.Ptr(providersoap.NonEmpty(extension)),
	}
	var res *providersoap.GetDocumentResponse
	err := c.t.Call(ctx, "GetDocument", c.timeout, func(ctx context.Context) (err error) {
		res, err = c.port.GetDocumentContext(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	if res.Document == nil || res.Document.Content == nil {
		return nil, &soapx.Error{Service: Service, Operation: "GetDocument", Class: soapx.Transient, Code: soapx.CodeBadResponse, Message: "no Document"}
	}
	d := FromWire(res.Document)
	if res.Document.SHA256 == nil || string(*res.Document.SHA256) != d.SHA256() {
		return nil, &soapx.Error{Service: Service, Operation: "GetDocument", Class: soapx.Transient, Code: soapx.CodeBadResponse, Message: "SHA256 does not match the content (damaged in transit?)"}
	}
	return &d, nil
}

// ToWire converts a document to the contract's type (the simulator serves with it).
func ToWire(d signed.Document) *providersoap.SignedDocument {
	w := &providersoap.SignedDocument{
		Kind: soapx.Ptr(providersoap.NonEmpty(d.Kind)), CDAIDRoot: soapx.Ptr(providersoap.OID(d.Root)),
		CDAIDExtension: soapx.Ptr(providersoap.NonEmpty(d.Extension)), SHA256: soapx.Ptr(providersoap.SHA256Hex(d.SHA256())),
		Content: soapx.Ptr(providersoap.Base64Data(d.Content)),
	}
	for _, s := range d.Signatures {
		w.Signature = append(w.Signature, &providersoap.Signature{Role: soapx.Ptr(providersoap.SignerRole(s.Role)), CMS: soapx.Ptr(providersoap.Base64Data(s.CMS))})
	}
	return w
}

// FromWire converts the contract's document type.
func FromWire(w *providersoap.SignedDocument) signed.Document {
	d := signed.Document{}
	if w.Kind != nil {
		d.Kind = string(*w.Kind)
	}
	if w.CDAIDRoot != nil {
		d.Root = string(*w.CDAIDRoot)
	}
	if w.CDAIDExtension != nil {
		d.Extension = string(*w.CDAIDExtension)
	}
	if w.Content != nil {
		d.Content = *w.Content
	}
	for _, s := range w.Signature {
		if s != nil && s.Role != nil && s.CMS != nil {
			d.Signatures = append(d.Signatures, signed.Signature{Role: string(*s.Role), CMS: *s.CMS})
		}
	}
	return d
}
