package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/store/dbsqlc"
)

// ErrKeyRevoked means the key is revoked, or already scheduled for
// revocation by an earlier rotation, so it cannot be rotated.
var ErrKeyRevoked = errors.New("store: key already revoked or rotated")

// Actor is who makes a change, as the audit log records it.
type Actor struct {
	Kind  string     // operator, mis or cli
	KeyID *uuid.UUID // the API key that made the call; nil for the CLI
	Name  string     // the key's name, or the OS user running the CLI
}

// Actor kinds.
const (
	ActorOperator = "operator"
	ActorMIS      = "mis"
	ActorCLI      = "cli"
)

// ActorOf is the caller behind an API principal.
func ActorOf(p *Principal) Actor {
	kind := ActorOperator
	if p.Role == RoleMIS {
		kind = ActorMIS
	}
	id := p.KeyID
	return Actor{Kind: kind, KeyID: &id, Name: p.Name}
}

// Audit actions.
const (
	AuditSystemRegister  = "system.register"
	AuditKeyIssue        = "key.issue"
	AuditKeyRevoke       = "key.revoke"
	AuditKeyRotate       = "key.rotate"
	AuditCallbackSet     = "callback.set"
	AuditCallbackRotated = "callback.secret.rotate"
)

// Audit records a change in the caller's transaction, so the change and its
// record commit together or not at all.
func (s *Store) Audit(ctx context.Context, tx DBTX, a Actor, action string, targetKey, systemID *uuid.UUID, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	b, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("store: audit details: %w", err)
	}
	if err := queries.InsertAudit(ctx, tx, &dbsqlc.InsertAuditParams{Actor: a.Kind, ActorKeyID: a.KeyID, ActorName: a.Name,
		Action: action, TargetKeyID: targetKey, SystemID: systemID, Details: b}); err != nil {
		return fmt.Errorf("store: audit %s: %w", action, err)
	}
	return nil
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID          int64           `json:"id"`
	At          time.Time       `json:"at"`
	Actor       string          `json:"actor"`
	ActorKeyID  *uuid.UUID      `json:"actor_key_id,omitempty"`
	ActorName   string          `json:"actor_name"`
	Action      string          `json:"action"`
	TargetKeyID *uuid.UUID      `json:"target_key_id,omitempty"`
	SystemID    *uuid.UUID      `json:"system_id,omitempty"`
	Details     json.RawMessage `json:"details"`
}

// ListAudit returns audit entries newest first, before the id cursor (0:
// from the newest), optionally of one system; next is the cursor of the
// following page, 0 at the end.
func (s *Store) ListAudit(ctx context.Context, systemID uuid.UUID, before int64, limit int) (items []AuditEntry, next int64, err error) {
	rows, err := queries.ListAudit(ctx, s.Pool, &dbsqlc.ListAuditParams{Before: before, SystemID: systemID, MaxItems: limit + 1})
	if err != nil {
		return nil, 0, fmt.Errorf("store: list audit: %w", err)
	}
	items = make([]AuditEntry, len(rows))
	for i, r := range rows {
		items[i] = AuditEntry{ID: r.ID, At: r.At, Actor: r.Actor, ActorKeyID: r.ActorKeyID, ActorName: r.ActorName,
			Action: r.Action, TargetKeyID: r.TargetKeyID, SystemID: r.SystemID, Details: r.Details}
	}
	if len(items) > limit {
		items = items[:limit]
		next = items[limit-1].ID
	}
	return items, next, nil
}

// Key is an API key as operators see it: never the key itself.
type Key struct {
	ID         uuid.UUID  `json:"id"`
	Role       string     `json:"role"`
	SystemID   *uuid.UUID `json:"system_id,omitempty"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"` // to the minute
	RevokedAt  *time.Time `json:"revoked_at"`   // in the future: a rotation's overlap ends then
	ReplacedBy *uuid.UUID `json:"replaced_by,omitempty"`
	Active     bool       `json:"active"` // authenticates now
}

// keyOf is a key as operators see it. Every key query returns the same
// columns, so their row types convert to GetKeyRow.
func keyOf(r *dbsqlc.GetKeyRow) Key { return Key(*r) }

// ListKeys lists the keys of one information system (ErrNotFound if there
// is no such system), or with systemID nil the operators' keys, oldest first.
func (s *Store) ListKeys(ctx context.Context, systemID *uuid.UUID) ([]Key, error) {
	if systemID != nil {
		if err := s.checkSystem(ctx, s.Pool, *systemID); err != nil {
			return nil, err
		}
	}
	rows, err := queries.ListKeys(ctx, s.Pool, systemID)
	if err != nil {
		return nil, fmt.Errorf("store: list keys: %w", err)
	}
	keys := make([]Key, len(rows))
	for i, r := range rows {
		keys[i] = keyOf((*dbsqlc.GetKeyRow)(r))
	}
	return keys, nil
}

func (s *Store) checkSystem(ctx context.Context, db DBTX, id uuid.UUID) error {
	if _, err := queries.SystemName(ctx, db, id); err != nil {
		return notFound(err, "system "+id.String())
	}
	return nil
}

// IssuedKey is a new key: shown once, only its hash is kept.
type IssuedKey struct {
	Key    Key    `json:"key"`
	APIKey string `json:"api_key"`
}

// IssueKey makes a further key for an information system (name defaults to
// the system's), audited in the same transaction.
func (s *Store) IssueKey(ctx context.Context, a Actor, systemID uuid.UUID, name string) (*IssuedKey, error) {
	var out *IssuedKey
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		sysName, err := queries.SystemName(ctx, tx, systemID)
		if err != nil {
			return notFound(err, "system "+systemID.String())
		}
		if name == "" {
			name = sysName
		}
		k, err := s.issue(ctx, tx, RoleMIS, &systemID, name)
		if err != nil {
			return err
		}
		out = k
		return s.Audit(ctx, tx, a, AuditKeyIssue, &k.Key.ID, &systemID, map[string]any{"name": name})
	})
	if err != nil {
		return nil, fmt.Errorf("store: issue key for system %s: %w", systemID, err)
	}
	return out, nil
}

func (s *Store) issue(ctx context.Context, tx DBTX, role string, systemID *uuid.UUID, name string) (*IssuedKey, error) {
	id, key, err := createKey(ctx, tx, role, systemID, name)
	if err != nil {
		return nil, err
	}
	k, err := queries.GetKey(ctx, tx, id)
	if err != nil {
		return nil, fmt.Errorf("store: read new key %s: %w", id, err)
	}
	return &IssuedKey{Key: keyOf(k), APIKey: key}, nil
}

// RevokeKey revokes a key at once: the next request with it gets 401. A key
// already revoked is returned as it is (and nothing is audited); a key whose
// rotation overlap is still running is revoked now.
func (s *Store) RevokeKey(ctx context.Context, a Actor, keyID uuid.UUID) (*Key, error) {
	var out Key
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		r, err := queries.LockKey(ctx, tx, keyID)
		if err != nil {
			return notFound(err, "key "+keyID.String())
		}
		k := keyOf((*dbsqlc.GetKeyRow)(r))
		if !k.Active {
			out = k
			return nil
		}
		revoked, err := queries.RevokeKey(ctx, tx, keyID)
		if err != nil {
			return fmt.Errorf("store: revoke key %s: %w", keyID, err)
		}
		out = keyOf((*dbsqlc.GetKeyRow)(revoked))
		return s.Audit(ctx, tx, a, AuditKeyRevoke, &keyID, k.SystemID, map[string]any{"name": k.Name, "role": k.Role})
	})
	if err != nil {
		return nil, fmt.Errorf("store: revoke key %s: %w", keyID, err)
	}
	return &out, nil
}

// MaxKeyOverlap bounds how long a rotated key may keep working.
const MaxKeyOverlap = 7 * 24 * time.Hour

// Rotation is a rotated key: the old one (revoked, or revoked at the end
// of the overlap) and its replacement, shown once.
type Rotation struct {
	Old Key       `json:"old"`
	New IssuedKey `json:"new"`
}

// RotateKey issues a replacement for a key (same role, system and name)
// and revokes the old one now, or after overlap so a МИС can deploy the new
// key first. Audited in the same transaction. A revoked or already rotated
// key gives ErrKeyRevoked.
func (s *Store) RotateKey(ctx context.Context, a Actor, keyID uuid.UUID, overlap time.Duration) (*Rotation, error) {
	if overlap < 0 || overlap > MaxKeyOverlap {
		return nil, fmt.Errorf("store: overlap %s outside 0..%s", overlap, MaxKeyOverlap)
	}
	var out Rotation
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		r, err := queries.LockKey(ctx, tx, keyID)
		if err != nil {
			return notFound(err, "key "+keyID.String())
		}
		k := keyOf((*dbsqlc.GetKeyRow)(r))
		if k.RevokedAt != nil {
			return fmt.Errorf("key %s: %w", keyID, ErrKeyRevoked)
		}
		nk, err := s.issue(ctx, tx, k.Role, k.SystemID, k.Name)
		if err != nil {
			return err
		}
		old, err := queries.RotateKey(ctx, tx, &dbsqlc.RotateKeyParams{ID: keyID, OverlapUs: overlap.Microseconds(), ReplacedBy: &nk.Key.ID})
		if err != nil {
			return fmt.Errorf("store: rotate key %s: %w", keyID, err)
		}
		out = Rotation{Old: keyOf((*dbsqlc.GetKeyRow)(old)), New: *nk}
		return s.Audit(ctx, tx, a, AuditKeyRotate, &keyID, k.SystemID,
			map[string]any{"name": k.Name, "role": k.Role, "new_key_id": nk.Key.ID, "overlap": overlap.String()})
	})
	if err != nil {
		return nil, fmt.Errorf("store: rotate key %s: %w", keyID, err)
	}
	return &out, nil
}
