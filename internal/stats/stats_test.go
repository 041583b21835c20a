package stats_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/stats"
	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// oracle answers a filter straight from the record, the slow way.
func oracle(t *testing.T, pool *pgxpool.Pool, f stats.Filter) (stats.Totals, map[string]int64, stats.Lags) {
	t.Helper()
	c := []string{fmt.Sprintf("(at AT TIME ZONE '%s')::date BETWEEN $1 AND $2", stats.Zone)}
	args := []any{f.From, f.To}
	add := func(col string, v any) {
		args = append(args, v)
		c = append(c, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if f.Region != "" {
		add("region", f.Region)
	}
	if f.OrgID != uuid.Nil {
		add("organization_id", f.OrgID)
	}
	if f.SystemID != uuid.Nil {
		add("system_id", f.SystemID)
	}
	if f.Kind != "" {
		add("kind", f.Kind)
	}
	w := strings.Join(c, " AND ")
	var tot stats.Totals
	err := pool.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE outcome = 'accepted'), count(*) FILTER (WHERE outcome = 'refused'),
		count(*) FILTER (WHERE NOT repeat), count(*) FILTER (WHERE NOT repeat AND coalesce(signed_at, created_at) IS NOT NULL),
		count(*) FILTER (WHERE NOT repeat AND at - coalesce(signed_at, created_at) > interval '5 days')
		FROM intake_attempts WHERE `+w, args...).Scan(&tot.Attempts, &tot.Accepted, &tot.Refused, &tot.Documents, &tot.Dated, &tot.Delayed)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]int64{}
	rows, err := pool.Query(context.Background(), `SELECT c, count(*) FROM intake_attempts, unnest(codes) c WHERE outcome = 'refused' AND `+w+` GROUP BY c`, args...)
	if err != nil {
		t.Fatal(err)
	}
	var code string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&code, &n}, func() error { codes[code] = n; return nil }); err != nil {
		t.Fatal(err)
	}
	lags := stats.Lags{CreatedToSigned: make([]stats.Bar, stats.MaxLagDays+1), SignedToSubmitted: make([]stats.Bar, stats.MaxLagDays+1)}
	for i := range lags.CreatedToSigned {
		lags.CreatedToSigned[i].Days, lags.SignedToSubmitted[i].Days = i, i
	}
	rows, err = pool.Query(context.Background(), `SELECT
		CASE WHEN signed_at IS NOT NULL AND created_at IS NOT NULL THEN least(31, greatest(0, floor(extract(epoch FROM signed_at - created_at) / 86400)))::int END,
		CASE WHEN coalesce(signed_at, created_at) IS NOT NULL THEN least(31, greatest(0, floor(extract(epoch FROM at - coalesce(signed_at, created_at)) / 86400)))::int END
		FROM intake_attempts WHERE NOT repeat AND `+w, args...)
	if err != nil {
		t.Fatal(err)
	}
	var cs, ss *int
	if _, err := pgx.ForEachRow(rows, []any{&cs, &ss}, func() error {
		if cs != nil {
			lags.CreatedToSigned[*cs].N++
		}
		if ss != nil {
			lags.SignedToSubmitted[*ss].N++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return tot, codes, lags
}

// TestRollupAnswersLikeTheRecord seeds a record, folds it in two runs, and
// checks that every figure the dashboards read from the roll-ups — for
// periods inside a month, across months and over whole months, with every
// filter alone and combined — equals what the record itself says.
func TestRollupAnswersLikeTheRecord(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	st := store.New(pool)
	end := time.Date(2026, 5, 20, 9, 0, 0, 0, time.UTC)
	o := stats.SeedOptions{N: 20000, Regions: 6, OrgsPerRegion: 2, Days: 120, End: end, Seed: 3}
	if err := stats.Seed(ctx, pool, st, o, nil); err != nil {
		t.Fatal(err)
	}
	orgs, err := stats.SeedOrgs(ctx, pool, st, o)
	if err != nil {
		t.Fatal(err)
	}
	// Two runs, the first stopping mid-record: the watermark carries on.
	if _, err := stats.Rollup(ctx, pool, end.AddDate(0, 0, -45)); err != nil {
		t.Fatal(err)
	}
	if got, err := stats.Rollup(ctx, pool, end.Add(time.Hour)); err != nil || !got.Equal(end.Add(time.Hour)) {
		t.Fatalf("rolled to %v, %v", got, err)
	}
	svc := &stats.Service{Pool: pool}
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	filters := []stats.Filter{
		{From: day("2026-01-01"), To: day("2026-05-31")},              // whole months + edges
		{From: day("2026-02-01"), To: day("2026-03-31")},              // whole months only
		{From: day("2026-02-10"), To: day("2026-02-20")},              // inside one month
		{From: day("2026-01-25"), To: day("2026-03-05")},              // across a month
		{From: day("2026-04-30"), To: day("2026-04-30")},              // one day
		{From: day("2026-01-01"), To: day("2026-05-31"), Region: "2"}, // region
		{From: day("2026-01-15"), To: day("2026-05-10"), Kind: "119"}, // kind
		{From: day("2026-01-15"), To: day("2026-05-10"), OrgID: orgs[3].OrgID},
		{From: day("2026-03-02"), To: day("2026-04-28"), SystemID: orgs[5].SystemID, Kind: "58"},
		{From: day("2026-01-01"), To: day("2026-05-31"), Region: orgs[7].Region, OrgID: orgs[7].OrgID, Kind: "121"},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20; i++ { // and random ones
		a, b := day("2026-01-10").AddDate(0, 0, r.IntN(130)), day("2026-01-10").AddDate(0, 0, r.IntN(130))
		if b.Before(a) {
			a, b = b, a
		}
		f := stats.Filter{From: a, To: b}
		switch r.IntN(4) {
		case 1:
			f.Region = orgs[r.IntN(len(orgs))].Region
		case 2:
			f.OrgID = orgs[r.IntN(len(orgs))].OrgID
		case 3:
			f.SystemID = orgs[r.IntN(len(orgs))].SystemID
		}
		if r.IntN(2) == 0 {
			f.Kind = []string{"119", "186", "121", "58"}[r.IntN(4)]
		}
		filters = append(filters, f)
	}
	for i, f := range filters {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			want, wantCodes, wantLags := oracle(t, pool, f)
			got, err := svc.Totals(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			want.Derive()
			if got != want {
				t.Fatalf("%+v\ntotals %+v\nwant   %+v", f, got, want)
			}
			if want.Attempts == 0 && i < 10 {
				t.Fatalf("filter %d selects nothing: the test would prove little", i)
			}
			total, reasons, err := svc.Reasons(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			gotCodes := map[string]int64{}
			var sum int64
			for _, x := range reasons {
				gotCodes[x.Code] = x.N
				sum += x.N
			}
			if !reflect.DeepEqual(gotCodes, wantCodes) || total != sum {
				t.Fatalf("reasons %v, want %v", gotCodes, wantCodes)
			}
			lags, err := svc.Lags(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(lags, wantLags) {
				t.Fatalf("lags %+v\nwant %+v", lags, wantLags)
			}
			tl, err := svc.Timeline(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var acc, ref int64
			for _, p := range tl {
				acc, ref = acc+p.Accepted, ref+p.Refused
			}
			if days := int(f.To.Sub(f.From).Hours()/24) + 1; len(tl) != days || acc != want.Accepted || ref != want.Refused {
				t.Fatalf("timeline: %d days, %d/%d; want %d days, %d/%d", len(tl), acc, ref, days, want.Accepted, want.Refused)
			}
			for _, by := range []func(context.Context, stats.Filter) ([]stats.Group, error){svc.ByRegion, svc.BySystem} {
				gs, err := by(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				var a, rf, d int64
				for _, g := range gs {
					a, rf, d = a+g.Attempts, rf+g.Refused, d+g.Delayed
				}
				if a != want.Attempts || rf != want.Refused || d != want.Delayed {
					t.Fatalf("groups sum to %d/%d/%d, want %d/%d/%d", a, rf, d, want.Attempts, want.Refused, want.Delayed)
				}
			}
		})
	}
}

// TestRecorderTellsRepeats checks the record's repeat flag: a key seen in
// an earlier batch, earlier in the same batch, or in an accepted attempt's
// transaction is a repeat; a first try is not, nor an attempt without a key.
func TestRecorderTellsRepeats(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	st := store.New(pool)
	orgs, err := stats.SeedOrgs(ctx, pool, st, stats.SeedOptions{Regions: 1, OrgsPerRegion: 1})
	if err != nil {
		t.Fatal(err)
	}
	o := orgs[0]
	row := func(local string) stats.Row {
		r := stats.Row{At: time.Now(), OrgID: o.OrgID, OrgOID: o.OID, Region: o.Region, SystemID: o.SystemID, Kind: "119",
			Outcome: stats.Refused, Codes: []string{"INVALID_SNILS", "FLK_FAILED"}}
		if local != "" {
			r.Key = stats.DocKey(o.SystemID, local)
		}
		return r
	}
	if err := stats.Insert(ctx, pool, []stats.Row{row("a"), row("b"), row("a"), row(""), row("")}); err != nil {
		t.Fatal(err)
	}
	if err := stats.Insert(ctx, pool, []stats.Row{row("b"), row("c")}); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT repeat, codes FROM intake_attempts ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []bool
	var codes []string
	if _, err := pgx.ForEachRow(rows, []any{new(bool), &codes}, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	rows, _ = pool.Query(ctx, `SELECT repeat FROM intake_attempts ORDER BY id`)
	got, err = pgx.CollectRows(rows, pgx.RowTo[bool])
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{false, false, true, false, false, true, false}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("repeat flags %v, want %v", got, want)
	}
	if !reflect.DeepEqual(codes, []string{"INVALID_SNILS", "FLK_FAILED"}) {
		t.Fatalf("codes %v", codes)
	}
}
