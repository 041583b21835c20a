package workflow_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/workflow"
)

// stepQueryFiles are the store's query files of the flows' own steps
// (internal/store/queries): their statements are what a step costs in
// round trips besides River's and the door's (documents.sql and orgs.sql,
// shared with the intake, are left out).
var stepQueryFiles = []string{"referrals.sql", "deliveries.sql", "exchange_log.sql", "transitions.sql", "citizen_events.sql",
	"notifications.sql", "signer_certificates.sql"}

// stepStatements counts, in a statement snapshot, the statements named in
// stepQueryFiles, by name.
func stepStatements(t *testing.T, snap, before map[string]int) map[string]int {
	t.Helper()
	names := map[string]bool{}
	re := regexp.MustCompile(`(?m)^-- name: (\w+) `)
	for _, f := range stepQueryFiles {
		b, err := os.ReadFile(filepath.Join("..", "internal", "store", "queries", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			names[m[1]] = true
		}
	}
	out := map[string]int{}
	for k, v := range snap {
		if names[k] && v-before[k] > 0 {
			out[k] = v - before[k]
		}
	}
	return out
}

func sum(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}

// TestStepRoundTrips: each step loads what it needs in one statement — a
// delivery with its signer certificates (and, to ЕГР ЗАГС, its document and
// signatures); a link with its provider URL and a document already held; a
// package's documents with their signatures and certificates — so a
// delivery costs 4 statements of its own (load, the 'started' row, the
// state change, the call settled) and the five fetches, assembly and send
// of a referral with 5 links 35, the last fetch assembling in its own
// transaction and the send's jobs inserted together. Before: 5 per delivery to ЕПГУ and 7 to
// ЕГР ЗАГС (DeliveryToSend, SignerCertificates, SignedDocument,
// DocumentSignatureBlobs), and 69 instead of 39 for the referral up to its
// citizen's notice (HeldDocument, SystemProviderURL and OpenLinks per link; the
// assembly job's lock; FetchedLinkDocuments, SignerCertificates and 2 per
// document of the package; the notice's SignerCertificates).
func TestStepRoundTrips(t *testing.T) {
	ctx := context.Background()
	// The results pull polls the bureau on its own clock: not part of a step.
	// Its periodic job is inserted at start and then hourly, and its queue is
	// paused: River's periodic enqueuer would otherwise try an insert every
	// 100 ms, skipped as a duplicate while the first waits (no row, yet a
	// JobInsertFastMany counted below).
	e := newEnv(t, map[string]string{traceStatements: "1", "HUB_STATUS_POLL_INTERVAL": "1h", "HUB_RESULTS_POLL_INTERVAL": "1h"})
	river := e.app.Engine.River
	if err := river.QueuePause(ctx, workflow.QueueResults, nil); err != nil {
		t.Fatal(err)
	}

	t.Run("certificate deliveries", func(t *testing.T) {
		for _, q := range []string{workflow.QueueZAGS, workflow.QueueEPGU} {
			if err := river.QueuePause(ctx, q, nil); err != nil {
				t.Fatal(err)
			}
		}
		const certificates = 3
		for range certificates {
			e.submitCertificate("zags")
		}
		before := e.stmts.snapshot()
		for _, q := range []string{workflow.QueueZAGS, workflow.QueueEPGU} {
			if err := river.QueueResume(ctx, q, nil); err != nil {
				t.Fatal(err)
			}
		}
		e.pollCount(`SELECT count(*) FROM deliveries WHERE state = 'delivered'`, 2*certificates, nil)
		got := stepStatements(t, e.stmts.snapshot(), before)
		const n = 2 * certificates
		want := map[string]int{"DeliveryWithSigners": n, "StartCall": n, "DeliveryDelivered": n, "SettleCall": n}
		if sum(got) != sum(want) || got["DeliveryWithSigners"] != n || got["DeliveryDelivered"] != n {
			t.Fatalf("statements of %d deliveries: %v, want %v", n, got, want)
		}
	})

	t.Run("referral to sent", func(t *testing.T) {
		if err := river.QueuePause(ctx, workflow.QueueFetch, nil); err != nil {
			t.Fatal(err)
		}
		patient := semdgen.RandomPerson(e.rand, 77)
		links, docs := e.linked(5, 0, &patient)
		e.sims.Provider.Add(0, docs...)
		id := e.submitReferral(links, &patient)
		var t0 time.Time
		if err := e.app.Pool.QueryRow(ctx, `SELECT now()`).Scan(&t0); err != nil {
			t.Fatal(err)
		}
		before := e.stmts.snapshot()
		if err := river.QueueResume(ctx, workflow.QueueFetch, nil); err != nil {
			t.Fatal(err)
		}
		e.waitState(id, "sent")
		// The citizen's notice of the registered referral (one ЕПГУ delivery).
		e.pollCount(`SELECT count(*) FROM deliveries WHERE event <> '' AND state = 'delivered'`, 1, nil)
		snap := e.stmts.snapshot()
		got := stepStatements(t, snap, before)
		// Per link: LinkToFetch, StartCall, LockReferral, LinkSettle (which
		// counts the links still open), SettleCall (5×5); the assembly, in the last fetch's
		// transaction: MissingLinks, ReferralAssembled; send: ReferralToSend,
		// PackageToSend, StartCall, SettleCall, ReferralSent,
		// CreateNotification, ReferralDocument, CreateEventDelivery; the
		// citizen's notice: 4 as a delivery.
		const want = 5*5 + 2 + 8 + 4
		if sum(got) != want || got["LinkToFetch"] != 5 || got["PackageToSend"] != 1 || got["DeliveryWithSigners"] != 1 {
			t.Fatalf("statements of a referral with 5 links up to sent: %d %v, want %d", sum(got), got, want)
		}
		// River inserts: the send (by the last fetch) and, in one insert,
		// the status poll and the citizen's notice (the send's). Before: an
		// assembly job, and one insert per job.
		// (Less the periodic results pull's own inserts, on River's clock.)
		var periodic int
		if err := e.app.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1 AND created_at >= $2`,
			workflow.ResultsArgs{}.Kind(), t0).Scan(&periodic); err != nil {
			t.Fatal(err)
		}
		if n := snap["JobInsertFastMany"] - before["JobInsertFastMany"] - periodic; n != 2 {
			t.Fatalf("%d River inserts from the fetches to the citizen's notice, want 2", n)
		}
		var assemblies int
		if err := e.app.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'mse_assemble'`).Scan(&assemblies); err != nil {
			t.Fatal(err)
		}
		if assemblies != 0 {
			t.Fatalf("%d assembly jobs: the last fetch to settle assembles", assemblies)
		}
	})
}
