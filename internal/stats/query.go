package stats

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Filter is what both dashboards filter by. From and To are days in Zone,
// both included; the zero uuid and "" mean "any".
type Filter struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Region   string    `json:"region,omitempty"`
	OrgID    uuid.UUID `json:"-"`
	OrgOID   string    `json:"org,omitempty"`
	SystemID uuid.UUID `json:"system,omitzero"`
	Kind     string    `json:"kind,omitempty"`
}

// Service answers the stats queries from the roll-ups.
type Service struct {
	Pool *pgxpool.Pool
}

// level is the roll-up a query reads.
type level int

const (
	levelAuto   level = iota // the coarsest that the filter allows
	levelRegion              // one row per region at least
	levelSystem              // one row per system
)

// cond is the WHERE clause of f over a stats_* table, and its arguments.
// daily asks for day rows only (the timeline); otherwise the whole months
// inside the period come from month rows.
func cond(f Filter, lv level, daily bool) (string, []any) {
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	var c []string
	switch {
	case f.SystemID != uuid.Nil || f.OrgID != uuid.Nil || lv == levelSystem:
		c = append(c, "scope = 's'")
		if f.SystemID != uuid.Nil {
			c = append(c, "system_id = "+arg(f.SystemID))
		}
		if f.OrgID != uuid.Nil {
			c = append(c, "organization_id = "+arg(f.OrgID))
		}
		if f.Region != "" {
			c = append(c, "region = "+arg(f.Region))
		}
	case f.Region != "" || lv == levelRegion:
		c = append(c, "scope = 'r'")
		if f.Region != "" {
			c = append(c, "region = "+arg(f.Region))
		}
	default:
		c = append(c, "scope = 'a'")
	}
	if f.Kind != "" {
		c = append(c, "kind = "+arg(f.Kind))
	}
	from, to := day(f.From), day(f.To)
	m1 := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
	if !m1.Equal(from) {
		m1 = m1.AddDate(0, 1, 0)
	}
	after := to.AddDate(0, 0, 1)
	m2 := time.Date(after.Year(), after.Month(), 1, 0, 0, 0, 0, time.UTC)
	if daily || !m1.Before(m2) {
		c = append(c, fmt.Sprintf("grain = 'd' AND bucket BETWEEN %s AND %s", arg(from), arg(to)))
	} else {
		c = append(c, fmt.Sprintf("((grain = 'd' AND bucket >= %s AND bucket < %s) OR (grain = 'm' AND bucket >= %s AND bucket < %s) OR (grain = 'd' AND bucket >= %s AND bucket <= %s))",
			arg(from), arg(m1), arg(m1), arg(m2), arg(m2), arg(to)))
	}
	return strings.Join(c, " AND "), args
}

// day is t's calendar day as a UTC midnight (how pgx passes a date).
func day(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }

// Percent rounds a share to one decimal place of a percent, as shown.
func Percent(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return math.Round(float64(n)*1000/float64(of)) / 10
}

// Ratio rounds n/of to two decimal places.
func Ratio(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return math.Round(float64(n)*100/float64(of)) / 100
}

// Totals are the counters of a set of attempts.
type Totals struct {
	Attempts            int64   `json:"attempts"`
	Accepted            int64   `json:"accepted"`
	AcceptedPercent     float64 `json:"accepted_percent"`
	Refused             int64   `json:"refused"`
	RefusedPercent      float64 `json:"refused_percent"`
	Documents           int64   `json:"documents"` // first tries
	AttemptsPerDocument float64 `json:"attempts_per_document"`
	Dated               int64   `json:"dated"`   // documents whose delay is known
	Delayed             int64   `json:"delayed"` // of those, more than DelayDays late
	DelayedPercent      float64 `json:"delayed_percent"`
}

// Derive computes the shares and the ratio from the counts.
func (t *Totals) Derive() {
	t.AcceptedPercent, t.RefusedPercent = Percent(t.Accepted, t.Attempts), Percent(t.Refused, t.Attempts)
	t.AttemptsPerDocument = Ratio(t.Attempts, t.Documents)
	t.DelayedPercent = Percent(t.Delayed, t.Dated)
}

const sumCounts = `coalesce(sum(attempts), 0)::bigint, coalesce(sum(accepted), 0)::bigint, coalesce(sum(refused), 0)::bigint,
	coalesce(sum(first_tries), 0)::bigint, coalesce(sum(dated), 0)::bigint, coalesce(sum(delayed), 0)::bigint`

func scanTotals(row pgx.Row, extra ...any) (Totals, error) {
	var t Totals
	err := row.Scan(append(extra, &t.Attempts, &t.Accepted, &t.Refused, &t.Documents, &t.Dated, &t.Delayed)...)
	t.Derive()
	return t, err
}

// Totals sums the attempts f selects.
func (s *Service) Totals(ctx context.Context, f Filter) (Totals, error) {
	w, args := cond(f, levelAuto, false)
	t, err := scanTotals(s.Pool.QueryRow(ctx, `SELECT `+sumCounts+` FROM stats_counts WHERE `+w, args...))
	if err != nil {
		return t, fmt.Errorf("stats: totals: %w", err)
	}
	return t, nil
}

// Bar is one bar of a histogram: documents whose lag was Days whole days
// (the last bar, MaxLagDays, is that many or more).
type Bar struct {
	Days int   `json:"days"`
	N    int64 `json:"n"`
}

// Lags are the two histograms of the first dashboard.
type Lags struct {
	CreatedToSigned   []Bar `json:"created_to_signed"`
	SignedToSubmitted []Bar `json:"signed_to_submitted"`
}

// Lags reads both histograms, every bar 0..MaxLagDays present.
func (s *Service) Lags(ctx context.Context, f Filter) (Lags, error) {
	w, args := cond(f, levelAuto, false)
	rows, err := s.Pool.Query(ctx, `SELECT which::text, days, sum(n)::bigint FROM stats_lags WHERE `+w+` GROUP BY 1, 2`, args...)
	if err != nil {
		return Lags{}, fmt.Errorf("stats: lags: %w", err)
	}
	l := Lags{CreatedToSigned: bars(), SignedToSubmitted: bars()}
	var which string
	var days int
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&which, &days, &n}, func() error {
		if days < 0 || days > MaxLagDays {
			return nil
		}
		if which == "c" {
			l.CreatedToSigned[days].N = n
		} else {
			l.SignedToSubmitted[days].N = n
		}
		return nil
	})
	if err != nil {
		return Lags{}, fmt.Errorf("stats: lags: %w", err)
	}
	return l, nil
}

func bars() []Bar {
	b := make([]Bar, MaxLagDays+1)
	for i := range b {
		b[i].Days = i
	}
	return b
}

// Point is one day of the timeline.
type Point struct {
	Day      string `json:"day"` // YYYY-MM-DD
	Accepted int64  `json:"accepted"`
	Refused  int64  `json:"refused"`
}

// Timeline is accepted and refused attempts per day, every day of the period present.
func (s *Service) Timeline(ctx context.Context, f Filter) ([]Point, error) {
	w, args := cond(f, levelAuto, true)
	rows, err := s.Pool.Query(ctx, `SELECT bucket, sum(accepted)::bigint, sum(refused)::bigint FROM stats_counts WHERE `+w+` GROUP BY 1`, args...)
	if err != nil {
		return nil, fmt.Errorf("stats: timeline: %w", err)
	}
	byDay := map[string]Point{}
	var d time.Time
	var p Point
	if _, err := pgx.ForEachRow(rows, []any{&d, &p.Accepted, &p.Refused}, func() error {
		p.Day = d.Format(time.DateOnly)
		byDay[p.Day] = p
		return nil
	}); err != nil {
		return nil, fmt.Errorf("stats: timeline: %w", err)
	}
	var out []Point
	for t := day(f.From); !t.After(day(f.To)); t = t.AddDate(0, 0, 1) {
		k := t.Format(time.DateOnly)
		out = append(out, Point{Day: k, Accepted: byDay[k].Accepted, Refused: byDay[k].Refused})
	}
	return out, nil
}

// Group is one row of a ranking: a region or an information system.
type Group struct {
	Key  string `json:"key"`  // region code or system id
	Name string `json:"name"` // region name, or "system — organisation"
	Totals
	TopCode string `json:"top_code,omitempty"` // the most frequent refusal code
}

// ByRegion sums f per region, with each region's most frequent refusal code.
func (s *Service) ByRegion(ctx context.Context, f Filter) ([]Group, error) {
	return s.byRegion(ctx, f, true)
}

func (s *Service) byRegion(ctx context.Context, f Filter, withCodes bool) ([]Group, error) {
	w, args := cond(f, levelRegion, false)
	rows, err := s.Pool.Query(ctx, `SELECT region, `+sumCounts+` FROM stats_counts WHERE `+w+` GROUP BY region`, args...)
	if err != nil {
		return nil, fmt.Errorf("stats: by region: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Group, error) {
		var g Group
		var err error
		g.Totals, err = scanTotals(r, &g.Key)
		g.Name = RegionName(g.Key)
		return g, err
	})
	if err != nil {
		return nil, fmt.Errorf("stats: by region: %w", err)
	}
	if !withCodes {
		return out, nil
	}
	return out, s.topCodes(ctx, f, levelRegion, "region", out)
}

// BySystem sums f per information system (TopCode left empty).
func (s *Service) BySystem(ctx context.Context, f Filter) ([]Group, error) {
	w, args := cond(f, levelSystem, false)
	rows, err := s.Pool.Query(ctx, `SELECT x.*, coalesce(si.name, '') || ' — ' || coalesce(o.name, '') FROM (
		SELECT system_id::text, `+sumCounts+` FROM stats_counts WHERE `+w+` GROUP BY system_id) x
		LEFT JOIN information_systems si ON si.id = x.system_id::uuid LEFT JOIN organizations o ON o.id = si.organization_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("stats: by system: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Group, error) {
		var g Group
		var name string
		t, err := scanTotals(&tail{r, &name}, &g.Key)
		g.Totals, g.Name = t, name
		return g, err
	})
	if err != nil {
		return nil, fmt.Errorf("stats: by system: %w", err)
	}
	// No most frequent code per system: over a year it would aggregate
	// every system's codes (~300,000 rows at 10 M attempts, the slowest
	// query of all); the reasons list with a system filter answers it.
	return out, nil
}

// tail scans one more column after the ones the caller names.
type tail struct {
	r    pgx.Row
	last any
}

func (t *tail) Scan(dest ...any) error { return t.r.Scan(append(dest, t.last)...) }

// topCodes fills each group's most frequent refusal code.
func (s *Service) topCodes(ctx context.Context, f Filter, lv level, col string, gs []Group) error {
	if len(gs) == 0 {
		return nil
	}
	w, args := cond(f, lv, false)
	rows, err := s.Pool.Query(ctx, `SELECT DISTINCT ON (g) g, code FROM (
		SELECT `+col+` AS g, code, sum(n) AS n FROM stats_codes WHERE `+w+` GROUP BY 1, 2) x ORDER BY g, n DESC, code`, args...)
	if err != nil {
		return fmt.Errorf("stats: top codes: %w", err)
	}
	top := map[string]string{}
	var g, code string
	if _, err := pgx.ForEachRow(rows, []any{&g, &code}, func() error { top[g] = code; return nil }); err != nil {
		return fmt.Errorf("stats: top codes: %w", err)
	}
	for i := range gs {
		gs[i].TopCode = top[gs[i].Key]
	}
	return nil
}

// Reason is one refusal code with its count and share of all errors.
type Reason struct {
	Code    string  `json:"code"`
	N       int64   `json:"n"`
	Percent float64 `json:"percent"`
}

// Reasons counts refusal codes, most frequent first.
func (s *Service) Reasons(ctx context.Context, f Filter) (total int64, out []Reason, err error) {
	w, args := cond(f, levelAuto, false)
	rows, err := s.Pool.Query(ctx, `SELECT code, sum(n)::bigint FROM stats_codes WHERE `+w+` GROUP BY code ORDER BY 2 DESC, 1`, args...)
	if err != nil {
		return 0, nil, fmt.Errorf("stats: reasons: %w", err)
	}
	out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Reason, error) {
		var x Reason
		return x, r.Scan(&x.Code, &x.N)
	})
	if err != nil {
		return 0, nil, fmt.Errorf("stats: reasons: %w", err)
	}
	for _, r := range out {
		total += r.N
	}
	for i := range out {
		out[i].Percent = Percent(out[i].N, total)
	}
	return total, out, nil
}

// Share is a region's share of something, for the top-10 lists.
type Share struct {
	Region  string  `json:"region"`
	Name    string  `json:"name"`
	N       int64   `json:"n"`
	Of      int64   `json:"of"`
	Percent float64 `json:"percent"`
}

// TopBottom sorts shares and returns the n largest and the n smallest
// (ties by region code, so the lists are stable).
func TopBottom(in []Share, n int) (top, bottom []Share) {
	s := append([]Share(nil), in...)
	sort.SliceStable(s, func(i, j int) bool {
		a, b := float64(s[i].N)/float64(s[i].Of), float64(s[j].N)/float64(s[j].Of)
		if a != b {
			return a > b
		}
		return s[i].Region < s[j].Region
	})
	top = s[:min(n, len(s))]
	for i := len(s) - 1; i >= 0 && len(bottom) < n; i-- {
		bottom = append(bottom, s[i])
	}
	return top, bottom
}

// Queue counts the work waiting right now for what f selects: certificate
// deliveries not yet delivered and referrals not yet sent. Read live, from
// partial sets the workflow keeps small.
func (s *Service) Queue(ctx context.Context, f Filter) (int64, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	c := []string{"true"}
	if f.Region != "" {
		c = append(c, "o.region = "+arg(f.Region))
	}
	if f.OrgID != uuid.Nil {
		c = append(c, "q.organization_id = "+arg(f.OrgID))
	}
	if f.SystemID != uuid.Nil {
		c = append(c, "doc.system_id = "+arg(f.SystemID))
	}
	if f.Kind != "" {
		c = append(c, "doc.kind = "+arg(f.Kind))
	}
	var n int64
	err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM (
		SELECT organization_id, document_id FROM deliveries WHERE state IN ('pending', 'retrying')
		UNION ALL SELECT organization_id, document_id FROM mse_referrals WHERE state IN ('received', 'assembling', 'sending')
	) q JOIN organizations o ON o.id = q.organization_id JOIN documents doc ON doc.id = q.document_id
	WHERE `+strings.Join(c, " AND "), args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("stats: queue: %w", err)
	}
	return n, nil
}

// RolledTo is how far the record is folded into the roll-ups: the
// dashboards' "as of".
func (s *Service) RolledTo(ctx context.Context) (time.Time, error) {
	var t time.Time
	var inf bool
	err := s.Pool.QueryRow(ctx, `SELECT CASE WHEN rolled_to = '-infinity' THEN now() ELSE rolled_to END, rolled_to = '-infinity' FROM stats_watermark`).Scan(&t, &inf)
	if err != nil {
		return t, fmt.Errorf("stats: watermark: %w", err)
	}
	if inf {
		return time.Time{}, nil
	}
	return t, nil
}
