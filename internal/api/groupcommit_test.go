package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/nsi"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/store"
)

// TestGroupCommitSameAsOneAtATime: the same submissions — new documents of
// kinds whose workflow adds rows and jobs (a referral with links, a civil
// certificate), idempotent repeats, conflicting versions of one CDA id,
// a refusal — sent all at once through group commit give exactly the
// answers, per group of related submissions, and the rows (documents,
// signatures, workflow rows, River jobs, recorded attempts) that sending
// them one at a time without group commit gave. The first stored document
// holds its batch until others queued, so batches of several documents,
// repeats and conflicts inside one batch, are certain.
func TestGroupCommitSameAsOneAtATime(t *testing.T) {
	one := newBundle(t, nil, map[string]string{"HUB_GROUP_COMMITTERS": "0"}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, 7)
	if one.app.Intake.Batcher != nil {
		t.Fatal("HUB_GROUP_COMMITTERS=0 still batches")
	}
	group := setup(t, 0)
	if group.app.Intake.Batcher == nil {
		t.Fatal("group commit is not on by default")
	}
	// One set of submissions, sent to both hubs (the same МИС A, test CA and keys).
	var groups [][]semdgen.Submission
	kinds := []string{"121", "58", "119", "186", "147"}
	for i := range 15 {
		o := semdgen.Options{Kind: kinds[i%len(kinds)]}
		if o.Kind == "121" {
			o.Links = []semdgen.Link{{Kind: "119", ID: fmt.Sprint("a", i)}, {Kind: "186", ID: fmt.Sprint("b", i)}}
		}
		d := one.build(o)
		switch i % 3 {
		case 0: // new
			groups = append(groups, []semdgen.Submission{d.Submission()})
		case 1: // new, then repeated twice
			groups = append(groups, []semdgen.Submission{d.Submission(), d.Submission(), d.Submission()})
		case 2: // two versions of one CDA id: one stored, the other refused
			o.ID = d.ID
			groups = append(groups, []semdgen.Submission{d.Submission(), one.build(o).Submission()})
		}
	}
	bad := one.build(semdgen.Options{Kind: "119"}).Submission()
	bad.Document = "%%%"
	groups = append(groups, []semdgen.Submission{bad})

	answer := func(r resp) string { return fmt.Sprint(r.Status, " ", r.Body["code"]) }
	want := make([][]string, len(groups))
	for g, subs := range groups {
		for _, s := range subs {
			want[g] = append(want[g], answer(one.do("POST", "/api/v1/documents", one.keyA, s)))
		}
		slices.Sort(want[g])
	}

	var holdOnce sync.Once
	group.app.Intake.Hooks = append(group.app.Intake.Hooks, func(context.Context, pgx.Tx, *store.Document, *semd.Document, *nsi.Kind) error {
		holdOnce.Do(func() {
			for end := time.Now().Add(10 * time.Second); group.app.Intake.Batcher.Queued() < 8 && time.Now().Before(end); {
				time.Sleep(time.Millisecond)
			}
		})
		return nil
	})
	got := make([][]string, len(groups))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g, subs := range groups {
		for _, s := range subs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := group.post(s)
				mu.Lock()
				got[g] = append(got[g], answer(r))
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	for g := range groups {
		slices.Sort(got[g])
		if !slices.Equal(got[g], want[g]) {
			t.Errorf("group %d: answers %v through group commit, %v one at a time", g, got[g], want[g])
		}
	}
	if docs, batches := group.app.Intake.Batcher.Stats(); docs <= batches {
		t.Errorf("%d documents in %d batches: no batch held more than one", docs, batches)
	}
	if w, g := one.rowCounts(), group.rowCounts(); w != g {
		t.Errorf("rows through group commit:\n%s\none at a time:\n%s", g, w)
	}
}

// post submits s as МИС A; for use from other goroutines than the test's
// (it reports a failure with Errorf only).
func (b *bundle) post(s semdgen.Submission) resp {
	body, _ := json.Marshal(s)
	req, err := http.NewRequest("POST", b.srv.URL+"/api/v1/documents", bytes.NewReader(body))
	if err != nil {
		b.t.Errorf("post: %v", err)
		return resp{}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+b.keyA)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Errorf("post: %v", err)
		return resp{}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{Status: res.StatusCode, Raw: raw, Header: res.Header}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

// rowCounts describes what the hub stored: rows per table and the
// recorded attempts and River jobs by their distinguishing columns.
func (b *bundle) rowCounts() string {
	b.t.Helper()
	ctx := context.Background()
	if err := b.app.Recorder.Flush(ctx); err != nil {
		b.t.Fatal(err)
	}
	var out []string
	for _, q := range []string{
		`SELECT count(*)::text FROM documents`,
		`SELECT count(*)::text FROM document_signatures`,
		`SELECT count(*)::text FROM mse_referrals`,
		`SELECT count(*)::text FROM mse_links`,
		`SELECT count(*)::text FROM deliveries`,
		`SELECT coalesce(string_agg(k, ', ' ORDER BY k), '') FROM (SELECT kind || ':' || count(*) AS k FROM river_job GROUP BY kind) j`,
		`SELECT coalesce(string_agg(k, ', ' ORDER BY k), '') FROM (SELECT outcome || '/' || repeat || '/' || codes::text || ':' || count(*) AS k
			FROM intake_attempts GROUP BY outcome, repeat, codes) a`,
	} {
		var s string
		if err := b.app.Pool.QueryRow(ctx, q).Scan(&s); err != nil {
			b.t.Fatalf("%s: %v", q, err)
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}
