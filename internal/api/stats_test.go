package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/stats"
)

// statsOf decodes a stats answer.
func statsOf[T any](t *testing.T, r resp) T {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("stats: %d %s", r.Status, r.Raw)
	}
	var v T
	if err := json.Unmarshal(r.Raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestStatsRecordEveryAttempt submits accepted, repeated and refused
// documents over HTTP and checks the record (one row per attempt, with
// region, codes, creation and signing times, repeats) and the stats API
// over it: nothing before the roll-up, the right figures after, every
// filter, and an information system narrowed to its own organisation.
func TestStatsRecordEveryAttempt(t *testing.T) {
	b := setup(t, 0)
	ctx := context.Background()
	post := func(key string, s semdgen.Submission, status int) {
		t.Helper()
		if r := b.do("POST", "/api/v1/documents", key, s); r.Status != status {
			t.Fatalf("want %d, got %d %s", status, r.Status, r.Raw)
		}
	}
	a1 := b.build(semdgen.Options{Kind: "119"})
	post(b.keyA, a1.Submission(), 201)
	a2 := b.build(semdgen.Options{Kind: "58"})
	post(b.keyA, a2.Submission(), 201)
	post(b.keyA, a2.Submission(), 200) // an idempotent repeat: accepted, a repeat
	bad := b.build(semdgen.Options{Kind: "119", Defects: []semdgen.Defect{semdgen.DefectBadENP}})
	post(b.keyA, bad.Submission(), 422)
	fixed := b.build(semdgen.Options{Kind: "119", ID: bad.ID}) // the same document, corrected: a repeat
	post(b.keyA, fixed.Submission(), 201)
	garbled := b.build(semdgen.Options{Kind: "119"}).Submission()
	garbled.Document = base64.StdEncoding.EncodeToString([]byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><id>`))
	post(b.keyA, garbled, 400)
	post(b.keyB, b.build(semdgen.Options{Kind: "119", Org: b.orgB}).Submission(), 201)
	if r := b.do("POST", "/api/v1/documents", b.keyA, []byte(`{"kind":`)); r.Status != 400 {
		t.Fatalf("broken JSON: %d", r.Status) // refused before the door: not an attempt
	}

	var n int
	_ = b.app.Pool.QueryRow(ctx, `SELECT count(*) FROM intake_attempts`).Scan(&n)
	if n != 6 { // the accepted ones, in their transactions, and the refusal the corrected document's acceptance wrote first; the other refusal waits for the flush
		t.Fatalf("before the flush: %d rows, want 6", n)
	}
	if err := b.app.Recorder.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	type rec struct {
		Region, Kind, Outcome string
		Codes                 []string
		Created, Signed       *time.Time
		Repeat                bool
	}
	rows, err := b.app.Pool.Query(ctx, `SELECT region, kind, outcome, codes, created_at, signed_at, repeat FROM intake_attempts ORDER BY at, id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []rec
	for rows.Next() {
		var r rec
		if err := rows.Scan(&r.Region, &r.Kind, &r.Outcome, &r.Codes, &r.Created, &r.Signed, &r.Repeat); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	want := []struct {
		region, kind, outcome, code string
		parsed, repeat              bool
	}{
		{"77", "119", "accepted", "", true, false},
		{"77", "58", "accepted", "", true, false},
		{"77", "58", "accepted", "", true, true},
		{"77", "119", "refused", codes.InvalidENP, true, false},
		{"77", "119", "accepted", "", true, true},
		{"77", "119", "refused", codes.InvalidContent, false, false},
		{"16", "119", "accepted", "", true, false},
	}
	if len(got) != len(want) {
		t.Fatalf("%d attempts recorded, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Region != w.region || g.Kind != w.kind || g.Outcome != w.outcome || g.Repeat != w.repeat ||
			(w.code == "") != (len(g.Codes) == 0) || (w.code != "" && g.Codes[0] != w.code) {
			t.Fatalf("attempt %d: %+v, want %+v", i, g, w)
		}
		if w.parsed && (g.Created == nil || g.Created.IsZero()) || !w.parsed && g.Created != nil {
			t.Fatalf("attempt %d: creation time %v", i, g.Created)
		}
		if w.outcome == "accepted" && (g.Signed == nil || g.Signed.Before(*g.Created)) {
			t.Fatalf("attempt %d: signing time %v (created %v)", i, g.Signed, g.Created)
		}
	}

	reg := func(key, query string) stats.Registration {
		return statsOf[stats.Registration](t, b.do("GET", "/api/v1/ops/stats/registration"+query, key, nil))
	}
	if r := reg(b.keyOp, ""); r.Totals.Attempts != 0 || !r.AsOf.IsZero() {
		t.Fatalf("figures before any roll-up: %+v", r.Totals)
	}
	if _, err := stats.Rollup(ctx, b.app.Pool, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	r := reg(b.keyOp, "")
	if tt := r.Totals; tt.Attempts != 7 || tt.Accepted != 5 || tt.Refused != 2 || tt.Documents != 5 || tt.AttemptsPerDocument != 1.4 || tt.RefusedPercent != 28.6 {
		t.Fatalf("totals: %+v", tt)
	}
	if r.Queue != 2 { // the death certificate's deliveries to ЕГР ЗАГС and ЕПГУ wait (no workers here)
		t.Fatalf("queue: %d", r.Queue)
	}
	var late, lagged int64
	for _, x := range r.Lags.SignedToSubmitted {
		lagged += x.N
	}
	for _, x := range r.MostDelayed {
		late += x.Of
	}
	if lagged != 4 || late != 4 || len(r.Timeline) != stats.DefaultDays { // the parsed first tries
		t.Fatalf("lags %d, region shares of %d documents, %d days", lagged, late, len(r.Timeline))
	}
	sysA := ""
	_ = b.app.Pool.QueryRow(ctx, `SELECT id::text FROM information_systems WHERE name = 'МИС А'`).Scan(&sysA)
	for _, c := range []struct {
		key, query string
		attempts   int64
	}{
		{b.keyOp, "?region=16", 1},
		{b.keyOp, "?region=77&kind=58", 2},
		{b.keyOp, "?org=" + b.orgA.OID, 6},
		{b.keyOp, "?system=" + sysA + "&kind=119", 4},
		{b.keyOp, "?org=1.2.643.5.1.13.13.12.2.50.1", 0}, // unknown to the hub: nothing
		{b.keyOp, "?from=2020-01-01&to=2020-01-31", 0},
		{b.keyA, "", 6}, // a МИС sees its organisation only
		{b.keyB, "?org=" + b.orgB.OID, 1},
	} {
		if got := reg(c.key, c.query).Totals.Attempts; got != c.attempts {
			t.Fatalf("%s: %d attempts, want %d", c.query, got, c.attempts)
		}
	}
	for _, c := range []struct {
		key, path string
		status    int
		code      string
	}{
		{b.keyA, "/api/v1/ops/stats/registration?org=" + b.orgB.OID, 403, codes.Forbidden},
		{b.keyOp, "/api/v1/ops/stats/registration?from=01.02.2026", 400, codes.BadRequest},
		{b.keyOp, "/api/v1/ops/stats/registration?from=2026-03-01&to=2026-02-01", 400, codes.BadRequest},
		{b.keyOp, "/api/v1/ops/stats/registration?region=moscow", 400, codes.BadRequest},
		{b.keyOp, "/api/v1/ops/stats/refusals?by=weather", 400, codes.BadRequest},
		{b.keyA, "/api/v1/ops/stats/deliveries", 403, codes.Forbidden},
		{"", "/api/v1/ops/stats/refusals", 401, codes.Unauthenticated},
	} {
		if r := b.do("GET", c.path, c.key, nil); r.Status != c.status || r.Body["code"] != c.code {
			t.Fatalf("%s: %d %s", c.path, r.Status, r.Raw)
		}
	}

	ref := statsOf[stats.Refusals](t, b.do("GET", "/api/v1/ops/stats/refusals?by=system", b.keyOp, nil))
	if ref.TotalErrors != 2 || len(ref.Reasons) != 2 || ref.Reasons[0].Percent != 50 || len(ref.Ranking) != 2 ||
		ref.Ranking[0].Name != "МИС А — "+b.orgA.Name || ref.Ranking[0].Refused != 2 {
		t.Fatalf("refusals: %+v", ref)
	}
	if len(ref.MostRefused) != 2 || ref.MostRefused[0].Region != "77" || ref.MostRefused[0].Percent != 33.3 {
		t.Fatalf("regions by refusal share: %+v", ref.MostRefused)
	}
	del := statsOf[stats.Deliveries](t, b.do("GET", "/api/v1/ops/stats/deliveries", b.keyOp, nil))
	queued := map[string]int64{}
	for _, p := range del.Peers {
		queued[p.Peer] = p.Queue
		if p.Breaker != "closed" {
			t.Fatalf("breaker of %s: %q", p.Peer, p.Breaker)
		}
	}
	if queued["zags"] != 1 || queued["epgu"] != 1 || len(del.Funnels) != 3 || del.Funnels[1].Steps[0].N != 1 {
		t.Fatalf("deliveries: %+v", del)
	}
}

// BenchmarkIntakeRecorded is BenchmarkIntake with the record of attempts
// off and on (issue 14: recording must add at most 5% to intake), every
// submission accepted (the recorded path that costs a statement in the
// intake transaction; refusals are queued and written in batches). Run the
// two interleaved several times on a quiet machine:
//
//	go test ./internal/api -run XXX -bench IntakeRecorded -benchtime 400x -count 4
func BenchmarkIntakeRecorded(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[on], func(b *testing.B) {
			bu := benchBundle(b, nil)
			bu.recordOGRNs() // 76 carries its organisation's ОГРН nowhere
			if !on {
				bu.app.Intake.Attempts = nil
			}
			kinds := []string{"119", "186", "174", "147", "58", "76"}
			bodies := make([][]byte, b.N)
			for i := range bodies {
				j, err := json.Marshal(bu.build(semdgen.Options{Kind: kinds[i%len(kinds)]}).Submission())
				if err != nil {
					b.Fatal(err)
				}
				bodies[i] = j
			}
			before := dbCounters(b, bu.app.Pool, true)
			elapsed, lat := submitAll(b, bu, bodies)
			after := dbCounters(b, bu.app.Pool, false)
			var rows int
			_ = bu.app.Pool.QueryRow(context.Background(), `SELECT count(*) FROM intake_attempts`).Scan(&rows)
			if on != (rows == b.N) {
				b.Fatalf("recorded %d attempts of %d", rows, b.N)
			}
			reportIntake(b, bu, elapsed, lat, before, after)
		})
	}
}

// TestStatsHostileFilters sends every hostile value in every filter of the
// stats views: an answer or a 400 in the error shape, never a 5xx.
func TestStatsHostileFilters(t *testing.T) {
	b := setup(t, 0)
	for _, view := range []string{"registration", "refusals", "deliveries"} {
		for _, param := range []string{"from", "to", "region", "org", "system", "kind", "by"} {
			for _, v := range hostile {
				for _, escape := range []bool{true, false} {
					s := slot{method: "GET", path: "/api/v1/ops/stats/" + view, query: param, op: true}
					r, sent := b.hostileRequest(t, s, v, escape)
					if sent && r.Status != 200 && r.Status != 400 {
						t.Fatalf("%s=%q: %d %s", param, v, r.Status, r.Raw)
					}
				}
			}
		}
	}
}
