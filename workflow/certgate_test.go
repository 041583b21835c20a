package workflow_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river/rivertype"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/gost"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/signature"
	"github.com/emdhub/hub/internal/sim"
	"github.com/emdhub/hub/internal/testpki"
)

// TestCertificateGate: 500 certificates (1,000 deliveries: ЕГР ЗАГС and
// ЕПГУ) are accepted while their signer's certificate is valid; both peers
// are down, so every delivery fails and waits for its retry. Then the
// certificate expires (the engine's clock moves past its notAfter) and the
// peers come back. The automatic retries, River re-running every job and an
// operator's replay of every delivery all stop at the gate: each delivery
// is blocked_certificate with the reason, the МИС is told, and the
// simulators count zero requests from the moment the gate took over. A
// newly signed version of one certificate resumes it, and only it.
func TestCertificateGate(t *testing.T) {
	e := newEnv(t, map[string]string{"HUB_WORKERS_PER_QUEUE": "20"})
	e.recordOGRNs() // 76 carries its organisation's ОГРН nowhere
	ctx := context.Background()
	realNow := time.Now()
	signers, err := semdgen.IssueSigners(e.orgA, semdgen.RandomPerson(e.rand, 77), realNow.AddDate(0, -1, 0), realNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	outage := map[string]sim.Faults{"*": {Outages: []sim.Window{{Start: realNow, End: realNow.Add(time.Hour)}}}}
	e.sims.Registry.SetFaults(outage)
	e.sims.Portal.SetFaults(outage)

	const certificates = 500
	docs := make([]semdgen.Doc, certificates)
	for i := range docs {
		docs[i] = semdgen.MustBuild(semdgen.Options{Kind: []string{"58", "76"}[i%2], Org: e.orgA, Rand: e.rand, Signers: &signers,
			SetID: fmt.Sprintf("gate-set-%d", i), Effective: realNow.Add(-time.Hour).Truncate(time.Minute)})
	}
	var wg sync.WaitGroup
	errs := make(chan error, certificates)
	work := make(chan semdgen.Doc)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range work {
				if st, body := e.post("/api/v1/documents", e.keyA, d.Submission()); st != 201 {
					errs <- fmt.Errorf("submit: %d %v", st, body)
				}
			}
		}()
	}
	for _, d := range docs {
		work <- d
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// Deliveries fail against the outage and wait for their retries (the
	// breakers hold the rest back as pending).
	e.waitFor("failed attempts at both peers", func() bool {
		var z, p int
		if err := e.app.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE recipient = 'zags'), count(*) FILTER (WHERE recipient = 'epgu')
			FROM deliveries WHERE state = 'retrying' AND attempts > 0`).Scan(&z, &p); err != nil {
			t.Fatal(err)
		}
		return z >= 3 && p >= 3
	})
	if z := e.sims.Registry.Counters()["SubmitMedicalCertificate"]; z.Faults["outage"] == 0 {
		t.Fatalf("the outage was not met: %+v", z)
	}
	// The certificate expires: the workers' clock moves two hours on.
	e.app.Engine.SetClock(func() time.Time { return time.Now().Add(2 * time.Hour) })
	e.pollCount(`SELECT count(*) FROM deliveries WHERE state = 'blocked_certificate'`, 2*certificates, nil)
	// From here on nothing may reach the peers, which are up again.
	e.sims.Registry.ResetCounters()
	e.sims.Portal.ResetCounters()
	e.sims.Registry.SetFaults(nil)
	e.sims.Portal.SetFaults(nil)

	var withCode, notified, blockedLog int
	if err := e.app.Pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE last_error_code = $1`, codes.CertNotActualNow).Scan(&withCode); err != nil {
		t.Fatal(err)
	}
	if err := e.app.Pool.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE event = 'certificate.delivery.blocked'`).Scan(&notified); err != nil {
		t.Fatal(err)
	}
	if withCode != 2*certificates || notified != 2*certificates {
		t.Fatalf("%d deliveries carry the reason, %d notifications; want %d each", withCode, notified, 2*certificates)
	}

	// Retried: every delivery job is run again by River.
	rows, err := e.app.Pool.Query(ctx, `SELECT id FROM river_job WHERE queue IN ('zags', 'epgu')`)
	if err != nil {
		t.Fatal(err)
	}
	var jobIDs []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		jobIDs = append(jobIDs, id)
	}
	rows.Close()
	if len(jobIDs) != 2*certificates {
		t.Fatalf("%d delivery jobs, want %d", len(jobIDs), 2*certificates)
	}
	// River's JobRetry leaves a running job alone (and, when it waited for
	// the worker's transaction, answers with the row it did not update): a
	// job is retried until River answers "available". Each must then be
	// fetched again after retriedAt and complete. attempted_at is the
	// observable, not finalized_at: the worker completes its job inside its
	// own transaction (JobCompleteTx) and River's completer later reports
	// the same run again; when that late report meets the retried run it
	// marks the row completed with the first run's finalized_at.
	retriedAt := time.Now()
	for _, id := range jobIDs {
		for tries := 0; ; tries++ {
			job, err := e.app.Engine.River.JobRetry(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if job.State == rivertype.JobStateAvailable {
				break
			}
			if tries == 3000 {
				t.Fatalf("delivery job %d still running after %d retries", id, tries)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	e.pollCount(fmt.Sprintf(`SELECT count(*) FROM river_job WHERE queue IN ('zags', 'epgu') AND state = '%s' AND attempted_at > $1`, rivertype.JobStateCompleted), 2*certificates, nil, retriedAt)

	// Replayed: the operator's replay is refused with the reason; nothing queued.
	drows, err := e.app.Pool.Query(ctx, `SELECT id FROM deliveries`)
	if err != nil {
		t.Fatal(err)
	}
	var deliveryIDs []string
	for drows.Next() {
		var id uuid.UUID
		if err := drows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		deliveryIDs = append(deliveryIDs, id.String())
	}
	drows.Close()
	for _, id := range deliveryIDs {
		st, body := e.do("POST", "/api/v1/ops/deliveries/"+id+"/replay", e.keyOp, nil)
		if st != 409 || body["code"] != codes.CertNotActualNow {
			t.Fatalf("replay of %s: %d %v", id, st, body)
		}
	}
	var available int
	if err := e.app.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE queue IN ('zags', 'epgu') AND state <> 'completed'`).Scan(&available); err != nil {
		t.Fatal(err)
	}
	if available != 0 {
		t.Fatalf("%d delivery jobs queued by refused replays", available)
	}
	if err := e.app.Pool.QueryRow(ctx, `SELECT count(*) FROM exchange_log WHERE outcome = 'blocked'`).Scan(&blockedLog); err != nil {
		t.Fatal(err)
	}
	z, p := e.sims.Registry.Counters()["SubmitMedicalCertificate"], e.sims.Portal.Counters()["SendNotification"]
	if z.Received != 0 || p.Received != 0 {
		t.Fatalf("requests reached the peers: ЕГР ЗАГС %+v, ЕПГУ %+v", z, p)
	}
	if blockedLog != 2*certificates {
		t.Fatalf("%d blocked attempts logged, want %d (one per delivery)", blockedLog, 2*certificates)
	}

	// A newly signed version (same setId, version 2, a valid certificate) resumes it.
	old := docs[0]
	v2 := semdgen.MustBuild(semdgen.Options{Kind: old.Kind, Org: e.orgA, Rand: e.rand, SetID: "gate-set-0", Version: 2,
		Series: old.Series, Number: old.Number, Patient: &old.Patient})
	st, body := e.post("/api/v1/documents", e.keyA, v2.Submission())
	if st != 201 {
		t.Fatalf("new version: %d %v", st, body)
	}
	e.pollCount(`SELECT count(*) FROM deliveries WHERE state = 'delivered'`, 2, nil)
	var superseded int
	if err := e.app.Pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE state = 'superseded' AND superseded_by = $1`, body["id"]).Scan(&superseded); err != nil {
		t.Fatal(err)
	}
	if superseded != 2 {
		t.Fatalf("%d deliveries of version 1 superseded, want 2", superseded)
	}
	z, p = e.sims.Registry.Counters()["SubmitMedicalCertificate"], e.sims.Portal.Counters()["SendNotification"]
	if z.Received != 1 || z.Unique != 1 || p.Received != 1 || p.Unique != 1 {
		t.Fatalf("after the new version: ЕГР ЗАГС %+v, ЕПГУ %+v", z, p)
	}
}

// TestReferralGate: a referral whose certificate expired before sending
// never reaches the bureau.
func TestReferralGate(t *testing.T) {
	e := newEnv(t, nil)
	signers, err := semdgen.IssueSigners(e.orgA, semdgen.RandomPerson(e.rand, 77), time.Now().AddDate(0, -1, 0), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e.app.Engine.SetClock(func() time.Time { return time.Now().Add(2 * time.Hour) })
	patient := semdgen.RandomPerson(e.rand, 77)
	links, docs := e.linked(2, 0, &patient)
	e.sims.Provider.Add(0, docs...)
	ref := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: e.orgA, Patient: &patient, Links: links, Rand: e.rand, Signers: &signers,
		Effective: time.Now().Add(-time.Hour).Truncate(time.Minute)})
	st, body := e.post("/api/v1/documents", e.keyA, ref.Submission())
	if st != 201 {
		t.Fatalf("submit: %d %v", st, body)
	}
	id := body["id"].(string)
	view := e.waitState(id, "blocked_certificate")
	if view["last_error_code"] != codes.CertNotActualNow {
		t.Fatalf("view: %v", view)
	}
	if c := e.sims.Bureau.Counters()["SendReferral"]; c.Received != 0 {
		t.Fatalf("bureau got %+v", c)
	}
	if _, tr := e.do("GET", "/api/v1/ops/troubles", e.keyOp, nil); len(tr["referrals"].([]any)) != 1 {
		t.Fatalf("operators do not see the blocked referral: %v", tr)
	}
	// Version 2, signed with a valid certificate, goes through; version 1 is superseded.
	v2 := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: e.orgA, Patient: &patient, Links: links, Rand: e.rand,
		SetID: ref.SetID, Version: 2})
	st, body = e.post("/api/v1/documents", e.keyA, v2.Submission())
	if st != 201 {
		t.Fatalf("version 2: %d %v", st, body)
	}
	e.waitState(body["id"].(string), "result_received")
	if s, _ := e.referralState(e.keyA, id); s != "superseded" {
		t.Fatalf("version 1 is %s, want superseded", s)
	}
	if c := e.sims.Bureau.Counters()["SendReferral"]; c.Received != 1 || c.Unique != 1 {
		t.Fatalf("bureau got %+v", c)
	}
}

// TestFetchedDocumentsPassTheSignatureChecks: a linked document whose
// signature was altered, and one signed by another organisation, are
// refused when fetched, with the door's codes; the package is held, not sent.
func TestFetchedDocumentsPassTheSignatureChecks(t *testing.T) {
	e := newEnv(t, nil)
	patient := semdgen.RandomPerson(e.rand, 77)
	good := semdgen.MustBuild(semdgen.Options{Kind: "119", Org: e.orgA, Patient: &patient, Rand: e.rand, Effective: time.Now().Add(-48 * time.Hour)})
	tampered := semdgen.MustBuild(semdgen.Options{Kind: "186", Org: e.orgA, Patient: &patient, Rand: e.rand, Effective: time.Now().Add(-48 * time.Hour),
		Defects: []semdgen.Defect{semdgen.DefectTamperedSig}})
	foreignSigners := semdgen.TestSigners(e.orgB)
	foreign := semdgen.MustBuild(semdgen.Options{Kind: "174", Org: e.orgA, Patient: &patient, Rand: e.rand, Effective: time.Now().Add(-48 * time.Hour),
		Signers: &semdgen.Signers{Doctor: semdgen.TestSigners(e.orgA).Doctor, Org: foreignSigners.Org}})
	e.sims.Provider.Add(0, good.Signed(), tampered.Signed(), foreign.Signed())
	links := []semdgen.Link{{Kind: good.Kind, ID: good.ID}, {Kind: tampered.Kind, ID: tampered.ID}, {Kind: foreign.Kind, ID: foreign.ID}}
	id := e.submitReferral(links, &patient)
	view := e.waitState(id, "incomplete")
	ls := view["links"].([]any)
	want := []struct{ state, code string }{{"fetched", ""}, {"invalid", "SIGNATURE_VERIFICATION_ERROR"}, {"invalid", "SIGNER_ORG_MISMATCH"}}
	for i, w := range want {
		l := ls[i].(map[string]any)
		if l["state"] != w.state || (w.code != "" && l["last_error_code"] != w.code) {
			t.Fatalf("link %d: %v, want %s %s", i+1, l, w.state, w.code)
		}
	}
	if c := e.sims.Bureau.Counters()["SendReferral"]; c.Received != 0 {
		t.Fatalf("a package with bad signatures was sent: %+v", c)
	}
}

// TestBureauResultsPassTheSignatureChecks: a result signed under a CA the
// hub does not trust is kept with the reason, not handed to the МИС.
func TestBureauResultsPassTheSignatureChecks(t *testing.T) {
	e := newEnv(t, nil)
	std := semdgen.TestSigners(e.sims.Bureau.Org)
	key, err := gost.GenerateKey(gost.CurveTC26512A, nil)
	if err != nil {
		t.Fatal(err)
	}
	rogueCert, err := testpki.Issue(testpki.Template{CommonName: e.sims.Bureau.Org.Name, OGRN: e.sims.Bureau.Org.OGRN,
		NotBefore: time.Now().AddDate(-1, 0, 0), NotAfter: time.Now().AddDate(1, 0, 0)}, key.Public(), std.Doctor.Cert, std.Doctor.Key)
	if err != nil {
		t.Fatal(err)
	}
	e.sims.Bureau.ResultSigners = &semdgen.Signers{Doctor: std.Doctor, Org: &semdgen.Signer{Cert: rogueCert, Key: key}}
	patient := semdgen.RandomPerson(e.rand, 77)
	links, docs := e.linked(1, 0, &patient)
	e.sims.Provider.Add(0, docs...)
	id := e.submitReferral(links, &patient)
	var checkErr string
	e.waitFor("the result stored with its reason", func() bool {
		err := e.app.Pool.QueryRow(context.Background(), `SELECT coalesce(check_error, '') FROM mse_results`).Scan(&checkErr)
		return err == nil
	})
	if !strings.Contains(checkErr, signature.CodeNoChain) {
		t.Fatalf("check error %q", checkErr)
	}
	if s, _ := e.referralState(e.keyA, id); s == "result_received" {
		t.Fatal("a badly signed result was handed to the МИС")
	}
	if st, _ := e.do("GET", "/api/v1/mse/referrals/"+id+"/result", e.keyA, nil); st != 404 {
		t.Fatalf("result visible to the МИС: %d", st)
	}
	if _, feed := e.do("GET", "/api/v1/mse/results", e.keyA, nil); len(feed["items"].([]any)) != 0 {
		t.Fatalf("result in the МИС feed: %v", feed)
	}
	if _, ops := e.do("GET", "/api/v1/ops/mse/unmatched-results", e.keyOp, nil); len(ops["items"].([]any)) != 1 {
		t.Fatalf("operators do not see it: %v", ops)
	}
}

// TestRevokedCertificateGate: certificates accepted while their signer's
// certificate was good wait for ЕПГУ and ЕГР ЗАГС; the CA then revokes it.
// The retries and an operator's replay stop at the gate with
// CERTIFICATE_REVOKED, and the peers count no request from then on.
func TestRevokedCertificateGate(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	s, err := semdgen.IssueSigners(e.orgA, semdgen.RandomPerson(e.rand, 77), time.Now().AddDate(-1, 0, 0), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	outage := map[string]sim.Faults{"*": {Outages: []sim.Window{{Start: time.Now(), End: time.Now().Add(time.Hour)}}}}
	e.sims.Registry.SetFaults(outage)
	e.sims.Portal.SetFaults(outage)
	for i := 0; i < 3; i++ {
		d := semdgen.MustBuild(semdgen.Options{Kind: "58", Org: e.orgA, Rand: e.rand, Signers: &s})
		if st, body := e.post("/api/v1/documents", e.keyA, d.Submission()); st != 201 {
			t.Fatalf("submit: %d %v", st, body)
		}
	}
	e.waitFor("failed attempts", func() bool {
		var n int
		_ = e.app.Pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE state = 'retrying'`).Scan(&n)
		return n >= 2
	})
	crl, err := semdgen.TestCRL(s.Doctor.Cert)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.crl"), crl, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Intake.Signatures.Verifier.LoadCRLs(dir); err != nil {
		t.Fatal(err)
	}
	e.pollCount(`SELECT count(*) FROM deliveries WHERE state = 'blocked_certificate' AND last_error_code = 'CERTIFICATE_REVOKED'`, 6, nil)
	e.sims.Registry.ResetCounters()
	e.sims.Portal.ResetCounters()
	e.sims.Registry.SetFaults(nil)
	e.sims.Portal.SetFaults(nil)
	var id uuid.UUID
	if err := e.app.Pool.QueryRow(ctx, `SELECT id FROM deliveries LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if st, body := e.do("POST", "/api/v1/ops/deliveries/"+id.String()+"/replay", e.keyOp, nil); st != 409 || body["code"] != signature.CodeRevoked {
		t.Fatalf("replay: %d %v", st, body)
	}
	time.Sleep(300 * time.Millisecond) // room for a request that should not come
	z, p := e.sims.Registry.Counters()["SubmitMedicalCertificate"], e.sims.Portal.Counters()["SendNotification"]
	if z.Received != 0 || p.Received != 0 {
		t.Fatalf("requests after the revocation: ЕГР ЗАГС %+v, ЕПГУ %+v", z, p)
	}
}
