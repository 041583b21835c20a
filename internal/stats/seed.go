package stats

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/ids"
	"github.com/emdhub/hub/internal/store"
)

// SeedOptions shape a synthetic record of attempts (hub seed-stats, tests).
type SeedOptions struct {
	N             int       // attempts to write
	Regions       int       // how many of the 85 subjects (default 85)
	OrgsPerRegion int       // organisations (one system each) per subject (default 3)
	Days          int       // days back from End the attempts spread over (default 365)
	End           time.Time // the last attempt's time (default now − 2 h)
	Seed          uint64
}

// SeedOrg is one seeded organisation with its system.
type SeedOrg struct {
	OrgID, SystemID uuid.UUID
	OID, Region     string
	refuse, delay   float64 // this organisation's habits
}

var seedKinds = []struct {
	kind   string
	weight float64
}{{"119", 30}, {"186", 18}, {"121", 10}, {"58", 8}, {"76", 8}, {"174", 9}, {"147", 9}, {"187", 8}}

var seedCodes = []struct {
	code   string
	weight float64
}{{"FLK_FAILED", 30}, {"INVALID_ELEMENT_VALUE_CODE", 14}, {"INVALID_SNILS", 12}, {"SIGNER_ORG_MISMATCH", 8},
	{"PERSONAL_SIG_CERT_NOT_ACTUAL_ON_CHECK_DT", 8}, {"ATTRIBUTE_MISMATCH", 7}, {"WRONG_CREATION_DATE", 6},
	{"INCONSISTENT_DIGESTS", 5}, {"NO_SNILS", 4}, {"NOT_UNIQUE_PROVIDED_ID", 3}, {"ORG_NOT_FOUND_IN_FRMO", 2}, {"INVALID_DICTIONARY_VERSION", 1}}

func pick[T any](r *rand.Rand, xs []T, weight func(T) float64) T {
	total := 0.0
	for _, x := range xs {
		total += weight(x)
	}
	v := r.Float64() * total
	for _, x := range xs {
		if v -= weight(x); v < 0 {
			return x
		}
	}
	return xs[len(xs)-1]
}

// SeedOrgs registers the organisations and systems of a seed (again: the
// same ones, so a second seed adds to the first).
func SeedOrgs(ctx context.Context, pool *pgxpool.Pool, st *store.Store, o SeedOptions) ([]SeedOrg, error) {
	r := rand.New(rand.NewPCG(o.Seed, 99))
	var orgs []SeedOrg
	for i, reg := range Regions[:o.Regions] {
		regionRefuse := 0.04 + 0.3*math.Pow(r.Float64(), 2)
		regionDelay := 0.02 + 0.25*math.Pow(r.Float64(), 3)
		for j := 1; j <= o.OrgsPerRegion; j++ {
			oid := fmt.Sprintf("%s%s.%d", ids.MOOIDPrefix, reg.Code, 7000+j)
			org, err := st.EnsureOrganization(ctx, pool, oid, fmt.Sprintf("ГБУЗ «Больница № %d» (%s)", j, reg.Name))
			if err != nil {
				return nil, err
			}
			name := fmt.Sprintf("МИС %d-%d", i+1, j)
			var sys uuid.UUID
			err = pool.QueryRow(ctx, `SELECT id FROM information_systems WHERE organization_id = $1 AND name = $2`, org.ID, name).Scan(&sys)
			if errors.Is(err, pgx.ErrNoRows) {
				s, cerr := st.CreateSystem(ctx, pool, org.ID, name)
				if cerr != nil {
					return nil, cerr
				}
				sys, err = s.ID, nil
			}
			if err != nil {
				return nil, fmt.Errorf("stats: seed system: %w", err)
			}
			orgs = append(orgs, SeedOrg{OrgID: org.ID, SystemID: sys, OID: oid, Region: reg.Code,
				refuse: regionRefuse * (0.7 + 0.6*r.Float64()), delay: regionDelay * (0.7 + 0.6*r.Float64())})
		}
	}
	return orgs, nil
}

func (o *SeedOptions) defaults(now time.Time) {
	if o.Regions <= 0 || o.Regions > len(Regions) {
		o.Regions = len(Regions)
	}
	if o.OrgsPerRegion <= 0 {
		o.OrgsPerRegion = 3
	}
	if o.Days <= 0 {
		o.Days = 365
	}
	if o.End.IsZero() {
		o.End = now.Add(-2 * time.Hour)
	}
}

// Seed writes o.N realistic attempts across the seeded organisations:
// documents of the common kinds, each region with its own refusal and
// delay habits, a refused document retried once or twice (repeats), signing
// a few hours to days after creation and submission mostly within a day,
// sometimes weeks, after signing. It writes with COPY in batches, calling
// progress after each, and does not roll up (Rebuild does).
func Seed(ctx context.Context, pool *pgxpool.Pool, st *store.Store, o SeedOptions, progress func(done int)) error {
	o.defaults(time.Now())
	orgs, err := SeedOrgs(ctx, pool, st, o)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(o.Seed, 7))
	weights := make([]float64, len(orgs)) // big cities send more
	for i := range weights {
		weights[i] = math.Exp(r.NormFloat64())
	}
	type wo struct {
		i int
		w float64
	}
	wos := make([]wo, len(orgs))
	for i := range orgs {
		wos[i] = wo{i, weights[i]}
	}
	start := o.End.Add(-time.Duration(o.Days) * 24 * time.Hour)
	span := o.End.Sub(start)
	const batch = 50_000
	rows := make([][]any, 0, batch)
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		_, err := pool.CopyFrom(ctx, pgx.Identifier{"intake_attempts"},
			[]string{"at", "organization_id", "org_oid", "region", "system_id", "kind", "outcome", "codes", "created_at", "signed_at", "repeat"},
			pgx.CopyFromRows(rows))
		if err != nil {
			return fmt.Errorf("stats: seed copy: %w", err)
		}
		rows = rows[:0]
		return nil
	}
	done := 0
	for done < o.N {
		org := orgs[pick(r, wos, func(x wo) float64 { return x.w }).i]
		kind := pick(r, seedKinds, func(k struct {
			kind   string
			weight float64
		}) float64 {
			return k.weight
		}).kind
		at := start.Add(time.Duration(r.Int64N(int64(span))))
		created := at.Add(-time.Duration(r.ExpFloat64() * float64(20*time.Hour)))
		signed := created.Add(time.Duration(r.ExpFloat64() * float64(18*time.Hour)))
		if r.Float64() < org.delay { // late: signed, then forgotten for days or weeks
			signed = at.Add(-time.Duration((5 + r.ExpFloat64()*8) * float64(24*time.Hour)))
			created = signed.Add(-time.Duration(r.ExpFloat64() * float64(30*time.Hour)))
		} else if signed.After(at) {
			signed = at.Add(-time.Duration(r.Int64N(int64(time.Hour))))
		}
		var signedTS pgtype.Timestamptz
		if r.Float64() < 0.97 { // a few containers without signingTime
			signedTS = pgtype.Timestamptz{Time: signed, Valid: true}
		}
		for try := 0; done < o.N; try++ {
			refused := try < 3 && r.Float64() < org.refuse*math.Pow(0.6, float64(try))
			outcome, cs := Accepted, []string{}
			if refused {
				outcome = Refused
				cs = append(cs, pick(r, seedCodes, func(c struct {
					code   string
					weight float64
				}) float64 {
					return c.weight
				}).code)
			}
			var createdTS, signedRow any = created, signedTS
			if refused && r.Float64() < 0.05 { // not even XML: nothing of the document is known
				cs, createdTS, signedRow = []string{"INVALID_CONTENT"}, nil, nil
			}
			rows = append(rows, []any{at, org.OrgID, org.OID, org.Region, org.SystemID, kind, outcome, cs, createdTS, signedRow, try > 0})
			done++
			if len(rows) == batch {
				if err := flush(); err != nil {
					return err
				}
				if progress != nil {
					progress(done)
				}
			}
			if !refused || r.Float64() < 0.15 { // some refused documents are never sent again
				break
			}
			if at = at.Add(time.Duration(10+r.IntN(600)) * time.Minute); at.After(o.End) {
				break
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if progress != nil {
		progress(done)
	}
	return nil
}

// Rebuild folds the whole record again from nothing: the roll-ups are
// emptied and the watermark reset in one transaction, then the record up to
// cutoff is folded in one more (into empty tables, so no update churn).
// For attempts written behind the watermark (a seed, a restore).
func Rebuild(ctx context.Context, pool *pgxpool.Pool, cutoff time.Time) (time.Time, error) {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(rollupLock)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `TRUNCATE stats_counts, stats_codes, stats_lags; UPDATE stats_watermark SET rolled_to = '-infinity'`)
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("stats: rebuild: %w", err)
	}
	return rollup(ctx, pool, cutoff, 0)
}
