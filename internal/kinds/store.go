package kinds

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/store"
)

// Channel is the PostgreSQL NOTIFY channel of kind bundle state changes;
// the payload is the kind.
const Channel = "hub_kinds"

// Bundle states (kind_bundles.state).
const (
	StateActive     = "active"
	StateInactive   = "inactive"   // uploaded without activation
	StateSuperseded = "superseded" // was active; another version (or the built-in one) replaced it
)

// Audit actions of kind bundles (audit_log.action).
const (
	AuditUpload   = "kind.upload"
	AuditActivate = "kind.activate"
	AuditRollback = "kind.rollback"
)

// Version is one stored bundle version, as operators see it (never the zip).
type Version struct {
	Kind           string     `json:"kind"`
	Version        int        `json:"version"`
	SHA256         string     `json:"sha256"`
	Bytes          int        `json:"bytes"`
	UploadedBy     string     `json:"uploaded_by"`
	UploadedByKey  *uuid.UUID `json:"uploaded_by_key,omitempty"`
	UploadedAt     time.Time  `json:"uploaded_at"`
	State          string     `json:"state"`
	StateChangedAt time.Time  `json:"state_changed_at"`
	Note           string     `json:"note,omitempty"`
}

const versionCols = `kind, version, sha256, octet_length(bundle), uploaded_by, uploaded_by_key, uploaded_at, state, state_changed_at, note`

func scanVersion(r pgx.Row) (*Version, error) {
	var v Version
	var sum []byte
	if err := r.Scan(&v.Kind, &v.Version, &sum, &v.Bytes, &v.UploadedBy, &v.UploadedByKey, &v.UploadedAt, &v.State, &v.StateChangedAt, &v.Note); err != nil {
		return nil, err
	}
	v.SHA256 = hex.EncodeToString(sum)
	return &v, nil
}

// Prepare reads, compiles and tries a bundle on its samples: everything an
// upload checks before anything is stored.
func (r *Registry) Prepare(kind string, zb []byte) (*Set, error) {
	b, err := ReadBundle(kind, zb, r.Limits)
	if err != nil {
		return nil, err
	}
	set, err := Compile(b)
	if err != nil {
		return nil, err
	}
	if err := set.Try(b); err != nil {
		return nil, err
	}
	return set, nil
}

// Upload checks a bundle (Prepare) and stores it as the kind's next
// version, active at once when activate is set (the active one, if any,
// becomes superseded). The row, its audit entry and the NOTIFY commit in
// one transaction; this process's registry reloads before Upload returns,
// the others on the notification. A refused bundle stores nothing.
func (r *Registry) Upload(ctx context.Context, a store.Actor, kind string, zb []byte, note string, activate bool) (*Version, error) {
	if _, err := r.Prepare(kind, zb); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(zb)
	var v *Version
	err := r.change(ctx, kind, func(tx pgx.Tx) error {
		var next int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) + 1 FROM kind_bundles WHERE kind = $1`, kind).Scan(&next); err != nil {
			return err
		}
		state, previous := StateInactive, 0
		if activate {
			state = StateActive
			var err error
			if previous, err = supersede(ctx, tx, kind); err != nil {
				return err
			}
		}
		var err error
		v, err = scanVersion(tx.QueryRow(ctx, `INSERT INTO kind_bundles (kind, version, sha256, bundle, uploaded_by_key, uploaded_by, state, note)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+versionCols, kind, next, sum[:], zb, a.KeyID, a.Name, state, note))
		if err != nil {
			return err
		}
		return r.Store.Audit(ctx, tx, a, AuditUpload, nil, nil, map[string]any{
			"kind": kind, "version": next, "sha256": v.SHA256, "bytes": len(zb), "activated": activate, "previous_active": previous, "note": note})
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Activate puts a stored version in force (the active one becomes
// superseded), after compiling it and trying its samples again: a bundle
// this hub's engine no longer compiles is not activated. Activating the
// active version changes nothing and records nothing.
func (r *Registry) Activate(ctx context.Context, a store.Actor, kind string, version int) (*Version, error) {
	var v *Version
	err := r.change(ctx, kind, func(tx pgx.Tx) error {
		cur, err := r.version(ctx, tx, kind, version)
		if err != nil {
			return err
		}
		if cur.State == StateActive {
			v = cur
			return errUnchanged
		}
		vp, err := r.activate(ctx, tx, kind, version)
		if err != nil {
			return err
		}
		v = vp.Version
		return r.Store.Audit(ctx, tx, a, AuditActivate, nil, nil, map[string]any{"kind": kind, "version": version, "previous_active": vp.previous})
	})
	if errors.Is(err, errUnchanged) {
		return v, nil
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Rollback puts back the version before the active one: the highest
// version below it, whatever its state. When the active one is the
// kind's first version, the kind returns to what the hub started with
// (the bundled schematron or HUB_SCHEMATRON_DIR's, or none) and the result
// is nil. 409 KIND_NOT_ACTIVE when no version is active.
func (r *Registry) Rollback(ctx context.Context, a store.Actor, kind string) (*Version, error) {
	var v *Version
	err := r.change(ctx, kind, func(tx pgx.Tx) error {
		var active int
		err := tx.QueryRow(ctx, `SELECT version FROM kind_bundles WHERE kind = $1 AND state = 'active'`, kind).Scan(&active)
		if errors.Is(err, pgx.ErrNoRows) {
			return codes.New(http.StatusConflict, codes.KindNotActive, "kind %s has no active bundle to roll back (it runs what the hub started with)", kind)
		}
		if err != nil {
			return err
		}
		var prev int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM kind_bundles WHERE kind = $1 AND version < $2`, kind, active).Scan(&prev); err != nil {
			return err
		}
		if prev == 0 {
			if _, err := supersede(ctx, tx, kind); err != nil {
				return err
			}
		} else {
			vp, err := r.activate(ctx, tx, kind, prev)
			if err != nil {
				return err
			}
			v = vp.Version
		}
		return r.Store.Audit(ctx, tx, a, AuditRollback, nil, nil, map[string]any{"kind": kind, "from_version": active, "to_version": prev})
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// List returns the stored versions of kind ("" : of every kind), by kind
// and newest version first.
func (r *Registry) List(ctx context.Context, kind string) ([]Version, error) {
	rows, err := r.Pool.Query(ctx, `SELECT `+versionCols+` FROM kind_bundles WHERE $1 = '' OR kind = $1 ORDER BY kind, version DESC`, kind)
	if err != nil {
		return nil, fmt.Errorf("kinds: list: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Version, error) {
		v, err := scanVersion(row)
		if err != nil {
			return Version{}, err
		}
		return *v, nil
	})
	if err != nil {
		return nil, fmt.Errorf("kinds: list: %w", err)
	}
	return out, nil
}

var errUnchanged = errors.New("kinds: unchanged")

// change runs one state change of a kind in a transaction that holds the
// kind's advisory lock (so two uploads cannot take the same version number
// and two activations cannot both win), notifies Channel in it, and reloads
// this process's registry after the commit.
func (r *Registry) change(ctx context.Context, kind string, fn func(pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, r.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('hub_kinds:' || $1, 0))`, kind); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, Channel, kind)
		return err
	})
	if err != nil {
		var ce *codes.Error
		if errors.As(err, &ce) || errors.Is(err, errUnchanged) {
			return err
		}
		return fmt.Errorf("kinds: kind %s: %w", kind, err)
	}
	if err := r.Reload(ctx); err != nil {
		r.Log.Error("kind bundles: reload after a change failed; the poll will retry", "kind", kind, "error", err)
	}
	return nil
}

// versionWithPrevious is a Version and the version it replaced (0: none).
type versionWithPrevious struct {
	*Version
	previous int
}

func (r *Registry) version(ctx context.Context, tx pgx.Tx, kind string, version int) (*Version, error) {
	v, err := scanVersion(tx.QueryRow(ctx, `SELECT `+versionCols+` FROM kind_bundles WHERE kind = $1 AND version = $2`, kind, version))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, codes.New(http.StatusNotFound, codes.NotFound, "kind %s has no bundle version %d", kind, version)
	}
	return v, err
}

// activate makes a stored version active in tx after checking it again.
func (r *Registry) activate(ctx context.Context, tx pgx.Tx, kind string, version int) (versionWithPrevious, error) {
	var zb []byte
	if err := tx.QueryRow(ctx, `SELECT bundle FROM kind_bundles WHERE kind = $1 AND version = $2`, kind, version).Scan(&zb); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return versionWithPrevious{}, codes.New(http.StatusNotFound, codes.NotFound, "kind %s has no bundle version %d", kind, version)
		}
		return versionWithPrevious{}, err
	}
	if _, err := r.Prepare(kind, zb); err != nil {
		return versionWithPrevious{}, err
	}
	previous, err := supersede(ctx, tx, kind)
	if err != nil {
		return versionWithPrevious{}, err
	}
	v, err := scanVersion(tx.QueryRow(ctx, `UPDATE kind_bundles SET state = 'active', state_changed_at = now()
		WHERE kind = $1 AND version = $2 RETURNING `+versionCols, kind, version))
	if err != nil {
		return versionWithPrevious{}, err
	}
	return versionWithPrevious{v, previous}, nil
}

// supersede retires the kind's active version, if any, and returns it (0: none).
func supersede(ctx context.Context, tx pgx.Tx, kind string) (int, error) {
	var v int
	err := tx.QueryRow(ctx, `UPDATE kind_bundles SET state = 'superseded', state_changed_at = now()
		WHERE kind = $1 AND state = 'active' RETURNING version`, kind).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return v, err
}
