package workflow_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/emdhub/hub/adapters/mse"
	"github.com/emdhub/hub/internal/api/openapitest"
	"github.com/emdhub/hub/internal/app"
	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/signed"
	"github.com/emdhub/hub/internal/sim"
	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/testdb"
	"github.com/emdhub/hub/workflow"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// env is a running hub (API + workers) on a fresh database, with every peer
// simulated over real HTTP.
type env struct {
	t          testing.TB
	app        *app.App
	api        *httptest.Server
	sims       *sim.Set
	simURL     map[string]string
	orgA, orgB semdgen.Org
	keyA, keyB string
	keyOp      string
	dbURL      string
	rand       *rand.Rand
	stmts      *stmtCounter // HUB_BENCH_TRACE=1 in a benchmark: statements by name
}

func newEnv(t testing.TB, overrides map[string]string) *env {
	t.Helper()
	return newEnvWith(t, overrides, nil)
}

// newEnvWith is newEnv with each simulator's handler passed through wrap
// (a test standing between the hub and a peer).
func newEnvWith(t testing.TB, overrides map[string]string, wrap func(peer string, h http.Handler) http.Handler) *env {
	t.Helper()
	e := &env{t: t, sims: sim.NewSet(), simURL: map[string]string{}, rand: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))}
	for name, h := range e.sims.Handlers() {
		if wrap != nil {
			h = wrap(name, h)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		e.simURL[name] = srv.URL
	}
	if u, ok := overrides["DATABASE_URL"]; ok {
		e.dbURL = u // a benchmark's durable database: no fast one started for nothing
	} else {
		e.dbURL = testdb.URL(t)
	}
	caDir := t.TempDir()
	if err := semdgen.WriteTestCA(caDir); err != nil {
		t.Fatal(err)
	}
	vals := map[string]string{
		"HUB_TRUSTED_CA_DIR": caDir, "DATABASE_URL": e.dbURL, "HUB_MSE_URL": e.simURL["mse"] + "/soap", "HUB_ZAGS_URL": e.simURL["zags"] + "/soap",
		"HUB_EPGU_URL": e.simURL["epgu"] + "/soap", "HUB_PROVIDER_URL": e.simURL["provider"] + "/soap", "HUB_POLICY_URL": e.simURL["policy"] + "/soap",
		"HUB_SOAP_TIMEOUT": "2s", "HUB_RETRY_BASE": "20ms", "HUB_RETRY_MAX": "200ms", "HUB_RESULTS_POLL_INTERVAL": "100ms",
		"HUB_STATUS_POLL_INTERVAL": "100ms", "HUB_BREAKER_COOLDOWN": "100ms", "HUB_BREAKER_THRESHOLD": "3",
	}
	for k, v := range overrides {
		vals[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vals[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var a *app.App
	if _, bench := t.(*testing.B); overrides[traceStatements] == "1" || bench && os.Getenv("HUB_BENCH_TRACE") == "1" {
		a = tracedApp(ctx, t, cfg, e)
	} else if a, err = app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	e.app = a
	if err := a.Engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	e.api = httptest.NewServer(openapitest.Record(t, a.API.Handler())) // responses checked against openapi.yaml
	t.Cleanup(func() {
		e.api.Close()
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = a.Engine.Stop(sctx)
		cancel()
		a.Close()
	})
	e.orgA, e.orgB = semdgen.NewOrg(77, 41), semdgen.NewOrg(16, 42)
	if overrides["HUB_MODE"] == "worker" {
		return e
	}
	ra, err := a.Store.RegisterSystem(ctx, e.orgA.OID, e.orgA.Name, "МИС А")
	if err != nil {
		t.Fatal(err)
	}
	rb, err := a.Store.RegisterSystem(ctx, e.orgB.OID, e.orgB.Name, "МИС Б")
	if err != nil {
		t.Fatal(err)
	}
	e.keyA, e.keyB = ra.APIKey, rb.APIKey
	if e.keyOp, err = a.Store.CreateOperator(ctx, "op"); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) do(method, path, key string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.api.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// post is do for other goroutines: a transport error comes back as status 0.
func (e *env) post(path, key string, body any) (int, map[string]any) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", e.api.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, map[string]any{"error": err.Error()}
	}
	defer res.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// linked builds n linked documents of org A held by the provider simulator
// (failFirst as in sim.Provider.Add), and returns their links.
func (e *env) linked(n, failFirst int, patient *semdgen.Person) ([]semdgen.Link, []signed.Document) {
	kinds := []string{"119", "186", "174", "147", "158"}
	var links []semdgen.Link
	var docs []signed.Document
	for i := 0; i < n; i++ {
		d := semdgen.MustBuild(semdgen.Options{Kind: kinds[i%len(kinds)], Org: e.orgA, Patient: patient, Rand: e.rand, Effective: time.Now().Add(-48 * time.Hour)})
		links = append(links, semdgen.Link{Kind: d.Kind, ID: d.ID})
		docs = append(docs, d.Signed())
	}
	return links, docs
}

func (e *env) submitReferral(links []semdgen.Link, patient *semdgen.Person) string {
	e.t.Helper()
	ref := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: e.orgA, Patient: patient, Links: links, Rand: e.rand})
	st, body := e.do("POST", "/api/v1/documents", e.keyA, ref.Submission())
	if st != 201 {
		e.t.Fatalf("submit referral: %d %v", st, body)
	}
	return body["id"].(string)
}

// waitFor polls until cond holds; the limit only guards against a hang.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitState waits until referral id (of МИС A) is in state and returns its view.
func (e *env) waitState(id, state string) map[string]any {
	e.t.Helper()
	var view map[string]any
	e.waitFor("referral state "+state, func() bool {
		var s string
		s, view = e.referralState(e.keyA, id)
		return s == state
	})
	return view
}

func (e *env) referralState(key, id string) (string, map[string]any) {
	st, body := e.do("GET", "/api/v1/mse/referrals/"+id, key, nil)
	if st != 200 {
		return fmt.Sprint(st), body
	}
	return body["state"].(string), body
}

func TestReferralPackageEndToEnd(t *testing.T) {
	e := newEnv(t, nil)
	patient := semdgen.RandomPerson(e.rand, 77)
	links, docs := e.linked(5, 0, &patient)
	e.sims.Provider.Add(0, docs...)
	id := e.submitReferral(links, &patient)

	var view map[string]any
	e.waitFor("the result", func() bool {
		var s string
		s, view = e.referralState(e.keyA, id)
		return s == "result_received"
	})
	for _, l := range view["links"].([]any) {
		if l.(map[string]any)["state"] != "fetched" {
			t.Fatalf("link not fetched: %v", l)
		}
	}
	tl := view["timeline"].(map[string]any)
	for _, k := range []string{"received", "assembled", "sent", "result_received"} {
		if tl[k] == nil {
			t.Fatalf("timeline lacks %s: %v", k, tl)
		}
	}
	if view["case_id"] == nil {
		t.Fatalf("no case id: %v", view)
	}
	c := e.sims.Bureau.Counters()["SendReferral"]
	if c.Unique != 1 || c.Duplicates != 0 {
		t.Fatalf("bureau counters: %+v", c)
	}
	st, res := e.do("GET", "/api/v1/mse/referrals/"+id+"/result", e.keyA, nil)
	if st != 200 || res["type"] != "RESULT" || res["kind"] != "187" || res["signatures"] == nil || res["document"] == nil {
		t.Fatalf("result: %d %v", st, res)
	}
	st, feed := e.do("GET", "/api/v1/mse/results", e.keyA, nil)
	if st != 200 || len(feed["items"].([]any)) != 1 || feed["next_cursor"] == "" {
		t.Fatalf("feed: %v", feed)
	}
	st, feed = e.do("GET", "/api/v1/mse/results?after="+feed["next_cursor"].(string), e.keyA, nil)
	if st != 200 || len(feed["items"].([]any)) != 0 {
		t.Fatalf("feed after cursor: %v", feed)
	}
	// Another МИС sees nothing of it.
	if st, _ := e.do("GET", "/api/v1/mse/referrals/"+id, e.keyB, nil); st != 404 {
		t.Fatalf("other МИС reads the referral: %d", st)
	}
	if st, _ := e.do("GET", "/api/v1/mse/referrals/"+id+"/result", e.keyB, nil); st != 404 {
		t.Fatalf("other МИС reads the result: %d", st)
	}
	if _, feed := e.do("GET", "/api/v1/mse/results", e.keyB, nil); len(feed["items"].([]any)) != 0 {
		t.Fatalf("other МИС's feed shows the result")
	}
	e.waitFor("the acknowledgement", func() bool { return e.sims.Bureau.Pending() == 0 })
	var logged int
	_ = e.app.Pool.QueryRow(context.Background(), `SELECT count(*) FROM exchange_log WHERE operation IN ('GetDocument', 'SendReferral', 'Result', 'AckResults')`).Scan(&logged)
	if logged < 5+1+1+1 {
		t.Fatalf("exchange log has %d rows for the flow", logged)
	}
}

func TestProviderFailsTransientlyThenRecovers(t *testing.T) {
	e := newEnv(t, nil)
	patient := semdgen.RandomPerson(e.rand, 77)
	links, docs := e.linked(3, 3, &patient) // each fails its first 3 requests
	e.sims.Provider.Add(3, docs...)
	id := e.submitReferral(links, &patient)
	var view map[string]any
	e.waitFor("the result", func() bool {
		var s string
		s, view = e.referralState(e.keyA, id)
		return s == "result_received"
	})
	for _, l := range view["links"].([]any) {
		lm := l.(map[string]any)
		if lm["state"] != "fetched" || lm["attempts"].(float64) < 3 {
			t.Fatalf("link: %v", lm)
		}
	}
	for _, d := range docs {
		if n := e.sims.Provider.Requests(d.Key()); n != 4 {
			t.Fatalf("provider asked %d times for %s, want 4", n, d.Key())
		}
	}
}

type callback struct {
	event       string
	signatureOK bool
}

func TestProviderLacksADocument(t *testing.T) {
	e := newEnv(t, callbackAllow) // the МИС's receiver is on loopback
	// The МИС registers a callback; notifications arrive signed with its secret.
	callbacks := make(chan callback, 10)
	var secret []byte
	mis := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var n struct {
			Event string `json:"event"`
		}
		_ = json.Unmarshal(body, &n)
		ok := r.Header.Get(workflow.SignatureHeader) == workflow.Sign(secret, r.Header.Get(workflow.TimestampHeader), body)
		callbacks <- callback{event: n.Event, signatureOK: ok}
	}))
	defer mis.Close()
	st, cb := e.do("PUT", "/api/v1/me/callback", e.keyA, map[string]string{"url": mis.URL})
	if st != 200 {
		t.Fatalf("callback: %d %v", st, cb)
	}
	secret, _ = base64.StdEncoding.DecodeString(cb["secret"].(string))
	patient := semdgen.RandomPerson(e.rand, 77)
	links, docs := e.linked(3, 0, &patient)
	e.sims.Provider.Add(0, docs[:2]...) // the third is not at the provider
	id := e.submitReferral(links, &patient)
	var view map[string]any
	e.waitFor("the package judged incomplete", func() bool {
		var s string
		s, view = e.referralState(e.keyA, id)
		return s == "incomplete"
	})
	missing := view["links"].([]any)[2].(map[string]any)
	if missing["state"] != "unavailable" || missing["last_error_code"] != "NOT_FOUND" {
		t.Fatalf("missing link: %v", missing)
	}
	if c := e.sims.Bureau.Counters()["SendReferral"]; c.Received != 0 {
		t.Fatalf("an incomplete package was sent: %+v", c)
	}
	var told int
	_ = e.app.Pool.QueryRow(context.Background(), `SELECT count(*) FROM notifications WHERE event = 'mse.referral.incomplete'`).Scan(&told)
	if told != 1 {
		t.Fatalf("the МИС was not told (%d notifications)", told)
	}
	select {
	case cb := <-callbacks:
		if cb.event != "mse.referral.incomplete" || !cb.signatureOK {
			t.Fatalf("callback: %+v", cb)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the МИС callback was not called")
	}
	// Operators see it; the МИС completes it by a re-fetch once the document is there.
	if st, tr := e.do("GET", "/api/v1/ops/troubles", e.keyOp, nil); st != 200 {
		t.Fatalf("troubles: %d %v", st, tr)
	}
	if _, tr := e.do("GET", "/api/v1/ops/troubles", e.keyOp, nil); len(tr["referrals"].([]any)) != 1 || tr["referrals"].([]any)[0].(map[string]any)["reason"] != "incomplete" {
		t.Fatalf("troubles: %v", tr)
	}
	e.sims.Provider.Add(0, docs[2])
	if st, body := e.do("POST", "/api/v1/mse/referrals/"+id+"/refetch", e.keyA, nil); st != 202 {
		t.Fatalf("refetch: %d %v", st, body)
	}
	e.waitFor("the completed package's result", func() bool { s, _ := e.referralState(e.keyA, id); return s == "result_received" })
	if c := e.sims.Bureau.Counters()["SendReferral"]; c.Unique != 1 {
		t.Fatalf("bureau: %+v", c)
	}
}

func TestBureauOutage(t *testing.T) {
	e := newEnv(t, nil)
	now := time.Now()
	e.sims.Bureau.SetFaults(map[string]sim.Faults{"SendReferral": {Outages: []sim.Window{{Start: now, End: now.Add(1500 * time.Millisecond)}}}})
	patient := semdgen.RandomPerson(e.rand, 77)
	var ids []string
	for i := 0; i < 3; i++ {
		links, docs := e.linked(2, 0, &patient)
		e.sims.Provider.Add(0, docs...)
		ids = append(ids, e.submitReferral(links, &patient))
	}
	for _, id := range ids {
		e.waitFor("results after the outage", func() bool { s, _ := e.referralState(e.keyA, id); return s == "result_received" })
	}
	c := e.sims.Bureau.Counters()["SendReferral"]
	if c.Unique != 3 || c.Duplicates != 0 || c.Faults["outage"] == 0 {
		t.Fatalf("bureau counters: %+v", c)
	}
}

func TestCertificatesReachZAGSAndEPGUOnce(t *testing.T) {
	e := newEnv(t, nil)
	e.recordOGRNs() // 76 carries its organisation's ОГРН nowhere
	now := time.Now()
	e.sims.Portal.SetFaults(map[string]sim.Faults{"*": {Outages: []sim.Window{{Start: now, End: now.Add(time.Second)}}}})
	var docIDs []string
	for _, kind := range []string{"58", "59", "76", "58"} {
		d := semdgen.MustBuild(semdgen.Options{Kind: kind, Org: e.orgA, Rand: e.rand})
		st, body := e.do("POST", "/api/v1/documents", e.keyA, d.Submission())
		if st != 201 {
			t.Fatalf("submit %s: %d %v", kind, st, body)
		}
		docIDs = append(docIDs, body["id"].(string))
	}
	for _, id := range docIDs {
		e.waitFor("both deliveries", func() bool {
			_, body := e.do("GET", "/api/v1/documents/"+id+"/deliveries", e.keyA, nil)
			items, _ := body["items"].([]any)
			done := 0
			for _, it := range items {
				if it.(map[string]any)["state"] == "delivered" {
					done++
				}
			}
			return len(items) == 2 && done == 2
		})
	}
	z := e.sims.Registry.Counters()["SubmitMedicalCertificate"]
	p := e.sims.Portal.Counters()["SendNotification"]
	if z.Unique != 4 || z.Duplicates != 0 || p.Unique != 4 || p.Duplicates != 0 || p.Faults["outage"] == 0 {
		t.Fatalf("zags %+v epgu %+v", z, p)
	}
	if st, _ := e.do("GET", "/api/v1/documents/"+docIDs[0]+"/deliveries", e.keyB, nil); st != 404 {
		t.Fatalf("other МИС sees deliveries: %d", st)
	}
}

func TestPermanentRefusalStopsAndReplay(t *testing.T) {
	e := newEnv(t, nil)
	d := semdgen.MustBuild(semdgen.Options{Kind: "58", Org: e.orgA, Rand: e.rand})
	e.sims.Portal.SetNoAccount(d.Patient.SNILS)
	st, body := e.do("POST", "/api/v1/documents", e.keyA, d.Submission())
	if st != 201 {
		t.Fatal(st, body)
	}
	id := body["id"].(string)
	var epguDelivery map[string]any
	e.waitFor("the refusal", func() bool {
		_, b := e.do("GET", "/api/v1/documents/"+id+"/deliveries", e.keyA, nil)
		for _, it := range b["items"].([]any) {
			if m := it.(map[string]any); m["recipient"] == "epgu" && m["state"] == "failed" {
				epguDelivery = m
				return true
			}
		}
		return false
	})
	if epguDelivery["last_error_code"] != "NO_PORTAL_ACCOUNT" {
		t.Fatalf("delivery: %v", epguDelivery)
	}
	time.Sleep(300 * time.Millisecond) // several retry periods: a permanent refusal must not be resent
	if p := e.sims.Portal.Counters()["SendNotification"]; p.Received != 1 {
		t.Fatalf("a permanent refusal was resent: %+v", p)
	}
	_, tr := e.do("GET", "/api/v1/ops/troubles", e.keyOp, nil)
	if len(tr["deliveries"].([]any)) != 1 {
		t.Fatalf("troubles: %v", tr)
	}
	// The citizen gets an account; the operator replays.
	e.sims.Portal.SetNoAccountCleared(d.Patient.SNILS)
	if st, b := e.do("POST", "/api/v1/ops/deliveries/"+epguDelivery["id"].(string)+"/replay", e.keyOp, nil); st != 202 {
		t.Fatalf("replay: %d %v", st, b)
	}
	e.waitFor("the replayed delivery", func() bool {
		_, b := e.do("GET", "/api/v1/documents/"+id+"/deliveries", e.keyA, nil)
		for _, it := range b["items"].([]any) {
			if m := it.(map[string]any); m["recipient"] == "epgu" && m["state"] == "delivered" {
				return true
			}
		}
		return false
	})
	if st, _ := e.do("POST", "/api/v1/ops/deliveries/"+epguDelivery["id"].(string)+"/replay", e.keyOp, nil); st != 409 {
		t.Fatalf("replaying a delivered one: %d", st)
	}
	if st, _ := e.do("POST", "/api/v1/ops/deliveries/"+epguDelivery["id"].(string)+"/replay", e.keyA, nil); st != 403 {
		t.Fatalf("a МИС replaying: %d", st)
	}
}

func TestUnmatchedResultIsKeptForOperators(t *testing.T) {
	e := newEnv(t, nil)
	// Someone else's referral reaches the bureau directly; its result matches nothing in this hub.
	org := semdgen.NewOrg(50, 77)
	ref := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Rand: e.rand})
	c := mse.New(e.simURL["mse"]+"/soap", soapx.Options{})
	if _, err := c.SendReferral(context.Background(), mse.Referral{MessageID: soapx.MessageID("stray"), SenderOrgOID: org.OID, SenderSystem: "x", Referral: ref.Signed()}); err != nil {
		t.Fatal(err)
	}
	var page map[string]any
	e.waitFor("the unmatched result", func() bool {
		_, page = e.do("GET", "/api/v1/ops/mse/unmatched-results", e.keyOp, nil)
		items, _ := page["items"].([]any)
		return len(items) == 1
	})
	e.waitFor("the acknowledgement of the unmatched result", func() bool { return e.sims.Bureau.Pending() == 0 })
	if _, feed := e.do("GET", "/api/v1/mse/results", e.keyA, nil); len(feed["items"].([]any)) != 0 {
		t.Fatal("an unmatched result leaked into a МИС feed")
	}
}

// TestAPIAndWorkerProcessesShareTheDatabase: an API-only hub takes the
// documents in (and runs no job); a worker-only hub on the same database does
// the work and serves no API.
func TestAPIAndWorkerProcessesShareTheDatabase(t *testing.T) {
	api := newEnv(t, map[string]string{"HUB_MODE": "api"})
	api.recordOGRNs() // 76 carries its organisation's ОГРН nowhere
	d := semdgen.MustBuild(semdgen.Options{Kind: "76", Org: api.orgA, Rand: api.rand})
	st, body := api.do("POST", "/api/v1/documents", api.keyA, d.Submission())
	if st != 201 {
		t.Fatal(st, body)
	}
	id := body["id"].(string)
	time.Sleep(300 * time.Millisecond)
	if c := api.sims.Registry.Counters()["SubmitMedicalCertificate"]; c.Received != 0 {
		t.Fatalf("an API-only process worked a job: %+v", c)
	}
	worker := newEnv(t, map[string]string{"HUB_MODE": "worker", "DATABASE_URL": api.dbURL,
		"HUB_ZAGS_URL": api.simURL["zags"] + "/soap", "HUB_EPGU_URL": api.simURL["epgu"] + "/soap"})
	if st, _ := worker.do("GET", "/api/v1/documents/"+id, api.keyA, nil); st != 404 {
		t.Fatalf("a worker-only process serves the API: %d", st)
	}
	api.waitFor("the worker process to deliver", func() bool {
		_, b := api.do("GET", "/api/v1/documents/"+id+"/deliveries", api.keyA, nil)
		n := 0
		for _, it := range b["items"].([]any) {
			if it.(map[string]any)["state"] == "delivered" {
				n++
			}
		}
		return n == 2
	})
}

// recordOGRNs records both test organisations' ОГРН, as an operator does
// (register-system -org-ogrn): a document of kind 76 carries its
// organisation's ОГРН nowhere its official XSD allows, so the organisation's
// signature is matched against the record.
func (e *env) recordOGRNs() {
	e.t.Helper()
	for _, o := range []semdgen.Org{e.orgA, e.orgB} {
		if _, err := e.app.Store.RecordOrganizationOGRN(context.Background(), o.OID, o.OGRN); err != nil {
			e.t.Fatal(err)
		}
	}
}
