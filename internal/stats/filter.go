package stats

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/codes"
)

// DefaultDays is the period when none is given: the last 30 days, today included.
const DefaultDays = 30

// MaxDays is the longest period one query may ask for.
const MaxDays = 3 * 366

var (
	regionRe = regexp.MustCompile(`^[0-9]{1,3}$`)
	kindRe   = regexp.MustCompile(`^[0-9]{1,6}$`)
	oidRe    = regexp.MustCompile(`^[0-9]+(\.[0-9]+)+$`)
)

// ParseFilter reads the filters from a query string (the API's and the
// console's URLs alike): from, to (YYYY-MM-DD, days in Moscow), region
// (subject code), org (the organisation's OID), system (its id), kind (НСИ
// 1520). A bad value is 400 BAD_REQUEST naming it.
func ParseFilter(q url.Values, now time.Time) (Filter, error) {
	f := Filter{To: Today(now)}
	f.From = f.To.AddDate(0, 0, -(DefaultDays - 1))
	bad := func(name, want string) error {
		return codes.New(http.StatusBadRequest, codes.BadRequest, "filter %s=%q: want %s", name, q.Get(name), want)
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return f, bad(p.name, "a day as YYYY-MM-DD")
			}
			*p.dst = t
		}
	}
	if q.Get("to") != "" && q.Get("from") == "" {
		f.From = f.To.AddDate(0, 0, -(DefaultDays - 1))
	}
	if f.From.After(f.To) {
		return f, codes.New(http.StatusBadRequest, codes.BadRequest, "filter from=%s is after to=%s", f.From.Format(time.DateOnly), f.To.Format(time.DateOnly))
	}
	if f.To.Sub(f.From) > MaxDays*24*time.Hour {
		return f, codes.New(http.StatusBadRequest, codes.BadRequest, "the period is longer than %d days", MaxDays)
	}
	if f.Region = q.Get("region"); f.Region != "" && !regionRe.MatchString(f.Region) {
		return f, bad("region", "a subject code (77)")
	}
	if f.Kind = q.Get("kind"); f.Kind != "" && !kindRe.MatchString(f.Kind) {
		return f, bad("kind", "a document kind code of НСИ 1520 (121)")
	}
	if f.OrgOID = q.Get("org"); f.OrgOID != "" && !oidRe.MatchString(f.OrgOID) {
		return f, bad("org", "the organisation's OID")
	}
	if v := q.Get("system"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			return f, bad("system", "an information system id (uuid)")
		}
		f.SystemID = id
	}
	return f, nil
}

// noOrg matches no organisation: an OID the hub does not know selects nothing.
var noOrg = uuid.Max

// ResolveOrg turns f.OrgOID into f.OrgID.
func (s *Service) ResolveOrg(ctx context.Context, f *Filter) error {
	if f.OrgOID == "" {
		return nil
	}
	err := s.Pool.QueryRow(ctx, `SELECT id FROM organizations WHERE oid = $1`, f.OrgOID).Scan(&f.OrgID)
	if errors.Is(err, pgx.ErrNoRows) {
		f.OrgID = noOrg
		return nil
	}
	if err != nil {
		return fmt.Errorf("stats: organisation %s: %w", f.OrgOID, err)
	}
	return nil
}

// Query is f as a query string, for links that keep the view.
func (f Filter) Query() url.Values {
	q := url.Values{}
	q.Set("from", f.From.Format(time.DateOnly))
	q.Set("to", f.To.Format(time.DateOnly))
	for k, v := range map[string]string{"region": f.Region, "org": f.OrgOID, "kind": f.Kind} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.SystemID != uuid.Nil {
		q.Set("system", f.SystemID.String())
	}
	return q
}
