// Package mse is the hub's client of the MSE bureau service (wsdl/mse):
// send a referral package, follow its status, fetch results and return
// notices, acknowledge them. It speaks in domain terms on top of the
// gowsdl-generated msesoap package and returns *soapx.Error for every
// failure, classified (transient, unavailable, rate-limited, permanent) with
// the bureau's fault code kept.
package mse

import (
	"context"
	"fmt"
	"time"

	"github.com/emdhub/hub/adapters/mse/msesoap"
	"github.com/emdhub/hub/internal/signed"
	"github.com/emdhub/hub/internal/soapx"
)

// Service is the name used in errors and the exchange log.
const Service = "mse"

// Client calls one MSE bureau endpoint.
type Client struct {
	t       *soapx.Transport
	port    msesoap.BureauPort
	timeout time.Duration
}

// New returns a client of the bureau at url.
func New(url string, o soapx.Options) *Client {
	t := o.NewTransport(Service)
	return &Client{t: t, port: msesoap.NewBureauPort(t.NewSOAPClient(url)), timeout: o.CallTimeout}
}

// Referral is one package: the referral, its linked documents, and the
// stable message id of this delivery.
type Referral struct {
	MessageID    string
	SenderOrgOID string
	SenderSystem string
	Referral     signed.Document
	Linked       []signed.Document
}

// Receipt is the bureau's answer to a referral.
type Receipt struct {
	CaseID     string
	Duplicate  bool // the bureau had this message id already; this is its original answer
	ReceivedAt time.Time
}

// SendReferral delivers a package.
func (c *Client) SendReferral(ctx context.Context, r Referral) (*Receipt, error) {
	req := &msesoap.SendReferralRequest{
		MessageID:    soapx.Ptr(msesoap.MessageID(r.MessageID)),
		SenderOrgOID: soapx.Ptr(msesoap.OID(r.SenderOrgOID)),
		SenderSystem: soapx.Ptr(msesoap.NonEmpty(r.SenderSystem)),
		Referral:     toWire(r.Referral),
	}
	for _, d := range r.Linked {
		req.LinkedDocument = append(req.LinkedDocument, toWire(d))
	}
	var res *msesoap.SendReferralResponse
	err := c.t.Call(ctx, "SendReferral", c.timeout, func(ctx context.Context) (err error) {
		res, err = c.port.SendReferralContext(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	if res.CaseID == nil || res.Status == nil {
		return nil, badResponse("SendReferral", "no CaseID or Status")
	}
	return &Receipt{CaseID: string(*res.CaseID), Duplicate: *res.Status == msesoap.AcceptStatusDUPLICATE, ReceivedAt: res.ReceivedAt.ToGoTime()}, nil
}

// Status is a case's state at the bureau.
type Status struct {
	CaseID    string
	Status    string // REGISTERED, EXAM_SCHEDULED, DECIDED, RETURNED
	UpdatedAt time.Time
}

// GetReferralStatus asks where a case stands.
func (c *Client) GetReferralStatus(ctx context.Context, caseID string) (*Status, error) {
	var res *msesoap.GetReferralStatusResponse
	err := c.t.Call(ctx, "GetReferralStatus", c.timeout, func(ctx context.Context) (err error) {
		res, err = c.port.GetReferralStatusContext(ctx, &msesoap.GetReferralStatusRequest{CaseID: soapx.Ptr(msesoap.NonEmpty(caseID))})
		return err
	})
	if err != nil {
		return nil, err
	}
	if res.Status == nil {
		return nil, badResponse("GetReferralStatus", "no Status")
	}
	return &Status{CaseID: caseID, Status: string(*res.Status), UpdatedAt: res.UpdatedAt.ToGoTime()}, nil
}

// Result is a result СЭМД (187) or a return notice (130) for a referral.
type Result struct {
	MessageID         string
	CaseID            string
	Type              string // RESULT or RETURN_NOTICE
	ReferralRoot      string
	ReferralExtension string
	Reason            string
	Document          signed.Document
}

// Result types.
const (
	TypeResult       = string(msesoap.ResultTypeRESULT)
	TypeReturnNotice = string(msesoap.ResultTypeRETURN_NOTICE)
)

// FetchResults returns up to limit (1..100) unacknowledged results after the cursor.
func (c *Client) FetchResults(ctx context.Context, after string, limit int) ([]Result, string, error) {
	req := &msesoap.FetchResultsRequest{Limit: soapx.Ptr(msesoap.Limit(limit))}
	if after != "" {
		req.After = soapx.Ptr(msesoap.NonEmpty(after))
	}
	var res *msesoap.FetchResultsResponse
	err := c.t.Call(ctx, "FetchResults", c.timeout, func(ctx context.Context) (err error) {
		res, err = c.port.FetchResultsContext(ctx, req)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	var out []Result
	for _, r := range res.Result {
		if r == nil || r.MessageID == nil || r.Document == nil || r.Type == nil {
			return nil, "", badResponse("FetchResults", "result without MessageID, Type or Document")
		}
		out = append(out, Result{
			MessageID: string(*r.MessageID), CaseID: str(r.CaseID), Type: string(*r.Type),
			ReferralRoot: strOID(r.ReferralCDAIDRoot), ReferralExtension: str(r.ReferralCDAIDExtension),
			Reason: r.Reason, Document: fromWire(r.Document),
		})
	}
	return out, str(res.NextCursor), nil
}

// AckResults acknowledges results the hub has stored; it returns the ids the
// bureau confirmed.
func (c *Client) AckResults(ctx context.Context, messageIDs []string) ([]string, error) {
	req := &msesoap.AckResultsRequest{}
	for _, id := range messageIDs {
		req.MessageID = append(req.MessageID, soapx.Ptr(msesoap.MessageID(id)))
	}
	var res *msesoap.AckResultsResponse
	err := c.t.Call(ctx, "AckResults", c.timeout, func(ctx context.Context) (err error) {
		res, err = c.port.AckResultsContext(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, id := range res.Acknowledged {
		if id != nil {
			out = append(out, string(*id))
		}
	}
	return out, nil
}

func badResponse(op, msg string) error {
	return &soapx.Error{Service: Service, Operation: op, Class: soapx.Transient, Code: soapx.CodeBadResponse, Message: msg}
}

func str(p *msesoap.NonEmpty) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

func strOID(p *msesoap.OID) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

// ToWire converts a document to the contract's type (used by the simulator too).
func ToWire(d signed.Document) *msesoap.SignedDocument { return toWire(d) }

// FromWire converts the contract's document type.
func FromWire(w *msesoap.SignedDocument) signed.Document { return fromWire(w) }

func toWire(d signed.Document) *msesoap.SignedDocument {
	w := &msesoap.SignedDocument{
		Kind: soapx.Ptr(msesoap.NonEmpty(d.Kind)), CDAIDRoot: soapx.Ptr(msesoap.OID(d.Root)),
		CDAIDExtension: soapx.Ptr(msesoap.NonEmpty(d.Extension)), SHA256: soapx.Ptr(msesoap.SHA256Hex(d.SHA256())),
		Content: soapx.Ptr(msesoap.Base64Data(d.Content)),
	}
	for _, s := range d.Signatures {
		w.Signature = append(w.Signature, &msesoap.Signature{Role: soapx.Ptr(msesoap.SignerRole(s.Role)), CMS: soapx.Ptr(msesoap.Base64Data(s.CMS))})
	}
	return w
}

func fromWire(w *msesoap.SignedDocument) signed.Document {
	d := signed.Document{Kind: str(w.Kind), Root: strOID(w.CDAIDRoot), Extension: str(w.CDAIDExtension)}
	if w.Content != nil {
		d.Content = *w.Content
	}
	for _, s := range w.Signature {
		if s == nil {
			continue
		}
		sig := signed.Signature{}
		if s.Role != nil {
			sig.Role = string(*s.Role)
		}
		if s.CMS != nil {
			sig.CMS = *s.CMS
		}
		d.Signatures = append(d.Signatures, sig)
	}
	return d
}

// CheckDigest reports a document whose SHA256 field disagrees with its content.
func CheckDigest(w *msesoap.SignedDocument) error {
	d := fromWire(w)
	if w.SHA256 == nil || string(*w.SHA256) != d.SHA256() {
		return fmt.Errorf("mse: document %s: SHA256 does not match its content", d.Key())
	}
	return nil
}
