package soak

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/sim"
	"github.com/emdhub/hub/internal/testdb"
)

// cleanRun is three flows that went exactly as designed, as observed.
func cleanRun() ([]*Flow, *Observed) {
	flows := []*Flow{
		{N: 0, Design: DesignReferral, Kind: "121", Org: 0, LocalID: "r0", Root: "1.2", DocID: "d0"},
		{N: 1, Design: DesignReferralMissing, Kind: "121", Org: 1, LocalID: "r1", Root: "1.2", DocID: "d1"},
		{N: 2, Design: DesignCertificate, Kind: "58", Org: 1, LocalID: "c2", Root: "1.2", DocID: "d2"},
	}
	o := &Observed{
		Documents: map[string]string{"d0": "1.2^r0", "d1": "1.2^r1", "d2": "1.2^c2"},
		Referrals: map[string]ReferralObs{
			"d0": {ID: "ref0", State: "result_received", Results: 1, ResultTypes: []string{"RESULT"}, SendMessageIDs: 1},
			"d1": {ID: "ref1", State: "incomplete", LastError: "1 linked document(s) could not be assembled"},
		},
		Deliveries: map[string]map[string]DeliveryObs{"d2": {"zags": {State: "delivered"}, "epgu": {State: "delivered"}}},
		Counters: map[string]map[string]sim.Counters{
			"zags": {"SubmitMedicalCertificate": {Received: 3, Unique: 1, Duplicates: 2}},
			"epgu": {"SendNotification": {Received: 1, Unique: 1}},
			"mse":  {"SendReferral": {Received: 2, Unique: 1, Duplicates: 1}},
		},
		ResultAccess: map[string]Access{"d0": {Owner: 200, Other: 404}},
	}
	return flows, o
}

// TestCheckCatchesEachBrokenInvariant proves every check can fail: each
// case breaks one thing in an otherwise clean run and names the check that
// must catch it and the offender it must list.
func TestCheckCatchesEachBrokenInvariant(t *testing.T) {
	const (
		accepted = "every submission accepted by the API"
		stored   = "0 flows lost: every accepted document stored"
		started  = "0 flows lost: every stored document has its flow"
		settled  = "every flow terminal or held for a stated reason"
		designed = "every flow ended as designed (no permanent faults injected)"
		dups     = "0 duplicate deliveries (peers' unique counts = flows; one message id per flow)"
		visible  = "every result visible to its МИС (200) and to no other (404)"
		exits    = "no process exited unless killed by the soak"
		bounded  = "every call bounded by HUB_SOAP_TIMEOUT and on record"
	)
	cases := []struct {
		name     string
		breakIt  func(f []*Flow, o *Observed)
		failed   []string
		offender string
	}{
		{"clean", func([]*Flow, *Observed) {}, nil, ""},
		{"submission never accepted", func(f []*Flow, o *Observed) {
			f[2].DocID, f[2].LastError = "", "HTTP 503"
			o.Counters["zags"]["SubmitMedicalCertificate"] = sim.Counters{}
			o.Counters["epgu"]["SendNotification"] = sim.Counters{}
		}, []string{accepted}, "HTTP 503"},
		{"accepted document missing", func(f []*Flow, o *Observed) { delete(o.Documents, "d0") }, []string{stored}, "#0 referral r0"},
		{"stored under other bytes", func(f []*Flow, o *Observed) { o.Documents["d2"] = "1.2^other" }, []string{stored}, "stored as 1.2^other"},
		{"referral never started", func(f []*Flow, o *Observed) { delete(o.Referrals, "d0"); delete(o.ResultAccess, "d0") }, []string{started}, "no referral"},
		{"certificate with one delivery", func(f []*Flow, o *Observed) { delete(o.Deliveries["d2"], "epgu") }, []string{started}, "1 deliveries"},
		{"referral stuck sending", func(f []*Flow, o *Observed) {
			o.Referrals["d0"] = ReferralObs{State: "sending", SendMessageIDs: 1}
			delete(o.ResultAccess, "d0")
			o.Counters["mse"]["SendReferral"] = sim.Counters{}
		}, []string{settled, designed, dups}, "sending"},
		{"held without a reason", func(f []*Flow, o *Observed) { o.Referrals["d1"] = ReferralObs{State: "incomplete"} }, []string{settled}, "#1 referral-missing-link"},
		{"delivery failed with its reason", func(f []*Flow, o *Observed) {
			o.Deliveries["d2"]["epgu"] = DeliveryObs{State: "failed", LastError: "VALIDATION_ERROR: refused"}
			o.Counters["epgu"]["SendNotification"] = sim.Counters{}
		}, []string{designed, dups}, "epgu failed"},
		{"result overwritten by a late send completion", func(f []*Flow, o *Observed) {
			o.Referrals["d0"] = ReferralObs{State: "sent", Results: 1, ResultTypes: []string{"RESULT"}, SendMessageIDs: 1}
		}, []string{settled, designed}, "state sent although its result is stored"},
		{"incomplete referral reached the bureau", func(f []*Flow, o *Observed) {
			o.Counters["mse"]["SendReferral"] = sim.Counters{Unique: 2}
		}, []string{dups}, "opened 2 cases"},
		{"certificate registered twice", func(f []*Flow, o *Observed) {
			o.Counters["zags"]["SubmitMedicalCertificate"] = sim.Counters{Unique: 2}
		}, []string{dups}, "registered 2"},
		{"certificate under a second message id", func(f []*Flow, o *Observed) {
			o.Deliveries["d2"]["zags"] = DeliveryObs{State: "delivered", Duplicate: true}
		}, []string{dups}, "another message id: #2"},
		{"notification sent twice", func(f []*Flow, o *Observed) {
			o.Counters["epgu"]["SendNotification"] = sim.Counters{Unique: 2}
		}, []string{dups}, "ЕПГУ sent 2"},
		{"referral sent under two message ids", func(f []*Flow, o *Observed) {
			r := o.Referrals["d0"]
			r.SendMessageIDs = 2
			o.Referrals["d0"] = r
		}, []string{dups}, "2 message ids"},
		{"two results for one referral", func(f []*Flow, o *Observed) {
			o.Referrals["d0"] = ReferralObs{State: "result_received", Results: 2, ResultTypes: []string{"RESULT", "RESULT"}, SendMessageIDs: 1}
		}, []string{dups, designed}, "2 results"},
		{"a call outlived the SOAP timeout", func(f []*Flow, o *Observed) {
			o.Calls = append(o.Calls, CallStats{Peer: "zags", Operation: "SubmitMedicalCertificate", Calls: 3, OverLimit: 1, MaxMillis: 5000})
		}, []string{bounded}, "zags SubmitMedicalCertificate: 1 call(s) over"},
		{"killed calls are not unbounded ones", func(f []*Flow, o *Observed) {
			o.Calls = append(o.Calls, CallStats{Peer: "zags", Operation: "SubmitMedicalCertificate", Calls: 3, Killed: 2, MaxMillis: 900})
		}, nil, ""},
		{"result hidden from its МИС", func(f []*Flow, o *Observed) { o.ResultAccess["d0"] = Access{Owner: 404, Other: 404} }, []string{visible}, "owner HTTP 404"},
		{"result shown to another МИС", func(f []*Flow, o *Observed) { o.ResultAccess["d0"] = Access{Owner: 200, Other: 200} }, []string{visible}, "other МИС HTTP 200"},
		{"a process died by itself", func(f []*Flow, o *Observed) { o.UnexpectedExits = []string{"hub worker pid 7: exit status 1"} }, []string{exits}, "pid 7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			flows, o := cleanRun()
			c.breakIt(flows, o)
			checks := check(flows, o)
			if len(checks) != 9 {
				t.Fatalf("%d checks, want 9", len(checks))
			}
			want := map[string]bool{}
			for _, n := range c.failed {
				want[n] = true
			}
			for _, ch := range checks {
				if ch.OK == want[ch.Name] {
					t.Errorf("%q: ok=%v, want ok=%v (offenders %v)", ch.Name, ch.OK, !want[ch.Name], ch.Offenders)
				}
				if !ch.OK && len(c.failed) > 0 && ch.Name == c.failed[0] && !strings.Contains(strings.Join(ch.Offenders, "\n"), c.offender) {
					t.Errorf("%q lists %v, want one naming %q", ch.Name, ch.Offenders, c.offender)
				}
			}
		})
	}
}

// TestPlanIsRepeatableAndMixed pins the flow mix: a pure function of the
// seed, with every design present and certificates in the majority.
func TestPlanIsRepeatableAndMixed(t *testing.T) {
	a, b := plan(1000, 4, 42), plan(1000, 4, 42)
	count := map[Design]int{}
	orgs := map[int]bool{}
	for i := range a {
		if a[i].Design != b[i].Design || a[i].Kind != b[i].Kind || a[i].Org != b[i].Org {
			t.Fatalf("flow %d differs between two plans of the same seed", i)
		}
		count[a[i].Design]++
		orgs[a[i].Org] = true
	}
	if count[DesignReferral] < 300 || count[DesignReferralMissing] < 20 || count[DesignCertificate] < 500 || len(orgs) != 4 {
		t.Errorf("mix %v over %d organisations", count, len(orgs))
	}
}

// TestDefaultFaultsParse proves the default chaos is valid simulator input
// and injects at least the shares the soak promises.
func TestDefaultFaultsParse(t *testing.T) {
	spec, err := sim.ParseFaultSpec(DefaultFaults(50*time.Second), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, peer := range []string{"mse", "zags", "epgu", "provider"} {
		f, ok := spec[peer]["*"]
		if !ok {
			t.Fatalf("no faults for %s", peer)
		}
		rl := (1 - f.Transient) * f.RateLimit
		hang := (1 - f.Transient) * (1 - f.RateLimit) * f.Hang
		if f.Transient < 0.2 || rl < 0.0199 || hang < 0.0199 || len(f.Outages) != 1 || f.Outages[0].End.Sub(f.Outages[0].Start) < 4*time.Second {
			t.Errorf("%s: transient %.3f, rate limit share %.4f, hang share %.4f, outages %v", peer, f.Transient, rl, hang, f.Outages)
		}
	}
}

// TestSummarize pins the progress line's grouping.
func TestSummarize(t *testing.T) {
	got := summarize(map[string]int{"referral sent": 5, "referral result_received": 60, "delivery zags delivered": 30,
		"delivery zags retrying": 2, "delivery epgu delivered": 31, "jobs available mse_status": 3, "jobs running deliver_zags": 2,
		"jobs scheduled mse_status": 4})
	want := "referrals result_received 60 sent 5 | zags delivered 30 retrying 2 | epgu delivered 31 | jobs available 3 running 2 scheduled 4 (mse_status 7, deliver_zags 2)"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestDumpWritesEveryTable proves the post-mortem dump's queries run on the
// real schema and write one CSV per table, with its header.
func TestDumpWritesEveryTable(t *testing.T) {
	r := &run{pool: testdb.Pool(t)}
	dir := t.TempDir()
	if err := r.dump(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	for name := range postMortem {
		b, err := os.ReadFile(filepath.Join(dir, name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		if first, _, _ := strings.Cut(string(b), "\n"); !strings.Contains(first, "id,") || strings.Count(first, ",") < 4 {
			t.Errorf("%s.csv starts %q, want its header", name, string(b[:min(len(b), 40)]))
		}
	}
}
