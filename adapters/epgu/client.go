// Package epgu is the hub's client of the ЕПГУ notification service
// (wsdl/epgu): tell a citizen that a certificate was issued or that their
// MSE referral moved. Failures come back as classified *soapx.Error.
package epgu

import (
	"context"
	"time"

	"github.com/emdhub/hub/adapters/epgu/epgusoap"
	"github.com/emdhub/hub/internal/soapx"
)

// Service is the name used in errors and the exchange log.
const Service = "epgu"

// Events a notification can carry.
const (
	EventCertificateIssued   = string(epgusoap.EventCERTIFICATE_ISSUED)
	EventMSEReferralAccepted = string(epgusoap.EventMSE_REFERRAL_ACCEPTED)
	EventMSEResultReady      = string(epgusoap.EventMSE_RESULT_READY)
	EventMSEReferralReturned = string(epgusoap.EventMSE_REFERRAL_RETURNED)
	// EventNewMedicalDocuments tells a citizen that new medical documents
	// about them arrived (kind, organisation, date in Text; never content).
	EventNewMedicalDocuments = string(epgusoap.EventNEW_MEDICAL_DOCUMENTS)
)

// Client calls one ЕПГУ endpoint.
type Client struct {
	t       *soapx.Transport
	port    epgusoap.NotificationPort
	timeout time.Duration
}

// New returns a client of the portal at url.
func New(url string, o soapx.Options) *Client {
	t := o.NewTransport(Service)
	return &Client{t: t, port: epgusoap.NewNotificationPort(t.NewSOAPClient(url)), timeout: o.CallTimeout}
}

// Notification is one message to a citizen about a document.
type Notification struct {
	MessageID      string
	RecipientSNILS string // 11 digits
	Event          string
	DocumentKind   string
	DocumentRoot   string
	DocumentExt    string
	Text           string
}

// Receipt is the portal's answer.
type Receipt struct {
	NotificationID string
	Duplicate      bool
	ReceivedAt     time.Time
}

// Send delivers a notification. NO_PORTAL_ACCOUNT comes back as a permanent error.
func (c *Client) Send(ctx context.Context, n Notification) (*Receipt, error) {
	req := &epgusoap.SendNotificationRequest{
		MessageID:              soapx.Ptr(epgusoap.MessageID(n.MessageID)),
		RecipientSNILS:         soapx.Ptr(epgusoap.SNILS(n.RecipientSNILS)),
		Event:                  soapx.Ptr(epgusoap.Event(n.Event)),
		DocumentKind:           soapx.Ptr(epgusoap.NonEmpty(n.DocumentKind)),
		DocumentCDAIDRoot:      soapx.Ptr(epgusoap.OID(n.DocumentRoot)),
		DocumentCDAIDExtension: soapx.Ptr(epgusoap.NonEmpty(n.DocumentExt)),
		Text:                   n.Text,
	}
	var res *epgusoap.SendNotificationResponse
	err := c.t.Call(ctx, "SendNotification", c.timeout, func(ctx context.Context) (err error) {
		res, err = c.port.SendNotificationContext(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	if res.NotificationID == nil || res.Status == nil {
		return nil, &soapx.Error{Service: Service, Operation: "SendNotification", Class: soapx.Transient, Code: soapx.CodeBadResponse, Message: "no NotificationID or Status"}
	}
	return &Receipt{NotificationID: string(*res.NotificationID), Duplicate: *res.Status == epgusoap.AcceptStatusDUPLICATE, ReceivedAt: res.ReceivedAt.ToGoTime()}, nil
}
