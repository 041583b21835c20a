package kinds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/store"
)

// Registry is what one hub process enforces per kind: the schematrons it
// started with (bundled or HUB_SCHEMATRON_DIR), overlaid by the active
// bundle of each kind in the database. The door asks it per request
// (Lookup: one atomic load and a map read); Reload builds a new map and
// swaps it in, so a request sees either the old set or the new one, whole.
type Registry struct {
	Pool   *pgxpool.Pool
	Store  *store.Store // for audit rows
	Log    *slog.Logger
	Limits Limits // of uploads and of stored bundles being reloaded

	base map[string]*Set
	cur  atomic.Pointer[map[string]*Set]
	mu   sync.Mutex // one Reload at a time
}

// NewRegistry starts from the schematrons the hub was started with; call
// Reload (and Run) to overlay the active bundles.
func NewRegistry(base schematron.Set, pool *pgxpool.Pool, st *store.Store, log *slog.Logger) *Registry {
	r := &Registry{Pool: pool, Store: st, Log: log, Limits: DefaultLimits, base: map[string]*Set{}}
	for k, s := range base {
		r.base[k] = &Set{Kind: k, Schematron: s}
	}
	m := maps.Clone(r.base)
	r.cur.Store(&m)
	return r
}

// Lookup is the set in force for kind; nil when the hub has none (the door
// then runs the header checks only).
func (r *Registry) Lookup(kind string) *Set {
	if r == nil {
		return nil
	}
	return (*r.cur.Load())[kind]
}

// InForce is every set in force, by kind.
func (r *Registry) InForce() []*Set {
	m := *r.cur.Load()
	out := make([]*Set, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

// Reload reads which bundle version of each kind is active and compiles
// those it does not hold yet; kinds with no active bundle go back to the
// set the hub started with. A stored bundle that no longer compiles (a
// newer engine refusing a construct) is logged as an error and the kind
// keeps what was in force before, never a half-applied schematron.
func (r *Registry) Reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rows, err := r.Pool.Query(ctx, `SELECT kind, version FROM kind_bundles WHERE state = 'active'`)
	if err != nil {
		return fmt.Errorf("kinds: reload: %w", err)
	}
	type activeRow struct {
		kind    string
		version int
	}
	active, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (activeRow, error) {
		var a activeRow
		err := row.Scan(&a.kind, &a.version)
		return a, err
	})
	if err != nil {
		return fmt.Errorf("kinds: reload: %w", err)
	}
	cur := *r.cur.Load()
	next := maps.Clone(r.base)
	for _, a := range active {
		if s := cur[a.kind]; s != nil && s.Version == a.version {
			next[a.kind] = s
			continue
		}
		s, err := r.load(ctx, a.kind, a.version)
		if err != nil {
			r.Log.Error("kind bundle not loaded; the kind keeps what was in force: fix or roll back the bundle",
				slog.String("kind", a.kind), slog.Int("version", a.version), slog.Any("error", err))
			if old, ok := cur[a.kind]; ok {
				next[a.kind] = old
			}
			continue
		}
		next[a.kind] = s
	}
	changed := false
	for k := range mergeKeys(cur, next) {
		if cur[k] != next[k] {
			changed = true
			if s := next[k]; s != nil {
				r.Log.Info("kind in force", slog.String("kind", k), slog.Int("version", s.Version), slog.String("set", s.describe()))
			} else {
				r.Log.Info("kind no longer checked by a schematron", slog.String("kind", k))
			}
		}
	}
	if changed {
		r.cur.Store(&next)
	}
	return nil
}

func mergeKeys(a, b map[string]*Set) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func (r *Registry) load(ctx context.Context, kind string, version int) (*Set, error) {
	var zb []byte
	if err := r.Pool.QueryRow(ctx, `SELECT bundle FROM kind_bundles WHERE kind = $1 AND version = $2`, kind, version).Scan(&zb); err != nil {
		return nil, err
	}
	b, err := ReadBundle(kind, zb, r.Limits)
	if err != nil {
		return nil, err
	}
	s, err := Compile(b)
	if err != nil {
		return nil, err
	}
	s.Version = version
	return s, nil
}

// Run keeps the registry current until ctx ends: it LISTENs on Channel on
// a connection of its own (outside the pool) and reloads on every
// notification, and also every poll interval (HUB_KINDS_POLL) — which is
// all it does while the connection is down, trying to listen again after
// each poll. After every (re)connection it reloads at once, so nothing
// notified while it was away is missed.
func (r *Registry) Run(ctx context.Context, poll time.Duration) {
	for ctx.Err() == nil {
		err := r.listen(ctx, poll)
		if ctx.Err() != nil {
			return
		}
		r.Log.Warn("kind bundles: LISTEN connection lost; polling until it is back",
			slog.Duration("poll", poll), slog.Any("error", err))
		r.reloadLogged(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(poll):
		}
	}
}

func (r *Registry) listen(ctx context.Context, poll time.Duration) error {
	conn, err := pgx.ConnectConfig(ctx, r.Pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	r.reloadLogged(ctx)
	for {
		wctx, cancel := context.WithTimeout(ctx, poll)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		r.reloadLogged(ctx)
	}
}

func (r *Registry) reloadLogged(ctx context.Context) {
	if err := r.Reload(ctx); err != nil && ctx.Err() == nil {
		r.Log.Warn("kind bundles not reloaded; retrying at the next notification or poll", slog.Any("error", err))
	}
}
