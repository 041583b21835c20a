// Package policy is the hub's client of the ОМС policy registry
// (wsdl/policy): the ЕНП for a СНИЛС, or the СНИЛС for an ЕНП, for the
// enrichment service.
package policy

import (
	"context"
	"time"

	"github.com/emdhub/hub/adapters/policy/policysoap"
	"github.com/emdhub/hub/internal/soapx"
)

// Service is the name used in errors and the exchange log.
const Service = "policy"

// Client calls one registry endpoint.
type Client struct {
	t       *soapx.Transport
	port    policysoap.PolicyPort
	timeout time.Duration
}

// New returns a client of the registry at url.
func New(url string, o soapx.Options) *Client {
	t := o.NewTransport(Service)
	return &Client{t: t, port: policysoap.NewPolicyPort(t.NewSOAPClient(url)), timeout: o.CallTimeout}
}

// Policy is what the registry knows of a person's ОМС policy.
type Policy struct {
	SNILS       string
	ENP         string
	Active      bool
	InsurerName string
}

// BySNILS looks up the policy of a СНИЛС (11 digits).
func (c *Client) BySNILS(ctx context.Context, messageID, snils string) (*Policy, error) {
	return c.find(ctx, &policysoap.FindPolicyRequest{MessageID: soapx.Ptr(policysoap.MessageID(messageID)), SNILS: soapx.Ptr(policysoap.SNILS(snils))})
}

// ByENP looks up the holder of an ЕНП (16 digits).
func (c *Client) ByENP(ctx context.Context, messageID, enp string) (*Policy, error) {
	return c.find(ctx, &policysoap.FindPolicyRequest{MessageID: soapx.Ptr(policysoap.MessageID(messageID)), ENP: soapx.Ptr(policysoap.ENP(enp))})
}

func (c *Client) find(ctx context.Context, req *policysoap.FindPolicyRequest) (*Policy, error) {
	var res *policysoap.FindPolicyResponse
	err := c.t.Call(ctx, "FindPolicy", c.timeout, func(ctx context.Context) (err error) {
		res, err = c.port.FindPolicyContext(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	if res.SNILS == nil || res.ENP == nil || res.Status == nil {
		return nil, &soapx.Error{Service: Service, Operation: "FindPolicy", Class: soapx.Transient, Code: soapx.CodeBadResponse, Message: "incomplete answer"}
	}
	return &Policy{SNILS: string(*res.SNILS), ENP: string(*res.ENP), Active: *res.Status == policysoap.PolicyStatusACTIVE, InsurerName: res.InsurerName}, nil
}
