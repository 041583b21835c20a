package sim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseFaultSpec(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	spec, err := ParseFaultSpec("mse.SendReferral:transient=0.2,latency=5ms..20ms; zags.*:outage=10s+30s,hang=0.01", now)
	if err != nil {
		t.Fatal(err)
	}
	f := spec["mse"]["SendReferral"]
	if f.Transient != 0.2 || time.Duration(f.LatencyMin) != 5*time.Millisecond || time.Duration(f.LatencyMax) != 20*time.Millisecond {
		t.Fatalf("mse: %+v", f)
	}
	z := spec["zags"]["*"]
	if len(z.Outages) != 1 || !z.Outages[0].Start.Equal(now.Add(10*time.Second)) || !z.Outages[0].End.Equal(now.Add(40*time.Second)) || z.Hang != 0.01 {
		t.Fatalf("zags: %+v", z)
	}
	for _, bad := range []string{"mse:transient=0.1", "mse.X:transient=2", "mse.X:latency=9ms..1ms", "mse.X:outage=soon", "mse.X:colour=blue", "mse.X:transient"} {
		if _, err := ParseFaultSpec(bad, now); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	set := NewSet()
	if err := set.ApplyFaults(map[string]map[string]Faults{"mse": {"NoSuchOp": {}}}); err == nil {
		t.Error("unknown operation accepted")
	}
	if err := set.ApplyFaults(map[string]map[string]Faults{"nobody": {}}); err == nil {
		t.Error("unknown peer accepted")
	}
}

// TestControlEndpoints drives fault injection and counters over HTTP, as a
// load run or an operator would.
func TestControlEndpoints(t *testing.T) {
	p := NewPortal()
	srv := httptest.NewServer(p)
	defer srv.Close()
	req, _ := http.NewRequest("PUT", srv.URL+"/control/faults", strings.NewReader(`{"*": {"http5xx": 1}}`))
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("put faults: %v %v", res, err)
	}
	res.Body.Close()
	soapReq := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><SendNotificationRequest xmlns="urn:emdhub:epgu:v1"><MessageID>0b5e7c2a-3f7d-5d1e-8a4b-9c0d1e2f3a4b</MessageID><RecipientSNILS>11223344595</RecipientSNILS><Event>CERTIFICATE_ISSUED</Event><DocumentKind>58</DocumentKind><DocumentCDAIDRoot>1.2.3</DocumentCDAIDRoot><DocumentCDAIDExtension>x</DocumentCDAIDExtension></SendNotificationRequest></soapenv:Body></soapenv:Envelope>`
	res, _ = http.Post(srv.URL+"/soap", "text/xml", strings.NewReader(soapReq))
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway {
		t.Fatalf("injected 502: got %d", res.StatusCode)
	}
	req, _ = http.NewRequest("PUT", srv.URL+"/control/faults", strings.NewReader(`{}`))
	res, _ = http.DefaultClient.Do(req)
	res.Body.Close()
	res, _ = http.Post(srv.URL+"/soap", "text/xml", strings.NewReader(soapReq))
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("after clearing faults: %d", res.StatusCode)
	}
	res, err = http.Get(srv.URL + "/control/counters")
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]Counters
	if err := json.NewDecoder(res.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	got := c["SendNotification"]
	if got.Received != 2 || got.Unique != 1 || got.Faults["http5xx"] != 1 {
		t.Fatalf("counters: %+v", got)
	}
	res, _ = http.Post(srv.URL+"/control/reset", "", nil)
	res.Body.Close()
	if len(p.Counters()) != 0 {
		t.Fatal("reset")
	}
}

func TestLatency(t *testing.T) {
	p := NewPolicyRegistry()
	p.SetFaults(map[string]Faults{"FindPolicy": {LatencyMin: Duration(30 * time.Millisecond), LatencyMax: Duration(30 * time.Millisecond)}})
	d := p.decide("FindPolicy", time.Now())
	if d.latency != 30*time.Millisecond || d.kind != "" {
		t.Fatalf("decision: %+v", d)
	}
	p.SetFaults(map[string]Faults{"*": {Outages: []Window{{Start: time.Now().Add(time.Hour), End: time.Now().Add(2 * time.Hour)}}}})
	if d := p.decide("FindPolicy", time.Now()); d.kind != "" {
		t.Fatalf("a future outage is not active yet: %+v", d)
	}
	if d := p.decide("FindPolicy", time.Now().Add(90*time.Minute)); d.kind != "outage" {
		t.Fatalf("inside the window: %+v", d)
	}
}
