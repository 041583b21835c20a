package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// flowFixture is one row of each flow: a referral with one link, and a
// delivery, each on a document of version 1 of its set.
type flowFixture struct {
	org, refDoc, certDoc, referral, delivery uuid.UUID
}

func newFlowFixture(t *testing.T, ctx context.Context, db store.DBTX) flowFixture {
	t.Helper()
	f := flowFixture{org: uuid.New(), refDoc: uuid.New(), certDoc: uuid.New(), referral: uuid.New(), delivery: uuid.New()}
	system := uuid.New()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO organizations (id, oid, name, region) VALUES ($1, '1.2.643.5.1.13.13.12.2.77.1', 'МО', '77')`, []any{f.org}},
		{`INSERT INTO information_systems (id, organization_id, name) VALUES ($1, $2, 'МИС')`, []any{system, f.org}},
		{`INSERT INTO documents (id, organization_id, system_id, kind, doc_type, local_id, cda_root, cda_extension, set_root, set_extension,
			version_number, title, effective_time, content, content_sha256, header)
			VALUES ($1, $2, $3, '34', '1', $4, 'root', $4, 'set', $4, 1, 't', now(), '\x00', '\x00', '{}'),
			       ($5, $2, $3, '58', '1', $6, 'root', $6, 'set', $6, 1, 't', now(), '\x00', '\x00', '{}')`,
			[]any{f.refDoc, f.org, system, f.refDoc.String(), f.certDoc, f.certDoc.String()}},
	} {
		if _, err := db.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.CreateReferral(ctx, db, store.NewReferral{ID: f.referral, DocumentID: f.refDoc, OrganizationID: f.org, SystemID: system,
		Deadline: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateLink(ctx, db, store.NewLink{ReferralID: f.referral, Ordinal: 1, DocType: "1", Root: "r", Ext: "e"}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateDelivery(ctx, db, f.delivery, f.certDoc, f.org, "zags", "msg-1"); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestTransitions applies every transition of every flow from every state
// of its flow: from an allowed state it applies (and leads to its
// to-state); from any other it changes nothing and — unless bulk — returns
// *StaleTransitionError naming the transition and the state it found.
func TestTransitions(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	f := newFlowFixture(t, ctx, pool)
	newVersion := func(doc uuid.UUID) store.VersionOf {
		return store.VersionOf{Document: doc, OrganizationID: f.org, SetRoot: "set", SetExtension: doc.String(), VersionNumber: 2}
	}
	// How each transition is applied (bulk ones return how many rows changed).
	apply := map[string]func(db store.DBTX) (int64, error){
		"referral.assembled":  one(func(db store.DBTX) error { return store.AssembleReferral(ctx, db, f.referral) }),
		"referral.incomplete": one(func(db store.DBTX) error { return store.HoldIncomplete(ctx, db, f.referral, "1 missing") }),
		"referral.send_retry": one(func(db store.DBTX) error { return store.FailSend(ctx, db, f.referral, false, "TIMEOUT", "no answer") }),
		"referral.failed":     one(func(db store.DBTX) error { return store.FailSend(ctx, db, f.referral, true, "REFUSED", "refused") }),
		"referral.sent":       one(func(db store.DBTX) error { return store.MarkSent(ctx, db, f.referral, "CASE-1", "msg-1") }),
		"referral.accepted":   one(func(db store.DBTX) error { return store.MarkAccepted(ctx, db, f.referral) }),
		"referral.result":     one(func(db store.DBTX) error { return store.TakeResult(ctx, db, f.referral, "CASE-1") }),
		"referral.returned":   one(func(db store.DBTX) error { return store.TakeReturn(ctx, db, f.referral, "CASE-1", "incomplete") }),
		"referral.blocked":    one(func(db store.DBTX) error { return store.BlockReferral(ctx, db, f.referral, "EXPIRED", "expired") }),
		"referral.refetch": one(func(db store.DBTX) error {
			return store.RefetchReferral(ctx, db, f.referral, time.Now().Add(time.Hour))
		}),
		"referral.superseded": func(db store.DBTX) (int64, error) { return store.SupersedeReferrals(ctx, db, newVersion(f.refDoc)) },
		"link.retry":          one(func(db store.DBTX) error { return store.RetryLink(ctx, db, f.referral, 1, "TIMEOUT", "no answer") }),
		"link.fetched": one(func(db store.DBTX) error {
			return store.SettleLink(ctx, db, f.referral, 1, store.LinkOutcome{State: store.LinkFetched, Document: f.refDoc, Attempts: 1})
		}),
		"link.unavailable": one(func(db store.DBTX) error {
			return store.SettleLink(ctx, db, f.referral, 1, store.LinkOutcome{State: store.LinkUnavailable, Attempts: 1, Code: "NOT_FOUND", Message: "gone"})
		}),
		"link.invalid": one(func(db store.DBTX) error {
			return store.SettleLink(ctx, db, f.referral, 1, store.LinkOutcome{State: store.LinkInvalid, Code: "DIGEST_MISMATCH", Message: "bad"})
		}),
		"link.refetch": func(db store.DBTX) (int64, error) { return store.ResetLinks(ctx, db, f.referral) },
		"delivery.retry": one(func(db store.DBTX) error {
			return store.FailDelivery(ctx, db, f.delivery, false, "TIMEOUT", "no answer")
		}),
		"delivery.failed":    one(func(db store.DBTX) error { return store.FailDelivery(ctx, db, f.delivery, true, "REFUSED", "refused") }),
		"delivery.delivered": one(func(db store.DBTX) error { return store.MarkDelivered(ctx, db, f.delivery, "R-1", false) }),
		"delivery.blocked":   one(func(db store.DBTX) error { return store.BlockDelivery(ctx, db, f.delivery, "EXPIRED", "expired") }),
		"delivery.replay":    one(func(db store.DBTX) error { return store.ReplayDelivery(ctx, db, f.delivery) }),
		"delivery.not_notifiable": one(func(db store.DBTX) error {
			return store.MarkNotNotifiable(ctx, db, f.delivery, true, "NO_PORTAL_ACCOUNT", "no account")
		}),
		"delivery.superseded": func(db store.DBTX) (int64, error) { return store.SupersedeDeliveries(ctx, db, newVersion(f.certDoc)) },
	}
	// The row of each flow, how to put it in a state and how to read it.
	rows := map[store.Flow]struct {
		key      []any
		set, get string
	}{
		store.FlowReferral: {[]any{f.referral}, `UPDATE mse_referrals SET state = $2 WHERE id = $1`, `SELECT state FROM mse_referrals WHERE id = $1`},
		store.FlowLink: {[]any{f.referral, 1}, `UPDATE mse_links SET state = $3 WHERE referral_id = $1 AND ordinal = $2`,
			`SELECT state FROM mse_links WHERE referral_id = $1 AND ordinal = $2`},
		store.FlowDelivery: {[]any{f.delivery}, `UPDATE deliveries SET state = $2 WHERE id = $1`, `SELECT state FROM deliveries WHERE id = $1`},
	}
	if len(apply) != len(store.Transitions) {
		t.Fatalf("%d transitions, %d applied by this test", len(store.Transitions), len(apply))
	}
	seen := map[string]bool{}
	allowed, refused := 0, 0
	for _, tr := range store.Transitions {
		if seen[tr.Name] {
			t.Fatalf("transition %s listed twice", tr.Name)
		}
		seen[tr.Name] = true
		do, ok := apply[tr.Name]
		if !ok {
			t.Fatalf("transition %s is not applied by this test", tr.Name)
		}
		row := rows[tr.Flow]
		for _, from := range store.States[tr.Flow] {
			t.Run(tr.Name+"/from_"+from, func(t *testing.T) {
				tx, err := pool.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = tx.Rollback(ctx) }()
				if _, err := tx.Exec(ctx, row.set, append(slices.Clone(row.key), from)...); err != nil {
					t.Fatal(err)
				}
				n, err := do(tx)
				var now string
				if qerr := tx.QueryRow(ctx, row.get, row.key...).Scan(&now); qerr != nil {
					t.Fatal(qerr)
				}
				if slices.Contains(tr.From, from) {
					allowed++
					if err != nil || n != 1 || now != tr.To {
						t.Fatalf("allowed: got n=%d err=%v state %s, want 1 row to %s", n, err, now, tr.To)
					}
					return
				}
				refused++
				if n != 0 || now != from {
					t.Fatalf("refused: %d rows changed, state %s", n, now)
				}
				var se *store.StaleTransitionError
				if tr.Bulk {
					if err != nil {
						t.Fatalf("a bulk transition matching nothing is no race: %v", err)
					}
				} else if !errors.As(err, &se) || !errors.Is(err, store.ErrStaleTransition) || se.Found != from || se.Transition != tr {
					t.Fatalf("want a stale transition finding %s, got %v", from, err)
				}
			})
		}
	}
	if allowed == 0 || refused == 0 {
		t.Fatalf("allowed %d, refused %d", allowed, refused)
	}
}

// one adapts a single-row transition to the table: 1 row if applied.
func one(f func(db store.DBTX) error) func(db store.DBTX) (int64, error) {
	return func(db store.DBTX) (int64, error) {
		if err := f(db); err != nil {
			return 0, err
		}
		return 1, nil
	}
}

// TestTransitionOfMissingRow: a transition of a row that does not exist is
// refused as stale with nothing found, not a database error.
func TestTransitionOfMissingRow(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	id := uuid.New()
	err := store.MarkSent(ctx, pool, id, "CASE", "msg")
	var se *store.StaleTransitionError
	if !errors.As(err, &se) || se.Found != "" || se.Key != id.String() || se.Transition != store.TrReferralSent {
		t.Fatalf("got %v", err)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		t.Fatal("the database's no-rows leaks through")
	}
}

// TestSettleLinkRefusesAStateThatIsNotFinal: only fetched, unavailable and
// invalid settle a link.
func TestSettleLinkRefusesAStateThatIsNotFinal(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	f := newFlowFixture(t, ctx, pool)
	err := store.SettleLink(ctx, pool, f.referral, 1, store.LinkOutcome{State: store.LinkRetrying})
	if err == nil || errors.Is(err, store.ErrStaleTransition) {
		t.Fatalf("got %v", err)
	}
}

// TestSettleLinkOpenCountsTheOthers: settling a link says, in the same
// statement, how many of its referral's other links are still open — the
// last settler finds 0 and assembles; a stale settle counts nothing.
func TestSettleLinkOpenCountsTheOthers(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	f := newFlowFixture(t, ctx, pool)
	for _, o := range []int{2, 3} {
		if err := store.CreateLink(ctx, pool, store.NewLink{ReferralID: f.referral, Ordinal: o, DocType: "1", Root: "r", Ext: fmt.Sprint("e", o)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range []struct {
		ordinal int
		state   store.LinkState
		open    int64
	}{{2, store.LinkFetched, 2}, {1, store.LinkUnavailable, 1}, {3, store.LinkInvalid, 0}} {
		n, err := store.SettleLinkOpen(ctx, pool, f.referral, c.ordinal, store.LinkOutcome{State: c.state, Code: "X", Message: "x"})
		if err != nil || n != c.open {
			t.Fatalf("settle %d (link %d): %d others open, %v; want %d", i, c.ordinal, n, err, c.open)
		}
		if all, err := store.OpenLinks(ctx, pool, f.referral); err != nil || all != c.open {
			t.Fatalf("OpenLinks after settle %d: %d %v, want %d", i, all, err, c.open)
		}
	}
	if _, err := store.SettleLinkOpen(ctx, pool, f.referral, 3, store.LinkOutcome{State: store.LinkFetched}); !errors.Is(err, store.ErrStaleTransition) {
		t.Fatalf("settling a settled link again: %v", err)
	}
}
