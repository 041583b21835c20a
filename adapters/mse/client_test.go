package mse_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emdhub/hub/adapters/mse"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/signed"
	"github.com/emdhub/hub/internal/sim"
	"github.com/emdhub/hub/internal/soapx"
)

type bundle struct {
	bureau    *sim.Bureau
	srv       *httptest.Server
	client    *mse.Client
	mu        sync.Mutex
	exchanges []*soapx.Exchange
	actions   []string
}

func setup(t *testing.T) *bundle {
	b := &bundle{bureau: sim.NewBureau()}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.actions = append(b.actions, r.Header.Get("SOAPAction"))
		b.mu.Unlock()
		b.bureau.ServeHTTP(w, r)
	}))
	t.Cleanup(b.srv.Close)
	b.client = mse.New(b.srv.URL+"/soap", soapx.Options{CallTimeout: 5 * time.Second, Hook: func(_ context.Context, ex *soapx.Exchange) {
		b.mu.Lock()
		b.exchanges = append(b.exchanges, ex)
		b.mu.Unlock()
	}})
	return b
}

// pkg builds a referral with n linked documents; drop removes one of them from the package.
func pkg(n int, drop bool) mse.Referral {
	org := semdgen.NewOrg(77, 31)
	patient := semdgen.RandomPerson(rand.New(rand.NewPCG(1, 2)), 77)
	var links []semdgen.Link
	var linked []signed.Document
	kinds := []string{"119", "186", "174", "147", "158"}
	for i := 0; i < n; i++ {
		d := semdgen.MustBuild(semdgen.Options{Kind: kinds[i%len(kinds)], Org: org, Patient: &patient})
		links = append(links, semdgen.Link{Kind: d.Kind, ID: d.ID})
		linked = append(linked, d.Signed())
	}
	if drop {
		linked = linked[1:]
	}
	ref := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Patient: &patient, Links: links})
	return mse.Referral{MessageID: soapx.MessageID("test", ref.ID), SenderOrgOID: org.OID, SenderSystem: "МИС", Referral: ref.Signed(), Linked: linked}
}

func TestReferralRoundTrip(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	r := pkg(5, false)
	rc, err := b.client.SendReferral(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if rc.CaseID == "" || rc.Duplicate || rc.ReceivedAt.IsZero() {
		t.Fatalf("receipt: %+v", rc)
	}
	st, err := b.client.GetReferralStatus(ctx, rc.CaseID)
	if err != nil || st.Status != "DECIDED" {
		t.Fatalf("status: %+v %v", st, err)
	}
	results, next, err := b.client.FetchResults(ctx, "", 10)
	if err != nil || len(results) != 1 || next == "" {
		t.Fatalf("fetch: %d %q %v", len(results), next, err)
	}
	res := results[0]
	if res.Type != mse.TypeResult || res.CaseID != rc.CaseID || res.ReferralExtension != r.Referral.Extension || res.Document.Kind != "187" {
		t.Fatalf("result: %+v", res)
	}
	hdr, err := semd.Parse(res.Document.Content)
	if err != nil || len(hdr.InFulfillmentOf) != 1 || hdr.InFulfillmentOf[0].Extension != r.Referral.Extension {
		t.Fatalf("result СЭМД does not answer the referral: %v %+v", err, hdr)
	}
	if len(res.Document.Signatures) != 2 {
		t.Fatalf("result signatures: %d", len(res.Document.Signatures))
	}
	// Served until acknowledged.
	again, _, _ := b.client.FetchResults(ctx, "", 10)
	if len(again) != 1 {
		t.Fatalf("unacknowledged result must be served again, got %d", len(again))
	}
	if after, _, _ := b.client.FetchResults(ctx, next, 10); len(after) != 0 {
		t.Fatalf("cursor: %d results after %s", len(after), next)
	}
	acked, err := b.client.AckResults(ctx, []string{res.MessageID})
	if err != nil || len(acked) != 1 {
		t.Fatalf("ack: %v %v", acked, err)
	}
	if left, _, _ := b.client.FetchResults(ctx, "", 10); len(left) != 0 {
		t.Fatalf("acknowledged result served again")
	}
	// The wire: quoted SOAPAction, the exchange hook saw bytes both ways.
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.actions[0] != `"urn:emdhub:mse:v1/SendReferral"` {
		t.Fatalf("SOAPAction %s", b.actions[0])
	}
	ex := b.exchanges[0]
	if ex.Operation != "SendReferral" || ex.Status != 200 || len(ex.Request) == 0 || len(ex.Response) == 0 || ex.Duration <= 0 {
		t.Fatalf("exchange: %+v", ex)
	}
}

func TestIncompletePackageGetsReturnNotice(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	rc, err := b.client.SendReferral(ctx, pkg(3, true))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := b.client.GetReferralStatus(ctx, rc.CaseID)
	results, _, err := b.client.FetchResults(ctx, "", 10)
	if err != nil || len(results) != 1 || results[0].Type != mse.TypeReturnNotice || results[0].Document.Kind != "130" || results[0].Reason == "" || st.Status != "RETURNED" {
		t.Fatalf("return notice: %+v %+v %v", results, st, err)
	}
}

func TestDuplicateMessageGetsOriginalAnswer(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	r := pkg(2, false)
	first, err := b.client.SendReferral(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	second, err := b.client.SendReferral(ctx, r)
	if err != nil || second.CaseID != first.CaseID || !second.ReceivedAt.Equal(first.ReceivedAt) {
		t.Fatalf("repeat: %+v %v (first %+v)", second, err, first)
	}
	c := b.bureau.Counters()["SendReferral"]
	if c.Received != 2 || c.Unique != 1 || c.Duplicates != 1 || len(b.bureau.Cases()) != 1 {
		t.Fatalf("counters: %+v, cases %v", c, b.bureau.Cases())
	}
}

// TestSameReferralUnderNewMessageIDIsTheSameCase: the bureau knows a
// referral by its document (CDA id) and sender, not by the message that
// carried it: a resend under a new message id (a rescued job, a МИС that
// retried on its own) is the same case, a duplicate, with no second result.
func TestSameReferralUnderNewMessageIDIsTheSameCase(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	r := pkg(2, false)
	first, err := b.client.SendReferral(ctx, r)
	if err != nil || first.Duplicate {
		t.Fatal(first, err)
	}
	r.MessageID = soapx.MessageID("test", "resent", r.Referral.Extension)
	second, err := b.client.SendReferral(ctx, r)
	if err != nil || second.CaseID != first.CaseID || !second.Duplicate || !second.ReceivedAt.Equal(first.ReceivedAt) {
		t.Fatalf("resend under a new id: %+v %v (first %+v)", second, err, first)
	}
	c := b.bureau.Counters()["SendReferral"]
	if c.Received != 2 || c.Unique != 1 || c.Duplicates != 1 || len(b.bureau.Cases()) != 1 {
		t.Fatalf("counters: %+v, cases %v", c, b.bureau.Cases())
	}
	results, _, err := b.client.FetchResults(ctx, "", 10)
	if err != nil || len(results) != 1 || b.bureau.Pending() != 1 {
		t.Fatalf("one case, one result: %d results, %d pending, %v", len(results), b.bureau.Pending(), err)
	}
	// Another sender with a referral of the same id is another case.
	r.SenderOrgOID, r.MessageID = "1.2.643.5.1.13.13.12.2.77.1", soapx.MessageID("test", "other sender")
	third, err := b.client.SendReferral(ctx, r)
	if err != nil || third.CaseID == first.CaseID || third.Duplicate {
		t.Fatalf("another sender: %+v %v", third, err)
	}
}

// TestFaultMessagesCarryNoNil: a referral СЭМД that parses but is not an
// MSE referral is refused with a message that says why, not ": <nil>".
func TestFaultMessagesCarryNoNil(t *testing.T) {
	b := setup(t)
	r := pkg(1, false)
	org := semdgen.NewOrg(77, 31)
	r.Referral = semdgen.MustBuild(semdgen.Options{Kind: "119", Org: org}).Signed()
	_, err := b.client.SendReferral(context.Background(), r)
	var e *soapx.Error
	if !errors.As(err, &e) || e.Code != "VALIDATION_ERROR" || strings.Contains(err.Error(), "<nil>") || !strings.Contains(e.Message, "not 34") {
		t.Fatalf("%v", err)
	}
}

func TestFailureClasses(t *testing.T) {
	tests := []struct {
		name   string
		faults sim.Faults
		class  soapx.Class
		code   string
	}{
		{"transient fault", sim.Faults{Transient: 1}, soapx.Transient, "INTERNAL_ERROR"},
		{"bare HTTP 502", sim.Faults{HTTP5xx: 1}, soapx.Unavailable, "HTTP_502"},
		{"rate limited", sim.Faults{RateLimit: 1}, soapx.RateLimited, "RATE_LIMIT"},
		{"permanent refusal", sim.Faults{Permanent: 1}, soapx.Permanent, "VALIDATION_ERROR"},
		{"outage window", sim.Faults{Outages: []sim.Window{{Start: time.Now().Add(-time.Minute), End: time.Now().Add(time.Hour)}}}, soapx.Unavailable, "SERVICE_UNAVAILABLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t)
			b.bureau.SetFaults(map[string]sim.Faults{"SendReferral": tt.faults})
			_, err := b.client.SendReferral(context.Background(), pkg(1, false))
			var e *soapx.Error
			if !errors.As(err, &e) || e.Class != tt.class || e.Code != tt.code || e.Operation != "SendReferral" || e.Service != "mse" {
				t.Fatalf("want %s %s, got %#v", tt.class, tt.code, err)
			}
			if c := b.bureau.Counters()["SendReferral"]; c.Unique != 0 {
				t.Fatalf("a faulted request must not be processed: %+v", c)
			}
		})
	}
	t.Run("unknown case is permanent", func(t *testing.T) {
		b := setup(t)
		_, err := b.client.GetReferralStatus(context.Background(), "MSE-404")
		if soapx.ClassOf(err) != soapx.Permanent {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("connection refused is unavailable", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		c := mse.New("http://"+addr+"/soap", soapx.Options{})
		_, err := c.GetReferralStatus(context.Background(), "X")
		var e *soapx.Error
		if !errors.As(err, &e) || e.Class != soapx.Unavailable || e.Code != soapx.CodeRefused {
			t.Fatalf("got %#v", err)
		}
	})
}

// TestHangThenRetryIsADuplicate: the bureau processes the referral but the
// answer never comes; the call hits its deadline (transient TIMEOUT), and the
// retry with the same message id gets the original answer, not a second case.
func TestHangThenRetryIsADuplicate(t *testing.T) {
	b := setup(t)
	r := pkg(2, false)
	b.bureau.SetFaults(map[string]sim.Faults{"SendReferral": {Hang: 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err := b.client.SendReferral(ctx, r)
	cancel()
	var e *soapx.Error
	if !errors.As(err, &e) || e.Class != soapx.Transient || e.Code != soapx.CodeTimeout {
		t.Fatalf("want a transient TIMEOUT, got %#v", err)
	}
	b.bureau.SetFaults(nil)
	rc, err := b.client.SendReferral(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	c := b.bureau.Counters()["SendReferral"]
	if c.Unique != 1 || c.Duplicates != 1 || len(b.bureau.Cases()) != 1 || rc.CaseID != b.bureau.Cases()[0] {
		t.Fatalf("counters %+v cases %v", c, b.bureau.Cases())
	}
}
