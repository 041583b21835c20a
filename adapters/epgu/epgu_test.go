package epgu_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hooklift/gowsdl/soap"

	"github.com/emdhub/hub/adapters/epgu"
	"github.com/emdhub/hub/adapters/epgu/epgusoap"
	"github.com/emdhub/hub/internal/sim"
	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/soapx/soaptest"
)

func TestSendNotification(t *testing.T) {
	portal := sim.NewPortal()
	srv := httptest.NewServer(portal)
	defer srv.Close()
	c := epgu.New(srv.URL+"/soap", soapx.Options{})
	ctx := context.Background()
	n := epgu.Notification{MessageID: soapx.MessageID("n1"), RecipientSNILS: "11223344595", Event: epgu.EventCertificateIssued,
		DocumentKind: "58", DocumentRoot: "1.2.643.5.1.13.13.12.2.77.7973.100.1.1.51", DocumentExt: "DC-1"}
	first, err := c.Send(ctx, n)
	if err != nil || first.NotificationID == "" {
		t.Fatalf("%+v %v", first, err)
	}
	again, err := c.Send(ctx, n)
	if err != nil || again.NotificationID != first.NotificationID {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	portal.SetNoAccount("12345678964")
	n.MessageID, n.RecipientSNILS = soapx.MessageID("n2"), "12345678964"
	_, err = c.Send(ctx, n)
	var e *soapx.Error
	if !errors.As(err, &e) || e.Class != soapx.Permanent || e.Code != "NO_PORTAL_ACCOUNT" {
		t.Fatalf("no account: %#v", err)
	}
	n.MessageID, n.RecipientSNILS = soapx.MessageID("n3"), "11223344596"
	if _, err := c.Send(ctx, n); soapx.ClassOf(err) != soapx.Permanent {
		t.Fatalf("bad СНИЛС: %v", err)
	}
	cn := portal.Counters()["SendNotification"]
	if cn.Received != 4 || cn.Unique != 1 || cn.Duplicates != 1 || cn.Faults["refused"] != 2 {
		t.Fatalf("counters: %+v", cn)
	}
}

func TestGoldenMessages(t *testing.T) {
	id := epgusoap.MessageID("0b5e7c2a-3f7d-5d1e-8a4b-9c0d1e2f3a4b")
	ev := epgusoap.EventMSE_RESULT_READY
	st := epgusoap.AcceptStatusDUPLICATE
	code := epgusoap.FaultCodeNO_PORTAL_ACCOUNT
	for _, tt := range []struct {
		name    string
		payload any
	}{
		{"SendNotificationRequest", &epgusoap.SendNotificationRequest{MessageID: &id, RecipientSNILS: soapx.Ptr(epgusoap.SNILS("11223344595")), Event: &ev,
			DocumentKind: soapx.Ptr(epgusoap.NonEmpty("187")), DocumentCDAIDRoot: soapx.Ptr(epgusoap.OID("1.2.643.5.1.13.13.12.2.77.9001.100.1.1.51")),
			DocumentCDAIDExtension: soapx.Ptr(epgusoap.NonEmpty("187-MSE-000001")), Text: "Готово решение по направлению на МСЭ"}},
		{"SendNotificationResponse", &epgusoap.SendNotificationResponse{NotificationID: soapx.Ptr(epgusoap.NonEmpty("EPGU-000000001")), Status: &st,
			ReceivedAt: soap.CreateXsdDateTime(time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC), true)}},
		{"ServiceFault", &epgusoap.ServiceFault{Code: &code, Message: "no confirmed account"}},
	} {
		t.Run(tt.name, func(t *testing.T) { soaptest.Golden(t, tt.name, tt.payload, "../../wsdl/epgu/epgu.xsd") })
	}
}
