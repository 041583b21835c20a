package stats

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// TopN is how many regions the top and bottom lists show.
const TopN = 10

// Registration is the first dashboard, "Ошибки регистрации".
type Registration struct {
	Filter       Filter    `json:"filter"`
	AsOf         time.Time `json:"as_of"` // attempts up to this time are counted (zero: none folded yet)
	Totals       Totals    `json:"totals"`
	Queue        int64     `json:"queue"` // requests waiting right now
	Lags         Lags      `json:"lags"`
	Timeline     []Point   `json:"timeline"`
	MostDelayed  []Share   `json:"most_delayed"`  // regions with the largest share of documents late > 5 days
	LeastDelayed []Share   `json:"least_delayed"` // and the smallest
}

// Registration answers the first dashboard.
func (s *Service) Registration(ctx context.Context, f Filter) (*Registration, error) {
	r := &Registration{Filter: f}
	var err error
	if r.AsOf, err = s.RolledTo(ctx); err != nil {
		return nil, err
	}
	if r.Totals, err = s.Totals(ctx, f); err != nil {
		return nil, err
	}
	if r.Queue, err = s.Queue(ctx, f); err != nil {
		return nil, err
	}
	if r.Lags, err = s.Lags(ctx, f); err != nil {
		return nil, err
	}
	if r.Timeline, err = s.Timeline(ctx, f); err != nil {
		return nil, err
	}
	regions, err := s.byRegion(ctx, f, false) // the delayed shares need no refusal codes
	if err != nil {
		return nil, err
	}
	var shares []Share
	for _, g := range regions {
		if g.Dated > 0 {
			shares = append(shares, Share{Region: g.Key, Name: g.Name, N: g.Delayed, Of: g.Dated, Percent: g.DelayedPercent})
		}
	}
	r.MostDelayed, r.LeastDelayed = TopBottom(shares, TopN)
	return r, nil
}

// Ranking keys.
const (
	ByRegionKey = "region"
	BySystemKey = "system"
)

// Refusals is the second dashboard, "Причины отказа".
type Refusals struct {
	Filter       Filter    `json:"filter"`
	AsOf         time.Time `json:"as_of"`
	Totals       Totals    `json:"totals"`
	TotalErrors  int64     `json:"total_errors"` // refusal codes counted (an attempt may carry several)
	Reasons      []Reason  `json:"reasons"`
	MostRefused  []Share   `json:"most_refused"`  // regions with the largest share of refused attempts
	LeastRefused []Share   `json:"least_refused"` // and the smallest
	By           string    `json:"by"`            // region or system
	Ranking      []Group   `json:"ranking"`       // by refusal share, largest first
}

// Refusals answers the second dashboard, its ranking by region or system.
func (s *Service) Refusals(ctx context.Context, f Filter, by string) (*Refusals, error) {
	r := &Refusals{Filter: f, By: by}
	var err error
	if r.AsOf, err = s.RolledTo(ctx); err != nil {
		return nil, err
	}
	if r.Totals, err = s.Totals(ctx, f); err != nil {
		return nil, err
	}
	if r.TotalErrors, r.Reasons, err = s.Reasons(ctx, f); err != nil {
		return nil, err
	}
	regions, err := s.ByRegion(ctx, f)
	if err != nil {
		return nil, err
	}
	var shares []Share
	for _, g := range regions {
		if g.Attempts > 0 {
			shares = append(shares, Share{Region: g.Key, Name: g.Name, N: g.Refused, Of: g.Attempts, Percent: g.RefusedPercent})
		}
	}
	r.MostRefused, r.LeastRefused = TopBottom(shares, TopN)
	r.Ranking = regions
	if by == BySystemKey {
		if r.Ranking, err = s.BySystem(ctx, f); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(r.Ranking, func(i, j int) bool {
		a, b := r.Ranking[i], r.Ranking[j]
		if a.RefusedPercent != b.RefusedPercent {
			return a.RefusedPercent > b.RefusedPercent
		}
		if a.Attempts != b.Attempts {
			return a.Attempts > b.Attempts
		}
		return a.Key < b.Key
	})
	return r, nil
}

// Peer is one recipient of the hub's calls on the deliveries dashboard.
type Peer struct {
	Peer      string     `json:"peer"` // mse, zags, epgu, provider:<system>
	Name      string     `json:"name"`
	Attempts  int64      `json:"attempts"`
	OK        int64      `json:"ok"`
	OKPercent float64    `json:"ok_percent"`
	P50MS     int64      `json:"p50_ms"`
	P95MS     int64      `json:"p95_ms"`
	Breaker   string     `json:"breaker"` // closed, open, probing (this process's view)
	Queue     int64      `json:"queue"`   // items waiting for this peer now
	Oldest    *time.Time `json:"oldest_waiting,omitempty"`
}

// Step is one stage of a flow's funnel.
type Step struct {
	Name string `json:"name"`
	N    int64  `json:"n"`
}

// Funnel is how far a flow's items got.
type Funnel struct {
	Flow  string `json:"flow"`
	Name  string `json:"name"`
	Steps []Step `json:"steps"`
}

// Deliveries is the third dashboard: the hub's own calls to its peers.
type Deliveries struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Peers   []Peer    `json:"peers"`
	Funnels []Funnel  `json:"funnels"`
}

var peerNames = map[string]string{"mse": "Бюро МСЭ", "zags": "ЕГР ЗАГС", "epgu": "ЕПГУ", "provider": "Поставщик документов МИС"}

// Deliveries answers the deliveries dashboard for the days f.From..f.To
// (the other filters do not apply: the exchange log is per call). breaker
// gives a peer's breaker state; nil: unknown.
func (s *Service) Deliveries(ctx context.Context, f Filter, breaker func(peer string) string) (*Deliveries, error) {
	from, to := dayStart(f.From), dayStart(f.To).AddDate(0, 0, 1)
	d := &Deliveries{From: day(f.From), To: day(f.To)}
	// One pass over the period's calls (exchange_log_at_idx); provider calls
	// are told apart by the system whose referral they fetched for.
	rows, err := s.Pool.Query(ctx, `
		SELECT CASE WHEN l.peer = 'provider' AND si.name IS NOT NULL THEN 'provider:' || si.name ELSE l.peer END AS p,
			count(*)::bigint, (count(*) FILTER (WHERE l.outcome IN ('ok', 'duplicate')))::bigint,
			coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY l.duration_ms), 0)::bigint,
			coalesce(percentile_disc(0.95) WITHIN GROUP (ORDER BY l.duration_ms), 0)::bigint
		FROM exchange_log l
		LEFT JOIN mse_referrals r ON l.peer = 'provider' AND r.id = l.subject_id
		LEFT JOIN information_systems si ON si.id = r.system_id
		WHERE l.at >= $1 AND l.at < $2 AND l.direction = 'out' AND l.peer <> 'hub' AND l.outcome <> 'started'
		GROUP BY 1 ORDER BY 1`, from, to)
	if err != nil {
		return nil, fmt.Errorf("stats: deliveries: %w", err)
	}
	peers, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Peer, error) {
		var p Peer
		return p, r.Scan(&p.Peer, &p.Attempts, &p.OK, &p.P50MS, &p.P95MS)
	})
	if err != nil {
		return nil, fmt.Errorf("stats: deliveries: %w", err)
	}
	for _, p := range []string{"mse", "zags", "epgu"} {
		if !hasPeer(peers, p) {
			peers = append(peers, Peer{Peer: p})
		}
	}
	// Waiting now: certificate deliveries per recipient, referrals to send,
	// linked documents to fetch per system.
	rows, err = s.Pool.Query(ctx, `
		SELECT recipient, count(*)::bigint, min(created_at) FROM deliveries WHERE state IN ('pending', 'retrying') GROUP BY 1
		UNION ALL SELECT 'mse', count(*)::bigint, min(received_at) FROM mse_referrals WHERE state IN ('received', 'assembling', 'sending') HAVING count(*) > 0
		UNION ALL SELECT 'provider:' || si.name, count(*)::bigint, min(r.received_at) FROM mse_links l
			JOIN mse_referrals r ON r.id = l.referral_id JOIN information_systems si ON si.id = r.system_id
			WHERE l.state IN ('pending', 'retrying') GROUP BY 1`)
	if err != nil {
		return nil, fmt.Errorf("stats: queues: %w", err)
	}
	type waiting struct {
		n      int64
		oldest *time.Time
	}
	queues := map[string]waiting{}
	var peer string
	var w waiting
	if _, err := pgx.ForEachRow(rows, []any{&peer, &w.n, &w.oldest}, func() error {
		queues[peer] = w
		if !hasPeer(peers, peer) {
			peers = append(peers, Peer{Peer: peer})
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("stats: queues: %w", err)
	}
	for i := range peers {
		p := &peers[i]
		p.OKPercent = Percent(p.OK, p.Attempts)
		p.Queue, p.Oldest = queues[p.Peer].n, queues[p.Peer].oldest
		key := p.Peer
		if len(key) > 9 && key[:9] == "provider:" {
			p.Name = peerNames["provider"] + " «" + key[9:] + "»"
			key = "provider"
		} else {
			p.Name = peerNames[key]
		}
		p.Breaker = "—"
		if breaker != nil {
			p.Breaker = breaker(key)
		}
	}
	sort.SliceStable(peers, func(i, j int) bool { return peers[i].Peer < peers[j].Peer })
	d.Peers = peers

	// Funnels of the items that arrived in the period.
	var mse Funnel
	mse = Funnel{Flow: "mse", Name: "Направления на МСЭ", Steps: make([]Step, 4)}
	err = s.Pool.QueryRow(ctx, `SELECT count(*), count(assembled_at), count(sent_at), count(*) FILTER (WHERE result_at IS NOT NULL OR returned_at IS NOT NULL)
		FROM mse_referrals WHERE received_at >= $1 AND received_at < $2`, from, to).
		Scan(&mse.Steps[0].N, &mse.Steps[1].N, &mse.Steps[2].N, &mse.Steps[3].N)
	if err != nil {
		return nil, fmt.Errorf("stats: mse funnel: %w", err)
	}
	for i, n := range []string{"получено", "пакет собран", "отправлено", "результат получен"} {
		mse.Steps[i].Name = n
	}
	d.Funnels = append(d.Funnels, mse)
	for _, rc := range []string{"zags", "epgu"} {
		fu := Funnel{Flow: rc, Name: "Свидетельства → " + peerNames[rc], Steps: make([]Step, 3)}
		err = s.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE attempts > 0), count(delivered_at)
			FROM deliveries WHERE recipient = $3 AND created_at >= $1 AND created_at < $2`, from, to, rc).
			Scan(&fu.Steps[0].N, &fu.Steps[1].N, &fu.Steps[2].N)
		if err != nil {
			return nil, fmt.Errorf("stats: %s funnel: %w", rc, err)
		}
		for i, n := range []string{"получено", "отправлено", "доставлено"} {
			fu.Steps[i].Name = n
		}
		d.Funnels = append(d.Funnels, fu)
	}
	return d, nil
}

func hasPeer(ps []Peer, p string) bool {
	for _, x := range ps {
		if x.Peer == p {
			return true
		}
	}
	return false
}

var moscow = func() *time.Location {
	l, err := time.LoadLocation(Zone)
	if err != nil {
		return time.FixedZone("MSK", 3*3600)
	}
	return l
}()

// dayStart is the instant day t begins in Moscow.
func dayStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, moscow)
}

// Today is the current day in Moscow, as a date.
func Today(now time.Time) time.Time { return day(now.In(moscow)) }
